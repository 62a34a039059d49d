package runner

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/baton-ci/baton/api/domain"
	"github.com/baton-ci/baton/internal/testkit"
)

func writeTree(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for p, c := range files {
		full := filepath.Join(root, filepath.FromSlash(p))
		require.NoError(t, os.MkdirAll(filepath.Dir(full), 0o755))
		require.NoError(t, os.WriteFile(full, []byte(c), 0o644))
	}
}

func TestPlanGroupsByProjectAndMapsPaths(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	root := filepath.Join(base, "uploads")
	writeTree(t, root, map[string]string{
		"shop/pytest.ini":         "[pytest]\naddopts = -q\n",
		"shop/tests/test_a.py":    "",
		"shop/tests/test_b.py":    "",
		"loose/test_x.py":         "",
		"other/deep/test_y.py":    "",
		"lib/setup.py":            "",
		"lib/tests/test_lib.py":   "",
		"imp/pytest.ini":          "[pytest]\naddopts = --import-mode=importlib\n",
		"imp/a/test_same.py":      "",
		"imp/b/test_same.py":      "",
		"pre/a/test_same.py":      "",
		"pre/b/test_same.py":      "",
		"pre/pkg/__init__.py":     "",
		"pre/pkg/test_same.py":    "",
		"pre/pytest.ini":          "",
		"-dash/pytest.ini":        "",
		"-dash/-test_weird.py":    "",
		"shop/tests/test_c.py":    "",
		"shop/tests/unit/test.py": "",
	})
	work := filepath.Join(base, "work")
	require.NoError(t, os.Mkdir(work, 0o755))
	s := spec("uploads/shop/tests/test_b.py", "uploads/loose/test_x.py", "uploads/lib/tests/test_lib.py",
		"uploads/other/deep/test_y.py", "uploads/imp/a/test_same.py", "uploads/imp/b/test_same.py",
		"uploads/pre/a/test_same.py", "uploads/pre/b/test_same.py", "uploads/pre/pkg/test_same.py", "uploads/-dash/-test_weird.py")
	s.Tests = []string{"uploads/shop/tests/test_a.py::TestX::test_y[1-2]"}
	s.Keyword, s.Markers = "not slow", "smoke"
	s.Roots = map[string]string{"uploads": root}
	invs, err := Plan("/usr/bin/python3", s, work, nil)
	require.NoError(t, err)

	type row struct{ project, dir, root string }
	var got []row
	tests := map[string][]string{}
	for _, inv := range invs {
		got = append(got, row{inv.Project, inv.Dir, inv.Root})
		tests[inv.Project] = append(tests[inv.Project], inv.Tests...)
		assert.Equal(t, "--", inv.Argv[len(inv.Argv)-len(inv.Tests)-1], "tests follow --")
		assert.Equal(t, inv.Tests, inv.Argv[len(inv.Argv)-len(inv.Tests):])
		assert.Contains(t, inv.Argv, "--junitxml="+inv.Report)
		assert.Equal(t, work, filepath.Dir(inv.Report), "the report is outside the project")
		assert.Contains(t, inv.Argv, "not slow")
		assert.Contains(t, inv.Argv, "smoke")
		assert.NotContains(t, inv.Argv, "-p", "no plugin is disabled")
		for _, a := range inv.Argv {
			assert.NotContains(t, a, "--import-mode", "the import mode is the project's")
			assert.NotContains(t, a, "--capture", "the capture mode is the project's")
		}
	}
	byProject := map[string]row{}
	for _, r := range got {
		byProject[r.project] = r
	}
	assert.Equal(t, row{"uploads/shop", filepath.Join(root, "shop"), "pytest.ini"}, byProject["uploads/shop"])
	assert.Equal(t, row{"uploads/lib", filepath.Join(root, "lib"), "setup.py"}, byProject["uploads/lib"])
	assert.Equal(t, row{"uploads", root, "catalog root"}, byProject["uploads"])
	assert.Equal(t, []string{"tests/test_b.py", "tests/test_a.py::TestX::test_y[1-2]"}, tests["uploads/shop"])
	assert.Equal(t, []string{"loose/test_x.py", "other/deep/test_y.py"}, tests["uploads"])
	assert.Equal(t, []string{"-test_weird.py"}, tests["uploads/-dash"])

	// importlib: one session; prepend (default): the two a/ b/ test_same.py
	// clash, pkg/test_same.py is pkg.test_same and does not.
	count := map[string]int{}
	for _, inv := range invs {
		count[inv.Project]++
	}
	assert.Equal(t, 1, count["uploads/imp"])
	assert.Equal(t, 2, count["uploads/pre"])
	assert.Equal(t, []string{"a/test_same.py", "pkg/test_same.py", "b/test_same.py"}, tests["uploads/pre"])

	// Verbosity: -q in addopts needs two -v for one line per test.
	for _, inv := range invs {
		v := 0
		for _, a := range inv.Argv {
			if a == "-v" {
				v++
			}
		}
		want := 1
		if inv.Project == "uploads/shop" {
			want = 2
		}
		assert.Equal(t, want, v, inv.Project)
	}
	// Without a config, conftest files are looked for up to the project root only.
	for _, inv := range invs {
		hasCut := false
		for _, a := range inv.Argv {
			if a == "--confcutdir="+inv.Dir {
				hasCut = true
			}
		}
		assert.Equal(t, inv.Root == "catalog root" || inv.Root == "setup.py", hasCut, inv.Project)
	}
}

