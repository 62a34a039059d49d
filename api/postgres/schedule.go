package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/baton-ci/baton/api/domain"
)

// heartbeatSQL marks a worker's runs alive and stores their progress in one
// statement for all of them; -1 stands for "not known yet" and keeps what
// is stored. Only runs still running on this worker answer.
const heartbeatSQL = `
UPDATE runs SET heartbeat_at = clock_timestamp(),
	progress_completed = coalesce(NULLIF(p.completed, -1), runs.progress_completed),
	progress_total = coalesce(NULLIF(p.total, -1), runs.progress_total)
FROM unnest(@ids::bigint[], @completed::int[], @total::int[]) AS p(id, completed, total)
WHERE runs.id = p.id AND runs.worker_id = @worker_id AND runs.status = 'running'
RETURNING runs.id, runs.cancel_requested`

// Heartbeat implements domain.RunStore.
func (s *Store) Heartbeat(ctx context.Context, workerID string, runs map[int64]*domain.Progress) (map[int64]bool, error) {
	alive := make(map[int64]bool, len(runs))
	if len(runs) == 0 {
		return alive, nil
	}
	ids, completed, total := make([]int64, 0, len(runs)), make([]int32, 0, len(runs)), make([]int32, 0, len(runs))
	for id, p := range runs {
		ids = append(ids, id)
		if p == nil {
			completed, total = append(completed, -1), append(total, -1)
		} else {
			completed, total = append(completed, int32(p.Completed)), append(total, int32(p.Total))
		}
	}
	rs, err := s.db.Pool.Query(ctx, heartbeatSQL, pgx.NamedArgs{
		"ids": ids, "completed": completed, "total": total, "worker_id": workerID,
	})
	if err != nil {
		return nil, wrapDBError(err)
	}
	var id int64
	var cancelRequested bool
	_, err = pgx.ForEachRow(rs, []any{&id, &cancelRequested}, func() error {
		alive[id] = cancelRequested
		return nil
	})
	if err != nil {
		return nil, wrapDBError(err)
	}
	return alive, nil
}

const staleRunsSQL = `
SELECT id, environment_id, coalesce(worker_id, '') FROM runs
WHERE status = 'running' AND heartbeat_at < clock_timestamp() - make_interval(secs => @stale_seconds)
ORDER BY id`

// StaleRuns implements domain.RunStore.
func (s *Store) StaleRuns(ctx context.Context, staleAfter time.Duration) ([]domain.StaleRun, error) {
	rs, err := s.db.Pool.Query(ctx, staleRunsSQL, pgx.NamedArgs{"stale_seconds": staleAfter.Seconds()})
	if err != nil {
		return nil, wrapDBError(err)
	}
	stale, err := pgx.CollectRows(rs, func(row pgx.CollectableRow) (domain.StaleRun, error) {
		var r domain.StaleRun
		err := row.Scan(&r.ID, &r.EnvironmentID, &r.WorkerID)
		return r, err
	})
	return stale, wrapDBError(err)
}

// stalledEnvironmentsSQL finds the environments a run could start in now
// that no run runs in: not held, and a queued run can take them.
const stalledEnvironmentsSQL = `
SELECT e.id FROM environments e
WHERE NOT (e.hold_by IS NOT NULL AND (e.hold_until IS NULL OR e.hold_until > clock_timestamp()))
	AND NOT EXISTS (SELECT 1 FROM runs r WHERE r.environment_id = e.id AND r.status = 'running')
	AND EXISTS (SELECT 1 FROM runs q WHERE q.status = 'queued' AND (q.environment_id = e.id OR q.pool = ANY(e.labels)))
ORDER BY 1`

// StalledEnvironments implements domain.RunStore.
func (s *Store) StalledEnvironments(ctx context.Context) ([]int, error) {
	rs, err := s.db.Pool.Query(ctx, stalledEnvironmentsSQL)
	if err != nil {
		return nil, wrapDBError(err)
	}
	envs, err := pgx.CollectRows(rs, pgx.RowTo[int])
	return envs, wrapDBError(err)
}
