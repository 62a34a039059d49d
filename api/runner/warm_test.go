package runner

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/baton-ci/baton/api/domain"
	"github.com/baton-ci/baton/internal/testkit"
)

// startWarm gives r n warm slots for runs in roots and waits until they
// are warm; they are stopped when the test ends.
func startWarm(t *testing.T, r *Runner, roots map[string]string, n int) {
	t.Helper()
	r.WarmSlots = n
	r.StartWarm(roots)
	t.Cleanup(r.StopWarm)
	waitWarm(t, r, n)
}

// waitWarm waits until r has n warm slots waiting.
func waitWarm(t *testing.T, r *Runner, n int) {
	t.Helper()
	testkit.Eventually(t, guard, fmt.Sprintf("%d warm slot(s)", n), func() bool { return len(warmSlots(r)) >= n })
}

// warmSlots returns r's warm slots waiting for a run.
func warmSlots(r *Runner) []*warmSlot {
	p := r.warm.Load()
	if p == nil {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []*warmSlot
	for _, sl := range p.slots {
		if isClosed(sl.ready) {
			out = append(out, sl)
		}
	}
	return out
}

const warmLine = "=== warm start: Python had imported pytest before the run (BATON_WARM_SLOTS) ==="

// requireStart checks the log says how the run started: warm in mode
// "warm", cold otherwise.
func requireStart(t *testing.T, mode, log string) {
	t.Helper()
	if mode == "warm" {
		require.Contains(t, log, warmLine)
	} else {
		require.NotContains(t, log, warmLine)
	}
}

// probeState runs testdata/warmprobe.py in dir through r and returns what
// the test saw of its process, with the run's own workspace path (which
// differs for each run) replaced by <ws>.
func probeState(t *testing.T, r *Runner, s Spec) (map[string]any, string) {
	t.Helper()
	found, log := runFinding(t, r, s, `WARMPROBE (\{.*\})`)
	var state map[string]any
	require.NoError(t, json.Unmarshal([]byte(found), &state))
	env := state["environ"].(map[string]any)
	ws := filepath.Dir(env["TMPDIR"].(string))
	require.True(t, strings.HasPrefix(filepath.Base(ws), workspacePrefix), "TMPDIR %s is in a run's workspace", ws)
	norm := strings.ReplaceAll(found, ws, "<ws>")
	norm = regexp.MustCompile(`/run-[^/"\\]+`).ReplaceAllString(norm, "/run-<cgroup>")
	state = nil
	require.NoError(t, json.Unmarshal([]byte(norm), &state))
	return state, log
}

// probeSpec is a run of the warmprobe fixture in a catalog root of its
// own (which a run user reaches through its mount).
func probeSpec(t *testing.T) Spec {
	t.Helper()
	root := filepath.Dir(fixture(t, "warmprobe"))
	s := spec("catalog/test_warmprobe.py")
	s.Roots = map[string]string{"catalog": root}
	return s
}

// A test cannot tell a warm start from a cold one: everything it can see of
// its interpreter and process is the same (warmprobe.py lists it: argv,
// sys.path, the working directory, os.environ and C's environ, sys.modules
// in order, __main__, flags, signal handlers and masks, descriptors, umask,
// ids, priority, limits, stdio, cgroup), as the worker's user and as the
// run user.
func TestWarmStartLooksLikeColdStart(t *testing.T) {
	t.Parallel()
	users := []string{"worker's user"}
	if os.Geteuid() == 0 {
		users = append(users, "run user")
	}
	// A descriptor the worker got from whoever started it, not marked
	// close-on-exec (as a careless shell leaves them): it must not reach
	// the tests.
	leak, err := unix.Open("/dev/null", unix.O_RDONLY, 0)
	require.NoError(t, err)
	t.Cleanup(func() { unix.Close(leak) })
	for _, who := range users {
		t.Run(who, func(t *testing.T) {
			t.Parallel()
			cold := newRunner(t)
			warm := newRunner(t)
			if who == "run user" {
				u, _, err := EnsureUser(DefaultRunUser)
				require.NoError(t, err)
				cold.User, warm.User = u, u
				cold.TempDir, warm.TempDir = reachableTempDir(t), reachableTempDir(t)
			}
			s := probeSpec(t)
			startWarm(t, warm, s.Roots, 1)
			c, clog := probeState(t, cold, s)
			w, wlog := probeState(t, warm, s)
			requireStart(t, "cold", clog)
			requireStart(t, "warm", wlog)
			for k := range c {
				require.Equal(t, c[k], w[k], "%s differs between a cold and a warm start", k)
			}
			require.Equal(t, c, w)
			// Only stdio is inherited: nothing the worker was given by
			// whoever started it reaches the tests.
			for fd, v := range c["fds"].(map[string]any) {
				if inheritable := v.([]any)[1].(bool); inheritable {
					require.Contains(t, []string{"0", "1", "2"}, fd, "descriptor %s (%v) was passed on to the tests", fd, v)
				}
			}
		})
	}
}

// leakSeen is what testdata/warmleak.py saw of its process.
type leakSeen struct {
	PID     int      `json:"pid"`
	Started float64  `json:"started"` // seconds since boot
	Env     *string  `json:"env"`
	Tmp     []string `json:"tmp"`
	Module  bool     `json:"module"`
	Builtin bool     `json:"builtin"`
}

// runLeak runs the warmleak fixture and returns what it saw, and the
// Boottime at which Run was called.
func runLeak(t *testing.T, r *Runner, s Spec) (leakSeen, time.Duration, string) {
	t.Helper()
	called := Boottime()
	found, log := runFinding(t, r, s, `WARMLEAK (\{.*\})`)
	var seen leakSeen
	require.NoError(t, json.Unmarshal([]byte(found), &seen))
	return seen, called, log
}

// startedBefore reports whether the test's process started before at,
// by the test's own reading of /proc (10 ms ticks).
func startedBefore(seen leakSeen, at time.Duration) bool {
	return time.Duration(seen.Started*float64(time.Second)) < at-10*time.Millisecond
}

// A warm slot serves exactly one run: the next run is another process,
// started before it was asked for (warm, by the test's own clock), in a
// workspace of its own, and sees nothing the previous run left in its
// environment, its modules, its builtins or its TMPDIR; the previous run's
// process is gone. A run that comes while the only slot is still warming
// waits for it (at a run's priority) rather than start cold.
func TestWarmSlotServesOneRun(t *testing.T) {
	t.Parallel()
	r := newRunner(t)
	r.WarmSlots = 1
	r.StartWarm(nil)
	t.Cleanup(r.StopWarm)
	testkit.Eventually(t, guard, "a slot to be warming", func() bool {
		p := r.warm.Load()
		p.mu.Lock()
		defer p.mu.Unlock()
		return len(p.slots) > 0
	})
	s := spec(fixture(t, "warmleak"))
	first, _, log := runLeak(t, r, s)
	requireStart(t, "warm", log)
	require.Regexp(t, `=== note: no warm slot was ready; the run waited \S+ for one to finish warming ===`, log)
	require.Empty(t, first.Tmp)
	for i := 0; i < 2; i++ {
		waitWarm(t, r, 1)
		next, called, log := runLeak(t, r, s)
		requireStart(t, "warm", log)
		require.NotContains(t, log, "no warm slot was ready")
		require.True(t, startedBefore(next, called), "the run's Python started before the run was asked for (%+v, called at %s)", next, called)
		require.NotEqual(t, first.PID, next.PID, "a slot serves one run")
		require.True(t, gone(first.PID), "the previous run's process is gone")
		require.Nil(t, next.Env, "an environment variable set by the previous run")
		require.Empty(t, next.Tmp, "a file the previous run left in its TMPDIR")
		require.False(t, next.Module, "a module the previous run added to sys.modules")
		require.False(t, next.Builtin, "a builtin the previous run set")
		first = next
	}
	entries, err := os.ReadDir(r.TempDir)
	require.NoError(t, err)
	require.Len(t, entries, 1, "only the next slot's workspace is left: %v", entries)
	require.True(t, strings.HasPrefix(entries[0].Name(), workspacePrefix+"warm-"))
}

// Warm or cold, a run has the same per-test outcomes: the fixture
// projects of issue 11 (one run over all three: the first project starts
// warm, the others cold in the same session; and each in a run of its own,
// warm) and Baton's sample tests.
func TestWarmRunsMatchColdRuns(t *testing.T) {
	t.Parallel()
	samples, err := filepath.Abs(filepath.Join("..", "..", "sample-tests"))
	require.NoError(t, err)
	cases := []struct {
		name  string
		root  func(t *testing.T) string
		files []string
	}{
		{"projects", copyProjects, []string{"uploads/tools/mylib/tests/check_core.py", "uploads/shop/tests/test_cart.py",
			"uploads/shop/tests/unit/test_override.py", "uploads/billing/tests/test_invoice.py"}},
		// Each project in a run of its own, so that each starts warm.
		{"shop", copyProjects, []string{"uploads/shop/tests/test_cart.py", "uploads/shop/tests/unit/test_override.py"}},
		{"billing", copyProjects, []string{"uploads/billing/tests/test_invoice.py"}},
		{"tools", copyProjects, []string{"uploads/tools/mylib/tests/check_core.py"}},
		{"started in its root", rootProject, []string{"uploads/app/tests/test_start.py"}},
		{"sample tests", func(*testing.T) string { return samples }, []string{"uploads/test_success.py", "uploads/test_failure.py",
			"uploads/test_setup_error.py", "uploads/test_no_tests.py", "uploads/test_slow.py", "uploads/api/test_baton_api.py"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			root := tc.root(t)
			s := catalogSpec(root, tc.files...)
			cold, warm := newRunner(t), newRunner(t)
			startWarm(t, warm, s.Roots, 1)
			var got [2]domain.Outcome
			var logs [2]testkit.SyncBuffer
			done := make(chan struct{}, 2)
			for i, r := range []*Runner{cold, warm} {
				go func() {
					got[i] = r.Run(context.Background(), s, &logs[i])
					done <- struct{}{}
				}()
			}
			<-done
			<-done
			clog, wlog := logs[0].String(), logs[1].String()
			requireStart(t, "cold", clog)
			requireStart(t, "warm", wlog)
			require.Equal(t, 1, strings.Count(wlog, warmLine), "only the first session starts warm")
			require.NotEmpty(t, got[0].Tests, clog)
			require.Equal(t, outcomes(got[0].Tests), outcomes(got[1].Tests), "cold:\n%s\nwarm:\n%s", clog, wlog)
			require.Equal(t, got[0].Status, got[1].Status)
			require.Equal(t, got[0].Summary, got[1].Summary)
			if tc.name == "started in its root" {
				require.Equal(t, 1, got[0].Summary.Failed, "only test_fails fails:\n%s", clog)
			}
		})
	}
}

// startTests pass only in a Python started the way `python -m pytest`
// starts in the project's root: that root first on sys.path (a module
// there imports without any conftest or pythonpath), the working
// directory, argv and __main__ as runpy leaves them, the run's own
// environment. A warm start that got any of them wrong fails some.
const startTests = `import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_root_module():
    import settings

    assert settings.NAME == "app"


def test_cwd():
    assert os.getcwd() == ROOT


def test_argv():
    assert sys.argv[0].endswith(os.path.join("pytest", "__main__.py"))
    assert sys.orig_argv[1:3] == ["-m", "pytest"]


def test_main():
    assert sys.modules["__main__"].__spec__.name == "pytest.__main__"


def test_run_environment():
    assert os.environ["TEST_RUN_ID"] == "42"


def test_fails():
    assert 1 == 2


@pytest.mark.skip(reason="skipped")
def test_skipped():
    pass


@pytest.mark.xfail
def test_xfail():
    assert False
`

// rootProject makes a catalog root holding app/, a project whose tests
// import a module of its root (startTests).
func rootProject(t *testing.T) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), "uploads")
	for name, body := range map[string]string{"app/pytest.ini": "[pytest]\n", "app/settings.py": "NAME = 'app'\n", "app/tests/test_start.py": startTests} {
		require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(root, name)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(root, name), []byte(body), 0o644))
	}
	return root
}

