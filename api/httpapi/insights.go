package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/baton-ci/baton/api/domain"
)

// The insights endpoints: thin binds of domain.InsightsService.

func (s *Server) getTestHistory(c echo.Context) error {
	p := c.QueryParams()
	h, err := s.svc.Insights.TestHistory(c.Request().Context(), domain.TestHistoryQuery{
		NodeID: p.Get("node_id"), Cursor: p.Get("cursor"), Limit: p.Get("limit"),
	})
	if err != nil {
		return err
	}
	out := testHistoryJSON{NodeID: h.NodeID, Items: make([]testHistoryEntryJSON, len(h.Entries))}
	if h.Stats != nil {
		st := toTestStatsJSON(*h.Stats)
		out.Stats = &st
	}
	for i, e := range h.Entries {
		out.Items[i] = testHistoryEntryJSON{RunID: e.RunID, EnvironmentID: e.EnvironmentID, RequestedBy: e.RequestedBy,
			Outcome: e.Outcome, DurationMS: e.DurationMS, Message: e.Message, StartedAt: e.StartedAt, FinishedAt: e.FinishedAt}
		if e.ContentHash != "" {
			hash := e.ContentHash
			out.Items[i].ContentHash = &hash
		}
	}
	if h.NextCursor != "" {
		out.NextCursor = &h.NextCursor
	}
	return c.JSON(http.StatusOK, out)
}

func (s *Server) listFlakyTests(c echo.Context) error {
	return s.testList(c, s.svc.Insights.FlakyTests)
}

func (s *Server) listSlowestTests(c echo.Context) error {
	return s.testList(c, s.svc.Insights.SlowestTests)
}

func (s *Server) testList(c echo.Context, read func(context.Context, domain.TestListQuery) (*domain.TestList, error)) error {
	p := c.QueryParams()
	list, err := read(c.Request().Context(), domain.TestListQuery{Window: p.Get("window"), Limit: p.Get("limit")})
	if err != nil {
		return err
	}
	out := testListJSON{Window: list.Window, Since: list.Since, Items: make([]testStatsJSON, len(list.Tests))}
	for i, t := range list.Tests {
		out.Items[i] = toTestStatsJSON(t)
	}
	return c.JSON(http.StatusOK, out)
}

func (s *Server) getEnvironmentInsights(c echo.Context) error {
	p := c.QueryParams()
	ins, err := s.svc.Insights.EnvironmentInsights(c.Request().Context(), domain.EnvironmentInsightsQuery{
		Window: p.Get("window"), End: p.Get("end"), TimeZone: p.Get("tz"),
	})
	if err != nil {
		return err
	}
	days := ins.Days()
	out := environmentInsightsJSON{From: ins.From, To: ins.To, TimeZone: ins.TimeZone, Days: days,
		Total: toUsageTotalsJSON(ins.Total, ins.To.Sub(ins.From)), Environments: make([]environmentUsageJSON, len(ins.Environments))}
	for i, e := range ins.Environments {
		out.Environments[i] = environmentUsageJSON{ID: e.EnvironmentID, Name: e.Name,
			usageTotalsJSON: toUsageTotalsJSON(e, ins.To.Sub(ins.From))}
	}
	return c.JSON(http.StatusOK, out)
}

type testHistoryJSON struct {
	NodeID     string                 `json:"node_id"`
	Stats      *testStatsJSON         `json:"stats"`
	Items      []testHistoryEntryJSON `json:"items"`
	NextCursor *string                `json:"next_cursor"`
}

type testHistoryEntryJSON struct {
	RunID         int64      `json:"run_id"`
	EnvironmentID int        `json:"environment_id"`
	RequestedBy   string     `json:"requested_by"`
	Outcome       string     `json:"outcome"`
	DurationMS    int64      `json:"duration_ms"`
	Message       string     `json:"message"`
	ContentHash   *string    `json:"content_hash"`
	StartedAt     *time.Time `json:"started_at"`
	FinishedAt    *time.Time `json:"finished_at"`
}

type recentResultJSON struct {
	RunID      int64  `json:"run_id"`
	Outcome    string `json:"outcome"`
	DurationMS int64  `json:"duration_ms"`
}

