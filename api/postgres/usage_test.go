package postgres_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/baton-ci/baton/api/domain"
	"github.com/baton-ci/baton/api/internal/pgtest"
	"github.com/baton-ci/baton/api/postgres"
)

// usageRun is a run as the usage tests insert it.
type usageRun struct {
	id               int64
	env              int
	created, started time.Time
	finished         *time.Time // nil: still running
	startedNil       bool       // cancelled while queued
}

func insertUsageRun(t *testing.T, db *postgres.DB, r *usageRun) {
	t.Helper()
	status, started, worker := "success", &r.started, "w"
	switch {
	case r.startedNil:
		status, started = "cancelled", nil
	case r.finished == nil:
		status = "running"
	}
	require.NoError(t, db.Pool.QueryRow(context.Background(), `INSERT INTO runs (requested_by, environment_id, test_files,
		status, timeout_seconds, created_at, started_at, finished_at, heartbeat_at, worker_id)
		VALUES ('u', $1, '["t.py"]', $2, 60, $3, $4, $5, $4, CASE WHEN $4::timestamptz IS NOT NULL THEN $6 END) RETURNING id`,
		r.env, status, r.created, started, r.finished, worker).Scan(&r.id))
}

// randomUsageRuns makes n runs on environments 1-5 between base and end:
// waits from nothing to three days (most short), runs from nothing to 24
// hours, one still running per environment near end, a few cancelled
// before they started.
func randomUsageRuns(rng *rand.Rand, n int, base, end time.Time) []*usageRun {
	var out []*usageRun
	span := end.Add(-26 * time.Hour).Sub(base)
	for i := range n {
		r := &usageRun{env: 1 + rng.IntN(5)}
		r.created = base.Add(time.Duration(rng.Int64N(int64(span)))).Truncate(time.Microsecond)
		var wait time.Duration
		switch rng.IntN(5) {
		case 0: // started at once
		case 1:
			wait = time.Duration(rng.Int64N(int64(time.Millisecond)))
		case 2:
			wait = time.Duration(rng.Int64N(int64(3 * 24 * time.Hour)))
		default:
			wait = time.Duration(rng.Int64N(int64(20 * time.Minute)))
		}
		r.started = r.created.Add(wait).Truncate(time.Microsecond)
		dur := time.Duration(rng.Int64N(int64(24 * time.Hour)))
		if i%7 == 0 {
			dur = time.Duration(rng.Int64N(int64(10 * time.Minute)))
		}
		f := r.started.Add(dur).Truncate(time.Microsecond)
		if f.After(end) {
			f = end
		}
		r.finished = &f
		if i%41 == 0 {
			r.startedNil = true
		}
		out = append(out, r)
	}
	for env := 1; env <= 5; env++ {
		s := end.Add(-time.Duration(rng.Int64N(int64(20 * time.Hour)))).Truncate(time.Microsecond)
		out = append(out, &usageRun{env: env, created: s.Add(-time.Minute), started: s})
	}
	return out
}

// expectedUsage is what the usage of runs over [from, to) is, worked out
// run by run (the nearest-rank percentiles exact).
type expectedUsage struct {
	runs          int
	busyUS        int64
	waitUS        int64
	waits         []int64
	startsByHour  [24]int
	p50, p95, max *int64
}

func expectUsage(runs []*usageRun, env int, from, to, now time.Time, loc *time.Location) expectedUsage {
	var e expectedUsage
	for _, r := range runs {
		if r.startedNil || (env != 0 && r.env != env) {
			continue
		}
		end := now
		if r.finished != nil {
			end = *r.finished
		}
		if !r.started.Before(from) && r.started.Before(to) {
			e.runs++
			w := max(0, r.started.Sub(r.created).Microseconds())
			e.waitUS += w
			e.waits = append(e.waits, w)
			e.startsByHour[r.started.In(loc).Hour()]++
		}
		lo, hi := r.started, end
		if lo.Before(from) {
			lo = from
		}
		if hi.After(to) {
			hi = to
		}
		if hi.After(lo) {
			e.busyUS += hi.Sub(lo).Microseconds()
		}
	}
	if len(e.waits) > 0 {
		slices.Sort(e.waits)
		rank := func(p float64) *int64 {
			k := max(1, int(math.Ceil(p*float64(len(e.waits)))))
			v := e.waits[k-1]
			return &v
		}
		e.p50, e.p95, e.max = rank(0.5), rank(0.95), &e.waits[len(e.waits)-1]
	}
	return e
}

