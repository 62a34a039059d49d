// Command apiload measures the read API under polling load: 100k runs
// (inserted with SQL), then GET /api/runs, GET /api/runs/{id} and
// GET /api/runs/{id}/log?offset= each under 100 concurrent keep-alive
// clients for a fixed time; then EXPLAIN (ANALYZE, BUFFERS) of the queries
// the store issues for them.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	h "github.com/baton-ci/baton/bench/internal/harness"
)

// The queries the store issues, copied from api/postgres (runs.go ListRuns
// and FindRun with queuePositionSQL, logs.go ReadLog, environments.go) in
// the form GORM sends them; the load phase prints what pg_stat_activity
// actually saw, to check.
const queuePosition = `CASE WHEN runs.status = 'queued' THEN (
	SELECT count(*) FROM runs q WHERE q.environment_id = runs.environment_id AND q.status = 'queued' AND q.id <= runs.id
) END AS queue_position`

var queries = []struct {
	name, sql string
	args      func(logRun int64) []any
	// warm, if set, are the arguments of the first executions, so that the
	// plan PostgreSQL caches for the connection is made from other values.
	warm []any
}{
	{"ListRuns (GET /api/runs, first page)", `SELECT runs.*, ` + queuePosition + ` FROM "runs" ORDER BY id DESC LIMIT $1`,
		func(int64) []any { return []any{51} }, nil},
	{"ListRuns ?status=success", `SELECT runs.*, ` + queuePosition + ` FROM "runs" WHERE status = $1 ORDER BY id DESC LIMIT $2`,
		func(int64) []any { return []any{"success", 51} }, nil},
	{"ListRuns ?environment_id=42", `SELECT runs.*, ` + queuePosition + ` FROM "runs" WHERE environment_id = $1 ORDER BY id DESC LIMIT $2`,
		func(int64) []any { return []any{42, 51} }, nil},
	{"ListRuns ?requested_by=user7", `SELECT runs.*, ` + queuePosition + ` FROM "runs" WHERE requested_by = $1 ORDER BY id DESC LIMIT $2`,
		func(int64) []any { return []any{"user7", 51} }, nil},
	{"ListRuns ?requested_by=rare-user (3 oldest runs), plan cached after user7", `SELECT runs.*, ` + queuePosition + ` FROM "runs" WHERE requested_by = $1 ORDER BY id DESC LIMIT $2`,
		func(int64) []any { return []any{"rare-user", 51} }, []any{"user7", 51}},
	{"ListRuns ?status=cancelled, plan cached after success", `SELECT runs.*, ` + queuePosition + ` FROM "runs" WHERE status = $1 ORDER BY id DESC LIMIT $2`,
		func(int64) []any { return []any{"cancelled", 51} }, []any{"success", 51}},
	{"FindRun (GET /api/runs/{id})", `SELECT runs.*, ` + queuePosition + ` FROM "runs" WHERE id = $1 LIMIT $2`,
		func(int64) []any { return []any{50000, 1} }, nil},
	{"ReadLog (/log?offset=4096): status and chunks in one statement", `SELECT r.status, c.byte_offset, c.data
		FROM runs r
		LEFT JOIN LATERAL (
			SELECT byte_offset, data FROM run_log_chunks
			WHERE run_id = r.id AND byte_offset >= coalesce(
				(SELECT max(byte_offset) FROM run_log_chunks WHERE run_id = r.id AND byte_offset <= $1), 0)
			ORDER BY byte_offset LIMIT $2) c ON true
		WHERE r.id = $3
		ORDER BY c.byte_offset`,
		func(id int64) []any { return []any{4096, 64, id} }, nil},
	{"environments live runs (GET /api/environments)", `SELECT id, environment_id, status FROM "runs" WHERE status IN ('queued', 'running') ORDER BY id`,
		func(int64) []any { return nil }, nil},
}

