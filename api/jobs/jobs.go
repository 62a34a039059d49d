// Package jobs runs Baton's work on River: the job that starts the next
// queued run of an environment and executes it, the per-process heartbeat
// that proves a running run's worker is alive, the reaper that frees the
// environment of a dead worker, and the periodic reconciler.
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
	"database/sql"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"
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

// Enqueuer inserts start jobs inside GORM's database/sql transactions.
type Enqueuer struct {
	client *river.Client[*sql.Tx]
}

// NewEnqueuer returns an insert-only River client on sqlDB. Its one-
// millisecond cooldown makes nearly every insert send River's NOTIFY, which
// wakes an idle worker at once instead of at its next poll.
func NewEnqueuer(sqlDB *sql.DB) (*Enqueuer, error) {
	client, err := river.NewClient(riverdatabasesql.New(sqlDB), &river.Config{
		FetchCooldown: time.Millisecond,
	})
	if err != nil {
		return nil, fmt.Errorf("create River insert client: %w", err)
	}
	return &Enqueuer{client: client}, nil
}

// EnqueueStartTx inserts a start job for environmentID in tx.
func (e *Enqueuer) EnqueueStartTx(ctx context.Context, tx *sql.Tx, environmentID int) error {
	_, err := e.client.InsertTx(ctx, tx, StartArgs{EnvironmentID: environmentID}, nil)
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
