package domain

import (
	"context"
	"errors"
	"time"
)

// RunStore is the storage the run service (package runs) needs; package
// postgres implements it. It holds no rules: the service decides, under an
// environment's lock, what changes, and the store only reads and writes.
type RunStore interface {
	// InEnvironment runs fn in one transaction that holds the environment's
	// lock, so "is it free?" and "it is mine now" cannot interleave between
	// workers. fn's error rolls everything back.
	InEnvironment(ctx context.Context, environmentID int, fn func(tx RunTx) error) error
	// InPool runs fn in one transaction that holds the labels lock (shared:
	// labels do not change meanwhile) and then the lock of every
	// environment carrying label pool, in id order. A pooled run is created
	// under it, so its id is drawn under the lock of every environment it
	// may take, as a direct run's is under its one environment's: for each
	// environment, id order is then commit order among all the runs that
	// can take it, and FIFO by id is exact. fn's error rolls back.
	InPool(ctx context.Context, pool string, fn func(tx PoolTx) error) error
	// QueueSnapshot reads the scheduler's state in one transaction, with
	// the history its estimates need (see QueueSnapshot.HistoryKeys).
	QueueSnapshot(ctx context.Context) (*QueueSnapshot, error)
	// FindRun returns one run, or ENOTFOUND.
	FindRun(ctx context.Context, id int64) (*Run, error)
	// ListRuns returns up to f.Limit runs matching f (BeforeID decoded),
	// newest first.
	ListRuns(ctx context.Context, f RunFilter) ([]*Run, error)
	// CountRuns counts the runs matching f on all pages (BeforeID and Limit ignored).
	CountRuns(ctx context.Context, f RunFilter) (int64, error)
	// MissingTestFiles returns the paths that are not in the catalog.
	MissingTestFiles(ctx context.Context, paths []string) ([]string, error)
	// ReadLog returns a run's log from a byte offset, or ENOTFOUND.
	ReadLog(ctx context.Context, runID int64, offset int64) (*LogPage, error)
	// ListTestResults returns a run's per-test results in report order.
	ListTestResults(ctx context.Context, runID int64) ([]TestResult, error)
	// JUnitReport returns the JUnit XML stored when the run ended; nil when
	// there is none.
	JUnitReport(ctx context.Context, runID int64) ([]byte, error)
	// Heartbeat is RunScheduler.Heartbeat, in one statement for all runs.
	Heartbeat(ctx context.Context, workerID string, runs map[int64]*Progress) (map[int64]bool, error)
	// StaleRuns lists the running runs without a heartbeat for staleAfter.
	StaleRuns(ctx context.Context, staleAfter time.Duration) ([]StaleRun, error)
	// StalledEnvironments lists the environments where a run could start
	// and none runs: not held, and a queued run can take them (asked for
	// them, or for a pool whose label they carry).
	StalledEnvironments(ctx context.Context) ([]int, error)
	// AppendLog is RunScheduler.AppendLog.
	AppendLog(ctx context.Context, runID int64, offset int64, text string) error
}

// RunTx is what the run service may do inside RunStore.InEnvironment.
type RunTx interface {
	// InsertRun stores a new queued run and returns its id.
	InsertRun(ctx context.Context, r NewRun) (int64, error)
	// RunStatus reads a run's status, or ENOTFOUND.
	RunStatus(ctx context.Context, id int64) (RunStatus, error)
	// Busy reports whether a run is running in the environment.
	Busy(ctx context.Context) (bool, error)
	// Held reports whether a hold is in force on the environment now.
	Held(ctx context.Context) (bool, error)
	// HasQueued reports whether a queued run can take the environment: one
	// asked for it, or for a pool whose label it carries.
	HasQueued(ctx context.Context) (bool, error)
	// ClaimOldest moves the oldest queued run that can take the environment
	// (direct or pooled, lowest id) to running there for workerID and
	// returns it with what it receives from the environment (Run.Env); nil
	// when none waits. A run another transaction is claiming is waited for,
	// never skipped: if that claim commits, the next oldest is taken; if it
	// rolls back, this one.
	ClaimOldest(ctx context.Context, workerID string) (*Run, error)
	// RequestCancel flags a running run so its worker stops it, recording
	// by as who asked unless someone already did.
	RequestCancel(ctx context.Context, id int64, by string) error
	// EndRun ends a run if it is still in the state e.Kind expects, appends
	// e.LogLine to its log, and returns what ended; nil when the run was not
	// in that state, in which case nothing changed.
	EndRun(ctx context.Context, e RunEnd) (*RunEnded, error)
	// EnqueueStart enqueues the job that starts the environment's next run.
	EnqueueStart(ctx context.Context) error
	// EnqueueRunEnded enqueues the run_ended job that tells RunEndedHandlers.
	EnqueueRunEnded(ctx context.Context, e RunEnded) error
	// EnqueueRunStarted enqueues the run_started job that tells
	// RunStartedHandlers.
	EnqueueRunStarted(ctx context.Context, e RunStarted) error
}

