package runs_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/baton-ci/baton/api/domain"
)

// label gives environments their labels through the environment service.
func (b *bundle) label(t *testing.T, labels map[int][]string) {
	t.Helper()
	for env, ls := range labels {
		_, err := b.Environments.UpdateEnvironment(b.ctx, env, domain.EnvironmentPatch{Labels: &ls})
		require.NoError(t, err)
	}
}

func (b *bundle) createPooled(t *testing.T, pool string) *domain.Run {
	t.Helper()
	run, err := b.Runs.Create(b.ctx, domain.CreateRun{RequestedBy: "alice", Pool: &pool, TestFiles: []string{fileA}})
	require.NoError(t, err)
	require.Zero(t, run.EnvironmentID, "a pooled run has no environment before it starts")
	require.Equal(t, pool, run.Pool)
	return run
}

func (b *bundle) finish(t *testing.T, run *domain.Run) {
	t.Helper()
	ok, err := b.Runs.Finish(b.ctx, run, run.WorkerID, domain.OutcomeForExit(0))
	require.NoError(t, err)
	require.True(t, ok)
}

func (b *bundle) claimNone(t *testing.T, env int) {
	t.Helper()
	run, err := b.Runs.Claim(b.ctx, env, "w")
	require.NoError(t, err)
	require.Nil(t, run, "environment %d must not start a run", env)
}

// startJob is a start job as River holds it.
type startJob struct {
	env         int
	scheduledAt time.Time
}

// startJobs lists the start jobs inserted so far, oldest first.
func (b *bundle) startJobs(t *testing.T) []startJob {
	t.Helper()
	rs, err := b.DB.Pool.Query(b.ctx, `SELECT (args->>'environment_id')::int, scheduled_at FROM river_job
		WHERE kind = 'baton_start_next' ORDER BY id`)
	require.NoError(t, err)
	out, err := pgx.CollectRows(rs, func(row pgx.CollectableRow) (startJob, error) {
		var j startJob
		err := row.Scan(&j.env, &j.scheduledAt)
		return j, err
	})
	require.NoError(t, err)
	return out
}

func envsOf(jobs []startJob) []int {
	out := make([]int, len(jobs))
	for i, j := range jobs {
		out[i] = j.env
	}
	return out
}

// TestPooledRun: a pooled run starts in a free environment of its pool,
// records which, and takes what that environment gives its runs.
func TestPooledRun(t *testing.T) {
	b := setup(t)
	b.label(t, map[int][]string{2: {"staging"}, 3: {"eu", "staging"}, 4: {"eu"}})
	url := "https://staging-3.example"
	_, err := b.Environments.UpdateEnvironment(b.ctx, 3, domain.EnvironmentPatch{URL: &url, Variables: map[string]*domain.VariableInput{
		"API_KEY": {Value: strp("s3cret"), Secret: true}, "REGION": {Value: strp("eu-1")},
	}})
	require.NoError(t, err)
	busy := b.create(t, 2, domain.CreateRun{})
	b.claim(t, 2, "w1")
	before := len(b.startJobs(t))

	p := b.createPooled(t, "staging")
	require.Equal(t, []int{3}, envsOf(b.startJobs(t)[before:]), "a start job for the free member only")
	b.claimNone(t, 2)
	got := b.claim(t, 3, "w2")
	require.Equal(t, p.ID, got.ID)
	require.Equal(t, 3, got.EnvironmentID, "the run records the environment it got")
	require.Equal(t, &domain.RunEnvironment{URL: url, Variables: []domain.Variable{
		{Name: "API_KEY", Value: "s3cret", Secret: true}, {Name: "REGION", Value: "eu-1"}}}, got.Env)

	found, err := b.Runs.Find(b.ctx, p.ID)
	require.NoError(t, err)
	require.Equal(t, 3, found.EnvironmentID)
	require.Equal(t, "staging", found.Pool)
	require.Nil(t, found.Env, "what a run gets from its environment is for the worker only")

	page, err := b.Runs.List(b.ctx, domain.RunQuery{Pool: "staging"})
	require.NoError(t, err)
	require.Len(t, page.Runs, 1)
	page, err = b.Runs.List(b.ctx, domain.RunQuery{EnvironmentID: "3"})
	require.NoError(t, err)
	require.Len(t, page.Runs, 1, "a pooled run is listed under the environment it got")

	again, err := b.Runs.Rerun(b.ctx, p.ID, "")
	require.NoError(t, err)
	require.Equal(t, "staging", again.Pool, "a pooled run is rerun in its pool")
	require.Zero(t, again.EnvironmentID)
	_ = busy
}

