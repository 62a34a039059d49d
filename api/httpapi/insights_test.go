package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/baton-ci/baton/api/domain"
	"github.com/baton-ci/baton/api/postgres"
)

// The insights schemas are written out here rather than taken from the
// generated client: oapi-codegen decodes openapi.yaml's `number` (no
// format) as float32, which cannot hold the ratios these tests check to
// 1e-9 (flip_rate, duration_change, busy_share). TestHistory holds a
// TestStats, so it is written out too. Only this file decodes them.

// TestHistory is the TestHistory schema.
type TestHistory struct {
	NodeID     string             `json:"node_id"`
	Stats      *TestStats         `json:"stats"`
	Items      []TestHistoryEntry `json:"items"`
	NextCursor *string            `json:"next_cursor"`
}

// TestHistoryEntry is the TestHistoryEntry schema.
type TestHistoryEntry struct {
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

// TestStats is the TestStats schema.
type TestStats struct {
	NodeID         string   `json:"node_id"`
	Window         int      `json:"window"`
	LastRunID      int64    `json:"last_run_id"`
	LastOutcome    string   `json:"last_outcome"`
	Results        int      `json:"results"`
	Passed         int      `json:"passed"`
	Failed         int      `json:"failed"`
	Skipped        int      `json:"skipped"`
	Flips          int      `json:"flips"`
	FlipPairs      int      `json:"flip_pairs"`
	FlipRate       float64  `json:"flip_rate"`
	Flaky          bool     `json:"flaky"`
	DurationP50MS  *int64   `json:"duration_p50_ms"`
	DurationMeanMS *int64   `json:"duration_mean_ms"`
	PreviousMeanMS *int64   `json:"previous_mean_ms"`
	DurationChange *float64 `json:"duration_change"`
	Recent         []struct {
		RunID      int64  `json:"run_id"`
		Outcome    string `json:"outcome"`
		DurationMS int64  `json:"duration_ms"`
	} `json:"recent"`
}

// TestStatsList is the TestStatsList schema.
type TestStatsList struct {
	Window int         `json:"window"`
	Items  []TestStats `json:"items"`
}

const (
	fileA = "sample-tests/test_success.py"
	fileB = "sample-tests/test_failure.py"
)

// result is one test's result in a run the tests record.
type result struct {
	node, outcome string
	ms            int64
	msg           string
}

// ran queues a run on env, lets worker w1 execute it with these results,
// the test files' content hashes as the worker read them, and works its
// run_ended job's insights handler (twice: a retried job changes nothing).
func (h *harness) ran(t *testing.T, env int, by string, hashes map[string]int64, results ...result) int64 {
	t.Helper()
	ctx := context.Background()
	h.createRun(t, env, by, fileA, fileB)
	run := h.claim(t, env)
	o := domain.OutcomeForExit(0)
	sum := &domain.TestSummary{}
	for _, r := range results {
		o.Tests = append(o.Tests, domain.TestResult{NodeID: r.node, Outcome: r.outcome, DurationMS: r.ms, Message: r.msg})
		sum.Total++
		if r.outcome != domain.TestPassed && r.outcome != domain.TestSkipped {
			o = domain.Outcome{Status: domain.StatusFailed, ExitCode: o.ExitCode, Reason: domain.ReasonTestsFailed, Tests: o.Tests}
		}
	}
	o.Summary, o.ContentHashes = sum, hashes
	ok, err := h.runs.Finish(ctx, run, "w1", o)
	require.NoError(t, err)
	require.True(t, ok)
	for range 2 {
		require.NoError(t, h.insights.HandleRunEnded(ctx, domain.RunEnded{RunID: run.ID, Summary: sum}))
	}
	return run.ID
}

func historyPath(node string, extra ...string) string {
	q := url.Values{"node_id": {node}}
	for i := 0; i+1 < len(extra); i += 2 {
		q.Set(extra[i], extra[i+1])
	}
	return "/api/tests/history?" + q.Encode()
}

func (h *harness) history(t *testing.T, node string, extra ...string) TestHistory {
	t.Helper()
	var out TestHistory
	h.get(t, historyPath(node, extra...), specValid).decode(t, http.StatusOK, &out)
	return out
}

func (h *harness) flaky(t *testing.T) []TestStats {
	t.Helper()
	var out TestStatsList
	h.get(t, "/api/tests/flaky", specValid).decode(t, http.StatusOK, &out)
	return out.Items
}

func nodes(stats []TestStats) []string {
	out := make([]string, len(stats))
	for i, s := range stats {
		out[i] = s.NodeID
	}
	return out
}

func TestTestHistoryOrderAndContent(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{})
	node := fileA + "::test_ok[param-1]"
	other := fileB + "::test_bad"
	hashes := map[string]int64{fileA: -0x1122334455667788, fileB: 42}
	var ids []int64
	for i, c := range []struct {
		env      int
		by       string
		outcome  string
		ms       int64
		withNode bool
	}{
		{3, "alice", "passed", 120, true},
		{4, "bob", "failed", 340, true},
		{3, "carol", "passed", 5, false},
		{9, "dave", "skipped", 0, true},
		{3, "erin", "error", 77, true},
	} {
		rs := []result{{other, "failed", 1, "assert 1 == 2"}}
		if c.withNode {
			msg := ""
			if c.outcome != "passed" {
				msg = fmt.Sprintf("AssertionError: run %d\nsecond line\nthird", i)
			}
			rs = append(rs, result{node, c.outcome, c.ms, msg})
		}
		ids = append(ids, h.ran(t, c.env, c.by, hashes, rs...))
	}

	hist := h.history(t, node)
	require.Equal(t, node, hist.NodeID)
	require.Nil(t, hist.NextCursor)
	var got []string
	for _, e := range hist.Items {
		require.NotNil(t, e.FinishedAt)
		require.NotNil(t, e.StartedAt)
		require.NotNil(t, e.ContentHash)
		require.Equal(t, "eeddccbbaa998878", *e.ContentHash, "the hash of the file the test is in, as 16 hex digits")
		got = append(got, fmt.Sprintf("%d %d %s %s %d %s", e.RunID, e.EnvironmentID, e.RequestedBy, e.Outcome, e.DurationMS, e.Message))
	}
	require.Equal(t, []string{
		fmt.Sprintf("%d 3 erin error 77 AssertionError: run 4", ids[4]),
		fmt.Sprintf("%d 9 dave skipped 0 AssertionError: run 3", ids[3]),
		fmt.Sprintf("%d 4 bob failed 340 AssertionError: run 1", ids[1]),
		fmt.Sprintf("%d 3 alice passed 120 ", ids[0]),
	}, got, "newest first, only runs that reported the test, the message's first line")
	require.NotNil(t, hist.Stats)
	require.Equal(t, 4, hist.Stats.Results)
	require.Equal(t, 1, hist.Stats.Passed)
	require.Equal(t, 2, hist.Stats.Failed, "error counts as failed")
	require.Equal(t, 1, hist.Stats.Skipped)
	require.Equal(t, "error", hist.Stats.LastOutcome)
	require.Equal(t, ids[4], hist.Stats.LastRunID)

	// Pages of two, then one, then the end.
	p1 := h.history(t, node, "limit", "2")
	require.Len(t, p1.Items, 2)
	require.NotNil(t, p1.NextCursor)
	p2 := h.history(t, node, "limit", "2", "cursor", *p1.NextCursor)
	require.Len(t, p2.Items, 2)
	require.Equal(t, []int64{ids[1], ids[0]}, []int64{p2.Items[0].RunID, p2.Items[1].RunID})
	require.Nil(t, p2.NextCursor)

	// A run's results link to the history by node id and carry the mark.
	var tests struct {
		Items []struct {
			NodeID string `json:"node_id"`
			Flaky  bool   `json:"flaky"`
		} `json:"items"`
	}
	h.get(t, fmt.Sprintf("/api/runs/%d/tests", ids[1]), specValid).decode(t, http.StatusOK, &tests)
	require.Len(t, tests.Items, 2)

	h.get(t, historyPath(fileA+"::test_never_ran"), specValid).requireError(t, http.StatusNotFound, domain.ENOTFOUND)
}

