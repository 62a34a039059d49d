// Package runs owns the life cycle of a run: it validates what clients ask
// for, decides under each environment's lock which run executes, and ends
// every run through one path (end), which hands the environment to its next
// run and enqueues the run_ended job, in the same transaction.
//
//	queued ──Claim──▶ running ──Finish──▶ success | failed | error | cancelled
//	   │                 └─────Reap─────▶ error (worker_lost)
//	   └──Cancel──▶ cancelled             (Cancel of a running run asks its worker
//	                                       to stop it; it then ends by Finish)
//
// The service holds the rules and no SQL; its storage is a domain.RunStore
// (package postgres). It implements domain.RunService for the HTTP API and
// domain.RunScheduler for the workers.
package runs

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/baton-ci/baton/api/domain"
)

// Service is the run service.
type Service struct {
	store domain.RunStore
	// defaultTimeout is given to runs created without their own.
	defaultTimeout time.Duration
}

var (
	_ domain.RunService   = (*Service)(nil)
	_ domain.RunScheduler = (*Service)(nil)
)

// New returns the run service on store; runs created without a timeout of
// their own get defaultTimeout (rounded up to whole seconds).
func New(store domain.RunStore, defaultTimeout time.Duration) *Service {
	return &Service{store: store, defaultTimeout: defaultTimeout}
}

// Create implements domain.RunService.
func (s *Service) Create(ctx context.Context, in domain.CreateRun) (*domain.Run, error) {
	in.Normalize()
	if err := in.Validate(); err != nil {
		return nil, err
	}
	if err := s.checkCatalog(ctx, in); err != nil {
		return nil, err
	}
	timeout := s.defaultTimeout
	if in.TimeoutSeconds != nil {
		timeout = time.Duration(*in.TimeoutSeconds) * time.Second
	}
	nr := domain.NewRun{
		RequestedBy: in.RequestedBy,
		RerunOf:     in.RerunOf,
		TestFiles:   in.Files(),
		Tests:       in.Tests,
		Keyword:     in.Keyword,
		Markers:     in.Markers,
		Timeout:     wholeSeconds(timeout),
	}
	var id int64
	var err error
	if in.Pool != nil {
		nr.Pool = *in.Pool
		id, err = s.createPooled(ctx, nr)
	} else {
		nr.EnvironmentID = *in.EnvironmentID
		err = s.store.InEnvironment(ctx, nr.EnvironmentID, func(tx domain.RunTx) error {
			// Under the lock before the id is drawn: id order is then commit
			// order among the runs that can take the environment, so FIFO
			// by id is exact (createPooled keeps this true for pools).
			var err error
			if id, err = tx.InsertRun(ctx, nr); err != nil {
				return err
			}
			return tx.EnqueueStart(ctx)
		})
	}
	if err != nil {
		return nil, err
	}
	return s.Find(ctx, id)
}

// createPooled queues a run for any environment carrying label nr.Pool.
// Under the locks of all those environments (RunStore.InPool) the id is
// drawn, and every one of them where a run could start now gets a start
// job: the first to run gives its environment to the oldest run that can
// take it, this one or an older one, and the others find the next. Busy
// members need no job: the run that ends there enqueues one (see end).
func (s *Service) createPooled(ctx context.Context, nr domain.NewRun) (int64, error) {
	var id int64
	err := s.store.InPool(ctx, nr.Pool, func(tx domain.PoolTx) error {
		if len(tx.Members()) == 0 {
			return domain.Invalid("pool", fmt.Sprintf("names no pool: no environment has the label %s (label environments with PATCH /api/environments/{id})", nr.Pool))
		}
		var err error
		if id, err = tx.InsertRun(ctx, nr); err != nil {
			return err
		}
		free, err := tx.Startable(ctx)
		if err != nil {
			return err
		}
		for _, env := range free {
			if err := tx.EnqueueStartIn(ctx, env); err != nil {
				return err
			}
		}
		return nil
	})
	return id, err
}

