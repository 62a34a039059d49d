package systemtest

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	apiclient "github.com/baton-ci/baton/api/client"
)

// copyProjects copies the runner's fixture projects (../runner/testdata/projects)
// to a fresh directory and returns it.
func copyProjects(t *testing.T) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "qa-tests")
	require.NoError(t, os.CopyFS(dst, os.DirFS(filepath.Join("..", "runner", "testdata", "projects"))))
	return dst
}

var verboseLine = regexp.MustCompile(`(?m)^(\S+::\S+) (PASSED|FAILED|ERROR|SKIPPED|XFAIL|XPASS)\b`)

// bare runs `python -m pytest -v FILES` by hand in dir and returns node id
// (with prefix) -> outcome as the API names outcomes.
func bare(t *testing.T, dir, prefix string, args ...string) map[string]string {
	t.Helper()
	cmd := exec.Command(python, append([]string{"-m", "pytest", "-v", "-p", "no:cacheprovider"}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1")
	out, _ := cmd.CombinedOutput()
	got := map[string]string{}
	for _, m := range verboseLine.FindAllStringSubmatch(string(out), -1) {
		got[prefix+m[1]] = map[string]string{"PASSED": "passed", "FAILED": "failed", "ERROR": "error",
			"SKIPPED": "skipped", "XFAIL": "skipped", "XPASS": "passed"}[m[2]]
	}
	require.NotEmpty(t, got, "%s", out)
	return got
}

func (c *client) results(id int64) map[string]string {
	c.t.Helper()
	var res apiclient.TestResultList
	c.expect(http.StatusOK, http.MethodGet, fmt.Sprintf("/api/runs/%d/tests", id), nil, &res)
	got := map[string]string{}
	for _, it := range res.Items {
		got[it.NodeId] = string(it.Outcome)
	}
	return got
}

// A team's own test checkout, added with BATON_TEST_ROOTS, is listed as
// pytest would collect it, and a run spanning two of its projects gives
// exactly the per-test outcomes of bare pytest in each project's root.
func TestTeamRepoRunsLikePytestByHand(t *testing.T) {
	systemTest(t)
	r := newRig(t, "")
	repo := copyProjects(t)
	srv := r.serve("serve", "BATON_TEST_ROOTS=qa="+repo)

	var files struct {
		Items []struct {
			Path string `json:"path"`
		} `json:"items"`
	}
	srv.expect(http.StatusOK, http.MethodGet, "/api/test-files", nil, &files)
	var listed []string
	for _, f := range files.Items {
		if len(f.Path) > 3 && f.Path[:3] == "qa/" {
			listed = append(listed, f.Path)
		}
	}
	require.Equal(t, []string{
		"qa/billing/tests/test_invoice.py",
		"qa/shop/tests/test_cart.py",
		"qa/shop/tests/unit/test_override.py",
		"qa/tools/mylib/tests/check_core.py", // tox.ini: python_files = check_*.py
	}, listed)

	var created run
	srv.expect(http.StatusCreated, http.MethodPost, "/api/runs", map[string]any{
		"requested_by": "systemtest", "environment_id": 3,
		"test_files": []string{"qa/shop/tests/test_cart.py", "qa/billing/tests/test_invoice.py", "qa/shop/tests/unit/test_override.py"},
	}, &created)
	got := srv.waitFinal(created.Id, 90*time.Second)
	log := srv.log(created.Id)
	require.EqualValues(t, "failed", got.Status, "%s\n%s", got, log)

	byHand := copyProjects(t)
	want := bare(t, filepath.Join(byHand, "shop"), "qa/shop/", "tests/test_cart.py", "tests/unit/test_override.py")
	for k, v := range bare(t, filepath.Join(byHand, "billing"), "qa/billing/", "-v", "tests/test_invoice.py") {
		want[k] = v
	}
	require.Equal(t, want, srv.results(created.Id), log)
	require.Contains(t, log, "=== project 1/2: qa/billing (root: pyproject.toml) ===")
	require.Contains(t, log, "=== project 2/2: qa/shop (root: pytest.ini) ===")

	// Rerun failed: exactly the failed and errored node ids, same outcomes.
	failed := map[string]string{}
	for id, outcome := range want {
		if outcome == "failed" || outcome == "error" {
			failed[id] = outcome
		}
	}
	require.Len(t, failed, 3)
	var again run
	srv.expect(http.StatusCreated, http.MethodPost, fmt.Sprintf("/api/runs/%d/rerun-failed", created.Id), nil, &again)
	got = srv.waitFinal(again.Id, 90*time.Second)
	require.EqualValues(t, "failed", got.Status, "%s\n%s", got, srv.log(again.Id))
	require.Equal(t, failed, srv.results(again.Id), srv.log(again.Id))

	// Read-only: no uploads into it.
	var dirs struct {
		Items []struct {
			Path     string `json:"path"`
			Writable bool   `json:"writable"`
		} `json:"items"`
	}
	srv.expect(http.StatusOK, http.MethodGet, "/api/test-directories", nil, &dirs)
	i := slices.IndexFunc(dirs.Items, func(d struct {
		Path     string `json:"path"`
		Writable bool   `json:"writable"`
	}) bool {
		return d.Path == "qa"
	})
	require.GreaterOrEqual(t, i, 0)
	require.False(t, dirs.Items[i].Writable)
}

// A whole project uploaded as one .zip through the API runs like bare
// pytest in its root: its conftest files, helper package, pytest.ini and
// data file all work.
func TestUploadedProjectRunsLikePytestByHand(t *testing.T) {
	systemTest(t)
	r := newRig(t, "")
	srv := r.serve("serve")
	src := filepath.Join("..", "runner", "testdata", "projects", "shop")
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	require.NoError(t, zw.AddFS(os.DirFS(src)))
	require.NoError(t, zw.Close())

	body := &bytes.Buffer{}
	mw := multipart.NewWriter(body)
	require.NoError(t, mw.WriteField("directory", "uploads/teams/shop"))
	fw, err := mw.CreateFormFile("archive", "shop.zip")
	require.NoError(t, err)
	_, err = fw.Write(buf.Bytes())
	require.NoError(t, err)
	require.NoError(t, mw.Close())
	req, err := http.NewRequest(http.MethodPost, srv.url()+"/api/test-projects", body)
	require.NoError(t, err)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	out, _ := io.ReadAll(res.Body)
	res.Body.Close()
	require.Equal(t, http.StatusCreated, res.StatusCode, "%s", out)

	var created run
	srv.expect(http.StatusCreated, http.MethodPost, "/api/runs", map[string]any{
		"requested_by": "systemtest", "environment_id": 4,
		"test_files": []string{"uploads/teams/shop/tests/test_cart.py", "uploads/teams/shop/tests/unit/test_override.py"},
	}, &created)
	got := srv.waitFinal(created.Id, 90*time.Second)
	require.EqualValues(t, "failed", got.Status, "%s\n%s", got, srv.log(created.Id))
	want := bare(t, filepath.Join(copyProjects(t), "shop"), "uploads/teams/shop/", "tests/test_cart.py", "tests/unit/test_override.py")
	require.Equal(t, want, srv.results(created.Id), srv.log(created.Id))
}

// A bad BATON_TEST_ROOTS stops the server at once with a message naming it.
func TestBadTestRootsFailFast(t *testing.T) {
	systemTest(t)
	r := newRig(t, "")
	for _, v := range []string{"qa", "qa=relative", "qa=" + filepath.Join(t.TempDir(), "missing")} {
		p := startProc(t, "serve", r.env("serve", "BATON_ADDR=127.0.0.1:0", "BATON_TEST_ROOTS="+v), "serve")
		select {
		case <-p.done:
		case <-time.After(60 * time.Second):
			t.Fatalf("serve with BATON_TEST_ROOTS=%q did not stop", v)
		}
		require.Error(t, p.exitErr, v)
		require.Contains(t, p.output(), "BATON_TEST_ROOTS", v)
	}
}
