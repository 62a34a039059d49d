package runner

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/baton-ci/baton/api/domain"
	"github.com/baton-ci/baton/internal/testkit"
)

// guard bounds waits that only end early when something is broken; it is
// not a performance expectation.
const guard = 2 * time.Minute

var (
	detectPython = sync.OnceValues(DetectPython)
	detectCgroup = sync.OnceValues(DetectCgroup)
)

// newRunner returns a Runner on the real Python, with a cgroup per run when
// this machine offers one, or skips the test when this machine has no
// python3 with pytest.
func newRunner(t *testing.T) *Runner {
	t.Helper()
	py, err := detectPython()
	if err != nil {
		t.Skipf("skipping: these tests run real pytest and none was found: %v", err)
	}
	cg, _ := detectCgroup()
	return &Runner{
		Python: py, TempDir: t.TempDir(), KillGrace: time.Second, OutputGrace: 500 * time.Millisecond,
		Env: cleanEnv(), Cgroup: cg,
	}
}

// containment names the ways a run's processes are kept: the supervisor
// as subreaper alone, with a cgroup of the run's own, and a warm slot's
// session (with a cgroup when this machine offers one), whose pytest is a
// process started before the run.
var containment = []string{"subreaper", "cgroup", "warm"}

// newRunnerWith returns newRunner's Runner using the given containment,
// skipping the test when this machine has no usable cgroup for "cgroup".
func newRunnerWith(t *testing.T, mode string) *Runner {
	t.Helper()
	r := newRunner(t)
	switch mode {
	case "subreaper":
		r.Cgroup = ""
	case "cgroup":
		if r.Cgroup == "" {
			_, err := detectCgroup()
			t.Skipf("skipping: no usable cgroup v2 here: %v", err)
		}
	case "warm":
		startWarm(t, r, nil, 1)
	}
	return r
}

// cleanEnv is os.Environ() without the variables Run must set itself, so a
// test sees Run's values and not ones inherited from whoever runs go test.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch name {
		case "TEST_ENV_ID", "TEST_ENV_NAME", "TEST_RUN_ID", "TEST_ENV_FENCE", "REQUESTED_BY", "BATON_API_URL",
			"PYTHONUNBUFFERED", "PYTHONDONTWRITEBYTECODE", "TMPDIR", "BATON_EXTRA", "BATON_API_TOKEN":
			continue
		}
		env = append(env, kv)
	}
	return env
}

// fixture copies testdata/<name>.py to a fresh directory as test_<name>.py
// (or as the given test_*.py name) and returns its absolute path; the
// directory is filepath.Dir of it. The directory is a project whose
// pytest.ini asks for --capture=tee-sys, so what the tests print reaches
// the log, which is what most tests here are about.
func fixture(t *testing.T, name string, as ...string) string {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("testdata", name+".py"))
	require.NoError(t, err)
	dst := "test_" + name + ".py"
	if len(as) > 0 {
		dst = as[0]
	}
	dir := t.TempDir()
	path := filepath.Join(dir, dst)
	require.NoError(t, os.WriteFile(path, src, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "pytest.ini"), []byte(teeSysINI), 0o644))
	return path
}

const teeSysINI = "[pytest]\naddopts = --capture=tee-sys\n"

func spec(files ...string) Spec {
	return Spec{
		RunID: 42, EnvironmentID: 7, EnvironmentName: "env7", RequestedBy: "alice",
		Files: files, APIURL: "http://baton.test:8080",
	}
}

func lastLine(t *testing.T, out string) string {
	t.Helper()
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	return lines[len(lines)-1]
}

func intp(i int) *int { return &i }