// TestPoolWithoutEnvironments: a label no environment has is a 400 that
// changes nothing; so is a label that no longer has any.
func TestPoolWithoutEnvironments(t *testing.T) {
	b := setup(t)
	for _, pool := range []string{"nowhere", "staging"} {
		_, err := b.Runs.Create(b.ctx, domain.CreateRun{RequestedBy: "a", Pool: &pool, TestFiles: []string{fileA}})
		var de *domain.Error
		require.ErrorAs(t, err, &de)
		require.Equal(t, domain.EINVALID, de.Code)
		require.Contains(t, de.Fields["pool"], "no environment has the label "+pool)
		b.label(t, map[int][]string{5: {"staging"}})
		b.label(t, map[int][]string{5: {}})
	}
	var n int
	require.NoError(t, b.DB.Pool.QueryRow(b.ctx, `SELECT count(*) FROM runs`).Scan(&n))
	require.Zero(t, n)
	require.Empty(t, b.startJobs(t))
}

// TestFairnessAcrossPoolAndDirect: a free environment goes to the oldest run
// that can take it, pooled or direct, so a younger run never goes first.
func TestFairnessAcrossPoolAndDirect(t *testing.T) {
	b := setup(t)
	b.label(t, map[int][]string{1: {"p"}})
	first := b.create(t, 1, domain.CreateRun{})
	b.claim(t, 1, "w")
	d1 := b.create(t, 1, domain.CreateRun{})
	p := b.createPooled(t, "p")
	d2 := b.create(t, 1, domain.CreateRun{})
	q := b.createPooled(t, "p")
	prev := first
	prev.WorkerID = "w"
	for _, want := range []*domain.Run{d1, p, d2, q} {
		b.finish(t, prev)
		got := b.claim(t, 1, "w")
		require.Equal(t, want.ID, got.ID, "environment 1 goes to the oldest waiting run")
		prev = got
	}
	b.finish(t, prev)
	b.claimNone(t, 1)
}

// holdRow locks run id's row in a transaction of its own, as a claim in
// another environment does between choosing the run and committing.
func (b *bundle) holdRow(t *testing.T, id int64) pgx.Tx {
	t.Helper()
	tx, err := b.DB.Pool.Begin(b.ctx)
	require.NoError(t, err)
	t.Cleanup(func() { _ = tx.Rollback(context.Background()) })
	_, err = tx.Exec(b.ctx, `SELECT id FROM runs WHERE id = $1 FOR UPDATE`, id)
	require.NoError(t, err)
	return tx
}

// claimAsync claims environment env in the background.
func (b *bundle) claimAsync(env int) <-chan *domain.Run {
	out := make(chan *domain.Run, 1)
	go func() {
		run, err := b.Runs.Claim(b.ctx, env, fmt.Sprint("w", env))
		if err != nil {
			run = &domain.Run{Reason: err.Error()}
		}
		out <- run
	}()
	return out
}

func requireBlocked(t *testing.T, ch <-chan *domain.Run) {
	t.Helper()
	select {
	case r := <-ch:
		t.Fatalf("the claim did not wait for the older run's row: it returned %+v", r)
	case <-time.After(500 * time.Millisecond):
	}
}

func received(t *testing.T, ch <-chan *domain.Run) *domain.Run {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("the claim did not return")
		return nil
	}
}