func main() {
	nRuns := flag.Int("runs", 100000, "runs to insert")
	clients := flag.Int("c", 100, "concurrent clients")
	dur := flag.Duration("d", 10*time.Second, "measured duration per endpoint")
	warm := flag.Duration("warmup", time.Second, "unmeasured warm-up per endpoint")
	pace := flag.Duration("pace", 200*time.Millisecond, "interval of each client in the paced (polling) phase")
	perfFor := flag.Duration("perf", 5*time.Second, "after measuring, profile baton with `perf record` under load for this long (0: skip)")
	perfOf := flag.Int("perf-endpoint", 0, "the endpoint to profile: 0 list, 1 one run, 2 log, 3 environments")
	flag.Parse()
	h.Header("apiload", fmt.Sprintf("%d runs in the database, %d keep-alive clients, %s per endpoint", *nRuns, *clients, *dur))

	s := h.Start(h.Options{Name: "apiload", NoWorker: true})
	defer s.Stop()
	ctx := context.Background()
	pg, err := pgx.Connect(ctx, s.DBURL)
	if err != nil {
		h.Fatal("%v", err)
	}
	defer pg.Close(ctx)

	summary, logRuns, err := h.Seed(ctx, pg, *nRuns)
	if err != nil {
		h.Fatal("%v", err)
	}
	fmt.Printf("apiload: %s\n", summary)

	n := int64(*nRuns)
	endpoints := []struct {
		name, target string
		path         func(r *rand.Rand) string
		p95, rps     float64 // targets; 0 = none
	}{
		{"GET /api/runs (first page, 50)", "p95<20ms, ≥2000 req/s", func(*rand.Rand) string { return "/api/runs" }, 20, 2000},
		{"GET /api/runs/{id} (random id)", "p95<20ms", func(r *rand.Rand) string { return "/api/runs/" + strconv.FormatInt(1+r.Int64N(n), 10) }, 20, 0},
		{"GET /api/runs/{id}/log?offset= (0|4096|8192)", "p95<20ms", func(r *rand.Rand) string {
			return fmt.Sprintf("/api/runs/%d/log?offset=%d", logRuns[r.IntN(len(logRuns))], 4096*r.IntN(3))
		}, 20, 0},
		{"GET /api/environments (extra)", "", func(*rand.Rand) string { return "/api/environments" }, 0, 0},
	}
	seen := map[string]bool{}
	type row struct {
		name, mode, target string
		res                result
		ok                 bool
	}
	var table []row
	for _, ep := range endpoints {
		for _, pace := range []time.Duration{0, *pace} {
			res := load(s, pg, ep.path, *clients, *warm, *dur, pace, seen)
			ok := res.errs == 0
			if ep.p95 > 0 && float64(res.st.P95)/1e6 >= ep.p95 {
				ok = false
			}
			if ep.rps > 0 && pace == 0 && res.rps < ep.rps {
				ok = false
			}
			mode := "closed loop"
			if pace > 0 {
				mode = fmt.Sprintf("each client every %s", pace)
			}
			table = append(table, row{ep.name, mode, ep.target, res, ok})
			fmt.Printf("apiload: %-46s [%s] %6.0f req/s p50=%s p95=%s p99=%s max=%s errors=%d | CPU per request: baton %.2fms, postgres %.2fms, loadgen %.2fms; machine busy %.0f%%\n",
				ep.name, mode, res.rps, h.Ms(res.st.P50), h.Ms(res.st.P95), h.Ms(res.st.P99), h.Ms(res.st.Max), res.errs,
				res.batonCPU*1000/res.rps, res.pgCPU*1000/res.rps, res.selfCPU*1000/res.rps, res.machine)
		}
	}
	fmt.Println("apiload: summary (closed loop = every client sends its next request as soon as the last is answered)")
	for _, r := range table {
		verdict := ""
		if r.target != "" {
			t := r.target
			if r.mode != "closed loop" {
				t = strings.Split(t, ",")[0]
			}
			verdict = fmt.Sprintf("target %s: %s", t, h.Verdict(r.ok))
		}
		fmt.Printf("apiload:   %-46s %-26s %6.0f req/s  p50 %7s  p95 %7s  p99 %7s  %s\n", r.name, r.mode, r.res.rps,
			h.Ms(r.res.st.P50), h.Ms(r.res.st.P95), h.Ms(r.res.st.P99), verdict)
	}
	// What the machine could do if nothing else ran: CPU per request of the
	// list, from the closed-loop phase, against 2 cores.
	if l := table[0].res; l.rps > 0 {
		per := (l.batonCPU + l.pgCPU + l.selfCPU) / l.rps
		fmt.Printf("apiload: list ceiling if this machine's %d cores did nothing else: %.0f req/s (%.2f ms CPU per request: baton+postgres+loadgen)\n",
			runtime.NumCPU(), float64(runtime.NumCPU())/per, per*1000)
	}

	fmt.Println("apiload: statements seen in pg_stat_activity during the load:")
	var texts []string
	for t := range seen {
		texts = append(texts, t)
	}
	sort.Strings(texts)
	for _, t := range texts {
		fmt.Printf("apiload:   %s\n", t)
	}
	explain(ctx, pg, logRuns[len(logRuns)/2])
	if *perfFor > 0 {
		e := endpoints[min(max(*perfOf, 0), len(endpoints)-1)]
		profile(s, pg, e.name, e.path, *clients, *perfFor)
	}
}

