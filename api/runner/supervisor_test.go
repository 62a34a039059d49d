package runner

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/baton-ci/baton/api/domain"
	"github.com/baton-ci/baton/internal/testkit"
)

// startHang starts the hang fixture (pytest and a child in its group, both
// ignoring SIGTERM when asked) in the background and returns its pids.
func startHang(ctx context.Context, t *testing.T, r *Runner, s Spec, out *testkit.SyncBuffer, name string) (done chan domain.Outcome, pytest, child int) {
	t.Helper()
	file := fixture(t, "hang", name)
	s.Files = []string{file}
	done = make(chan domain.Outcome, 1)
	go func() { done <- r.Run(ctx, s, out) }()
	pytest, child = readPids(t, filepath.Dir(file), done)
	return done, pytest, child
}

// A lease that is never renewed ends the run at its deadline: SIGKILL at
// once (no SIGTERM grace, here a minute that the test would otherwise
// spend), every process gone, error/lease_expired.
func TestRunLeaseExpires(t *testing.T) {
	t.Parallel()
	for _, mode := range containment {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			r := newRunnerWith(t, mode)
			r.KillGrace = time.Minute
			s := spec()
			// Long enough for pytest to start on a loaded machine.
			const lease = 8 * time.Second
			s.Lease = NewLease(Boottime() + lease)
			var out testkit.SyncBuffer
			started := time.Now()
			done, pytest, child := startHang(context.Background(), t, r, s, &out, "test_hang_ignore_term.py")
			got := await(t, done)
			took := time.Since(started)
			log := out.String()
			require.Equal(t, domain.Outcome{Status: domain.StatusError, Reason: domain.ReasonLeaseExpired}, got, log)
			require.Regexp(t, `^=== lease expired after [0-9.]+m?s: `, lastLine(t, log))
			requireKilled(t, pytest, child)
			require.Less(t, took, lease+r.KillGrace/2, "an expired lease must not wait for the SIGTERM grace")
			requireStart(t, mode, log)
		})
	}
}

// Extending the lease keeps the run alive past its first deadline; once
// extensions stop, the run is killed at the last deadline.
func TestRunLeaseRenewal(t *testing.T) {
	t.Parallel()
	r := newRunner(t)
	s := spec()
	const step = 3 * time.Second
	s.Lease = NewLease(Boottime() + step)
	var out testkit.SyncBuffer
	done, pytest, child := startHang(context.Background(), t, r, s, &out, "test_hang.py")
	firstDeadline, _ := s.Lease.Deadline()
	// Renew past the first deadline, then stop.
	var last time.Duration
	for Boottime() < firstDeadline+step {
		last = Boottime() + step
		s.Lease.Extend(last)
		select {
		case o := <-done:
			t.Fatalf("run ended (%+v) although its lease was renewed:\n%s", o, out.String())
		case <-time.After(200 * time.Millisecond):
		}
	}
	got := await(t, done)
	ended := Boottime()
	require.Equal(t, domain.ReasonLeaseExpired, got.Reason, out.String())
	require.GreaterOrEqual(t, ended, last, "killed before the renewed deadline")
	requireKilled(t, pytest, child)
}

// Lease.Extend only ever moves the deadline forward.
func TestLeaseOnlyGrows(t *testing.T) {
	t.Parallel()
	l := NewLease(10 * time.Second)
	d, changed := l.Deadline()
	require.Equal(t, 10*time.Second, d)
	require.False(t, l.Extend(5*time.Second))
	require.False(t, l.Extend(10*time.Second))
	select {
	case <-changed:
		t.Fatal("no extension happened")
	default:
	}
	require.True(t, l.Extend(11*time.Second))
	<-changed
	d, _ = l.Deadline()
	require.Equal(t, 11*time.Second, d)
}

// A stop with Now (a run that is no longer this worker's) skips the
// SIGTERM grace.
func TestRunStopNow(t *testing.T) {
	t.Parallel()
	r := newRunner(t)
	r.KillGrace = time.Minute
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	var out testkit.SyncBuffer
	done, pytest, child := startHang(ctx, t, r, spec(), &out, "test_hang_ignore_term.py")
	asked := time.Now()
	cancel(Stop{Status: domain.StatusError, Reason: domain.ReasonWorkerLost, Now: true})
	got := await(t, done)
	require.Equal(t, domain.Outcome{Status: domain.StatusError, Reason: domain.ReasonWorkerLost}, got, out.String())
	require.Less(t, time.Since(asked), r.KillGrace/2)
	requireKilled(t, pytest, child)
}

