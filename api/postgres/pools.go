package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/baton-ci/baton/api/domain"
)

// The locks, and the one order every transaction takes them in, which is
// what keeps them free of deadlocks:
//
//  1. the labels lock (advisoryNamespace, labelsLockKey): shared by the
//     creation and the cancel of a pooled run (they read a pool's members
//     and rely on them staying put), exclusive for a change of labels;
//  2. environment locks (advisoryNamespace, id), in ascending id order: one
//     for everything about one environment (create, claim, finish, cancel,
//     reap, hold, edit), all of a pool's members for a pooled run's
//     creation or cancel;
//  3. row locks on runs, only ever taken last (the claim's FOR UPDATE, the
//     UPDATEs of an end).
//
// No transaction takes a lock of an earlier kind, or a lower environment,
// after a later one, so no two can wait for each other in a cycle.
const labelsLockKey = 0 // environment ids start at 1

// lockEnvironments takes the locks of envs, which are in ascending order,
// in one round trip (a batch runs its statements in order).
func lockEnvironments(ctx context.Context, tx pgx.Tx, envs []int) error {
	b := &pgx.Batch{}
	for _, id := range envs {
		b.Queue(`SELECT pg_advisory_xact_lock(@namespace, @environment_id)`,
			pgx.NamedArgs{"namespace": advisoryNamespace, "environment_id": id})
	}
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("lock environments %v: %w", envs, err)
	}
	return nil
}

func lockLabels(ctx context.Context, tx pgx.Tx, exclusive bool) error {
	fn := "pg_advisory_xact_lock_shared"
	if exclusive {
		fn = "pg_advisory_xact_lock"
	}
	if _, err := tx.Exec(ctx, `SELECT `+fn+`(@namespace, @key)`,
		pgx.NamedArgs{"namespace": advisoryNamespace, "key": labelsLockKey}); err != nil {
		return fmt.Errorf("lock labels: %w", err)
	}
	return nil
}

// InPool implements domain.RunStore.
func (s *Store) InPool(ctx context.Context, pool string, fn func(tx domain.PoolTx) error) error {
	return wrapDBError(pgx.BeginFunc(ctx, s.db.Pool, func(tx pgx.Tx) error {
		if err := lockLabels(ctx, tx, false); err != nil {
			return err
		}
		// Read after the shared labels lock: no change of labels is under
		// way, and none can start until this transaction ends.
		rs, err := tx.Query(ctx, `SELECT id FROM environments WHERE @pool = ANY(labels) ORDER BY id`, pgx.NamedArgs{"pool": pool})
		if err != nil {
			return err
		}
		members, err := pgx.CollectRows(rs, pgx.RowTo[int])
		if err != nil {
			return err
		}
		if err := lockEnvironments(ctx, tx, members); err != nil {
			return err
		}
		return fn(&poolTx{tx: tx, enq: s.enq, pool: pool, members: members})
	}))
}

// poolTx is domain.PoolTx on a transaction that holds the locks of a pool.
type poolTx struct {
	tx      pgx.Tx
	enq     Enqueuer
	pool    string
	members []int
}

var _ domain.PoolTx = (*poolTx)(nil)

// Members implements domain.PoolTx.
func (t *poolTx) Members() []int { return t.members }

// InsertRun implements domain.PoolTx.
func (t *poolTx) InsertRun(ctx context.Context, r domain.NewRun) (int64, error) {
	if r.Pool != t.pool || r.EnvironmentID != 0 {
		return 0, fmt.Errorf("insert a run of pool %q (environment %d) under the locks of pool %q", r.Pool, r.EnvironmentID, t.pool)
	}
	return insertRun(ctx, t.tx, r)
}

// RunStatus implements domain.PoolTx.
func (t *poolTx) RunStatus(ctx context.Context, id int64) (domain.RunStatus, error) {
	return runStatus(ctx, t.tx, id)
}

// Startable implements domain.PoolTx.
func (t *poolTx) Startable(ctx context.Context) ([]int, error) {
	rs, err := t.tx.Query(ctx, `
SELECT e.id FROM environments e
WHERE e.id = ANY(@ids::int[])
	AND NOT (e.hold_by IS NOT NULL AND (e.hold_until IS NULL OR e.hold_until > clock_timestamp()))
	AND NOT EXISTS (SELECT 1 FROM runs r WHERE r.environment_id = e.id AND r.status = 'running')
ORDER BY e.id`, pgx.NamedArgs{"ids": t.members})
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rs, pgx.RowTo[int])
}

// EnqueueStartIn implements domain.PoolTx.
func (t *poolTx) EnqueueStartIn(ctx context.Context, env int) error {
	for _, m := range t.members {
		if m == env {
			return t.enq.EnqueueStartTx(ctx, t.tx, env, nil)
		}
	}
	return fmt.Errorf("enqueue a start of environment %d under the locks of pool %q (%v)", env, t.pool, t.members)
}

// EndRun implements domain.PoolTx.
func (t *poolTx) EndRun(ctx context.Context, e domain.RunEnd) (*domain.RunEnded, error) {
	if e.Kind != domain.EndCancelled {
		return nil, fmt.Errorf("end run %d under the locks of pool %q: only a queued run ends there", e.RunID, t.pool)
	}
	return endRun(ctx, t.tx, e)
}

// EnqueueRunEnded implements domain.PoolTx.
func (t *poolTx) EnqueueRunEnded(ctx context.Context, e domain.RunEnded) error {
	return t.enq.EnqueueRunEndedTx(ctx, t.tx, e)
}
