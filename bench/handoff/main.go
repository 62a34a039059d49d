// Command handoff measures how fast Baton hands an environment to its next
// queued run: 50 runs queued on one environment; for each consecutive pair,
// finished_at(N) → started_at(N+1) from the API (Baton's own handoff) and
// finished_at(N) → the moment run N+1's test module was imported (recorded
// by the test itself, so it includes process spawn and python+pytest start).
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

func main() {
	n := flag.Int("n", 50, "runs queued on one environment")
	flag.Parse()
	h.Header("handoff", fmt.Sprintf("%d runs queued on environment 1, handoff between consecutive runs", *n))

	dir, err := os.MkdirTemp("", "baton-bench-stamps-")
	if err != nil {
		h.Fatal("%v", err)
	}
	defer os.RemoveAll(dir)
	stamps := filepath.Join(dir, "stamps.txt")
	s := h.Start(h.Options{Name: "handoff", Tests: map[string]string{"test_handoff.py": stampTest},
		Env: []string{"BENCH_STAMP_FILE=" + stamps}})
	defer s.Stop()

	cpu := h.StartCPU()
	ids := make([]int64, 0, *n)
	t0 := time.Now()
	for i := 0; i < *n; i++ {
		r, err := s.CreateRun(1, "test_handoff.py")
		if err != nil {
			h.Fatal("%v", err)
		}
		ids = append(ids, r.ID)
	}
	submitted := time.Since(t0)
	runs, err := s.WaitAll(ids, 50*time.Millisecond, 5*time.Minute)
	if err != nil {
		h.Fatal("%v; log:\n%s", err, s.LogTail(20))
	}
	wall := time.Since(t0)
	imported := readStamps(stamps)
	sort.Slice(runs, func(i, j int) bool { return runs[i].ID < runs[j].ID })

	var apiHand, procHand, spawn, exec []time.Duration
	skipped := 0
	for i, r := range runs {
		if r.Status != "success" {
			h.Fatal("run %d ended %s (%v)", r.ID, r.Status, r.Reason)
		}
		exec = append(exec, r.FinishedAt.Sub(*r.StartedAt))
		if t, ok := imported[r.ID]; ok {
			spawn = append(spawn, t.Sub(*r.StartedAt))
		}
		if i == 0 {
			continue
		}
		prev := runs[i-1]
		if !r.CreatedAt.Before(*prev.FinishedAt) {
			skipped++ // not yet queued when its predecessor ended: no handoff to measure
			continue
		}
		apiHand = append(apiHand, r.StartedAt.Sub(*prev.FinishedAt))
		if t, ok := imported[r.ID]; ok {
			procHand = append(procHand, t.Sub(*prev.FinishedAt))
		}
	}
	a, p := h.Summarize(apiHand), h.Summarize(procHand)
	fmt.Printf("handoff: submitted %d runs in %s, all done after %s (skipped %d pairs not queued in time)\n",
		*n, h.Ms(submitted), h.Ms(wall), skipped)
	fmt.Printf("handoff: Baton  finished_at(N) → started_at(N+1)          n=%d p50=%s p95=%s max=%s\n", a.N, h.Ms(a.P50), h.Ms(a.P95), h.Ms(a.Max))
	fmt.Printf("handoff: test   finished_at(N) → run N+1's module import   n=%d p50=%s p95=%s max=%s\n", p.N, h.Ms(p.P50), h.Ms(p.P95), h.Ms(p.Max))
	sp, ex := h.Summarize(spawn), h.Summarize(exec)
	fmt.Printf("handoff:   of which started_at → import (spawn+python+pytest start-up) p50=%s p95=%s\n", h.Ms(sp.P50), h.Ms(sp.P95))
	fmt.Printf("handoff:   run's own started_at → finished_at                          p50=%s p95=%s\n", h.Ms(ex.P50), h.Ms(ex.P95))
	fmt.Printf("handoff: target Baton handoff p50 < 50ms: %s, p95 < 150ms: %s\n",
		h.Verdict(a.P50 < 50*time.Millisecond), h.Verdict(a.P95 < 150*time.Millisecond))
	fmt.Printf("handoff: machine CPU busy %.0f%% of 2 cores, load %s\n", cpu.Percent(), h.LoadAvg())
}

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