func TestRunExitCodes(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		file    func(t *testing.T) string
		want    domain.Outcome
		inLog   string
		lastLog string
	}{
		{"pass", func(t *testing.T) string { return fixture(t, "pass") },
			domain.Outcome{Status: domain.StatusSuccess, ExitCode: intp(0)}, "2 passed", "exited with code 0"},
		{"fail", func(t *testing.T) string { return fixture(t, "fail") },
			domain.Outcome{Status: domain.StatusFailed, ExitCode: intp(1), Reason: domain.ReasonTestsFailed}, "the answer is wrong", "exited with code 1"},
		{"no tests", func(t *testing.T) string { return fixture(t, "empty") },
			domain.Outcome{Status: domain.StatusFailed, ExitCode: intp(5), Reason: domain.ReasonNoTestsCollected}, "no tests ran", "exited with code 5"},
		{"interrupted", func(t *testing.T) string { return fixture(t, "interrupt") },
			domain.Outcome{Status: domain.StatusError, ExitCode: intp(2), Reason: domain.ReasonInterrupted}, "KeyboardInterrupt", "exited with code 2"},
		{"usage error", func(t *testing.T) string { return filepath.Join(t.TempDir(), "test_missing.py") },
			domain.Outcome{Status: domain.StatusError, ExitCode: intp(4), Reason: domain.ReasonUsageError}, "not found", "exited with code 4"},
		{"killed by signal", func(t *testing.T) string { return fixture(t, "selfkill") },
			domain.Outcome{Status: domain.StatusError, Reason: domain.ReasonSignal}, "test_selfkill", "killed by signal 9"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := newRunner(t)
			var out testkit.SyncBuffer
			got := r.Run(context.Background(), spec(tc.file(t)), &out)
			log := out.String()
			summary, tests, report := got.Summary, got.Tests, got.JUnitXML
			got.Summary, got.Tests, got.JUnitXML = nil, nil, nil
			require.Equal(t, tc.want, got, log)
			switch tc.want.Status {
			case domain.StatusSuccess, domain.StatusFailed:
				require.NotNil(t, summary, "a completed session has a JUnit summary")
				require.Equal(t, len(tests), summary.Total)
				require.Equal(t, summary.Total, summary.Passed+summary.Failed+summary.Errors+summary.Skipped)
				require.Equal(t, len(tests), strings.Count(string(report), "<testcase "), "pytest's own report is kept: %s", report)
			default:
				require.Nil(t, summary, "an interrupted session's partial report is not shown")
				require.Nil(t, report)
			}
			require.Contains(t, log, tc.inLog)
			require.Contains(t, lastLine(t, log), tc.lastLog)
		})
	}
}

func TestRunFraming(t *testing.T) {
	t.Parallel()
	r := newRunner(t)
	file := fixture(t, "pass")
	var out testkit.SyncBuffer
	s := spec(file)
	s.Timeout = 10 * time.Minute
	r.Run(context.Background(), s, &out)
	log := out.String()

	lines := strings.SplitN(log, "\n", 3)
	require.Equal(t, "=== run 42 in env7 (environment 7) requested by alice, timeout 10m0s ===", lines[0])
	dir := filepath.Dir(file)
	ws := regexp.QuoteMeta(r.TempDir) + `/baton-run-42-[0-9]+/work`
	require.Regexp(t, "^"+regexp.QuoteMeta("$ cd "+dir+" && "+r.Python+" -m pytest -v -o cache_dir=")+ws+
		`/cache-1 --junitxml=`+ws+`/report-1\.xml -o junit_family=xunit1 -- test_pass\.py$`, lines[1])
	require.Regexp(t, `^=== pytest exited with code 0 after [0-9.]+m?s ===$`, lastLine(t, log))
	require.Contains(t, log, "PASS-PRINT", "the project's own --capture=tee-sys shows prints of passing tests")
}

// flushRecorder is a Run output that implements OutputFlusher and records
// what had been written when FlushSoon was called.
type flushRecorder struct {
	testkit.SyncBuffer
	mu      sync.Mutex
	flushed []string
}

func (f *flushRecorder) FlushSoon() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.flushed = append(f.flushed, f.String())
}

