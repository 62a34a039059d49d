package domain

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// InsightsService answers the questions a team asks after weeks of runs: a
// test's history, which tests are flaky or slow, how contested each
// environment is. Package insights implements it; every input is checked
// there, once, and bad input is EINVALID naming the field.
type InsightsService interface {
	// TestHistory returns one test's results across runs, newest first,
	// with its statistics.
	TestHistory(ctx context.Context, q TestHistoryQuery) (*TestHistory, error)
	// FlakyTests lists the tests that are flaky now, highest flip rate first.
	FlakyTests(ctx context.Context, q TestListQuery) (*TestList, error)
	// SlowestTests lists tests by their median duration, slowest first.
	SlowestTests(ctx context.Context, q TestListQuery) (*TestList, error)
	// EnvironmentInsights measures every environment's use over a window.
	EnvironmentInsights(ctx context.Context, q EnvironmentInsightsQuery) (*EnvironmentInsights, error)
}

// InsightsStore is the storage package insights needs; package postgres
// implements it. Every figure is computed in SQL.
type InsightsStore interface {
	// TestHistory returns up to f.Limit results of f.NodeID, newest run first.
	TestHistory(ctx context.Context, f TestHistoryFilter) ([]TestHistoryEntry, error)
	// TestStats returns a test's statistics, or nil when it has none.
	TestStats(ctx context.Context, nodeID string) (*TestStats, error)
	// FlakyTests returns up to limit flaky tests seen since since, by flip rate.
	FlakyTests(ctx context.Context, since time.Time, limit int) ([]TestStats, error)
	// SlowestTests returns up to limit tests seen since since, by median duration.
	SlowestTests(ctx context.Context, since time.Time, limit int) ([]TestStats, error)
	// EnvironmentUsage measures every environment over w.
	EnvironmentUsage(ctx context.Context, w InsightsWindow) (*EnvironmentInsights, error)
	// RecordEnvironmentUsage adds what an ended run did to its environment
	// (its start, queue wait and busy time) to the usage rollup, once: it
	// reports false, changing nothing, for a run already recorded, one not
	// ended, or one that never started.
	RecordEnvironmentUsage(ctx context.Context, runID int64) (bool, error)
	// RecordPendingUsage records up to limit ended runs not in the usage
	// rollup yet (runs from before the rollup, or whose run_ended job was
	// lost), and returns how many.
	RecordPendingUsage(ctx context.Context, limit int) (int, error)
	// RecordTestStats recomputes, over the last window results of each, the
	// statistics of every test run runID reported, and returns how many.
	// It is idempotent and tolerates ends recorded out of order.
	RecordTestStats(ctx context.Context, runID int64, window int) (int, error)
	// RefreshTestStats recomputes up to limit tests whose statistics were
	// computed over another window size, and returns how many.
	RefreshTestStats(ctx context.Context, window, limit int) (int, error)
	// DeleteEndedRuns deletes up to limit runs that ended before cutoff, with
	// their logs and results (never a queued or running run), recomputes the
	// statistics of their tests over window, and says what it deleted. The
	// usage rollup keeps what the runs did (a run not recorded yet is
	// recorded first).
	DeleteEndedRuns(ctx context.Context, cutoff time.Time, limit, window int) (*Pruned, error)
}

// Pruned is what one retention batch deleted.
type Pruned struct {
	Runs       int
	LogChunks  int
	LogBytes   int64
	Results    int
	FirstRunID int64
	LastRunID  int64
	// OldestEnd and NewestEnd bound the deleted runs' finished_at.
	OldestEnd time.Time
	NewestEnd time.Time
}

// Flakiness defaults.
const (
	// DefaultFlakyWindow is how many of a test's last results decide
	// whether it is flaky (BATON_FLAKY_WINDOW).
	DefaultFlakyWindow = 20
	MinFlakyWindow     = 2
	MaxFlakyWindow     = 200
)

// Insights limits.
const (
	// MaxNodeIDBytes bounds a node id in a query; pytest's are far shorter.
	MaxNodeIDBytes = 4096
	// DefaultInsightsWindow is the window of environment insights.
	DefaultInsightsWindow = 7 * 24 * time.Hour
	// MaxInsightsWindow bounds it.
	MaxInsightsWindow = 366 * 24 * time.Hour
	// MinInsightsWindow is the shortest window.
	MinInsightsWindow = time.Hour
	// DefaultTestListWindow is how recently a test must have run to be listed.
	DefaultTestListWindow = 30 * 24 * time.Hour
	// MaxTestListWindow bounds it.
	MaxTestListWindow = 3660 * 24 * time.Hour
)

