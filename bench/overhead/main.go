// Command overhead measures what Baton adds to one trivial pytest run:
// submit through the API and poll GET /api/runs/{id} every 10 ms until
// success, against running the same file with bare pytest, interleaved.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/baton-ci/baton/api/runner"
	h "github.com/baton-ci/baton/bench/internal/harness"
)

const trivial = "def test_trivial():\n    assert 1 + 1 == 2\n"

func main() {
	n := flag.Int("n", 30, "measured runs of each kind")
	warm := flag.Int("warmup", 2, "unmeasured runs of each kind first")
	poll := flag.Duration("poll", 10*time.Millisecond, "GET /api/runs/{id} interval")
	flag.Parse()
	h.Header("overhead", fmt.Sprintf("trivial test via API vs bare pytest, N=%d interleaved, poll %s", *n, *poll))

	s := h.Start(h.Options{Name: "overhead", Tests: map[string]string{"test_trivial.py": trivial}})
	defer s.Stop()
	file := filepath.Join(s.TestsDir, "test_trivial.py")
	work, err := os.MkdirTemp(s.Dir, "direct-")
	if err != nil {
		h.Fatal("%v", err)
	}

	// bare: the command of the issue. flags: Baton's exact argv and the
	// variables it adds, run directly, to separate "pytest flags" from
	// "Baton machinery".
	// The flags column takes its argv and directory from runner.Plan, so it
	// stays the command Baton really runs.
	bare := []string{h.Python, "-m", "pytest", "-v", "-p", "no:cacheprovider", file}
	flagsEnv := append(os.Environ(), "PYTHONUNBUFFERED=1", "PYTHONDONTWRITEBYTECODE=1", "TEST_ENV_ID=1", "TEST_RUN_ID=0")
	invs, err := runner.Plan(h.Python, runner.Spec{Files: []string{file}}, work, flagsEnv)
	if err != nil || len(invs) != 1 {
		h.Fatal("plan Baton's pytest command: %v (%d invocations)", err, len(invs))
	}
	flags, flagsDir := invs[0].Argv, invs[0].Dir

	direct := func(argv []string, dir string, env []string) time.Duration {
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Dir, cmd.Env = dir, env
		t0 := time.Now()
		out, err := cmd.CombinedOutput()
		d := time.Since(t0)
		if err != nil {
			h.Fatal("direct pytest failed: %v\n%s", err, out)
		}
		return d
	}
	type viaAPI struct{ total, post, queue, exec, observe time.Duration }
	api := func() viaAPI {
		t0 := time.Now()
		r, err := s.CreateRun(1, "test_trivial.py")
		if err != nil {
			h.Fatal("%v", err)
		}
		post := time.Since(t0)
		for {
			time.Sleep(*poll)
			r, err = s.GetRun(r.ID)
			if err != nil {
				h.Fatal("%v", err)
			}
			if r.Final() {
				break
			}
			if time.Since(t0) > time.Minute {
				h.Fatal("run %d still %s after a minute", r.ID, r.Status)
			}
		}
		t1 := time.Now()
		if r.Status != "success" || r.StartedAt == nil || r.FinishedAt == nil {
			h.Fatal("run %d ended %s (reason %v); baton log:\n%s", r.ID, r.Status, r.Reason, s.LogTail(20))
		}
		return viaAPI{total: t1.Sub(t0), post: post, queue: r.StartedAt.Sub(r.CreatedAt),
			exec: r.FinishedAt.Sub(*r.StartedAt), observe: t1.Sub(*r.FinishedAt)}
	}

	for i := 0; i < *warm; i++ {
		direct(bare, work, os.Environ())
		direct(flags, flagsDir, flagsEnv)
		api()
	}
	cpu := h.StartCPU()
	batonCPU0 := h.ProcCPU(s.Pid())
	var dBare, dFlags, aTotal, aPost, aQueue, aExec, aObs []time.Duration
	for i := 0; i < *n; i++ {
		// Rotate the order so that no kind always follows another.
		for k := 0; k < 3; k++ {
			switch (i + k) % 3 {
			case 0:
				dBare = append(dBare, direct(bare, work, os.Environ()))
			case 1:
				dFlags = append(dFlags, direct(flags, flagsDir, flagsEnv))
			case 2:
				a := api()
				aTotal, aPost, aQueue, aExec, aObs = append(aTotal, a.total), append(aPost, a.post),
					append(aQueue, a.queue), append(aExec, a.exec), append(aObs, a.observe)
			}
		}
	}
	b, f, a := h.Summarize(dBare), h.Summarize(dFlags), h.Summarize(aTotal)
	fmt.Printf("overhead: bare pytest (python3 -m pytest -v -p no:cacheprovider)  %s\n", b)
	fmt.Printf("overhead: pytest with Baton's argv+env, run directly            %s\n", f)
	fmt.Printf("overhead: Baton, POST → status success seen (poll %s)         %s\n", *poll, a)
	ratio50 := float64(a.P50) / float64(b.P50)
	ratio95 := float64(a.P95) / float64(b.P95)
	added := a.P50 - b.P50
	// Target: ≤ 1.15× or ≤ 100 ms added, whichever is larger (more lenient).
	allowed := max(time.Duration(float64(b.P50)*0.15), 100*time.Millisecond)
	fmt.Printf("overhead: ratio p50=%.2fx p95=%.2fx, added p50=%s p95=%s; target ≤1.15x or ≤+100ms (allowed +%s): %s\n",
		ratio50, ratio95, h.Ms(added), h.Ms(a.P95-b.P95), h.Ms(allowed), h.Verdict(added <= allowed))
	fmt.Printf("overhead: where Baton's time goes (p50 / p95):\n")
	for _, row := range []struct {
		name string
		d    []time.Duration
	}{
		{"POST /api/runs answered          ", aPost},
		{"queue   created_at → started_at  ", aQueue},
		{"execute started_at → finished_at ", aExec},
		{"observe finished_at → seen by poll", aObs},
	} {
		st := h.Summarize(row.d)
		fmt.Printf("overhead:   %s %8s / %8s\n", row.name, h.Ms(st.P50), h.Ms(st.P95))
	}
	fmt.Printf("overhead: execute − Baton-argv direct (p50) = %s (spawn, log flush, finish tx); Baton argv − bare (p50) = %s\n",
		h.Ms(h.Summarize(aExec).P50-f.P50), h.Ms(f.P50-b.P50))
	fmt.Printf("overhead: baton process CPU per run (API, claim, spawn, log, finish, %d polls/s of GET): %s\n",
		time.Second / *poll, h.Ms((h.ProcCPU(s.Pid())-batonCPU0)/time.Duration(*n)))
	fmt.Printf("overhead: machine CPU busy during measurement %.0f%% of 2 cores (noise from other users included), load %s\n",
		cpu.Percent(), h.LoadAvg())
}
