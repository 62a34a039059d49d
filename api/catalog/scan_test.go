package catalog

import (
	"cmp"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/baton-ci/baton/api/domain"
)

type fileRow struct {
	Path, Directory string
	Size            int64
}

func fileRows(files []domain.TestFile) []fileRow {
	rows := make([]fileRow, len(files))
	for i, f := range files {
		rows[i] = fileRow{f.Path, f.Directory, f.SizeBytes}
	}
	return rows
}

func TestScan(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	mkfile(t, f.path("sample-tests/test_success.py"), "assert True\n")
	mkfile(t, f.path("sample-tests/smoke_test.py"), "ab")
	mkfile(t, f.path("sample-tests/helper.py"), "x")
	mkfile(t, f.path("sample-tests/conftest.py"), "x")
	mkfile(t, f.path("sample-tests/test_notes.txt"), "x")
	mkfile(t, f.path("sample-tests/test_x.pyc"), "x")
	mkfile(t, f.path("sample-tests/Test_upper.py"), "x")
	mkfile(t, f.path("sample-tests/.test_hidden.py"), "x")
	mkfile(t, f.path("sample-tests/.upload-0123.tmp"), "x")
	mkfile(t, f.path("sample-tests/.hidden/test_in_hidden.py"), "x")
	mkfile(t, f.path("sample-tests/__pycache__/test_cached.py"), "x")
	mkfile(t, f.path("sample-tests/nested/__pycache__/test_cached.py"), "x")
	mkfile(t, f.path("sample-tests/nested/deeper/test_deep.py"), "deep")
	mkfile(t, f.path("sample-tests/a/test_2.py"), "")
	mkfile(t, f.path("sample-tests/a-b/test_1.py"), "")
	mkfile(t, f.path("sample-tests/a-b/c_test.py"), "")
	mkfile(t, f.path("sample-tests/my dir/test_space.py"), "")
	mkfile(t, f.path("sample-tests/test_\xff.py"), "not UTF-8")
	mkfile(t, f.path("sample-tests/test_\x01.py"), "control char")
	mkdir(t, f.path("sample-tests/empty"))
	mkdir(t, f.path("sample-tests/test_dirlike.py"))
	mkfile(t, f.path("uploads/x/test_u.py"), "u")
	mkfile(t, f.path("vendor/test_v.py"), "v")
	mkfile(t, f.path("outside/test_out.py"), "out")
	symlink(t, f.path("sample-tests/nested"), f.path("sample-tests/linkdir"))
	symlink(t, f.path("outside"), f.path("sample-tests/outdir"))
	symlink(t, "nested/deeper/test_deep.py", f.path("sample-tests/test_inlink.py"))
	symlink(t, f.path("uploads/x/test_u.py"), f.path("sample-tests/test_crossroot.py"))
	symlink(t, f.path("outside/test_out.py"), f.path("sample-tests/test_outlink.py"))
	symlink(t, "../outside/test_out.py", f.path("uploads/test_relout.py"))
	symlink(t, f.path("sample-tests/missing.py"), f.path("sample-tests/test_dangling.py"))
	symlink(t, f.path("sample-tests/nested"), f.path("sample-tests/test_linkdir.py"))

	files, dirs, err := f.cat.Scan()
	require.NoError(t, err)

	require.Equal(t, []fileRow{
		{"sample-tests/a-b/c_test.py", "sample-tests/a-b", 0},
		{"sample-tests/a-b/test_1.py", "sample-tests/a-b", 0},
		{"sample-tests/a/test_2.py", "sample-tests/a", 0},
		{"sample-tests/my dir/test_space.py", "sample-tests/my dir", 0},
		{"sample-tests/nested/deeper/test_deep.py", "sample-tests/nested/deeper", 4},
		{"sample-tests/smoke_test.py", "sample-tests", 2},
		// Symlinks inside the roots are listed with their target's size.
		{"sample-tests/test_crossroot.py", "sample-tests", 1},
		{"sample-tests/test_inlink.py", "sample-tests", 4},
		{"sample-tests/test_success.py", "sample-tests", 12},
		{"uploads/x/test_u.py", "uploads/x", 1},
		{"vendor/test_v.py", "vendor", 1},
	}, fileRows(files))
	require.True(t, slices.IsSortedFunc(files, func(a, b domain.TestFile) int { return cmp.Compare(a.Path, b.Path) }))

	require.Equal(t, []domain.TestDirectory{
		{Path: "sample-tests", Writable: true, FileCount: 4},
		{Path: "sample-tests/a", Writable: true, FileCount: 1},
		{Path: "sample-tests/a-b", Writable: true, FileCount: 2},
		{Path: "sample-tests/empty", Writable: true},
		// Upload would refuse the space, so the directory is not offered as writable.
		{Path: "sample-tests/my dir", Writable: false, FileCount: 1},
		{Path: "sample-tests/nested", Writable: true},
		{Path: "sample-tests/nested/deeper", Writable: true, FileCount: 1},
		// A directory named like a test file is a directory, not a test file.
		{Path: "sample-tests/test_dirlike.py", Writable: false},
		{Path: "uploads", Writable: true},
		{Path: "uploads/x", Writable: true, FileCount: 1},
		{Path: "vendor", Writable: false, FileCount: 1},
	}, dirs)

	fi, err := os.Stat(f.path("sample-tests/test_success.py"))
	require.NoError(t, err)
	got := files[slices.IndexFunc(files, func(f domain.TestFile) bool { return f.Path == "sample-tests/test_success.py" })]
	require.True(t, got.ModifiedAt.Equal(fi.ModTime().Truncate(time.Microsecond)))
	require.Equal(t, time.UTC, got.ModifiedAt.Location())
}