// Run asks its output to store the log's tail once the run's processes are
// gone, with everything but the clean-up written, and the workspace is gone
// when it returns.
func TestRunFlushesLogTailBeforeCleanUp(t *testing.T) {
	t.Parallel()
	r := newRunner(t)
	out := &flushRecorder{}
	got := r.Run(context.Background(), spec(fixture(t, "pass")), out)
	require.Equal(t, domain.StatusSuccess, got.Status, out.String())
	out.mu.Lock()
	flushed := out.flushed
	out.mu.Unlock()
	require.Len(t, flushed, 1, "FlushSoon is called once, after the last invocation")
	require.Equal(t, out.String(), flushed[0], "everything was written before FlushSoon")
	require.Regexp(t, `=== pytest exited with code 0 after [0-9.]+m?s ===\n$`, flushed[0])
	left, err := filepath.Glob(filepath.Join(r.TempDir, "baton-run-*"))
	require.NoError(t, err)
	require.Empty(t, left, "the run's workspace is removed before Run returns")
}

// Spec.Ended gets the run's outcome once, when everything the run writes
// is written and before the clean-up (the workspace still exists), so the
// worker can record the run while the supervisor exits; Run returns the
// same outcome once the workspace is gone. A run that never starts a
// session gets it too.
func TestRunEndedBeforeCleanUp(t *testing.T) {
	t.Parallel()
	r := newRunner(t)
	var out testkit.SyncBuffer
	var calls []domain.Outcome
	var logThen string
	var workspacesThen []string
	s := spec(fixture(t, "pass"))
	s.Ended = func(o domain.Outcome) {
		calls = append(calls, o)
		logThen = out.String()
		var err error
		workspacesThen, err = filepath.Glob(filepath.Join(r.TempDir, "baton-run-*"))
		require.NoError(t, err)
	}
	got := r.Run(context.Background(), s, &out)
	require.Equal(t, domain.StatusSuccess, got.Status, out.String())
	require.Len(t, calls, 1)
	require.Equal(t, got, calls[0])
	require.Equal(t, out.String(), logThen, "nothing is written after Ended")
	require.Len(t, workspacesThen, 1, "Ended comes before the workspace is removed")
	left, err := filepath.Glob(filepath.Join(r.TempDir, "baton-run-*"))
	require.NoError(t, err)
	require.Empty(t, left, "the run's workspace is removed before Run returns")

	calls = nil
	s.Files = nil
	got = r.Run(context.Background(), s, &out)
	require.Equal(t, domain.ReasonStartFailed, got.Reason)
	require.Equal(t, []domain.Outcome{got}, calls)
}

// Without a capture option of its own a project gets pytest's default
// capture, as by hand: a passing test's prints are not shown.
func TestRunCapturesLikePytest(t *testing.T) {
	t.Parallel()
	r := newRunner(t)
	file := fixture(t, "pass")
	require.NoError(t, os.Remove(filepath.Join(filepath.Dir(file), "pytest.ini")))
	var out testkit.SyncBuffer
	got := r.Run(context.Background(), spec(file), &out)
	require.Equal(t, domain.StatusSuccess, got.Status, out.String())
	require.NotContains(t, out.String(), "PASS-PRINT")
	require.NotContains(t, out.String(), "--capture")
}

