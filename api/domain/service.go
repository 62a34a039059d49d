package domain

import (
	"context"
	"time"
)

// The services below are the contracts between Baton's layers. The HTTP API
// (httpapi) and the workers (jobs) depend on these interfaces only; the run
// service (package runs) and the storage (package postgres) implement them,
// and cmd/baton wires one to the other. Each implementation states its
// interfaces with a compile-time check: var _ domain.RunService = (*runs.Service)(nil).

// RunService is the life cycle of runs as clients drive it: queue, rerun,
// cancel, and read runs, their logs and their test results. Every input is
// validated here, once; errors are *Error with a code and a client-fit message.
type RunService interface {
	// Create validates in, queues the run and arranges for it to start when
	// its environment is free.
	Create(ctx context.Context, in CreateRun) (*Run, error)
	// Rerun queues a copy of run id (see RerunOf), by requestedBy or, when
	// blank, by the original user.
	Rerun(ctx context.Context, id int64, requestedBy string) (*Run, error)
	// RerunFailed queues a run of exactly the failed and errored tests of
	// ended run id (see FailedTestsOf); ECONFLICT when it has not ended or
	// nothing failed.
	RerunFailed(ctx context.Context, id int64, requestedBy string) (*Run, error)
	// Cancel ends a queued run at once, or asks the worker of a running one
	// to stop it; ECONFLICT for a run that has ended. cancelledBy, when not
	// blank, is recorded as who cancelled it (Run.CancelledBy).
	Cancel(ctx context.Context, id int64, cancelledBy string) (*Run, error)
	// Find returns one run, or ENOTFOUND.
	Find(ctx context.Context, id int64) (*Run, error)
	// List returns one page of the runs q asks for, newest first.
	List(ctx context.Context, q RunQuery) (*RunPage, error)
	// ReadLog returns a run's log from a byte offset.
	ReadLog(ctx context.Context, id int64, offset int64) (*LogPage, error)
	// TestResults returns a run and its per-test results in report order.
	TestResults(ctx context.Context, id int64) (*Run, []TestResult, error)
	// JUnitReport returns pytest's JUnit XML report of an ended run;
	// ENOTFOUND for an unknown run or one that has no report (yet).
	JUnitReport(ctx context.Context, id int64) ([]byte, error)
}

// RunScheduler is the life cycle of runs as workers drive it. Claim, Finish
// and Reap decide which run executes in an environment, under that
// environment's lock; Finish, Reap and Cancel end runs through one path,
// which hands the environment to its next run and announces the end (see
// RunEnded).
type RunScheduler interface {
	// Claim starts the oldest queued run of an environment for workerID and
	// returns it, or nil when the environment is busy or has no queue.
	Claim(ctx context.Context, environmentID int, workerID string) (*Run, error)
	// Finish records how a run claimed by workerID ended. It reports false
	// when the run was no longer this worker's (reaped, or already ended),
	// in which case nothing changes.
	Finish(ctx context.Context, run *Run, workerID string, o Outcome) (bool, error)
	// Heartbeat marks workerID's runs alive and stores their progress (nil
	// when not known yet). For each run still running on this worker it
	// reports whether a cancel was requested; a run missing from the result
	// is no longer the worker's and must be killed without recording anything.
	Heartbeat(ctx context.Context, workerID string, runs map[int64]*Progress) (map[int64]bool, error)
	// Reap ends, as error/worker_lost, every running run whose worker has not
	// sent a heartbeat for staleAfter, and returns their ids.
	Reap(ctx context.Context, staleAfter time.Duration) ([]int64, error)
	// Reconcile arranges a start for every environment with queued runs and
	// nothing running (a start job lost or discarded), and returns them.
	Reconcile(ctx context.Context) ([]int, error)
	// AppendLog stores one chunk of a running run's log at a byte offset;
	// ErrLogConflict when another text was stored there.
	AppendLog(ctx context.Context, runID int64, offset int64, text string) error
}

// EnvironmentService manages the test environments as shared resources:
// their metadata and labels (which make pools), holds, and what runs and
// waits in each. Secret variable values never leave it: what it returns
// carries them blanked.
type EnvironmentService interface {
	// ListEnvironments returns all environments by id, with their running
	// run and their queue in start order, the pools and the worker slots.
	ListEnvironments(ctx context.Context) (*EnvironmentList, error)
	// FindEnvironment returns one environment, or ENOTFOUND.
	FindEnvironment(ctx context.Context, id int) (*Environment, error)
	// UpdateEnvironment applies p (see EnvironmentPatch) and returns the
	// environment; a run that starts afterwards gets the new metadata, one
	// already running keeps what it started with.
	UpdateEnvironment(ctx context.Context, id int, p EnvironmentPatch) (*Environment, error)
	// HoldEnvironment places (or, by the same holder, changes) a hold; a
	// run already running finishes first. ECONFLICT when someone else holds
	// the environment.
	HoldEnvironment(ctx context.Context, id int, r HoldRequest) (*Environment, error)
	// ReleaseEnvironment ends the hold, if any, and lets the next run start.
	ReleaseEnvironment(ctx context.Context, id int) (*Environment, error)
}

