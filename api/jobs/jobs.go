// Package jobs runs Baton's work on River: the job that starts the next
// queued run of an environment and executes it, the per-process heartbeat
// that proves a running run's worker is alive, the reaper that frees the
// environment of a dead worker, the periodic reconciler, and the run_ended
// job through which later features (webhooks, history, metrics) learn that
// a run ended. The decisions themselves are the run service's
// (domain.RunScheduler); this package only drives them.
//
// The scheduling model: a start job carries only an environment id and
// means "if this environment is free, start its oldest queued run". Creating
// a run, finishing one and reaping one each enqueue such a job in the same
// transaction as their change. A waiting run therefore holds no worker slot
// and no connection, and duplicate or late jobs are harmless because the
// claim itself is idempotent and serialised by the environment's advisory
// lock.
package jobs

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/baton-ci/baton/api/domain"
)

// QueueRuns is the River queue of start jobs; its worker count bounds the
// runs one process executes at once.
const QueueRuns = "runs"

// QueueMaintenance holds Baton's periodic housekeeping jobs, so they never
// wait behind long test runs for a slot.
const QueueMaintenance = "maintenance"

// StartArgs asks a worker to start the next queued run of an environment.
type StartArgs struct {
	EnvironmentID int `json:"environment_id"`
}

// Kind implements river.JobArgs.
func (StartArgs) Kind() string { return "baton_start_next" }

// InsertOpts puts start jobs on the runs queue. Retries only matter when the
// database failed during a claim; the reconciler covers even exhausted ones.
func (StartArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueRuns, MaxAttempts: 10}
}

// ReconcileArgs asks for a sweep that re-enqueues start jobs for every
// environment with queued runs but nothing running.
type ReconcileArgs struct{}

// Kind implements river.JobArgs.
func (ReconcileArgs) Kind() string { return "baton_reconcile" }

// InsertOpts puts reconciliation on the maintenance queue.
func (ReconcileArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueMaintenance, MaxAttempts: 1}
}

// QueueEvents holds run_ended jobs, so their handlers (webhooks, history,
// metrics) never wait behind runs or housekeeping, nor hold them up.
const QueueEvents = "events"

// RunEndedArgs is the run_ended job: one per run that ended, inserted in the
// transaction that ended it (see runs.Service), so it exists exactly when
// the end was committed. Its worker hands it to every
// domain.RunEndedHandler in Config.OnRunEnded. The fields are what a
// consumer needs without reading the database; they are JSON in river_job
// and may gain fields, never change the meaning of one.
type RunEndedArgs struct {
	RunID         int64               `json:"run_id"`
	EnvironmentID int                 `json:"environment_id"`
	RequestedBy   string              `json:"requested_by"`
	TestFiles     []string            `json:"test_files"`
	Status        domain.RunStatus    `json:"status"`
	Reason        string              `json:"reason,omitempty"`
	ExitCode      *int                `json:"exit_code,omitempty"`
	WorkerID      string              `json:"worker_id,omitempty"`
	Pool          string              `json:"pool,omitempty"`
	CreatedAt     time.Time           `json:"created_at"`
	StartedAt     *time.Time          `json:"started_at,omitempty"`
	FinishedAt    time.Time           `json:"finished_at"`
	Summary       *domain.TestSummary `json:"summary,omitempty"`
	// Fence, RerunOf and CancelledBy came later: a job queued before them
	// decodes them as zero (no fence, a new run, no one named).
	Fence       int64  `json:"fence,omitempty"`
	RerunOf     int64  `json:"rerun_of,omitempty"`
	CancelledBy string `json:"cancelled_by,omitempty"`
}

// Kind implements river.JobArgs.
func (RunEndedArgs) Kind() string { return "baton_run_ended" }

// InsertOpts puts run_ended jobs on the events queue. A failing handler is
// retried with River's backoff; 25 attempts span about three weeks.
func (RunEndedArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueEvents, MaxAttempts: 25}
}

func runEndedArgs(e domain.RunEnded) RunEndedArgs {
	return RunEndedArgs{
		RunID: e.RunID, EnvironmentID: e.EnvironmentID, Pool: e.Pool, RequestedBy: e.RequestedBy, TestFiles: e.TestFiles,
		Status: e.Status, Reason: e.Reason, ExitCode: e.ExitCode, WorkerID: e.WorkerID,
		CreatedAt: e.CreatedAt, StartedAt: e.StartedAt, FinishedAt: e.FinishedAt, Summary: e.Summary,
		Fence: e.Fence, RerunOf: e.RerunOf, CancelledBy: e.CancelledBy,
	}
}

// RunEnded is the domain value the job carries.
func (a RunEndedArgs) RunEnded() domain.RunEnded {
	return domain.RunEnded{
		RunID: a.RunID, EnvironmentID: a.EnvironmentID, Pool: a.Pool, RequestedBy: a.RequestedBy, TestFiles: a.TestFiles,
		Status: a.Status, Reason: a.Reason, ExitCode: a.ExitCode, WorkerID: a.WorkerID,
		CreatedAt: a.CreatedAt, StartedAt: a.StartedAt, FinishedAt: a.FinishedAt, Summary: a.Summary,
		Fence: a.Fence, RerunOf: a.RerunOf, CancelledBy: a.CancelledBy,
	}
}

// Enqueuer inserts Baton's jobs inside the storage's pgx transactions;
// it implements postgres.Enqueuer.
type Enqueuer struct {
	client *river.Client[pgx.Tx]
}

// NewEnqueuer returns an insert-only River client on pool. Its one-
// millisecond cooldown makes nearly every insert send River's NOTIFY, which
// wakes an idle worker at once instead of at its next poll.
func NewEnqueuer(pool *pgxpool.Pool) (*Enqueuer, error) {
	client, err := river.NewClient(riverpgxv5.New(pool), &river.Config{
		FetchCooldown: time.Millisecond,
	})
	if err != nil {
		return nil, fmt.Errorf("create River insert client: %w", err)
	}
	return &Enqueuer{client: client}, nil
}

// EnqueueStartTx inserts a start job for environmentID in tx, to run at
// once or, with at, not before then (River's scheduled jobs: when a hold
// ends by itself, its environment's start job is already waiting for it).
func (e *Enqueuer) EnqueueStartTx(ctx context.Context, tx pgx.Tx, environmentID int, at *time.Time) error {
	var opts *river.InsertOpts
	if at != nil {
		opts = &river.InsertOpts{ScheduledAt: *at}
	}
	_, err := e.client.InsertTx(ctx, tx, StartArgs{EnvironmentID: environmentID}, opts)
	return err
}

// EnqueueRunEndedTx inserts the run_ended job of a run's end in tx.
func (e *Enqueuer) EnqueueRunEndedTx(ctx context.Context, tx pgx.Tx, ended domain.RunEnded) error {
	_, err := e.client.InsertTx(ctx, tx, runEndedArgs(ended), nil)
	return err
}

// MigrateRiver creates or upgrades River's tables.
func MigrateRiver(ctx context.Context, pool *pgxpool.Pool) error {
	m, err := rivermigrate.New(riverpgxv5.New(pool), nil)
	if err != nil {
		return err
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("migrate River's tables: %w", err)
	}
	return nil
}

// RiverVersion names River's newest migration, which pins the River schema.
func RiverVersion() string {
	m, err := rivermigrate.New(riverpgxv5.New(nil), nil)
	if err != nil {
		return "unknown"
	}
	all := m.AllVersions()
	if len(all) == 0 {
		return "none"
	}
	return fmt.Sprint(all[len(all)-1].Version)
}