// wholeSeconds rounds d up to whole seconds, so a timeout is never shortened.
func wholeSeconds(d time.Duration) time.Duration {
	return (d + time.Second - 1) / time.Second * time.Second
}

// maxMissingShown bounds the file names listed in a "not in the catalog" error.
const maxMissingShown = 5

// checkCatalog reports, as field errors, every file (of test_files, or of a
// node id in tests) that is not in the catalog.
func (s *Service) checkCatalog(ctx context.Context, in domain.CreateRun) error {
	missing, err := s.store.MissingTestFiles(ctx, in.Files())
	if err != nil || len(missing) == 0 {
		return err
	}
	whole := make(map[string]bool, len(in.TestFiles))
	for _, f := range in.TestFiles {
		whole[f] = true
	}
	var files, ofTests []string
	for _, m := range missing {
		if whole[m] {
			files = append(files, m)
		} else {
			ofTests = append(ofTests, m)
		}
	}
	fe := domain.FieldErrors{}
	if len(files) > 0 {
		fe.Add("test_files", "not in the test catalog: "+listSome(files))
	}
	if len(ofTests) > 0 {
		fe.Add("tests", "name files that are not in the test catalog: "+listSome(ofTests))
	}
	return fe.Err()
}

func listSome(paths []string) string {
	slices.Sort(paths)
	if len(paths) > maxMissingShown {
		paths = append(paths[:maxMissingShown], "…")
	}
	return strings.Join(paths, ", ")
}

// Rerun implements domain.RunService.
func (s *Service) Rerun(ctx context.Context, id int64, requestedBy string) (*domain.Run, error) {
	orig, err := s.Find(ctx, id)
	if err != nil {
		return nil, err
	}
	return s.Create(ctx, domain.RerunOf(orig, requestedBy))
}

// RerunFailed implements domain.RunService.
func (s *Service) RerunFailed(ctx context.Context, id int64, requestedBy string) (*domain.Run, error) {
	orig, results, err := s.TestResults(ctx, id)
	if err != nil {
		return nil, err
	}
	in, err := domain.FailedTestsOf(orig, results, requestedBy)
	if err != nil {
		return nil, err
	}
	return s.Create(ctx, in)
}

// Cancel implements domain.RunService.
func (s *Service) Cancel(ctx context.Context, id int64, cancelledBy string) (*domain.Run, error) {
	if id < 1 {
		return nil, domain.Invalid("id", domain.RuleRunID)
	}
	by := strings.TrimSpace(cancelledBy)
	if why := domain.CheckUsername(by); by != "" && why != "" {
		return nil, domain.Invalid("cancelled_by", why)
	}
	run, err := s.store.FindRun(ctx, id)
	if err != nil {
		return nil, err
	}
	if run.EnvironmentID == 0 {
		// A pooled run that had not started when we looked. Under its
		// pool's locks no claim of it can be under way; if one got it
		// meanwhile, it now has an environment and is cancelled there.
		started := false
		err := s.store.InPool(ctx, run.Pool, func(tx domain.PoolTx) error {
			status, err := tx.RunStatus(ctx, id)
			if err != nil {
				return err
			}
			switch status {
			case domain.StatusQueued:
				_, err := s.end(ctx, tx, cancelledBeforeStart(id, by))
				return err
			case domain.StatusRunning:
				started = true
				return nil
			default:
				return domain.Errorf(domain.ECONFLICT, "Run %d has already ended (%s).", id, status)
			}
		})
		if err != nil || !started {
			return s.found(ctx, id, err)
		}
		if run, err = s.store.FindRun(ctx, id); err != nil {
			return nil, err
		}
	}
	err = s.store.InEnvironment(ctx, run.EnvironmentID, func(tx domain.RunTx) error {
		status, err := tx.RunStatus(ctx, id)
		if err != nil {
			return err
		}
		switch status {
		case domain.StatusQueued:
			_, err := s.end(ctx, tx, cancelledBeforeStart(id, by))
			return err
		case domain.StatusRunning:
			// Its worker learns of it through its next heartbeat, kills the
			// run and finishes it; Finish then records it as cancelled.
			return tx.RequestCancel(ctx, id, by)
		default:
			return domain.Errorf(domain.ECONFLICT, "Run %d has already ended (%s).", id, status)
		}
	})
	return s.found(ctx, id, err)
}

