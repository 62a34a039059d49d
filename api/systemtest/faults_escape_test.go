package systemtest

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/baton-ci/baton/internal/testkit"
)

// Processes that leave pytest's process group — a child in a session of
// its own, a double-fork daemon, a child that keeps the run's output pipe
// open — are all dead once GET /api/runs/{id} says the run is final, whether
// pytest ended by itself, the run was cancelled or it timed out; and the
// environment's next run starts only after them. Judged from the records
// the processes write and from /proc; with the run's cgroup (cgroup.kill)
// and without it (BATON_CGROUP=off: the supervisor as child subreaper is
// then all that finds them).
func TestFaultEscapedProcesses(t *testing.T) {
	systemTest(t)
	for _, mode := range []struct {
		name string
		env  []string
	}{
		{"cgroup", nil},
		{"no cgroup", []string{"BATON_CGROUP=off"}},
	} {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			r := newRig(t, "")
			r.addFaultTests()
			srv := r.serve("serve", append([]string{"BATON_MAX_RUNS=5", "BATON_WARM_SLOTS=2", "BATON_KILL_GRACE=1s"}, mode.env...)...)
			cgroup := supervisedCgroup(t, srv.proc)
			if mode.env == nil && cgroup == "" {
				t.Skip("no usable cgroup v2 on this host (the worker runs without one): the no-cgroup case covers the rest")
			}
			t.Logf("runs' cgroup parent: %q", cgroup)

			for i, c := range []struct {
				name, file string
				procs      int // processes that record themselves or are recorded
				timeout    int
				cancel     bool
				status     string
				reason     string
				logs       string
			}{
				{name: "new session", file: "test_fault_session.py", procs: 3,
					status: "success", logs: "process(es) the tests left running"},
				{name: "double-fork daemon", file: "test_fault_daemon.py", procs: 2,
					status: "success", logs: "process(es) the tests left running"},
				{name: "child holds stdout", file: "test_fault_stdout.py", procs: 2,
					status: "success", logs: "process(es) the tests left running"},
				{name: "cancelled", file: "test_fault_hang.py", procs: 5, cancel: true,
					status: "cancelled", reason: "cancelled_by_user", logs: "cancelled: process tree killed"},
				{name: "timed out", file: "test_fault_hang.py", procs: 5, timeout: 8,
					status: "error", reason: "timeout", logs: "timed out after 8s: process tree killed"},
			} {
				env := i + 1
				t.Run(c.name, func(t *testing.T) {
					t.Parallel()
					r, api := r.on(t), srv.on(t)
					first := api.createRun(env, "sample-tests/"+c.file, c.timeout)
					next := api.createRun(env, "sample-tests/test_fault_short.py", 0)
					r.waitRecorded(env, first.Id, c.procs, 60*time.Second)
					if c.cancel {
						api.expect(http.StatusOK, http.MethodPost, fmt.Sprintf("/api/runs/%d/cancel", first.Id), nil, nil)
					}
					got, final := r.runFinalClean(api, first.Id, env, 60*time.Second)
					require.EqualValues(t, c.status, got.Status, "%s", got)
					if c.reason != "" {
						require.Equal(t, c.reason, got.ReasonText(), "%s", got)
					}
					log := api.log(first.Id)
					require.Contains(t, log, c.logs, "log of run %d:\n%s", first.Id, log)

					after := api.waitFinal(next.Id, 60*time.Second)
					require.EqualValues(t, "success", after.Status, "%s", after)
					rec := r.readRecord(env)
					rec.assertNoOverlap(t)
					rec.assertQuietAfter(t, first.Id, final)
					for _, id := range []int64{first.Id, next.Id} {
						require.Equal(t, 1, rec.runs[id].starts, "run %d's test should have run exactly once", id)
					}
					// The children were killed (they would have run for
					// 30 s), and more than the pytest process: the case
					// is not vacuous.
					var killed []string
					for _, p := range rec.runs[first.Id].procs[1:] {
						require.False(t, p.ended, "run %d's %s should have been killed, not end by itself", first.Id, p)
						killed = append(killed, p.String())
					}
					require.Len(t, killed, c.procs-1)
					t.Logf("%s; killed %s; next run %d started %.3f s after the last sign of life of run %d",
						got, strings.Join(killed, ", "), next.Id, float64(rec.runs[next.Id].first-rec.runs[first.Id].last)/1e9, first.Id)
				})
			}
		})
	}
}

// supervisedCgroup returns the cgroup parent of a worker's runs, as its
// start-up line says ("" for none).
func supervisedCgroup(t *testing.T, p *proc) string {
	t.Helper()
	var line string
	testkit.Eventually(t, 30*time.Second, p.name+" to log how runs are supervised", func() bool {
		for _, l := range strings.Split(p.output(), "\n") {
			if strings.Contains(l, "runs are supervised") {
				line = l
				return true
			}
		}
		return false
	})
	_, after, ok := strings.Cut(line, "cgroup=")
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(after, " ")
	return strings.Trim(v, `"`)
}
