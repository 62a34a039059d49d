package catalog

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/baton-ci/baton/api/domain"
	"github.com/baton-ci/baton/internal/testkit"
)

const validPython = "def test_ok():\n    assert 1 + 1 == 2\n"

// populate gives a fixture the existing files and traps the rejection cases
// aim at.
func populate(t *testing.T, f *fixture) {
	t.Helper()
	mkfile(t, f.path("sample-tests/test_success.py"), "def test_a():\n    pass\n")
	mkfile(t, f.path("uploads/existing/test_old.py"), "old = 1\n")
	mkfile(t, f.path("uploads/afile"), "not a directory")
	mkdir(t, f.path("uploads/test_dir.py"))
	mkfile(t, f.path("outside/test_target.py"), "outside = 1\n")
	mkdir(t, f.path("outside/sub"))
	symlink(t, f.path("outside"), f.path("uploads/outlink"))
	symlink(t, "existing", f.path("uploads/inlink"))
	symlink(t, f.path("outside/test_target.py"), f.path("uploads/test_outfile.py"))
	symlink(t, "existing/test_old.py", f.path("uploads/test_infile.py"))
}

func TestUploadRejectsBadInputWithoutWriting(t *testing.T) {
	t.Parallel()
	py := testkit.Python(t)
	long := func(n int) string { return strings.Repeat("a", n) }
	tests := []struct {
		name      string
		dir, file string
		content   string
		overwrite bool
		blank     string // "directory" or "file": send that field empty
		code      domain.ErrorCode
		field     string
		want      string
	}{
		// directory
		{name: "directory missing", blank: "directory", code: domain.EINVALID, field: "directory", want: "is required"},
		{name: "directory absolute", dir: "/uploads/x", code: domain.EINVALID, field: "directory", want: "not an absolute path"},
		{name: "directory dotdot", dir: "uploads/../sample-tests", code: domain.EINVALID, field: "directory", want: `".."`},
		{name: "directory only dotdot", dir: "..", code: domain.EINVALID, field: "directory", want: `".."`},
		{name: "directory dotdot escaping", dir: "uploads/../../outside", code: domain.EINVALID, field: "directory", want: `".."`},
		{name: "directory dot", dir: "uploads/./x", code: domain.EINVALID, field: "directory", want: `"."`},
		{name: "directory backslash", dir: `uploads\x`, code: domain.EINVALID, field: "directory", want: `not "\"`},
		{name: "directory NUL", dir: "uploads/a\x00b", code: domain.EINVALID, field: "directory", want: "control characters"},
		{name: "directory newline", dir: "uploads/a\nb", code: domain.EINVALID, field: "directory", want: "control characters"},
		{name: "directory hidden", dir: "uploads/.hidden", code: domain.EINVALID, field: "directory", want: "hidden"},
		{name: "directory hidden middle", dir: "uploads/.git/x", code: domain.EINVALID, field: "directory", want: "hidden"},
		{name: "directory pycache", dir: "uploads/x/__pycache__", code: domain.EINVALID, field: "directory", want: "__pycache__"},
		{name: "directory empty element", dir: "uploads//x", code: domain.EINVALID, field: "directory", want: "empty elements"},
		{name: "directory trailing slash", dir: "uploads/x/", code: domain.EINVALID, field: "directory", want: "empty elements"},
		{name: "directory too long", dir: "uploads/" + strings.Repeat("abcdefg/", 31) + "x", code: domain.EINVALID, field: "directory", want: "at most 255 bytes"},
		{name: "directory element too long", dir: "uploads/" + long(101), code: domain.EINVALID, field: "directory", want: "longer than 100 bytes"},
		{name: "directory space", dir: "uploads/a b", code: domain.EINVALID, field: "directory", want: "only ASCII letters"},
		{name: "directory non-ASCII", dir: "uploads/zahlungen-über", code: domain.EINVALID, field: "directory", want: "only ASCII letters"},
		{name: "directory leading hyphen", dir: "uploads/-rf", code: domain.EINVALID, field: "directory", want: "starting with '-'"},
		{name: "directory unknown root", dir: "payments/smoke", code: domain.EINVALID, field: "directory", want: "not writable"},
		{name: "directory not a root", dir: "outside", code: domain.EINVALID, field: "directory", want: "not writable"},
		{name: "directory read-only root", dir: "vendor", code: domain.EINVALID, field: "directory", want: "not writable"},
		{name: "directory new under read-only root", dir: "vendor/new", code: domain.EINVALID, field: "directory", want: "not writable"},
		{name: "directory is a file", dir: "uploads/afile", code: domain.EINVALID, field: "directory", want: "uploads/afile exists and is not a directory"},
		{name: "directory below a file", dir: "uploads/afile/x", code: domain.EINVALID, field: "directory", want: "uploads/afile exists and is not a directory"},
		// file name
		{name: "file name missing", blank: "file", code: domain.EINVALID, field: "file", want: "name is required"},
		{name: "file not a test", file: "helper.py", code: domain.EINVALID, field: "file", want: "pytest would not collect it"},
		{name: "file wrong extension", file: "test_a.txt", code: domain.EINVALID, field: "file", want: "pytest would not collect it"},
		{name: "file bytecode", file: "test_a.pyc", code: domain.EINVALID, field: "file", want: "pytest would not collect it"},
		{name: "file upper case", file: "Test_a.py", code: domain.EINVALID, field: "file", want: "pytest would not collect it"},
		{name: "file upper extension", file: "test_a.PY", code: domain.EINVALID, field: "file", want: "pytest would not collect it"},
		{name: "file hyphen prefix", file: "test-a.py", code: domain.EINVALID, field: "file", want: "pytest would not collect it"},
		{name: "file conftest", file: "conftest.py", code: domain.EINVALID, field: "file", want: "pytest would not collect it"},
		{name: "file slash", file: "sub/test_a.py", code: domain.EINVALID, field: "file", want: `without "/"`},
		{name: "file traversal", file: "../test_a.py", code: domain.EINVALID, field: "file", want: `without "/"`},
		{name: "file backslash", file: `..\test_a.py`, code: domain.EINVALID, field: "file", want: `without "/" or "\"`},
		{name: "file NUL", file: "test_a\x00.py", code: domain.EINVALID, field: "file", want: "control characters"},
		{name: "file newline", file: "test_a\n.py", code: domain.EINVALID, field: "file", want: "control characters"},
		{name: "file hidden", file: ".test_a.py", code: domain.EINVALID, field: "file", want: "must not start with '.'"},
		{name: "file module starts with digit", file: "9_test.py", code: domain.EINVALID, field: "file", want: `"9_test" is not a valid Python module name`},
		{name: "file module hyphen", file: "test_a-b.py", code: domain.EINVALID, field: "file", want: "not a valid Python module name"},
		{name: "file module dot", file: "test_a.b.py", code: domain.EINVALID, field: "file", want: "not a valid Python module name"},
		{name: "file module space", file: "test_a b.py", code: domain.EINVALID, field: "file", want: "not a valid Python module name"},
		{name: "file module non-ASCII", file: "test_café.py", code: domain.EINVALID, field: "file", want: "not a valid Python module name"},
		{name: "file name too long", file: "test_" + long(93) + ".py", code: domain.EINVALID, field: "file", want: "at most 100 bytes"},
		// content
		{name: "content not UTF-8", content: "x = '\xff\xfe'\n", code: domain.EINVALID, field: "file", want: "not valid UTF-8"},
		{name: "content NUL byte", content: "x = 1\n\x00\n", code: domain.EINVALID, field: "file", want: "NUL byte at offset 6"},
		{name: "content syntax error", content: "x = 1\ny = 2\ndef f(:\n    pass\n", code: domain.EINVALID, field: "file", want: "is not valid Python: line 3: invalid syntax"},
		{name: "content unclosed paren", content: "print((1)\n", code: domain.EINVALID, field: "file", want: "line 1: '(' was never closed"},
		{name: "content bad indentation", content: "def f():\nreturn 1\n", code: domain.EINVALID, field: "file", want: "line 2: expected an indented block"},
		{name: "content unknown coding", content: "# coding: nope\nx = 1\n", code: domain.EINVALID, field: "file", want: "unknown encoding: nope"},
		{name: "content too deeply nested", content: strings.Repeat("-", 100000) + "1\n", code: domain.EINVALID, field: "file", want: "too deeply nested"},
		{name: "content too large", content: "#" + long(1<<20), code: domain.ETOOLARGE, field: "file", want: "at most 1048576 bytes"},
		// conflicts
		{name: "existing file", dir: "uploads/existing", file: "test_old.py", code: domain.ECONFLICT, want: "uploads/existing/test_old.py already exists; set overwrite=true to replace it"},
		{name: "existing file in root", dir: "sample-tests", file: "test_success.py", code: domain.ECONFLICT, want: "set overwrite=true"},
		{name: "existing directory", dir: "uploads", file: "test_dir.py", overwrite: true, code: domain.ECONFLICT, want: "not a regular file"},
		// symlinks
		{name: "symlinked directory outside", dir: "uploads/outlink", code: domain.EINVALID, field: "directory", want: "uploads/outlink is one"},
		{name: "below symlinked directory outside", dir: "uploads/outlink/sub", code: domain.EINVALID, field: "directory", want: "symbolic link"},
		{name: "new below symlinked directory outside", dir: "uploads/outlink/new/deeper", code: domain.EINVALID, field: "directory", want: "symbolic link"},
		{name: "symlinked directory inside", dir: "uploads/inlink", code: domain.EINVALID, field: "directory", want: "symbolic link"},
		{name: "symlinked file outside", dir: "uploads", file: "test_outfile.py", overwrite: true, code: domain.EINVALID, field: "file", want: "symbolic link"},
		{name: "symlinked file outside no overwrite", dir: "uploads", file: "test_outfile.py", code: domain.EINVALID, field: "file", want: "symbolic link"},
		{name: "symlinked file inside", dir: "uploads", file: "test_infile.py", overwrite: true, code: domain.EINVALID, field: "file", want: "symbolic link"},
		{name: "symlinked file through symlinked directory", dir: "uploads/outlink", file: "test_target.py", overwrite: true, code: domain.EINVALID, field: "directory", want: "symbolic link"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, Options{Python: py})
			populate(t, f)
			u := Upload{Directory: "uploads/new/nested", FileName: "test_new.py", Content: strings.NewReader(validPython), Overwrite: tt.overwrite}
			if tt.dir != "" || tt.blank == "directory" {
				u.Directory = tt.dir
			}
			if tt.file != "" || tt.blank == "file" {
				u.FileName = tt.file
			}
			if tt.content != "" {
				u.Content = strings.NewReader(tt.content)
			}
			before := testkit.Tree(t, f.base)

			_, err := f.cat.Upload(context.Background(), u)

			requireDomainError(t, err, tt.code, tt.field, tt.want)
			require.Equal(t, before, testkit.Tree(t, f.base), "a rejected upload must not change the tree")
		})
	}
}