func requireUsage(t *testing.T, want expectedUsage, got domain.EnvironmentUsage, msg string) {
	t.Helper()
	require.Equal(t, want.runs, got.RunsStarted, msg)
	require.InDelta(t, float64(want.busyUS)/1e6, got.BusySeconds, 1e-6, msg)
	require.InDelta(t, float64(want.waitUS)/1e6, got.QueueWaitSeconds, 1e-6, msg)
	require.Equal(t, want.startsByHour, got.StartsByHour, msg)
	if want.runs == 0 {
		require.Nil(t, got.QueueWaitP50MS, msg)
		require.Nil(t, got.QueueWaitMaxMS, msg)
		return
	}
	require.Equal(t, int64(math.Round(float64(*want.max)/1000)), *got.QueueWaitMaxMS, msg)
	for _, p := range []struct {
		name      string
		want, got *int64
	}{{"p50", want.p50, got.QueueWaitP50MS}, {"p95", want.p95, got.QueueWaitP95MS}} {
		exact := float64(*p.want) / 1000
		bound := math.Max(exact*postgres.WaitPercentileError, 1) + 0.5 // + rounding to whole ms
		require.InDelta(t, exact, float64(*p.got), bound, "%s %s: exact %.3f ms", msg, p.name, exact)
	}
}

// usageZones are zones of every kind: UTC, whole-hour offsets with and
// without DST, half-hour offsets with DST changing at a half hour UTC
// (St John's at 05:30 UTC, Lord Howe by 30 minutes), quarter-hour offsets.
var usageZones = []string{"UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "America/St_Johns",
	"Australia/Lord_Howe", "Asia/Kathmandu", "Australia/Adelaide", "Pacific/Chatham"}

// TestEnvironmentUsageMatchesRuns compares the insights of random runs,
// over random windows and zones, with the figures worked out run by run:
// before any run is in the usage rollup, with some in it, and with all of
// them. Every figure is exact but the percentiles, which are within
// WaitPercentileError of the exact nearest-rank ones.
func TestEnvironmentUsageMatchesRuns(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.NewDB(t)
	store := postgres.NewStore(db, nil)
	rng := rand.New(rand.NewPCG(16, 2026))
	// From mid-February to mid-May 2026: month ends, and the DST changes of
	// Europe, North America and Australia.
	base := time.Date(2026, 2, 13, 7, 0, 0, 0, time.UTC)
	now := time.Date(2026, 5, 14, 9, 26, 13, 0, time.UTC)
	runs := randomUsageRuns(rng, 700, base, now)
	for _, r := range runs {
		insertUsageRun(t, db, r)
	}
	windows := func() [][2]time.Time {
		day := 24 * time.Hour
		out := [][2]time.Time{
			{base, now}, // everything
			{base.Truncate(day), now.Truncate(day)},
			{time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)}, // whole months
			{time.Date(2026, 3, 28, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 30, 0, 0, 0, 0, time.UTC)},
			{now.Add(-time.Hour), now},
			{now.Add(-24 * time.Hour), now},
		}
		for range 14 {
			from := base.Add(time.Duration(rng.Int64N(int64(now.Sub(base))))).Truncate(time.Second)
			to := from.Add(time.Hour + time.Duration(rng.Int64N(int64(now.Sub(from)-time.Hour)))).Truncate(time.Second)
			out = append(out, [2]time.Time{from, to})
		}
		return out
	}()
	check := func(state string) {
		t.Helper()
		for i, w := range windows {
			zone := usageZones[i%len(usageZones)]
			loc, err := time.LoadLocation(zone)
			require.NoError(t, err)
			got, err := store.EnvironmentUsage(ctx, domain.InsightsWindow{From: w[0], To: w[1], TimeZone: zone, Now: now})
			require.NoError(t, err)
			require.Len(t, got.Environments, 100)
			for env := 1; env <= 6; env++ {
				msg := fmt.Sprintf("%s: env %d, [%s, %s) in %s", state, env, w[0].Format(time.RFC3339), w[1].Format(time.RFC3339), zone)
				requireUsage(t, expectUsage(runs, env, w[0], w[1], now, loc), got.Environments[env-1], msg)
			}
			msg := fmt.Sprintf("%s: total, [%s, %s) in %s", state, w[0], w[1], zone)
			requireUsage(t, expectUsage(runs, 0, w[0], w[1], now, loc), got.Total, msg)
		}
	}
	check("none recorded")
	for _, r := range runs {
		if rng.IntN(2) == 0 {
			_, err := store.RecordEnvironmentUsage(ctx, r.id)
			require.NoError(t, err)
		}
	}
	check("some recorded")
	n, err := store.RecordPendingUsage(ctx, 100_000)
	require.NoError(t, err)
	require.Positive(t, n)
	var pending int
	require.NoError(t, db.Pool.QueryRow(ctx, `SELECT count(*) FROM runs WHERE NOT usage_recorded AND started_at IS NOT NULL`).Scan(&pending))
	require.Equal(t, 5, pending, "only the running runs are left out")
	check("all recorded")
}