// TestClaimWaitsForOlderRun is the guard of the claim's FOR UPDATE (without
// SKIP LOCKED). Two environments of one pool free at once: while one claim
// holds the older run, the other waits for it, and then takes the next
// oldest if that claim committed, or the older run itself if it rolled
// back. SKIP LOCKED fails the second case (a younger run would take the
// environment while the older one still waits); no locking clause fails
// the first (the claim finds its chosen run gone and starts nothing,
// leaving an environment idle while a run waits for it).
func TestClaimWaitsForOlderRun(t *testing.T) {
	t.Run("the other claim commits", func(t *testing.T) {
		b := setup(t)
		b.label(t, map[int][]string{1: {"p"}, 2: {"p"}})
		older, younger := b.createPooled(t, "p"), b.createPooled(t, "p")
		tx := b.holdRow(t, older.ID)
		got := b.claimAsync(2)
		requireBlocked(t, got)
		_, err := tx.Exec(b.ctx, `UPDATE runs SET status = 'running', environment_id = 1, started_at = now(),
			heartbeat_at = now(), worker_id = 'w1' WHERE id = $1`, older.ID)
		require.NoError(t, err)
		require.NoError(t, tx.Commit(b.ctx))
		r := received(t, got)
		require.Equal(t, younger.ID, r.ID, "%s", r.Reason)
		require.Equal(t, 2, r.EnvironmentID)
	})
	t.Run("the other claim rolls back", func(t *testing.T) {
		b := setup(t)
		b.label(t, map[int][]string{1: {"p"}, 2: {"p"}})
		older, _ := b.createPooled(t, "p"), b.createPooled(t, "p")
		tx := b.holdRow(t, older.ID)
		got := b.claimAsync(2)
		requireBlocked(t, got)
		require.NoError(t, tx.Rollback(b.ctx))
		r := received(t, got)
		require.Equal(t, older.ID, r.ID, "the older run is never skipped: %s", r.Reason)
	})
}

// lockAsIn takes, in a transaction of its own, the advisory lock a
// transaction in environment env (or, for 0, a change of labels) holds.
func (b *bundle) lockAsIn(t *testing.T, key int) pgx.Tx {
	t.Helper()
	tx, err := b.DB.Pool.Begin(b.ctx)
	require.NoError(t, err)
	t.Cleanup(func() { _ = tx.Rollback(context.Background()) })
	_, err = tx.Exec(b.ctx, `SELECT pg_advisory_xact_lock(x'42544e'::int, $1)`, key)
	require.NoError(t, err)
	return tx
}

// TestPooledCreateLocks is the guard of the locks a pooled run's creation
// takes: its id is drawn only while it holds every member environment's
// lock (so, per environment, id order is commit order among all the runs
// that can take it, and FIFO by id is exact) and the labels lock (so no
// environment joins the pool meanwhile). Each must make the creation wait.
func TestPooledCreateLocks(t *testing.T) {
	for name, key := range map[string]int{"member environment": 2, "labels": 0} {
		t.Run(name, func(t *testing.T) {
			b := setup(t)
			b.label(t, map[int][]string{1: {"p"}, 2: {"p"}})
			tx := b.lockAsIn(t, key)
			done := make(chan error, 1)
			go func() {
				_, err := b.Runs.Create(b.ctx, domain.CreateRun{RequestedBy: "a", Pool: strp("p"), TestFiles: []string{fileA}})
				done <- err
			}()
			select {
			case err := <-done:
				t.Fatalf("the pooled run was created without waiting for the lock (%v)", err)
			case <-time.After(500 * time.Millisecond):
			}
			require.NoError(t, tx.Rollback(b.ctx))
			require.NoError(t, <-done)
		})
	}
}