func TestPlanKeepsConfigAboveTheCatalogRootOut(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	writeTree(t, base, map[string]string{"pytest.ini": "[pytest]\naddopts = -x\n", "cat/test_a.py": ""})
	work := t.TempDir()
	s := spec("cat/test_a.py")
	s.Roots = map[string]string{"cat": filepath.Join(base, "cat")}
	invs, err := Plan("py", s, work, nil)
	require.NoError(t, err)
	require.Len(t, invs, 1)
	stub := filepath.Join(work, "no-config-1.ini")
	assert.Contains(t, invs[0].Argv, stub)
	assert.Contains(t, invs[0].Argv, "--rootdir="+filepath.Join(base, "cat"))
	assert.Contains(t, invs[0].Note, filepath.Join(base, "pytest.ini"))
	assert.FileExists(t, stub)
}

func TestPlanRejectsPathsOutsideTheRoots(t *testing.T) {
	t.Parallel()
	s := spec("nowhere/test_a.py")
	s.Roots = map[string]string{"uploads": t.TempDir()}
	_, err := Plan("py", s, t.TempDir(), nil)
	require.Error(t, err)
}

func TestVerbosityBoost(t *testing.T) {
	t.Parallel()
	for args, want := range map[string]int{
		"":                  1,
		"-q":                2,
		"-qq":               3,
		"-v":                0,
		"--verbose -q":      1,
		"--verbosity=0":     1,
		"--verbosity=2":     0,
		"-ra -q --tb=short": 2,
	} {
		var list []string
		if args != "" {
			list, _ = shlexArgs(args)
		}
		assert.Len(t, verbosityBoost(list), want, args)
	}
}

func TestNodeIDFromJUnit(t *testing.T) {
	t.Parallel()
	files := []string{"tests/v1.2/test_api.py", "tests/test_cart.py"}
	cases := []struct {
		c    junitCase
		want string
	}{
		{junitCase{Classname: "tests.test_cart", Name: "test_total", File: "tests/test_cart.py"}, "tests/test_cart.py::test_total"},
		{junitCase{Classname: "tests.test_cart.TestA.TestB", Name: "test_x[a.b::c]", File: "tests/test_cart.py"}, "tests/test_cart.py::TestA::TestB::test_x[a.b::c]"},
		// Inherited from a base class in another file: file names the base's file.
		{junitCase{Classname: "tests.test_cart.TestChild", Name: "test_base", File: "tests/base.py"}, "tests/test_cart.py::TestChild::test_base"},
		// A dot in a directory name.
		{junitCase{Classname: "tests.v1.2.test_api.TestX", Name: "test_y", File: "tests/v1.2/test_api.py"}, "tests/v1.2/test_api.py::TestX::test_y"},
		// A file that failed to collect.
		{junitCase{Classname: "", Name: "tests.test_cart"}, "tests/test_cart.py"},
	}
	for _, tc := range cases {
		assert.Equal(t, tc.want, nodeID(tc.c, files))
	}
}