func TestUploadReportsEveryInvalidField(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{Python: testkit.Python(t)})
	_, err := f.cat.Upload(context.Background(), Upload{Directory: "../x", FileName: "x.py", Content: strings.NewReader("")})
	var de *domain.Error
	require.ErrorAs(t, err, &de)
	require.Equal(t, domain.EINVALID, de.Code)
	require.Len(t, de.Fields, 2)
	require.Contains(t, de.Message, "directory must not contain")
	require.Contains(t, de.Message, "file name \"x.py\" must match")
}

func TestUploadWithoutContentIsInvalid(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{Python: testkit.Python(t)})
	_, err := f.cat.Upload(context.Background(), Upload{Directory: "uploads/x", FileName: "test_x.py"})
	requireDomainError(t, err, domain.EINVALID, "file", "content is missing")
}

func TestUploadPythonFailuresAreInternal(t *testing.T) {
	t.Parallel()
	falseBin, err := exec.LookPath("false")
	require.NoError(t, err)
	for name, py := range map[string]string{
		"not configured": "",
		"missing":        "/nonexistent/python3",
		"fails":          falseBin,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, Options{Python: py})
			populate(t, f)
			before := testkit.Tree(t, f.base)

			_, err := f.cat.Upload(context.Background(), Upload{Directory: "uploads/new", FileName: "test_new.py", Content: strings.NewReader(validPython)})

			require.Error(t, err)
			require.Equal(t, domain.EINTERNAL, domain.ErrorCodeOf(err), "a server fault must not look like a client error: %v", err)
			require.Equal(t, before, testkit.Tree(t, f.base))
		})
	}
}

