package httpapi

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestListCacheLoadOutlivesItsCaller: the client whose request started a
// shared load may go away; the clients waiting on the same load still get
// the answer.
func TestListCacheLoadOutlivesItsCaller(t *testing.T) {
	t.Parallel()
	c := newListCache(time.Minute, nil)
	started, release := make(chan struct{}), make(chan struct{})
	load := func(ctx context.Context) (any, error) {
		close(started)
		<-release
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		return []int{1, 2, 3}, nil
	}

	leaderCtx, cancelLeader := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var leaderBody, waiterBody []byte
	var leaderErr, waiterErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		leaderBody, leaderErr = c.get(leaderCtx, environmentsKey, load)
	}()
	<-started
	wg.Add(1)
	go func() {
		defer wg.Done()
		waiterBody, waiterErr = c.get(context.Background(), environmentsKey, func(context.Context) (any, error) {
			t.Error("the waiter must share the leader's load")
			return nil, nil
		})
	}()
	// Let the waiter join the load, then drop the leader's request.
	time.Sleep(50 * time.Millisecond)
	cancelLeader()
	close(release)
	wg.Wait()

	require.NoError(t, waiterErr)
	require.JSONEq(t, `[1,2,3]`, string(waiterBody))
	require.NoError(t, leaderErr)
	require.JSONEq(t, `[1,2,3]`, string(leaderBody))
}
