package systemtest

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/baton-ci/baton/internal/testkit"
)

// startedTest records, from the test's own clock, when its process
// started (wall time) and its pid.
const startedTest = `import os
import time


def test_started():
    with open("/proc/self/stat") as f:
        s = f.read()
    ticks = int(s[s.rindex(")") + 2 :].split()[19])
    with open("/proc/uptime") as f:
        up = float(f.read().split()[0])
    started = time.time() - (up - ticks / os.sysconf("SC_CLK_TCK"))
    with open(os.path.join(os.environ["SYSTEMTEST_PID_DIR"], os.environ["TEST_RUN_ID"] + ".started"), "w") as f:
        f.write("%d %.3f" % (os.getpid(), started))
`

// warmProcs returns the warm slots' Python processes below root that are
// warm and waiting: their report (fd 4) closed, their request pipe open.
func warmProcs(root int) []int {
	var out []int
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		pid, _ := strconv.Atoi(filepath.Base(d))
		if !waitingWarm(pid) || !below(pid, root) {
			continue
		}
		if _, err := os.Readlink(d + "/fd/4"); err != nil {
			out = append(out, pid)
		}
	}
	return out
}

// below reports whether pid descends from root.
func below(pid, root int) bool {
	for i := 0; i < 64 && pid > 1; i++ {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil {
			return false
		}
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if pid, _ = strconv.Atoi(f[1]); pid == root {
			return true
		}
	}
	return false
}

func waitWarmProcs(t *testing.T, root, n int) []int {
	t.Helper()
	var pids []int
	testkit.Eventually(t, 2*time.Minute, strconv.Itoa(n)+" warm slots", func() bool {
		pids = warmProcs(root)
		return len(pids) >= n
	})
	return pids
}

// Through the real server: a worker keeps BATON_WARM_SLOTS Pythons warm,
// below its runs' supervisors; a run is handed to one (its process started
// before the run was created, by the test's own clock) and another is
// warmed in its place. Warm slots die with their worker, however it ends:
// SIGKILLed, the supervisors kill them and the next worker sweeps their
// workspaces; stopped, they and their workspaces are gone.
func TestWarmStart(t *testing.T) {
	systemTest(t)
	r := newRig(t, "")
	require.NoError(t, os.WriteFile(filepath.Join(r.testsDir, "test_started.py"), []byte(startedTest), 0o644))
	tmp := sharedDir(t, "tmp")
	s := r.serve("api", "BATON_WARM_SLOTS=2", "TMPDIR="+tmp)
	waitWarmProcs(t, s.pid(), 2)

	run := s.createRun(1, "sample-tests/test_started.py", 0)
	done := s.waitFinal(run.Id, time.Minute)
	log := s.log(run.Id)
	require.EqualValues(t, "success", done.Status, log)
	require.Contains(t, log, "=== warm start: ")
	b, err := os.ReadFile(filepath.Join(r.pidDir, strconv.FormatInt(run.Id, 10)+".started"))
	require.NoError(t, err)
	var pid int
	var started float64
	_, err = fmt.Sscan(string(b), &pid, &started)
	require.NoError(t, err)
	require.Less(t, started, float64(run.CreatedAt.UnixNano())/1e9, "the run's Python started before the run was created")
	warm := waitWarmProcs(t, s.pid(), 2)
	require.NotContains(t, warm, pid, "a slot serves one run")

	s.signal(syscall.SIGKILL)
	require.Error(t, s.waitExit(10*time.Second))
	testkit.Eventually(t, 30*time.Second, "the killed worker's warm Pythons to be gone", func() bool {
		for _, p := range warm {
			if _, ok := procStart(p); ok {
				return false
			}
		}
		return true
	})
	left, err := filepath.Glob(filepath.Join(tmp, "baton-run-warm-*"))
	require.NoError(t, err)
	require.NotEmpty(t, left, "a SIGKILLed worker cannot remove its slots' workspaces")

	s2 := r.serve("api2", "BATON_WARM_SLOTS=1", "TMPDIR="+tmp)
	warm = waitWarmProcs(t, s2.pid(), 1)
	for _, dir := range left {
		require.NoDirExists(t, dir, "the next worker sweeps a dead worker's slot")
	}
	s2.signal(syscall.SIGTERM)
	require.NoError(t, s2.waitExit(time.Minute))
	for _, p := range warm {
		_, alive := procStart(p)
		require.False(t, alive, "warm Python %d outlived its stopped worker", p)
	}
	left, err = filepath.Glob(filepath.Join(tmp, "baton-*"))
	require.NoError(t, err)
	require.Empty(t, left, "a stopped worker leaves nothing in its TMPDIR")
}

// tzTest prints what the test sees of its environment's variables: the
// time zone the interpreter set up (time.tzname, fixed when the time
// module was first imported, long before a warm process knows its run)
// and a plain variable.
const tzTest = `import os
import time


def test_tz():
    print("TZNAME %s REGION %s" % (time.tzname[0], os.environ.get("REGION")))
`

// An environment's variables (PATCH /api/environments/{id}) reach a warm
// run like a cold one; one that the interpreter or the C library reads
// only at start-up (TZ, LANG, LC_*, …: the API refuses PYTHON* and LD_*)
// makes the run start cold, so that it takes effect as by hand.
func TestWarmStartColdForStartupEnvironmentVariables(t *testing.T) {
	systemTest(t)
	r := newRig(t, "")
	require.NoError(t, os.WriteFile(filepath.Join(r.testsDir, "test_tz.py"), []byte(tzTest), 0o644))
	s := r.serve("api", "BATON_WARM_SLOTS=1")
	waitWarmProcs(t, s.pid(), 1)

	run := func() (string, string) {
		t.Helper()
		waitWarmProcs(t, s.pid(), 1)
		created := s.createRun(3, "sample-tests/test_tz.py", 0)
		done := s.waitFinal(created.Id, time.Minute)
		log := s.log(created.Id)
		require.EqualValues(t, "success", done.Status, log)
		i := strings.Index(log, "TZNAME ")
		require.GreaterOrEqual(t, i, 0, log)
		return strings.Fields(log[i:])[1] + " " + strings.Fields(log[i:])[3], log
	}
	s.expect(http.StatusOK, http.MethodPatch, "/api/environments/3", map[string]any{
		"variables": map[string]any{"REGION": map[string]any{"value": "eu-west-1"}},
	}, nil)
	got, log := run()
	require.Equal(t, "UTC eu-west-1", got, log)
	require.Contains(t, log, "=== warm start: ", "a variable Python does not read at start-up keeps the run warm")

	// A POSIX TZ rule needs no zone files: the zone is called BTN.
	s.expect(http.StatusOK, http.MethodPatch, "/api/environments/3", map[string]any{
		"variables": map[string]any{"TZ": map[string]any{"value": "BTN-5"}, "REGION": map[string]any{"value": "eu-west-1"}},
	}, nil)
	got, log = run()
	require.Equal(t, "BTN eu-west-1", got, "the run's TZ took effect, as in a cold start:\n%s", log)
	require.Contains(t, log, "=== cold start: TZ differs for this run, and Python reads it only when it starts ===")
}