func TestRunEnvironment(t *testing.T) {
	t.Parallel()
	r := newRunner(t)
	r.Vars = []Var{{Name: "BATON_EXTRA", Value: "from-runner"}, {Name: "TEST_RUN_ID", Value: "overridden?"}}
	var out testkit.SyncBuffer
	file := fixture(t, "env")
	s := spec(file)
	s.Fence = 1234
	s.Vars = []Var{{Name: "BATON_EXTRA", Value: "from-spec"}}
	got := r.Run(context.Background(), s, &out)
	log := out.String()
	require.Equal(t, domain.StatusSuccess, got.Status, log)
	for _, want := range []string{
		"ENV TEST_ENV_ID=7\n", "ENV TEST_ENV_NAME=env7\n", "ENV TEST_RUN_ID=42\n", "ENV TEST_ENV_FENCE=1234\n",
		"ENV REQUESTED_BY=alice\n", "ENV BATON_API_URL=http://baton.test:8080\n", "ENV PYTHONUNBUFFERED=1\n",
		"ENV PYTHONDONTWRITEBYTECODE=1\n", "ENV BATON_EXTRA=from-spec\n",
	} {
		require.Contains(t, log, want)
	}
	require.Contains(t, log, "(environment 7, fence 1234)")

	cwd := regexp.MustCompile(`CWD=(\S+)`).FindStringSubmatch(log)
	require.NotNil(t, cwd, log)
	require.Equal(t, filepath.Dir(file), cwd[1], "pytest runs in the project root")
	tmp := regexp.MustCompile(`ENV TMPDIR=(\S+)`).FindStringSubmatch(log)
	require.NotNil(t, tmp, log)
	ws := filepath.Dir(tmp[1])
	require.Equal(t, r.TempDir, filepath.Dir(ws), "temp files go to the run's workspace under TempDir")
	require.Regexp(t, `^baton-run-42-`, filepath.Base(ws))
	entries, err := os.ReadDir(r.TempDir)
	require.NoError(t, err)
	require.Empty(t, entries, "the per-run directory is removed")

	cg := regexp.MustCompile(`CGROUP=(\S+)`).FindStringSubmatch(log)
	require.NotNil(t, cg, log)
	if r.Cgroup != "" {
		require.Regexp(t, "/"+cgroupParentName+"/run-42-[0-9]+/inv-1$", cg[1], "pytest runs in the cgroup of its invocation, in the run's own")
		require.NoDirExists(t, filepath.Join(r.Cgroup, "run-"+strings.TrimPrefix(filepath.Base(ws), "baton-run-")), "the run's cgroup is removed")
	}
}

// TestRunLeavesTestFolderClean runs a failing test too, because assertion
// rewriting is what would write .pyc files next to it.
func TestRunLeavesTestFolderClean(t *testing.T) {
	t.Parallel()
	r := newRunner(t)
	dir := t.TempDir()
	for _, name := range []string{"pass", "fail"} {
		src, err := os.ReadFile(filepath.Join("testdata", name+".py"))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, "test_"+name+".py"), src, 0o644))
	}
	var out testkit.SyncBuffer
	got := r.Run(context.Background(), spec(filepath.Join(dir, "test_pass.py"), filepath.Join(dir, "test_fail.py")), &out)
	require.Equal(t, domain.StatusFailed, got.Status, out.String())

	var left []string
	require.NoError(t, filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
		left = append(left, strings.TrimPrefix(p, dir))
		return err
	}))
	require.Equal(t, []string{"", "/test_fail.py", "/test_pass.py"}, left)

	// pytest puts its cache in the rootdir, the common ancestor of the test
	// files and its working directory: here the test's temp root.
	var caches []string
	require.NoError(t, filepath.WalkDir(filepath.Dir(dir), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if n := d.Name(); n == ".pytest_cache" || n == "__pycache__" || strings.HasSuffix(n, ".pyc") {
			caches = append(caches, p)
		}
		return err
	}))
	require.Empty(t, caches)

	entries, err := os.ReadDir(r.TempDir)
	require.NoError(t, err)
	require.Empty(t, entries, "per-run directories are removed")
}

func TestRunSameBasenameInTwoFolders(t *testing.T) {
	t.Parallel()
	r := newRunner(t)
	root := t.TempDir()
	var files []string
	for _, sub := range []string{"a", "b"} {
		require.NoError(t, os.Mkdir(filepath.Join(root, sub), 0o755))
		f := filepath.Join(root, sub, "test_same.py")
		require.NoError(t, os.WriteFile(f, []byte("def test_"+sub+"():\n    pass\n"), 0o644))
		files = append(files, f)
	}
	var out testkit.SyncBuffer
	got := r.Run(context.Background(), spec(files...), &out)
	log := out.String()
	require.Equal(t, domain.StatusSuccess, got.Status, log)
	// One pytest would refuse the second test_same.py ("import file
	// mismatch"), so each gets its own session of the same project.
	require.Equal(t, &domain.TestSummary{Passed: 2, Total: 2}, got.Summary, log)
	require.Equal(t, 2, strings.Count(log, "1 passed"), log)
	require.Contains(t, log, "=== project 2/2: ")
	ids := []string{got.Tests[0].NodeID, got.Tests[1].NodeID}
	require.ElementsMatch(t, []string{"a/test_same.py::test_a", "b/test_same.py::test_b"}, ids)
}

