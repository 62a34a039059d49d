package httpapi_test

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/baton-ci/baton/api/client"
	"github.com/baton-ci/baton/internal/testkit"
)

// TestRunListCache: clients polling the same page share one answer for the
// TTL, a write through the API is visible at once, and after the TTL a
// change made elsewhere (a worker) shows up. The cache's clock is the
// test's, so "within the TTL" holds however slow the machine is.
func TestRunListCache(t *testing.T) {
	t.Parallel()
	const ttl = 300 * time.Millisecond
	clock := testkit.NewClock(time.Now())
	h := newHarness(t, harnessOptions{listCacheTTL: ttl, clock: clock})
	list := func() RunList {
		t.Helper()
		var l RunList
		h.get(t, "/api/runs", specValid).decode(t, http.StatusOK, &l)
		return l
	}
	first := h.createRun(t, 9, "alice", "sample-tests/test_success.py")
	require.EqualValues(t, "queued", list().Items[0].Status)

	// A worker claims it: another process's write, unseen within the TTL.
	h.claim(t, 9)
	clock.Advance(ttl - time.Millisecond)
	require.EqualValues(t, "queued", list().Items[0].Status, "within the TTL the shared answer is served")
	clock.Advance(time.Millisecond)
	require.EqualValues(t, "running", list().Items[0].Status, "once the TTL is over the change shows")

	// A write through this API clears the cache at once.
	second := h.createRun(t, 9, "bob", "sample-tests/test_success.py")
	l := list()
	require.Len(t, l.Items, 2)
	require.Equal(t, second.Id, l.Items[0].Id)
	require.Equal(t, 1, *l.Items[0].QueuePosition)
	h.do(t, request{Method: http.MethodPost, Path: fmt.Sprintf("/api/runs/%d/cancel", second.Id), Spec: specValid})
	require.EqualValues(t, "cancelled", list().Items[0].Status)

	// Filters are cached separately.
	var mine RunList
	h.get(t, "/api/runs?requested_by=alice", specValid).decode(t, http.StatusOK, &mine)
	require.Len(t, mine.Items, 1)
	require.Equal(t, first.Id, mine.Items[0].Id)

	// Many clients at once all get a full, correct page.
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := http.Get(h.ts.URL + "/api/runs")
			if err != nil {
				t.Error(err)
				return
			}
			res.Body.Close()
			if res.StatusCode != http.StatusOK {
				t.Errorf("concurrent list: %d", res.StatusCode)
			}
		}()
	}
	wg.Wait()
}

// TestEnvironmentListCache: GET /api/environments is shared the same way;
// runs created or cancelled through the API show in it at once.
func TestEnvironmentListCache(t *testing.T) {
	t.Parallel()
	const ttl = 300 * time.Millisecond
	clock := testkit.NewClock(time.Now())
	h := newHarness(t, harnessOptions{listCacheTTL: ttl, clock: clock})
	env := func(id int) Environment {
		t.Helper()
		var l client.EnvironmentList
		h.get(t, "/api/environments", specValid).decode(t, http.StatusOK, &l)
		require.Len(t, l.Items, 100)
		return l.Items[id-1]
	}
	require.EqualValues(t, "idle", env(9).State)

	first := h.createRun(t, 9, "alice")
	require.Equal(t, []int64{first.Id}, env(9).QueuedRunIds, "a run created through the API shows at once")

	h.claim(t, 9) // another process's write
	clock.Advance(ttl - time.Millisecond)
	require.EqualValues(t, "waiting", env(9).State, "within the TTL the shared answer is served")
	clock.Advance(time.Millisecond)
	e := env(9)
	require.EqualValues(t, "busy", e.State)
	require.Equal(t, first.Id, *e.RunningRunId)
	require.Empty(t, e.QueuedRunIds)

	second := h.createRun(t, 9, "bob")
	require.Equal(t, []int64{second.Id}, env(9).QueuedRunIds)
	h.do(t, request{Method: http.MethodPost, Path: fmt.Sprintf("/api/runs/%d/cancel", second.Id), Spec: specValid})
	require.Empty(t, env(9).QueuedRunIds, "a run cancelled through the API leaves the queue at once")
}