// TestHolds: no run starts in a held environment, queued runs keep their
// places, pools skip it, a hold on a busy environment takes effect when its
// run ends, and holds end by release or by themselves.
func TestHolds(t *testing.T) {
	hold := func(t *testing.T, b *bundle, env int, who string, until *time.Time) error {
		t.Helper()
		_, err := b.Environments.HoldEnvironment(b.ctx, env, domain.HoldRequest{HeldBy: who, Reason: "debugging", Until: until})
		return err
	}
	t.Run("idle environment, release", func(t *testing.T) {
		b := setup(t)
		require.NoError(t, hold(t, b, 1, "carol", nil))
		run := b.create(t, 1, domain.CreateRun{})
		b.claimNone(t, 1)
		found, err := b.Runs.Find(b.ctx, run.ID)
		require.NoError(t, err)
		require.Equal(t, &domain.WaitingFor{Kind: domain.WaitHold, EnvironmentID: 1, HeldBy: "carol"}, found.WaitingFor)
		require.Equal(t, 1, found.QueuePosition)
		require.Nil(t, found.ETA, "a hold without an end has no ETA")
		n := len(b.startJobs(t))
		env, err := b.Environments.ReleaseEnvironment(b.ctx, 1)
		require.NoError(t, err)
		require.Nil(t, env.Hold)
		require.Equal(t, []int{1}, envsOf(b.startJobs(t)[n:]), "the release starts the next run")
		require.Equal(t, run.ID, b.claim(t, 1, "w").ID)
		_, err = b.Environments.ReleaseEnvironment(b.ctx, 1)
		require.NoError(t, err, "releasing a free environment is no error")
	})
	t.Run("busy environment: after its run", func(t *testing.T) {
		b := setup(t)
		first := b.create(t, 1, domain.CreateRun{})
		second := b.create(t, 1, domain.CreateRun{})
		claimed := b.claim(t, 1, "w")
		require.NoError(t, hold(t, b, 1, "carol", nil))
		env, err := b.Environments.FindEnvironment(b.ctx, 1)
		require.NoError(t, err)
		require.Equal(t, domain.EnvBusy, env.State, "the running run goes on")
		require.Equal(t, "carol", env.Hold.HeldBy)
		b.finish(t, claimed)
		b.claimNone(t, 1)
		env, err = b.Environments.FindEnvironment(b.ctx, 1)
		require.NoError(t, err)
		require.Equal(t, domain.EnvHeld, env.State)
		require.Equal(t, []int64{second.ID}, env.QueuedRunIDs, "the queue keeps its place")
		_ = first
	})
	t.Run("pools skip it", func(t *testing.T) {
		b := setup(t)
		b.label(t, map[int][]string{1: {"p"}, 2: {"p"}})
		require.NoError(t, hold(t, b, 1, "carol", nil))
		n := len(b.startJobs(t))
		p := b.createPooled(t, "p")
		require.Equal(t, []int{2}, envsOf(b.startJobs(t)[n:]))
		b.claimNone(t, 1)
		require.Equal(t, p.ID, b.claim(t, 2, "w").ID)
	})
	t.Run("expires by itself", func(t *testing.T) {
		b := setup(t)
		until := time.Now().Add(1500 * time.Millisecond)
		require.NoError(t, hold(t, b, 1, "carol", &until))
		run := b.create(t, 1, domain.CreateRun{})
		b.claimNone(t, 1)
		jobs := b.startJobs(t)
		require.WithinDuration(t, until, jobs[0].scheduledAt, time.Millisecond,
			"a start job waits for the end of the hold, so it ends even if nothing else happens")
		found, err := b.Runs.Find(b.ctx, run.ID)
		require.NoError(t, err)
		require.Equal(t, domain.WaitHold, found.WaitingFor.Kind)
		require.WithinDuration(t, until, *found.WaitingFor.Until, time.Millisecond)
		time.Sleep(time.Until(until) + 50*time.Millisecond)
		require.Equal(t, run.ID, b.claim(t, 1, "w").ID)
		env, err := b.Environments.FindEnvironment(b.ctx, 1)
		require.NoError(t, err)
		require.Nil(t, env.Hold, "an expired hold is no hold")
	})
	t.Run("someone else's hold", func(t *testing.T) {
		b := setup(t)
		require.NoError(t, hold(t, b, 1, "carol", nil))
		err := hold(t, b, 1, "dan", nil)
		require.Equal(t, domain.ECONFLICT, domain.ErrorCodeOf(err))
		require.Contains(t, domain.ErrorMessageOf(err), "carol")
		until := time.Now().Add(time.Hour)
		require.NoError(t, hold(t, b, 1, "carol", &until), "the holder may change it")
		env, err := b.Environments.FindEnvironment(b.ctx, 1)
		require.NoError(t, err)
		require.Equal(t, "carol", env.Hold.HeldBy)
		require.WithinDuration(t, until, *env.Hold.Until, time.Millisecond)
	})
}