// TestRunSamePackageInTwoFolders: two projects without a config of their
// own each have a tests package (tests/__init__.py, a conftest.py with a
// fixture); one pytest would import the second project's tests.test_b from
// the first project's tests package and fail to collect it, so each gets
// its own session, as each runs by hand.
func TestRunSamePackageInTwoFolders(t *testing.T) {
	t.Parallel()
	r := newRunner(t)
	root := t.TempDir()
	var files []string
	for _, sub := range []string{"a", "b"} {
		dir := filepath.Join(root, sub, "tests")
		require.NoError(t, os.MkdirAll(dir, 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, "__init__.py"), nil, 0o644))
		require.NoError(t, os.WriteFile(filepath.Join(dir, "conftest.py"),
			[]byte("import pytest\n\n@pytest.fixture\ndef where():\n    return "+strconv.Quote(sub)+"\n"), 0o644))
		f := filepath.Join(dir, "test_"+sub+".py")
		require.NoError(t, os.WriteFile(f, []byte("def test_"+sub+"(where):\n    assert where == "+strconv.Quote(sub)+"\n"), 0o644))
		files = append(files, f)
	}
	var out testkit.SyncBuffer
	got := r.Run(context.Background(), spec(files...), &out)
	log := out.String()
	require.Equal(t, domain.StatusSuccess, got.Status, log)
	require.Equal(t, &domain.TestSummary{Passed: 2, Total: 2}, got.Summary, log)
	require.Contains(t, log, "=== project 2/2: ")
	ids := []string{got.Tests[0].NodeID, got.Tests[1].NodeID}
	require.ElementsMatch(t, []string{"a/tests/test_a.py::test_a", "b/tests/test_b.py::test_b"}, ids)
}

// TestRunPyprojectProjectStartsInItsFolder: a project whose only marker is
// a pyproject.toml without pytest's table (sqlparse's layout) runs in its
// own folder, as by hand: its tests start `python -m pkg` there. A
// setup.py below it, which pytest 7 would take as the rootdir, changes
// neither the folder nor the node ids.
func TestRunPyprojectProjectStartsInItsFolder(t *testing.T) {
	t.Parallel()
	r := newRunner(t)
	root := t.TempDir()
	writeTree(t, root, map[string]string{
		"sqlish/pyproject.toml":     "[project]\nname = \"sqlish\"\n",
		"sqlish/sqlish/__init__.py": "",
		"sqlish/sqlish/__main__.py": "print('sqlish cli')\n",
		"sqlish/tests/__init__.py":  "",
		"sqlish/tests/sub/setup.py": "",
		"sqlish/tests/sub/test_cli.py": "import os, subprocess, sys\n\n" +
			"def test_cli():\n    assert subprocess.call([sys.executable, '-m', 'sqlish']) == 0\n\n" +
			"def test_cwd():\n    assert os.path.isfile('pyproject.toml')\n",
		"other/test_other.py": "def test_other():\n    pass\n",
	})
	var out testkit.SyncBuffer
	got := r.Run(context.Background(), spec(filepath.Join(root, "sqlish", "tests", "sub", "test_cli.py"), filepath.Join(root, "other", "test_other.py")), &out)
	log := out.String()
	require.Equal(t, domain.StatusSuccess, got.Status, log)
	require.Contains(t, log, "(root: pyproject.toml)", log)
	var ids []string
	for _, tr := range got.Tests {
		ids = append(ids, tr.NodeID)
	}
	require.ElementsMatch(t, []string{"sqlish/tests/sub/test_cli.py::test_cli", "sqlish/tests/sub/test_cli.py::test_cwd",
		"other/test_other.py::test_other"}, ids)
}

