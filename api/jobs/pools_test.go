package jobs_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/baton-ci/baton/api/domain"
	"github.com/baton-ci/baton/api/environments"
	"github.com/baton-ci/baton/api/internal/pgtest"
	"github.com/baton-ci/baton/api/internal/schedcheck"
	"github.com/baton-ci/baton/api/jobs"
)

// TestPoolsFairAndExclusive: three workers, with fewer slots than
// environments, take hundreds of runs that mix direct requests and pools
// over overlapping labels, created concurrently. No environment ever runs
// two at once, every run executes once where it may, and every start
// follows the rule: the environment went to the oldest run that could take
// it. (api/systemtest proves the same with real worker processes.)
func TestPoolsFairAndExclusive(t *testing.T) {
	t.Parallel()
	const runs, creators = 240, 6
	c := newCluster(t, 3, 1)
	labels := map[int][]string{1: {"a"}, 2: {"a", "b"}, 3: {"b"}}
	envs := environments.New(c.store, nil)
	for env, ls := range labels {
		_, err := envs.UpdateEnvironment(context.Background(), env, domain.EnvironmentPatch{Labels: &ls})
		require.NoError(t, err)
	}
	var wg sync.WaitGroup
	for g := range creators {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := g; i < runs; i += creators {
				in := domain.CreateRun{RequestedBy: "tester", TestFiles: []string{testFile}}
				switch i % 6 {
				case 0, 1:
					pool := []string{"a", "b"}[i%2]
					in.Pool = &pool
				default:
					env := 1 + i%4
					in.EnvironmentID = &env
				}
				if _, err := c.runs.Create(context.Background(), in); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	c.waitFinal(t, runs, 3*time.Minute)

	var rows []struct {
		ID            int64
		EnvironmentID int
		Pool          string
		Status        string
		StartedAt     time.Time
	}
	require.NoError(t, c.db.Gorm.Raw(`SELECT id, environment_id, coalesce(pool, '') AS pool, status, started_at FROM runs ORDER BY id`).
		Scan(&rows).Error)
	require.Len(t, rows, runs)
	c.rec.mu.Lock()
	defer c.rec.mu.Unlock()
	require.Empty(t, c.rec.overlaps)
	record := make([]schedcheck.Run, 0, runs)
	for _, r := range rows {
		require.Equal(t, "success", r.Status, "run %d", r.ID)
		require.Equal(t, 1, c.rec.executions[r.ID], "run %d executions", r.ID)
		span := c.rec.spans[r.ID]
		sr := schedcheck.Run{ID: r.ID, Env: r.EnvironmentID, Pool: r.Pool, Claimed: r.StartedAt, Start: span[0], End: span[1]}
		if r.Pool == "" {
			sr.AskedEnv = r.EnvironmentID
		}
		record = append(record, sr)
	}
	require.Empty(t, schedcheck.Overlaps(record))
	require.Empty(t, schedcheck.Misplaced(record, labels))
	require.Empty(t, schedcheck.Unfair(record, labels))
	pooledIn := map[int]int{}
	for _, r := range record {
		if r.Pool != "" {
			pooledIn[r.Env]++
		}
	}
	require.Len(t, pooledIn, 3, "pooled runs ran in every environment of their pools: %v", pooledIn)
}

// TestWorkerRegistersItsSlots: a worker records its slots while it runs and
// forgets them when it stops, so the API can tell runs waiting for a slot.
func TestWorkerRegistersItsSlots(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := pgtest.NewURL(t)
	db, store, svc := openStore(t, url)
	w, err := jobs.NewWorker(db.Pool, svc, newRecorder(), identity{}, jobs.Config{
		ID: "w-slots", MaxRuns: 3, HeartbeatInterval: 50 * time.Millisecond, Registry: store})
	require.NoError(t, err)
	require.NoError(t, w.Start(ctx))
	envs := environments.New(store, nil)
	slots := func() domain.WorkerSlots {
		l, err := envs.ListEnvironments(ctx)
		require.NoError(t, err)
		return l.Slots
	}
	require.Equal(t, domain.WorkerSlots{Workers: 1, Total: 3}, slots(), "registered before it takes a job")
	var before, after time.Time
	require.NoError(t, db.Pool.QueryRow(ctx, `SELECT heartbeat_at FROM workers WHERE id = 'w-slots'`).Scan(&before))
	require.Eventually(t, func() bool {
		require.NoError(t, db.Pool.QueryRow(ctx, `SELECT heartbeat_at FROM workers WHERE id = 'w-slots'`).Scan(&after))
		return after.After(before)
	}, 5*time.Second, 20*time.Millisecond, "the worker keeps its record alive")
	stop, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	require.NoError(t, w.Stop(stop))
	require.Equal(t, domain.WorkerSlots{}, slots(), "a stopped worker's slots are gone")
}