// writeProject makes a project directory (with a pytest.ini asking for
// tee-sys, so prints reach the log) holding files, and returns it.
func writeProject(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	files["pytest.ini"] = teeSysINI
	for name, body := range files {
		require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644))
	}
	return dir
}

// runPrinting runs dir/test_file and returns the value the test printed
// after marker, and the log.
func runPrinting(t *testing.T, r *Runner, s Spec, marker string) (string, string) {
	t.Helper()
	return runFinding(t, r, s, regexp.QuoteMeta(marker)+` (\S+)`)
}

// runFinding runs s, which must succeed, and returns the first group of
// pattern in its log, and the log.
func runFinding(t *testing.T, r *Runner, s Spec, pattern string) (string, string) {
	t.Helper()
	var out testkit.SyncBuffer
	got := r.Run(context.Background(), s, &out)
	log := out.String()
	require.Equal(t, domain.StatusSuccess, got.Status, log)
	m := regexp.MustCompile(pattern).FindStringSubmatch(log)
	require.NotNil(t, m, log)
	return m[1], log
}

// A run whose environment gives a start-up variable another value than the
// warm slot has starts cold, and the variable takes effect: here
// PYTHONHASHSEED, which a warm process could not take on (its string
// hashes are fixed when it starts). The next run is warm again.
func TestWarmStartColdOnStartupVariables(t *testing.T) {
	t.Parallel()
	dir := writeProject(t, map[string]string{"test_hash.py": "def test_hash():\n    print('HASH', hash('baton-warm'))\n"})
	r := newRunner(t)
	startWarm(t, r, nil, 1)
	cmd := exec.Command(r.Python, "-c", "print(hash('baton-warm'))")
	cmd.Env = append(cleanEnv(), "PYTHONHASHSEED=123")
	want, err := cmd.Output()
	require.NoError(t, err)

	s := spec(filepath.Join(dir, "test_hash.py"))
	s.Vars = []Var{{Name: "PYTHONHASHSEED", Value: "123"}}
	got, log := runPrinting(t, r, s, "HASH")
	require.Equal(t, strings.TrimSpace(string(want)), got, log)
	require.Contains(t, log, "=== cold start: PYTHONHASHSEED differs for this run, and Python reads it only when it starts ===")
	requireStart(t, "cold", log)

	waitWarm(t, r, 1)
	_, log = runPrinting(t, r, spec(filepath.Join(dir, "test_hash.py")), "HASH")
	requireStart(t, "warm", log)
}