func TestUploadCancelledWritesNothing(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{Python: testkit.Python(t)})
	before := testkit.Tree(t, f.base)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()

	_, err := f.cat.Upload(ctx, Upload{Directory: "uploads/new", FileName: "test_new.py", Content: strings.NewReader(validPython)})

	require.ErrorIs(t, err, context.Canceled)
	require.Equal(t, before, testkit.Tree(t, f.base))
}

// countingReader yields an endless stream of '#' and counts what it yields.
type countingReader struct{ n int64 }

func (r *countingReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = '#'
	}
	r.n += int64(len(p))
	return len(p), nil
}

func TestUploadSizeLimit(t *testing.T) {
	t.Parallel()
	const limit = 1000
	f := newFixture(t, Options{Python: testkit.Python(t), MaxUploadBytes: limit})
	before := testkit.Tree(t, f.base)

	r := &countingReader{}
	_, err := f.cat.Upload(context.Background(), Upload{Directory: "uploads/big", FileName: "test_big.py", Content: r})
	requireDomainError(t, err, domain.ETOOLARGE, "file", "at most 1000 bytes")
	require.Equal(t, int64(limit+1), r.n, "must read exactly one byte past the limit")
	require.Equal(t, before, testkit.Tree(t, f.base))

	got, err := f.cat.Upload(context.Background(), Upload{Directory: "uploads/big", FileName: "test_big.py", Content: io.LimitReader(&countingReader{}, limit)})
	require.NoError(t, err, "a file of exactly the limit is fine")
	require.Equal(t, int64(limit), got.SizeBytes)
}