func TestTestHistoryBadInput(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{})
	unchanged := h.unchanged(t)
	for _, c := range []struct {
		name, path, field string
		spec              specCheck
	}{
		{"no node id", "/api/tests/history", "node_id", specInvalid},
		{"empty node id", "/api/tests/history?node_id=", "node_id", specInvalid},
		{"NUL in node id", "/api/tests/history?node_id=a%00b", "node_id", specSilent},
		{"newline in node id", "/api/tests/history?node_id=a%0Ab", "node_id", specSilent},
		{"invalid UTF-8", "/api/tests/history?node_id=%FF%FE", "node_id", specSilent},
		{"node id too long", "/api/tests/history?node_id=" + strings.Repeat("x", 4097), "node_id", specInvalid},
		{"limit 0", historyPath("a::b", "limit", "0"), "limit", specInvalid},
		{"limit 201", historyPath("a::b", "limit", "201"), "limit", specInvalid},
		{"limit text", historyPath("a::b", "limit", "ten"), "limit", specInvalid},
		{"bad cursor", historyPath("a::b", "cursor", "nope"), "cursor", specSilent},
		{"run cursor", historyPath("a::b", "cursor", domain.EncodeCursor(5)), "cursor", specSilent},
		{"flaky window", "/api/tests/flaky?window=forever", "window", specSilent},
		{"flaky window too short", "/api/tests/flaky?window=10m", "window", specSilent},
		{"flaky limit", "/api/tests/flaky?limit=-1", "limit", specInvalid},
		{"slowest window", "/api/tests/slowest?window=0d", "window", specSilent},
		{"slowest window NUL", "/api/tests/slowest?window=7d%00", "window", specSilent},
		{"slowest limit", "/api/tests/slowest?limit=1000", "limit", specInvalid},
		{"insights window", "/api/insights/environments?window=367d", "window", specSilent},
		{"insights window negative", "/api/insights/environments?window=-7d", "window", specSilent},
		{"insights window NUL", "/api/insights/environments?window=%00", "window", specSilent},
		{"insights end", "/api/insights/environments?end=yesterday", "end", specInvalid},
		{"insights end future", "/api/insights/environments?end=2999-01-01T00:00:00Z", "end", specSilent},
		{"insights tz", "/api/insights/environments?tz=Mars/Olympus", "tz", specSilent},
		{"insights tz Local", "/api/insights/environments?tz=Local", "tz", specSilent},
		{"insights tz path", "/api/insights/environments?tz=../../etc/passwd", "tz", specSilent},
		{"insights tz NUL", "/api/insights/environments?tz=UTC%00", "tz", specSilent},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := h.get(t, c.path, c.spec).requireError(t, http.StatusBadRequest, domain.EINVALID, c.field)
			require.Contains(t, e.Message, c.field)
		})
	}
	h.get(t, "/api/insights/environments?window=1d&end=yesterday&tz=Nowhere", specInvalid).
		requireError(t, http.StatusBadRequest, domain.EINVALID, "end", "tz")
	unchanged()
}

