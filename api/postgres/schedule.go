package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/baton-ci/baton/api/domain"
)

// ClaimNext starts the oldest queued run of an environment for workerID and
// returns it, or returns nil when the environment is busy or its queue is
// empty. Under the environment's advisory lock the check and the claim are
// one step; the partial unique index would reject a second running run even
// if they were not.
func (s *Store) ClaimNext(ctx context.Context, environmentID int, workerID string) (*domain.Run, error) {
	var claimed *runRow
	err := s.inTx(ctx, func(tx *gorm.DB, _ *sql.Tx) error {
		if err := lockEnvironment(tx, environmentID); err != nil {
			return err
		}
		var busy bool
		if err := tx.Raw(`SELECT EXISTS (SELECT 1 FROM runs WHERE environment_id = ? AND status = 'running')`, environmentID).
			Scan(&busy).Error; err != nil {
			return err
		}
		if busy {
			return nil
		}
		var rows []runRow
		if err := tx.Raw(`UPDATE runs SET status = 'running', started_at = clock_timestamp(), heartbeat_at = clock_timestamp(), worker_id = ?
			WHERE id = (SELECT id FROM runs WHERE environment_id = ? AND status = 'queued' ORDER BY id LIMIT 1)
			RETURNING *`, workerID, environmentID).Scan(&rows).Error; err != nil {
			return err
		}
		if len(rows) == 1 {
			claimed = &rows[0]
		}
		return nil
	})
	if err != nil || claimed == nil {
		return nil, err
	}
	return claimed.toDomain(), nil
}

// FinishRun records how a running run claimed by workerID ended and hands
// its environment to the next queued run. It reports false when the run was
// no longer this worker's to finish (it was reaped or already ended), in
// which case nothing changes.
func (s *Store) FinishRun(ctx context.Context, run *domain.Run, workerID string, o domain.Outcome) (bool, error) {
	var finished bool
	err := s.inTx(ctx, func(tx *gorm.DB, sqlTx *sql.Tx) error {
		if err := lockEnvironment(tx, run.EnvironmentID); err != nil {
			return err
		}
		var sum domain.TestSummary
		if o.Summary != nil {
			sum = *o.Summary
		}
		// A cancel accepted while the run was running wins over however it
		// ended (it may have finished before the worker saw the request):
		// the API promised the user a cancelled run.
		res := tx.Exec(`UPDATE runs SET status = CASE WHEN cancel_requested THEN 'cancelled' ELSE ? END, exit_code = ?,
			reason = CASE WHEN cancel_requested THEN ? ELSE NULLIF(?, '') END, finished_at = clock_timestamp(),
			log_size = (SELECT coalesce(max(end_offset), 0) FROM run_log_chunks WHERE run_id = runs.id),
			tests_passed = ?, tests_failed = ?, tests_errors = ?, tests_skipped = ?, tests_total = ?,
			progress_completed = CASE WHEN ? THEN ? ELSE progress_completed END,
			progress_total = CASE WHEN ? THEN ? ELSE progress_total END
			WHERE id = ? AND status = 'running' AND worker_id = ?`,
			string(o.Status), o.ExitCode, domain.ReasonCancelled, o.Reason,
			nullIfNoSummary(o, sum.Passed), nullIfNoSummary(o, sum.Failed), nullIfNoSummary(o, sum.Errors),
			nullIfNoSummary(o, sum.Skipped), nullIfNoSummary(o, sum.Total),
			o.Summary != nil, sum.Total, o.Summary != nil, sum.Total,
			run.ID, workerID)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 1 && len(o.Tests) > 0 {
			rows := make([]testResultRow, len(o.Tests))
			for i, tr := range o.Tests {
				rows[i] = testResultRow{RunID: run.ID, Position: i, NodeID: tr.NodeID, Outcome: tr.Outcome,
					DurationMS: tr.DurationMS, Message: tr.Message}
			}
			if err := tx.CreateInBatches(rows, 500).Error; err != nil {
				return err
			}
		}
		finished = res.RowsAffected == 1
		if !finished {
			return nil
		}
		return s.handOver(ctx, tx, sqlTx, run.EnvironmentID)
	})
	return finished, err
}

func nullIfNoSummary(o domain.Outcome, n int) *int {
	if o.Summary == nil {
		return nil
	}
	return &n
}

type testResultRow struct {
	RunID      int64
	Position   int
	NodeID     string
	Outcome    string
	DurationMS int64
	Message    string
}

// TableName tells GORM the table.
func (testResultRow) TableName() string { return "run_test_results" }