func TestUploadIntoExistingDirectory(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{Python: testkit.Python(t)})
	populate(t, f)

	got, err := f.cat.Upload(context.Background(), Upload{Directory: "sample-tests", FileName: "checkout_test.py", Content: strings.NewReader(validPython)})
	require.NoError(t, err)

	require.Equal(t, "sample-tests/checkout_test.py", got.Path)
	require.Equal(t, "sample-tests", got.Directory)
	require.Equal(t, int64(len(validPython)), got.SizeBytes)
	b, err := os.ReadFile(f.path("sample-tests/checkout_test.py"))
	require.NoError(t, err)
	require.Equal(t, validPython, string(b))
	fi, err := os.Stat(f.path("sample-tests/checkout_test.py"))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o644), fi.Mode().Perm())
	requireNoTempFiles(t, f.path("sample-tests"))

	files, _, err := f.cat.Scan()
	require.NoError(t, err)
	require.Contains(t, files, got, "Upload returns what Scan will list")
	resolved, err := f.cat.Resolve(got.Path)
	require.NoError(t, err)
	require.Equal(t, f.path("sample-tests/checkout_test.py"), resolved)
}

func TestUploadIntoNewNestedDirectory(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{Python: testkit.Python(t)})

	got, err := f.cat.Upload(context.Background(), Upload{Directory: "uploads/payments/smoke-v2", FileName: "test_api.py", Content: strings.NewReader(validPython)})
	require.NoError(t, err)
	require.Equal(t, "uploads/payments/smoke-v2/test_api.py", got.Path)
	require.Equal(t, "uploads/payments/smoke-v2", got.Directory)

	files, dirs, err := f.cat.Scan()
	require.NoError(t, err)
	require.Equal(t, []domain.TestFile{got}, files)
	require.Contains(t, dirs, domain.TestDirectory{Path: "uploads/payments", Writable: true})
	require.Contains(t, dirs, domain.TestDirectory{Path: "uploads/payments/smoke-v2", Writable: true, FileCount: 1})
	requireNoTempFiles(t, f.path("uploads/payments/smoke-v2"))
}

func TestUploadAcceptsEdgeContent(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{Python: testkit.Python(t)})
	for name, content := range map[string]string{
		"test_empty.py":   "",
		"test_bom.py":     "\ufeffimport os\n",
		"test_unicode.py": "def test_grüße():\n    assert 'ß'.upper() == 'SS'\n",
		"test_.py":        "x = 1",
		"_test.py":        "x = 1",
	} {
		_, err := f.cat.Upload(context.Background(), Upload{Directory: "uploads", FileName: name, Content: strings.NewReader(content)})
		require.NoError(t, err, name)
	}
}

func TestUploadOverwrite(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{Python: testkit.Python(t)})
	populate(t, f)
	target := f.path("uploads/existing/test_old.py")

	_, err := f.cat.Upload(context.Background(), Upload{Directory: "uploads/existing", FileName: "test_old.py", Content: strings.NewReader("new = 2\n")})
	requireDomainError(t, err, domain.ECONFLICT, "", "already exists")
	b, err := os.ReadFile(target)
	require.NoError(t, err)
	require.Equal(t, "old = 1\n", string(b))

	got, err := f.cat.Upload(context.Background(), Upload{Directory: "uploads/existing", FileName: "test_old.py", Content: strings.NewReader("new = 2\n"), Overwrite: true})
	require.NoError(t, err)
	require.Equal(t, int64(8), got.SizeBytes)
	b, err = os.ReadFile(target)
	require.NoError(t, err)
	require.Equal(t, "new = 2\n", string(b))
	requireNoTempFiles(t, f.path("uploads/existing"))

	// Overwriting a file that does not exist yet simply creates it.
	_, err = f.cat.Upload(context.Background(), Upload{Directory: "uploads/fresh", FileName: "test_new.py", Content: strings.NewReader(validPython), Overwrite: true})
	require.NoError(t, err)
	require.FileExists(t, f.path("uploads/fresh/test_new.py"))
}

