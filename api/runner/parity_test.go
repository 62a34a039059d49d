package runner

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/baton-ci/baton/api/domain"
	"github.com/baton-ci/baton/internal/testkit"
)

// These tests prove a run behaves like `python -m pytest FILES` started by
// hand in the test project's root: the same tests with the same outcomes,
// and nothing written into the project. The projects are in
// testdata/projects: shop (pytest.ini with addopts, markers and testpaths;
// conftest.py at the root and two levels below; a helper package at the
// root; a data file read relative to __file__; parametrized, class-based,
// xfail, skip, failing and erroring tests), billing (pyproject.toml, src/
// layout through pythonpath, tests as a package, addopts -q) and tools
// (tox.ini with python_files = check_*.py, tests inside the package).

// copyProjects copies testdata/projects to a fresh catalog root and returns it.
func copyProjects(t *testing.T) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "uploads")
	require.NoError(t, os.CopyFS(dst, os.DirFS(filepath.Join("testdata", "projects"))))
	return dst
}

// verboseResult is one line of pytest -v: "path::test PASSED   [ 50%]".
var verboseResult = regexp.MustCompile(`(?m)^(\S+::\S+) (PASSED|FAILED|ERROR|SKIPPED|XFAIL|XPASS)\b`)

// byHand runs bare `python -m pytest -v -p no:cacheprovider FILES` in dir,
// as a user would (in a copy, since by hand pytest writes its cache there),
// and returns catalog node id -> outcome as the JUnit report would name it,
// read from pytest's own verbose lines rather than from Baton's parsing.
func byHand(t *testing.T, python, dir, prefix string, files ...string) map[string]string {
	t.Helper()
	cmd := exec.Command(python, append([]string{"-m", "pytest", "-v", "-p", "no:cacheprovider"}, files...)...)
	cmd.Dir = dir
	cmd.Env = append(cleanEnv(), "PYTHONDONTWRITEBYTECODE=1")
	out, _ := cmd.CombinedOutput()
	got := map[string]string{}
	for _, m := range verboseResult.FindAllStringSubmatch(string(out), -1) {
		// JUnit has no xfail/xpass: pytest reports an xfail as skipped and a
		// (non-strict) xpass as passed.
		outcome := map[string]string{"PASSED": domain.TestPassed, "FAILED": domain.TestFailed, "ERROR": domain.TestError,
			"SKIPPED": domain.TestSkipped, "XFAIL": domain.TestSkipped, "XPASS": domain.TestPassed}[m[2]]
		got[prefix+"/"+m[1]] = outcome
	}
	require.NotEmpty(t, got, "bare pytest in %s ran nothing:\n%s", dir, out)
	return got
}

func outcomes(tests []domain.TestResult) map[string]string {
	got := map[string]string{}
	for _, tr := range tests {
		got[tr.NodeID] = tr.Outcome
	}
	return got
}

// snapshot lists every entry below dir with its size and modification time.
func snapshot(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	require.NoError(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		out = append(out, fmt.Sprintf("%s %d %d", strings.TrimPrefix(p, dir), fi.Size(), fi.ModTime().UnixNano()))
		return nil
	}))
	sort.Strings(out)
	return out
}

func catalogSpec(root string, files ...string) Spec {
	s := spec(files...)
	s.Roots = map[string]string{"uploads": root}
	return s
}

func TestRunMatchesBarePytestInProjectRoot(t *testing.T) {
	t.Parallel()
	r := newRunner(t)
	root := copyProjects(t)
	before := snapshot(t, root)

	var out testkit.SyncBuffer
	got := r.Run(context.Background(), catalogSpec(root,
		"uploads/shop/tests/test_cart.py", "uploads/shop/tests/unit/test_override.py"), &out)
	log := out.String()

	want := byHand(t, r.Python, copyProjects(t)+"/shop", "uploads/shop", "tests/test_cart.py", "tests/unit/test_override.py")
	require.Equal(t, want, outcomes(got.Tests), log)
	require.Len(t, want, 12)
	require.Equal(t, domain.StatusFailed, got.Status, log)
	require.Equal(t, &domain.TestSummary{Passed: 8, Failed: 1, Errors: 1, Skipped: 2, Total: 12}, got.Summary)
	require.Contains(t, log, "rootdir: "+filepath.Join(root, "shop")+", configfile: pytest.ini")
	// The project's addopts (-ra) are in effect: its short summary shows.
	require.Contains(t, log, "short test summary info")
	require.Equal(t, before, snapshot(t, root), "nothing may be written into the project")
}

