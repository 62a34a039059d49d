// Command memory measures the resident memory of `baton serve` itself (not
// its pytest children): idle, and while 100 runs execute at once on 100
// environments; and what its warm slots cost (BATON_WARM_SLOTS, by default
// one per run slot): the memory of each slot's supervisor and waiting
// Python, and the CPU of the whole tree while they wait.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"time"

	h "github.com/baton-ci/baton/bench/internal/harness"
)

// Each test holds its environment until the benchmark creates the release
// file (once all runs execute at once), then sleeps a little more.
const holdTest = `import os, time


def test_hold():
    open(os.path.join(os.path.dirname(os.environ["BENCH_RELEASE"]), "started-" + os.environ["TEST_RUN_ID"]), "w").close()
    deadline = time.monotonic() + 240
    while not os.path.exists(os.environ["BENCH_RELEASE"]):
        assert time.monotonic() < deadline, "never released"
        time.sleep(0.1)
    time.sleep(%d)
`

func main() {
	n := flag.Int("n", 100, "concurrent runs")
	hold := flag.Duration("hold", 3*time.Second, "how long to keep sampling once all runs execute")
	settle := flag.Duration("settle", 5*time.Second, "idle time before the idle sample")
	maxConns := flag.Int("db-max-conns", 60, "BATON_DB_MAX_CONNS")
	slots := flag.Int("slots", 100, "BATON_WARM_SLOTS (BATON_MAX_RUNS is 100)")
	flag.Parse()
	h.Header("memory", fmt.Sprintf("baton serve RSS idle and with %d concurrent runs (children excluded)", *n))
	tmp, err := os.MkdirTemp("", "baton-bench-release-")
	if err != nil {
		h.Fatal("%v", err)
	}
	defer os.RemoveAll(tmp)
	// Tests run as BATON_RUN_USER when Baton runs as root: they write
	// their start marks here.
	if err := os.Chmod(tmp, 0o1777); err != nil {
		h.Fatal("%v", err)
	}
	release := filepath.Join(tmp, "release")
	s := h.Start(h.Options{Name: "memory", Tests: map[string]string{"test_hold.py": fmt.Sprintf(holdTest, 1)},
		MaxRuns: 100, DBMaxConns: *maxConns, Env: []string{"BENCH_RELEASE=" + release, "BATON_WARM_SLOTS=" + strconv.Itoa(*slots)}})
	defer s.Stop()
	pid := s.Pid()

	time.Sleep(time.Second) // start-up work (migrations, first catalog sync) is done
	idleCPU0 := h.ProcCPU(pid)
	time.Sleep(*settle)
	idleCPU := h.ProcCPU(pid) - idleCPU0
	idleRSS, idleHWM, err := h.ProcStatus(pid)
	if err != nil {
		h.Fatal("%v", err)
	}
	fmt.Printf("memory: idle after %s: VmRSS=%.1f MiB VmHWM=%.1f MiB; idle CPU %.1f%% of one core\n",
		*settle, mib(idleRSS), mib(idleHWM), 100*idleCPU.Seconds()/settle.Seconds())
	warmSlots(pid, *slots, *settle)

	// Sample while the runs execute.
	stop := make(chan struct{})
	var mu sync.Mutex
	var peakRSS, rssAtFull int64
	peakChildren := 0
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
			rss, _, err := h.ProcStatus(pid)
			if err != nil {
				continue
			}
			c := h.Children(pid)
			mu.Lock()
			peakRSS = max(peakRSS, rss)
			if c > peakChildren || c == peakChildren && rss > rssAtFull {
				rssAtFull = rss
			}
			peakChildren = max(peakChildren, c)
			mu.Unlock()
		}
	}()
	ids := make([]int64, *n)
	for i := 0; i < *n; i++ {
		r, err := s.CreateRun(i%100+1, "test_hold.py")
		if err != nil {
			h.Fatal("%v", err)
		}
		ids[i] = r.Id
	}
	// Release the tests once every run's test has started (or after 3 min).
	t0 := time.Now()
	for time.Since(t0) < 3*time.Minute {
		started, _ := filepath.Glob(filepath.Join(tmp, "started-*"))
		if len(started) >= *n {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	fmt.Printf("memory: all %d runs executing %s after the last submission\n", *n, h.Ms(time.Since(t0)))
	time.Sleep(*hold)
	if err := os.WriteFile(release, nil, 0o644); err != nil {
		h.Fatal("%v", err)
	}
	runs, err := s.WaitAll(ids, 200*time.Millisecond, 5*time.Minute)
	close(stop)
	<-done
	if err != nil {
		h.Fatal("%v", err)
	}
	for _, r := range runs {
		if r.Status != "success" {
			h.Fatal("run %d ended %s (%v)", r.Id, r.Status, r.Reason)
		}
	}
	_, hwm, _ := h.ProcStatus(pid)
	var queue []time.Duration
	lastStart, firstEnd := *runs[0].StartedAt, *runs[0].FinishedAt
	for _, r := range runs {
		queue = append(queue, r.StartedAt.Sub(r.CreatedAt))
		if r.StartedAt.After(lastStart) {
			lastStart = *r.StartedAt
		}
		if r.FinishedAt.Before(firstEnd) {
			firstEnd = *r.FinishedAt
		}
	}
	q := h.Summarize(queue)
	fmt.Printf("memory: queue created→started p50=%s max=%s; last start %s before first finish\n",
		h.Ms(q.P50), h.Ms(q.Max), h.Ms(firstEnd.Sub(lastStart)))
	fmt.Printf("memory: busy: peak runs executing at once %d (API timestamps), peak children (supervisors, warm slots' included) %d; VmRSS peak %.1f MiB (at peak children %.1f MiB); VmHWM %.1f MiB\n",
		peakRunning(runs), peakChildren, mib(peakRSS), mib(rssAtFull), mib(hwm))
	time.Sleep(*settle)
	after, _, _ := h.ProcStatus(pid)
	fmt.Printf("memory: idle again %s later: VmRSS=%.1f MiB\n", *settle, mib(after))
	fmt.Printf("memory: target idle < 60 MiB: %s (%.1f); busy < 150 MiB: %s (VmHWM %.1f)\n",
		h.Verdict(mib(idleRSS) < 60), mib(idleRSS), h.Verdict(mib(hwm) < 150), mib(hwm))
}

// peakRunning is the most runs whose [started_at, finished_at] overlap.
func peakRunning(runs []*h.Run) int {
	type ev struct {
		t time.Time
		d int
	}
	var evs []ev
	for _, r := range runs {
		evs = append(evs, ev{*r.StartedAt, 1}, ev{*r.FinishedAt, -1})
	}
	sort.Slice(evs, func(i, j int) bool {
		return evs[i].t.Before(evs[j].t) || evs[i].t.Equal(evs[j].t) && evs[i].d < evs[j].d
	})
	cur, peak := 0, 0
	for _, e := range evs {
		cur += e.d
		peak = max(peak, cur)
	}
	return peak
}

func mib(kib int64) float64 { return float64(kib) / 1024 }

// warmSlots waits for n warm slots below pid and reports what they cost:
// each slot's waiting Python and its supervisor, resident (RSS) and
// proportional (PSS: shared pages split among their users, so the sum is
// what the machine really spends), and the CPU of baton with every process
// below it while they wait.
func warmSlots(pid, n int, settle time.Duration) {
	if n == 0 {
		return
	}
	took := h.WaitWarm(pid, n, 10*time.Minute)
	time.Sleep(time.Second)
	cpu0 := h.TreeCPU(pid)
	time.Sleep(settle)
	cpu := h.TreeCPU(pid) - cpu0
	var py, sup h.Mem
	pythons := h.WarmWaiting(pid)
	for _, p := range pythons {
		m, s := h.ProcMem(p), h.ProcMem(h.Parent(p))
		py.RSS, py.PSS, sup.RSS, sup.PSS = py.RSS+m.RSS, py.PSS+m.PSS, sup.RSS+s.RSS, sup.PSS+s.PSS
	}
	k := int64(max(len(pythons), 1))
	fmt.Printf("memory: %d warm slots warm after %s; per slot: Python RSS %.1f MiB PSS %.1f MiB, supervisor RSS %.1f MiB PSS %.1f MiB; slot PSS %.1f MiB (RSS %.1f MiB), all slots PSS %.0f MiB\n",
		len(pythons), h.Ms(took), mib(py.RSS/k), mib(py.PSS/k), mib(sup.RSS/k), mib(sup.PSS/k),
		mib((py.PSS+sup.PSS)/k), mib((py.RSS+sup.RSS)/k), mib(py.PSS+sup.PSS))
	fmt.Printf("memory: idle CPU of baton and its %d slots over %s: %.2f%% of one core; load %s\n",
		len(pythons), settle, 100*cpu.Seconds()/settle.Seconds(), h.LoadAvg())
}