// Baton's closing line starts a line of its own after output that ended
// mid-line.
func TestRunOwnLinesStartOnNewLine(t *testing.T) {
	t.Parallel()
	r := newRunner(t)
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	app := newMemAppender()
	lw := NewLogWriter(app, 42, LogOptions{})
	done := make(chan domain.Outcome, 1)
	s := spec(fixture(t, "partial"))
	go func() { done <- r.Run(ctx, s, lw) }()
	select {
	case <-app.waitFor("PARTIAL-LINE"):
	case <-time.After(guard):
		t.Fatalf("the partial line never arrived: %q", app.String())
	}
	cancel(Stop{Status: domain.StatusCancelled, Reason: domain.ReasonCancelled})
	await(t, done)
	require.NoError(t, lw.Close(context.Background()))
	log := app.String()
	require.Contains(t, log, "PARTIAL-LINE\n=== cancelled: process tree killed after ")
	for _, line := range strings.Split(log, "\n") {
		if i := strings.Index(line, "==="); i > 0 && strings.Contains(line, "PARTIAL") {
			t.Fatalf("Baton's line glued to test output: %q", line)
		}
	}
}

// pytest exiting 0 without its report (a test called os._exit(0)) is an
// error with its own reason, not a success.
func TestRunExitWithoutReport(t *testing.T) {
	t.Parallel()
	r := newRunner(t)
	var out testkit.SyncBuffer
	got := r.Run(context.Background(), spec(fixture(t, "exit0")), &out)
	log := out.String()
	require.Equal(t, domain.Outcome{Status: domain.StatusError, ExitCode: intp(0), Reason: domain.ReasonReportMissing}, got, log)
	require.Contains(t, log, "=== pytest exited with code 0 after ")
	require.Contains(t, lastLine(t, log), "=== pytest wrote no test report")
}

// Secret values never reach the stored log or the results, whole, split
// across writes, on stderr, or in an assertion message.
func TestRunMasksSecrets(t *testing.T) {
	t.Parallel()
	r := newRunner(t)
	const token = "tok-3f9a8c1e5d7b"
	r.Vars = []Var{{Name: "BATON_API_TOKEN", Value: token, Secret: true}}
	app := newMemAppender()
	// Tiny flushes, so the split token is stored in separate chunks unless
	// the masker holds its first half back.
	lw := NewLogWriter(app, 42, LogOptions{FlushInterval: 10 * time.Millisecond})
	got := r.Run(context.Background(), spec(fixture(t, "secret")), lw)
	require.NoError(t, lw.Close(context.Background()))
	log := app.String()
	require.Equal(t, domain.StatusFailed, got.Status, log)
	require.NotContains(t, log, token)
	require.NotContains(t, log, token[:len(token)/2+1])
	for _, want := range []string{"whole: [MASKED]\n", "split: [MASKED] end\n", "stderr: [MASKED]\n"} {
		require.Contains(t, log, want)
	}
	require.Greater(t, len(app.Calls()), 2, "the log was stored in several chunks")
	for _, tr := range got.Tests {
		require.NotContains(t, tr.Message, token, tr.NodeID)
		require.NotContains(t, tr.NodeID, token)
	}
	require.Contains(t, got.Tests[1].Message, Masked)
	require.NotEmpty(t, got.JUnitXML)
	require.NotContains(t, string(got.JUnitXML), token, "the stored JUnit report is masked too")
}

// As root, tests run as the run user: unprivileged, unable to read the
// environment of the worker or of the supervisor, yet with a HOME and
// TMPDIR of their own and the catalog readable even below a directory only
// root may enter.
func TestRunAsRunUser(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("skipping: switching to a run user needs root")
	}
	u, _, err := EnsureUser(DefaultRunUser)
	require.NoError(t, err)
	r := newRunner(t)
	r.User = u
	r.TempDir = reachableTempDir(t)
	r.Env = append(cleanEnv(), "WORKER_SECRET=in-the-workers-environment")
	// The catalog root lies below t.TempDir(), which only root may enter:
	// the run user reaches it through the bind mount in its workspace.
	root := t.TempDir()
	require.NoError(t, os.Chmod(root, 0o700))
	catalog := filepath.Join(root, "catalog")
	require.NoError(t, os.Mkdir(catalog, 0o755))
	src, err := os.ReadFile(filepath.Join("testdata", "runuser.py"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(catalog, "test_runuser.py"), src, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(catalog, "pytest.ini"), []byte(teeSysINI), 0o644))
	fi, err := os.Stat(root)
	require.NoError(t, err)
	require.Zero(t, fi.Mode().Perm()&0o005, "the test needs a parent the run user cannot enter")

	s := spec("catalog/test_runuser.py")
	s.Roots = map[string]string{"catalog": catalog}
	var out testkit.SyncBuffer
	got := r.Run(context.Background(), s, &out)
	log := out.String()
	require.Equal(t, domain.StatusSuccess, got.Status, log)
	require.Contains(t, log, fmt.Sprintf("UID=%d NAME=%s", u.UID, u.Name))
	require.Contains(t, log, "ENVIRON-DENIED "+strconv.Itoa(os.Getpid()), "the worker's environment is unreadable")
	require.Equal(t, "catalog/test_runuser.py::test_runs_unprivileged", got.Tests[0].NodeID)
	require.Equal(t, "catalog/test_runuser.py::test_cannot_read_parents_environment", got.Tests[1].NodeID)
	// Nothing of the run is left, and no mount leaked to the host.
	entries, err := os.ReadDir(r.TempDir)
	require.NoError(t, err)
	require.Empty(t, entries)
	require.Empty(t, mountBelow(r.TempDir))
}

