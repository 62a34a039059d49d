package systemtest

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/baton-ci/baton/internal/testkit"
)

// A worker SIGKILLed mid-run, with a run whose tests left a new-session
// child, a double-fork daemon and a child holding the output pipe behind
// them (TestWorkerKilledMidRun covers the reaping itself): every process of
// the run dies with the worker, by its supervisor, long before the run is
// reaped; the run ends worker_lost; the next run starts only after them;
// and the run directories of the dead worker (its run's and its warm
// slots') are removed by the next worker on the host. Judged from the
// records the test processes write.
func TestFaultWorkerKilled(t *testing.T) {
	systemTest(t)
	const env = 1
	r := newRig(t, "")
	r.addFaultTests()
	// Both workers' run directories go here, not among every other test's
	// in /tmp, so the test can tell theirs.
	tmp := sharedDir(t, "tmp")
	workerEnv := []string{"BATON_HEARTBEAT_INTERVAL=500ms", "BATON_WORKER_LOST_AFTER=3s", "BATON_WARM_SLOTS=1", "TMPDIR=" + tmp}
	api := r.serve("api", "BATON_EMBEDDED_WORKER=false")
	a := r.worker("worker-a", api.url(), workerEnv...)

	first := api.createRun(env, "sample-tests/test_fault_hang.py", 0)
	next := api.createRun(env, "sample-tests/test_fault_short.py", 0)
	victims := r.waitRecorded(env, first.Id, 5, 60*time.Second)
	dirs, err := filepath.Glob(filepath.Join(tmp, "baton-run-*"))
	require.NoError(t, err)
	runDirs, err := filepath.Glob(filepath.Join(tmp, fmt.Sprintf("baton-run-%d-*", first.Id)))
	require.NoError(t, err)
	// A warm run keeps its slot's directory (baton-run-warm-*); a cold one
	// has its own.
	require.NotEmpty(t, dirs, "worker A's run directories in %s", tmp)
	t.Logf("worker A's run directories: %v (run %d's own: %v)", dirs, first.Id, runDirs)

	a.signal(syscall.SIGKILL)
	require.Error(t, a.waitExit(10*time.Second), "worker A was SIGKILLed")
	killed := monotonicNow(t)
	// The supervisor kills the whole tree as soon as the worker's end of
	// its socket closes, not when the run is reaped.
	testkit.Eventually(t, 5*time.Second, fmt.Sprintf("every process of run %d to be gone", first.Id), func() bool {
		for _, p := range victims.procs {
			if p.alive() {
				return false
			}
		}
		return true
	})
	t.Logf("run %d's processes gone %.3f s after the kill", first.Id, float64(monotonicNow(t)-killed)/1e9)

	b := r.worker("worker-b", api.url(), workerEnv...)
	lost, final := r.runFinalClean(api.client, first.Id, env, 30*time.Second)
	require.EqualValues(t, "error", lost.Status, "%s", lost)
	require.Equal(t, "worker_lost", lost.ReasonText(), "%s", lost)
	after := api.waitFinal(next.Id, 60*time.Second)
	require.EqualValues(t, "success", after.Status, "%s", after)
	require.Equal(t, b.workerID, dbGetRun(t, r.dbURL, next.Id).WorkerID, "run %d should run on worker B", next.Id)

	rec := r.readRecord(env)
	rec.assertNoOverlap(t)
	rec.assertQuietAfter(t, first.Id, final)
	for _, id := range []int64{first.Id, next.Id} {
		require.Equal(t, 1, rec.runs[id].starts, "run %d's test should have run exactly once", id)
	}
	for _, p := range rec.runs[first.Id].procs {
		require.False(t, p.ended, "run %d's %s should have been killed", first.Id, p)
	}

	// Worker B removed what the dead worker left (at its start-up, or when
	// its reaper ended the run), and nothing else of worker A's is left.
	testkit.Eventually(t, 10*time.Second, "worker A's run directories to be removed", func() bool {
		for _, d := range dirs {
			if _, err := os.Stat(d); err == nil {
				return false
			}
		}
		return true
	})
}

// A run's supervisor SIGKILLed (an operator, the OOM killer): pytest dies
// with it (its parent-death signal), and what the tests left in other
// sessions, now orphans of init, is killed by the worker through the run's
// cgroup before the run ends supervisor_lost and the environment's next
// run starts. Without a cgroup nothing could find those orphans, so the
// worker keeps the environment (the run's log says so): that path is
// covered by the runner's tests, not here.
func TestFaultSupervisorKilled(t *testing.T) {
	systemTest(t)
	const env = 1
	r := newRig(t, "")
	r.addFaultTests()
	srv := r.serve("serve", "BATON_WARM_SLOTS=1")
	if supervisedCgroup(t, srv.proc) == "" {
		t.Skip("no usable cgroup v2 on this host: a run whose supervisor died cannot be confirmed gone without one")
	}
	first := srv.createRun(env, "sample-tests/test_fault_hang.py", 0)
	next := srv.createRun(env, "sample-tests/test_fault_short.py", 0)
	victims := r.waitRecorded(env, first.Id, 5, 60*time.Second)
	pytest := victims.procs[0]
	sup := parentOf(t, pytest.pid)
	require.Equal(t, srv.pid(), parentOf(t, sup), "pytest's parent should be a supervisor of the worker")

	require.NoError(t, syscall.Kill(sup, syscall.SIGKILL))
	killed := time.Now()
	lost, final := r.runFinalClean(srv.client, first.Id, env, 30*time.Second)
	require.EqualValues(t, "error", lost.Status, "%s", lost)
	require.Equal(t, "supervisor_lost", lost.ReasonText(), "%s", lost)
	t.Logf("%s %s after its supervisor was killed", lost, time.Since(killed).Round(time.Millisecond))
	log := srv.log(first.Id)
	require.Contains(t, log, "the worker killed what was left of the run in its cgroup", "log of run %d:\n%s", first.Id, log)
	after := srv.waitFinal(next.Id, 60*time.Second)
	require.EqualValues(t, "success", after.Status, "%s", after)

	rec := r.readRecord(env)
	rec.assertNoOverlap(t)
	rec.assertQuietAfter(t, first.Id, final)
	for _, p := range rec.runs[first.Id].procs {
		require.False(t, p.ended, "run %d's %s should have been killed", first.Id, p)
	}
	require.Equal(t, 1, rec.runs[next.Id].starts)
}
