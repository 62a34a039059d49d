package postgres

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/baton-ci/baton/api/domain"
)

// Environment insights come from environment_usage, a rollup per
// environment and UTC day or month of the recorded runs (runs.usage_recorded),
// plus, read from runs, what the rollup cannot answer: the parts of the
// window that are not whole UTC days, and the runs not recorded yet (those
// still running, and those whose run_ended job has not run). Both are read
// in one snapshot, and a run is recorded in the transaction that adds it to
// the rollup, so every figure but the wait percentiles is exact at every
// moment. The percentiles come from a histogram of log-spaced buckets.

// waitBuckets is how many wait histogram buckets there are: bucket 0 holds
// waits under 1 ms, bucket i in 1..waitBuckets-2 holds
// [waitBounds[i-1], waitBounds[i]), the last one everything above.
const waitBuckets = 130

// waitBounds are the buckets' lower bounds in microseconds: 1 ms × 2^(i/4),
// i = 0..128 (the last about 49 days). A bucket is 19% wide, so its
// geometric middle is within 9.1% of any wait in it. Changing them needs a
// migration that rebuilds environment_usage.
var waitBounds = func() []int64 {
	b := make([]int64, waitBuckets-1)
	for i := range b {
		b[i] = int64(math.Round(1000 * math.Pow(2, float64(i)/4)))
	}
	return b
}()

// WaitPercentileError is how far, as a fraction, a reported queue wait
// percentile may be from the exact nearest-rank one (waits of 1 ms or
// more; under 1 ms it may be up to 1 ms off).
var WaitPercentileError = math.Pow(2, 1.0/8) - 1

// waitBucket is the bucket of a wait of us microseconds; width_bucket in
// recordUsageSQL computes the same from the same bounds.
func waitBucket(us int64) int {
	return sort.Search(len(waitBounds), func(i int) bool { return waitBounds[i] > us })
}

// recordUsageSQL marks the ended, started runs of @ids that are not
// recorded yet as recorded and adds them to environment_usage: in the day
// and month a run started in, its start, its wait and the quarter hour of
// the day; in every day and month it executed in, its busy time there. The
// arithmetic is on UTC wall-clock timestamps, so the session's TimeZone
// plays no part. Rows are upserted in key order, so concurrent recorders
// lock them in the same order.
const recordUsageSQL = `
WITH r AS (
	UPDATE runs SET usage_recorded = true
	WHERE id = ANY(@ids) AND NOT usage_recorded AND started_at IS NOT NULL AND finished_at IS NOT NULL
	RETURNING environment_id AS env, started_at AT TIME ZONE 'UTC' AS s, finished_at AT TIME ZONE 'UTC' AS f,
		greatest(0, (extract(epoch FROM started_at - created_at) * 1000000)::bigint) AS wait_us
),
p(period) AS (VALUES ('day'), ('month')),
busy AS (
	SELECT p.period, g.t AS start, r.env,
		sum(extract(epoch FROM least(r.f, g.t + ('1 ' || p.period)::interval) - greatest(r.s, g.t)) * 1000000)::bigint AS busy_us
	FROM r CROSS JOIN p
	CROSS JOIN LATERAL generate_series(date_trunc(p.period, r.s), r.f - interval '1 microsecond', ('1 ' || p.period)::interval) AS g(t)
	WHERE r.f > r.s
	GROUP BY 1, 2, 3
),
s AS (
	SELECT p.period, date_trunc(p.period, r.s) AS start, r.env, r.wait_us,
		width_bucket(r.wait_us, @bounds::bigint[]) AS b,
		floor(extract(epoch FROM r.s - date_trunc('day', r.s)) / 900)::int AS q
	FROM r CROSS JOIN p
),
st AS (
	SELECT period, start, env, count(*)::int AS n, sum(wait_us)::bigint AS wait_us,
		min(wait_us) AS wait_min, max(wait_us) AS wait_max
	FROM s GROUP BY 1, 2, 3
),
hist AS (
	SELECT period, start, env, baton_counts(baton_dense(array_agg(b), array_agg(n))) AS h
	FROM (SELECT period, start, env, b, count(*)::int AS n FROM s GROUP BY 1, 2, 3, 4) x GROUP BY 1, 2, 3
),
quarters AS (
	SELECT period, start, env, baton_counts(baton_dense(array_agg(q), array_agg(n))) AS h
	FROM (SELECT period, start, env, q, count(*)::int AS n FROM s GROUP BY 1, 2, 3, 4) x GROUP BY 1, 2, 3
),
add AS (
	INSERT INTO environment_usage AS u (period, start, environment_id, runs_started, wait_us, wait_min_us, wait_max_us,
		busy_us, wait_hist, starts)
	SELECT period, start AT TIME ZONE 'UTC', env, coalesce(st.n, 0), coalesce(st.wait_us, 0), st.wait_min, st.wait_max,
		coalesce(busy.busy_us, 0), coalesce(hist.h, ''::bytea), coalesce(quarters.h, ''::bytea)
	FROM busy FULL JOIN st USING (period, start, env)
	LEFT JOIN hist USING (period, start, env) LEFT JOIN quarters USING (period, start, env)
	ORDER BY period, start, env
	ON CONFLICT (period, start, environment_id) DO UPDATE SET
		runs_started = u.runs_started + EXCLUDED.runs_started,
		wait_us = u.wait_us + EXCLUDED.wait_us,
		wait_min_us = least(u.wait_min_us, EXCLUDED.wait_min_us),
		wait_max_us = greatest(u.wait_max_us, EXCLUDED.wait_max_us),
		busy_us = u.busy_us + EXCLUDED.busy_us,
		wait_hist = baton_counts_add(u.wait_hist, EXCLUDED.wait_hist),
		starts = baton_counts_add(u.starts, EXCLUDED.starts)
	RETURNING 1
)
SELECT (SELECT count(*) FROM r), (SELECT count(*) FROM add)`