// PoolTx is what the run service may do inside RunStore.InPool.
type PoolTx interface {
	// Members are the environments carrying the pool's label, by id; the
	// transaction holds their locks.
	Members() []int
	// InsertRun stores a new queued pooled run and returns its id.
	InsertRun(ctx context.Context, r NewRun) (int64, error)
	// RunStatus reads a run's status, or ENOTFOUND.
	RunStatus(ctx context.Context, id int64) (RunStatus, error)
	// Startable lists the members where a run could start now: nothing
	// runs there and no hold is in force.
	Startable(ctx context.Context) ([]int, error)
	// EnqueueStartIn enqueues the start job of member environment env.
	EnqueueStartIn(ctx context.Context, env int) error
	// EndRun is RunTx.EndRun, for a pooled run that has not started.
	EndRun(ctx context.Context, e RunEnd) (*RunEnded, error)
	// EnqueueRunEnded is RunTx.EnqueueRunEnded.
	EnqueueRunEnded(ctx context.Context, e RunEnded) error
}

// NewRun is a validated run ready to be stored: in one environment, or
// (EnvironmentID 0) in a pool.
type NewRun struct {
	RequestedBy   string
	EnvironmentID int
	Pool          string
	// TestFiles are every file the run touches; Tests, Keyword and Markers
	// narrow it (see CreateRun).
	TestFiles []string
	Tests     []string
	Keyword   string
	Markers   string
	// Timeout is whole seconds, at least one.
	Timeout time.Duration
	// RerunOf is the run this one runs again; 0 for a new run.
	RerunOf int64
}

// EndKind is the transition that ends a run; each expects its own state.
type EndKind int

// The ways a run ends.
const (
	// EndFinished: the worker that claimed the run recorded its outcome.
	// Expects the run running on RunEnd.WorkerID. A cancel requested
	// meanwhile wins over the outcome: the API promised a cancelled run.
	EndFinished EndKind = iota + 1
	// EndLost: the run's worker stopped heartbeating. Expects the run
	// running with a heartbeat older than RunEnd.StaleAfter.
	EndLost
	// EndCancelled: a user cancelled a run that had not started. Expects
	// the run queued.
	EndCancelled
)

// RunEnd asks RunTx.EndRun to end one run.
type RunEnd struct {
	RunID int64
	Kind  EndKind
	// WorkerID is the worker that must hold the run (EndFinished).
	WorkerID string
	// StaleAfter is how old the run's heartbeat must be (EndLost).
	StaleAfter time.Duration
	Outcome    Outcome
	// LogLine, when set, is appended to the run's log: Baton's own words on
	// why the run ended, for runs no worker is writing to.
	LogLine string
	// CancelledBy is who cancelled the run (EndCancelled); "" for no one named.
	CancelledBy string
}

// RunEnded is a run's end as the world is told about it: the payload of
// the run_ended job every RunEndedHandler receives.
type RunEnded struct {
	RunID int64
	// EnvironmentID is where the run executed; 0 for a pooled run that
	// ended (was cancelled) before it got one.
	EnvironmentID int
	// Pool is the label a pooled run asked for; "" for a direct run.
	Pool        string
	RequestedBy string
	TestFiles   []string
	Status      RunStatus
	// Reason explains Status, e.g. ReasonTestsFailed; "" for a success.
	Reason   string
	ExitCode *int
	// WorkerID is the worker that executed the run; "" if it never started.
	WorkerID   string
	CreatedAt  time.Time
	StartedAt  *time.Time
	FinishedAt time.Time
	// Summary counts the test results, when pytest wrote a report.
	Summary *TestSummary
	// Fence is the run's fencing token; 0 if it never started.
	Fence int64
	// RerunOf is the run this one runs again; 0 for a new run.
	RerunOf int64
	// CancelledBy is who asked to cancel the run (Run.CancelledBy); "" when
	// no one asked or the request named no one.
	CancelledBy string
}

// Started reports whether the run held its environment before it ended,
// so that ending it freed the environment.
func (e *RunEnded) Started() bool { return e.StartedAt != nil }

// StaleRun is a running run whose worker stopped heartbeating.
type StaleRun struct {
	ID            int64
	EnvironmentID int
	WorkerID      string
}

// ErrLogConflict means a log chunk was written at an offset already taken
// by other text, which happens only when a run was taken away from a worker.
var ErrLogConflict = errors.New("log offset already written")
