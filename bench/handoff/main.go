// Command handoff measures how fast Baton hands an environment to its next
// queued run, with warm slots (BATON_WARM_SLOTS, the default) and without
// (BATON_WARM_SLOTS=0), side by side: two private servers, rounds of runs
// queued on environment 1 of each, the order of the two alternated. For
// each consecutive pair, finished_at(N) → started_at(N+1) from the API
// (Baton's own handoff) and finished_at(N) → the moment run N+1's test
// module was imported (recorded by the test itself, so it includes process
// spawn and python+pytest start-up, or the warm handoff). A third server
// runs the same rounds on a pool (environments 1–3 labelled "bench", runs
// queued with "pool"), handoffs counted per environment: a pooled claim
// takes every member's lock and picks the oldest run that can take the
// environment, and must be as quick (issue 13).
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	h "github.com/baton-ci/baton/bench/internal/harness"
)

// The test stamps its import time, with TEST_RUN_ID, into BENCH_STAMP_FILE
// (inherited from baton's environment); O_APPEND keeps lines whole.
const stampTest = `import os, time
_T = time.time()
with open(os.environ["BENCH_STAMP_FILE"], "a") as f:
    f.write("%s %.6f\n" % (os.environ["TEST_RUN_ID"], _T))


def test_handoff():
    assert True
`

// slots is BATON_WARM_SLOTS of the warm server: Baton's default
// (BATON_MAX_RUNS, 8).
const slots = 8

type mode struct {
	name   string
	s      *h.Server
	stamps string
	warm   int    // warm slots to wait for before a round
	pool   string // the rounds' runs go to this pool; "" for environment 1

	apiHand, procHand, spawn, exec []time.Duration
	skipped, warmStarts, runs      int
	// procReady and procWaited split procHand of warm starts: the run
	// found a warm slot ready, or waited for one to finish warming.
	procReady, procWaited []time.Duration
	waited                int
	loads                 []string
}

func main() {
	n := flag.Int("n", 15, "runs queued on environment 1 per round")
	reps := flag.Int("reps", 4, "rounds of each mode, alternating which goes first")
	flag.Parse()
	h.Header("handoff", fmt.Sprintf("%d rounds × %d runs queued on environment 1, warm (BATON_WARM_SLOTS=%d) vs cold (0), and on pool %q (environments 1–%d, warm), alternating", *reps, *n, slots, benchPool, poolSize))

	dir, err := os.MkdirTemp("", "baton-bench-stamps-")
	if err != nil {
		h.Fatal("%v", err)
	}
	defer os.RemoveAll(dir)
	// Tests run as BATON_RUN_USER when Baton runs as root: they must be
	// able to append to the stamp files.
	if err := os.Chmod(dir, 0o755); err != nil {
		h.Fatal("%v", err)
	}
	var modes []*mode
	for _, m := range []struct {
		name string
		warm int
		pool string
	}{{"warm", slots, ""}, {"cold", 0, ""}, {"pool", slots, benchPool}} {
		stamps := filepath.Join(dir, m.name+".txt")
		if err := os.WriteFile(stamps, nil, 0o666); err != nil {
			h.Fatal("%v", err)
		}
		if err := os.Chmod(stamps, 0o666); err != nil { // past the umask
			h.Fatal("%v", err)
		}
		s := h.Start(h.Options{Name: "handoff_" + m.name, Tests: map[string]string{"test_handoff.py": stampTest},
			Env: []string{"BENCH_STAMP_FILE=" + stamps, "BATON_WARM_SLOTS=" + strconv.Itoa(m.warm)}})
		modes = append(modes, &mode{name: m.name, s: s, stamps: stamps, warm: m.warm, pool: m.pool})
		if m.pool != "" {
			for env := 1; env <= poolSize; env++ {
				if err := s.Label(env, m.pool); err != nil {
					h.Fatal("%v", err)
				}
			}
		}
	}

	defer func() {
		for _, m := range modes {
			m.s.Stop()
		}
	}()
	cpu := h.StartCPU()
	for rep := 0; rep < *reps; rep++ {
		for k := range modes {
			m := modes[(rep+k)%len(modes)]
			// Both servers idle, the warm one with all its slots warm:
			// neither round pays for the other's background work.
			for _, o := range modes {
				if o.warm > 0 {
					h.WaitWarm(o.s.Pid(), o.warm, 2*time.Minute)
				}
			}
			m.loads = append(m.loads, h.LoadAvg())
			m.round(*n)
		}
	}
	for _, m := range modes {
		a, p := h.Summarize(m.apiHand), h.Summarize(m.procHand)
		sp, ex := h.Summarize(m.spawn), h.Summarize(m.exec)
		fmt.Printf("handoff: %s: %d runs, %d started warm (log), %d pairs not queued in time skipped; load before rounds %s\n",
			m.name, m.runs, m.warmStarts, m.skipped, strings.Join(m.loads, " "))
		fmt.Printf("handoff: %s: Baton  finished_at(N) → started_at(N+1)          n=%d p50=%s p95=%s max=%s\n", m.name, a.N, h.Ms(a.P50), h.Ms(a.P95), h.Ms(a.Max))
		fmt.Printf("handoff: %s: test   finished_at(N) → run N+1's module import   n=%d p50=%s p95=%s max=%s\n", m.name, p.N, h.Ms(p.P50), h.Ms(p.P95), h.Ms(p.Max))
		if m.warm > 0 {
			r, w := h.Summarize(m.procReady), h.Summarize(m.procWaited)
			fmt.Printf("handoff: %s:   test-visible, a warm slot ready: n=%d p50=%s p95=%s; waited for a slot to finish warming (%d runs): n=%d p50=%s p95=%s\n",
				m.name, r.N, h.Ms(r.P50), h.Ms(r.P95), m.waited, w.N, h.Ms(w.P50), h.Ms(w.P95))
		}
		fmt.Printf("handoff: %s:   of which started_at → import (spawn+python+pytest start-up, or warm handoff) p50=%s p95=%s\n", m.name, h.Ms(sp.P50), h.Ms(sp.P95))
		fmt.Printf("handoff: %s:   run's own started_at → finished_at                          p50=%s p95=%s\n", m.name, h.Ms(ex.P50), h.Ms(ex.P95))
	}
	w, c, pm := modes[0], modes[1], modes[2]
	a, p := h.Summarize(w.apiHand), h.Summarize(w.procHand)
	pa := h.Summarize(pm.apiHand)
	pc := h.Summarize(c.procHand)
	fmt.Printf("handoff: target Baton handoff (warm) p50 < 50ms: %s, p95 < 150ms: %s\n",
		h.Verdict(a.P50 < 50*time.Millisecond), h.Verdict(a.P95 < 150*time.Millisecond))
	fmt.Printf("handoff: target test-visible handoff (warm) p50 < 100ms: %s (%s), p95 < 200ms: %s (%s); cold p50 %s p95 %s (%.1fx warm's p50)\n",
		h.Verdict(p.P50 < 100*time.Millisecond), h.Ms(p.P50), h.Verdict(p.P95 < 200*time.Millisecond), h.Ms(p.P95),
		h.Ms(pc.P50), h.Ms(pc.P95), float64(pc.P50)/float64(max(p.P50, 1)))
	fmt.Printf("handoff: target Baton handoff (pool) p50 < 50ms: %s (%s), p95 %s\n", h.Verdict(pa.P50 < 50*time.Millisecond), h.Ms(pa.P50), h.Ms(pa.P95))
	fmt.Printf("handoff: machine CPU busy %.0f%% of 2 cores, load %s\n", cpu.Percent(), h.LoadAvg())
}

