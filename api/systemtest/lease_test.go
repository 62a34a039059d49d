package systemtest

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestFrozenWorkerLosesItsLease is issue 10's first case: a worker is
// frozen (SIGSTOP, as a VM pause, a swap storm or a cgroup freeze would)
// for twice BATON_WORKER_LOST_AFTER while its run's pytest, which is not
// frozen, keeps executing, another worker is up and a second run waits for
// the same environment. The frozen worker's lease runs out a margin before
// the run may be reaped, and the run's supervisor kills the tree on its
// own; only then does the other worker reap the run and start the next.
// Judged from what the test processes wrote: the two runs never overlap.
//
// Both ways a run starts: handed to a warm slot, and cold.
func TestFrozenWorkerLosesItsLease(t *testing.T) {
	systemTest(t)
	t.Run("warm", func(t *testing.T) { testFrozenWorker(t, "BATON_WARM_SLOTS=1", "=== warm start: ") })
	t.Run("cold", func(t *testing.T) { testFrozenWorker(t, "BATON_WARM_SLOTS=0", "") })
}

// testFrozenWorker is TestFrozenWorkerLosesItsLease with workers of
// setting warm; the frozen run's log has warmLine if one is given.
func testFrozenWorker(t *testing.T, warm, warmLine string) {
	const lostAfter, lease = 4 * time.Second, 3 * time.Second // the default margin: a quarter
	settings := []string{"BATON_HEARTBEAT_INTERVAL=500ms", "BATON_WORKER_LOST_AFTER=" + lostAfter.String(), "BATON_MAX_RUNS=1", warm}
	r := newRig(t, "")
	api := r.serve("api", append([]string{"BATON_EMBEDDED_WORKER=false"}, settings...)...)
	a := r.worker("worker-a", api.url(), settings...)

	first := api.createRun(1, "sample-tests/test_lease_ticks.py", 60)
	py := r.waitPytest(first.Id, 60*time.Second)
	seen := time.Now()
	require.Equal(t, a.pid(), parentOf(t, py.ppid), "run %d's pytest should run under a supervisor of worker A", first.Id)
	b := r.worker("worker-b", api.url(), settings...)
	second := api.createRun(1, "sample-tests/test_record.py", 60)
	// While A is healthy its heartbeats keep extending the lease: the run
	// outlives its first lease (and B sees a busy environment).
	time.Sleep(time.Until(seen.Add(lease + time.Second)))
	require.True(t, py.alive(), "run %d was killed although its worker was healthy: the lease was not extended", first.Id)
	require.EqualValues(t, "running", api.getRun(first.Id).Status, "run %d", first.Id)
	require.EqualValues(t, "queued", api.getRun(second.Id).Status, "run %d waits behind run %d", second.Id, first.Id)

	a.signal(syscall.SIGSTOP)
	frozen := time.Now()
	resumed := false
	resume := func() {
		if !resumed {
			resumed = true
			a.signal(syscall.SIGCONT)
		}
	}
	defer resume()
	// The supervisor, not frozen, kills the run when the lease ends (at
	// most a lease after the freeze: the last heartbeat was sent before);
	// B reaps it BATON_WORKER_LOST_AFTER after that heartbeat and starts
	// the next run. A stays frozen for twice that.
	next := api.waitFinal(second.Id, 2*lostAfter+30*time.Second)
	if wait := time.Until(frozen.Add(2 * lostAfter)); wait > 0 {
		time.Sleep(wait)
	}
	resume()
	lost := api.waitFinal(first.Id, 30*time.Second)
	t.Logf("run %d ended %s; run %d %s", first.Id, lost, second.Id, next)

	// From the records: run 1's last sign of life came before run 2's
	// first, and before anyone could reap run 1.
	rec1, rec2 := r.times(first.Id), r.times(second.Id)
	require.Len(t, rec1.starts, 1, "run %d's test started once", first.Id)
	require.NotEmpty(t, rec2.starts, "run %d's test never started", second.Id)
	require.True(t, rec1.last.Before(rec2.starts[0]), "runs overlapped: run %d's test was still alive at %s, after run %d's test started at %s",
		first.Id, rec1.last.Format(time.StampMicro), second.Id, rec2.starts[0].Format(time.StampMicro))
	require.True(t, rec1.last.After(frozen), "run %d's test kept running while its worker was frozen", first.Id)
	require.Less(t, rec1.last.Sub(frozen), lostAfter, "run %d's test outlived BATON_WORKER_LOST_AFTER after the freeze", first.Id)
	t.Logf("run %d's last record %s after the freeze (%d ticks); run %d started %s after that", first.Id,
		rec1.last.Sub(frozen).Round(time.Millisecond), rec1.ticks, second.Id, rec2.starts[0].Sub(rec1.last).Round(time.Millisecond))
	require.Len(t, rec2.starts, 1, "run %d's test started once", second.Id)
	require.Len(t, rec2.ends, 1, "run %d's test ended once", second.Id)
	require.Empty(t, rec1.ends, "run %d's test should have been killed, not end by itself", first.Id)
	for _, pid := range rec1.linePids {
		require.Equal(t, py.pid, pid, "run %d's test ran once, in one process", first.Id)
	}
	require.False(t, py.alive(), "run %d's pytest (pid %d) is alive", first.Id, py.pid)

	require.EqualValues(t, "success", next.Status, "%s", next)
	require.Equal(t, b.workerID, dbGetRun(t, r.dbURL, second.Id).WorkerID, "run %d should run on worker B", second.Id)
	require.EqualValues(t, "error", lost.Status, "%s", lost)
	log := api.log(first.Id)
	switch lost.ReasonText() {
	case "worker_lost": // B reaped it while A was frozen
		require.Contains(t, log, "stopped responding; run ended as worker_lost", "log of run %d", first.Id)
	case "lease_expired": // A ended it itself
		require.Contains(t, log, "lease expired", "log of run %d", first.Id)
	default:
		t.Fatalf("run %d ended %s, want error/worker_lost or error/lease_expired; log:\n%s", first.Id, lost, log)
	}
	require.Equal(t, 1, strings.Count(log, fmt.Sprintf("=== run %d in ", first.Id)), "run %d started once; log:\n%s", first.Id, log)
	if warmLine != "" {
		require.Contains(t, log, warmLine, "run %d should have started warm", first.Id)
	} else {
		require.NotContains(t, log, "=== warm start: ", "run %d should have started cold", first.Id)
	}
	// The fencing token: what the tests got, and it grew for the next run.
	require.NotNil(t, lost.Fence)
	require.Contains(t, log, fmt.Sprintf("fence=%d\n", *lost.Fence), "run %d's tests got TEST_ENV_FENCE", first.Id)
	require.NotNil(t, next.Fence)
	require.Greater(t, *next.Fence, *lost.Fence, "the run after a lost one has a larger fence")

	// Worker A is whole again and runs the next run.
	require.False(t, a.exited(), "worker A: %s", a.exitState())
	b.signal(syscall.SIGTERM)
	require.NoError(t, b.waitExit(60*time.Second))
	third := api.createRun(1, "sample-tests/test_record.py", 60)
	got := api.waitFinal(third.Id, 60*time.Second)
	require.EqualValues(t, "success", got.Status, "%s", got)
	require.Equal(t, a.workerID, dbGetRun(t, r.dbURL, third.Id).WorkerID)
	require.Greater(t, *got.Fence, *next.Fence)
}