// TestRunStreamsLive shows output reaches the log store while pytest still
// runs: the test blocks until the Go side has seen its line and releases it.
func TestRunStreamsLive(t *testing.T) {
	t.Parallel()
	r := newRunner(t)
	file := fixture(t, "live")
	app := newMemAppender()
	lw := NewLogWriter(app, 42, LogOptions{})

	done := make(chan domain.Outcome, 1)
	go func() { done <- r.Run(context.Background(), spec(file), lw) }()

	select {
	case <-app.waitFor("LIVE-MARKER"):
	case o := <-done:
		t.Fatalf("run ended (%+v) before its output was stored: %q", o, app.String())
	case <-time.After(guard):
		t.Fatalf("marker never stored: %q", app.String())
	}
	select {
	case o := <-done:
		t.Fatalf("run ended (%+v) although the test was still waiting", o)
	default:
	}
	require.NoError(t, os.WriteFile(filepath.Join(filepath.Dir(file), "release"), nil, 0o644))

	got := await(t, done)
	require.NoError(t, lw.Close(context.Background()))
	require.Equal(t, domain.StatusSuccess, got.Status, app.String())
	require.Equal(t, int64(len(app.String())), lw.Size())
	require.Contains(t, app.String(), "=== pytest exited with code 0")
}

func TestRunLargeOutputDoesNotDeadlock(t *testing.T) {
	t.Parallel()
	r := newRunner(t)
	// The context only turns a deadlock into a failure instead of a hang.
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()
	var out testkit.SyncBuffer
	got := r.Run(ctx, spec(fixture(t, "big")), &out)
	log := out.String()
	require.Equal(t, domain.StatusSuccess, got.Status, lastLine(t, log))
	require.Greater(t, len(log), 1_500_000)
	require.Contains(t, log, "BIG-DONE")
	require.Contains(t, log, strings.Repeat("e", 99)+"\n")
}

func TestRunCapturesStderr(t *testing.T) {
	t.Parallel()
	r := newRunner(t)
	var out testkit.SyncBuffer
	got := r.Run(context.Background(), spec(fixture(t, "streams")), &out)
	log := out.String()
	require.Equal(t, domain.StatusSuccess, got.Status, log)
	for _, want := range []string{"SYS-STDOUT", "SYS-STDERR", "FD-STDOUT", "FD-STDERR"} {
		require.Contains(t, log, want)
	}
}

// await returns Run's outcome, failing instead of hanging when Run never
// returns (e.g. a kill that does not escalate).
func await(t *testing.T, done <-chan domain.Outcome) domain.Outcome {
	t.Helper()
	select {
	case o := <-done:
		return o
	case <-time.After(guard):
		t.Fatal("Run did not return")
		return domain.Outcome{}
	}
}