// reachableTempDir is a temp dir other users may enter (t.TempDir's parent
// is root's alone), as /tmp is for a real worker.
func reachableTempDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "baton-runner-test-")
	require.NoError(t, err)
	require.NoError(t, os.Chmod(dir, 0o755))
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

// A process that SIGKILL cannot end yet (frozen by the v1 freezer, as one
// stuck in the kernel would be) keeps the run, and so its environment:
// Run does not return, the log says which process survives, and once it
// can die the run ends.
func TestRunWaitsForSurvivors(t *testing.T) {
	t.Parallel()
	const freezer = "/sys/fs/cgroup/freezer"
	if os.Geteuid() != 0 {
		t.Skip("skipping: freezing a process needs root")
	}
	if _, err := os.Stat(filepath.Join(freezer, "freezer.state")); err != nil {
		if _, err := os.Stat(filepath.Join(freezer, "tasks")); err != nil {
			t.Skip("skipping: no cgroup v1 freezer to make a process unkillable")
		}
	}
	for _, mode := range containment {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			r := newRunnerWith(t, mode)
			ctx, cancel := context.WithCancelCause(context.Background())
			defer cancel(nil)
			var out testkit.SyncBuffer
			done, pytest, child := startHang(ctx, t, r, spec(), &out, "test_hang.py")

			cg, err := os.MkdirTemp(freezer, "baton-test-")
			require.NoError(t, err)
			thaw := func() { _ = os.WriteFile(filepath.Join(cg, "freezer.state"), []byte("THAWED"), 0) }
			t.Cleanup(func() {
				thaw()
				_ = unix.Kill(child, unix.SIGKILL)
				require.Eventually(t, func() bool { return os.Remove(cg) == nil }, guard, 20*time.Millisecond)
			})
			require.NoError(t, os.WriteFile(filepath.Join(cg, "cgroup.procs"), []byte(strconv.Itoa(child)), 0))
			require.NoError(t, os.WriteFile(filepath.Join(cg, "freezer.state"), []byte("FROZEN"), 0))

			cancel(Stop{Status: domain.StatusCancelled, Reason: domain.ReasonCancelled})
			require.Eventually(t, func() bool { return strings.Contains(out.String(), "survive SIGKILL") }, guard, 50*time.Millisecond,
				"the log never named the survivor:\n%s", out.String())
			require.Contains(t, out.String(), fmt.Sprintf("%d (sleep, state D)", child))
			select {
			case o := <-done:
				t.Fatalf("Run returned (%+v) while a process of the run was alive", o)
			case <-time.After(time.Second):
			}
			require.False(t, gone(child))

			thaw()
			got := await(t, done)
			require.Equal(t, domain.StatusCancelled, got.Status, out.String())
			requireKilled(t, pytest, child)
			require.Contains(t, out.String(), "the last surviving process is gone")
			requireStart(t, mode, out.String())
		})
	}
}

// When the supervisor itself is killed, pytest dies with it (its
// parent-death signal) and, with a cgroup, the worker kills what is left.
func TestRunSupervisorKilled(t *testing.T) {
	t.Parallel()
	r := newRunnerWith(t, "cgroup")
	var out testkit.SyncBuffer
	done, pytest, child := startHang(context.Background(), t, r, spec(), &out, "test_hang.py")
	st, ok := readStat(pytest)
	require.True(t, ok)
	sup, ok := readStat(st.ppid)
	require.True(t, ok)
	require.Equal(t, os.Getpid(), sup.ppid, "pytest's parent is the supervisor, the worker's child")
	require.NoError(t, unix.Kill(sup.pid, unix.SIGKILL))
	got := await(t, done)
	require.Equal(t, domain.Outcome{Status: domain.StatusError, Reason: domain.ReasonSupervisorLost}, got, out.String())
	require.Contains(t, out.String(), "the worker killed what was left of the run in its cgroup")
	requireKilled(t, pytest, child)
}

