package systemtest

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/baton-ci/baton/internal/testkit"
)

// A worker killed with SIGKILL in the middle of a run: its pytest dies with
// it, another worker reaps the run as worker_lost within 30 s, the queue
// behind it moves on, and the run is never executed a second time. With
// BATON_WORKER_LOST_AFTER set, the reaping follows it.
func TestWorkerKilledMidRun(t *testing.T) {
	systemTest(t)
	t.Run("defaults", func(t *testing.T) {
		// The default lease is 12 s: never sooner, well within 30 s.
		testWorkerKilledMidRun(t, 11*time.Second, 30*time.Second)
	})
	t.Run("shorter lease", func(t *testing.T) {
		testWorkerKilledMidRun(t, 2*time.Second, 10*time.Second,
			"BATON_HEARTBEAT_INTERVAL=500ms", "BATON_WORKER_LOST_AFTER=3s")
	})
}

func testWorkerKilledMidRun(t *testing.T, notBefore, within time.Duration, workerEnv ...string) {
	r := newRig(t, "")
	api := r.serve("api", "BATON_EMBEDDED_WORKER=false")
	a := r.worker("worker-a", api.url(), workerEnv...)

	first := api.createRun(1, "sample-tests/test_sleep60.py", 0)
	second := api.createRun(1, "sample-tests/test_quick.py", 0)
	py := r.waitPytest(first.Id, 60*time.Second)
	require.Equal(t, a.pid(), parentOf(t, py.ppid), "run %d's pytest should run under a supervisor of worker A", first.Id)
	require.EqualValues(t, "running", api.getRun(first.Id).Status)
	require.EqualValues(t, "queued", api.getRun(second.Id).Status, "run %d waits behind run %d", second.Id, first.Id)

	// The log is stored in batches (every 200 ms): wait for its first line,
	// which the check below counts, to be stored before killing the worker
	// (a warm start reaches the test function sooner than that).
	testkit.Eventually(t, 10*time.Second, fmt.Sprintf("run %d's first log line to be stored", first.Id), func() bool {
		return strings.Contains(api.log(first.Id), fmt.Sprintf("=== run %d in ", first.Id))
	})
	a.signal(syscall.SIGKILL) // the process only: the supervisor has its own session anyway
	killed := time.Now()
	require.Error(t, a.waitExit(10*time.Second), "worker A was SIGKILLed")
	b := r.worker("worker-b", api.url(), workerEnv...)

	// The supervisor sees its worker's end of the control socket close and
	// kills the run.
	waitGone(t, py, 10*time.Second)

	lost := api.waitFinal(first.Id, time.Until(killed.Add(within)))
	reapedAfter := time.Since(killed)
	require.EqualValues(t, "error", lost.Status, "%s", lost)
	require.Equal(t, "worker_lost", lost.ReasonText(), "%s", lost)
	require.GreaterOrEqual(t, reapedAfter, notBefore, "a run was reaped before its lease ran out")
	t.Logf("run %d reaped %s after the kill", first.Id, reapedAfter.Round(time.Millisecond))

	next := api.waitFinal(second.Id, 60*time.Second)
	require.EqualValues(t, "success", next.Status, "%s", next)
	require.Equal(t, b.workerID, dbGetRun(t, r.dbURL, second.Id).WorkerID, "run %d should run on worker B", second.Id)

	// Never executed twice: one pytest, one start line in the log.
	require.Len(t, r.pids(first.Id), 1, "run %d's test started more than once", first.Id)
	log := api.log(first.Id)
	require.Equal(t, 1, strings.Count(log, fmt.Sprintf("=== run %d in ", first.Id)), "log of run %d:\n%s", first.Id, log)
	require.Contains(t, log, "stopped responding; run ended as worker_lost")
}