func TestWarmEnvReason(t *testing.T) {
	t.Parallel()
	base := []string{"PATH=/usr/bin", "HOME=/home/x", "LANG=C.UTF-8", "PYTHONUNBUFFERED=1", "PLUGIN_CONF=a"}
	sl := &warmSlot{env: base, report: &warmReport{envRead: map[string]bool{"PLUGIN_CONF": true}}}
	cases := map[string]struct {
		env  []string
		want string
	}{
		"same":                   {base, ""},
		"a run's own variable":   {append(base, "TEST_RUN_ID=7", "EXTRA=1"), ""},
		"PATH changed":           {[]string{"PATH=/bin", "HOME=/home/x", "LANG=C.UTF-8", "PYTHONUNBUFFERED=1", "PLUGIN_CONF=a"}, ""},
		"PYTHONPATH":             {append(base, "PYTHONPATH=/src"), "PYTHONPATH"},
		"PYTHONUNBUFFERED unset": {[]string{"PATH=/usr/bin", "HOME=/home/x", "LANG=C.UTF-8", "PLUGIN_CONF=a"}, "PYTHONUNBUFFERED"},
		"locale":                 {append(base, "LC_ALL=de_DE.UTF-8"), "LC_ALL"},
		"LANG":                   {[]string{"PATH=/usr/bin", "HOME=/home/x", "LANG=de_DE.UTF-8", "PYTHONUNBUFFERED=1", "PLUGIN_CONF=a"}, "LANG"},
		"TZ":                     {append(base, "TZ=Asia/Tokyo"), "TZ"},
		"HOME":                   {[]string{"PATH=/usr/bin", "HOME=/other", "LANG=C.UTF-8", "PYTHONUNBUFFERED=1", "PLUGIN_CONF=a"}, "HOME"},
		"LD_PRELOAD":             {append(base, "LD_PRELOAD=/x.so"), "LD_PRELOAD"},
		"MALLOC_ARENA_MAX":       {append(base, "MALLOC_ARENA_MAX=2"), "MALLOC_ARENA_MAX"},
		"read at import":         {[]string{"PATH=/usr/bin", "HOME=/home/x", "LANG=C.UTF-8", "PYTHONUNBUFFERED=1", "PLUGIN_CONF=b"}, "PLUGIN_CONF"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got := sl.envReason(tc.env)
			if tc.want == "" {
				require.Empty(t, got)
			} else {
				require.True(t, strings.HasPrefix(got, tc.want+" differs"), got)
			}
		})
	}
	all := &warmSlot{env: base, report: &warmReport{envAll: true}}
	require.Contains(t, all.envReason(append(base, "ANY=1")), "read the whole environment")
}

