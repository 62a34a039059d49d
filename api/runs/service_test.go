package runs_test

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertest"
	"github.com/stretchr/testify/require"

	"github.com/baton-ci/baton/api/domain"
	"github.com/baton-ci/baton/api/internal/pgtest"
	"github.com/baton-ci/baton/api/jobs"
	"github.com/baton-ci/baton/api/runs"
)

const (
	fileA = "sample-tests/test_a.py"
	fileB = "sample-tests/test_b.py"
)

// bundle is what every test here starts from: a fresh database with a
// two-file catalog, the storage and the run service on it.
type bundle struct {
	*pgtest.Stack
	ctx    context.Context
	driver *riverpgxv5.Driver
}

func setup(t *testing.T) *bundle {
	t.Helper()
	t.Parallel()
	ctx := context.Background()
	stack := pgtest.NewStack(t, pgtest.NewDB(t), 30*time.Minute)
	files := []domain.TestFile{
		{Path: fileA, Directory: "sample-tests", ModifiedAt: time.Now()},
		{Path: fileB, Directory: "sample-tests", ModifiedAt: time.Now()},
	}
	require.NoError(t, stack.Store.ReplaceCatalog(ctx, files, []domain.TestDirectory{{Path: "sample-tests", FileCount: 2}}))
	return &bundle{Stack: stack, ctx: ctx, driver: riverpgxv5.New(stack.DB.Pool)}
}

func (b *bundle) create(t *testing.T, env int, in domain.CreateRun) *domain.Run {
	t.Helper()
	if in.RequestedBy == "" {
		in.RequestedBy = "alice"
	}
	if in.TestFiles == nil {
		in.TestFiles = []string{fileA}
	}
	in.EnvironmentID = &env
	run, err := b.Runs.Create(b.ctx, in)
	require.NoError(t, err)
	return run
}

func (b *bundle) claim(t *testing.T, env int, worker string) *domain.Run {
	t.Helper()
	run, err := b.Runs.Claim(b.ctx, env, worker)
	require.NoError(t, err)
	require.NotNil(t, run, "nothing to claim in environment %d", env)
	return run
}

// runEnded returns the run_ended jobs inserted so far, in order.
func (b *bundle) runEnded(t *testing.T, want int) []jobs.RunEndedArgs {
	t.Helper()
	return inserted[jobs.RunEndedArgs](b, t, want)
}

// runStarted returns the run_started jobs inserted so far, in order.
func (b *bundle) runStarted(t *testing.T, want int) []jobs.RunStartedArgs {
	t.Helper()
	return inserted[jobs.RunStartedArgs](b, t, want)
}

// inserted returns the want jobs of kind T inserted so far on the events
// queue, in order.
func inserted[T river.JobArgs](b *bundle, t *testing.T, want int) []T {
	t.Helper()
	var zero T
	expected := make([]rivertest.ExpectedJob, want)
	for i := range expected {
		expected[i] = rivertest.ExpectedJob{Args: zero, Opts: &rivertest.RequireInsertedOpts{Queue: jobs.QueueEvents}}
	}
	rows := rivertest.RequireManyInserted(b.ctx, t, b.driver, expected)
	out := make([]T, len(rows))
	for i, r := range rows {
		require.NoError(t, jsonUnmarshal(r.EncodedArgs, &out[i]))
	}
	return out
}

func intp(n int) *int { return &n }

