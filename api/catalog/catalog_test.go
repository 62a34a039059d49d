package catalog

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/baton-ci/baton/api/domain"
)

func TestNewDefaultsAndCreatesWritableRoots(t *testing.T) {
	t.Parallel()
	base, err := filepath.EvalSymlinks(t.TempDir())
	require.NoError(t, err)
	mkdir(t, filepath.Join(base, "ro"))

	c, err := New([]Root{
		{Dir: filepath.Join(base, "new", "uploads"), Writable: true},
		{Name: "vendor", Dir: filepath.Join(base, "ro") + "/"},
	}, Options{})
	require.NoError(t, err)

	require.DirExists(t, filepath.Join(base, "new", "uploads"))
	require.Equal(t, []Root{
		{Name: "uploads", Dir: filepath.Join(base, "new", "uploads"), Writable: true},
		{Name: "vendor", Dir: filepath.Join(base, "ro")},
	}, c.Roots())
	require.Equal(t, int64(1<<20), c.MaxUploadBytes())
}

func TestNewResolvesSymlinkedRoot(t *testing.T) {
	t.Parallel()
	base, err := filepath.EvalSymlinks(t.TempDir())
	require.NoError(t, err)
	mkdir(t, filepath.Join(base, "real"))
	symlink(t, filepath.Join(base, "real"), filepath.Join(base, "tests"))
	mkfile(t, filepath.Join(base, "real", "test_a.py"), "")

	c, err := New([]Root{{Dir: filepath.Join(base, "tests")}}, Options{})
	require.NoError(t, err)
	require.Equal(t, "tests", c.Roots()[0].Name)
	files, _, err := c.Scan()
	require.NoError(t, err)
	require.Len(t, files, 1)
	require.Equal(t, "tests/test_a.py", files[0].Path)
}

func TestNewRejectsBadRoots(t *testing.T) {
	t.Parallel()
	base, err := filepath.EvalSymlinks(t.TempDir())
	require.NoError(t, err)
	a, b := filepath.Join(base, "a"), filepath.Join(base, "b")
	mkdir(t, a)
	mkdir(t, b)
	mkfile(t, filepath.Join(base, "file"), "x")

	tests := []struct {
		name  string
		roots []Root
		opts  Options
		want  string
	}{
		{"no roots", nil, Options{}, "no roots"},
		{"relative dir", []Root{{Dir: "a"}}, Options{}, "not absolute"},
		{"duplicate name", []Root{{Dir: a}, {Name: "a", Dir: b}}, Options{}, `two roots are named "a"`},
		{"hidden name", []Root{{Name: ".a", Dir: a}}, Options{}, "hidden"},
		{"name with space", []Root{{Name: "a b", Dir: a}}, Options{}, "only ASCII letters"},
		{"name with slash", []Root{{Name: "a/b", Dir: a}}, Options{}, "only ASCII letters"},
		{"pycache name", []Root{{Dir: filepath.Join(base, "__pycache__")}}, Options{}, "__pycache__"},
		{"missing read-only root", []Root{{Dir: filepath.Join(base, "missing")}}, Options{}, "no such file"},
		{"root is a file", []Root{{Dir: filepath.Join(base, "file")}}, Options{}, "not a directory"},
		{"nested roots", []Root{{Dir: a}, {Name: "inner", Dir: filepath.Join(a, "inner"), Writable: true}}, Options{}, "overlap"},
		{"same dir twice", []Root{{Dir: a}, {Name: "other", Dir: a}}, Options{}, "overlap"},
		{"negative limit", []Root{{Dir: a}}, Options{MaxUploadBytes: -1}, "negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.roots, tt.opts)
			require.Error(t, err)
			require.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestResolve(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	mkfile(t, f.path("sample-tests/test_a.py"), "")
	mkfile(t, f.path("sample-tests/sub/b_test.py"), "")
	mkfile(t, f.path("sample-tests/helper.py"), "")
	mkfile(t, f.path("sample-tests/.hidden/test_h.py"), "")
	mkfile(t, f.path("sample-tests/__pycache__/test_c.py"), "")
	mkfile(t, f.path("uploads/x/test_u.py"), "")
	mkfile(t, f.path("outside/test_out.py"), "")
	mkdir(t, f.path("sample-tests/test_dir.py"))
	symlink(t, f.path("uploads/x/test_u.py"), f.path("sample-tests/test_cross.py"))
	symlink(t, f.path("outside/test_out.py"), f.path("sample-tests/test_escape.py"))
	symlink(t, f.path("sample-tests/sub"), f.path("sample-tests/linkdir"))
	symlink(t, f.path("outside"), f.path("sample-tests/outdir"))

	ok := map[string]string{
		"sample-tests/test_a.py":     "sample-tests/test_a.py",
		"sample-tests/sub/b_test.py": "sample-tests/sub/b_test.py",
		"uploads/x/test_u.py":        "uploads/x/test_u.py",
		// The link itself is returned, so pytest sees the name the user chose.
		"sample-tests/test_cross.py": "sample-tests/test_cross.py",
	}
	for in, want := range ok {
		got, err := f.cat.Resolve(in)
		require.NoError(t, err, in)
		require.Equal(t, f.path(want), got)
	}

	invalid := []string{
		"", "/etc/passwd", "sample-tests/../outside/test_out.py", "../outside/test_out.py",
		"sample-tests//test_a.py", "sample-tests/./test_a.py", "sample-tests/test_a.py/",
		`sample-tests\test_a.py`, "sample-tests/test_a.py\x00", "sample-tests/\ntest_a.py",
		f.path("sample-tests/test_a.py"),
	}
	for _, in := range invalid {
		_, err := f.cat.Resolve(in)
		require.Equal(t, domain.EINVALID, domain.ErrorCodeOf(err), "%q: %v", in, err)
	}

	notFound := []string{
		"sample-tests", "nope/test_a.py", "sample-tests/test_missing.py", "sample-tests/helper.py",
		"sample-tests/.hidden/test_h.py", "sample-tests/__pycache__/test_c.py", "sample-tests/test_dir.py",
		"sample-tests/test_escape.py", "sample-tests/linkdir/b_test.py", "sample-tests/outdir/test_out.py",
		"outside/test_out.py",
	}
	for _, in := range notFound {
		_, err := f.cat.Resolve(in)
		require.Equal(t, domain.ENOTFOUND, domain.ErrorCodeOf(err), "%q: %v", in, err)
	}

	// Resolve accepts exactly what Scan lists.
	files, _, err := f.cat.Scan()
	require.NoError(t, err)
	require.Len(t, files, len(ok))
	for _, file := range files {
		_, err := f.cat.Resolve(file.Path)
		require.NoError(t, err)
		require.True(t, strings.HasPrefix(file.Path, file.Directory+"/"))
	}
}
