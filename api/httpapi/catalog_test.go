package httpapi_test

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/baton-ci/baton/api/catalog"
	"github.com/baton-ci/baton/api/client"
	"github.com/baton-ci/baton/api/domain"
)

// TestListTestFilesAndDirectories covers the catalog listings.
func TestListTestFilesAndDirectories(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{})
	// Byte order: upper case sorts before lower case, "_" after letters.
	writeFile(t, filepath.Join(h.base, "sample-tests", "Zeta", "test_z.py"), "def test_z():\n    pass\n")
	require.NoError(t, os.MkdirAll(filepath.Join(h.base, "uploads", "empty"), 0o755))
	require.NoError(t, h.syncer.Sync(t.Context()))

	files := h.testFiles(t)
	require.Equal(t, []string{
		"sample-tests/Zeta/test_z.py",
		"sample-tests/api/test_api.py",
		"sample-tests/api/users_test.py",
		"sample-tests/test_failure.py",
		"sample-tests/test_success.py",
	}, paths(files))
	for _, f := range files {
		require.Equal(t, f.Path[:strings.LastIndexByte(f.Path, '/')], f.Directory)
		fi, err := os.Stat(filepath.Join(h.base, filepath.FromSlash(f.Path)))
		require.NoError(t, err)
		require.Equal(t, fi.Size(), f.SizeBytes)
		require.True(t, fi.ModTime().Truncate(time.Microsecond).Equal(f.ModifiedAt), "%s: %v vs %v", f.Path, fi.ModTime(), f.ModifiedAt)
		require.Equal(t, time.UTC, f.ModifiedAt.Location())
	}

	var dirs client.TestDirectoryList
	h.get(t, "/api/test-directories", specValid).decode(t, http.StatusOK, &dirs)
	require.Equal(t, []TestDirectory{
		{Path: "sample-tests", Writable: true, FileCount: 2},
		{Path: "sample-tests/Zeta", Writable: true, FileCount: 1},
		{Path: "sample-tests/api", Writable: true, FileCount: 2},
		{Path: "uploads", Writable: true, FileCount: 0},
		{Path: "uploads/empty", Writable: true, FileCount: 0},
	}, dirs.Items, "hidden directories are not listed")
}

// TestUploadTestFile covers successful uploads, which are listed and
// runnable at once, and overwriting.
func TestUploadTestFile(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{})
	code := []byte("import os\n\n\ndef test_new():\n    assert os.sep\n")
	before := time.Now().Add(-time.Hour)

	// Into an existing directory.
	var f TestFile
	h.upload(t, specValid,
		formPart{Name: "directory", Content: []byte("sample-tests/api")},
		formPart{Name: "file", FileName: "test_new.py", Content: code},
	).decode(t, http.StatusCreated, &f)
	require.Equal(t, "sample-tests/api/test_new.py", f.Path)
	require.Equal(t, "sample-tests/api", f.Directory)
	require.Equal(t, int64(len(code)), f.SizeBytes)
	require.True(t, f.ModifiedAt.After(before))
	onDisk, err := os.ReadFile(filepath.Join(h.base, "sample-tests", "api", "test_new.py"))
	require.NoError(t, err)
	require.Equal(t, code, onDisk)
	require.Contains(t, h.testFiles(t), f, "listed at once, as uploaded")
	h.createRun(t, 2, "alice", f.Path)

	// Into a new nested directory, with overwrite=false spelled out.
	h.upload(t, specValid,
		formPart{Name: "file", FileName: "payments_test.py", Content: code},
		formPart{Name: "directory", Content: []byte("uploads/payments/smoke")},
		formPart{Name: "overwrite", Content: []byte("false")},
	).decode(t, http.StatusCreated, &f)
	require.Equal(t, "uploads/payments/smoke/payments_test.py", f.Path)
	require.Contains(t, paths(h.testFiles(t)), f.Path)
	var dirs client.TestDirectoryList
	h.get(t, "/api/test-directories", specValid).decode(t, http.StatusOK, &dirs)
	require.Contains(t, dirs.Items, TestDirectory{Path: "uploads/payments", Writable: true, FileCount: 0})
	require.Contains(t, dirs.Items, TestDirectory{Path: "uploads/payments/smoke", Writable: true, FileCount: 1})
	run := h.createRun(t, 3, "alice", f.Path, "sample-tests/api/test_new.py")
	require.Equal(t, []string{f.Path, "sample-tests/api/test_new.py"}, run.TestFiles)

	// An existing name needs overwrite=true.
	unchanged := h.unchanged(t)
	for _, ow := range []string{"", "false"} {
		parts := []formPart{
			{Name: "directory", Content: []byte("uploads/payments/smoke")},
			{Name: "file", FileName: "payments_test.py", Content: []byte("def test_other():\n    pass\n")},
		}
		if ow != "" {
			parts = append(parts, formPart{Name: "overwrite", Content: []byte(ow)})
		}
		e := h.upload(t, specValid, parts...).requireError(t, http.StatusConflict, domain.ECONFLICT)
		require.Contains(t, e.Message, "overwrite=true")
	}
	unchanged()
	replacement := []byte("def test_other():\n    pass\n")
	h.upload(t, specValid,
		formPart{Name: "directory", Content: []byte("uploads/payments/smoke")},
		formPart{Name: "file", FileName: "payments_test.py", Content: replacement},
		formPart{Name: "overwrite", Content: []byte("true")},
	).decode(t, http.StatusCreated, &f)
	require.Equal(t, int64(len(replacement)), f.SizeBytes)
	onDisk, err = os.ReadFile(filepath.Join(h.base, "uploads", "payments", "smoke", "payments_test.py"))
	require.NoError(t, err)
	require.Equal(t, replacement, onDisk)
	require.Contains(t, h.testFiles(t), f, "the catalog shows the new size at once")
}

