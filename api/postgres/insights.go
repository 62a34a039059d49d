package postgres

import (
	"context"
	"fmt"
	"hash/fnv"
	"math"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/baton-ci/baton/api/domain"
)

var _ domain.InsightsStore = (*Store)(nil)

// statsLockNamespace is the first key of the advisory locks that serialise
// recomputing the statistics of one bucket of tests (see lockTests).
const statsLockNamespace = 0x425453 // "BTS"

// statsLockBuckets bounds how many advisory locks one recompute takes, so
// a run of thousands of tests never fills PostgreSQL's lock table.
const statsLockBuckets = 64

// recomputeStatsSQL recomputes test_stats for the tests in @node_ids from
// each one's last 2 × @window results (one index-only scan of
// run_test_results_history per test): the window's counts, flips and
// durations, and the mean of the window before it for the trend. Results
// are in run order (run ids are creation order). A flip is a pair of
// consecutive non-skipped results on the same known content whose
// pass/fail differ (error counts as fail), so a test is flaky exactly when
// some content both passed and failed within the window.
const recomputeStatsSQL = `
WITH targets AS (SELECT DISTINCT unnest(@node_ids::text[]) AS node_id),
w AS (
	SELECT t.node_id, x.run_id, x.outcome, x.duration_ms, x.content_hash,
		row_number() OVER (PARTITION BY t.node_id ORDER BY x.run_id DESC) AS rn
	FROM targets t CROSS JOIN LATERAL (
		SELECT r.run_id, r.outcome, r.duration_ms, r.content_hash FROM run_test_results r
		WHERE r.node_id = t.node_id ORDER BY r.run_id DESC LIMIT 2 * @window) x
),
cur AS (SELECT * FROM w WHERE rn <= @window),
seq AS (
	SELECT node_id, outcome = 'passed' AS ok,
		lag(outcome = 'passed') OVER (PARTITION BY node_id, content_hash ORDER BY run_id) AS prev_ok
	FROM cur WHERE outcome <> 'skipped' AND content_hash IS NOT NULL
),
flips AS (
	SELECT node_id, count(*) FILTER (WHERE prev_ok <> ok) AS flips, count(prev_ok) AS pairs
	FROM seq GROUP BY node_id
),
agg AS (
	SELECT node_id, count(*) AS results,
		count(*) FILTER (WHERE outcome = 'passed') AS passed,
		count(*) FILTER (WHERE outcome IN ('failed', 'error')) AS failed,
		count(*) FILTER (WHERE outcome = 'skipped') AS skipped,
		max(run_id) AS last_run_id,
		(array_agg(outcome ORDER BY run_id DESC))[1] AS last_outcome,
		percentile_disc(0.5) WITHIN GROUP (ORDER BY duration_ms) FILTER (WHERE outcome <> 'skipped') AS p50,
		round(avg(duration_ms) FILTER (WHERE outcome <> 'skipped'))::bigint AS mean,
		array_agg(outcome ORDER BY run_id) AS outcomes,
		array_agg(duration_ms ORDER BY run_id) AS durations,
		array_agg(run_id ORDER BY run_id) AS run_ids
	FROM cur GROUP BY node_id
),
prev AS (
	SELECT node_id, round(avg(duration_ms))::bigint AS mean
	FROM w WHERE rn > @window AND outcome <> 'skipped' GROUP BY node_id
),
upsert AS (
	INSERT INTO test_stats (node_id, window_size, last_run_id, last_outcome, last_seen_at, results, passed, failed,
		skipped, flips, flip_pairs, flip_rate, flaky, duration_p50_ms, duration_mean_ms, previous_mean_ms,
		recent_outcomes, recent_durations, recent_run_ids)
	SELECT a.node_id, @window, a.last_run_id, a.last_outcome, coalesce(runs.finished_at, runs.created_at),
		a.results, a.passed, a.failed, a.skipped, coalesce(f.flips, 0), coalesce(f.pairs, 0),
		CASE WHEN coalesce(f.pairs, 0) = 0 THEN 0 ELSE f.flips::float8 / f.pairs END,
		coalesce(f.flips, 0) > 0, a.p50, a.mean, p.mean, a.outcomes, a.durations, a.run_ids
	FROM agg a JOIN runs ON runs.id = a.last_run_id
	LEFT JOIN flips f USING (node_id) LEFT JOIN prev p USING (node_id)
	ON CONFLICT (node_id) DO UPDATE SET
		window_size = EXCLUDED.window_size, last_run_id = EXCLUDED.last_run_id,
		last_outcome = EXCLUDED.last_outcome, last_seen_at = EXCLUDED.last_seen_at,
		results = EXCLUDED.results, passed = EXCLUDED.passed, failed = EXCLUDED.failed,
		skipped = EXCLUDED.skipped, flips = EXCLUDED.flips, flip_pairs = EXCLUDED.flip_pairs,
		flip_rate = EXCLUDED.flip_rate, flaky = EXCLUDED.flaky, duration_p50_ms = EXCLUDED.duration_p50_ms,
		duration_mean_ms = EXCLUDED.duration_mean_ms, previous_mean_ms = EXCLUDED.previous_mean_ms,
		recent_outcomes = EXCLUDED.recent_outcomes, recent_durations = EXCLUDED.recent_durations,
		recent_run_ids = EXCLUDED.recent_run_ids
	RETURNING node_id
),
gone AS (
	-- Tests whose every result is gone (retention) lose their statistics.
	DELETE FROM test_stats s USING targets t
	WHERE s.node_id = t.node_id AND NOT EXISTS (SELECT 1 FROM agg WHERE agg.node_id = t.node_id)
	RETURNING s.node_id
)
SELECT (SELECT count(*) FROM upsert), (SELECT count(*) FROM gone)`