// recordUsage records the runs of ids in tx (see recordUsageSQL) and
// returns how many it recorded now.
func recordUsage(ctx context.Context, tx pgx.Tx, ids []int64) (int, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	var runs, rows int
	if err := tx.QueryRow(ctx, recordUsageSQL, pgx.NamedArgs{"ids": ids, "bounds": waitBounds}).Scan(&runs, &rows); err != nil {
		return 0, fmt.Errorf("record environment usage: %w", err)
	}
	return runs, nil
}

// RecordEnvironmentUsage implements domain.InsightsStore.
func (s *Store) RecordEnvironmentUsage(ctx context.Context, runID int64) (bool, error) {
	var n int
	err := pgx.BeginFunc(ctx, s.db.Pool, func(tx pgx.Tx) (err error) {
		n, err = recordUsage(ctx, tx, []int64{runID})
		return err
	})
	return n > 0, wrapDBError(err)
}

// RecordPendingUsage implements domain.InsightsStore: the oldest ended,
// unrecorded runs from runs_usage_pending; SKIP LOCKED lets two workers
// share the work.
func (s *Store) RecordPendingUsage(ctx context.Context, limit int) (int, error) {
	var n int
	err := pgx.BeginFunc(ctx, s.db.Pool, func(tx pgx.Tx) error {
		rs, err := tx.Query(ctx, `SELECT id FROM runs
			WHERE started_at IS NOT NULL AND NOT usage_recorded AND finished_at IS NOT NULL
			ORDER BY started_at LIMIT @limit FOR UPDATE SKIP LOCKED`, pgx.NamedArgs{"limit": limit})
		if err != nil {
			return err
		}
		ids, err := pgx.CollectRows(rs, pgx.RowTo[int64])
		if err != nil {
			return err
		}
		n, err = recordUsage(ctx, tx, ids)
		return err
	})
	return n, wrapDBError(err)
}

// usageAcc adds up one environment's (or all environments') usage, in
// microseconds.
type usageAcc struct {
	runs           int
	busyUS, waitUS int64
	minUS, maxUS   int64 // -1: no wait seen
	hist           [waitBuckets]int64
	startsByHour   [24]int
	sawWait        bool
	environmentID  int
	name           string
}

