package jobs_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/baton-ci/baton/api/domain"
	"github.com/baton-ci/baton/api/environments"
	"github.com/baton-ci/baton/api/internal/pgtest"
	"github.com/baton-ci/baton/api/jobs"
	"github.com/baton-ci/baton/api/postgres"
	"github.com/baton-ci/baton/api/runner"
	"github.com/baton-ci/baton/api/runs"
	"github.com/baton-ci/baton/internal/testkit"
)

const testFile = "sample-tests/test_fake.py"

// recorder is an Executor that records, across every worker of a test,
// which runs execute at the same time in the same environment.
type recorder struct {
	mu         sync.Mutex
	active     map[int]int64   // environment -> executing run
	order      map[int][]int64 // environment -> runs in start order
	executions map[int64]int
	overlaps   []string
	// hold, when set, blocks a run of that environment until it is closed.
	hold map[int]chan struct{}
	// started is signalled with each run id as it starts.
	started chan int64
	// spans records when each run began and ended executing.
	spans map[int64][2]time.Time
	// leases are the runs' leases, and what each was as the run began.
	leases map[int64]leaseAtStart
	// fences are the runs' fencing tokens (Spec.Fence).
	fences map[int64]int64
}

// leaseAtStart is a run's lease and, as the executor was called, the
// Boottime then and the lease's deadline.
type leaseAtStart struct {
	lease        *runner.Lease
	at, deadline time.Duration
}

func newRecorder() *recorder {
	return &recorder{active: map[int]int64{}, order: map[int][]int64{}, executions: map[int64]int{},
		hold: map[int]chan struct{}{}, started: make(chan int64, 1000), spans: map[int64][2]time.Time{},
		leases: map[int64]leaseAtStart{}, fences: map[int64]int64{}}
}

func (r *recorder) Run(ctx context.Context, spec runner.Spec, out io.Writer) domain.Outcome {
	env := spec.EnvironmentID
	l := leaseAtStart{lease: spec.Lease, at: runner.Boottime()}
	if spec.Lease != nil {
		l.deadline, _ = spec.Lease.Deadline()
	}
	r.mu.Lock()
	r.leases[spec.RunID] = l
	r.fences[spec.RunID] = spec.Fence
	if other, busy := r.active[env]; busy {
		r.overlaps = append(r.overlaps, fmt.Sprintf("env %d: run %d started while run %d was executing", env, spec.RunID, other))
	}
	r.active[env] = spec.RunID
	r.order[env] = append(r.order[env], spec.RunID)
	r.executions[spec.RunID]++
	r.spans[spec.RunID] = [2]time.Time{time.Now()}
	hold := r.hold[env]
	r.mu.Unlock()
	r.started <- spec.RunID
	fmt.Fprintf(out, "run %d on env %d\n", spec.RunID, env)

	outcome := domain.OutcomeForExit(0)
	if hold != nil {
		select {
		case <-hold:
		case <-ctx.Done():
			outcome = domain.Outcome{Status: domain.StatusCancelled, Reason: domain.ReasonCancelled}
		}
	} else {
		// Long enough for other workers to try to start a rival run.
		time.Sleep(time.Duration(1+rand.IntN(8)) * time.Millisecond)
	}

	r.mu.Lock()
	if r.active[env] == spec.RunID {
		delete(r.active, env)
	}
	span := r.spans[spec.RunID]
	r.spans[spec.RunID] = [2]time.Time{span[0], time.Now()}
	r.mu.Unlock()
	return outcome
}

type identity struct{}

func (identity) Resolve(p string) (string, error) { return "/nonexistent/" + p, nil }

func (identity) ContentHash(string) (int64, error) { return 0, errors.New("no files here") }

func (identity) RootDirs() map[string]string {
	return map[string]string{"sample-tests": "/nonexistent/sample-tests"}
}

type cluster struct {
	url     string
	db      *postgres.DB
	store   *postgres.Store
	runs    *runs.Service
	maxRuns int
	rec     *recorder
	workers []*jobs.Worker
}

// newCluster starts n workers, each with its own connection pool and River
// client, as separate hosts would have.
func newCluster(t *testing.T, n, maxRuns int, opts ...func(*jobs.Config)) *cluster {
	t.Helper()
	ctx := context.Background()
	url := pgtest.NewURL(t)
	c := &cluster{url: url, rec: newRecorder(), maxRuns: maxRuns}
	c.db, c.store, c.runs = openStore(t, url)
	require.NoError(t, c.store.ReplaceCatalog(ctx, []domain.TestFile{{Path: testFile, Directory: "sample-tests", ModifiedAt: time.Now()}},
		[]domain.TestDirectory{{Path: "sample-tests", Writable: true, FileCount: 1}}))
	for i := range n {
		c.addWorker(t, i, opts...)
	}
	return c
}