// statsColumns are what scanStats reads, in its order.
const statsColumns = `node_id, window_size, last_run_id, last_outcome, last_seen_at, results, passed, failed, skipped,
	flips, flip_pairs, flip_rate, flaky, duration_p50_ms, duration_mean_ms, previous_mean_ms,
	recent_outcomes, recent_durations, recent_run_ids`

func scanStats(row pgx.CollectableRow) (domain.TestStats, error) {
	var s domain.TestStats
	var outcomes []string
	var durations, runIDs []int64
	err := row.Scan(&s.NodeID, &s.Window, &s.LastRunID, &s.LastOutcome, &s.LastSeenAt, &s.Results, &s.Passed,
		&s.Failed, &s.Skipped, &s.Flips, &s.FlipPairs, &s.FlipRate, &s.Flaky, &s.DurationP50MS,
		&s.DurationMeanMS, &s.PreviousMeanMS, &outcomes, &durations, &runIDs)
	if err != nil {
		return s, err
	}
	if len(outcomes) != len(durations) || len(outcomes) != len(runIDs) {
		return s, fmt.Errorf("test_stats of %q: recent arrays differ in length", s.NodeID)
	}
	s.LastSeenAt = s.LastSeenAt.UTC()
	s.Recent = make([]domain.RecentResult, len(outcomes))
	for i := range outcomes {
		s.Recent[i] = domain.RecentResult{RunID: runIDs[i], Outcome: outcomes[i], DurationMS: durations[i]}
	}
	return s, nil
}

