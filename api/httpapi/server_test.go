package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/baton-ci/baton/api/domain"
	"github.com/baton-ci/baton/api/internal/pgtest"
)

// TestHealth covers the healthy GET /api/health.
func TestHealth(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{})
	res := h.get(t, "/api/health", specValid)
	require.Equal(t, http.StatusOK, res.Status)
	require.JSONEq(t, `{"status":"ok"}`, string(res.Body))
}

// TestHealthWhenPoolClosed checks that a closed pool is reported as unavailable.
func TestHealthWhenPoolClosed(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{})
	h.db.Close()
	e := h.get(t, "/api/health", specValid).requireError(t, http.StatusServiceUnavailable, domain.EUNAVAILABLE)
	require.NotContains(t, strings.ToLower(e.Message), "pool")
}

// TestDatabaseDown takes the database away under a running server: every
// endpoint that needs it answers 503 "unavailable", nothing changes, and the
// server recovers once the database is back.
func TestDatabaseDown(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{})
	run := h.createRun(t, 1, "alice")
	before := h.state(t)
	var name string
	require.NoError(t, h.db.SQL.QueryRowContext(context.Background(), `SELECT current_database()`).Scan(&name))

	ctx := context.Background()
	admin, err := pgx.Connect(ctx, pgtest.AdminURL())
	require.NoError(t, err)
	defer admin.Close(ctx)
	_, err = admin.Exec(ctx, `ALTER DATABASE `+pgx.Identifier{name}.Sanitize()+` ALLOW_CONNECTIONS false`)
	require.NoError(t, err)
	_, err = admin.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1`, name)
	require.NoError(t, err)

	unavailable := func(r request) {
		t.Helper()
		e := h.do(t, r).requireError(t, http.StatusServiceUnavailable, domain.EUNAVAILABLE)
		require.NotContains(t, e.Message, name, "no connection details")
		require.NotContains(t, e.Message, "127.0.0.1")
	}
	for range 3 { // the pool holds several dead connections; each must be answered alike
		unavailable(request{Method: http.MethodGet, Path: "/api/health"})
		unavailable(request{Method: http.MethodGet, Path: "/api/runs"})
		unavailable(request{Method: http.MethodGet, Path: fmt.Sprintf("/api/runs/%d", run.Id)})
		unavailable(request{Method: http.MethodGet, Path: fmt.Sprintf("/api/runs/%d/log", run.Id)})
		unavailable(request{Method: http.MethodGet, Path: "/api/environments"})
		unavailable(request{Method: http.MethodGet, Path: "/api/environments/1"})
		unavailable(request{Method: http.MethodGet, Path: "/api/test-files"})
		unavailable(request{Method: http.MethodGet, Path: "/api/test-directories"})
		unavailable(request{Method: http.MethodPost, Path: "/api/runs", ContentType: "application/json",
			Body: []byte(`{"requested_by":"bob","environment_id":1,"test_files":["sample-tests/test_success.py"]}`)})
		unavailable(request{Method: http.MethodPost, Path: fmt.Sprintf("/api/runs/%d/cancel", run.Id)})
		unavailable(request{Method: http.MethodPost, Path: fmt.Sprintf("/api/runs/%d/rerun", run.Id)})
	}
	// The disk is not the database: an upload is stored, and the catalog
	// catches up once the database is back.
	h.upload(t, specValid,
		formPart{Name: "directory", Content: []byte("uploads")},
		formPart{Name: "file", FileName: "test_late.py", Content: []byte("def test_late():\n    pass\n")},
	).decode(t, http.StatusCreated, &TestFile{})

	_, err = admin.Exec(ctx, `ALTER DATABASE `+pgx.Identifier{name}.Sanitize()+` ALLOW_CONNECTIONS true`)
	require.NoError(t, err)
	// Waiting for a condition, not for a duration: dead pooled connections are
	// replaced as they are used. Every answer meanwhile is still checked.
	for _, path := range []string{"/api/health", "/api/runs"} {
		deadline := time.Now().Add(30 * time.Second)
		for h.do(t, request{Method: http.MethodGet, Path: path}).Status != http.StatusOK {
			require.True(t, time.Now().Before(deadline), "%s did not recover", path)
			time.Sleep(20 * time.Millisecond)
		}
	}

	after := h.state(t)
	before.Files, after.Files = nil, nil
	require.Equal(t, before, after, "nothing was written while the database was down")
	require.EqualValues(t, "queued", h.getRun(t, run.Id).Status)
	require.NoError(t, h.syncer.Sync(ctx))
	require.Contains(t, paths(h.testFiles(t)), "uploads/test_late.py")
}

// TestUnknownAPIPath checks that unknown API paths get a JSON 404 and known
// paths called with the wrong method a JSON 405 naming the allowed methods.
func TestUnknownAPIPath(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{})
	for _, r := range []request{
		{Method: http.MethodGet, Path: "/api/nope"},
		{Method: http.MethodGet, Path: "/api/runs/1/nope"},
		{Method: http.MethodPost, Path: "/api/nope", ContentType: "application/json", Body: []byte(`{}`)},
		{Method: http.MethodDelete, Path: "/api/nope/deeper"},
		{Method: http.MethodGet, Path: "/api/"},
		{Method: http.MethodGet, Path: "/api"},
	} {
		r.Spec = specInvalid
		e := h.do(t, r).requireError(t, http.StatusNotFound, domain.ENOTFOUND)
		require.Contains(t, e.Message, r.Method, r.Path)
		require.Contains(t, e.Message, r.Path)
	}
	for _, c := range []struct {
		req   request
		allow string
	}{
		// Echo's router lists OPTIONS too: it answers OPTIONS on every route;
		// HEAD is served wherever GET is.
		{request{Method: http.MethodDelete, Path: "/api/runs/1"}, "OPTIONS, GET, HEAD"},
		{request{Method: http.MethodPut, Path: "/api/runs"}, "OPTIONS, GET, HEAD, POST"},
		{request{Method: http.MethodPost, Path: "/api/environments"}, "OPTIONS, GET, HEAD"},
		{request{Method: http.MethodPost, Path: "/api/health", ContentType: "application/json", Body: []byte(`{}`)}, "OPTIONS, GET, HEAD"},
		{request{Method: http.MethodGet, Path: "/api/runs/1/cancel"}, "OPTIONS, POST"},
		{request{Method: http.MethodHead, Path: "/api/runs/1/cancel"}, "OPTIONS, POST"},
		{request{Method: http.MethodPatch, Path: "/api/test-files"}, "OPTIONS, GET, HEAD, POST"},
	} {
		c.req.Spec = specInvalid
		res := h.do(t, c.req)
		require.Equal(t, c.allow, res.Header.Get("Allow"), c.req.Path)
		if c.req.Method == http.MethodHead {
			require.Equal(t, http.StatusMethodNotAllowed, res.Status)
			continue
		}
		e := res.requireError(t, http.StatusMethodNotAllowed, domain.EINVALID)
		require.Equal(t, c.allow, res.Header.Get("Allow"), c.req.Path)
		require.Equal(t, fmt.Sprintf("%s is not allowed on %s; use %s.", c.req.Method, c.req.Path, c.allow), e.Message)
	}
}

// TestInternalErrorsAreGeneric forces server faults and checks that clients
// see only a generic message while the details are logged.
func TestInternalErrorsAreGeneric(t *testing.T) {
	t.Parallel()

	t.Run("upload without Python", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, harnessOptions{noPython: true})
		unchanged := h.unchanged(t)
		body, ct := multipartBody(t,
			formPart{Name: "directory", Content: []byte("uploads")},
			formPart{Name: "file", FileName: "test_a.py", Content: []byte("def test_a():\n    pass\n")})
		res := h.do(t, request{Method: http.MethodPost, Path: "/api/test-files", Body: body, ContentType: ct, Spec: specValid, Allow500: true})
		e := res.requireError(t, http.StatusInternalServerError, domain.EINTERNAL)
		require.Equal(t, "An internal error occurred.", e.Message)
		require.NotContains(t, strings.ToLower(string(res.Body)), "python")
		require.Contains(t, h.logs.String(), "no Python interpreter", "the details are logged")
		unchanged()
	})

	t.Run("database error", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, harnessOptions{})
		run := h.createRun(t, 1, "alice")
		_, err := h.db.SQL.ExecContext(context.Background(), `ALTER TABLE run_log_chunks RENAME TO run_log_chunks_gone`)
		require.NoError(t, err)
		res := h.do(t, request{Method: http.MethodGet, Path: fmt.Sprintf("/api/runs/%d/log", run.Id), Spec: specValid, Allow500: true})
		e := res.requireError(t, http.StatusInternalServerError, domain.EINTERNAL)
		require.Equal(t, "An internal error occurred.", e.Message)
		require.NotContains(t, string(res.Body), "run_log_chunks")
		require.Contains(t, h.logs.String(), "run_log_chunks")
	})
}

// TestSPA covers serving the built web UI next to the API.
func TestSPA(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	web := filepath.Join(base, "web")
	const index = "<!doctype html><title>Baton UI</title>"
	writeFile(t, filepath.Join(web, "index.html"), index)
	writeFile(t, filepath.Join(web, "assets", "x.js"), "console.log('x')")
	writeFile(t, filepath.Join(base, "secret.txt"), "secret")
	h := newHarness(t, harnessOptions{webDir: web})

	for _, p := range []string{"/", "/runs/42", "/environments",
		"/../secret.txt", "/assets/../../secret.txt", "/..%2fsecret.txt", "/assets/..%2f..%2fsecret.txt"} {
		res := h.get(t, p, specSilent)
		require.Equal(t, http.StatusOK, res.Status, p)
		require.Equal(t, index, string(res.Body), p)
		require.Contains(t, res.Header.Get("Content-Type"), "text/html", p)
		require.Equal(t, "no-cache", res.Header.Get("Cache-Control"), p)
	}
	res := h.get(t, "/assets/x.js", specSilent)
	require.Equal(t, http.StatusOK, res.Status)
	require.Equal(t, "console.log('x')", string(res.Body))
	require.Contains(t, res.Header.Get("Content-Type"), "javascript")
	require.Contains(t, res.Header.Get("Cache-Control"), "immutable")

	// A missing asset gets the app, but never the assets' long caching.
	res = h.get(t, "/assets/missing.js", specSilent)
	require.Equal(t, index, string(res.Body))
	require.Equal(t, "no-cache", res.Header.Get("Cache-Control"))
	// Only GET and HEAD reach the app; API paths never do.
	h.do(t, request{Method: http.MethodPost, Path: "/runs/42", Spec: specSilent}).requireErrorStatus(t, http.StatusNotFound)
	h.get(t, "/api/nope", specInvalid).requireError(t, http.StatusNotFound, domain.ENOTFOUND)
	h.get(t, "/api", specInvalid).requireError(t, http.StatusNotFound, domain.ENOTFOUND)
	h.get(t, "/api/health", specValid)

	// Without a built UI, a hint is served instead.
	bare := newHarness(t, harnessOptions{webDir: filepath.Join(base, "missing")})
	res = bare.get(t, "/runs/42", specSilent)
	require.Equal(t, http.StatusOK, res.Status)
	require.Contains(t, string(res.Body), "/api/openapi.yaml")
	_, err := os.Stat(filepath.Join(base, "missing"))
	require.True(t, os.IsNotExist(err))
}
