package httpapi_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/baton-ci/baton/api/client"
	"github.com/baton-ci/baton/api/domain"
)

// TestEnvironments covers GET /api/environments and /api/environments/{id}.
func TestEnvironments(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{})
	list := func() []Environment {
		t.Helper()
		var l client.EnvironmentList
		h.get(t, "/api/environments", specValid).decode(t, http.StatusOK, &l)
		return l.Items
	}

	// bare is an environment without metadata, as the API shows it.
	bare := func(e Environment) Environment {
		e.Labels, e.Variables = []string{}, map[string]client.EnvironmentVariable{}
		return e
	}

	envs := list()
	require.Len(t, envs, 100)
	for i, e := range envs {
		require.Equal(t, bare(Environment{Id: i + 1, Name: fmt.Sprintf("env%d", i+1), State: "idle", QueuedRunIds: []int64{}}), e)
	}

	a := h.createRun(t, 4, "alice")
	b := h.createRun(t, 4, "bob")
	c := h.createRun(t, 4, "carol")
	d := h.createRun(t, 100, "dave")
	h.claim(t, 4)
	envs = list()
	require.Equal(t, bare(Environment{Id: 4, Name: "env4", State: "busy", RunningRunId: &a.Id, QueuedRunIds: []int64{b.Id, c.Id}}), envs[3])
	require.Equal(t, bare(Environment{Id: 100, Name: "env100", State: "waiting", QueuedRunIds: []int64{d.Id}}), envs[99],
		"queued runs alone do not make an environment busy, nor idle: they wait for a worker slot")
	for _, e := range envs {
		if e.Id != 4 && e.Id != 100 {
			require.EqualValues(t, "idle", e.State)
			require.Empty(t, e.QueuedRunIds)
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
