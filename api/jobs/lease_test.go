package jobs_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/baton-ci/baton/api/domain"
	"github.com/baton-ci/baton/api/jobs"
	"github.com/baton-ci/baton/api/runner"
	"github.com/baton-ci/baton/internal/testkit"
)

// cuttableHeartbeats is a worker's run service whose heartbeats can be
// switched to another real run service, one on a closed connection pool:
// a worker whose heartbeats fail while everything else works.
type cuttableHeartbeats struct {
	domain.RunScheduler
	closed domain.RunScheduler
	cut    atomic.Bool
}

// Heartbeat implements domain.RunScheduler.
func (c *cuttableHeartbeats) Heartbeat(ctx context.Context, workerID string, runs map[int64]*domain.Progress) (map[int64]bool, error) {
	if c.cut.Load() {
		return c.closed.Heartbeat(ctx, workerID, runs)
	}
	return c.RunScheduler.Heartbeat(ctx, workerID, runs)
}

// heartbeatCount is an Observer that counts heartbeats that worked and
// failed.
type heartbeatCount struct {
	ok, failed atomic.Int64
}

func (*heartbeatCount) RunStarted(*domain.Run) {}
func (h *heartbeatCount) Heartbeat(_ int, err error) {
	if err != nil {
		h.failed.Add(1)
	} else {
		h.ok.Add(1)
	}
}
func (*heartbeatCount) Reaped(int)                                      {}
func (*heartbeatCount) JobWorked(string, string, string, time.Duration) {}