func TestShadowing(t *testing.T) {
	t.Parallel()
	modules := map[string]bool{"bdb": true, "json": true, "pluggy": true, "zlibx": true, "attr": true}
	cases := map[string]struct {
		files []string
		dirs  []string
		want  string
	}{
		"nothing":            {[]string{"test_a.py", "conftest.py", "helpers.py"}, []string{"tests"}, ""},
		"module file":        {[]string{"test_a.py", "bdb.py"}, nil, "bdb.py"},
		"bytecode":           {[]string{"bdb.pyc"}, nil, "bdb.pyc"},
		"extension":          {[]string{"zlibx.cpython-311-x86_64-linux-gnu.so"}, nil, "zlibx.cpython-311-x86_64-linux-gnu.so"},
		"package":            {[]string{"json/__init__.py"}, []string{"json"}, "json/"},
		"namespace portion":  {[]string{"pluggy/helper.py"}, []string{"pluggy"}, ""},
		"dotted file":        {[]string{"attr.backup.py"}, nil, ""},
		"unrelated package":  {[]string{"shop/__init__.py"}, []string{"shop"}, ""},
		"package, bytecode ": {[]string{"attr/__init__.pyc"}, []string{"attr"}, "attr/"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			for _, d := range tc.dirs {
				require.NoError(t, os.Mkdir(filepath.Join(dir, d), 0o755))
			}
			for _, f := range tc.files {
				require.NoError(t, os.WriteFile(filepath.Join(dir, f), nil, 0o644))
			}
			got, _ := shadowing(dir, modules)
			require.Equal(t, tc.want, got)
		})
	}
}