// ListTestResults returns a run's per-test results in report order, or
// ENOTFOUND for an unknown run.
func (s *Store) ListTestResults(ctx context.Context, runID int64) (*domain.Run, []domain.TestResult, error) {
	run, err := s.FindRun(ctx, runID)
	if err != nil {
		return nil, nil, err
	}
	var rows []testResultRow
	if err := s.db.Gorm.WithContext(ctx).Where("run_id = ?", runID).Order("position").Find(&rows).Error; err != nil {
		return nil, nil, wrapDBError(err)
	}
	out := make([]domain.TestResult, len(rows))
	for i, r := range rows {
		out[i] = domain.TestResult{NodeID: r.NodeID, Outcome: r.Outcome, DurationMS: r.DurationMS, Message: r.Message}
	}
	return run, out, nil
}

// handOver enqueues a start job for an environment that has queued runs.
// It must run under the environment's lock, after the running run ended.
func (s *Store) handOver(ctx context.Context, tx *gorm.DB, sqlTx *sql.Tx, environmentID int) error {
	var waiting bool
	if err := tx.Raw(`SELECT EXISTS (SELECT 1 FROM runs WHERE environment_id = ? AND status = 'queued')`, environmentID).
		Scan(&waiting).Error; err != nil {
		return err
	}
	if !waiting {
		return nil
	}
	return s.enq.EnqueueStartTx(ctx, sqlTx, environmentID)
}

// Heartbeat marks the given runs of workerID as alive, stores their
// progress (nil when not known yet) and returns, for each run that is still
// running on this worker, whether a cancel was requested. A run missing
// from the result is no longer this worker's: it must be killed without
// recording an outcome. One statement serves every run of the worker.
func (s *Store) Heartbeat(ctx context.Context, workerID string, runs map[int64]*domain.Progress) (map[int64]bool, error) {
	alive := make(map[int64]bool, len(runs))
	if len(runs) == 0 {
		return alive, nil
	}
	ids, done, total := make([]string, 0, len(runs)), make([]string, 0, len(runs)), make([]string, 0, len(runs))
	for id, p := range runs {
		ids = append(ids, strconv.FormatInt(id, 10))
		if p == nil {
			done, total = append(done, "-1"), append(total, "-1")
		} else {
			done, total = append(done, strconv.Itoa(p.Completed)), append(total, strconv.Itoa(p.Total))
		}
	}
	var rows []struct {
		ID              int64
		CancelRequested bool
	}
	err := s.db.Gorm.WithContext(ctx).Raw(`UPDATE runs SET heartbeat_at = clock_timestamp(),
			progress_completed = coalesce(NULLIF(p.completed, -1), runs.progress_completed),
			progress_total = coalesce(NULLIF(p.total, -1), runs.progress_total)
		FROM unnest(?::bigint[], ?::int[], ?::int[]) AS p(id, completed, total)
		WHERE runs.id = p.id AND runs.worker_id = ? AND runs.status = 'running'
		RETURNING runs.id, runs.cancel_requested`,
		"{"+strings.Join(ids, ",")+"}", "{"+strings.Join(done, ",")+"}", "{"+strings.Join(total, ",")+"}", workerID).
		Scan(&rows).Error
	if err != nil {
		return nil, wrapDBError(err)
	}
	for _, r := range rows {
		alive[r.ID] = r.CancelRequested
	}
	return alive, nil
}

// ReapLost ends, as error/worker_lost, every running run whose worker has
// not sent a heartbeat for staleAfter, frees its environment and hands it to
// the next queued run. It returns the ids of the reaped runs.
func (s *Store) ReapLost(ctx context.Context, staleAfter time.Duration) ([]int64, error) {
	var stale []runRow
	if err := s.db.Gorm.WithContext(ctx).Where("status = 'running' AND heartbeat_at < clock_timestamp() - make_interval(secs => ?)",
		staleAfter.Seconds()).Find(&stale).Error; err != nil {
		return nil, wrapDBError(err)
	}
	var reaped []int64
	for i := range stale {
		r := &stale[i]
		err := s.inTx(ctx, func(tx *gorm.DB, sqlTx *sql.Tx) error {
			if err := lockEnvironment(tx, r.EnvironmentID); err != nil {
				return err
			}
			res := tx.Exec(`UPDATE runs SET status = 'error', reason = ?, finished_at = clock_timestamp()
				WHERE id = ? AND status = 'running' AND heartbeat_at < clock_timestamp() - make_interval(secs => ?)`,
				domain.ReasonWorkerLost, r.ID, staleAfter.Seconds())
			if res.Error != nil || res.RowsAffected == 0 {
				return res.Error
			}
			line := fmt.Sprintf("\n=== worker %s stopped responding; run ended as worker_lost ===\n", deref(r.WorkerID))
			if err := appendTail(tx, r.ID, line); err != nil {
				return err
			}
			reaped = append(reaped, r.ID)
			return s.handOver(ctx, tx, sqlTx, r.EnvironmentID)
		})
		if err != nil {
			return reaped, err
		}
	}
	return reaped, nil
}