// addWorker starts worker-i, with its own connection pool and River
// client, as a separate host would have.
func (c *cluster) addWorker(t *testing.T, i int, opts ...func(*jobs.Config)) {
	t.Helper()
	ctx := context.Background()
	url := c.url
	db, _, svc := openStore(t, url)
	cfg := jobs.Config{
		ID:                fmt.Sprintf("worker-%d", i),
		MaxRuns:           c.maxRuns,
		HeartbeatInterval: 100 * time.Millisecond,
		StaleAfter:        2 * time.Second,
		ReapInterval:      200 * time.Millisecond,
		ReconcileInterval: time.Second,
		FetchPollInterval: 100 * time.Millisecond,
		LogOptions:        runner.LogOptions{FlushInterval: 20 * time.Millisecond},
	}
	for _, o := range opts {
		o(&cfg)
	}
	w, err := jobs.NewWorker(db.Pool, svc, c.rec, identity{}, cfg)
	require.NoError(t, err)
	require.NoError(t, w.Start(ctx))
	c.workers = append(c.workers, w)
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = w.Stop(sctx)
	})
}

func openStore(t *testing.T, url string) (*postgres.DB, *postgres.Store, *runs.Service) {
	t.Helper()
	db, err := postgres.Open(context.Background(), url, 20)
	require.NoError(t, err)
	t.Cleanup(db.Close)
	stack := pgtest.NewStack(t, db, time.Minute)
	return db, stack.Store, stack.Runs
}

func (c *cluster) create(t *testing.T, env int) *domain.Run {
	t.Helper()
	run, err := c.runs.Create(context.Background(), domain.CreateRun{
		RequestedBy: "tester", EnvironmentID: &env, TestFiles: []string{testFile}})
	require.NoError(t, err)
	return run
}

func (c *cluster) waitFinal(t *testing.T, want int, timeout time.Duration) {
	t.Helper()
	testkit.Eventually(t, timeout, "runs did not all reach a final state", func() bool {
		var n int64
		require.NoError(t, c.db.Gorm.Raw(`SELECT count(*) FROM runs WHERE status NOT IN ('queued', 'running')`).Scan(&n).Error)
		return int(n) == want
	})
}

// TestOneRunPerEnvironmentFIFO is the race fix's proof: three workers with
// separate pools and River clients get hundreds of runs over a few
// environments, created concurrently. No two runs of an environment may
// execute at once, each environment's runs start in creation order, every
// run executes exactly once and ends.
func TestOneRunPerEnvironmentFIFO(t *testing.T) {
	t.Parallel()
	const runs, envs, creators = 300, 4, 6
	c := newCluster(t, 3, 4)

	ids := make(chan int64, runs)
	var wg sync.WaitGroup
	for g := range creators {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := g; i < runs; i += creators {
				// Not c.create: require must not run off the test goroutine.
				env := 1 + i%envs
				run, err := c.runs.Create(context.Background(), domain.CreateRun{
					RequestedBy: "tester", EnvironmentID: &env, TestFiles: []string{testFile}})
				if err != nil {
					t.Error(err)
					return
				}
				ids <- run.ID
			}
		}()
	}
	wg.Wait()
	close(ids)
	c.waitFinal(t, runs, 3*time.Minute)

	c.rec.mu.Lock()
	defer c.rec.mu.Unlock()
	require.Empty(t, c.rec.overlaps)
	require.Len(t, c.rec.executions, runs)
	for id, n := range c.rec.executions {
		require.Equal(t, 1, n, "run %d executed %d times", id, n)
	}
	for env, order := range c.rec.order {
		require.True(t, sort.SliceIsSorted(order, func(i, j int) bool { return order[i] < order[j] }),
			"env %d started out of FIFO order: %v", env, order)
		// Whichever worker claimed it, each run that started got the
		// environment's next fencing token.
		for i, id := range order {
			require.Equal(t, int64(i+1), c.rec.fences[id], "env %d: fence of run %d, its %d. run", env, id, i+1)
		}
	}

	// The database agrees: every run succeeded, and in each environment
	// every run started after the previous one finished.
	var rows []struct {
		ID            int64
		EnvironmentID int
		Status        string
		StartedAt     time.Time
		FinishedAt    time.Time
	}
	require.NoError(t, c.db.Gorm.Raw(`SELECT id, environment_id, status, started_at, finished_at FROM runs ORDER BY environment_id, id`).Scan(&rows).Error)
	require.Len(t, rows, runs)
	for i, r := range rows {
		require.Equal(t, "success", r.Status, "run %d", r.ID)
		if i > 0 && rows[i-1].EnvironmentID == r.EnvironmentID {
			require.False(t, r.StartedAt.Before(rows[i-1].FinishedAt), "run %d started before run %d finished", r.ID, rows[i-1].ID)
		}
	}
}