func TestUploadConcurrentSameNewNameHasOneWinner(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{Python: testkit.Python(t)})
	const n = 50
	contents := make([]string, n)
	for i := range contents {
		// Large enough that the writes overlap instead of finishing one by one.
		contents[i] = fmt.Sprintf("UPLOAD = %d\n", i) + strings.Repeat(fmt.Sprintf("# filler from upload %d\n", i), 4000)
	}

	start := make(chan struct{})
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			<-start
			_, errs[i] = f.cat.Upload(context.Background(), Upload{Directory: "uploads/race/new", FileName: "test_race.py", Content: strings.NewReader(contents[i])})
		})
	}
	close(start)
	wg.Wait()

	winner := -1
	for i, err := range errs {
		if err == nil {
			require.Equal(t, -1, winner, "uploads %d and %d both succeeded", winner, i)
			winner = i
			continue
		}
		requireDomainError(t, err, domain.ECONFLICT, "", "already exists")
	}
	require.NotEqual(t, -1, winner, "one upload must succeed")
	b, err := os.ReadFile(f.path("uploads/race/new/test_race.py"))
	require.NoError(t, err)
	require.Equal(t, contents[winner], string(b), "the file is exactly the winner's upload")
	entries, err := os.ReadDir(f.path("uploads/race/new"))
	require.NoError(t, err)
	require.Len(t, entries, 1, "no temporary file may be left behind")
}

func TestUploadConcurrentOverwritesNeverExposePartialFiles(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{Python: testkit.Python(t)})
	const n = 20
	valid := map[string]bool{}
	contents := make([]string, n)
	for i := range contents {
		contents[i] = strings.Repeat(fmt.Sprintf("# upload %d\n", i), 5000+i)
		valid[contents[i]] = true
	}
	target := f.path("uploads/hot/test_hot.py")

	var done atomic.Bool
	var reads atomic.Int64
	readerErr := make(chan error, 1)
	go func() {
		for !done.Load() {
			b, err := os.ReadFile(target)
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			if err != nil {
				readerErr <- err
				return
			}
			reads.Add(1)
			if !valid[string(b)] {
				readerErr <- fmt.Errorf("read a partial or mixed file of %d bytes", len(b))
				return
			}
		}
		readerErr <- nil
	}()

	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_, err := f.cat.Upload(context.Background(), Upload{Directory: "uploads/hot", FileName: "test_hot.py", Content: strings.NewReader(contents[i]), Overwrite: true})
			require.NoError(t, err)
		})
	}
	wg.Wait()
	done.Store(true)
	require.NoError(t, <-readerErr)

	b, err := os.ReadFile(target)
	require.NoError(t, err)
	require.True(t, valid[string(b)], "the final file is one complete upload")
	requireNoTempFiles(t, f.path("uploads/hot"))
}

func requireNoTempFiles(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		require.False(t, strings.HasPrefix(e.Name(), "."), "left behind: %s", filepath.Join(dir, e.Name()))
	}
}

// A single file uploaded into a project must match that project's
// python_files, not pytest's defaults.
func TestUploadFollowsTheProjectsPythonFiles(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{Python: testkit.Python(t)})
	mkfile(t, f.path("uploads/tools/tox.ini"), "[pytest]\npython_files = check_*.py\n")
	got, err := f.cat.Upload(context.Background(), Upload{Directory: "uploads/tools/new", FileName: "check_x.py", Content: strings.NewReader(validPython)})
	require.NoError(t, err)
	require.Equal(t, "uploads/tools/new/check_x.py", got.Path)
	before := testkit.Tree(t, f.base)
	_, err = f.cat.Upload(context.Background(), Upload{Directory: "uploads/tools", FileName: "test_x.py", Content: strings.NewReader(validPython)})
	requireDomainError(t, err, domain.EINVALID, "file", "must match check_*.py (its project's python_files)")
	require.Equal(t, before, testkit.Tree(t, f.base))
	_, err = f.cat.Resolve("uploads/tools/new/check_x.py")
	require.NoError(t, err, "listed as it was accepted")
}
