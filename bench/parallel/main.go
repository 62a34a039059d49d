// Command parallel measures throughput across environments: 100 runs on 100
// different environments, each test sleeping 2 s, against starting the same
// 100 pytest processes at once directly (xargs -P 100). Baton runs twice
// side by side: with a warm slot per run (BATON_WARM_SLOTS=n, 100) and
// without (BATON_WARM_SLOTS=0).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	h "github.com/baton-ci/baton/bench/internal/harness"
)

const sleepTest = "import time\n\n\ndef test_sleep():\n    time.sleep(2)\n"

func main() {
	n := flag.Int("n", 100, "runs, one per environment (≤ 100)")
	reps := flag.Int("reps", 2, "alternating repetitions of each")
	maxConns := flag.Int("db-max-conns", 25, "BATON_DB_MAX_CONNS of each of the two servers (the shared PostgreSQL allows max_connections=100)")
	flag.Parse()
	h.Header("parallel", fmt.Sprintf("%d runs × sleep 2s on %d environments, Baton warm and cold vs xargs -P %d, %d reps", *n, *n, *n, *reps))

	tests := map[string]string{"test_sleep.py": sleepTest}
	warmS := h.Start(h.Options{Name: "parallel_warm", Tests: tests, MaxRuns: 100, DBMaxConns: *maxConns, Env: []string{"BATON_WARM_SLOTS=" + strconv.Itoa(*n)}})
	defer warmS.Stop()
	coldS := h.Start(h.Options{Name: "parallel_cold", Tests: tests, MaxRuns: 100, DBMaxConns: *maxConns, Env: []string{"BATON_WARM_SLOTS=0"}})
	defer coldS.Stop()
	// Every measurement starts with the warm server's 100 slots warm: no
	// measurement pays for the slots replaced after the last warm rep.
	settle := func() time.Duration { return h.WaitWarm(warmS.Pid(), *n, 10*time.Minute) }
	file := filepath.Join(coldS.TestsDir, "test_sleep.py")
	work, _ := os.MkdirTemp(coldS.Dir, "direct-")

	// direct is the baseline of the issue, all pytest processes in this
	// program's session. With the kernel's autogroup scheduling
	// (/proc/sys/kernel/sched_autogroup_enabled) a session shares the CPU
	// equally with every other session, and Baton's runs each have one
	// of their own: on a machine other users load, the plain baseline
	// then gets a smaller share than Baton's runs. setsid gives each of
	// its pytest processes a session too (`setsid -w`), as fair a
	// baseline under load; on an idle machine both are the same.
	direct := func(setsid bool) time.Duration {
		wrap := ""
		if setsid {
			wrap = "setsid -w "
		}
		script := fmt.Sprintf(`seq %d | xargs -P %d -I{} %s%s -m pytest -v -p no:cacheprovider %s >/dev/null`, *n, *n, wrap, h.Python, file)
		cmd := exec.Command("sh", "-c", script)
		cmd.Dir = work
		t0 := time.Now()
		out, err := cmd.CombinedOutput()
		if err != nil {
			h.Fatal("xargs: %v\n%s", err, out)
		}
		return time.Since(t0)
	}

	ctx := context.Background()
	pg, err := pgx.Connect(ctx, coldS.DBURL) // any database: it reads pg_stat_activity
	if err != nil {
		h.Fatal("%v", err)
	}
	defer pg.Close(ctx)

	type viaResult struct {
		wall, span     time.Duration
		queue, execute []time.Duration
		peakRunning    int
		peakConns      int
		pgCPU          time.Duration
		submitted      time.Duration
		batonCPU       time.Duration
		warmStarts     int
	}
	baton := func(s *h.Server) viaResult {
		cpu0 := h.ProcCPU(s.Pid())
		stop := make(chan struct{})
		var peakConns int
		firstCPU, lastCPU := map[int]time.Duration{}, map[int]time.Duration{}
		var wg sync.WaitGroup
		wg.Add(1)
		go func() { // sample the database connections Baton holds
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				case <-time.After(100 * time.Millisecond):
				}
				pids := h.BackendPIDs(ctx, pg, s.DBName)
				peakConns = max(peakConns, len(pids))
				for _, p := range pids {
					c := h.ProcCPU(p)
					if _, ok := firstCPU[p]; !ok {
						firstCPU[p] = c
					}
					lastCPU[p] = c
				}
			}
		}()
		t0 := time.Now()
		ids := make([]int64, *n)
		var sg sync.WaitGroup
		errs := make(chan error, *n)
		for w := 0; w < 4; w++ { // 4 submitters, as a few users clicking at once
			sg.Add(1)
			go func(w int) {
				defer sg.Done()
				for i := w; i < *n; i += 4 {
					r, err := s.CreateRun(i+1, "test_sleep.py")
					if err != nil {
						errs <- err
						return
					}
					ids[i] = r.Id
				}
			}(w)
		}
		sg.Wait()
		submitted := time.Since(t0)
		select {
		case err := <-errs:
			h.Fatal("%v", err)
		default:
		}
		// All are submitted: they have all ended once nothing is queued or
		// running. Two one-row lists every 100 ms keep the poller's own cost
		// (CPU on the same 2 cores) negligible.
		for {
			time.Sleep(100 * time.Millisecond)
			live := 0
			for _, st := range []string{"queued", "running"} {
				var page struct {
					Items []h.Run `json:"items"`
				}
				if err := s.GetJSON("/api/runs?limit=1&status="+st, &page); err != nil {
					h.Fatal("%v", err)
				}
				live += len(page.Items)
			}
			if live == 0 {
				break
			}
			if time.Since(t0) > 5*time.Minute {
				h.Fatal("runs not done after 5 minutes; log:\n%s", s.LogTail(20))
			}
		}
		wall := time.Since(t0)
		close(stop)
		wg.Wait()
		runs, err := s.WaitAll(ids, 10*time.Millisecond, time.Minute)
		if err != nil {
			h.Fatal("%v", err)
		}
		res := viaResult{wall: wall, peakConns: peakConns, batonCPU: h.ProcCPU(s.Pid()) - cpu0, submitted: submitted}
		for p, c := range lastCPU {
			res.pgCPU += c - firstCPU[p]
		}
		first, last := runs[0].CreatedAt, *runs[0].FinishedAt
		type ev struct {
			t time.Time
			d int
		}
		var evs []ev
		for _, r := range runs {
			if r.Status != "success" {
				h.Fatal("run %d ended %s (%v); log:\n%s", r.Id, r.Status, r.Reason, s.LogTail(20))
			}
			if r.CreatedAt.Before(first) {
				first = r.CreatedAt
			}
			if r.FinishedAt.After(last) {
				last = *r.FinishedAt
			}
			if s.WarmStarted(r.Id) {
				res.warmStarts++
			}
			res.queue = append(res.queue, r.StartedAt.Sub(r.CreatedAt))
			res.execute = append(res.execute, r.FinishedAt.Sub(*r.StartedAt))
			evs = append(evs, ev{*r.StartedAt, 1}, ev{*r.FinishedAt, -1})
		}
		sort.Slice(evs, func(i, j int) bool {
			return evs[i].t.Before(evs[j].t) || evs[i].t.Equal(evs[j].t) && evs[i].d < evs[j].d
		})
		cur := 0
		for _, e := range evs {
			cur += e.d
			res.peakRunning = max(res.peakRunning, cur)
		}
		res.span = last.Sub(first)
		return res
	}

	// Warm the page cache and Baton once, unmeasured.
	settle()
	direct(false)
	autogroup, _ := os.ReadFile("/proc/sys/kernel/sched_autogroup_enabled")
	cpu := h.StartCPU()
	var ds, ss, ws, cs []time.Duration
	var last = map[string]viaResult{}
	for i := 0; i < *reps; i++ {
		took := settle()
		load := h.LoadAvg()
		var d, sd time.Duration
		var w, c viaResult
		// Rotate the order so that no kind always follows another.
		for k := 0; k < 4; k++ {
			if k > 0 {
				settle()
			}
			switch (i + k) % 4 {
			case 0:
				d = direct(false)
			case 1:
				w = baton(warmS)
			case 2:
				sd = direct(true)
			case 3:
				c = baton(coldS)
			}
		}
		ds, ss, ws, cs = append(ds, d), append(ss, sd), append(ws, w.wall), append(cs, c.wall)
		last["warm"], last["cold"] = w, c
		fmt.Printf("parallel: rep %d (load %s, slots warm again after %s): xargs -P %d %s, with setsid %s; Baton warm (%d of %d started warm) %s (%.2fx), cold %s (%.2fx); API span first created_at → last finished_at warm %s, cold %s\n",
			i+1, load, h.Ms(took), *n, h.Ms(d), h.Ms(sd), w.warmStarts, *n, h.Ms(w.wall), float64(w.wall)/float64(d), h.Ms(c.wall), float64(c.wall)/float64(d),
			h.Ms(w.span), h.Ms(c.span))
	}
	d, sd, w, c := h.Summarize(ds), h.Summarize(ss), h.Summarize(ws), h.Summarize(cs)
	// Best of each: the least disturbed by other users; the verdicts
	// compare with the faster of the two baselines.
	base := min(d.Min, sd.Min)
	wr, cr := float64(w.Min)/float64(base), float64(c.Min)/float64(base)
	fmt.Printf("parallel: direct (xargs -P %d)  best of %d wall %s; with setsid -w %s (autogroup scheduling %s)\n", *n, *reps, h.Ms(d.Min), h.Ms(sd.Min), strings.TrimSpace(string(autogroup)))
	fmt.Printf("parallel: Baton warm (%d envs)  best of %d wall %s, ratio %.2fx of the faster baseline (%.2fx of plain xargs); target ≤ 1.05x: %s\n", *n, *reps, h.Ms(w.Min), wr, float64(w.Min)/float64(d.Min), h.Verdict(wr <= 1.05))
	fmt.Printf("parallel: Baton cold (%d envs)  best of %d wall %s, ratio %.2fx of the faster baseline (%.2fx of plain xargs); target ≤ 1.25x: %s\n", *n, *reps, h.Ms(c.Min), cr, float64(c.Min)/float64(d.Min), h.Verdict(cr <= 1.25))
	for _, name := range []string{"warm", "cold"} {
		l := last[name]
		q, e := h.Summarize(l.queue), h.Summarize(l.execute)
		fmt.Printf("parallel: last %s rep: %d POSTs (4 submitters) took %s; queue created→started p50=%s p95=%s max=%s; execute p50=%s max=%s; peak running %d; peak DB conns %d (cap %d)\n",
			name, *n, h.Ms(l.submitted), h.Ms(q.P50), h.Ms(q.P95), h.Ms(q.Max), h.Ms(e.P50), h.Ms(e.Max), l.peakRunning, l.peakConns, *maxConns)
		fmt.Printf("parallel: last %s rep CPU: baton %s, its PostgreSQL backends ≥%s (sampled), i.e. %s per run\n",
			name, l.batonCPU.Round(10*time.Millisecond), l.pgCPU.Round(10*time.Millisecond), h.Ms((l.batonCPU+l.pgCPU)/time.Duration(*n)))
	}
	fmt.Printf("parallel: machine CPU busy %.0f%% of 2 cores, load %s\n", cpu.Percent(), h.LoadAvg())
}
