package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/baton-ci/baton/api/domain"
)

// Enqueuer inserts River jobs inside the caller's pgx transaction, so a job
// exists exactly when the change that calls for it was committed;
// *jobs.Enqueuer implements it.
type Enqueuer interface {
	// EnqueueStartTx inserts the job that makes a worker look at an
	// environment's queue, to run at once or, with at, not before then.
	EnqueueStartTx(ctx context.Context, tx pgx.Tx, environmentID int, at *time.Time) error
	// EnqueueRunEndedTx inserts the run_ended job of a run's end.
	EnqueueRunEndedTx(ctx context.Context, tx pgx.Tx, e domain.RunEnded) error
	// EnqueueRunStartedTx inserts the run_started job of a run's claim.
	EnqueueRunStartedTx(ctx context.Context, tx pgx.Tx, e domain.RunStarted) error
}

// Store is Baton's storage on PostgreSQL. It implements domain.RunStore for
// the run service, domain.EnvironmentStore for the environment service, the
// worker registry, and the read-only catalog services. It holds no rules
// and writes no text meant for users.
type Store struct {
	db  *DB
	enq Enqueuer
	// workerLostAfter is how old a worker's heartbeat may be for its slots
	// to count (BATON_WORKER_LOST_AFTER).
	workerLostAfter time.Duration
}

var (
	_ domain.RunStore         = (*Store)(nil)
	_ domain.EnvironmentStore = (*Store)(nil)
	_ domain.WorkerRegistry   = (*Store)(nil)
	_ domain.CatalogService   = (*Store)(nil)
	_ domain.CatalogStore     = (*Store)(nil)
	_ domain.HealthChecker    = (*Store)(nil)
)

// NewStore returns a Store that enqueues River jobs through enq.
func NewStore(db *DB, enq Enqueuer, opts ...StoreOption) *Store {
	s := &Store{db: db, enq: enq, workerLostAfter: DefaultWorkerLostAfter}
	for _, o := range opts {
		o(s)
	}
	return s
}

// StoreOption configures a Store.
type StoreOption func(*Store)

// DefaultWorkerLostAfter is BATON_WORKER_LOST_AFTER's default.
const DefaultWorkerLostAfter = 12 * time.Second

// WithWorkerLostAfter sets how long a worker counts as alive after its last
// heartbeat (BATON_WORKER_LOST_AFTER), for the capacity the queue reports;
// it must be the workers' setting.
func WithWorkerLostAfter(d time.Duration) StoreOption {
	return func(s *Store) {
		if d > 0 {
			s.workerLostAfter = d
		}
	}
}

// advisoryNamespace is the first key of every per-environment advisory lock,
// so Baton's locks never collide with another application's in the database.
const advisoryNamespace = 0x42544e // "BTN"

// InEnvironment implements domain.RunStore. The transaction is pgx's, so
// River inserts its jobs in it directly. Its first statement takes the
// environment's transaction-scoped advisory lock: every decision that
// changes which run executes in an environment (create, claim, finish,
// cancel, reap) is made under it. The lock is released by commit or
// rollback, and by PostgreSQL itself when the holder's connection dies.
func (s *Store) InEnvironment(ctx context.Context, environmentID int, fn func(tx domain.RunTx) error) error {
	return wrapDBError(pgx.BeginFunc(ctx, s.db.Pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(@namespace, @environment_id)`,
			pgx.NamedArgs{"namespace": advisoryNamespace, "environment_id": environmentID}); err != nil {
			return fmt.Errorf("lock environment %d: %w", environmentID, err)
		}
		return fn(&runTx{tx: tx, enq: s.enq, env: environmentID})
	}))
}

// wrapDBError turns a lost database into domain.ErrUnavailable, so the API
// answers 503 rather than 500, and leaves every other error alone.
func wrapDBError(err error) error {
	if err == nil {
		return nil
	}
	var de *domain.Error
	if errors.As(err, &de) {
		return err
	}
	if IsUnavailable(err) {
		return fmt.Errorf("%w (%w)", domain.ErrUnavailable, err)
	}
	return err
}

// Ping implements domain.HealthChecker.
func (s *Store) Ping(ctx context.Context) error { return wrapDBError(s.db.Ping(ctx)) }