// TestFlakyRule: a test that passes and fails on the same content within
// its last N results is flaky; one whose file changed between the pass and
// the failure is not; a flip older than the last N results no longer counts.
func TestFlakyRule(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{flakyWindow: 4})
	flipper := fileA + "::test_flips"        // P F P on one content: flaky
	changed := fileB + "::test_changed"      // P on content 1, F F on content 2: a real change
	once := fileA + "::test_failed_once"     // F P P P on one content, then P: the flip leaves the window
	steady := fileA + "::test_always_passes" // never flaky
	v1 := map[string]int64{fileA: 1, fileB: 100}
	v2 := map[string]int64{fileA: 1, fileB: 200}
	seq := []struct {
		hashes  map[string]int64
		results []result
	}{
		{v1, []result{{flipper, "passed", 10, ""}, {changed, "passed", 10, ""}, {once, "failed", 10, "boom"}, {steady, "passed", 1, ""}}},
		{v2, []result{{flipper, "failed", 10, "flake"}, {changed, "failed", 10, "new bug"}, {once, "passed", 10, ""}, {steady, "passed", 1, ""}}},
		{v2, []result{{flipper, "passed", 10, ""}, {changed, "failed", 10, "new bug"}, {once, "passed", 10, ""}, {steady, "skipped", 0, ""}}},
	}
	var ids []int64
	for _, s := range seq {
		ids = append(ids, h.ran(t, 5, "ci", s.hashes, s.results...))
	}
	flaky := h.flaky(t)
	require.ElementsMatch(t, []string{flipper, once}, nodes(flaky))
	require.Equal(t, flipper, flaky[0].NodeID, "ranked by flip rate")
	require.Equal(t, 2, flaky[0].Flips)
	require.Equal(t, 2, flaky[0].FlipPairs)
	require.InDelta(t, 1.0, flaky[0].FlipRate, 1e-9)
	require.Equal(t, 4, flaky[0].Window)
	require.InDelta(t, 0.5, flaky[1].FlipRate, 1e-9)

	st := h.history(t, changed).Stats
	require.False(t, st.Flaky, "a pass and a failure on different content is a change, not flakiness")
	require.Zero(t, st.Flips)
	require.Equal(t, 1, st.FlipPairs)
	require.False(t, h.history(t, steady).Stats.Flaky)

	// The flaky mark on a run's results.
	var tests struct {
		Items []struct {
			NodeID string `json:"node_id"`
			Flaky  bool   `json:"flaky"`
		} `json:"items"`
	}
	h.get(t, fmt.Sprintf("/api/runs/%d/tests", ids[2]), specValid).decode(t, http.StatusOK, &tests)
	marks := map[string]bool{}
	for _, it := range tests.Items {
		marks[it.NodeID] = it.Flaky
	}
	require.Equal(t, map[string]bool{flipper: true, changed: false, once: true, steady: false}, marks)

	// Two more passes push once's failure out of its last 4 results.
	for range 2 {
		h.ran(t, 5, "ci", v2, result{once, "passed", 10, ""})
	}
	st = h.history(t, once).Stats
	require.False(t, st.Flaky, "a flip older than the window no longer counts")
	require.Equal(t, 4, st.Results)
	require.Equal(t, []string{flipper}, nodes(h.flaky(t)))

	// Unknown content (no hash) never counts as the same content.
	unknown := fileA + "::test_unknown_content"
	h.ran(t, 6, "ci", nil, result{unknown, "passed", 1, ""})
	h.ran(t, 6, "ci", nil, result{unknown, "failed", 1, "x"})
	require.False(t, h.history(t, unknown).Stats.Flaky)
	require.Nil(t, h.history(t, unknown).Items[0].ContentHash)
}