func TestScanEmptyCatalog(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	files, dirs, err := f.cat.Scan()
	require.NoError(t, err)
	require.NotNil(t, files, "an empty catalog is an empty list, not null")
	require.Empty(t, files)
	require.Equal(t, []domain.TestDirectory{
		{Path: "sample-tests", Writable: true},
		{Path: "uploads", Writable: true},
		{Path: "vendor"},
	}, dirs)
}

func TestScanFailsWhenARootDisappears(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	require.NoError(t, os.RemoveAll(f.path("vendor")))
	_, _, err := f.cat.Scan()
	require.Error(t, err)
}

func TestEqualDetectsChanges(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	mkfile(t, f.path("uploads/test_a.py"), "a")
	scan := func() ([]domain.TestFile, []domain.TestDirectory) {
		t.Helper()
		files, dirs, err := f.cat.Scan()
		require.NoError(t, err)
		return files, dirs
	}
	files1, dirs1 := scan()
	files2, dirs2 := scan()
	require.True(t, EqualFiles(files1, files2))
	require.True(t, EqualDirectories(dirs1, dirs2))

	// Same instant in another location is the same time.
	shifted := slices.Clone(files1)
	shifted[0].ModifiedAt = shifted[0].ModifiedAt.In(time.FixedZone("X", 3600))
	require.True(t, EqualFiles(files1, shifted))

	mtime := files1[0].ModifiedAt.Add(-time.Hour)
	require.NoError(t, os.Chtimes(f.path("uploads/test_a.py"), mtime, mtime))
	files3, dirs3 := scan()
	require.False(t, EqualFiles(files1, files3), "modification time changed")
	require.True(t, EqualDirectories(dirs1, dirs3))

	require.NoError(t, os.WriteFile(f.path("uploads/test_a.py"), []byte("ab"), 0o644))
	require.NoError(t, os.Chtimes(f.path("uploads/test_a.py"), mtime, mtime))
	files4, _ := scan()
	require.False(t, EqualFiles(files3, files4), "size changed")

	mkfile(t, f.path("uploads/test_b.py"), "")
	files5, dirs5 := scan()
	require.False(t, EqualFiles(files4, files5), "file added")
	require.False(t, EqualDirectories(dirs3, dirs5), "file count changed")

	mkdir(t, f.path("uploads/new"))
	files6, dirs6 := scan()
	require.True(t, EqualFiles(files5, files6))
	require.False(t, EqualDirectories(dirs5, dirs6), "directory added")
}

// The catalog lists what pytest would collect in each test project: its
// python_files, not into its norecursedirs or virtualenvs, nested projects
// with their own rules; Resolve accepts exactly what Scan lists.
func TestScanFollowsEachProjectsCollectionRules(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	for p, content := range map[string]string{
		"vendor/tools/tox.ini":                   "[tox]\nenvlist = py3\n\n[pytest]\npython_files = check_*.py\nnorecursedirs = fixtures\n",
		"vendor/tools/pkg/check_core.py":         "",
		"vendor/tools/pkg/test_not_collected.py": "",
		"vendor/tools/fixtures/check_skipped.py": "",
		"vendor/tools/build/check_built.py":      "", // norecursedirs replaced: build is collected
		"vendor/tools/sub/pytest.ini":            "",
		"vendor/tools/sub/test_default_again.py": "",
		"vendor/tools/sub/check_not_here.py":     "",
		"vendor/repo/pyproject.toml":             "[tool.pytest.ini_options]\npython_files = [\"*_spec.py\", \"test_*.py\"]\n",
		"vendor/repo/a/cart_spec.py":             "",
		"vendor/repo/a/test_x.py":                "",
		"vendor/repo/build/test_in_build.py":     "", // default norecursedirs
		"vendor/repo/node_modules/test_nm.py":    "",
		"vendor/repo/env/bin/activate":           "",
		"vendor/repo/env/lib/test_in_venv.py":    "",
		"vendor/plain/test_plain.py":             "",
		"vendor/plain/check_plain.py":            "",
	} {
		mkfile(t, f.path(p), content)
	}
	files, _, err := f.cat.Scan()
	require.NoError(t, err)
	var got []string
	for _, file := range files {
		if strings.HasPrefix(file.Path, "vendor/") {
			got = append(got, file.Path)
		}
	}
	want := []string{
		"vendor/plain/test_plain.py",
		"vendor/repo/a/cart_spec.py",
		"vendor/repo/a/test_x.py",
		"vendor/tools/build/check_built.py",
		"vendor/tools/pkg/check_core.py",
		"vendor/tools/sub/test_default_again.py",
	}
	require.Equal(t, want, got)
	for _, p := range want {
		_, err := f.cat.Resolve(p)
		require.NoError(t, err, p)
	}
	for _, p := range []string{"vendor/tools/pkg/test_not_collected.py", "vendor/tools/fixtures/check_skipped.py",
		"vendor/tools/sub/check_not_here.py", "vendor/repo/build/test_in_build.py", "vendor/repo/node_modules/test_nm.py",
		"vendor/repo/env/lib/test_in_venv.py", "vendor/plain/check_plain.py"} {
		_, err := f.cat.Resolve(p)
		require.Equal(t, domain.ENOTFOUND, domain.ErrorCodeOf(err), p)
	}
}