func (a *usageAcc) wait(us int64) {
	a.runs++
	a.waitUS += us
	if !a.sawWait || us < a.minUS {
		a.minUS = us
	}
	if !a.sawWait || us > a.maxUS {
		a.maxUS = us
	}
	a.sawWait = true
	a.hist[waitBucket(us)]++
}

func (a *usageAcc) bounds(minUS, maxUS int64) {
	if !a.sawWait || minUS < a.minUS {
		a.minUS = minUS
	}
	if !a.sawWait || maxUS > a.maxUS {
		a.maxUS = maxUS
	}
	a.sawWait = true
}

// percentileMS estimates the nearest-rank p-th percentile (the least wait
// at least p of the waits do not exceed) from the histogram: the geometric
// middle of its bucket, within the least and greatest wait seen.
func (a *usageAcc) percentileMS(p float64) *int64 {
	if a.runs == 0 {
		return nil
	}
	rank := int64(math.Ceil(p * float64(a.runs)))
	rank = max(rank, 1)
	var seen int64
	b := len(a.hist) - 1
	for i, n := range &a.hist {
		seen += n
		if seen >= rank {
			b = i
			break
		}
	}
	var us float64
	switch b {
	case 0:
		us = 0
	case waitBuckets - 1:
		us = float64(a.maxUS)
	default:
		us = math.Sqrt(float64(waitBounds[b-1]) * float64(waitBounds[b]))
	}
	us = min(max(us, float64(a.minUS)), float64(a.maxUS))
	ms := int64(math.Round(us / 1000))
	return &ms
}

func (a *usageAcc) maxMS() *int64 {
	if a.runs == 0 {
		return nil
	}
	ms := int64(math.Round(float64(a.maxUS) / 1000))
	return &ms
}

// spanMode says what rows of a usageSpan contribute.
type spanMode int

const (
	// spanAdd rows add every figure, their starts mapped by the span's
	// ref (a month) or by their own day's map.
	spanAdd spanMode = iota
	// spanSub rows are days of a month row read whole that are outside
	// the window: every figure but the least and greatest wait is taken
	// away, their starts mapped by the month's ref.
	spanSub
	// spanFix rows are days of a month row whose hours of day map
	// differently from the month's ref (loc changed its offset): only
	// their starts count, moved from ref's hours to their own.
	spanFix
)

// usageSpan is a range of rollup rows to read: period rows starting in
// [lo, hi), and what they contribute.
type usageSpan struct {
	period string
	lo, hi time.Time
	mode   spanMode
	// ref maps the quarter hours of a month row's starts (nil: each day
	// row's own map).
	ref *[96]int8
	// bounds: the rows' least and greatest waits count (a month row only
	// when the whole month is in the window).
	bounds bool
}

// usagePlan splits [from, to) into what the rollup answers, in whole UTC
// days, and the two ends read from runs: [from, a) and [b, to), a <= b
// (a = b: no whole day). Each month of [a, b) is read as its month row
// when more than half of it is in the window, less the days that are not
// (sums and histograms subtract; the least and greatest waits of those
// days come from boundDays instead), and otherwise as its days. A month
// row's starts are mapped to hours of day by the map most of its days
// share; the days that map otherwise (loc changed its offset) correct it.
type usagePlan struct {
	a, b  time.Time
	spans []usageSpan
	// boundDays are day ranges whose least and greatest waits are read
	// by aggregate.
	boundDays [][2]time.Time
	maps      *dayMaps
}

// dayMaps computes and caches the hour-of-day map of each UTC day in loc:
// one per offset for the days loc keeps one offset all day.
type dayMaps struct {
	loc      *time.Location
	byOffset map[int]*[96]int8
	byDay    map[int64]*[96]int8
}

func newDayMaps(loc *time.Location) *dayMaps {
	return &dayMaps{loc: loc, byOffset: map[int]*[96]int8{}, byDay: map[int64]*[96]int8{}}
}

