package httpapi_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/baton-ci/baton/api/domain"
)

// TestAPITokenGuardsMutations: with BATON_API_TOKEN set, every write (POST,
// PATCH, DELETE) needs the bearer token and a refused one changes nothing;
// reads stay open.
func TestAPITokenGuardsMutations(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{apiToken: "s3cret"})
	body, err := json.Marshal(map[string]any{"requested_by": "alice", "environment_id": 3, "test_files": []string{"sample-tests/test_success.py"}})
	require.NoError(t, err)
	post := func(auth string) *response {
		hdr := http.Header{}
		if auth != "" {
			hdr.Set("Authorization", auth)
		}
		return h.do(t, request{Method: http.MethodPost, Path: "/api/runs", Body: body, ContentType: "application/json",
			Header: hdr, Spec: specSilent})
	}
	before := h.state(t)
	for _, auth := range []string{"", "Bearer wrong", "Bearer s3cret-and-more", "Basic czNjcmV0", "s3cret"} {
		res := post(auth)
		res.requireError(t, http.StatusUnauthorized, domain.EUNAUTHORIZED)
		require.Contains(t, res.Header.Get("WWW-Authenticate"), "Bearer")
		require.Equal(t, before, h.state(t), "a refused request must change nothing (auth %q)", auth)
	}
	// Every write of the contract, present and future, needs the token.
	writes := 0
	for path, item := range specDoc.Paths.Map() {
		for method := range item.Operations() {
			if method == http.MethodGet {
				continue
			}
			writes++
			p := strings.ReplaceAll(path, "{id}", "1")
			h.do(t, request{Method: method, Path: p, Spec: specSilent}).
				requireError(t, http.StatusUnauthorized, domain.EUNAUTHORIZED)
			require.Equal(t, before, h.state(t), "%s %s without the token changed something", method, p)
		}
	}
	require.GreaterOrEqual(t, writes, 8, "the writes include PATCH and DELETE of environments")

	var run Run
	post("Bearer s3cret").decode(t, http.StatusCreated, &run)
	require.EqualValues(t, "queued", run.Status)

	// Reads need no token.
	require.Equal(t, http.StatusOK, h.get(t, "/api/runs", specValid).Status)
	require.Equal(t, http.StatusOK, h.get(t, "/api/health", specValid).Status)
	require.Equal(t, http.StatusOK, h.do(t, request{Method: http.MethodHead, Path: "/api/runs", Spec: specValid}).Status)

	// The token check must not hide the router's 405 and 404.
	res := h.do(t, request{Method: http.MethodDelete, Path: "/api/runs/1", Spec: specInvalid})
	require.Equal(t, http.StatusMethodNotAllowed, res.Status, "body: %s", res.Body)
	h.get(t, "/api/nope", specInvalid).requireError(t, http.StatusNotFound, domain.ENOTFOUND)
}

// TestCORSClosedByDefault: no CORS headers unless origins are configured,
// and then only for those origins.
func TestCORSClosedByDefault(t *testing.T) {
	t.Parallel()
	closed := newHarness(t, harnessOptions{})
	res := closed.do(t, request{Method: http.MethodGet, Path: "/api/health", Spec: specValid,
		Header: http.Header{"Origin": {"https://evil.example"}}})
	require.Empty(t, res.Header.Get("Access-Control-Allow-Origin"))

	open := newHarness(t, harnessOptions{corsOrigins: []string{"https://ci.example"}})
	res = open.do(t, request{Method: http.MethodGet, Path: "/api/health", Spec: specValid,
		Header: http.Header{"Origin": {"https://ci.example"}}})
	require.Equal(t, "https://ci.example", res.Header.Get("Access-Control-Allow-Origin"))
	res = open.do(t, request{Method: http.MethodGet, Path: "/api/health", Spec: specValid,
		Header: http.Header{"Origin": {"https://evil.example"}}})
	require.Empty(t, res.Header.Get("Access-Control-Allow-Origin"))
}