// The reasons an insights parameter breaks a rule.
var (
	RuleNodeID         = fmt.Sprintf("must be a pytest node id: text of at most %d bytes without control characters", MaxNodeIDBytes)
	RuleInsightsWindow = fmt.Sprintf("must be a duration such as 24h, 7d or 90d, from %s to %dd", MinInsightsWindow, int(MaxInsightsWindow.Hours()/24))
	RuleTestListWindow = fmt.Sprintf("must be a duration such as 24h, 7d or 90d, from %s to %dd", MinInsightsWindow, int(MaxTestListWindow.Hours()/24))
	RuleEnd            = "must be an RFC 3339 time such as 2026-05-01T00:00:00Z"
	RuleTimeZone       = "must be an IANA time zone name such as UTC or Europe/Berlin"
	RuleHistoryCursor  = "is not a cursor returned by this API"
)

// ParseSpan reads a length of time as people write it for windows and
// retention: a whole number of days ("90d") or a Go duration ("36h",
// "90m"). It accepts only positive spans.
func ParseSpan(s string) (time.Duration, bool) {
	s = strings.TrimSpace(s)
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 1 || n > 100*366 || days[0] == '+' {
			return 0, false
		}
		return time.Duration(n) * 24 * time.Hour, true
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, false
	}
	return d, true
}

// checkHistoryNodeID returns why s cannot name a test whose history is
// asked for, or "": any clean text, since a result's node id may be a bare
// file (a collection error) or longer than a run's selection allows.
func checkHistoryNodeID(s string) string {
	switch {
	case s == "":
		return "is required"
	case len(s) > MaxNodeIDBytes || !utf8.ValidString(s) || strings.IndexFunc(s, unicode.IsControl) >= 0:
		return RuleNodeID
	}
	return ""
}

// TestHistoryQuery is a test history as a client asks for it; "" when not given.
type TestHistoryQuery struct {
	NodeID string
	Cursor string
	Limit  string
}

// TestHistoryFilter selects a test's results, newest run first.
type TestHistoryFilter struct {
	NodeID string
	// BeforeRunID is the keyset cursor: only runs with a smaller id.
	BeforeRunID int64
	Limit       int
}

// Filter parses and checks q.
func (q TestHistoryQuery) Filter() (TestHistoryFilter, error) {
	fe := FieldErrors{}
	f := TestHistoryFilter{NodeID: q.NodeID, Limit: DefaultListLimit}
	if why := checkHistoryNodeID(q.NodeID); why != "" {
		fe.Add("node_id", why)
	}
	if q.Limit != "" {
		n, err := strconv.Atoi(q.Limit)
		if err != nil || n < 1 || n > MaxListLimit {
			fe.Add("limit", RuleListLimit)
		}
		f.Limit = n
	}
	if q.Cursor != "" {
		id, ok := decodeHistoryCursor(q.Cursor)
		if !ok {
			fe.Add("cursor", RuleHistoryCursor)
		}
		f.BeforeRunID = id
	}
	return f, fe.Err()
}

// EncodeHistoryCursor makes the cursor that continues a history before run id.
func EncodeHistoryCursor(id int64) string { return encodeKeyset('h', id) }

func decodeHistoryCursor(c string) (int64, bool) { return decodeKeyset('h', c) }

// TestHistoryEntry is one result of a test in one run.
type TestHistoryEntry struct {
	RunID         int64
	EnvironmentID int
	RequestedBy   string
	Outcome       string
	DurationMS    int64
	// Message is the first line of the failure, error or skip message.
	Message string
	// ContentHash identifies the test file's content; "" when unknown.
	ContentHash string
	StartedAt   *time.Time
	FinishedAt  *time.Time
}

// TestHistory is one page of a test's history and its statistics.
type TestHistory struct {
	NodeID  string
	Stats   *TestStats
	Entries []TestHistoryEntry
	// NextCursor fetches older results; "" on the last page.
	NextCursor string
}

// RecentResult is one of the results a test's statistics were computed from.
type RecentResult struct {
	RunID      int64
	Outcome    string
	DurationMS int64
}

// TestStats are a test's figures over its last Window results (skipped
// ones included in Results, left out of everything else).
type TestStats struct {
	NodeID      string
	Window      int
	LastRunID   int64
	LastOutcome string
	LastSeenAt  time.Time
	Results     int
	Passed      int
	// Failed counts failed and error results.
	Failed  int
	Skipped int
	// Flips counts consecutive results on the same file content whose
	// pass/fail differ, out of FlipPairs such pairs; FlipRate is their ratio.
	Flips     int
	FlipPairs int
	FlipRate  float64
	// Flaky: within the window the test both passed and failed on the
	// same content.
	Flaky bool
	// DurationP50MS and DurationMeanMS are over the window's results;
	// PreviousMeanMS over the Window results before them (the trend).
	DurationP50MS  *int64
	DurationMeanMS *int64
	PreviousMeanMS *int64
	// Recent are the window's results, oldest first.
	Recent []RecentResult
}