// lockTests takes, in a fixed order, the transaction-scoped advisory locks
// of the buckets nodeIDs fall in. Recomputes of the same test therefore run
// one after the other, and each reads (READ COMMITTED: a snapshot per
// statement, taken after the locks) every result committed before it: two
// run_ended jobs finishing at once cannot leave the older view behind.
func lockTests(ctx context.Context, tx pgx.Tx, nodeIDs []string) error {
	seen := map[int32]bool{}
	var buckets []int32
	for _, id := range nodeIDs {
		h := fnv.New32a()
		_, _ = h.Write([]byte(id))
		b := int32(h.Sum32() % statsLockBuckets)
		if !seen[b] {
			seen[b] = true
			buckets = append(buckets, b)
		}
	}
	slices.Sort(buckets)
	for _, b := range buckets {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(@namespace, @bucket)`,
			pgx.NamedArgs{"namespace": statsLockNamespace, "bucket": b}); err != nil {
			return fmt.Errorf("lock test statistics: %w", err)
		}
	}
	return nil
}

// recompute recomputes the statistics of nodeIDs in tx and returns how
// many tests have statistics now.
func recompute(ctx context.Context, tx pgx.Tx, nodeIDs []string, window int) (int, error) {
	if len(nodeIDs) == 0 {
		return 0, nil
	}
	if err := lockTests(ctx, tx, nodeIDs); err != nil {
		return 0, err
	}
	var upserted, gone int
	if err := tx.QueryRow(ctx, recomputeStatsSQL, pgx.NamedArgs{"node_ids": nodeIDs, "window": window}).
		Scan(&upserted, &gone); err != nil {
		return 0, fmt.Errorf("recompute test statistics: %w", err)
	}
	return upserted, nil
}

// RecordTestStats implements domain.InsightsStore.
func (s *Store) RecordTestStats(ctx context.Context, runID int64, window int) (int, error) {
	var n int
	err := pgx.BeginFunc(ctx, s.db.Pool, func(tx pgx.Tx) error {
		rs, err := tx.Query(ctx, `SELECT DISTINCT node_id FROM run_test_results WHERE run_id = @run_id`,
			pgx.NamedArgs{"run_id": runID})
		if err != nil {
			return err
		}
		nodeIDs, err := pgx.CollectRows(rs, pgx.RowTo[string])
		if err != nil {
			return err
		}
		n, err = recompute(ctx, tx, nodeIDs, window)
		return err
	})
	return n, wrapDBError(err)
}

// RefreshTestStats implements domain.InsightsStore.
func (s *Store) RefreshTestStats(ctx context.Context, window, limit int) (int, error) {
	var n int
	err := pgx.BeginFunc(ctx, s.db.Pool, func(tx pgx.Tx) error {
		rs, err := tx.Query(ctx, `SELECT node_id FROM test_stats WHERE window_size <> @window ORDER BY node_id LIMIT @limit`,
			pgx.NamedArgs{"window": window, "limit": limit})
		if err != nil {
			return err
		}
		nodeIDs, err := pgx.CollectRows(rs, pgx.RowTo[string])
		if err != nil {
			return err
		}
		n, err = recompute(ctx, tx, nodeIDs, window)
		return err
	})
	return n, wrapDBError(err)
}

// pruneSelectSQL picks the oldest ended runs; queued and running runs have
// no finished_at (a CHECK of the runs table), and the status test says so
// once more. SKIP LOCKED lets two pruners share the work.
const pruneSelectSQL = `
SELECT id, finished_at FROM runs
WHERE finished_at < @cutoff AND status NOT IN ('queued', 'running')
ORDER BY finished_at, id LIMIT @limit
FOR UPDATE SKIP LOCKED`

const pruneCountSQL = `
SELECT (SELECT count(*) FROM run_log_chunks WHERE run_id = ANY(@ids)),
	(SELECT coalesce(sum(end_offset - byte_offset), 0) FROM run_log_chunks WHERE run_id = ANY(@ids)),
	(SELECT count(*) FROM run_test_results WHERE run_id = ANY(@ids)),
	(SELECT coalesce(array_agg(DISTINCT node_id), '{}') FROM run_test_results WHERE run_id = ANY(@ids))`

// DeleteEndedRuns implements domain.InsightsStore. One transaction per
// batch: the runs, their log chunks and results (ON DELETE CASCADE), and
// the recomputed statistics of their tests; environment_usage keeps them.
func (s *Store) DeleteEndedRuns(ctx context.Context, cutoff time.Time, limit, window int) (*domain.Pruned, error) {
	p := &domain.Pruned{}
	err := pgx.BeginFunc(ctx, s.db.Pool, func(tx pgx.Tx) error {
		*p = domain.Pruned{}
		rs, err := tx.Query(ctx, pruneSelectSQL, pgx.NamedArgs{"cutoff": cutoff, "limit": limit})
		if err != nil {
			return err
		}
		var ids []int64
		var id int64
		var finished time.Time
		_, err = pgx.ForEachRow(rs, []any{&id, &finished}, func() error {
			ids = append(ids, id)
			if p.OldestEnd.IsZero() || finished.Before(p.OldestEnd) {
				p.OldestEnd = finished.UTC()
			}
			if finished.After(p.NewestEnd) {
				p.NewestEnd = finished.UTC()
			}
			return nil
		})
		if err != nil || len(ids) == 0 {
			return err
		}
		p.Runs, p.FirstRunID, p.LastRunID = len(ids), slices.Min(ids), slices.Max(ids)
		var nodeIDs []string
		if err := tx.QueryRow(ctx, pruneCountSQL, pgx.NamedArgs{"ids": ids}).
			Scan(&p.LogChunks, &p.LogBytes, &p.Results, &nodeIDs); err != nil {
			return err
		}
		// The usage rollup outlives the runs: one whose run_ended job has
		// not run yet goes in now.
		if _, err := recordUsage(ctx, tx, ids); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM runs WHERE id = ANY(@ids)`, pgx.NamedArgs{"ids": ids}); err != nil {
			return err
		}
		_, err = recompute(ctx, tx, nodeIDs, window)
		return err
	})
	if err != nil {
		return nil, wrapDBError(err)
	}
	return p, nil
}