// TestFlakyStatsSurviveOutOfOrderEnds: the statistics are recomputed from
// the results, so run_ended jobs worked in any order, or twice, agree.
func TestFlakyStatsSurviveOutOfOrderEnds(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{flakyWindow: 3})
	ctx := context.Background()
	node := fileA + "::test_x"
	var ids []int64
	for i, outcome := range []string{"passed", "failed", "passed", "passed"} {
		env := 20 + i
		h.createRun(t, env, "ci", fileA)
		run := h.claim(t, env)
		o := domain.OutcomeForExit(0)
		o.Tests = []domain.TestResult{{NodeID: node, Outcome: outcome, DurationMS: int64(100 * (i + 1))}}
		o.Summary = &domain.TestSummary{Total: 1}
		o.ContentHashes = map[string]int64{fileA: 7}
		ok, err := h.runs.Finish(ctx, run, "w1", o)
		require.NoError(t, err)
		require.True(t, ok)
		ids = append(ids, run.ID)
	}
	// Newest end's job first, then the others.
	for _, i := range []int{3, 0, 2, 1, 3} {
		require.NoError(t, h.insights.HandleRunEnded(ctx, domain.RunEnded{RunID: ids[i], Summary: &domain.TestSummary{Total: 1}}))
	}
	st := h.history(t, node).Stats
	require.Equal(t, ids[3], st.LastRunID)
	require.Equal(t, 3, st.Results, "the last 3 of 4")
	require.True(t, st.Flaky)
	require.Equal(t, 1, st.Flips)
	require.InDelta(t, 0.5, st.FlipRate, 1e-9)
	var recent []int64
	for _, r := range st.Recent {
		recent = append(recent, r.RunID)
	}
	require.Equal(t, ids[1:], recent, "oldest first")
}

