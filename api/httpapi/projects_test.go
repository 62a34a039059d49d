package httpapi_test

import (
	"archive/zip"
	"bytes"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/baton-ci/baton/api/catalog"
	"github.com/baton-ci/baton/api/client"
	"github.com/baton-ci/baton/api/domain"
)

func (h *harness) uploadProject(t *testing.T, spec specCheck, parts ...formPart) *response {
	t.Helper()
	body, ct := multipartBody(t, parts...)
	return h.do(t, request{Method: http.MethodPost, Path: "/api/test-projects", Body: body, ContentType: ct, Spec: spec})
}

func zipOf(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, content := range files {
		w, err := zw.Create(name)
		require.NoError(t, err)
		_, err = w.Write([]byte(content))
		require.NoError(t, err)
	}
	require.NoError(t, zw.Close())
	return buf.Bytes()
}

const projTest = "def test_ok():\n    assert True\n"

// A project uploaded as file parts or as one archive is listed at once,
// with only the files pytest would collect as test files.
func TestUploadProject(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{})
	var got client.TestProject
	h.uploadProject(t, specValid,
		formPart{Name: "directory", Content: []byte("uploads/shop")},
		formPart{Name: "file", FileName: "pytest.ini", Content: []byte("[pytest]\npython_files = check_*.py test_*.py\n")},
		formPart{Name: "file", FileName: "tests/conftest.py", Content: []byte("import pytest\n")},
		formPart{Name: "file", FileName: "tests/check_cart.py", Content: []byte(projTest)},
		formPart{Name: "file", FileName: "tests/helpers.py", Content: []byte("X = 1\n")},
		formPart{Name: "file", FileName: "tests/data/prices.json", Content: []byte("{}")},
	).decode(t, http.StatusCreated, &got)
	require.Equal(t, "uploads/shop", got.Directory)
	require.Equal(t, 5, got.FileCount)
	require.Equal(t, []string{"uploads/shop/tests/check_cart.py"}, paths(got.TestFiles))
	require.Contains(t, paths(h.testFiles(t)), "uploads/shop/tests/check_cart.py", "listed at once")

	h.uploadProject(t, specValid,
		formPart{Name: "directory", Content: []byte("uploads/billing")},
		formPart{Name: "archive", FileName: "billing.zip", Content: zipOf(t, map[string]string{"tests/test_invoice.py": projTest, "pyproject.toml": "[tool.pytest.ini_options]\n"})},
	).decode(t, http.StatusCreated, &got)
	require.Equal(t, []string{"uploads/billing/tests/test_invoice.py"}, paths(got.TestFiles))

	// Again without overwrite: 409; with it: replaced.
	again := []formPart{{Name: "directory", Content: []byte("uploads/billing")},
		{Name: "archive", FileName: "b.zip", Content: zipOf(t, map[string]string{"test_new.py": projTest})}}
	unchanged := h.unchanged(t)
	h.uploadProject(t, specValid, again...).requireError(t, http.StatusConflict, domain.ECONFLICT)
	unchanged()
	h.uploadProject(t, specValid, append(again, formPart{Name: "overwrite", Content: []byte("true")})...).decode(t, http.StatusCreated, &got)
	require.Equal(t, []string{"uploads/billing/test_new.py"}, paths(got.TestFiles))
}

func TestUploadProjectRejects(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{catalog: catalog.Options{MaxProjectBytes: 64 << 10, MaxProjectFiles: 5}})
	dir := formPart{Name: "directory", Content: []byte("uploads/p")}
	file := func(name, content string) formPart {
		return formPart{Name: "file", FileName: name, Content: []byte(content)}
	}
	cases := []struct {
		name   string
		parts  []formPart
		status int
		code   domain.ErrorCode
		field  string
	}{
		{"zip slip", []formPart{dir, {Name: "archive", FileName: "a.zip", Content: zipOf(t, map[string]string{"../../escape.py": "x = 1\n"})}}, 400, domain.EINVALID, "archive"},
		{"dotdot file part", []formPart{dir, file("../test_x.py", projTest)}, 400, domain.EINVALID, "files"},
		{"absolute file part", []formPart{dir, file("/etc/test_x.py", projTest)}, 400, domain.EINVALID, "files"},
		{"syntax error", []formPart{dir, file("tests/test_x.py", "def (:\n")}, 400, domain.EINVALID, "files"},
		{"duplicate", []formPart{dir, file("test_x.py", projTest), file("test_x.py", projTest)}, 400, domain.EINVALID, "files"},
		{"no directory", []formPart{file("test_x.py", projTest)}, 400, domain.EINVALID, "directory"},
		{"no files", []formPart{dir}, 400, domain.EINVALID, "files"},
		{"files and archive", []formPart{dir, file("test_x.py", projTest), {Name: "archive", FileName: "a.zip", Content: zipOf(t, map[string]string{"a.py": ""})}}, 400, domain.EINVALID, "archive"},
		{"not an archive", []formPart{dir, {Name: "archive", FileName: "a.zip", Content: []byte("nope")}}, 400, domain.EINVALID, "archive"},
		{"unknown field", []formPart{dir, file("test_x.py", projTest), {Name: "colour", Content: []byte("red")}}, 400, domain.EINVALID, "colour"},
		{"bad overwrite", []formPart{dir, file("test_x.py", projTest), {Name: "overwrite", Content: []byte("yes")}}, 400, domain.EINVALID, "overwrite"},
		{"too many files", []formPart{dir, file("a1.py", ""), file("a2.py", ""), file("a3.py", ""), file("a4.py", ""), file("a5.py", ""), file("a6.py", "")}, 413, domain.ETOOLARGE, ""},
		{"too large", []formPart{dir, file("a.txt", strings.Repeat("a", 40<<10)), file("b.txt", strings.Repeat("b", 40<<10))}, 413, domain.ETOOLARGE, ""},
		{"archive bomb", []formPart{dir, {Name: "archive", FileName: "a.zip", Content: zipOf(t, map[string]string{"zeros": strings.Repeat("\x00", 8<<20)})}}, 413, domain.ETOOLARGE, "archive"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			unchanged := h.unchanged(t)
			res := h.uploadProject(t, specSilent, tc.parts...)
			if tc.field != "" {
				res.requireError(t, tc.status, tc.code, tc.field)
			} else {
				res.requireError(t, tc.status, tc.code)
			}
			unchanged()
		})
	}
}
