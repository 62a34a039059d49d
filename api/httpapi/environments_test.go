package httpapi_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/baton-ci/baton/api/domain"
)

// TestEnvironments covers GET /api/environments and /api/environments/{id}.
func TestEnvironments(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{})
	list := func() []Environment {
		t.Helper()
		var l struct {
			Items []Environment `json:"items"`
		}
		h.get(t, "/api/environments", specValid).decode(t, http.StatusOK, &l)
		return l.Items
	}

	envs := list()
	require.Len(t, envs, 100)
	for i, e := range envs {
		require.Equal(t, Environment{ID: i + 1, Name: fmt.Sprintf("env%d", i+1), State: "idle", QueuedRunIDs: []int64{}}, e)
	}

	a := h.createRun(t, 4, "alice")
	b := h.createRun(t, 4, "bob")
	c := h.createRun(t, 4, "carol")
	d := h.createRun(t, 100, "dave")
	h.claim(t, 4)
	envs = list()
	require.Equal(t, Environment{ID: 4, Name: "env4", State: "busy", RunningRunID: &a.ID, QueuedRunIDs: []int64{b.ID, c.ID}}, envs[3])
	require.Equal(t, Environment{ID: 100, Name: "env100", State: "waiting", QueuedRunIDs: []int64{d.ID}}, envs[99],
		"queued runs alone do not make an environment busy, nor idle: they wait for a worker slot")
	for _, e := range envs {
		if e.ID != 4 && e.ID != 100 {
			require.Equal(t, "idle", e.State)
			require.Empty(t, e.QueuedRunIDs)
		}
	}

	for _, id := range []int{1, 4, 100} {
		var e Environment
		h.get(t, fmt.Sprintf("/api/environments/%d", id), specValid).decode(t, http.StatusOK, &e)
		require.Equal(t, envs[id-1], e)
	}

	unchanged := h.unchanged(t)
	for _, id := range []string{"0", "101", "-1", "abc", "1.5", "99999999999999999999"} {
		h.get(t, "/api/environments/"+id, specInvalid).requireError(t, http.StatusBadRequest, domain.EINVALID, "id")
	}
	unchanged()
}
