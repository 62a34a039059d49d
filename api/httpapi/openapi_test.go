package httpapi_test

import (
	"context"
	"maps"
	"net/http"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestOpenAPIDocumentIsServed checks that the served contract is the file
// in the repository, byte for byte.
func TestOpenAPIDocumentIsServed(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{})
	want, err := os.ReadFile(specPath)
	require.NoError(t, err)
	res := h.get(t, "/api/openapi.yaml", specValid)
	require.Equal(t, http.StatusOK, res.Status)
	require.Equal(t, "application/yaml", res.Header.Get("Content-Type"))
	require.Equal(t, string(want), string(res.Body))
}

var echoParam = regexp.MustCompile(`:([A-Za-z_][A-Za-z0-9_]*)`)

// TestRoutesMatchSpec checks that every API route Echo serves is an
// operation of openapi.yaml and every operation is served.
func TestRoutesMatchSpec(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{})
	var served []string
	seen := map[string]bool{}
	for _, r := range h.srv.Echo().Routes() {
		if r.Path == "/*" || r.Method == echo.RouteNotFound {
			continue // the SPA and the JSON 404/405 for API misses
		}
		require.True(t, strings.HasPrefix(r.Path, "/api/") || r.Path == "/metrics", "route %s %s is outside /api", r.Method, r.Path)
		op := r.Method + " " + echoParam.ReplaceAllString(r.Path, "{$1}")
		require.False(t, seen[op], "route %s registered twice", op)
		seen[op] = true
		served = append(served, op)
	}
	var documented []string
	for path, item := range specDoc.Paths.Map() {
		for method := range item.Operations() {
			documented = append(documented, method+" "+path)
		}
	}
	sort.Strings(served)
	sort.Strings(documented)
	require.NotEmpty(t, documented)
	require.Equal(t, documented, served, "Echo routes and openapi.yaml operations differ")
}

// TestConformanceCheckIsStrict makes sure the response check the other tests
// rely on really rejects responses that break the contract.
func TestConformanceCheckIsStrict(t *testing.T) {
	t.Parallel()
	req, err := http.NewRequest(http.MethodGet, "http://baton.test/api/runs/1", http.NoBody)
	require.NoError(t, err)
	route, params, err := specRouter.FindRoute(req)
	require.NoError(t, err)
	input := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route}
	require.NoError(t, openapi3filter.ValidateRequest(context.Background(), input))
	jsonHeader := http.Header{"Content-Type": []string{"application/json"}}
	good := `{"id":1,"requested_by":"a","environment_id":1,"pool":null,"waiting_for":{"kind":"capacity"},"eta_seconds":null,"test_files":["x"],"tests":[],"keyword":null,"markers":null,"status":"queued","queue_position":1,
		"exit_code":null,"reason":null,"created_at":"2024-01-01T00:00:00Z","started_at":null,"finished_at":null,"fence":null,"duration_ms":null,
		"progress":null,"summary":null,"rerun_of":null,"cancelled_by":null}`
	require.NoError(t, validateResponse(input, &response{Status: 200, Header: jsonHeader, Body: []byte(good)}))

	for name, res := range map[string]*response{
		"undocumented status": {Status: http.StatusTeapot, Header: jsonHeader, Body: []byte(good)},
		"missing field":       {Status: 200, Header: jsonHeader, Body: []byte(`{"id":1}`)},
		"unknown status":      {Status: 200, Header: jsonHeader, Body: []byte(strings.Replace(good, `"queued"`, `"paused"`, 1))},
		"bad error code":      {Status: 404, Header: jsonHeader, Body: []byte(`{"error":{"code":"oops","message":"x"}}`)},
		"wrong content type":  {Status: 200, Header: http.Header{"Content-Type": []string{"text/html"}}, Body: []byte(good)},
	} {
		require.Error(t, validateResponse(input, res), name)
	}

	// An unknown path is not routed at all, so such calls are checked against
	// the error schema instead.
	req, err = http.NewRequest(http.MethodGet, "http://baton.test/api/nope", http.NoBody)
	require.NoError(t, err)
	_, _, err = specRouter.FindRoute(req)
	require.Error(t, err)
}

// TestSpecRejectsBadInput shows, for a sample of bad requests, that the
// contract itself describes the rule the server enforces.
func TestSpecRejectsBadInput(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{})
	unchanged := h.unchanged(t)
	for _, c := range []struct {
		name  string
		path  string
		field string
	}{
		{"run id zero", "/api/runs/0", "id"},
		{"run id not a number", "/api/runs/abc", "id"},
		{"environment 101", "/api/environments/101", "id"},
		{"limit too big", "/api/runs?limit=201", "limit"},
		{"unknown status", "/api/runs?status=paused", "status"},
		{"negative offset", "/api/runs/1/log?offset=-1", "offset"},
	} {
		t.Run(c.name, func(t *testing.T) {
			h.get(t, c.path, specInvalid).requireError(t, http.StatusBadRequest, "invalid", c.field)
		})
	}
	h.postJSON(t, "/api/runs", map[string]any{"requested_by": "a", "environment_id": 0,
		"test_files": []string{"sample-tests/test_success.py"}}, specInvalid).
		requireError(t, http.StatusBadRequest, "invalid", "environment_id")
	unchanged()
}

// TestEveryOperationDocumentsItsErrors: every operation lists the error
// answers any endpoint can give — `default` (the one error shape, for any
// status not listed), 400 (a query that is not text, on any endpoint),
// 405 (the router's, with Allow) and 500 — as the components that say so,
// so a generated client (oapi-codegen, ogen's "convenient errors", an
// Ajv-validating openapi-backend) can decode them. Baton's own endpoints
// also answer 503 while the database is unreachable (TestDatabaseDown).
func TestEveryOperationDocumentsItsErrors(t *testing.T) {
	t.Parallel()
	want := map[string]string{
		"default": "#/components/responses/Error",
		"405":     "#/components/responses/MethodNotAllowed",
	}
	api := map[string]string{
		"400": "#/components/responses/BadRequest",
		"500": "#/components/responses/Internal",
	}
	for path, item := range specDoc.Paths.Map() {
		for method, op := range item.Operations() {
			where := method + " " + path
			expect := maps.Clone(want)
			if strings.HasPrefix(path, "/api/") && path != "/api/openapi.yaml" {
				maps.Copy(expect, api) // served by Baton's own handlers, not a static document or Prometheus's
				expect["503"] = "#/components/responses/Unavailable"
			}
			for status, ref := range expect {
				var got *openapi3.ResponseRef
				if status == "default" {
					got = op.Responses.Default()
				} else {
					got = op.Responses.Value(status)
				}
				if assert.NotNil(t, got, "%s does not document its %s answer", where, status) {
					assert.Equal(t, ref, got.Ref, "%s: %s", where, status)
				}
			}
		}
	}
}