// The sweep removes the workspaces of runs whose worker and supervisor are
// gone, kills what their cgroups hold, and never touches a live one.
func TestSweepLeftovers(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	live, err := newWorkspace(dir, 1, nil, nil)
	require.NoError(t, err)
	defer func() { _ = live.remove() }()
	dead, err := newWorkspace(dir, 2, nil, nil)
	require.NoError(t, err)
	dead.lock.Close() // its worker died
	oldLockless := filepath.Join(dir, "baton-run-3-old")
	youngLockless := filepath.Join(dir, "baton-run-4-young")
	unrelated := filepath.Join(dir, "something-else")
	// Staging directories with their lock file made but not locked: one
	// being built right now by a live worker (about to lock it), and one
	// abandoned long ago.
	building := filepath.Join(dir, stagingPrefix+"building")
	abandoned := filepath.Join(dir, stagingPrefix+"abandoned")
	for _, d := range []string{oldLockless, youngLockless, unrelated, building, abandoned} {
		require.NoError(t, os.Mkdir(d, 0o700))
	}
	for _, d := range []string{building, abandoned} {
		require.NoError(t, os.WriteFile(filepath.Join(d, lockFile), nil, 0o600))
	}
	long := time.Now().Add(-locklessAge - time.Hour)
	require.NoError(t, os.Chtimes(oldLockless, long, long))
	require.NoError(t, os.Chtimes(abandoned, long, long))

	var leftover int
	if cg, _ := detectCgroup(); cg != "" {
		// A dead run whose cgroup still holds a process.
		c, err := createRunCgroup(cg, "run-sweep-"+strconv.Itoa(os.Getpid()))
		require.NoError(t, err)
		attr := &os.ProcAttr{Files: []*os.File{nil, nil, nil}, Sys: &unix.SysProcAttr{UseCgroupFD: true, CgroupFD: int(c.dir.Fd())}}
		p, err := os.StartProcess("/bin/sleep", []string{"sleep", "300"}, attr)
		require.NoError(t, err)
		leftover = p.Pid
		go p.Wait() //nolint:errcheck // reaps it once the sweep kills it
		dead.recordCgroup(c.path)
		c.dir.Close()
	}

	removed, err := (&Runner{TempDir: dir}).SweepLeftovers()
	require.NoError(t, err)
	require.ElementsMatch(t, []string{dead.dir, oldLockless, abandoned}, removed)
	require.DirExists(t, live.dir)
	require.DirExists(t, youngLockless)
	require.DirExists(t, building, "a workspace being built was swept before its worker could lock it")
	require.DirExists(t, unrelated)
	if leftover != 0 {
		require.Eventually(t, func() bool { return gone(leftover) }, guard, 10*time.Millisecond, "the dead run's process survived the sweep")
	}
}

// A run over two projects whose first leaves a process behind goes on with
// the second once that process is killed. (With one cgroup for the whole
// run, the second pytest was killed as it started: after cgroup.kill, a
// process cloned into that cgroup is killed at once on some kernels; each
// invocation now gets a cgroup of its own.) When Spec.Ended is called the
// left-over process is already dead: the early end waits for the
// supervisor's word that every process of the run is gone, only not for
// its exit.
func TestRunGoesOnAfterKillingLeftovers(t *testing.T) {
	t.Parallel()
	for _, mode := range containment {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			r := newRunnerWith(t, mode)
			root := t.TempDir()
			src, err := os.ReadFile(filepath.Join("testdata", "orphan.py"))
			require.NoError(t, err)
			for name, body := range map[string]string{
				"a/pytest.ini": "[pytest]\n", "a/test_orphan.py": string(src),
				"b/pytest.ini": "[pytest]\n", "b/test_b.py": "def test_b():\n    pass\n",
			} {
				require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(root, name)), 0o755))
				require.NoError(t, os.WriteFile(filepath.Join(root, name), []byte(body), 0o644))
			}
			s := spec(filepath.Join(root, "a", "test_orphan.py"), filepath.Join(root, "b", "test_b.py"))
			orphanGone := false
			s.Ended = func(domain.Outcome) {
				b, err := os.ReadFile(filepath.Join(root, "a", "orphan.pid"))
				require.NoError(t, err)
				pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
				require.NoError(t, err)
				orphanGone = gone(pid)
			}
			var out testkit.SyncBuffer
			got := r.Run(context.Background(), s, &out)
			log := out.String()
			require.Equal(t, domain.StatusSuccess, got.Status, log)
			require.Contains(t, log, "=== killed 1 process(es) the tests left running")
			require.True(t, orphanGone, "the left-over process was alive when the run was said to have ended")
			require.Equal(t, 2, got.Summary.Passed, log)
			requireStart(t, mode, log)
		})
	}
}