func (m *dayMaps) of(day time.Time) *[96]int8 {
	if hm := m.byDay[day.Unix()]; hm != nil {
		return hm
	}
	var hm *[96]int8
	if constantOffset(day, day.AddDate(0, 0, 1), m.loc) {
		_, off := day.In(m.loc).Zone()
		if hm = m.byOffset[off]; hm == nil {
			v := hourMap(day, m.loc)
			hm = &v
			m.byOffset[off] = hm
		}
	} else {
		v := hourMap(day, m.loc)
		hm = &v
	}
	m.byDay[day.Unix()] = hm
	return hm
}

func planUsage(from, to time.Time, loc *time.Location) usagePlan {
	day := func(t time.Time) time.Time { return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC) }
	a := day(from)
	if a.Before(from) {
		a = a.AddDate(0, 0, 1)
	}
	b := day(to)
	maps := newDayMaps(loc)
	if !a.Before(b) {
		return usagePlan{a: from, b: from, maps: maps}
	}
	p := usagePlan{a: a, b: b, maps: maps}
	add := func(sp usageSpan) {
		if n := len(p.spans); n > 0 {
			last := &p.spans[n-1]
			if last.period == sp.period && last.mode == sp.mode && last.ref == sp.ref && last.bounds == sp.bounds &&
				last.hi.Equal(sp.lo) {
				last.hi = sp.hi
				return
			}
		}
		if sp.lo.Before(sp.hi) {
			p.spans = append(p.spans, sp)
		}
	}
	for m := time.Date(a.Year(), a.Month(), 1, 0, 0, 0, 0, time.UTC); m.Before(b); m = m.AddDate(0, 1, 0) {
		end := m.AddDate(0, 1, 0)
		lo, hi := maxTime(m, a), minTime(end, b)
		covered, total := hi.Sub(lo)/(24*time.Hour), end.Sub(m)/(24*time.Hour)
		if covered*2 <= total {
			add(usageSpan{period: "day", lo: lo, hi: hi, mode: spanAdd, bounds: true})
			continue
		}
		// The map most days of the month share.
		votes := map[*[96]int8]int{}
		var ref *[96]int8
		for d := m; d.Before(end); d = d.AddDate(0, 0, 1) {
			hm := maps.of(d)
			votes[hm]++
			if ref == nil || votes[hm] > votes[ref] {
				ref = hm
			}
		}
		add(usageSpan{period: "month", lo: m, hi: end, mode: spanAdd, ref: ref, bounds: covered == total})
		add(usageSpan{period: "day", lo: m, hi: lo, mode: spanSub, ref: ref})
		for d := lo; d.Before(hi); d = d.AddDate(0, 0, 1) {
			if maps.of(d) != ref {
				add(usageSpan{period: "day", lo: d, hi: d.AddDate(0, 0, 1), mode: spanFix, ref: ref})
			}
		}
		add(usageSpan{period: "day", lo: hi, hi: end, mode: spanSub, ref: ref})
		if covered < total {
			p.boundDays = append(p.boundDays, [2]time.Time{lo, hi})
		}
	}
	return p
}

// constantOffset tells whether loc keeps one UTC offset over [lo, hi).
func constantOffset(lo, hi time.Time, loc *time.Location) bool {
	t := lo.In(loc)
	_, end := t.ZoneBounds()
	if end.IsZero() || !end.Before(hi) {
		return true
	}
	// ZoneBounds also ends a zone at a change of its name alone.
	_, off := t.Zone()
	for end.Before(hi) {
		_, o := end.In(loc).Zone()
		if o != off {
			return false
		}
		_, end = end.In(loc).ZoneBounds()
		if end.IsZero() {
			return true
		}
	}
	return true
}

// hourMap maps the 96 UTC quarter hours of a day (or of every day of a
// month in which loc's offset does not change) starting at start to loc's
// hours of day; quarter hours are where every offset in use changes.
func hourMap(start time.Time, loc *time.Location) [96]int8 {
	var m [96]int8
	for q := range m {
		m[q] = int8(start.Add(time.Duration(q) * 15 * time.Minute).In(loc).Hour())
	}
	return m
}