// readPids waits for the hang fixture to report pytest's pid and its
// child's pid.
func readPids(t *testing.T, dir string, done <-chan domain.Outcome) (pytest, child int) {
	t.Helper()
	deadline := time.After(guard)
	for {
		data, err := os.ReadFile(filepath.Join(dir, "pids"))
		if err == nil {
			f := strings.Fields(string(data))
			require.Len(t, f, 2)
			pytest, err1 := strconv.Atoi(f[0])
			child, err2 := strconv.Atoi(f[1])
			require.NoError(t, errors.Join(err1, err2))
			return pytest, child
		}
		select {
		case o := <-done:
			t.Fatalf("run ended (%+v) before the test started", o)
		case <-deadline:
			t.Fatal("the hanging test never started")
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// gone reports whether pid no longer runs; a zombie counts as gone: it is
// dead, and reaping an orphan whose supervisor died is up to init.
func gone(pid int) bool {
	if err := unix.Kill(pid, 0); errors.Is(err, unix.ESRCH) {
		return true
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	s := string(stat)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && i+2 < len(s) && s[i+2] == 'Z'
}

// requireKilled checks pytest and its child were gone before Run returned:
// Run returns only once every process of the run is.
func requireKilled(t *testing.T, pytest, child int) {
	t.Helper()
	require.True(t, gone(pytest), "pytest %d survived Run", pytest)
	require.True(t, gone(child), "grandchild %d survived Run", child)
}

func TestRunTimeoutKillsGroup(t *testing.T) {
	t.Parallel()
	r := newRunner(t)
	// The timeout must fire after the test has spawned its child; on a
	// loaded machine pytest may start slowly, so try longer timeouts rather
	// than flake.
	for _, timeout := range []time.Duration{3 * time.Second, 15 * time.Second, 60 * time.Second} {
		file := fixture(t, "hang")
		s := spec(file)
		s.Timeout = timeout
		var out testkit.SyncBuffer
		got := r.Run(context.Background(), s, &out)
		log := out.String()
		require.Equal(t, domain.Outcome{Status: domain.StatusError, Reason: domain.ReasonTimeout}, got, log)
		require.Equal(t, fmt.Sprintf("=== timed out after %s: process tree killed ===", timeout), lastLine(t, log))

		data, err := os.ReadFile(filepath.Join(filepath.Dir(file), "pids"))
		if err != nil {
			t.Logf("timeout %s fired before the test started; retrying", timeout)
			continue
		}
		var pytest, child int
		_, err = fmt.Sscan(string(data), &pytest, &child)
		require.NoError(t, err)
		requireKilled(t, pytest, child)
		return
	}
	t.Fatal("the hanging test never started within the timeout")
}

// TestRunCancelEscalatesToKill uses a test that ignores SIGTERM, as does
// its child, so only the SIGKILL after KillGrace can end them.
func TestRunCancelEscalatesToKill(t *testing.T) {
	t.Parallel()
	r := newRunner(t)
	r.KillGrace = 300 * time.Millisecond
	file := fixture(t, "hang", "test_hang_ignore_term.py")
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	var out testkit.SyncBuffer
	done := make(chan domain.Outcome, 1)
	go func() { done <- r.Run(ctx, spec(file), &out) }()

	pytest, child := readPids(t, filepath.Dir(file), done)
	cancel(Stop{Status: domain.StatusCancelled, Reason: domain.ReasonCancelled})
	got := await(t, done)
	log := out.String()
	require.Equal(t, domain.Outcome{Status: domain.StatusCancelled, Reason: domain.ReasonCancelled}, got, log)
	require.Regexp(t, `^=== cancelled: process tree killed after [0-9.]+m?s ===$`, lastLine(t, log))
	requireKilled(t, pytest, child)
}

func TestRunStopCauses(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		cause error
		want  domain.Outcome
		last  string
	}{
		{"worker shutdown", Stop{Status: domain.StatusError, Reason: domain.ReasonWorkerShutdown},
			domain.Outcome{Status: domain.StatusError, Reason: domain.ReasonWorkerShutdown}, "=== stopped (worker_shutdown): process tree killed"},
		{"wrapped pointer", fmt.Errorf("shutting down: %w", &Stop{Status: domain.StatusCancelled, Reason: domain.ReasonCancelled}),
			domain.Outcome{Status: domain.StatusCancelled, Reason: domain.ReasonCancelled}, "=== cancelled: process tree killed"},
		{"plain cancel", nil,
			domain.Outcome{Status: domain.StatusError, Reason: domain.ReasonInterrupted}, "=== stopped (interrupted): process tree killed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := newRunner(t)
			file := fixture(t, "hang")
			ctx, cancel := context.WithCancelCause(context.Background())
			defer cancel(nil)
			var out testkit.SyncBuffer
			done := make(chan domain.Outcome, 1)
			go func() { done <- r.Run(ctx, spec(file), &out) }()

			pytest, child := readPids(t, filepath.Dir(file), done)
			cancel(tc.cause)
			got := await(t, done)
			require.Equal(t, tc.want, got, out.String())
			require.True(t, strings.HasPrefix(lastLine(t, out.String()), tc.last), lastLine(t, out.String()))
			requireKilled(t, pytest, child)
		})
	}
}

func TestRunCancelledBeforeStart(t *testing.T) {
	t.Parallel()
	r := newRunner(t)
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(Stop{Status: domain.StatusError, Reason: domain.ReasonWorkerShutdown})
	var out testkit.SyncBuffer
	got := r.Run(ctx, spec(fixture(t, "pass")), &out)
	require.Equal(t, domain.Outcome{Status: domain.StatusError, Reason: domain.ReasonWorkerShutdown}, got)
	require.Equal(t, "=== stopped (worker_shutdown) before start ===", lastLine(t, out.String()))
	require.NotContains(t, out.String(), "passed")
}

// readPid reads a pid a fixture recorded in its directory.
func readPid(t *testing.T, file, name string) int {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(filepath.Dir(file), name))
	require.NoError(t, err)
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	require.NoError(t, err)
	t.Cleanup(func() {
		if !gone(pid) {
			_ = unix.Kill(pid, unix.SIGKILL)
		}
	})
	return pid
}

// TestRunKillsWhatTestsLeave: processes a passing test leaves behind — a
// child in pytest's group, one in a session of its own that holds the
// output pipe, a double-forked daemon, a daemon that keeps forking — are
// all dead when Run returns, with and without a cgroup, and the log names
// them. None makes Run wait for the output grace.
func TestRunKillsWhatTestsLeave(t *testing.T) {
	t.Parallel()
	for _, mode := range containment {
		for _, name := range []string{"orphan", "daemon", "doublefork", "forker"} {
			t.Run(mode+"/"+name, func(t *testing.T) {
				t.Parallel()
				r := newRunnerWith(t, mode)
				r.OutputGrace = guard // output held open would show as a hang, not a pass
				file := fixture(t, name)
				ctx, cancel := context.WithTimeout(context.Background(), 2*guard)
				defer cancel()
				var out testkit.SyncBuffer
				got := r.Run(ctx, spec(file), &out)
				log := out.String()
				require.Equal(t, domain.StatusSuccess, got.Status, log)
				require.NotContains(t, log, "still holds its output open")
				require.Regexp(t, `=== killed [0-9]+ process\(es\) the tests left running: [0-9]+ \(`, log)
				require.Contains(t, lastLine(t, log), "=== pytest exited with code 0")
				requireStart(t, mode, log)

				var pids []int
				switch name {
				case "orphan":
					pids = []int{readPid(t, file, "orphan.pid")}
				case "daemon", "doublefork":
					pids = []int{readPid(t, file, "daemon.pid")}
				case "forker":
					data, err := os.ReadFile(filepath.Join(filepath.Dir(file), "forker.pids"))
					require.NoError(t, err)
					for _, f := range strings.Fields(string(data)) {
						pid, err := strconv.Atoi(f)
						require.NoError(t, err)
						pids = append(pids, pid)
					}
					require.NotEmpty(t, pids)
				}
				for _, pid := range pids {
					require.True(t, gone(pid), "process %d the test left survived Run", pid)
				}
			})
		}
	}
}

func TestRunStartFailure(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		python string
		files  []string
		inLog  string
	}{
		"missing interpreter": {"/nonexistent/python3", []string{"/tmp/test_x.py"}, "/nonexistent/python3"},
		"no interpreter":      {"", []string{"/tmp/test_x.py"}, "no Python interpreter configured"},
		"no files":            {"/usr/bin/python3", nil, "no test files given"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := &Runner{Python: tc.python, TempDir: t.TempDir()}
			var out testkit.SyncBuffer
			got := r.Run(context.Background(), spec(tc.files...), &out)
			require.Equal(t, domain.Outcome{Status: domain.StatusError, Reason: domain.ReasonStartFailed}, got)
			require.Contains(t, lastLine(t, out.String()), "=== failed to start pytest: ")
			require.Contains(t, out.String(), tc.inLog)
			entries, err := os.ReadDir(r.TempDir)
			require.NoError(t, err)
			require.Empty(t, entries)
		})
	}
}

func TestDetectPython(t *testing.T) {
	t.Parallel()
	py, err := detectPython()
	if err != nil {
		t.Skipf("skipping: no python3 with pytest on this machine: %v", err)
	}
	require.True(t, filepath.IsAbs(py), py)

	_, err = detectPythonFrom([]string{"/nonexistent/python3", "false"})
	require.ErrorContains(t, err, "/nonexistent/python3: not found")
	require.ErrorContains(t, err, "false (")
}

func TestShellJoin(t *testing.T) {
	t.Parallel()
	require.Equal(t, `/usr/bin/python3 -m 'a b.py' 'it'\''s' ''`, shellJoin([]string{"/usr/bin/python3", "-m", "a b.py", "it's", ""}))
}