// TestWaitingRunsHoldNoWorkerSlot: a long run and its queue in one
// environment must not stop another environment's run, even with only two
// slots in the whole cluster.
func TestWaitingRunsHoldNoWorkerSlot(t *testing.T) {
	t.Parallel()
	c := newCluster(t, 1, 2)
	hold := make(chan struct{})
	c.rec.mu.Lock()
	c.rec.hold[1] = hold
	c.rec.mu.Unlock()

	first := c.create(t, 1)
	require.Equal(t, first.ID, <-c.rec.started)
	for range 5 {
		c.create(t, 1)
	}
	other := c.create(t, 2)
	testkit.Eventually(t, 30*time.Second, "env 2's run starved behind env 1's queue", func() bool {
		r, err := c.runs.Find(context.Background(), other.ID)
		require.NoError(t, err)
		return r.Status == domain.StatusSuccess
	})

	env, err := environments.New(c.store, nil).FindEnvironment(context.Background(), 1)
	require.NoError(t, err)
	require.Equal(t, first.ID, *env.RunningRunID)
	require.Len(t, env.QueuedRunIDs, 5)

	close(hold)
	c.waitFinal(t, 7, time.Minute)
}

// TestLostWorkerFreesEnvironment: a run whose worker stops heartbeating (it
// was killed) ends as worker_lost and the next queued run starts.
func TestLostWorkerFreesEnvironment(t *testing.T) {
	t.Parallel()
	// No live worker yet: a worker claims a run and dies, so nothing ever
	// heartbeats it; then a live worker comes up.
	c := newCluster(t, 0, 2)
	ctx := context.Background()
	env := 3
	dead := c.create(t, env)
	claimed, err := c.runs.Claim(ctx, env, "dead-worker")
	require.NoError(t, err)
	require.NotNil(t, claimed)
	require.Equal(t, dead.ID, claimed.ID)
	next := c.create(t, env)
	c.addWorker(t, 0)

	testkit.Eventually(t, 30*time.Second, "the run to end", func() bool {
		r, err := c.runs.Find(ctx, next.ID)
		require.NoError(t, err)
		return r.Status == domain.StatusSuccess
	})
	lost, err := c.runs.Find(ctx, dead.ID)
	require.NoError(t, err)
	require.Equal(t, domain.StatusError, lost.Status)
	require.Equal(t, domain.ReasonWorkerLost, lost.Reason)
	page, err := c.store.ReadLog(ctx, dead.ID, 0)
	require.NoError(t, err)
	require.Contains(t, page.Text, "worker_lost")
	require.True(t, page.Complete)
}

// TestCancelRunningRun: a cancel request reaches the worker executing the
// run through its heartbeat; the run ends cancelled and the queue moves on.
func TestCancelRunningRun(t *testing.T) {
	t.Parallel()
	c := newCluster(t, 2, 2)
	ctx := context.Background()
	c.rec.mu.Lock()
	c.rec.hold[5] = make(chan struct{})
	c.rec.mu.Unlock()
	run := c.create(t, 5)
	require.Equal(t, run.ID, <-c.rec.started)
	next := c.create(t, 5)
	c.rec.mu.Lock()
	delete(c.rec.hold, 5)
	c.rec.mu.Unlock()

	_, err := c.runs.Cancel(ctx, run.ID, "")
	require.NoError(t, err)
	testkit.Eventually(t, 10*time.Second, "the run to end", func() bool {
		r, err := c.runs.Find(ctx, run.ID)
		require.NoError(t, err)
		return r.Status == domain.StatusCancelled
	})
	c.waitFinal(t, 2, 30*time.Second)
	r, err := c.runs.Find(ctx, next.ID)
	require.NoError(t, err)
	require.Equal(t, domain.StatusSuccess, r.Status)

	_, err = c.runs.Cancel(ctx, run.ID, "")
	require.Equal(t, domain.ECONFLICT, domain.ErrorCodeOf(err))
}

// TestRunEndedReachesHandlers: the run_ended job of every end reaches the
// handlers of Config.OnRunEnded, the seam later features hang on, and a
// failing handler gets the end again.
func TestRunEndedReachesHandlers(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var seen []domain.RunEnded
	failed := false
	record := domain.RunEndedFunc(func(_ context.Context, e domain.RunEnded) error {
		mu.Lock()
		defer mu.Unlock()
		if !failed {
			failed = true
			return fmt.Errorf("first delivery refused on purpose")
		}
		seen = append(seen, e)
		return nil
	})
	c := newCluster(t, 1, 2, func(cfg *jobs.Config) { cfg.OnRunEnded = []domain.RunEndedHandler{record} })
	run := c.create(t, 8)
	c.waitFinal(t, 1, 30*time.Second)
	deadline := time.Now().Add(30 * time.Second)
	for {
		mu.Lock()
		n := len(seen)
		mu.Unlock()
		if n > 0 {
			break
		}
		require.True(t, time.Now().Before(deadline), "the handler was never told (again) that run %d ended", run.ID)
		time.Sleep(50 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, seen, 1)
	require.Equal(t, run.ID, seen[0].RunID)
	require.Equal(t, domain.StatusSuccess, seen[0].Status)
	require.Equal(t, "worker-0", seen[0].WorkerID)
	require.Equal(t, []string{testFile}, seen[0].TestFiles)
}