// TestRerunCopiesTimeout is the guard of the rerun bug: a rerun used to get
// the server's default timeout instead of the original's.
func TestRerunCopiesTimeout(t *testing.T) {
	b := setup(t)
	orig := b.create(t, 3, domain.CreateRun{TestFiles: []string{fileB, fileA}, TimeoutSeconds: intp(60)})
	require.Equal(t, time.Minute, orig.Timeout)

	again, err := b.Runs.Rerun(b.ctx, orig.ID, "")
	require.NoError(t, err)
	require.Equal(t, time.Minute, again.Timeout, "the rerun keeps the original's timeout")
	require.Equal(t, []string{fileB, fileA}, again.TestFiles)
	require.Equal(t, 3, again.EnvironmentID)
	require.Equal(t, "alice", again.RequestedBy)

	byBob, err := b.Runs.Rerun(b.ctx, orig.ID, " bob ")
	require.NoError(t, err)
	require.Equal(t, "bob", byBob.RequestedBy)
	require.Equal(t, time.Minute, byBob.Timeout)

	// Each says what it reruns, and the original's reruns are listed by it.
	require.Equal(t, orig.ID, again.RerunOf)
	require.Equal(t, orig.ID, byBob.RerunOf)
	require.Zero(t, orig.RerunOf, "a new run reruns nothing")
	ofRerun, err := b.Runs.Rerun(b.ctx, again.ID, "")
	require.NoError(t, err)
	require.Equal(t, again.ID, ofRerun.RerunOf, "a rerun of a rerun names its own original")
	page, err := b.Runs.List(b.ctx, domain.RunQuery{RerunOf: strconv.FormatInt(orig.ID, 10)})
	require.NoError(t, err)
	require.Equal(t, int64(2), page.Total)
	require.Equal(t, []int64{byBob.ID, again.ID}, []int64{page.Runs[0].ID, page.Runs[1].ID})
	_, err = b.Runs.List(b.ctx, domain.RunQuery{RerunOf: "0"})
	require.Equal(t, domain.EINVALID, domain.ErrorCodeOf(err))
}

