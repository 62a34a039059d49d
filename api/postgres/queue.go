package postgres

import (
	"context"
	"encoding/json"
	"math"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/baton-ci/baton/api/domain"
)

// historyRuns is how many recent runs of the same files an estimate uses
// (their median duration), so one odd run does not swing it.
const historyRuns = 10

// liveRunsSQL reads the queued and running runs, with whether a running
// run's worker is alive (its slot counts against the live capacity).
const liveRunsSQL = `
SELECT r.id, coalesce(r.environment_id, 0), coalesce(r.pool, ''), r.test_files, r.status, r.started_at,
	w.id IS NOT NULL
FROM runs r LEFT JOIN workers w ON w.id = r.worker_id AND w.heartbeat_at > now() - make_interval(secs => @lost_seconds)
WHERE r.status IN ('queued', 'running')
ORDER BY r.id`

// historySQL returns the median duration of the last historyRuns finished
// runs (success or failed: runs that ran their course) for each key, in one
// environment (env > 0) or anywhere (env = 0); the two branches keep each
// lateral subquery on its own index.
const historySQL = `
SELECT k.i, h.secs FROM unnest(@envs::int[], @files::jsonb[]) WITH ORDINALITY AS k(env, files, i)
CROSS JOIN LATERAL (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY d) AS secs FROM (
	SELECT extract(epoch FROM r.finished_at - r.started_at) AS d FROM runs r
	WHERE r.environment_id = k.env AND r.test_files = k.files AND r.status IN ('success', 'failed')
	ORDER BY r.id DESC LIMIT @n) x) h
WHERE k.env > 0 AND h.secs IS NOT NULL
UNION ALL
SELECT k.i, h.secs FROM unnest(@envs::int[], @files::jsonb[]) WITH ORDINALITY AS k(env, files, i)
CROSS JOIN LATERAL (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY d) AS secs FROM (
	SELECT extract(epoch FROM r.finished_at - r.started_at) AS d FROM runs r
	WHERE r.test_files = k.files AND r.status IN ('success', 'failed')
	ORDER BY r.id DESC LIMIT @n) x) h
WHERE k.env = 0 AND h.secs IS NOT NULL`

// QueueSnapshot implements domain.RunStore and domain.EnvironmentStore: the
// environments, the live runs, the live workers' capacity and the history
// estimates, all read in one REPEATABLE READ transaction, so they agree with
// each other as of one moment (the transaction's now()).
func (s *Store) QueueSnapshot(ctx context.Context) (*domain.QueueSnapshot, error) {
	snap := &domain.QueueSnapshot{History: map[domain.HistoryKey]time.Duration{}}
	err := pgx.BeginTxFunc(ctx, s.db.Pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		lost := pgx.NamedArgs{"lost_seconds": s.workerLostAfter.Seconds()}
		if err := tx.QueryRow(ctx, `SELECT now(), count(*), coalesce(sum(max_runs), 0) FROM workers
			WHERE heartbeat_at > now() - make_interval(secs => @lost_seconds)`, lost).
			Scan(&snap.Now, &snap.Slots.Workers, &snap.Slots.Total); err != nil {
			return err
		}
		snap.Now = snap.Now.UTC()
		rs, err := tx.Query(ctx, `SELECT id, labels, hold_by, coalesce(hold_reason, ''), hold_since, hold_until
			FROM environments ORDER BY id`)
		if err != nil {
			return err
		}
		snap.Environments, err = pgx.CollectRows(rs, func(row pgx.CollectableRow) (domain.SchedEnvironment, error) {
			var e domain.SchedEnvironment
			var heldBy *string
			var reason string
			var since, until *time.Time
			err := row.Scan(&e.ID, &e.Labels, &heldBy, &reason, &since, &until)
			if heldBy != nil && since != nil {
				e.Hold = &domain.Hold{HeldBy: *heldBy, Reason: reason, Since: since.UTC(), Until: utcPtr(until)}
			}
			return e, err
		})
		if err != nil {
			return err
		}
		if rs, err = tx.Query(ctx, liveRunsSQL, lost); err != nil {
			return err
		}
		var status string
		var files []byte
		var r domain.LiveRun
		_, err = pgx.ForEachRow(rs, []any{&r.ID, &r.EnvironmentID, &r.Pool, &files, &status, &r.StartedAt, &r.OnLiveWorker}, func() error {
			live := r
			if err := json.Unmarshal(files, &live.TestFiles); err != nil {
				return err
			}
			if status == string(domain.StatusRunning) {
				snap.Running = append(snap.Running, live)
				if live.OnLiveWorker {
					snap.Slots.Busy++
				}
			} else {
				snap.Queued = append(snap.Queued, live)
			}
			return nil
		})
		if err != nil {
			return err
		}
		return s.readHistory(ctx, tx, snap)
	})
	if err != nil {
		return nil, wrapDBError(err)
	}
	return snap, nil
}

func (s *Store) readHistory(ctx context.Context, tx pgx.Tx, snap *domain.QueueSnapshot) error {
	keys := snap.HistoryKeys()
	if len(keys) == 0 {
		return nil
	}
	envs, files := make([]int32, len(keys)), make([]string, len(keys))
	for i, k := range keys {
		envs[i] = int32(k.EnvironmentID)
		b, err := json.Marshal(splitFilesKey(k.Files))
		if err != nil {
			return err
		}
		files[i] = string(b)
	}
	rs, err := tx.Query(ctx, historySQL, pgx.NamedArgs{"envs": envs, "files": files, "n": historyRuns})
	if err != nil {
		return err
	}
	var i int64
	var secs float64
	_, err = pgx.ForEachRow(rs, []any{&i, &secs}, func() error {
		if i >= 1 && int(i) <= len(keys) && !math.IsNaN(secs) {
			snap.History[keys[i-1]] = time.Duration(secs * float64(time.Second))
		}
		return nil
	})
	return err
}

// splitFilesKey is the inverse of domain.FilesKey.
func splitFilesKey(k string) []string { return strings.Split(k, "\n") }

// WorkerAlive implements domain.WorkerRegistry.
func (s *Store) WorkerAlive(ctx context.Context, id string, maxRuns int) error {
	_, err := s.db.Pool.Exec(ctx, `INSERT INTO workers (id, max_runs) VALUES (@id, @max_runs)
		ON CONFLICT (id) DO UPDATE SET max_runs = excluded.max_runs, heartbeat_at = now()`,
		pgx.NamedArgs{"id": id, "max_runs": maxRuns})
	return wrapDBError(err)
}

// WorkerGone implements domain.WorkerRegistry. It also forgets workers that
// have not been seen for a day, so the table does not grow with every
// worker that was ever killed.
func (s *Store) WorkerGone(ctx context.Context, id string) error {
	_, err := s.db.Pool.Exec(ctx, `DELETE FROM workers WHERE id = @id OR heartbeat_at < now() - interval '1 day'`,
		pgx.NamedArgs{"id": id})
	return wrapDBError(err)
}