// TestCancelPooledRun: a pooled run cancelled before it started ends
// without an environment; one cancelled after is stopped where it runs.
func TestCancelPooledRun(t *testing.T) {
	b := setup(t)
	b.label(t, map[int][]string{1: {"p"}})
	blocker := b.create(t, 1, domain.CreateRun{})
	b.claim(t, 1, "w")
	queued := b.createPooled(t, "p")
	cancelled, err := b.Runs.Cancel(b.ctx, queued.ID, "")
	require.NoError(t, err)
	require.Equal(t, domain.StatusCancelled, cancelled.Status)
	ended := b.runEnded(t, 1)[0]
	require.Equal(t, queued.ID, ended.RunID)
	require.Zero(t, ended.EnvironmentID)
	require.Equal(t, "p", ended.Pool)
	_, err = b.Runs.Cancel(b.ctx, queued.ID, "")
	require.Equal(t, domain.ECONFLICT, domain.ErrorCodeOf(err))

	again := b.createPooled(t, "p")
	blocker.WorkerID = "w"
	b.finish(t, blocker)
	got := b.claim(t, 1, "w2")
	require.Equal(t, again.ID, got.ID)
	_, err = b.Runs.Cancel(b.ctx, again.ID, "")
	require.NoError(t, err)
	alive, err := b.Runs.Heartbeat(b.ctx, "w2", map[int64]*domain.Progress{again.ID: nil})
	require.NoError(t, err)
	require.True(t, alive[again.ID], "the running pooled run's worker is asked to stop it")
}

// TestReconcilePooledRuns: the reconciler restarts an environment that a
// pooled run could take when its start job was lost, and leaves held ones.
func TestReconcilePooledRuns(t *testing.T) {
	b := setup(t)
	b.label(t, map[int][]string{1: {"p"}, 2: {"p"}})
	_, err := b.Environments.HoldEnvironment(b.ctx, 1, domain.HoldRequest{HeldBy: "c", Reason: "x"})
	require.NoError(t, err)
	b.createPooled(t, "p")
	_, err = b.DB.Pool.Exec(b.ctx, `DELETE FROM river_job WHERE kind = 'baton_start_next'`)
	require.NoError(t, err)
	envs, err := b.Runs.Reconcile(b.ctx)
	require.NoError(t, err)
	require.Equal(t, []int{2}, envs)
}

// TestNewLabelStartsWaitingRuns: giving a free environment a pool's label
// lets the pool's waiting runs start there at once.
func TestNewLabelStartsWaitingRuns(t *testing.T) {
	b := setup(t)
	b.label(t, map[int][]string{1: {"p"}})
	b.create(t, 1, domain.CreateRun{})
	b.claim(t, 1, "w")
	p := b.createPooled(t, "p")
	n := len(b.startJobs(t))
	b.label(t, map[int][]string{7: {"p"}})
	require.Equal(t, []int{7}, envsOf(b.startJobs(t)[n:]))
	require.Equal(t, p.ID, b.claim(t, 7, "w").ID)
}

