package httpapi

import (
	"net/http"
	"testing"

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