// TestEndOfRun: finishing, reaping and cancelling a queued run each go
// through the one end-of-run path: the run_ended job carries what a consumer
// needs, and a run that held its environment hands it on.
func TestEndOfRun(t *testing.T) {
	t.Run("finish", func(t *testing.T) {
		b := setup(t)
		first := b.create(t, 1, domain.CreateRun{})
		next := b.create(t, 1, domain.CreateRun{RequestedBy: "bob"})
		claimed := b.claim(t, 1, "w1")
		require.Equal(t, first.ID, claimed.ID)

		o := domain.OutcomeForExit(1)
		o.Summary = &domain.TestSummary{Passed: 2, Failed: 1, Total: 3}
		o.Tests = []domain.TestResult{{NodeID: fileA + "::test_x", Outcome: domain.TestFailed, DurationMS: 4, Message: "boom"}}
		ok, err := b.Runs.Finish(b.ctx, claimed, "w2", o)
		require.NoError(t, err)
		require.False(t, ok, "another worker cannot finish the run")
		ok, err = b.Runs.Finish(b.ctx, claimed, "w1", o)
		require.NoError(t, err)
		require.True(t, ok)
		ok, err = b.Runs.Finish(b.ctx, claimed, "w1", o)
		require.NoError(t, err)
		require.False(t, ok, "a run ends once")

		ended := b.runEnded(t, 1)[0]
		require.Equal(t, first.ID, ended.RunID)
		require.Equal(t, 1, ended.EnvironmentID)
		require.Equal(t, domain.StatusFailed, ended.Status)
		require.Equal(t, domain.ReasonTestsFailed, ended.Reason)
		require.Equal(t, 1, *ended.ExitCode)
		require.Equal(t, "w1", ended.WorkerID)
		require.Equal(t, "alice", ended.RequestedBy)
		require.Equal(t, []string{fileA}, ended.TestFiles)
		require.Equal(t, o.Summary, ended.Summary)
		require.NotNil(t, ended.StartedAt)
		require.False(t, ended.FinishedAt.Before(*ended.StartedAt))

		// Handed on: the next run starts.
		require.Equal(t, next.ID, b.claim(t, 1, "w1").ID)
		_, results, err := b.Runs.TestResults(b.ctx, first.ID)
		require.NoError(t, err)
		require.Equal(t, o.Tests, results)
	})

	t.Run("finish after a cancel request", func(t *testing.T) {
		b := setup(t)
		run := b.create(t, 2, domain.CreateRun{})
		claimed := b.claim(t, 2, "w1")
		got, err := b.Runs.Cancel(b.ctx, run.ID, " dave ")
		require.NoError(t, err)
		require.Equal(t, domain.StatusRunning, got.Status, "a running run is only asked to stop")
		require.Equal(t, "dave", got.CancelledBy, "who asked shows while the run stops")
		rivertest.RequireNotInserted(b.ctx, t, b.driver, &jobs.RunEndedArgs{}, nil)
		again, err := b.Runs.Cancel(b.ctx, run.ID, "erin")
		require.NoError(t, err)
		require.Equal(t, "dave", again.CancelledBy, "the first request's name stays")

		ok, err := b.Runs.Finish(b.ctx, claimed, "w1", domain.OutcomeForExit(0))
		require.NoError(t, err)
		require.True(t, ok)
		ended := b.runEnded(t, 1)[0]
		require.Equal(t, domain.StatusCancelled, ended.Status, "the cancel wins over how the run ended")
		require.Equal(t, domain.ReasonCancelled, ended.Reason)
		final, err := b.Runs.Find(b.ctx, run.ID)
		require.NoError(t, err)
		require.Equal(t, "dave", final.CancelledBy)
	})

	t.Run("reap", func(t *testing.T) {
		b := setup(t)
		lost := b.create(t, 4, domain.CreateRun{})
		next := b.create(t, 4, domain.CreateRun{})
		b.claim(t, 4, "dead-worker")
		reaped, err := b.Runs.Reap(b.ctx, time.Hour)
		require.NoError(t, err)
		require.Empty(t, reaped, "a fresh heartbeat is not stale")

		time.Sleep(20 * time.Millisecond)
		reaped, err = b.Runs.Reap(b.ctx, 10*time.Millisecond)
		require.NoError(t, err)
		require.Equal(t, []int64{lost.ID}, reaped)
		ended := b.runEnded(t, 1)[0]
		require.Equal(t, lost.ID, ended.RunID)
		require.Equal(t, domain.StatusError, ended.Status)
		require.Equal(t, domain.ReasonWorkerLost, ended.Reason)
		require.Equal(t, "dead-worker", ended.WorkerID)
		page, err := b.Runs.ReadLog(b.ctx, lost.ID, 0)
		require.NoError(t, err)
		require.Equal(t, "\n=== worker dead-worker stopped responding; run ended as worker_lost ===\n", page.Text)
		require.True(t, page.Complete)
		require.Equal(t, next.ID, b.claim(t, 4, "w1").ID, "handed on")
	})

	t.Run("cancel queued", func(t *testing.T) {
		b := setup(t)
		running := b.create(t, 5, domain.CreateRun{})
		queued := b.create(t, 5, domain.CreateRun{RequestedBy: "carol"})
		b.claim(t, 5, "w1")
		_, err := b.Runs.Cancel(b.ctx, queued.ID, "a\x01b")
		require.Equal(t, domain.EINVALID, domain.ErrorCodeOf(err), "a bad name cancels nothing")
		_, err = b.Runs.Cancel(b.ctx, queued.ID, strings.Repeat("x", domain.MaxRequestedByLen+1))
		require.Equal(t, domain.EINVALID, domain.ErrorCodeOf(err))
		got, err := b.Runs.Cancel(b.ctx, queued.ID, "frank")
		require.NoError(t, err)
		require.Equal(t, domain.StatusCancelled, got.Status)
		require.Equal(t, "frank", got.CancelledBy)
		ended := b.runEnded(t, 1)[0]
		require.Equal(t, queued.ID, ended.RunID)
		require.Equal(t, domain.StatusCancelled, ended.Status)
		require.Equal(t, domain.ReasonCancelled, ended.Reason)
		require.Nil(t, ended.StartedAt)
		require.Empty(t, ended.WorkerID)
		page, err := b.Runs.ReadLog(b.ctx, queued.ID, 0)
		require.NoError(t, err)
		require.Equal(t, "=== cancelled by frank before it started ===\n", page.Text)
		_, err = b.Runs.Cancel(b.ctx, queued.ID, "")
		require.Equal(t, domain.ECONFLICT, domain.ErrorCodeOf(err))
		b.runEnded(t, 1) // still one: nothing ended twice
		unnamed := b.create(t, 5, domain.CreateRun{})
		got, err = b.Runs.Cancel(b.ctx, unnamed.ID, "  ")
		require.NoError(t, err)
		require.Empty(t, got.CancelledBy, "a blank name names no one")
		_ = running
	})
}