// Nothing above the catalog root takes part in a run: not a conftest.py
// (pytest 7 would load it for a project without a config file) and not a
// pytest config (pytest would take it as its own).
func TestRunIgnoresEverythingAboveTheCatalogRoot(t *testing.T) {
	t.Parallel()
	r := newRunner(t)
	for name, above := range map[string]map[string]string{
		"conftest": {"conftest.py": "raise RuntimeError('a conftest above the catalog root was loaded')\n"},
		"conftest and config": {"conftest.py": "raise RuntimeError('a conftest above the catalog root was loaded')\n",
			"pytest.ini": "[pytest]\naddopts = --no-such-option\n"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			base := t.TempDir()
			writeTree(t, base, above)
			writeTree(t, base, map[string]string{"cat/pkg/test_a.py": "def test_a():\n    pass\n"})
			s := spec("cat/pkg/test_a.py")
			s.Roots = map[string]string{"cat": filepath.Join(base, "cat")}
			var out testkit.SyncBuffer
			got := r.Run(context.Background(), s, &out)
			require.Equal(t, domain.StatusSuccess, got.Status, out.String())
			require.Equal(t, "cat/pkg/test_a.py::test_a", got.Tests[0].NodeID)
			require.Contains(t, out.String(), "rootdir: "+filepath.Join(base, "cat"))
		})
	}
}

// TestSplitByModule: files share a pytest session unless a module or
// package name would stand for two paths in it.
func TestSplitByModule(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	writeTree(t, root, map[string]string{
		"a/tests/__init__.py": "", "a/tests/test_a.py": "", "a/tests/test_b.py": "",
		"a/tests/sub/__init__.py": "", "a/tests/sub/test_c.py": "",
		"b/tests/__init__.py": "", "b/tests/test_z.py": "",
		"c/test_a.py": "", "d/test_a.py": "", "e/pkg/__init__.py": "",
	})
	batches := func(mode string, rels ...string) [][]string {
		var tgs []target
		for _, r := range rels {
			tgs = append(tgs, target{abs: filepath.Join(root, r)})
		}
		var out [][]string
		for _, b := range splitByModule(tgs, mode) {
			var names []string
			for _, tg := range b {
				rel, _ := filepath.Rel(root, tg.abs)
				names = append(names, filepath.ToSlash(rel))
			}
			out = append(out, names)
		}
		return out
	}
	assert.Equal(t, [][]string{{"a/tests/test_a.py", "a/tests/test_b.py", "a/tests/sub/test_c.py", "c/test_a.py"}},
		batches("prepend", "a/tests/test_a.py", "a/tests/test_b.py", "a/tests/sub/test_c.py", "c/test_a.py"),
		"one package, and a loose test_a beside tests.test_a")
	assert.Equal(t, [][]string{{"a/tests/test_a.py", "a/tests/sub/test_c.py"}, {"b/tests/test_z.py"}},
		batches("prepend", "a/tests/test_a.py", "b/tests/test_z.py", "a/tests/sub/test_c.py"), "two tests packages")
	assert.Equal(t, [][]string{{"c/test_a.py"}, {"d/test_a.py"}}, batches("append", "c/test_a.py", "d/test_a.py"))
	assert.Equal(t, [][]string{{"c/test_a.py", "d/test_a.py", "b/tests/test_z.py", "a/tests/test_a.py"}},
		batches("importlib", "c/test_a.py", "d/test_a.py", "b/tests/test_z.py", "a/tests/test_a.py"))
	assert.Equal(t, [][]string{{"e/pkg/__init__.py", "a/tests/test_a.py"}}, batches("prepend", "e/pkg/__init__.py", "a/tests/test_a.py"),
		"a package's __init__.py is the package")
}