func TestRunSpanningProjectsMatchesBarePytestInEachRoot(t *testing.T) {
	t.Parallel()
	r := newRunner(t)
	root := copyProjects(t)
	before := snapshot(t, root)
	var out testkit.SyncBuffer
	progress := &ProgressCounter{}
	got := r.Run(context.Background(), catalogSpec(root,
		"uploads/tools/mylib/tests/check_core.py", "uploads/shop/tests/test_cart.py", "uploads/billing/tests/test_invoice.py"),
		io.MultiWriter(&out, progress))
	log := out.String()

	bare := copyProjects(t)
	want := byHand(t, r.Python, bare+"/shop", "uploads/shop", "tests/test_cart.py")
	for k, v := range byHand(t, r.Python, bare+"/billing", "uploads/billing", "-v", "tests/test_invoice.py") {
		want[k] = v
	}
	for k, v := range byHand(t, r.Python, bare+"/tools", "uploads/tools", "mylib/tests/check_core.py") {
		want[k] = v
	}
	require.Equal(t, want, outcomes(got.Tests), log)
	require.Equal(t, domain.StatusFailed, got.Status, "the worst outcome decides")
	require.Equal(t, 13, got.Summary.Total)
	require.Equal(t, 2, got.Summary.Failed)
	require.Equal(t, &domain.Progress{Completed: 13, Total: 13}, progress.Progress(), "progress adds up over the sessions")

	// One banner per project, in catalog order, each in its own root.
	i1 := strings.Index(log, "=== project 1/3: uploads/billing (root: pyproject.toml) ===")
	i2 := strings.Index(log, "=== project 2/3: uploads/shop (root: pytest.ini) ===")
	i3 := strings.Index(log, "=== project 3/3: uploads/tools (root: tox.ini) ===")
	require.True(t, i1 >= 0 && i1 < i2 && i2 < i3, log)
	require.Contains(t, log, "$ cd "+filepath.Join(root, "billing")+" && ")
	require.Regexp(t, `=== 3 pytest sessions ended after .*: failed \(tests_failed\), exit code 1 ===$`, lastLine(t, log))
	require.Equal(t, 1, strings.Count(log, "=== run 42 in "), "one run, one header")
	require.Equal(t, before, snapshot(t, root), "nothing may be written into the projects")
}

func TestRunSelectsNodeIDsKeywordsAndMarkers(t *testing.T) {
	t.Parallel()
	r := newRunner(t)
	root := copyProjects(t)
	cases := []struct {
		name string
		mod  func(*Spec)
		want []string
	}{
		{"node ids", func(s *Spec) {
			s.Files = nil
			s.Tests = []string{"uploads/shop/tests/test_cart.py::TestTotals::test_empty", "uploads/shop/tests/test_cart.py::test_prices_from_data_file[pear-3]"}
		}, []string{"uploads/shop/tests/test_cart.py::TestTotals::test_empty", "uploads/shop/tests/test_cart.py::test_prices_from_data_file[pear-3]"}},
		{"keyword", func(s *Spec) { s.Keyword = "quantities or empty" },
			[]string{"uploads/shop/tests/test_cart.py::TestTotals::test_empty", "uploads/shop/tests/test_cart.py::TestTotals::test_quantities"}},
		{"markers", func(s *Spec) { s.Markers = "smoke or slow" },
			[]string{"uploads/shop/tests/test_cart.py::TestTotals::test_quantities", "uploads/shop/tests/test_cart.py::test_marked_slow"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := catalogSpec(root, "uploads/shop/tests/test_cart.py")
			tc.mod(&s)
			var out testkit.SyncBuffer
			got := r.Run(context.Background(), s, &out)
			require.Equal(t, domain.StatusSuccess, got.Status, out.String())
			var ids []string
			for _, tr := range got.Tests {
				ids = append(ids, tr.NodeID)
			}
			sort.Strings(ids)
			require.Equal(t, tc.want, ids, out.String())
		})
	}
}
