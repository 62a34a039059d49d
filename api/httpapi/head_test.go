package httpapi_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestHeadWhereverGet checks that every GET operation of openapi.yaml also
// answers HEAD with the GET's status and headers and no body, and that
// HEAD on paths without GET is refused as GET would be.
func TestHeadWhereverGet(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{})
	run := h.createRun(t, 7, "alice")
	id := strconv.FormatInt(run.Id, 10)
	var paths []string
	for path, item := range specDoc.Paths.Map() {
		if item.Get == nil {
			continue
		}
		p := path
		if strings.HasPrefix(p, "/api/environments/") {
			p = strings.ReplaceAll(p, "{id}", "7")
		}
		paths = append(paths, strings.ReplaceAll(p, "{id}", id))
	}
	require.NotEmpty(t, paths)
	paths = append(paths, "/api/runs/999999", "/api/runs/0", "/api/runs?limit=0", "/api/nope")
	for _, p := range paths {
		t.Run(p, func(t *testing.T) {
			get := h.do(t, request{Method: http.MethodGet, Path: p, Spec: specSilent})
			head := h.do(t, request{Method: http.MethodHead, Path: p, Spec: specSilent})
			require.Equal(t, get.Status, head.Status)
			require.NotEqual(t, http.StatusMethodNotAllowed, head.Status)
			require.Empty(t, head.Body)
			require.Equal(t, get.Header.Get("Content-Type"), head.Header.Get("Content-Type"))
			// /api/nope's message names the method; for an empty body
			// net/http sends no Content-Length with HEAD.
			if p != "/api/nope" && len(get.Body) > 0 {
				require.Equal(t, get.Header.Get("Content-Length"), head.Header.Get("Content-Length"))
			}
		})
	}
}