// usageRows reads environment_usage in key order.
func usageRows(t *testing.T, db *postgres.DB) []string {
	t.Helper()
	rs, err := db.Pool.Query(context.Background(), `SELECT format('%s %s env %s: %s started, wait %s [%s, %s], busy %s, hist %s, starts %s',
		period, to_char(start AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI'), environment_id, runs_started, wait_us, wait_min_us,
		wait_max_us, busy_us, baton_counts_array(wait_hist), baton_counts_array(starts)) FROM environment_usage
		ORDER BY period, start, environment_id`)
	require.NoError(t, err)
	var out []string
	for rs.Next() {
		var s string
		require.NoError(t, rs.Scan(&s))
		out = append(out, s)
	}
	require.NoError(t, rs.Err())
	return out
}

// TestUsageSplitsBusyTime: a run's busy time goes to each day and month it
// executed in, split at their bounds; its start, wait and quarter hour go
// to the day and month it started in.
func TestUsageSplitsBusyTime(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.NewDB(t)
	store := postgres.NewStore(db, nil)
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		require.NoError(t, err)
		return v
	}
	f := at("2026-02-01T03:30:00Z")
	r := &usageRun{env: 7, created: at("2026-01-31T20:14:30Z"), started: at("2026-01-31T20:15:00Z"), finished: &f}
	insertUsageRun(t, db, r)
	ok, err := store.RecordEnvironmentUsage(ctx, r.id)
	require.NoError(t, err)
	require.True(t, ok)
	// 20:15 is the 81st quarter hour of the day (index 81); a 30 s wait is
	// in bucket 1 + floor(4 log2(30000)) = 60.
	starts := "{" + zeros(81) + "1}"
	hist := "{" + zeros(60) + "1}"
	require.Equal(t, []string{
		"day 2026-01-31 00:00 env 7: 1 started, wait 30000000 [30000000, 30000000], busy 13500000000, hist " + hist + ", starts " + starts,
		"day 2026-02-01 00:00 env 7: 0 started, wait 0 [, ], busy 12600000000, hist {}, starts {}",
		"month 2026-01-01 00:00 env 7: 1 started, wait 30000000 [30000000, 30000000], busy 13500000000, hist " + hist + ", starts " + starts,
		"month 2026-02-01 00:00 env 7: 0 started, wait 0 [, ], busy 12600000000, hist {}, starts {}",
	}, usageRows(t, db), "3h45m on the 31st, 3h30m on the 1st")
}

func zeros(n int) string {
	s := ""
	for range n {
		s += "0,"
	}
	return s
}