// TestStats implements domain.InsightsStore.
func (s *Store) TestStats(ctx context.Context, nodeID string) (*domain.TestStats, error) {
	rs, err := s.db.Pool.Query(ctx, `SELECT `+statsColumns+` FROM test_stats WHERE node_id = @node_id`,
		pgx.NamedArgs{"node_id": nodeID})
	if err != nil {
		return nil, wrapDBError(err)
	}
	stats, err := pgx.CollectRows(rs, scanStats)
	if err != nil || len(stats) == 0 {
		return nil, wrapDBError(err)
	}
	return &stats[0], nil
}

func (s *Store) listStats(ctx context.Context, query string, since time.Time, limit int) ([]domain.TestStats, error) {
	rs, err := s.db.Pool.Query(ctx, query, pgx.NamedArgs{"since": since, "limit": limit})
	if err != nil {
		return nil, wrapDBError(err)
	}
	stats, err := pgx.CollectRows(rs, scanStats)
	if err != nil {
		return nil, wrapDBError(err)
	}
	return stats, nil
}

// FlakyTests implements domain.InsightsStore: a scan of the partial index
// test_stats_flaky in rank order.
func (s *Store) FlakyTests(ctx context.Context, since time.Time, limit int) ([]domain.TestStats, error) {
	return s.listStats(ctx, `SELECT `+statsColumns+` FROM test_stats
		WHERE flaky AND last_seen_at >= @since ORDER BY flip_rate DESC, node_id LIMIT @limit`, since, limit)
}

// SlowestTests implements domain.InsightsStore: a scan of test_stats_slowest.
func (s *Store) SlowestTests(ctx context.Context, since time.Time, limit int) ([]domain.TestStats, error) {
	return s.listStats(ctx, `SELECT `+statsColumns+` FROM test_stats
		WHERE duration_p50_ms IS NOT NULL AND last_seen_at >= @since
		ORDER BY duration_p50_ms DESC NULLS LAST, node_id LIMIT @limit`, since, limit)
}

// testHistorySQL reads a test's results newest run first from
// run_test_results_history, with each run's environment, user and times.
const testHistorySQL = `
SELECT r.run_id, runs.environment_id, runs.requested_by, r.outcome, r.duration_ms,
	left(split_part(r.message, E'\n', 1), 300), r.content_hash, runs.started_at, runs.finished_at
FROM run_test_results r JOIN runs ON runs.id = r.run_id
WHERE r.node_id = @node_id AND r.run_id < @before
ORDER BY r.run_id DESC
LIMIT @limit`

// TestHistory implements domain.InsightsStore.
func (s *Store) TestHistory(ctx context.Context, f domain.TestHistoryFilter) ([]domain.TestHistoryEntry, error) {
	before := f.BeforeRunID
	if before <= 0 {
		before = math.MaxInt64
	}
	rs, err := s.db.Pool.Query(ctx, testHistorySQL, pgx.NamedArgs{"node_id": f.NodeID, "before": before, "limit": f.Limit})
	if err != nil {
		return nil, wrapDBError(err)
	}
	out, err := pgx.CollectRows(rs, func(row pgx.CollectableRow) (domain.TestHistoryEntry, error) {
		var e domain.TestHistoryEntry
		var hash *int64
		err := row.Scan(&e.RunID, &e.EnvironmentID, &e.RequestedBy, &e.Outcome, &e.DurationMS, &e.Message, &hash,
			&e.StartedAt, &e.FinishedAt)
		if hash != nil {
			e.ContentHash = fmt.Sprintf("%016x", uint64(*hash))
		}
		e.StartedAt, e.FinishedAt = utcPtr(e.StartedAt), utcPtr(e.FinishedAt)
		return e, err
	})
	if err != nil {
		return nil, wrapDBError(err)
	}
	return out, nil
}