// profile samples baton's stacks with perf while an endpoint is under load
// and prints where its CPU goes: flat (self) and cumulative (children).
func profile(s *h.Server, pg *pgx.Conn, name string, path func(*rand.Rand) string, clients int, d time.Duration) {
	if _, err := exec.LookPath("perf"); err != nil {
		fmt.Println("apiload: perf not installed (apt-get install linux-perf); skipping the profile")
		return
	}
	data := filepath.Join(s.Dir, "perf.data")
	cmd := exec.Command("perf", "record", "-F", "999", "-g", "-p", strconv.Itoa(s.Pid()), "-o", data, "--", "sleep", fmt.Sprint(d.Seconds()))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		fmt.Printf("apiload: perf: %v\n", err)
		return
	}
	load(s, pg, path, clients, 0, d, 0, map[string]bool{})
	if err := cmd.Wait(); err != nil {
		fmt.Printf("apiload: perf record: %v %s\n", err, stderr.String())
		return
	}
	fmt.Printf("apiload: perf profile of baton under %s load (%s):\n", name, d)
	for _, mode := range []struct{ title, flag, limit string }{
		{"self (flat) ≥1.5%", "--no-children", "1.5"},
		{"cumulative (incl. callees) ≥8%", "--children", "8"},
	} {
		out, err := exec.Command("perf", "report", "-i", data, "--stdio", mode.flag, "--sort", "sym", "-g", "none",
			"--percent-limit", mode.limit).Output()
		if err != nil {
			fmt.Printf("apiload: perf report: %v\n", err)
			return
		}
		fmt.Printf("apiload:   -- %s\n", mode.title)
		for _, l := range strings.Split(string(out), "\n") {
			if t := strings.TrimSpace(l); t == "" || strings.HasPrefix(t, "#") && !strings.HasPrefix(t, "# Samples") {
				continue
			}
			fmt.Printf("apiload:   %s\n", strings.TrimRight(l, " "))
		}
	}
}

type result struct {
	rps                      float64
	st                       h.Stats
	errs                     int64
	batonCPU, pgCPU, selfCPU float64
	machine                  float64
}