// shadowBdb is a project module named like the standard library's bdb,
// which importing pytest loads: Python started in the project's root
// imports this one instead (and it loads the real one into itself, so that
// pytest still works).
const shadowBdb = `import importlib.machinery
import os
import sys

_here = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.machinery.PathFinder.find_spec("bdb", [p for p in sys.path if os.path.abspath(p or ".") != _here])
with open(_spec.origin) as _f:
    exec(compile(_f.read(), _spec.origin, "exec"))
SHADOWED_BY_PROJECT = True
`

// A project whose root holds a module that importing pytest loads gets the
// project's module, as by hand, because its run starts cold: a warm process
// imported the other one before it knew the project.
func TestWarmStartColdWhenTheProjectShadowsAModule(t *testing.T) {
	t.Parallel()
	dir := writeProject(t, map[string]string{
		"bdb.py":         shadowBdb,
		"test_shadow.py": "import sys\n\n\ndef test_shadow():\n    print('SHADOW', getattr(sys.modules['bdb'], 'SHADOWED_BY_PROJECT', False))\n",
	})
	cmd := exec.Command(testkit.Python(t), "-m", "pytest", "-s", "-p", "no:cacheprovider", "test_shadow.py")
	cmd.Dir, cmd.Env = dir, append(cleanEnv(), "PYTHONDONTWRITEBYTECODE=1")
	byHand, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", byHand)
	require.Contains(t, string(byHand), "SHADOW True")

	r := newRunner(t)
	startWarm(t, r, nil, 1)
	got, log := runPrinting(t, r, spec(filepath.Join(dir, "test_shadow.py")), "SHADOW")
	require.Equal(t, "True", got, log)
	require.Contains(t, log, "=== cold start: the project root has bdb.py, which a cold start imports in place of the module bdb that importing pytest loads ===")
}