// EnvironmentStore is the storage the environment service needs; package
// postgres implements it.
type EnvironmentStore interface {
	// Environments returns every environment (or only environment only)
	// with its metadata, secret values included, and its hold.
	Environments(ctx context.Context, only int) ([]*Environment, error)
	// QueueSnapshot is RunStore.QueueSnapshot.
	QueueSnapshot(ctx context.Context) (*QueueSnapshot, error)
	// EditEnvironment runs fn in one transaction that holds environment
	// id's lock; with relabel it first takes the labels lock exclusively,
	// since changing labels changes pools (see RunStore.InPool).
	EditEnvironment(ctx context.Context, id int, relabel bool, fn func(tx EnvironmentTx) error) error
}

// EnvironmentTx is what the environment service may do inside
// EnvironmentStore.EditEnvironment.
type EnvironmentTx interface {
	// Environment reads the locked environment, secret values included.
	Environment(ctx context.Context) (*Environment, error)
	// SaveMeta stores the environment's metadata.
	SaveMeta(ctx context.Context, m EnvironmentMeta) error
	// SetHold stores the hold, starting now (the database's clock).
	SetHold(ctx context.Context, r HoldRequest) error
	// ClearHold removes the hold, if any.
	ClearHold(ctx context.Context) error
	// Busy, Held and HasQueued are RunTx's.
	Busy(ctx context.Context) (bool, error)
	Held(ctx context.Context) (bool, error)
	HasQueued(ctx context.Context) (bool, error)
	// EnqueueStart enqueues the environment's start job, to run at once or,
	// with at, not before then (when a hold ends by itself).
	EnqueueStart(ctx context.Context, at *time.Time) error
}

// CatalogService reads the test catalog as last synced from disk.
type CatalogService interface {
	// ListTestFiles returns the catalog's test files sorted by path.
	ListTestFiles(ctx context.Context) ([]TestFile, error)
	// ListTestDirectories returns the catalog's directories sorted by path.
	ListTestDirectories(ctx context.Context) ([]TestDirectory, error)
}

// CatalogStore is where the catalog read from disk is mirrored.
type CatalogStore interface {
	// ReplaceCatalog makes the stored catalog equal to files and dirs.
	ReplaceCatalog(ctx context.Context, files []TestFile, dirs []TestDirectory) error
}

// Uploader stores an uploaded test file and makes it part of the catalog.
type Uploader interface {
	// Upload validates and stores u; bad input is EINVALID (Fields keyed by
	// FieldUpload*), ECONFLICT or ETOOLARGE, and leaves everything untouched.
	Upload(ctx context.Context, u Upload) (TestFile, error)
	// MaxUploadBytes is the largest file Upload accepts.
	MaxUploadBytes() int64
	// UploadProject validates and stores a whole project, which appears
	// whole or not at all; bad input is EINVALID (Fields keyed by
	// FieldUpload*), ECONFLICT or ETOOLARGE, and writes nothing.
	UploadProject(ctx context.Context, u ProjectUpload) (ProjectStored, error)
	// ReadArchive unpacks a project sent as one .zip or .tar.gz, refusing
	// archive attacks (links, devices, escaping paths, bombs) with a 4xx.
	ReadArchive(data []byte) ([]ProjectFile, error)
	// ProjectLimits are the bounds of a project upload.
	ProjectLimits() ProjectLimits
}

// HealthChecker tells whether the service's dependencies answer.
type HealthChecker interface {
	// Ping returns nil when the database answers within ctx.
	Ping(ctx context.Context) error
}

// RunEndedHandler is told about every run that ended, after the end was
// committed: the seam for webhooks, per-test history and metrics. Handlers
// run on a worker, from River's run_ended job (jobs.Config.OnRunEnded), at
// least once per end: an error makes River retry the job, so a handler must
// tolerate seeing the same end twice.
type RunEndedHandler interface {
	HandleRunEnded(ctx context.Context, e RunEnded) error
}

// RunEndedFunc adapts a function to RunEndedHandler.
type RunEndedFunc func(ctx context.Context, e RunEnded) error

// HandleRunEnded calls f.
func (f RunEndedFunc) HandleRunEnded(ctx context.Context, e RunEnded) error { return f(ctx, e) }

// WorkerRegistry records the worker processes and how many runs each
// executes at once, with their liveness, so the API can tell when a run
// waits for a free worker slot (WaitCapacity) however many hosts there are;
// package postgres implements it.
type WorkerRegistry interface {
	// WorkerAlive records worker id, with maxRuns slots, as alive now. A
	// worker calls it at start and then every heartbeat interval; one that
	// stops calling counts as gone once BATON_WORKER_LOST_AFTER passes.
	WorkerAlive(ctx context.Context, id string, maxRuns int) error
	// WorkerGone forgets worker id, which stopped on purpose.
	WorkerGone(ctx context.Context, id string) error
}