func TestSlowestTests(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{flakyWindow: 2})
	slow := fileA + "::test_slow"
	fast := fileA + "::test_fast"
	hashes := map[string]int64{fileA: 1}
	for _, ms := range []int64{100, 300, 1000, 1200} {
		h.ran(t, 8, "ci", hashes, result{slow, "passed", ms, ""}, result{fast, "passed", ms / 100, ""})
	}
	h.ran(t, 8, "ci", hashes, result{slow, "skipped", 0, "skip"})
	var list TestStatsList
	h.get(t, "/api/tests/slowest?limit=5&window=7d", specValid).decode(t, http.StatusOK, &list)
	require.Equal(t, []string{slow, fast}, nodes(list.Items))
	s := list.Items[0]
	// Window 2: the skip and 1200 ms; the 2 before: 1000 and 300 ms.
	require.Equal(t, int64(1200), *s.DurationP50MS)
	require.Equal(t, int64(1200), *s.DurationMeanMS)
	require.Equal(t, int64(650), *s.PreviousMeanMS, "the mean of the two results before the window")
	require.InDelta(t, 550.0/650, *s.DurationChange, 1e-9)
	var one TestStatsList
	h.get(t, "/api/tests/slowest?limit=1", specValid).decode(t, http.StatusOK, &one)
	require.Equal(t, []string{slow}, nodes(one.Items))
}