// TestStartJobs: a run's start job is enqueued with the run, and again only
// when a running run ends with others waiting.
func TestStartJobs(t *testing.T) {
	b := setup(t)
	start := func(n int) {
		t.Helper()
		expected := make([]rivertest.ExpectedJob, n)
		for i := range expected {
			expected[i] = rivertest.ExpectedJob{Args: jobs.StartArgs{}, Opts: &rivertest.RequireInsertedOpts{Queue: jobs.QueueRuns}}
		}
		rivertest.RequireManyInserted(b.ctx, t, b.driver, expected)
	}
	first := b.create(t, 6, domain.CreateRun{})
	start(1)
	second := b.create(t, 6, domain.CreateRun{})
	start(2)
	claimed := b.claim(t, 6, "w1")
	require.Equal(t, first.ID, claimed.ID)
	_, err := b.Runs.Cancel(b.ctx, second.ID, "")
	require.NoError(t, err)
	start(2) // a queued run's end frees nothing
	ok, err := b.Runs.Finish(b.ctx, claimed, "w1", domain.OutcomeForExit(0))
	require.NoError(t, err)
	require.True(t, ok)
	start(2) // nothing waits any more

	// A running run that ends with another waiting hands the environment
	// on at once: a start job for the next run, in the end's transaction
	// (the reconciler, which would also start it, runs only every 10 s).
	third := b.create(t, 6, domain.CreateRun{})
	fourth := b.create(t, 6, domain.CreateRun{})
	start(4)
	claimed = b.claim(t, 6, "w1")
	require.Equal(t, third.ID, claimed.ID)
	ok, err = b.Runs.Finish(b.ctx, claimed, "w1", domain.OutcomeForExit(1))
	require.NoError(t, err)
	require.True(t, ok)
	start(5)
	require.Equal(t, fourth.ID, b.claim(t, 6, "w1").ID)
}

// TestValidation: every rule is checked by the service itself, whoever
// calls it, and a refused run changes nothing.
func TestValidation(t *testing.T) {
	b := setup(t)
	env := 1
	for name, c := range map[string]struct {
		in     domain.CreateRun
		fields []string
	}{
		"empty":            {domain.CreateRun{}, []string{"requested_by", "environment_id", "test_files"}},
		"not in catalog":   {domain.CreateRun{RequestedBy: "a", EnvironmentID: &env, TestFiles: []string{"sample-tests/test_zz.py"}}, []string{"test_files"}},
		"timeout too long": {domain.CreateRun{RequestedBy: "a", EnvironmentID: &env, TestFiles: []string{fileA}, TimeoutSeconds: intp(domain.MaxTimeoutSeconds + 1)}, []string{"timeout_seconds"}},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := b.Runs.Create(b.ctx, c.in)
			var de *domain.Error
			require.ErrorAs(t, err, &de)
			require.Equal(t, domain.EINVALID, de.Code)
			for _, f := range c.fields {
				require.Contains(t, de.Fields, f)
				require.Contains(t, de.Message, f, "the message spells out each reason")
			}
			require.Len(t, de.Fields, len(c.fields))
		})
	}
	page, err := b.Runs.List(b.ctx, domain.RunQuery{})
	require.NoError(t, err)
	require.Empty(t, page.Runs)
	rivertest.RequireNotInserted(b.ctx, t, b.driver, &jobs.StartArgs{}, nil)

	_, err = b.Runs.List(b.ctx, domain.RunQuery{Limit: "0", Status: "paused", Cursor: "x"})
	var de *domain.Error
	require.ErrorAs(t, err, &de)
	require.Equal(t, map[string]string{"limit": domain.RuleListLimit, "status": domain.RuleStatus, "cursor": domain.RuleCursor}, de.Fields)
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// heartbeatAfterLook is the storage at the moment the reaper races a
// heartbeat: the run was stale when StaleRuns looked, and its worker
// heartbeats before the reaper takes the environment's lock.
type heartbeatAfterLook struct {
	domain.RunStore
	beat func()
}