// TestListQuery is a list of flaky or slowest tests as a client asks for it.
type TestListQuery struct {
	// Window: only tests that ran within it are listed (e.g. "30d").
	Window string
	Limit  string
}

// TestListFilter is a checked TestListQuery.
type TestListFilter struct {
	Window time.Duration
	Limit  int
}

// Filter parses and checks q.
func (q TestListQuery) Filter() (TestListFilter, error) {
	fe := FieldErrors{}
	f := TestListFilter{Window: DefaultTestListWindow, Limit: DefaultListLimit}
	if q.Window != "" {
		d, ok := ParseSpan(q.Window)
		if !ok || d < MinInsightsWindow || d > MaxTestListWindow {
			fe.Add("window", RuleTestListWindow)
		}
		f.Window = d
	}
	if q.Limit != "" {
		n, err := strconv.Atoi(q.Limit)
		if err != nil || n < 1 || n > MaxListLimit {
			fe.Add("limit", RuleListLimit)
		}
		f.Limit = n
	}
	return f, fe.Err()
}

// TestList is a ranked list of tests.
type TestList struct {
	// Window is the flakiness window N of the statistics.
	Window int
	// Since is the oldest last run a listed test may have.
	Since time.Time
	Tests []TestStats
}

// EnvironmentInsightsQuery is an insights request as a client asks for it.
type EnvironmentInsightsQuery struct {
	// Window is how far back from End to look ("7d"); default 7 days.
	Window string
	// End is the end of the window (RFC 3339); default now.
	End string
	// TimeZone names the zone of the hours of day (IANA); default UTC.
	TimeZone string
}

// InsightsWindow is a checked EnvironmentInsightsQuery.
type InsightsWindow struct {
	From, To time.Time
	// TimeZone is an IANA name PostgreSQL and Go both know.
	TimeZone string
	// Now is the time the figures are computed at: a run still running is
	// counted busy until then.
	Now time.Time
}

// Resolve parses and checks q, with now as the default end.
func (q EnvironmentInsightsQuery) Resolve(now time.Time) (InsightsWindow, error) {
	fe := FieldErrors{}
	w := InsightsWindow{To: now, TimeZone: "UTC", Now: now}
	span := DefaultInsightsWindow
	if q.Window != "" {
		d, ok := ParseSpan(q.Window)
		if !ok || d < MinInsightsWindow || d > MaxInsightsWindow {
			fe.Add("window", RuleInsightsWindow)
		}
		span = d
	}
	if q.End != "" {
		t, err := time.Parse(time.RFC3339, q.End)
		if err != nil || t.Year() < 2000 || t.Year() > 9999 {
			fe.Add("end", RuleEnd)
		}
		w.To = t.UTC()
	}
	if q.TimeZone != "" {
		if !validTimeZone(q.TimeZone) {
			fe.Add("tz", RuleTimeZone)
		}
		w.TimeZone = q.TimeZone
	}
	w.From = w.To.Add(-span)
	return w, fe.Err()
}

// validTimeZone accepts IANA names only: not "Local", not a file path.
func validTimeZone(name string) bool {
	if name == "Local" || len(name) > 64 || strings.Contains(name, "..") || strings.HasPrefix(name, "/") {
		return false
	}
	for _, r := range name {
		if !strings.ContainsRune("/_-+", r) && (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') && (r < '0' || r > '9') {
			return false
		}
	}
	_, err := time.LoadLocation(name)
	return err == nil
}

// EnvironmentUsage is one environment's use over a window.
type EnvironmentUsage struct {
	EnvironmentID int
	Name          string
	// RunsStarted counts runs that started within the window.
	RunsStarted int
	// BusySeconds is the time a run was executing there, within the window.
	BusySeconds float64
	// BusyShare is BusySeconds over the window's length, 0 to 1.
	BusyShare float64
	// QueueWaitSeconds adds up how long the runs that started waited;
	// over the window's length it is the average number of runs waiting.
	QueueWaitSeconds float64
	// Queue wait percentiles of the runs that started; nil when none did.
	QueueWaitP50MS *int64
	QueueWaitP95MS *int64
	QueueWaitMaxMS *int64
	// StartsByHour counts starts per hour of day in the window's zone.
	StartsByHour [24]int
}

// EnvironmentInsights are every environment's figures over one window.
type EnvironmentInsights struct {
	From, To time.Time
	TimeZone string
	// Total adds up all environments (BusyShare is their mean, the queue
	// wait percentiles are over all runs).
	Total        EnvironmentUsage
	Environments []EnvironmentUsage
}

// Days is the window's length in days.
func (e *EnvironmentInsights) Days() float64 { return e.To.Sub(e.From).Hours() / 24 }