func deref(s *string) string {
	if s == nil {
		return "?"
	}
	return *s
}

// Reconcile enqueues a start job for every environment that has queued runs
// but nothing running, and returns those environments. It repairs a start
// job that was lost or discarded; a superfluous job is harmless because
// claiming is idempotent.
func (s *Store) Reconcile(ctx context.Context) ([]int, error) {
	var envs []int
	if err := s.db.Gorm.WithContext(ctx).Raw(`SELECT DISTINCT q.environment_id FROM runs q
		WHERE q.status = 'queued' AND NOT EXISTS (
			SELECT 1 FROM runs r WHERE r.environment_id = q.environment_id AND r.status = 'running')
		ORDER BY 1`).Scan(&envs).Error; err != nil {
		return nil, wrapDBError(err)
	}
	for _, env := range envs {
		err := s.inTx(ctx, func(tx *gorm.DB, sqlTx *sql.Tx) error {
			return s.enq.EnqueueStartTx(ctx, sqlTx, env)
		})
		if err != nil {
			return nil, err
		}
	}
	return envs, nil
}

// CancelRun cancels a run: a queued run becomes cancelled at once and leaves
// its queue; a running run is flagged, and the worker executing it kills it
// and records the cancellation. It returns ECONFLICT for a run that ended.
func (s *Store) CancelRun(ctx context.Context, id int64) (*domain.Run, error) {
	run, err := s.FindRun(ctx, id)
	if err != nil {
		return nil, err
	}
	err = s.inTx(ctx, func(tx *gorm.DB, _ *sql.Tx) error {
		if err := lockEnvironment(tx, run.EnvironmentID); err != nil {
			return err
		}
		status, err := runStatus(tx, id)
		if err != nil {
			return err
		}
		switch status {
		case domain.StatusQueued:
			if err := tx.Exec(`UPDATE runs SET status = 'cancelled', reason = ?, finished_at = clock_timestamp() WHERE id = ?`,
				domain.ReasonCancelled, id).Error; err != nil {
				return err
			}
			return appendTail(tx, id, "=== cancelled before it started ===\n")
		case domain.StatusRunning:
			return tx.Exec(`UPDATE runs SET cancel_requested = true WHERE id = ?`, id).Error
		default:
			return domain.Errorf(domain.ECONFLICT, "Run %d has already ended (%s).", id, status)
		}
	})
	if err != nil {
		return nil, err
	}
	return s.FindRun(ctx, id)
}

// ErrLogConflict means a log chunk was written at an offset already taken,
// which happens only when a run was taken away from a worker.
var ErrLogConflict = errors.New("log offset already written")

// AppendLog stores one chunk of a run's log at a byte offset.
func (s *Store) AppendLog(ctx context.Context, runID int64, offset int64, text string) error {
	res := s.db.Gorm.WithContext(ctx).Exec(`INSERT INTO run_log_chunks (run_id, byte_offset, end_offset, data)
		VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`, runID, offset, offset+int64(len(text)), text)
	if res.Error != nil {
		return wrapDBError(res.Error)
	}
	if res.RowsAffected == 1 {
		return nil
	}
	// A retry of an append whose success report was lost finds its own text.
	var existing string
	if err := s.db.Gorm.WithContext(ctx).Raw(`SELECT data FROM run_log_chunks WHERE run_id = ? AND byte_offset = ?`,
		runID, offset).Scan(&existing).Error; err != nil {
		return wrapDBError(err)
	}
	if existing == text {
		return nil
	}
	return ErrLogConflict
}

// appendTail appends text after whatever a run's log holds, for lines Baton
// itself writes when no worker is writing (cancel, reap), and keeps
// log_size in step.
func appendTail(tx *gorm.DB, runID int64, text string) error {
	return tx.Exec(`WITH tail AS (SELECT coalesce(max(end_offset), 0) AS o FROM run_log_chunks WHERE run_id = ?),
		ins AS (INSERT INTO run_log_chunks (run_id, byte_offset, end_offset, data)
			SELECT ?, o, o + octet_length(?::text), ? FROM tail RETURNING end_offset)
		UPDATE runs SET log_size = (SELECT end_offset FROM ins) WHERE id = ?`,
		runID, runID, text, text, runID).Error
}
