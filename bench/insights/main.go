// Command insights measures the insights endpoints on a generated database
// of 1 million runs (10 million test results, 5,000 tests) over a year:
// GET /api/tests/history, /api/tests/flaky, /api/tests/slowest and
// /api/insights/environments, each under a few concurrent clients, against
// the target p95 < 100 ms. The data is made in SQL (generate_series), the
// per-test statistics by the store's own recompute; it also times the
// run_ended handler's work for one run, and prints the plans.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/baton-ci/baton/api/domain"
	"github.com/baton-ci/baton/api/postgres"
	h "github.com/baton-ci/baton/bench/internal/harness"
)

// Shape of the generated data.
const (
	files        = 500 // test files; each run runs one of them
	testsPerFile = 10  // so 5,000 tests, each in 2,000 runs
	days         = 365
)

// seedRunsSQL inserts $1 runs over the last year, oldest first, all ended
// but the last 100 (one running per environment). Low environment ids are
// contested: they get more runs and longer queue waits.
const seedRunsSQL = `
INSERT INTO runs (requested_by, environment_id, test_files, status, exit_code, reason, timeout_seconds,
	worker_id, created_at, started_at, finished_at, heartbeat_at, log_size,
	tests_passed, tests_failed, tests_errors, tests_skipped, tests_total)
SELECT 'user' || (i % 37), env,
	jsonb_build_array('bench-tests/suite_' || (i % 500) || '/test_mod.py'),
	CASE WHEN live THEN 'running' WHEN i % 9 = 0 THEN 'failed' ELSE 'success' END,
	CASE WHEN live THEN NULL WHEN i % 9 = 0 THEN 1 ELSE 0 END,
	CASE WHEN NOT live AND i % 9 = 0 THEN 'tests_failed' END,
	1800, 'bench-worker', created, created + wait, CASE WHEN live THEN NULL ELSE created + wait + dur END,
	created + wait, 0,
	CASE WHEN live THEN NULL ELSE 9 END, CASE WHEN live THEN NULL ELSE 1 END,
	CASE WHEN live THEN NULL ELSE 0 END, CASE WHEN live THEN NULL ELSE 0 END, CASE WHEN live THEN NULL ELSE 10 END
FROM (
	SELECT i, i > $1 - 100 AS live,
		CASE WHEN i > $1 - 100 THEN i - ($1 - 100) ELSE 1 + floor(100 * power(((i::bigint * 2654435761) % 1000) / 1000.0, 2))::int END AS env,
		now() - ($1 - i) * ($2::float8 * 86400 / $1) * interval '1 second' - interval '10 minutes' AS created,
		power(((i::bigint * 7919) % 1000) / 1000.0, 3) * interval '1800 seconds'
			* CASE WHEN (i::bigint * 2654435761) % 1000 < 300 THEN 1 ELSE 0.05 END AS wait,
		(30 + (i * 31) % 570) * interval '1 second' AS dur
	FROM generate_series(1, $1) AS i
) g
ORDER BY i`

// seedResultsSQL gives every ended run the 10 results of its file. The
// file's content changes every 100,000 runs; test_case_3 of every 7th file
// is flaky (fails one run in five on the same content), test_case_5 of
// every 11th fails after its file changed (a real change, not flakiness).
const seedResultsSQL = `
INSERT INTO run_test_results (run_id, position, node_id, outcome, duration_ms, message, content_hash)
SELECT r.id, k, 'bench-tests/suite_' || (r.id % 500) || '/test_mod.py::test_case_' || k,
	CASE WHEN k = 3 AND (r.id % 500) % 7 = 0 AND (r.id / 500) % 5 = 0 THEN 'failed'
		WHEN k = 5 AND (r.id % 500) % 11 = 0 AND (r.id / 100000) % 2 = 1 THEN 'failed'
		WHEN k = 9 THEN 'skipped'
		ELSE 'passed' END,
	(10 + (k * 97 + r.id % 500) % 400) * (1 + (r.id / 100000)) + (r.id * 13) % 50,
	CASE WHEN k IN (3, 5) THEN 'AssertionError: expected 1' ELSE '' END,
	(r.id % 500) * 1000 + r.id / 100000
FROM runs r CROSS JOIN generate_series(0, 9) AS k
WHERE r.finished_at IS NOT NULL`