// TestLeaseFollowsConfirmedHeartbeats: a run's lease starts from before
// its claim was sent, lasts StaleAfter − LeaseMargin, and is extended only
// by heartbeats that PostgreSQL answered saying the run is still this
// worker's, each from the time it was sent. A heartbeat that hangs (the
// run's row locked) gives up within half a lease and extends nothing; one
// that fails (a closed pool) extends nothing; a run that is no longer this
// worker's is not extended either.
func TestLeaseFollowsConfirmedHeartbeats(t *testing.T) {
	t.Parallel()
	const (
		beat  = 100 * time.Millisecond
		stale = 2 * time.Second
		lease = stale - stale/4 // the default margin: a quarter
	)
	ctx := context.Background()
	c := newCluster(t, 0, 2)
	_, _, live := openStore(t, c.url)
	closedDB, _, closed := openStore(t, c.url)
	closedDB.Close()
	sched := &cuttableHeartbeats{RunScheduler: live, closed: closed}
	obs := &heartbeatCount{}
	db, _, _ := openStore(t, c.url)
	w, err := jobs.NewWorker(db.Pool, sched, c.rec, identity{}, jobs.Config{
		ID: "leaseholder", MaxRuns: 2, HeartbeatInterval: beat, StaleAfter: stale,
		ReapInterval: 200 * time.Millisecond, FetchPollInterval: 100 * time.Millisecond, Observer: obs,
	})
	require.NoError(t, err)
	require.NoError(t, w.Start(ctx))
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = w.Stop(sctx)
	})
	hold := make(chan struct{})
	c.rec.mu.Lock()
	c.rec.hold[1], c.rec.hold[2] = hold, make(chan struct{})
	c.rec.mu.Unlock()

	before := runner.Boottime()
	run := c.create(t, 1)
	require.Equal(t, run.ID, <-c.rec.started)
	c.rec.mu.Lock()
	start := c.rec.leases[run.ID]
	c.rec.mu.Unlock()
	require.NotNil(t, start.lease, "the run was given a lease")
	require.GreaterOrEqual(t, start.deadline, before+lease, "the lease counts from the claim, for StaleAfter − margin")
	require.LessOrEqual(t, start.deadline, start.at+lease, "the lease counts from before the claim, not later")
	deadline := func() time.Duration { d, _ := start.lease.Deadline(); return d }

	// Confirmed heartbeats extend it, never past their send time + lease.
	testkit.Eventually(t, 5*time.Second, "a heartbeat to extend the lease", func() bool {
		d := deadline()
		require.LessOrEqual(t, d, runner.Boottime()+lease)
		return d > start.deadline && obs.ok.Load() >= 3
	})

	t.Run("hung heartbeat", func(t *testing.T) {
		// A heartbeat's UPDATE waits for the run's row, which the test
		// locks; each attempt gives up after half a lease.
		tx, err := db.Pool.Begin(ctx)
		require.NoError(t, err)
		defer func() { _ = tx.Rollback(ctx) }()
		_, err = tx.Exec(ctx, `SELECT 1 FROM runs WHERE id = $1 FOR UPDATE`, run.ID)
		require.NoError(t, err)
		locked, failed := runner.Boottime(), obs.failed.Load()
		// Well short of StaleAfter, so the reaper (which waits for the row
		// too) still finds a fresh heartbeat once the lock goes.
		time.Sleep(1200 * time.Millisecond)
		require.LessOrEqual(t, deadline(), locked+lease, "a heartbeat sent while the row was locked extended the lease")
		require.Greater(t, obs.failed.Load(), failed, "a hung heartbeat must give up (half a lease) and be counted as failed")
		require.NoError(t, tx.Rollback(ctx))
		testkit.Eventually(t, 5*time.Second, "heartbeats to extend the lease again", func() bool {
			return deadline() > locked+lease
		})
	})

	t.Run("failed heartbeat", func(t *testing.T) {
		sched.cut.Store(true)
		cut, failed := runner.Boottime(), obs.failed.Load()
		testkit.Eventually(t, 5*time.Second, "heartbeats to fail", func() bool { return obs.failed.Load() >= failed+5 })
		require.LessOrEqual(t, deadline(), cut+lease, "a failed heartbeat extended the lease")
		sched.cut.Store(false)
		testkit.Eventually(t, 5*time.Second, "heartbeats to extend the lease again", func() bool {
			return deadline() > cut+lease
		})
	})

	close(hold)
	c.waitFinal(t, 1, 10*time.Second)

	t.Run("no longer this worker's", func(t *testing.T) {
		other := c.create(t, 2)
		require.Equal(t, other.ID, <-c.rec.started)
		c.rec.mu.Lock()
		l := c.rec.leases[other.ID].lease
		c.rec.mu.Unlock()
		require.NotNil(t, l)
		// As if another worker had reaped and claimed it meanwhile.
		require.NoError(t, c.db.Gorm.Exec(`UPDATE runs SET worker_id = 'another' WHERE id = ?`, other.ID).Error)
		taken := runner.Boottime()
		testkit.Eventually(t, 5*time.Second, fmt.Sprintf("run %d to be stopped", other.ID), func() bool {
			busy, _ := w.Slots()
			return busy == 0
		})
		d, _ := l.Deadline()
		require.LessOrEqual(t, d, taken+lease, "a heartbeat that did not return the run extended its lease")
	})
}

// TestWorkerRefusesShortLease: a Config built by hand gets the lease rule
// of domain.RunLease, the one api/config applies to BATON_LEASE_MARGIN: a
// lease shorter than two heartbeats is refused before anything starts.
func TestWorkerRefusesShortLease(t *testing.T) {
	t.Parallel()
	_, err := jobs.NewWorker(nil, nil, nil, identity{}, jobs.Config{
		MaxRuns: 1, HeartbeatInterval: time.Second, StaleAfter: 3 * time.Second, LeaseMargin: 2 * time.Second,
	})
	require.ErrorContains(t, err, "the run lease (StaleAfter 3s − LeaseMargin 2s = 1s) must be at least twice the heartbeat interval (1s)")
	// The default margin (a quarter of StaleAfter) follows the same rule.
	_, err = jobs.NewWorker(nil, nil, nil, identity{}, jobs.Config{
		MaxRuns: 1, HeartbeatInterval: 2 * time.Second, StaleAfter: 4 * time.Second,
	})
	require.ErrorContains(t, err, "LeaseMargin 1s = 3s) must be at least twice the heartbeat interval (2s)")
}