// usageRunsSQL reads the runs that overlap [@lo, @hi), for the window's
// ends (an index-only scan of runs_started_at). A run lasts at most a day
// (BATON_RUN_TIMEOUT's bound), so one that started more than 25 hours
// before @lo is not looked at.
const usageRunsSQL = `
SELECT environment_id, created_at, started_at, finished_at FROM runs
WHERE started_at IS NOT NULL AND started_at >= @scan_from AND started_at < @hi
	AND coalesce(finished_at, @now) > @lo`

// usagePendingSQL is usageRunsSQL for the runs not in the rollup, between
// the window's ends: spelled out rather than a parameter, so that even a
// generic plan uses the partial index runs_usage_pending.
const usagePendingSQL = usageRunsSQL + ` AND NOT usage_recorded`

// usageRowsSQL reads the rollup rows of the plan's spans, one primary key
// range scan each: OFFSET 0 keeps the planner from turning the spans into
// a hash join over a scan of the whole table (it did, from 5 spans on,
// 65 ms instead of 2 ms). Start is in seconds since the epoch; the counts
// are decoded by decodeCounts.
const usageRowsSQL = `
SELECT q.k::int, extract(epoch FROM u.start)::bigint, u.environment_id, u.runs_started, u.wait_us,
	coalesce(u.wait_min_us, 0), coalesce(u.wait_max_us, 0), u.busy_us, u.wait_hist, u.starts
FROM unnest(@periods::text[], @los::timestamptz[], @his::timestamptz[]) WITH ORDINALITY AS q(period, lo, hi, k)
CROSS JOIN LATERAL (
	SELECT * FROM environment_usage e WHERE e.period = q.period AND e.start >= q.lo AND e.start < q.hi OFFSET 0
) u`

// usageBoundsSQL reads the least and greatest waits of the day rows in
// the ranges of usagePlan.boundDays.
const usageBoundsSQL = `
SELECT u.environment_id, min(u.wait_min_us), max(u.wait_max_us)
FROM unnest(@los::timestamptz[], @his::timestamptz[]) AS q(lo, hi)
CROSS JOIN LATERAL (
	SELECT * FROM environment_usage e WHERE e.period = 'day' AND e.start >= q.lo AND e.start < q.hi OFFSET 0
) u
WHERE u.runs_started > 0
GROUP BY u.environment_id`

// EnvironmentUsage implements domain.InsightsStore.
func (s *Store) EnvironmentUsage(ctx context.Context, w domain.InsightsWindow) (*domain.EnvironmentInsights, error) {
	loc, err := time.LoadLocation(w.TimeZone)
	if err != nil {
		return nil, domain.Invalid("tz", domain.RuleTimeZone)
	}
	from, to, now := w.From.UTC(), w.To.UTC(), w.Now.UTC()
	plan := planUsage(from, to, loc)
	var envs []*usageAcc
	byID := map[int]*usageAcc{}
	err = pgx.BeginTxFunc(ctx, s.db.Pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly},
		func(tx pgx.Tx) error {
			envs, byID = nil, map[int]*usageAcc{}
			rs, err := tx.Query(ctx, `SELECT id, name FROM environments ORDER BY id`)
			if err != nil {
				return err
			}
			var id int
			var name string
			if _, err := pgx.ForEachRow(rs, []any{&id, &name}, func() error {
				a := &usageAcc{environmentID: id, name: name}
				envs = append(envs, a)
				byID[id] = a
				return nil
			}); err != nil {
				return err
			}
			// The ends, then the unrecorded runs in between.
			ends := [][2]time.Time{{from, plan.a}, {plan.b, to}}
			if plan.a.Equal(plan.b) {
				ends = [][2]time.Time{{from, to}}
			}
			for _, e := range ends {
				if err := readUsageRuns(ctx, tx, byID, e[0], e[1], now, true, loc); err != nil {
					return err
				}
			}
			if plan.a.Before(plan.b) {
				if err := readUsageRuns(ctx, tx, byID, plan.a, plan.b, now, false, loc); err != nil {
					return err
				}
			}
			return readUsageRows(ctx, tx, byID, plan)
		})
	if err != nil {
		return nil, wrapDBError(err)
	}
	out := &domain.EnvironmentInsights{From: w.From, To: w.To, TimeZone: w.TimeZone, Total: domain.EnvironmentUsage{Name: "all"}}
	span := to.Sub(from).Seconds()
	total := &usageAcc{}
	for _, a := range envs {
		e := a.usage(span)
		out.Environments = append(out.Environments, e)
		total.runs += a.runs
		total.busyUS += a.busyUS
		total.waitUS += a.waitUS
		if a.runs > 0 {
			total.bounds(a.minUS, a.maxUS)
		}
		for i, n := range &a.hist {
			total.hist[i] += n
		}
		for h, n := range a.startsByHour {
			total.startsByHour[h] += n
		}
	}
	out.Total = total.usage(span)
	out.Total.Name = "all"
	if n := len(envs); n > 0 && span > 0 {
		out.Total.BusyShare = out.Total.BusySeconds / span / float64(n)
	}
	return out, nil
}