// load runs clients against path for warm+dur and measures during dur. With
// pace 0 each client sends its next request when the last one is answered
// (closed loop: measures capacity); otherwise each client sends one request
// every pace, and latency counts from when it was due (so a late start is
// not hidden: no coordinated omission).
func load(s *h.Server, pg *pgx.Conn, path func(*rand.Rand) string, clients int, warm, dur, pace time.Duration, seen map[string]bool) result {
	tr := &http.Transport{MaxIdleConns: clients * 2, MaxIdleConnsPerHost: clients * 2, IdleConnTimeout: time.Minute}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	var measuring atomic.Bool
	var stop atomic.Bool
	var errs atomic.Int64
	lats := make([][]time.Duration, clients)
	var wg sync.WaitGroup
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(c), 7))
			buf := make([]time.Duration, 0, 4096)
			next := time.Now().Add(time.Duration(r.Int64N(int64(pace) + 1)))
			for !stop.Load() {
				url := s.URL + path(r)
				t0 := time.Now()
				if pace > 0 {
					if w := time.Until(next); w > 0 {
						time.Sleep(w)
					}
					t0 = next
					next = next.Add(pace)
				}
				resp, err := client.Get(url)
				if err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				d := time.Since(t0)
				if !measuring.Load() {
					continue
				}
				if err != nil || resp.StatusCode != http.StatusOK {
					errs.Add(1)
					continue
				}
				buf = append(buf, d)
			}
			lats[c] = buf
		}(c)
	}
	time.Sleep(warm)
	// Which backends serve Baton, for their CPU time.
	pids := h.BackendPIDs(context.Background(), pg, s.DBName)
	pg0 := sumCPU(pids)
	b0, self0 := h.ProcCPU(s.Pid()), h.ProcCPU(os.Getpid())
	cpu := h.StartCPU()
	measuring.Store(true)
	start := time.Now()
	// Sample what the server runs, to print the exact statements.
	sampleDone := make(chan struct{})
	go func() {
		defer close(sampleDone)
		for time.Since(start) < dur {
			rows, err := pg.Query(context.Background(), `SELECT query FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid() AND state = 'active'`, s.DBName)
			if err == nil {
				for rows.Next() {
					var q string
					_ = rows.Scan(&q)
					seen[strings.Join(strings.Fields(q), " ")] = true
				}
				rows.Close()
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
	time.Sleep(dur)
	measuring.Store(false)
	elapsed := time.Since(start)
	machine := cpu.Percent()
	bCPU, selfCPU := h.ProcCPU(s.Pid())-b0, h.ProcCPU(os.Getpid())-self0
	pgCPU := sumCPU(pids) - pg0
	stop.Store(true)
	wg.Wait()
	<-sampleDone
	var all []time.Duration
	for _, l := range lats {
		all = append(all, l...)
	}
	sec := elapsed.Seconds()
	return result{rps: float64(len(all)) / sec, st: h.Summarize(all), errs: errs.Load(),
		batonCPU: bCPU.Seconds() / sec, pgCPU: pgCPU.Seconds() / sec, selfCPU: selfCPU.Seconds() / sec, machine: machine}
}

func sumCPU(pids []int) time.Duration {
	var t time.Duration
	for _, p := range pids {
		t += h.ProcCPU(p)
	}
	return t
}

// explain prints the key lines of EXPLAIN (ANALYZE, BUFFERS) for each query,
// run the way pgx runs it: as a prepared statement, executed a few times
// first so PostgreSQL may switch to the generic plan as it would in Baton.
func explain(ctx context.Context, pg *pgx.Conn, logRun int64) {
	fmt.Println("apiload: EXPLAIN (ANALYZE, BUFFERS) of the store's queries (prepared, 6th+ execution):")
	for i, q := range queries {
		name := fmt.Sprintf("bench_q%d", i)
		args := q.args(logRun)
		if _, err := pg.Prepare(ctx, name, q.sql); err != nil {
			fmt.Printf("apiload:   %s: prepare: %v\n", q.name, err)
			continue
		}
		warm := args
		if q.warm != nil {
			warm = q.warm
		}
		for k := 0; k < 6; k++ {
			rows, err := pg.Query(ctx, name, warm...)
			if err == nil {
				rows.Close()
			}
		}
		// EXPLAIN EXECUTE needs literal parameters.
		lits := make([]string, len(args))
		for j, a := range args {
			switch v := a.(type) {
			case string:
				lits[j] = "'" + strings.ReplaceAll(v, "'", "''") + "'"
			default:
				lits[j] = fmt.Sprint(v)
			}
		}
		stmt := "EXPLAIN (ANALYZE, BUFFERS) EXECUTE " + name
		if len(lits) > 0 {
			stmt += "(" + strings.Join(lits, ", ") + ")"
		}
		rows, err := pg.Query(ctx, stmt)
		if err != nil {
			fmt.Printf("apiload:   %s: %v\n", q.name, err)
			continue
		}
		fmt.Printf("apiload:   -- %s  args %v\n", q.name, args)
		for rows.Next() {
			var line string
			_ = rows.Scan(&line)
			t := strings.TrimSpace(line)
			if strings.HasPrefix(t, "Buffers:") || strings.HasPrefix(t, "Output:") || strings.HasPrefix(t, "Planning:") {
				continue
			}
			fmt.Printf("apiload:      %s\n", line)
		}
		rows.Close()
		_, _ = pg.Exec(ctx, "DEALLOCATE "+name)
	}
}