// makeVenv makes a virtualenv on the machine's Python (with its packages,
// pytest among them) whose own site-packages holds batonsite.py, imported
// at start-up through a .pth file, and returns its python and that
// directory.
func makeVenv(t *testing.T) (python, site string) {
	t.Helper()
	python, site = makeEmptyVenv(t)
	installSite(t, site)
	return python, site
}

// installSite installs batonsite (version 1) into site: the module and
// the .pth file that imports it when Python starts.
func installSite(t *testing.T, site string) {
	t.Helper()
	require.NoError(t, os.WriteFile(filepath.Join(site, "batonsite.pth"), []byte("import batonsite\n"), 0o644))
	writeSite(t, site, 1)
}

// makeEmptyVenv makes a virtualenv on the machine's Python (with its
// packages, pytest among them) whose own site-packages is empty: nothing
// a Python started there imports comes from it. It returns its python and
// that directory.
func makeEmptyVenv(t *testing.T) (python, site string) {
	t.Helper()
	dir := filepath.Join(reachableTempDir(t), "venv")
	out, err := exec.Command(testkit.Python(t), "-m", "venv", "--without-pip", "--system-site-packages", dir).CombinedOutput()
	if err != nil {
		t.Skipf("skipping: cannot make a virtualenv: %v: %s", err, out)
	}
	matches, err := filepath.Glob(filepath.Join(dir, "lib", "python3*", "site-packages"))
	require.NoError(t, err)
	require.Len(t, matches, 1)
	return filepath.Join(dir, "bin", "python"), matches[0]
}

// writeSite rewrites batonsite.py in place (same directory entries, so
// only its own time changes) with the given version.
func writeSite(t *testing.T, site string, version int) {
	t.Helper()
	p := filepath.Join(site, "batonsite.py")
	require.NoError(t, os.WriteFile(p, []byte(fmt.Sprintf("VERSION = %d\n", version)), 0o644))
	later := time.Now().Add(time.Duration(version) * time.Second)
	require.NoError(t, os.Chtimes(p, later, later))
}

const siteTest = `import os
import sys


def test_site():
    print("SITE %s:%s:%s" % (getattr(sys.modules.get("batonsite"), "VERSION", "none"), sys.executable, os.readlink("/proc/self/exe")))
`