// cancelledBeforeStart is the end of a run cancelled by by (perhaps no
// one named) while queued.
func cancelledBeforeStart(id int64, by string) domain.RunEnd {
	line := "=== cancelled before it started ===\n"
	if by != "" {
		line = "=== cancelled by " + by + " before it started ===\n"
	}
	return domain.RunEnd{
		RunID:       id,
		Kind:        domain.EndCancelled,
		Outcome:     domain.Outcome{Status: domain.StatusCancelled, Reason: domain.ReasonCancelled},
		LogLine:     line,
		CancelledBy: by,
	}
}

// found returns err, or else run id as it is now.
func (s *Service) found(ctx context.Context, id int64, err error) (*domain.Run, error) {
	if err != nil {
		return nil, err
	}
	return s.Find(ctx, id)
}

// Find implements domain.RunService. A queued run comes with its place in
// line, what it waits for and when it should start.
func (s *Service) Find(ctx context.Context, id int64) (*domain.Run, error) {
	if id < 1 {
		return nil, domain.Invalid("id", domain.RuleRunID)
	}
	run, err := s.store.FindRun(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := s.explain(ctx, []*domain.Run{run}); err != nil {
		return nil, err
	}
	return run, nil
}

// explain fills in the queue information of the queued runs among runs,
// from one snapshot of the scheduler's state; it reads nothing when none
// is queued (most listings, and every ended run).
func (s *Service) explain(ctx context.Context, runs []*domain.Run) error {
	if !slices.ContainsFunc(runs, func(r *domain.Run) bool { return r.Status == domain.StatusQueued }) {
		return nil
	}
	snap, err := s.store.QueueSnapshot(ctx)
	if err != nil {
		return err
	}
	ex := domain.ExplainQueue(snap)
	for _, r := range runs {
		if r.Status != domain.StatusQueued {
			continue
		}
		info := ex.Runs[r.ID]
		if info == nil {
			// It left the queue between the two reads (the snapshot is the
			// newer): show it as it is now, not as a queued run that waits
			// for nothing.
			now, err := s.store.FindRun(ctx, r.ID)
			if err != nil {
				return err
			}
			*r = *now
			continue
		}
		w := info.WaitingFor
		r.QueuePosition, r.WaitingFor, r.ETA = info.Position, &w, info.ETA
	}
	return nil
}

// List implements domain.RunService.
func (s *Service) List(ctx context.Context, q domain.RunQuery) (*domain.RunPage, error) {
	f, err := q.Filter()
	if err != nil {
		return nil, err
	}
	limit := f.Limit
	f.Limit++ // one more tells whether a next page exists
	runs, err := s.store.ListRuns(ctx, f)
	if err != nil {
		return nil, err
	}
	total, err := s.store.CountRuns(ctx, f)
	if err != nil {
		return nil, err
	}
	page := &domain.RunPage{Runs: runs, Total: total}
	if len(runs) > limit {
		page.Runs = runs[:limit]
		page.NextCursor = domain.EncodeCursor(page.Runs[limit-1].ID)
	}
	if err := s.explain(ctx, page.Runs); err != nil {
		return nil, err
	}
	if len(f.Statuses) > 0 {
		// explain may have found a queued run already gone from the queue
		// (and shows it as it is now); it may no longer match the filter.
		// The cursor was taken before, so the next page still follows on.
		page.Runs = slices.DeleteFunc(page.Runs, func(r *domain.Run) bool { return !slices.Contains(f.Statuses, r.Status) })
	}
	return page, nil
}

// ReadLog implements domain.RunService.
func (s *Service) ReadLog(ctx context.Context, id int64, offset int64) (*domain.LogPage, error) {
	if id < 1 {
		return nil, domain.Invalid("id", domain.RuleRunID)
	}
	if offset < 0 {
		return nil, domain.Invalid("offset", "must be a non-negative integer")
	}
	return s.store.ReadLog(ctx, id, offset)
}

// TestResults implements domain.RunService.
func (s *Service) TestResults(ctx context.Context, id int64) (*domain.Run, []domain.TestResult, error) {
	run, err := s.Find(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	results, err := s.store.ListTestResults(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	return run, results, nil
}

// JUnitReport implements domain.RunService.
func (s *Service) JUnitReport(ctx context.Context, id int64) ([]byte, error) {
	run, err := s.Find(ctx, id)
	if err != nil {
		return nil, err
	}
	xml, err := s.store.JUnitReport(ctx, id)
	switch {
	case err != nil:
		return nil, err
	case xml != nil:
		return xml, nil
	case !run.Status.Final():
		return nil, domain.Errorf(domain.ENOTFOUND, "Run %d has no JUnit report yet: it is %s.", id, run.Status)
	}
	return nil, domain.Errorf(domain.ENOTFOUND, "Run %d has no JUnit report: pytest wrote none (the run ended as %s).", id, describeEnd(run))
}

// describeEnd is "error/timeout" or "success".
func describeEnd(r *domain.Run) string {
	if r.Reason == "" {
		return string(r.Status)
	}
	return string(r.Status) + "/" + r.Reason
}

// Claim implements domain.RunScheduler. Under the environment's lock the
// check and the claim are one step; the partial unique index on running
// runs would reject a second one even if they were not.
func (s *Service) Claim(ctx context.Context, environmentID int, workerID string) (*domain.Run, error) {
	var claimed *domain.Run
	err := s.store.InEnvironment(ctx, environmentID, func(tx domain.RunTx) error {
		busy, err := tx.Busy(ctx)
		if err != nil || busy {
			return err
		}
		// A hold in force keeps every run out, pooled or not; queued runs
		// keep their places. One placed while a run ran is checked here,
		// after that run ended: that is how it "takes effect" then.
		held, err := tx.Held(ctx)
		if err != nil || held {
			return err
		}
		claimed, err = tx.ClaimOldest(ctx, workerID)
		if err != nil || claimed == nil {
			return err
		}
		// In the claim's transaction, as run_ended is in the end's: the
		// start is announced exactly when it was committed.
		return tx.EnqueueRunStarted(ctx, runStarted(claimed))
	})
	if err != nil {
		return nil, err
	}
	return claimed, nil
}

// runStarted is the announcement of a claimed run.
func runStarted(r *domain.Run) domain.RunStarted {
	e := domain.RunStarted{RunID: r.ID, EnvironmentID: r.EnvironmentID, Pool: r.Pool, RequestedBy: r.RequestedBy,
		TestFiles: r.TestFiles, WorkerID: r.WorkerID, CreatedAt: r.CreatedAt, Timeout: r.Timeout,
		Fence: r.Fence, RerunOf: r.RerunOf}
	if r.StartedAt != nil {
		e.StartedAt = *r.StartedAt
	}
	return e
}

// Finish implements domain.RunScheduler.
func (s *Service) Finish(ctx context.Context, run *domain.Run, workerID string, o domain.Outcome) (bool, error) {
	var finished bool
	err := s.store.InEnvironment(ctx, run.EnvironmentID, func(tx domain.RunTx) error {
		ended, err := s.end(ctx, tx, domain.RunEnd{RunID: run.ID, Kind: domain.EndFinished, WorkerID: workerID, Outcome: o})
		finished = ended != nil
		return err
	})
	return finished, err
}

// Heartbeat implements domain.RunScheduler.
func (s *Service) Heartbeat(ctx context.Context, workerID string, runs map[int64]*domain.Progress) (map[int64]bool, error) {
	if len(runs) == 0 {
		return map[int64]bool{}, nil
	}
	return s.store.Heartbeat(ctx, workerID, runs)
}

// Reap implements domain.RunScheduler.
func (s *Service) Reap(ctx context.Context, staleAfter time.Duration) ([]int64, error) {
	stale, err := s.store.StaleRuns(ctx, staleAfter)
	if err != nil {
		return nil, err
	}
	var reaped []int64
	for _, r := range stale {
		err := s.store.InEnvironment(ctx, r.EnvironmentID, func(tx domain.RunTx) error {
			// EndLost checks the heartbeat again, under the lock: a run
			// that heartbeated since StaleRuns looked is left alone.
			ended, err := s.end(ctx, tx, domain.RunEnd{
				RunID:      r.ID,
				Kind:       domain.EndLost,
				StaleAfter: staleAfter,
				Outcome:    domain.Outcome{Status: domain.StatusError, Reason: domain.ReasonWorkerLost},
				LogLine:    fmt.Sprintf("\n=== worker %s stopped responding; run ended as %s ===\n", r.WorkerID, domain.ReasonWorkerLost),
			})
			if ended != nil {
				reaped = append(reaped, r.ID)
			}
			return err
		})
		if err != nil {
			return reaped, err
		}
	}
	return reaped, nil
}

// Reconcile implements domain.RunScheduler. A superfluous start job is
// harmless: claiming is idempotent.
func (s *Service) Reconcile(ctx context.Context) ([]int, error) {
	envs, err := s.store.StalledEnvironments(ctx)
	if err != nil {
		return nil, err
	}
	for _, env := range envs {
		if err := s.store.InEnvironment(ctx, env, func(tx domain.RunTx) error { return tx.EnqueueStart(ctx) }); err != nil {
			return nil, err
		}
	}
	return envs, nil
}

// AppendLog implements domain.RunScheduler.
func (s *Service) AppendLog(ctx context.Context, runID int64, offset int64, text string) error {
	return s.store.AppendLog(ctx, runID, offset, text)
}

// endTx is what end needs: a RunTx, or a PoolTx for a pooled run that ends
// before it started.
type endTx interface {
	EndRun(ctx context.Context, e domain.RunEnd) (*domain.RunEnded, error)
	EnqueueRunEnded(ctx context.Context, e domain.RunEnded) error
}

// end is the one way a run ends, whether its worker finished it, the reaper
// found its worker lost, or a user cancelled it before it started. In the
// caller's transaction, under the environment's lock, it records the end,
// enqueues the run_ended job that tells every domain.RunEndedHandler (so the
// job exists exactly when the end was committed) and, if the run held the
// environment, enqueues the start of the next queued run. It returns nil
// when the run was not in the state e.Kind expects; then nothing changed.
func (s *Service) end(ctx context.Context, tx endTx, e domain.RunEnd) (*domain.RunEnded, error) {
	ended, err := tx.EndRun(ctx, e)
	if err != nil || ended == nil {
		return nil, err
	}
	if err := tx.EnqueueRunEnded(ctx, *ended); err != nil {
		return nil, err
	}
	if ended.Started() {
		tx, ok := tx.(domain.RunTx)
		if !ok {
			return nil, fmt.Errorf("run %d held environment %d but ended without its lock", ended.RunID, ended.EnvironmentID)
		}
		// A run that can take the environment waits: a direct one, or a
		// pooled one of its labels.
		waiting, err := tx.HasQueued(ctx)
		if err != nil {
			return nil, err
		}
		if waiting {
			if err := tx.EnqueueStart(ctx); err != nil {
				return nil, err
			}
		}
	}
	return ended, nil
}
