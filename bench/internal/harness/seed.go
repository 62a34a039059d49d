package harness

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// seedSQL inserts n runs, oldest first: all final except the newest 300 (100
// running, one per environment, then 200 queued), so the first page of
// GET /api/runs is what a live dashboard sees: queued runs, each with a queue
// position. Every 20th run and every live run gets an 8 KiB log in 8 chunks.
const seedSQL = `
WITH g AS (
  SELECT i, (i::bigint * 2654435761) % 100 AS h,
         CASE WHEN i > $1 - 200 THEN 'queued' WHEN i > $1 - 300 THEN 'running' END AS live
  FROM generate_series(1, $1) AS i
), s AS (
  SELECT i, h,
    coalesce(live, CASE WHEN h < 70 THEN 'success' WHEN h < 88 THEN 'failed' WHEN h < 96 THEN 'error' ELSE 'cancelled' END) AS status,
    now() - ($1 - i) * interval '30 seconds' AS created
  FROM g
)
INSERT INTO runs (requested_by, environment_id, test_files, status, exit_code, reason, timeout_seconds,
                  worker_id, created_at, started_at, finished_at, heartbeat_at, log_size)
SELECT CASE WHEN i <= 3 THEN 'rare-user' ELSE 'user' || (i % 37) END,
       CASE WHEN status = 'running' THEN i - ($1 - 300) ELSE (i * 7) % 100 + 1 END,
       (SELECT jsonb_agg('sample-tests/suite_' || ((i + k) % 23) || '/test_case_' || ((i * k) % 211) || '.py')
          FROM generate_series(1, 1 + i % 4) AS k),
       status,
       CASE status WHEN 'success' THEN 0 WHEN 'failed' THEN 1 WHEN 'error' THEN CASE WHEN h % 2 = 0 THEN 3 END END,
       CASE status WHEN 'failed' THEN 'tests_failed' WHEN 'error' THEN CASE WHEN h % 2 = 0 THEN 'pytest_internal_error' ELSE 'timeout' END
                   WHEN 'cancelled' THEN 'cancelled_by_user' END,
       1800,
       CASE WHEN status NOT IN ('queued') AND NOT (status = 'cancelled' AND h % 2 = 0) THEN 'host-a-1234' END,
       created,
       CASE WHEN status = 'queued' OR (status = 'cancelled' AND h % 2 = 0) THEN NULL ELSE created + interval '2 seconds' END,
       CASE WHEN status IN ('queued', 'running') THEN NULL ELSE created + interval '2 seconds' + (i % 300) * interval '1 second' END,
       CASE WHEN status = 'queued' OR (status = 'cancelled' AND h % 2 = 0) THEN NULL
            WHEN status = 'running' THEN now() ELSE created + interval '2 seconds' + (i % 300) * interval '1 second' END,
       CASE WHEN i % 20 = 0 OR status = 'running' THEN 8192 ELSE 0 END
FROM s ORDER BY i`

const seedLogsSQL = `
INSERT INTO run_log_chunks (run_id, byte_offset, end_offset, data)
SELECT r.id, (k - 1) * 1024, k * 1024,
       rpad('tests/suite_' || (r.id % 23) || '/test_case.py::test_step_' || k || ' PASSED ', 1023, '. ') || E'\n'
FROM runs r CROSS JOIN generate_series(1, 8) AS k
WHERE r.log_size = 8192`

// Seed fills a migrated Baton database with n runs and their logs, vacuums
// and analyzes, and returns a one-line summary and the ids of runs with logs.
func Seed(ctx context.Context, pg *pgx.Conn, n int) (string, []int64, error) {
	t0 := time.Now()
	if _, err := pg.Exec(ctx, seedSQL, n); err != nil {
		return "", nil, fmt.Errorf("seed runs: %w", err)
	}
	if _, err := pg.Exec(ctx, seedLogsSQL); err != nil {
		return "", nil, fmt.Errorf("seed logs: %w", err)
	}
	// Autovacuum would get there soon on a real server; do it now so the
	// planner has statistics and index-only scans see a visibility map.
	if _, err := pg.Exec(ctx, `VACUUM (ANALYZE) runs, run_log_chunks`); err != nil {
		return "", nil, fmt.Errorf("vacuum: %w", err)
	}
	var counts, size string
	var chunks int64
	_ = pg.QueryRow(ctx, `SELECT string_agg(status || '=' || n, ' ' ORDER BY status) FROM (SELECT status, count(*) n FROM runs GROUP BY 1) x`).Scan(&counts)
	_ = pg.QueryRow(ctx, `SELECT count(*), pg_size_pretty(pg_total_relation_size('runs') + pg_total_relation_size('run_log_chunks')) FROM run_log_chunks`).Scan(&chunks, &size)
	var logRuns []int64
	rows, err := pg.Query(ctx, `SELECT id FROM runs WHERE log_size > 0`)
	if err != nil {
		return "", nil, err
	}
	for rows.Next() {
		var id int64
		_ = rows.Scan(&id)
		logRuns = append(logRuns, id)
	}
	rows.Close()
	return fmt.Sprintf("seeded in %s: %s; %d log chunks; runs+logs on disk %s",
		time.Since(t0).Round(10*time.Millisecond), counts, chunks, size), logRuns, rows.Err()
}