// TestUploadTestFileRejects checks that every bad upload is refused and
// leaves the upload tree and the catalog unchanged.
func TestUploadTestFileRejects(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{})
	good := []byte("def test_ok():\n    pass\n")
	dir := func(d string) formPart { return formPart{Name: "directory", Content: []byte(d)} }
	file := func(name string, content []byte) formPart {
		return formPart{Name: "file", FileName: name, Content: content}
	}
	// An existing file, for the overwrite case.
	h.upload(t, specValid, dir("uploads"), file("test_exists.py", good)).decode(t, http.StatusCreated, &TestFile{})

	cases := []struct {
		name    string
		parts   []formPart
		spec    specCheck
		status  int
		fields  []string
		message string // in the message or a field reason
	}{
		{name: "file missing", parts: []formPart{dir("uploads")}, spec: specInvalid, fields: []string{"file"}},
		{name: "directory missing", parts: []formPart{file("test_a.py", good)}, spec: specInvalid, fields: []string{"directory"}},
		{name: "nothing", parts: []formPart{{Name: "overwrite", Content: []byte("true")}}, spec: specInvalid, fields: []string{"file", "directory"}},
		{name: "file twice", parts: []formPart{dir("uploads"), file("test_a.py", good), file("test_b.py", good)}, spec: specSilent, fields: []string{"file"}},
		{name: "file without a name", parts: []formPart{dir("uploads"), {Name: "file", Content: good}}, spec: specSilent, fields: []string{"file"}},
		{name: "unknown field", parts: []formPart{dir("uploads"), file("test_a.py", good), {Name: "colour", Content: []byte("red")}}, spec: specInvalid, fields: []string{"colour"}},
		{name: "overwrite maybe", parts: []formPart{dir("uploads"), file("test_exists.py", good), {Name: "overwrite", Content: []byte("maybe")}}, spec: specInvalid, fields: []string{"overwrite"}},
		{name: "overwrite 1", parts: []formPart{dir("uploads"), file("test_exists.py", good), {Name: "overwrite", Content: []byte("1")}}, spec: specInvalid, fields: []string{"overwrite"}},
		{name: "directory empty", parts: []formPart{dir(""), file("test_a.py", good)}, spec: specSilent, fields: []string{"directory"}},
		{name: "directory traversal", parts: []formPart{dir("../x"), file("test_a.py", good)}, spec: specSilent, fields: []string{"directory"}},
		{name: "directory traversal inside", parts: []formPart{dir("uploads/../../x"), file("test_a.py", good)}, spec: specSilent, fields: []string{"directory"}},
		{name: "directory absolute", parts: []formPart{dir("/abs"), file("test_a.py", good)}, spec: specSilent, fields: []string{"directory"}},
		{name: "directory absolute to a root", parts: []formPart{dir(filepath.Join(h.base, "uploads")), file("test_a.py", good)}, spec: specSilent, fields: []string{"directory"}},
		{name: "directory hidden", parts: []formPart{dir(".hidden"), file("test_a.py", good)}, spec: specSilent, fields: []string{"directory"}},
		{name: "directory hidden inside", parts: []formPart{dir("uploads/.hidden"), file("test_a.py", good)}, spec: specSilent, fields: []string{"directory"}},
		{name: "directory backslash", parts: []formPart{dir(`a\b`), file("test_a.py", good)}, spec: specSilent, fields: []string{"directory"}},
		{name: "directory backslash inside", parts: []formPart{dir(`uploads\x`), file("test_a.py", good)}, spec: specSilent, fields: []string{"directory"}},
		{name: "directory empty element", parts: []formPart{dir("uploads//x"), file("test_a.py", good)}, spec: specSilent, fields: []string{"directory"}},
		{name: "directory trailing slash", parts: []formPart{dir("uploads/"), file("test_a.py", good)}, spec: specSilent, fields: []string{"directory"}},
		{name: "directory unknown root", parts: []formPart{dir("elsewhere/x"), file("test_a.py", good)}, spec: specSilent, fields: []string{"directory"}},
		{name: "directory pycache", parts: []formPart{dir("uploads/__pycache__"), file("test_a.py", good)}, spec: specSilent, fields: []string{"directory"}},
		{name: "directory is a file", parts: []formPart{dir("uploads/test_exists.py"), file("test_a.py", good)}, spec: specSilent, fields: []string{"directory"}},
		{name: "name traversal", parts: []formPart{dir("uploads"), file("../test_a.py", good)}, spec: specSilent, fields: []string{"file"}},
		{name: "name traversal to a root", parts: []formPart{dir("uploads/x"), file("../../sample-tests/test_a.py", good)}, spec: specSilent, fields: []string{"file"}},
		{name: "name absolute", parts: []formPart{dir("uploads"), file("/abs/test_a.py", good)}, spec: specSilent, fields: []string{"file"}},
		{name: "name with directory", parts: []formPart{dir("uploads"), file("sub/test_a.py", good)}, spec: specSilent, fields: []string{"file"}},
		{name: "name hidden", parts: []formPart{dir("uploads"), file(".test_a.py", good)}, spec: specSilent, fields: []string{"file"}},
		{name: "name backslash", parts: []formPart{dir("uploads"), file(`a\test_a.py`, good)}, spec: specSilent, fields: []string{"file"}},
		{name: "name dot", parts: []formPart{dir("uploads"), file(".", good)}, spec: specSilent, fields: []string{"file"}},
		{name: "not a test name", parts: []formPart{dir("uploads"), file("helpers.py", good)}, spec: specSilent, fields: []string{"file"}, message: "pytest"},
		{name: "not python", parts: []formPart{dir("uploads"), file("test_a.txt", good)}, spec: specSilent, fields: []string{"file"}, message: "pytest"},
		{name: "upper-case prefix", parts: []formPart{dir("uploads"), file("Test_a.py", good)}, spec: specSilent, fields: []string{"file"}, message: "pytest"},
		{name: "invalid module name", parts: []formPart{dir("uploads"), file("test_my-file.py", good)}, spec: specSilent, fields: []string{"file"}, message: "module name"},
		{name: "module name with a dot", parts: []formPart{dir("uploads"), file("test_a.b.py", good)}, spec: specSilent, fields: []string{"file"}, message: "module name"},
		{name: "not UTF-8", parts: []formPart{dir("uploads"), file("test_a.py", []byte("def test_ok():\n    s = '\xff\xfe'\n"))}, spec: specSilent, fields: []string{"file"}, message: "UTF-8"},
		{name: "NUL byte", parts: []formPart{dir("uploads"), file("test_a.py", []byte("def test_ok():\n    pass\x00\n"))}, spec: specSilent, fields: []string{"file"}, message: "NUL"},
		{name: "syntax error", parts: []formPart{dir("uploads"), file("test_a.py", []byte("import os\n\ndef test_ok(:\n    pass\n"))}, spec: specSilent, fields: []string{"file"}, message: "line 3"},
		{name: "bad indentation", parts: []formPart{dir("uploads"), file("test_a.py", []byte("def test_ok():\npass\n"))}, spec: specSilent, fields: []string{"file"}, message: "line 2"},
		{name: "exists without overwrite", parts: []formPart{dir("uploads"), file("test_exists.py", good)}, spec: specValid, status: http.StatusConflict, message: "uploads/test_exists.py"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			unchanged := h.unchanged(t)
			listed := h.testFiles(t)
			res := h.upload(t, c.spec, c.parts...)
			status, code := http.StatusBadRequest, domain.EINVALID
			if c.status == http.StatusConflict {
				status, code = c.status, domain.ECONFLICT
			}
			e := res.requireError(t, status, code, c.fields...)
			if c.message != "" {
				require.Contains(t, e.Message+" "+strings.Join(values(e.Fields), " "), c.message)
			}
			for _, f := range c.fields {
				require.NotEmpty(t, e.Fields[f])
			}
			unchanged()
			require.Equal(t, listed, h.testFiles(t))
		})
	}

	// Bodies that are not a multipart form at all, or a broken one.
	unchanged := h.unchanged(t)
	truncated, ct := multipartBody(t, formPart{Name: "directory", Content: []byte("uploads")},
		formPart{Name: "file", FileName: "test_cut.py", Content: good})
	truncated = truncated[:bytes.LastIndex(truncated, []byte("\r\n--"))]
	h.do(t, request{Method: http.MethodPost, Path: "/api/test-files", Body: truncated, ContentType: ct, Spec: specInvalid}).
		requireError(t, http.StatusBadRequest, domain.EINVALID)
	cut, ct := multipartBody(t, formPart{Name: "directory", Content: []byte("uploads")},
		formPart{Name: "file", FileName: "test_cut.py", Content: good})
	cut = cut[:bytes.LastIndex(cut, []byte("--"))] // no closing boundary
	h.do(t, request{Method: http.MethodPost, Path: "/api/test-files", Body: cut, ContentType: ct, Spec: specSilent}).
		requireError(t, http.StatusBadRequest, domain.EINVALID)
	for _, c := range []struct{ body, contentType string }{
		{`{"directory":"uploads"}`, "application/json"},
		{"directory=uploads", "application/x-www-form-urlencoded"},
		{"--x\r\n", "multipart/form-data"}, // no boundary
		{"garbage", "multipart/form-data; boundary=zzz"},
		{"", ""},
	} {
		h.do(t, request{Method: http.MethodPost, Path: "/api/test-files", Body: []byte(c.body), ContentType: c.contentType, Spec: specInvalid}).
			requireError(t, http.StatusBadRequest, domain.EINVALID)
	}
	unchanged()
}