func (s heartbeatAfterLook) StaleRuns(ctx context.Context, staleAfter time.Duration) ([]domain.StaleRun, error) {
	stale, err := s.RunStore.StaleRuns(ctx, staleAfter)
	s.beat()
	return stale, err
}

// TestReapSparesARunThatHeartbeatsMeanwhile is the guard of the reaper's
// second look under the lock: a worker that proved it is alive after
// StaleRuns listed its run keeps the run, and nothing ends.
func TestReapSparesARunThatHeartbeatsMeanwhile(t *testing.T) {
	b := setup(t)
	b.create(t, 7, domain.CreateRun{})
	run := b.claim(t, 7, "slow-worker")
	svc := runs.New(heartbeatAfterLook{RunStore: b.Store, beat: func() {
		_, err := b.Runs.Heartbeat(b.ctx, "slow-worker", map[int64]*domain.Progress{run.ID: nil})
		require.NoError(t, err)
	}}, time.Hour)

	time.Sleep(1100 * time.Millisecond) // stale for a 1 s limit when StaleRuns looks
	reaped, err := svc.Reap(b.ctx, time.Second)
	require.NoError(t, err)
	require.Empty(t, reaped, "the heartbeat came before the reaper took the lock")
	got, err := b.Runs.Find(b.ctx, run.ID)
	require.NoError(t, err)
	require.Equal(t, domain.StatusRunning, got.Status)
	rivertest.RequireNotInserted(b.ctx, t, b.driver, &jobs.RunEndedArgs{}, nil)
}

// TestClaimWaitsForABusyEnvironment: while a run executes, a claim in its
// environment takes nothing and is no error (the start job just ends);
// the partial unique index is the backstop, not the rule.
func TestClaimWaitsForABusyEnvironment(t *testing.T) {
	b := setup(t)
	b.create(t, 8, domain.CreateRun{})
	waiting := b.create(t, 8, domain.CreateRun{})
	first := b.claim(t, 8, "w1")
	claimed, err := b.Runs.Claim(b.ctx, 8, "w2")
	require.NoError(t, err)
	require.Nil(t, claimed, "environment 8 is busy")
	got, err := b.Runs.Find(b.ctx, waiting.ID)
	require.NoError(t, err)
	require.Equal(t, domain.StatusQueued, got.Status)

	ok, err := b.Runs.Finish(b.ctx, first, "w1", domain.OutcomeForExit(0))
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, waiting.ID, b.claim(t, 8, "w2").ID)
}