// seedStatsSQL gives every test a placeholder row of window 1, so that the
// store's own RefreshTestStats computes them all.
const seedStatsSQL = `
INSERT INTO test_stats (node_id, window_size, last_run_id, last_outcome, last_seen_at, results, passed, failed, skipped,
	flips, flip_pairs, flip_rate, flaky, recent_outcomes, recent_durations, recent_run_ids)
SELECT 'bench-tests/suite_' || f || '/test_mod.py::test_case_' || k, 1, 1, 'passed', now(), 0, 0, 0, 0, 0, 0, 0, false, '{}', '{}', '{}'
FROM generate_series(0, 499) AS f CROSS JOIN generate_series(0, 9) AS k`

func main() {
	nRuns := flag.Int("runs", 1_000_000, "runs to generate")
	clients := flag.Int("c", 4, "concurrent clients")
	requests := flag.Int("n", 400, "measured requests per case")
	flag.Parse()
	h.Header("insights", fmt.Sprintf("insights endpoints on %d generated runs, %d clients, %d requests per case", *nRuns, *clients, *requests))
	ctx := context.Background()

	s := h.Start(h.Options{Name: "insights", NoWorker: true})
	defer s.Stop()
	pg, err := pgx.Connect(ctx, s.DBURL)
	if err != nil {
		h.Fatal("connect: %v", err)
	}
	defer pg.Close(ctx)
	seed(ctx, pg, *nRuns)

	type benchCase struct {
		name  string
		paths func(r *rand.Rand) string
		// fewer divides the requests, for cases of seconds each.
		fewer int
	}
	cases := []benchCase{
		{"GET /api/tests/history (random test, 2,000 results each; first page of 50)", func(r *rand.Rand) string {
			return historyPath(r, "")
		}, 1},
		{"GET /api/tests/history?limit=200&cursor= (a deep page)", func(r *rand.Rand) string {
			return historyPath(r, "&limit=200&cursor="+domain.EncodeHistoryCursor(int64(200_000+r.IntN(600_000))))
		}, 1},
		{"GET /api/tests/flaky", func(*rand.Rand) string { return "/api/tests/flaky" }, 1},
		{"GET /api/tests/flaky?window=3660d&limit=200", func(*rand.Rand) string { return "/api/tests/flaky?window=3660d&limit=200" }, 1},
		{"GET /api/tests/slowest", func(*rand.Rand) string { return "/api/tests/slowest" }, 1},
		{"GET /api/tests/slowest?window=24h&limit=200", func(*rand.Rand) string { return "/api/tests/slowest?window=24h&limit=200" }, 1},
		{"GET /api/runs/{id}/tests (with the flaky mark)", func(r *rand.Rand) string {
			return fmt.Sprintf("/api/runs/%d/tests", 1+r.IntN(*nRuns-200))
		}, 1},
	}
	for _, w := range []string{"24h", "7d", "30d", "90d", "366d"} {
		cases = append(cases, benchCase{"GET /api/insights/environments?window=" + w + "&tz=Europe/Berlin", func(*rand.Rand) string {
			return "/api/insights/environments?window=" + w + "&tz=Europe/Berlin"
		}, 1})
	}
	// A half-hour zone, and a window ending in the past at a random
	// second (both partial days read from runs).
	cases = append(cases, benchCase{"GET /api/insights/environments?window=90d&tz=Asia/Kolkata", func(*rand.Rand) string {
		return "/api/insights/environments?window=90d&tz=Asia/Kolkata"
	}, 1}, benchCase{"GET /api/insights/environments?window=30d&end=(a random second of the year)", func(r *rand.Rand) string {
		end := time.Now().Add(-time.Duration(r.Int64N(int64(300 * 24 * time.Hour)))).UTC().Truncate(time.Second)
		return "/api/insights/environments?window=30d&end=" + url.QueryEscape(end.Format(time.RFC3339))
	}, 1})
	fmt.Println()
	for _, c := range cases {
		st := measure(s, *clients, *requests/max(1, c.fewer), c.paths)
		fmt.Printf("%-78s %s  p95 < 100ms %s\n", c.name, st, h.Verdict(st.P95 < 100*time.Millisecond))
	}
	handlerCost(ctx, s)
	explain(ctx, pg)
	fmt.Printf("   load after: %s\n", h.LoadAvg())
}