func (a *usageAcc) usage(span float64) domain.EnvironmentUsage {
	e := domain.EnvironmentUsage{
		EnvironmentID: a.environmentID, Name: a.name, RunsStarted: a.runs,
		BusySeconds: float64(a.busyUS) / 1e6, QueueWaitSeconds: float64(a.waitUS) / 1e6,
		QueueWaitP50MS: a.percentileMS(0.5), QueueWaitP95MS: a.percentileMS(0.95), QueueWaitMaxMS: a.maxMS(),
		StartsByHour: a.startsByHour,
	}
	if span > 0 {
		e.BusyShare = e.BusySeconds / span
	}
	return e
}

// readUsageRuns adds what runs did within [lo, hi): all of them (all), or
// those not in the rollup.
func readUsageRuns(ctx context.Context, tx pgx.Tx, byID map[int]*usageAcc, lo, hi, now time.Time, all bool, loc *time.Location) error {
	if !lo.Before(hi) {
		return nil
	}
	query := usagePendingSQL
	if all {
		query = usageRunsSQL
	}
	rs, err := tx.Query(ctx, query, pgx.NamedArgs{"lo": lo, "hi": hi, "now": now, "scan_from": lo.Add(-25 * time.Hour)})
	if err != nil {
		return err
	}
	var env int
	var created, started time.Time
	var finished *time.Time
	_, err = pgx.ForEachRow(rs, []any{&env, &created, &started, &finished}, func() error {
		a := byID[env]
		if a == nil {
			return nil
		}
		end := now
		if finished != nil {
			end = *finished
		}
		if !started.Before(lo) && started.Before(hi) {
			a.wait(max(0, started.Sub(created).Microseconds()))
			a.startsByHour[started.In(loc).Hour()]++
		}
		if b := minTime(end, hi).Sub(maxTime(started, lo)); b > 0 {
			a.busyUS += b.Microseconds()
		}
		return nil
	})
	return err
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// readUsageRows adds the rollup rows of plan's spans.
func readUsageRows(ctx context.Context, tx pgx.Tx, byID map[int]*usageAcc, plan usagePlan) error {
	if len(plan.spans) == 0 {
		return nil
	}
	var periods []string
	var los, his []time.Time
	for _, sp := range plan.spans {
		periods, los, his = append(periods, sp.period), append(los, sp.lo), append(his, sp.hi)
	}
	rs, err := tx.Query(ctx, usageRowsSQL, pgx.NamedArgs{"periods": periods, "los": los, "his": his})
	if err != nil {
		return err
	}
	defer rs.Close()
	for rs.Next() {
		// pgx's generic decoding of these rows cost about 25 µs a row
		// (measured on 36,600 rows), the whole answer's budget at a year's
		// window: the fixed-width columns and the packed counts are read
		// from their binary form directly.
		v := rs.RawValues()
		if len(v) != 10 {
			return fmt.Errorf("environment_usage: %d columns", len(v))
		}
		for i, fd := range rs.FieldDescriptions() {
			if fd.Format != pgx.BinaryFormatCode {
				return fmt.Errorf("environment_usage: column %d not in binary format", i)
			}
		}
		if len(v[0]) != 4 || len(v[1]) != 8 || len(v[2]) != 4 || len(v[3]) != 4 || len(v[4]) != 8 || len(v[5]) != 8 ||
			len(v[6]) != 8 || len(v[7]) != 8 {
			return errors.New("environment_usage: unexpected column widths")
		}
		i64 := func(b []byte) int64 { return int64(binary.BigEndian.Uint64(b)) }
		i32 := func(b []byte) int { return int(int32(binary.BigEndian.Uint32(b))) }
		k := i32(v[0]) - 1
		if k < 0 || k >= len(plan.spans) {
			return fmt.Errorf("environment_usage: span %d", k)
		}
		sp := &plan.spans[k]
		a := byID[i32(v[2])]
		if a == nil {
			continue
		}
		own := plan.maps.of(time.Unix(i64(v[1]), 0).UTC())
		if sp.mode == spanFix {
			if err := decodeCounts(v[9], func(q int, n int32) {
				if q < 96 {
					a.startsByHour[own[q]] += int(n)
					a.startsByHour[sp.ref[q]] -= int(n)
				}
			}); err != nil {
				return fmt.Errorf("environment_usage.starts: %w", err)
			}
			continue
		}
		sign := 1
		if sp.mode == spanSub {
			sign = -1
		}
		if runs := i32(v[3]); runs > 0 {
			a.runs += sign * runs
			a.waitUS += int64(sign) * i64(v[4])
			if sp.bounds {
				a.bounds(i64(v[5]), i64(v[6]))
			}
		}
		a.busyUS += int64(sign) * i64(v[7])
		if err := decodeCounts(v[8], func(i int, n int32) {
			if i < waitBuckets {
				a.hist[i] += int64(sign) * int64(n)
			}
		}); err != nil {
			return fmt.Errorf("environment_usage.wait_hist: %w", err)
		}
		m := sp.ref
		if m == nil {
			m = own
		}
		if err := decodeCounts(v[9], func(q int, n int32) {
			if q < 96 {
				a.startsByHour[m[q]] += sign * int(n)
			}
		}); err != nil {
			return fmt.Errorf("environment_usage.starts: %w", err)
		}
	}
	if err := rs.Err(); err != nil {
		return err
	}
	return readUsageBounds(ctx, tx, byID, plan)
}

// readUsageBounds adds the least and greatest waits of plan.boundDays.
func readUsageBounds(ctx context.Context, tx pgx.Tx, byID map[int]*usageAcc, plan usagePlan) error {
	if len(plan.boundDays) == 0 {
		return nil
	}
	var los, his []time.Time
	for _, r := range plan.boundDays {
		los, his = append(los, r[0]), append(his, r[1])
	}
	rs, err := tx.Query(ctx, usageBoundsSQL, pgx.NamedArgs{"los": los, "his": his})
	if err != nil {
		return err
	}
	var env int
	var lo, hi *int64
	_, err = pgx.ForEachRow(rs, []any{&env, &lo, &hi}, func() error {
		if a := byID[env]; a != nil && lo != nil && hi != nil {
			a.bounds(*lo, *hi)
		}
		return nil
	})
	return err
}

// decodeCounts calls f(i, n) for the i-th (0-based) count of a packed
// count vector (environment_usage.wait_hist, .starts: 4-byte big-endian
// integers).
func decodeCounts(b []byte, f func(i int, n int32)) error {
	if len(b)%4 != 0 {
		return fmt.Errorf("%d bytes of counts", len(b))
	}
	for i := 0; i < len(b)/4; i++ {
		f(i, int32(binary.BigEndian.Uint32(b[4*i:])))
	}
	return nil
}