// A change to the installed packages, to the interpreter, or of
// BATON_PYTHON retires warm slots: the run sees the new world, as a cold
// start would. Waiting slots are checked every few seconds and replaced;
// a slot found stale when a run takes it is retired and the run starts
// cold.
func TestWarmSlotsRetireWhenTheWorldChanges(t *testing.T) {
	t.Parallel()
	dir := writeProject(t, map[string]string{"test_site.py": siteTest})
	s := spec(filepath.Join(dir, "test_site.py"))
	run := func(t *testing.T, r *Runner) (version, executable, exe, log string) {
		got, log := runPrinting(t, r, s, "SITE")
		parts := strings.SplitN(got, ":", 3)
		require.Len(t, parts, 3, log)
		return parts[0], parts[1], parts[2], log
	}

	t.Run("when a run takes it", func(t *testing.T) {
		t.Parallel()
		python, site := makeVenv(t)
		r := newRunner(t)
		r.Python = python
		r.warmCheck = time.Hour // only the run's own check
		startWarm(t, r, nil, 1)
		v, _, _, log := run(t, r)
		require.Equal(t, "1", v)
		requireStart(t, "warm", log)

		// A package changed in place.
		waitWarm(t, r, 1)
		writeSite(t, site, 2)
		v, _, _, log = run(t, r)
		require.Equal(t, "2", v, log)
		require.Regexp(t, `=== cold start: .*/batonsite\.py changed since the slot imported pytest \(installed packages\) ===`, log)

		// The interpreter replaced (here a copy of the same binary).
		waitWarm(t, r, 1)
		target, err := filepath.EvalSymlinks(python)
		require.NoError(t, err)
		bin, err := os.ReadFile(target)
		require.NoError(t, err)
		tmp := filepath.Join(filepath.Dir(python), ".python3.new")
		require.NoError(t, os.WriteFile(tmp, bin, 0o755))
		require.NoError(t, os.Rename(tmp, filepath.Join(filepath.Dir(python), "python3")))
		_, _, exe, log := run(t, r)
		require.Equal(t, filepath.Join(filepath.Dir(python), "python3"), exe, log)
		require.Contains(t, log, "=== cold start: the interpreter "+python+" changed ===")

		// BATON_PYTHON now another interpreter.
		waitWarm(t, r, 1)
		r.Python = testkit.Python(t)
		_, executable, _, log := run(t, r)
		require.Equal(t, r.Python, executable, log)
		require.Contains(t, log, "=== cold start: BATON_PYTHON is now "+r.Python+"; the slot runs "+python+" ===")
		waitWarm(t, r, 1)
		_, executable, _, log = run(t, r)
		require.Equal(t, r.Python, executable, log)
		requireStart(t, "warm", log)
	})

	// A package installed into a site-packages directory nothing had been
	// imported from (pip install of a plugin into the run's virtualenv):
	// only that directory's own modification time shows it.
	t.Run("a package installed", func(t *testing.T) {
		t.Parallel()
		python, site := makeEmptyVenv(t)
		r := newRunner(t)
		r.Python = python
		r.warmCheck = time.Hour // only the run's own check
		startWarm(t, r, nil, 1)
		v, _, _, log := run(t, r)
		require.Equal(t, "none", v, log)
		requireStart(t, "warm", log)

		waitWarm(t, r, 1)
		installSite(t, site)
		v, _, _, log = run(t, r)
		require.Equal(t, "1", v, "the run imports the new package at start-up, as a cold start does:\n%s", log)
		require.Contains(t, log, "=== cold start: "+site+" changed since the slot imported pytest (installed packages) ===")
	})

	t.Run("while it waits", func(t *testing.T) {
		t.Parallel()
		python, site := makeVenv(t)
		r := newRunner(t)
		r.Python = python
		r.warmCheck = 50 * time.Millisecond
		startWarm(t, r, nil, 1)
		old := warmSlots(r)[0]
		changed := time.Now()
		writeSite(t, site, 3)
		testkit.Eventually(t, guard, "a new slot started after the change", func() bool {
			w := warmSlots(r)
			return len(w) == 1 && w[0] != old && w[0].started.After(changed)
		})
		v, _, _, log := run(t, r)
		require.Equal(t, "3", v, log)
		requireStart(t, "warm", log)
	})
}

// A warm run's timeout counts from the run, not from when its slot was
// made, and kills the whole tree like a cold run's.
func TestWarmRunTimeoutCountsFromTheRun(t *testing.T) {
	t.Parallel()
	r := newRunner(t)
	startWarm(t, r, nil, 1)
	const timeout = 4 * time.Second
	time.Sleep(timeout) // the slot is older than the timeout
	file := fixture(t, "hang")
	s := spec(file)
	s.Timeout = timeout
	var out testkit.SyncBuffer
	got := r.Run(context.Background(), s, &out)
	log := out.String()
	require.Equal(t, domain.Outcome{Status: domain.StatusError, Reason: domain.ReasonTimeout}, got, log)
	requireStart(t, "warm", log)
	require.Contains(t, log, "HANG-STARTED", "the test ran before the timeout")
	data, err := os.ReadFile(filepath.Join(filepath.Dir(file), "pids"))
	require.NoError(t, err)
	var pytest, child int
	_, err = fmt.Sscan(string(data), &pytest, &child)
	require.NoError(t, err)
	requireKilled(t, pytest, child)
}