func historyPath(r *rand.Rand, extra string) string {
	node := fmt.Sprintf("bench-tests/suite_%d/test_mod.py::test_case_%d", r.IntN(files), r.IntN(testsPerFile))
	return "/api/tests/history?node_id=" + url.QueryEscape(node) + extra
}

func seed(ctx context.Context, pg *pgx.Conn, n int) {
	t0 := time.Now()
	step := func(what, sql string, args ...any) {
		t := time.Now()
		if _, err := pg.Exec(ctx, sql, args...); err != nil {
			h.Fatal("%s: %v", what, err)
		}
		fmt.Printf("   %-58s %s\n", what, time.Since(t).Round(10*time.Millisecond))
	}
	// The results go in without their indexes, which are then built as the
	// migration defines them (read back from pg_indexes, not restated).
	var defs []string
	rows, err := pg.Query(ctx, `SELECT indexdef FROM pg_indexes WHERE tablename = 'run_test_results' AND indexname <> 'run_test_results_pkey'`)
	if err != nil {
		h.Fatal("read index definitions: %v", err)
	}
	for rows.Next() {
		var d string
		_ = rows.Scan(&d)
		defs = append(defs, d)
	}
	rows.Close()
	step("runs (generate_series)", seedRunsSQL, n, days)
	for _, d := range defs {
		name := strings.Fields(d)[2]
		step("drop index "+name+" for the bulk load", "DROP INDEX "+name)
	}
	step("ALTER TABLE run_test_results DROP pkey for the bulk load", `ALTER TABLE run_test_results DROP CONSTRAINT run_test_results_pkey`)
	step("test results (10 per ended run)", seedResultsSQL)
	step("SET maintenance_work_mem = '1GB'", `SET maintenance_work_mem = '1GB'`)
	step("restore run_test_results_pkey", `ALTER TABLE run_test_results ADD PRIMARY KEY (run_id, position)`)
	for _, d := range defs {
		step("restore "+strings.Fields(d)[2], d)
	}
	step("VACUUM (ANALYZE) runs, run_test_results", `VACUUM (ANALYZE) runs, run_test_results`)

	// The statistics, by the store's own recompute, 500 tests a batch.
	db, err := postgres.Open(ctx, pgURL(pg), 4)
	if err != nil {
		h.Fatal("open store: %v", err)
	}
	defer db.Close()
	store := postgres.NewStore(db, nil)
	step("test_stats placeholders", seedStatsSQL)
	t := time.Now()
	total := 0
	var batches []time.Duration
	for {
		b := time.Now()
		k, err := store.RefreshTestStats(ctx, domain.DefaultFlakyWindow, 500)
		if err != nil {
			h.Fatal("recompute statistics: %v", err)
		}
		batches = append(batches, time.Since(b))
		total += k
		if k < 500 {
			break
		}
	}
	fmt.Printf("   %-58s %s (%d tests; per batch of 500: %s)\n", "test_stats by the store's recompute", time.Since(t).Round(10*time.Millisecond),
		total, h.Summarize(batches))
	step("VACUUM (ANALYZE) test_stats", `VACUUM (ANALYZE) test_stats`)

	// The environment usage rollup, by the store's own catch-up (what the
	// environment_usage housekeeping task does after an upgrade), 2,000
	// runs a batch.
	t = time.Now()
	total, batches = 0, nil
	for {
		b := time.Now()
		k, err := store.RecordPendingUsage(ctx, 2000)
		if err != nil {
			h.Fatal("record environment usage: %v", err)
		}
		batches = append(batches, time.Since(b))
		total += k
		if k < 2000 {
			break
		}
	}
	fmt.Printf("   %-58s %s (%d runs; per batch of 2,000: %s)\n", "environment_usage by the store's catch-up", time.Since(t).Round(10*time.Millisecond),
		total, h.Summarize(batches))
	step("VACUUM (ANALYZE) runs, environment_usage", `VACUUM (ANALYZE) runs, environment_usage`)
	var counts, size string
	_ = pg.QueryRow(ctx, `SELECT (SELECT count(*) FROM runs) || ' runs, ' || (SELECT count(*) FROM run_test_results) || ' results, '
		|| (SELECT count(*) FROM test_stats) || ' tests (' || (SELECT count(*) FROM test_stats WHERE flaky) || ' flaky), '
		|| (SELECT count(*) FROM environment_usage) || ' environment_usage rows'`).Scan(&counts)
	_ = pg.QueryRow(ctx, `SELECT pg_size_pretty(pg_database_size(current_database()))`).Scan(&size)
	fmt.Printf("   seeded in %s: %s; database %s\n", time.Since(t0).Round(time.Second), counts, size)
}