// TestUploadTestFileTooLarge checks the upload size limit, at and above it.
func TestUploadTestFileTooLarge(t *testing.T) {
	t.Parallel()
	const limit = 1024
	h := newHarness(t, harnessOptions{catalog: catalog.Options{MaxUploadBytes: limit}})
	line := "# padding to the limit\n"
	content := func(size int) []byte {
		b := []byte("def test_ok():\n    pass\n")
		for len(b)+len(line) <= size {
			b = append(b, line...)
		}
		b = append(b, strings.Repeat("#", size-len(b))...)
		require.Len(t, b, size)
		return b
	}

	unchanged := h.unchanged(t)
	for _, size := range []int{limit + 1, 10 * limit, 200 << 10} {
		e := h.upload(t, specValid,
			formPart{Name: "directory", Content: []byte("uploads/big")},
			formPart{Name: "file", FileName: "test_big.py", Content: content(size)},
		).requireError(t, http.StatusRequestEntityTooLarge, domain.ETOOLARGE, "file")
		require.Contains(t, e.Message, "1024")
	}
	unchanged()

	var f TestFile
	h.upload(t, specValid,
		formPart{Name: "directory", Content: []byte("uploads/big")},
		formPart{Name: "file", FileName: "test_big.py", Content: content(limit)},
	).decode(t, http.StatusCreated, &f)
	require.Equal(t, int64(limit), f.SizeBytes, "exactly the limit is allowed")
}

// TestUploadsAreSorted checks that uploads in several places keep the
// listing sorted.
func TestUploadsAreSorted(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{})
	for _, p := range [][2]string{{"uploads/b", "test_1.py"}, {"uploads/A", "test_2.py"}, {"sample-tests", "test_0.py"}, {"uploads/a_b", "x_test.py"}} {
		h.upload(t, specValid,
			formPart{Name: "directory", Content: []byte(p[0])},
			formPart{Name: "file", FileName: p[1], Content: []byte("def test_x():\n    pass\n")},
		).decode(t, http.StatusCreated, &TestFile{})
	}
	got := paths(h.testFiles(t))
	require.True(t, sort.StringsAreSorted(got), "%v", got)
	require.Len(t, got, 8)
}