// TestEnvironmentInsightsKnownAnswers measures a hand-built set of runs
// whose figures are worked out by hand.
func TestEnvironmentInsightsKnownAnswers(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{})
	ctx := context.Background()
	t0 := time.Now().UTC().Add(-30 * 24 * time.Hour).Truncate(24 * time.Hour)
	at := t0.Add
	insert := func(env int, status string, created time.Time, started, finished *time.Time) {
		t.Helper()
		_, err := h.db.Pool.Exec(ctx, `INSERT INTO runs (requested_by, environment_id, test_files, status, timeout_seconds,
			created_at, started_at, finished_at) VALUES ('x', $1, '["a.py"]', $2, 60, $3, $4, $5)`,
			env, status, created, started, finished)
		require.NoError(t, err)
	}
	p := func(d time.Duration) *time.Time { v := at(d); return &v }
	h30, m := time.Hour, time.Minute
	// Environment 1, window [t0, t0+10h):
	insert(1, "success", at(-h30), p(-30*m), p(h30))          // started before: busy 1h, not counted as started
	insert(1, "failed", at(2*h30), p(2*h30+10*m), p(4*h30))   // waits 10 min, busy 1h50m
	insert(1, "success", at(3*h30), p(4*h30), p(5*h30))       // waits 1h, busy 1h
	insert(1, "running", at(9*h30), p(9*h30), nil)            // still running: busy until the window's end, 1h
	insert(1, "queued", at(8*h30), nil, nil)                  // never started: not counted
	insert(1, "cancelled", at(8*h30), nil, p(8*h30+5*m))      // cancelled while queued: not counted
	insert(1, "success", at(10*h30), p(10*h30), p(11*h30))    // after the window
	insert(1, "success", at(-30*h30), p(-30*h30), p(-29*h30)) // long before
	// Environment 2:
	insert(2, "success", at(5*h30), p(5*h30), p(5*h30+30*m))           // busy 30 min, no wait
	insert(2, "success", at(6*h30+45*m), p(6*h30+45*m), p(6*h30+46*m)) // 06:45 UTC is 12:15 in India
	// Environment 3: a long run that began 20 hours before the window.
	insert(3, "error", at(-20*h30), p(-20*h30), p(2*h30)) // busy 2h in the window

	end := at(10 * h30).Format(time.RFC3339)
	var ins insightsAnswer
	get := func(query string) insightsAnswer {
		t.Helper()
		var out insightsAnswer
		h.get(t, "/api/insights/environments?"+query, specValid).decode(t, http.StatusOK, &out)
		return out
	}
	// The percentiles come from a histogram: nearest-rank, within
	// postgres.WaitPercentileError of the exact figure.
	near := func(want int64, got *int64, msg string) {
		t.Helper()
		require.NotNil(t, got, msg)
		require.InEpsilon(t, float64(want), float64(*got), postgres.WaitPercentileError, msg)
	}
	// Each check runs twice: with every run read from the runs table (none
	// recorded in the usage rollup yet: runs inserted by hand), then after
	// the rollup recorded them; the answers must be the same.
	for _, recorded := range []bool{false, true} {
		if recorded {
			n, err := h.insights.RecordPendingUsage(ctx)
			require.NoError(t, err)
			require.Equal(t, 8, n, "the ended runs that started")
		}
		ins = get("window=10h&end=" + url.QueryEscape(end))
		require.Equal(t, at(0), ins.From.UTC())
		require.Equal(t, at(10*h30), ins.To.UTC())
		require.Equal(t, "UTC", ins.Timezone)
		require.InDelta(t, 10.0/24, ins.Days, 1e-9)
		require.Len(t, ins.Envs, 100)

		e1 := ins.Envs[0]
		require.Equal(t, 1, e1.ID)
		require.Equal(t, "env1", e1.Name)
		require.Equal(t, 3, e1.RunsStarted)
		require.InDelta(t, 17400, e1.BusySeconds, 0.01, "1h + 1h50m + 1h + 1h")
		require.InDelta(t, 17400.0/36000, e1.BusyShare, 1e-6)
		require.InDelta(t, 4200, e1.QueueWaitSeconds, 0.01)
		require.InDelta(t, 4200.0/36000, e1.AverageQueueLength, 1e-6)
		require.InDelta(t, 3/(10.0/24), e1.RunsPerDay, 1e-6)
		near(600_000, e1.P50, "waits 0, 10 min, 1 h: the 2nd of 3")
		near(3_600_000, e1.P95, "the 3rd of 3")
		require.LessOrEqual(t, *e1.P95, *e1.Max, "never above the greatest wait")
		require.Equal(t, int64(3_600_000), *e1.Max)
		want := make([]int, 24)
		want[2], want[4], want[9] = 1, 1, 1
		require.Equal(t, want, e1.StartsByHour)

		e2 := ins.Envs[1]
		require.Equal(t, 2, e2.RunsStarted)
		require.InDelta(t, 1860, e2.BusySeconds, 0.01)
		require.Equal(t, int64(0), *e2.P50)
		require.Nil(t, ins.Envs[2].P50, "an environment without starts has no percentiles")
		require.Zero(t, ins.Envs[2].RunsStarted)
		require.InDelta(t, 0.2, ins.Envs[2].BusyShare, 1e-9)
		require.Zero(t, ins.Envs[3].BusyShare)

		require.Equal(t, 5, ins.Total.RunsStarted)
		require.InDelta(t, 26460, ins.Total.BusySeconds, 0.01)
		require.InDelta(t, 26460.0/36000/100, ins.Total.BusyShare, 1e-9, "the mean over the 100 environments")
		require.Equal(t, int64(0), *ins.Total.P50, "waits 0, 0, 0, 10 min, 1 h: the 3rd of 5")
		near(3_600_000, ins.Total.P95, "the 5th of 5")
		require.Equal(t, int64(3_600_000), *ins.Total.Max)

		// The hours of day follow the zone asked for: India is UTC+5:30.
		ins = get("window=10h&tz=Asia/Kolkata&end=" + url.QueryEscape(end))
		want = make([]int, 24)
		want[7], want[9], want[14] = 1, 1, 1
		require.Equal(t, want, ins.Envs[0].StartsByHour)
		want = make([]int, 24)
		want[10], want[12] = 1, 1
		require.Equal(t, want, ins.Envs[1].StartsByHour, "05:00 and 06:45 UTC are 10:30 and 12:15 in India")
		require.Equal(t, "Asia/Kolkata", ins.Timezone)

		// Whole UTC days come from the rollup once recorded: the day of t0
		// (the running run is busy to the day's end) and the one before.
		ins = get("window=48h&tz=Asia/Kolkata&end=" + url.QueryEscape(at(24*h30).Format(time.RFC3339)))
		e1 = ins.Envs[0]
		require.Equal(t, 5, e1.RunsStarted, "23:30 the day before, 02:10, 04:00, 09:00 (running), 10:00")
		require.InDelta(t, 3600+6600+3600+15*3600+3600+1800, e1.BusySeconds, 0.01,
			"1h + 1h50m + 1h + 15h running + 1h, and the 30 minutes before t0")
		require.Equal(t, int64(3_600_000), *e1.Max)
		near(600_000, e1.P50, "waits 0, 0, 10 min, 30 min, 1 h: the 3rd of 5")
		want = make([]int, 24)
		want[5], want[7], want[9], want[14], want[15] = 1, 1, 1, 1, 1
		require.Equal(t, want, e1.StartsByHour)
		require.Equal(t, 1, ins.Envs[1].StartsByHour[10], "05:00 UTC is 10:30 in India")
		require.Equal(t, 1, ins.Envs[1].StartsByHour[12], "06:45 UTC is 12:15 in India")
		require.InDelta(t, 22*3600, ins.Envs[2].BusySeconds, 0.01, "the long run: 20 h the day before, 2 h on t0")
		require.Equal(t, 1, ins.Envs[2].RunsStarted, "it started 20 hours before t0, in the window")

		// The default window is the last 7 days: none of these runs. (The
		// "running" one began 30 days ago; a run lasts at most a day, so the
		// scan looks back 25 hours before a window, no further.)
		ins = get("")
		require.Zero(t, ins.Total.RunsStarted)
		require.Zero(t, ins.Total.BusySeconds)
		require.InDelta(t, 7.0, ins.Days, 1e-6)
	}
}