type testStatsJSON struct {
	NodeID         string             `json:"node_id"`
	Window         int                `json:"window"`
	LastRunID      int64              `json:"last_run_id"`
	LastOutcome    string             `json:"last_outcome"`
	LastSeenAt     time.Time          `json:"last_seen_at"`
	Results        int                `json:"results"`
	Passed         int                `json:"passed"`
	Failed         int                `json:"failed"`
	Skipped        int                `json:"skipped"`
	Flips          int                `json:"flips"`
	FlipPairs      int                `json:"flip_pairs"`
	FlipRate       float64            `json:"flip_rate"`
	Flaky          bool               `json:"flaky"`
	DurationP50MS  *int64             `json:"duration_p50_ms"`
	DurationMeanMS *int64             `json:"duration_mean_ms"`
	PreviousMeanMS *int64             `json:"previous_mean_ms"`
	DurationChange *float64           `json:"duration_change"`
	Recent         []recentResultJSON `json:"recent"`
}

func toTestStatsJSON(t domain.TestStats) testStatsJSON {
	out := testStatsJSON{NodeID: t.NodeID, Window: t.Window, LastRunID: t.LastRunID, LastOutcome: t.LastOutcome,
		LastSeenAt: t.LastSeenAt, Results: t.Results, Passed: t.Passed, Failed: t.Failed, Skipped: t.Skipped,
		Flips: t.Flips, FlipPairs: t.FlipPairs, FlipRate: t.FlipRate, Flaky: t.Flaky, DurationP50MS: t.DurationP50MS,
		DurationMeanMS: t.DurationMeanMS, PreviousMeanMS: t.PreviousMeanMS, Recent: make([]recentResultJSON, len(t.Recent))}
	if t.DurationMeanMS != nil && t.PreviousMeanMS != nil && *t.PreviousMeanMS > 0 {
		change := float64(*t.DurationMeanMS-*t.PreviousMeanMS) / float64(*t.PreviousMeanMS)
		out.DurationChange = &change
	}
	for i, r := range t.Recent {
		out.Recent[i] = recentResultJSON{RunID: r.RunID, Outcome: r.Outcome, DurationMS: r.DurationMS}
	}
	return out
}

type testListJSON struct {
	Window int             `json:"window"`
	Since  time.Time       `json:"since"`
	Items  []testStatsJSON `json:"items"`
}

type usageTotalsJSON struct {
	RunsStarted        int     `json:"runs_started"`
	RunsPerDay         float64 `json:"runs_per_day"`
	BusySeconds        float64 `json:"busy_seconds"`
	BusyShare          float64 `json:"busy_share"`
	QueueWaitSeconds   float64 `json:"queue_wait_seconds"`
	AverageQueueLength float64 `json:"average_queue_length"`
	QueueWaitP50MS     *int64  `json:"queue_wait_p50_ms"`
	QueueWaitP95MS     *int64  `json:"queue_wait_p95_ms"`
	QueueWaitMaxMS     *int64  `json:"queue_wait_max_ms"`
	StartsByHour       []int   `json:"starts_by_hour"`
}

func toUsageTotalsJSON(u domain.EnvironmentUsage, span time.Duration) usageTotalsJSON {
	out := usageTotalsJSON{RunsStarted: u.RunsStarted, BusySeconds: u.BusySeconds, BusyShare: u.BusyShare,
		QueueWaitSeconds: u.QueueWaitSeconds, QueueWaitP50MS: u.QueueWaitP50MS, QueueWaitP95MS: u.QueueWaitP95MS,
		QueueWaitMaxMS: u.QueueWaitMaxMS, StartsByHour: u.StartsByHour[:]}
	if span > 0 {
		out.RunsPerDay = float64(u.RunsStarted) / (span.Hours() / 24)
		out.AverageQueueLength = u.QueueWaitSeconds / span.Seconds()
	}
	return out
}

type environmentUsageJSON struct {
	ID   int    `json:"environment_id"`
	Name string `json:"name"`
	usageTotalsJSON
}

type environmentInsightsJSON struct {
	From         time.Time              `json:"from"`
	To           time.Time              `json:"to"`
	TimeZone     string                 `json:"timezone"`
	Days         float64                `json:"days"`
	Total        usageTotalsJSON        `json:"total"`
	Environments []environmentUsageJSON `json:"environments"`
}