// TestWaitingForCapacity: a run with nothing but a worker slot between it
// and its start says so, by the workers' recorded capacity.
func TestWaitingForCapacity(t *testing.T) {
	b := setup(t)
	require.NoError(t, b.Store.WorkerAlive(b.ctx, "w", 1))
	busy := b.create(t, 1, domain.CreateRun{})
	b.claim(t, 1, "w")
	waiting := b.create(t, 2, domain.CreateRun{})
	found, err := b.Runs.Find(b.ctx, waiting.ID)
	require.NoError(t, err)
	require.Equal(t, domain.WaitCapacity, found.WaitingFor.Kind)
	require.Nil(t, found.ETA, "no history: the busy slot's end is unknown")
	list, err := b.Environments.ListEnvironments(b.ctx)
	require.NoError(t, err)
	require.Equal(t, domain.WorkerSlots{Workers: 1, Total: 1, Busy: 1}, list.Slots)
	require.Equal(t, 1, list.WaitingForCapacity)
	require.Equal(t, domain.EnvWaiting, list.Items[1].State)
	_ = busy

	require.NoError(t, b.Store.WorkerGone(b.ctx, "w"))
	list, err = b.Environments.ListEnvironments(b.ctx)
	require.NoError(t, err)
	require.Equal(t, domain.WorkerSlots{}, list.Slots, "a stopped worker's slots are gone")
}

// TestETAFromHistory: eta_seconds comes from recent runs of the same files
// in that environment.
func TestETAFromHistory(t *testing.T) {
	b := setup(t)
	for range 3 {
		r := b.create(t, 1, domain.CreateRun{})
		b.claim(t, 1, "w")
		// Ten seconds each, as if they had run that long.
		_, err := b.DB.Pool.Exec(b.ctx, `UPDATE runs SET started_at = now() - interval '10 s' WHERE id = $1`, r.ID)
		require.NoError(t, err)
		r.WorkerID = "w"
		b.finish(t, r)
	}
	require.NoError(t, b.Store.WorkerAlive(b.ctx, "w", 4))
	running := b.create(t, 1, domain.CreateRun{})
	b.claim(t, 1, "w")
	next := b.create(t, 1, domain.CreateRun{})
	after := b.create(t, 1, domain.CreateRun{})
	other := b.create(t, 1, domain.CreateRun{TestFiles: []string{fileB}})
	page, err := b.Runs.List(b.ctx, domain.RunQuery{Status: "queued"})
	require.NoError(t, err)
	byID := map[int64]*domain.Run{}
	for _, r := range page.Runs {
		byID[r.ID] = r
	}
	require.InDelta(t, 10, byID[next.ID].ETA.Seconds(), 1.5)
	require.InDelta(t, 20, byID[after.ID].ETA.Seconds(), 1.5)
	require.InDelta(t, 30, byID[other.ID].ETA.Seconds(), 1.5, "its own files never ran, but those before it did")
	require.Equal(t, 3, byID[other.ID].QueuePosition)
	_ = running
}

func strp(s string) *string { return &s }

// TestFenceGrowsPerEnvironment: every run that starts in an environment
// gets a fencing token larger than every earlier run's there, direct or
// pooled, whichever pool it came through; environments count apart, and a
// run has none until it starts. Claims that take nothing use none up.
func TestFenceGrowsPerEnvironment(t *testing.T) {
	b := setup(t)
	b.label(t, map[int][]string{8: {"blue", "green"}, 9: {"blue"}})
	fences := map[int][]int64{}
	start := func(env int) *domain.Run {
		t.Helper()
		run := b.claim(t, env, "w")
		require.Equal(t, env, run.EnvironmentID)
		found, err := b.Runs.Find(b.ctx, run.ID)
		require.NoError(t, err)
		require.Equal(t, run.Fence, found.Fence, "the claim returns the fence it stored")
		fences[env] = append(fences[env], run.Fence)
		b.finish(t, run)
		return run
	}

	queued := b.create(t, 8, domain.CreateRun{})
	require.Zero(t, queued.Fence, "a queued run has no fence")
	start(8)
	b.claimNone(t, 8)
	b.claimNone(t, 8)
	b.createPooled(t, "blue")
	start(8)
	b.createPooled(t, "green")
	start(8)
	b.createPooled(t, "blue")
	start(9)
	b.create(t, 9, domain.CreateRun{})
	start(9)
	b.create(t, 8, domain.CreateRun{})
	start(8)

	require.Equal(t, []int64{1, 2, 3, 4}, fences[8], "environment 8: one more for each run started, whatever its pool")
	require.Equal(t, []int64{1, 2}, fences[9], "environment 9 counts on its own")
}