func pgURL(pg *pgx.Conn) string {
	c := pg.Config()
	return fmt.Sprintf("postgres://%s@%s:%d/%s?sslmode=disable", c.User, c.Host, c.Port, c.Database)
}

// measure sends n requests from c clients (after 20 unmeasured ones each)
// and summarises their latencies; any answer but 200 is fatal.
func measure(s *h.Server, c, n int, path func(r *rand.Rand) string) h.Stats {
	var mu sync.Mutex
	var lat []time.Duration
	var wg sync.WaitGroup
	per := n / c
	for w := range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 42))
			for i := -20; i < per; i++ {
				p := path(r)
				t := time.Now()
				res, err := s.Client.Get(s.URL + p)
				if err != nil {
					h.Fatal("GET %s: %v", p, err)
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				d := time.Since(t)
				if res.StatusCode != http.StatusOK {
					h.Fatal("GET %s: %s", p, res.Status)
				}
				if i >= 0 {
					mu.Lock()
					lat = append(lat, d)
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	return h.Summarize(lat)
}

// handlerCost times what a run_ended job does for insights: recompute the
// statistics of the run's 10 tests.
func handlerCost(ctx context.Context, s *h.Server) {
	db, err := postgres.Open(ctx, s.DBURL, 2)
	if err != nil {
		h.Fatal("open store: %v", err)
	}
	defer db.Close()
	store := postgres.NewStore(db, nil)
	var lat []time.Duration
	for i := range 200 {
		t := time.Now()
		if _, err := store.RecordTestStats(ctx, int64(500_000+i*997), domain.DefaultFlakyWindow); err != nil {
			h.Fatal("record: %v", err)
		}
		lat = append(lat, time.Since(t))
	}
	fmt.Printf("%-78s %s\n", "run_ended handler: RecordTestStats of one run (10 tests)", h.Summarize(lat))
	// The usage part, on the 100 running runs, ended now.
	rs, err := db.Pool.Query(ctx, `UPDATE runs SET status = 'success', exit_code = 0, finished_at = now()
		WHERE status = 'running' RETURNING id`)
	if err != nil {
		h.Fatal("end the running runs: %v", err)
	}
	ids, err := pgx.CollectRows(rs, pgx.RowTo[int64])
	if err != nil {
		h.Fatal("end the running runs: %v", err)
	}
	lat = lat[:0]
	for _, id := range ids {
		t := time.Now()
		ok, err := store.RecordEnvironmentUsage(ctx, id)
		if err != nil || !ok {
			h.Fatal("record usage of run %d: %v (recorded: %v)", id, err, ok)
		}
		lat = append(lat, time.Since(t))
	}
	fmt.Printf("%-78s %s\n", "run_ended handler: RecordEnvironmentUsage of one run", h.Summarize(lat))
}

func explain(ctx context.Context, pg *pgx.Conn) {
	for _, q := range []struct{ name, sql string }{
		{"history", `EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT r.run_id, runs.environment_id FROM run_test_results r JOIN runs ON runs.id = r.run_id
			WHERE r.node_id = 'bench-tests/suite_42/test_mod.py::test_case_3' AND r.run_id < 9223372036854775807 ORDER BY r.run_id DESC LIMIT 51`},
		{"insights: a partial day's runs (25 hours back for the busy time)", `EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
			SELECT environment_id, created_at, started_at, finished_at FROM runs
			WHERE started_at IS NOT NULL AND started_at >= date_trunc('day', now()) - interval '25 hours' AND started_at < now()
			AND coalesce(finished_at, now()) > date_trunc('day', now())`},
		{"insights: the rollup's days of 30 days", `EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
			SELECT environment_id, runs_started, busy_us, wait_hist, starts FROM environment_usage
			WHERE period = 'day' AND start >= date_trunc('day', now()) - interval '30 days' AND start < date_trunc('day', now())`},
	} {
		rows, err := pg.Query(ctx, q.sql)
		if err != nil {
			h.Fatal("explain %s: %v", q.name, err)
		}
		fmt.Printf("\n   plan: %s\n", q.name)
		for rows.Next() {
			var line string
			_ = rows.Scan(&line)
			fmt.Println("     " + line)
		}
		rows.Close()
	}
}