// TestRecordUsageOnce: a run enters the rollup once, however often its
// run_ended job runs, and however many run at once; a run still running,
// or one that never started, does not enter it.
func TestRecordUsageOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.NewDB(t)
	store := postgres.NewStore(db, nil)
	now := time.Now().UTC().Truncate(time.Second)
	f := now.Add(-time.Hour)
	ended := &usageRun{env: 1, created: now.Add(-3 * time.Hour), started: now.Add(-2 * time.Hour), finished: &f}
	running := &usageRun{env: 2, created: now.Add(-time.Hour), started: now.Add(-time.Hour)}
	never := &usageRun{env: 3, created: now.Add(-time.Hour), started: now, finished: &f, startedNil: true}
	for _, r := range []*usageRun{ended, running, never} {
		insertUsageRun(t, db, r)
	}
	var wg sync.WaitGroup
	results := make([]bool, 8)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := store.RecordEnvironmentUsage(ctx, ended.id)
			if err != nil {
				t.Error(err)
			}
			results[i] = ok
		}()
	}
	wg.Wait()
	require.Equal(t, 1, count(results, true), "exactly one recorder adds the run")
	once := usageRows(t, db)
	require.Len(t, once, 2, "its day and its month")
	for range 3 {
		ok, err := store.RecordEnvironmentUsage(ctx, ended.id)
		require.NoError(t, err)
		require.False(t, ok)
	}
	n, err := store.RecordPendingUsage(ctx, 100)
	require.NoError(t, err)
	require.Zero(t, n)
	for _, r := range []*usageRun{running, never} {
		ok, err := store.RecordEnvironmentUsage(ctx, r.id)
		require.NoError(t, err)
		require.False(t, ok)
	}
	require.Equal(t, once, usageRows(t, db), "retries changed nothing")
}

func count[T comparable](s []T, v T) int {
	n := 0
	for _, x := range s {
		if x == v {
			n++
		}
	}
	return n
}

// TestPendingUsageEqualsIncremental: recording the runs in batches (the
// housekeeping that fills the rollup after the upgrade) leaves exactly the
// rows that recording them one by one, in another order and eight at once
// (run_ended jobs on several workers), leaves.
func TestPendingUsageEqualsIncremental(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.NewDB(t)
	store := postgres.NewStore(db, nil)
	rng := rand.New(rand.NewPCG(7, 13))
	now := time.Date(2026, 4, 2, 12, 0, 0, 0, time.UTC)
	runs := randomUsageRuns(rng, 300, now.Add(-40*24*time.Hour), now)
	for _, r := range runs {
		insertUsageRun(t, db, r)
	}
	// Eight recorders at once, as run_ended jobs on several workers: the
	// same rows are upserted concurrently (in key order: no deadlock).
	order := rng.Perm(len(runs))
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := w; k < len(order); k += 8 {
				if _, err := store.RecordEnvironmentUsage(ctx, runs[order[k]].id); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	one := usageRows(t, db)
	require.NotEmpty(t, one)
	_, err := db.Pool.Exec(ctx, `DELETE FROM environment_usage; UPDATE runs SET usage_recorded = false`)
	require.NoError(t, err)
	total := 0
	for {
		n, err := store.RecordPendingUsage(ctx, 17)
		require.NoError(t, err)
		total += n
		if n < 17 {
			break
		}
	}
	require.Equal(t, len(runs)-5-count(startedNils(runs), true), total, "every ended run that started")
	require.Equal(t, one, usageRows(t, db))
}

func startedNils(runs []*usageRun) []bool {
	out := make([]bool, len(runs))
	for i, r := range runs {
		out[i] = r.startedNil
	}
	return out
}

// TestRetentionKeepsUsage: retention deletes runs, not what they did to
// their environments; a run deleted before its run_ended job ran is
// recorded first.
func TestRetentionKeepsUsage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.NewDB(t)
	store := postgres.NewStore(db, nil)
	now := time.Now().UTC()
	day := 24 * time.Hour
	d0 := now.Add(-100 * day).Truncate(day)
	for i := range 6 {
		s := d0.Add(time.Duration(i) * 3 * time.Hour)
		f := s.Add(time.Hour)
		r := &usageRun{env: 4, created: s.Add(-time.Minute), started: s, finished: &f}
		insertUsageRun(t, db, r)
		if i%2 == 0 {
			_, err := store.RecordEnvironmentUsage(ctx, r.id)
			require.NoError(t, err)
		}
	}
	w := domain.InsightsWindow{From: d0, To: d0.Add(day), TimeZone: "UTC", Now: now}
	before, err := store.EnvironmentUsage(ctx, w)
	require.NoError(t, err)
	require.Equal(t, 6, before.Environments[3].RunsStarted)
	p, err := store.DeleteEndedRuns(ctx, now.Add(-90*day), 100, domain.DefaultFlakyWindow)
	require.NoError(t, err)
	require.Equal(t, 6, p.Runs)
	after, err := store.EnvironmentUsage(ctx, w)
	require.NoError(t, err)
	require.Equal(t, before, after, "the same figures, from the rollup alone")
	require.InDelta(t, 6*3600.0, after.Environments[3].BusySeconds, 1e-6)
}