// When warm slots cannot start (here an interpreter wrapper that refuses
// -c), the pool says so, backs off after three failures, and runs start
// cold and work.
func TestWarmSlotsThatFailToStart(t *testing.T) {
	t.Parallel()
	r := newRunner(t)
	wrapper := filepath.Join(t.TempDir(), "python")
	script := fmt.Sprintf("#!/bin/sh\n[ \"$1\" = -c ] && { echo 'no -c here' >&2; exit 3; }\nexec %s \"$@\"\n", r.Python)
	require.NoError(t, os.WriteFile(wrapper, []byte(script), 0o755))
	r.Python = wrapper
	var logs testkit.SyncBuffer
	r.Log = slog.New(slog.NewTextHandler(&logs, nil))
	r.WarmSlots = 1
	r.StartWarm(nil)
	t.Cleanup(r.StopWarm)
	testkit.Eventually(t, guard, "the pool to pause", func() bool { return strings.Contains(logs.String(), "warm slots keep failing to start") })
	require.Contains(t, logs.String(), "exited with code 3")
	var out testkit.SyncBuffer
	got := r.Run(context.Background(), spec(fixture(t, "pass")), &out)
	require.Equal(t, domain.StatusSuccess, got.Status, out.String())
	require.Contains(t, out.String(), "=== cold start: no warm slot was free (0 of 1 starting) ===")
}

// A catalog root replaced after a slot mounted it (a checkout removed and
// cloned again) retires the slot: its mount shows the old directory, and
// the run must see the new one.
func TestWarmSlotRetiredWhenACatalogRootIsReplaced(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("skipping: catalog roots are mounted only for a run user, which needs root")
	}
	u, _, err := EnsureUser(DefaultRunUser)
	require.NoError(t, err)
	r := newRunner(t)
	r.User, r.TempDir = u, reachableTempDir(t)
	parent := t.TempDir()
	root := filepath.Join(parent, "catalog")
	write := func(version string) {
		require.NoError(t, os.MkdirAll(root, 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(root, "pytest.ini"), []byte(teeSysINI), 0o644))
		require.NoError(t, os.WriteFile(filepath.Join(root, "test_v.py"), []byte("def test_v():\n    print('VERSION', '"+version+"')\n"), 0o644))
	}
	write("old")
	s := spec("catalog/test_v.py")
	s.Roots = map[string]string{"catalog": root}
	startWarm(t, r, s.Roots, 1)
	require.NoError(t, os.Rename(root, root+".gone"))
	write("new")
	got, log := runPrinting(t, r, s, "VERSION")
	require.Equal(t, "new", got, log)
	require.Contains(t, log, "=== cold start: catalog root "+root+" was replaced ===")
}

// A run's own garbage is collected as in a cold start, also at the
// interpreter's exit, after pytest is done: warm.py's gc.freeze covers only
// what pytest's import left (freezing later, say at exit, would be faster
// still and would skip the run's finalizers).
func TestWarmRunGarbageIsCollectedAsCold(t *testing.T) {
	t.Parallel()
	s := spec(fixture(t, "gcexit"))
	for _, mode := range []string{"cold", "warm"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			r := newRunner(t)
			if mode == "warm" {
				startWarm(t, r, nil, 1)
			}
			var out testkit.SyncBuffer
			got := r.Run(context.Background(), s, &out)
			log := out.String()
			require.Equal(t, domain.StatusSuccess, got.Status, log)
			requireStart(t, mode, log)
			require.Contains(t, log, "GCEXIT finalized by gc.collect")
			require.Contains(t, log, "GCEXIT finalized at exit", "the run's cyclic garbage is collected when its interpreter exits")
		})
	}
}