// insightsAnswer is the EnvironmentInsights schema, usage its
// EnvironmentUsage and UsageTotals (float64: see TestHistory).
type insightsAnswer struct {
	From, To time.Time
	Timezone string  `json:"timezone"`
	Days     float64 `json:"days"`
	Total    usage   `json:"total"`
	Envs     []usage `json:"environments"`
}

type usage struct {
	ID                 int     `json:"environment_id"`
	Name               string  `json:"name"`
	RunsStarted        int     `json:"runs_started"`
	RunsPerDay         float64 `json:"runs_per_day"`
	BusySeconds        float64 `json:"busy_seconds"`
	BusyShare          float64 `json:"busy_share"`
	QueueWaitSeconds   float64 `json:"queue_wait_seconds"`
	AverageQueueLength float64 `json:"average_queue_length"`
	P50                *int64  `json:"queue_wait_p50_ms"`
	P95                *int64  `json:"queue_wait_p95_ms"`
	Max                *int64  `json:"queue_wait_max_ms"`
	StartsByHour       []int   `json:"starts_by_hour"`
}

// TestRequestID: every response carries X-Request-Id and every request log
// line the same id; a client's own id is kept when it is sane.
func TestRequestID(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{})
	run := h.postJSON(t, "/api/runs", map[string]any{"requested_by": "rid", "environment_id": 1,
		"test_files": []string{fileA}}, specValid)
	id := run.Header.Get("X-Request-Id")
	require.Len(t, id, 32)
	require.Contains(t, h.logs.String(), "request_id="+id, "the request's log line names it")

	mine := h.do(t, request{Method: http.MethodGet, Path: "/api/runs", Spec: specValid,
		Header: http.Header{"X-Request-Id": {"trace-42.a_b:c"}}})
	require.Equal(t, "trace-42.a_b:c", mine.Header.Get("X-Request-Id"))
	for _, junk := range []string{strings.Repeat("x", 129), "a b", "é", `"quoted"`} {
		res := h.do(t, request{Method: http.MethodGet, Path: "/api/runs", Spec: specValid,
			Header: http.Header{"X-Request-Id": {junk}}})
		got := res.Header.Get("X-Request-Id")
		require.Len(t, got, 32, "a fresh id replaces %q", junk)
	}
	bad := h.get(t, "/api/runs/0", specInvalid)
	require.Len(t, bad.Header.Get("X-Request-Id"), 32, "errors carry one too")
	require.Contains(t, h.logs.String(), "request_id="+bad.Header.Get("X-Request-Id"))
}
