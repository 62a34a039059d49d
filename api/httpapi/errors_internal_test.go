package httpapi

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/require"

	"github.com/baton-ci/baton/api/domain"
)

// TestStatusesRoundTrip: every error code has its own status, and Echo's
// own errors map back onto the codes clients know.
func TestStatusesRoundTrip(t *testing.T) {
	t.Parallel()
	for code := range statuses {
		require.Equal(t, code, codeOf(statusOf(code)), code)
	}
	require.Equal(t, domain.EINVALID, codeOf(http.StatusMethodNotAllowed))
	require.Equal(t, domain.EINTERNAL, codeOf(http.StatusBadGateway))
	require.Equal(t, http.StatusInternalServerError, statusOf("made_up"))
}

// A request whose client went away (its context cancelled) and whose
// handler gave up with context.Canceled is no server fault: 499, as nginx
// logs it, and no error in the log. The same error while the client still
// waits is a fault like any other.
func TestClientGoneIsNoServerFault(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		clientGone bool
		want       int
		logged     bool
	}{
		{"client gone", true, statusClientClosedRequest, false},
		{"client still waiting", false, http.StatusInternalServerError, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var logs bytes.Buffer
			e := echo.New()
			e.HTTPErrorHandler = errorHandler(slog.New(slog.NewTextHandler(&logs, nil)))
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tc.clientGone {
				cancel()
			}
			req := httptest.NewRequest(http.MethodGet, "/api/runs/9/tests", http.NoBody).WithContext(ctx)
			rec := httptest.NewRecorder()
			e.HTTPErrorHandler(fmt.Errorf("list tests: %w", context.Canceled), e.NewContext(req, rec))
			require.Equal(t, tc.want, rec.Code)
			if tc.logged {
				require.Contains(t, logs.String(), "request failed")
			} else {
				require.Empty(t, logs.String())
				require.Empty(t, rec.Body.String(), "nobody reads a body")
			}
		})
	}
}