// round queues n runs on environment 1 (or the pool) and adds their
// handoffs: between consecutive runs of the same environment.
func (m *mode) round(n int) {
	ids := make([]int64, 0, n)
	for i := 0; i < n; i++ {
		var r *h.Run
		var err error
		if m.pool != "" {
			r, err = m.s.CreatePoolRun(m.pool, "test_handoff.py")
		} else {
			r, err = m.s.CreateRun(1, "test_handoff.py")
		}
		if err != nil {
			h.Fatal("%v", err)
		}
		ids = append(ids, r.Id)
	}
	runs, err := m.s.WaitAll(ids, 50*time.Millisecond, 5*time.Minute)
	if err != nil {
		h.Fatal("%v; log:\n%s", err, m.s.LogTail(20))
	}
	for _, r := range runs {
		if r.Status != "success" || r.StartedAt == nil {
			h.Fatal("run %d ended %s (%v)", r.Id, r.Status, r.Reason)
		}
	}
	imported := readStamps(m.stamps)
	// By environment, then in the order they started there.
	sort.Slice(runs, func(i, j int) bool {
		if runs[i].Env() != runs[j].Env() {
			return runs[i].Env() < runs[j].Env()
		}
		return runs[i].StartedAt.Before(*runs[j].StartedAt)
	})
	for i, r := range runs {
		if r.Status != "success" {
			h.Fatal("run %d ended %s (%v)", r.Id, r.Status, r.Reason)
		}
		m.runs++
		warm, waited := m.s.WarmStart(r.Id)
		if warm {
			m.warmStarts++
		}
		if waited {
			m.waited++
		}
		m.exec = append(m.exec, r.FinishedAt.Sub(*r.StartedAt))
		if t, ok := imported[r.Id]; ok {
			m.spawn = append(m.spawn, t.Sub(*r.StartedAt))
		}
		if i == 0 || runs[i-1].Env() != r.Env() {
			continue
		}
		prev := runs[i-1]
		if !r.CreatedAt.Before(*prev.FinishedAt) {
			m.skipped++ // not yet queued when its predecessor ended: no handoff to measure
			continue
		}
		m.apiHand = append(m.apiHand, r.StartedAt.Sub(*prev.FinishedAt))
		if t, ok := imported[r.Id]; ok {
			d := t.Sub(*prev.FinishedAt)
			m.procHand = append(m.procHand, d)
			if warm && waited {
				m.procWaited = append(m.procWaited, d)
			} else if warm {
				m.procReady = append(m.procReady, d)
			}
		}
	}
}

// benchPool is the pool mode's label; poolSize how many environments carry it.
const (
	benchPool = "bench"
	poolSize  = 3
)

func readStamps(path string) map[int64]time.Time {
	out := map[int64]time.Time{}
	f, err := os.Open(path)
	if err != nil {
		h.Fatal("stamps: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) != 2 {
			continue
		}
		id, err1 := strconv.ParseInt(fs[0], 10, 64)
		sec, err2 := strconv.ParseFloat(fs[1], 64)
		if err1 != nil || err2 != nil {
			continue
		}
		out[id] = time.Unix(0, int64(sec*1e9))
	}
	return out
}