// TestStaleHolderChangesNothing: a worker whose run was reaped (it froze,
// or lost its database, and its lease expired) while the environment went
// on to the next run can neither keep the old run alive by heartbeats nor
// record its end when it comes back: the reaper's end stands, and the run
// now executing, another worker's, is untouched by it. Heartbeats refresh
// only runs that are running on the worker that sends them.
func TestStaleHolderChangesNothing(t *testing.T) {
	b := setup(t)
	lost := b.create(t, 6, domain.CreateRun{})
	next := b.create(t, 6, domain.CreateRun{})
	claimed := b.claim(t, 6, "frozen")
	time.Sleep(20 * time.Millisecond)
	reaped, err := b.Runs.Reap(b.ctx, 10*time.Millisecond)
	require.NoError(t, err)
	require.Equal(t, []int64{lost.ID}, reaped)
	require.Equal(t, next.ID, b.claim(t, 6, "w2").ID)

	both := map[int64]*domain.Progress{lost.ID: nil, next.ID: {Completed: 1, Total: 9}}
	alive, err := b.Runs.Heartbeat(b.ctx, "frozen", both)
	require.NoError(t, err)
	require.Empty(t, alive, "neither the reaped run nor the other worker's is the frozen worker's")
	alive, err = b.Runs.Heartbeat(b.ctx, "w2", map[int64]*domain.Progress{lost.ID: nil, next.ID: nil})
	require.NoError(t, err)
	require.Equal(t, map[int64]bool{next.ID: false}, alive, "a reaped run is nobody's")
	got, err := b.Runs.Find(b.ctx, next.ID)
	require.NoError(t, err)
	require.Nil(t, got.Progress, "the frozen worker's heartbeat wrote nothing into w2's run")

	for _, o := range []domain.Outcome{
		{Status: domain.StatusError, Reason: domain.ReasonLeaseExpired},
		domain.OutcomeForExit(0),
	} {
		ok, err := b.Runs.Finish(b.ctx, claimed, "frozen", o)
		require.NoError(t, err)
		require.False(t, ok, "a reaped run's worker cannot end it again (%s)", o.Status)
	}
	got, err = b.Runs.Find(b.ctx, lost.ID)
	require.NoError(t, err)
	require.Equal(t, domain.StatusError, got.Status)
	require.Equal(t, domain.ReasonWorkerLost, got.Reason)
	got, err = b.Runs.Find(b.ctx, next.ID)
	require.NoError(t, err)
	require.Equal(t, domain.StatusRunning, got.Status)
	require.Equal(t, "w2", got.WorkerID)
	require.Len(t, b.runEnded(t, 1), 1, "one end: the reaper's")
}

// TestEventsCarryTheRun: the run_started and run_ended jobs (what webhooks
// are made from) carry the run's pool, fence, rerun_of and cancelled_by as
// the claim and the end stored them.
func TestEventsCarryTheRun(t *testing.T) {
	b := setup(t)
	b.label(t, map[int][]string{2: {"p"}})
	orig := b.create(t, 2, domain.CreateRun{})
	claimed := b.claim(t, 2, "w")
	b.finish(t, claimed)
	rerun, err := b.Runs.Rerun(b.ctx, orig.ID, "")
	require.NoError(t, err)
	claimedRerun := b.claim(t, 2, "w")
	_, err = b.Runs.Cancel(b.ctx, rerun.ID, "bob")
	require.NoError(t, err)
	b.finish(t, claimedRerun)
	pooled := b.createPooled(t, "p")
	b.claim(t, 2, "w")

	started := b.runStarted(t, 3)
	require.Equal(t, orig.ID, started[0].RunID)
	require.Equal(t, claimed.Fence, started[0].Fence)
	require.Positive(t, started[0].Fence)
	require.Zero(t, started[0].RerunOf)
	require.Empty(t, started[0].Pool)
	require.Equal(t, rerun.ID, started[1].RunID)
	require.Equal(t, orig.ID, started[1].RerunOf, "a rerun's start names its original")
	require.Equal(t, claimed.Fence+1, started[1].Fence)
	require.Equal(t, pooled.ID, started[2].RunID)
	require.Equal(t, "p", started[2].Pool)
	require.Equal(t, 2, started[2].EnvironmentID)

	ended := b.runEnded(t, 2)
	require.Equal(t, orig.ID, ended[0].RunID)
	require.Equal(t, claimed.Fence, ended[0].Fence)
	require.Zero(t, ended[0].RerunOf)
	require.Empty(t, ended[0].CancelledBy)
	require.Equal(t, rerun.ID, ended[1].RunID)
	require.Equal(t, domain.StatusCancelled, ended[1].Status)
	require.Equal(t, "bob", ended[1].CancelledBy, "a cancelled run's end names who cancelled it")
	require.Equal(t, orig.ID, ended[1].RerunOf)
	require.Equal(t, claimedRerun.Fence, ended[1].Fence)
}
