package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/baton-ci/baton/api/domain"
)

// runTx is domain.RunTx on a pgx transaction that holds the advisory lock
// of environment env. Its statements name their arguments (@name).
type runTx struct {
	tx  pgx.Tx
	enq Enqueuer
	env int
}

var _ domain.RunTx = (*runTx)(nil)

const insertRunSQL = `
INSERT INTO runs (requested_by, environment_id, pool, test_files, tests, keyword, markers, status, timeout_seconds, rerun_of)
VALUES (@requested_by, NULLIF(@environment_id, 0), NULLIF(@pool, ''), @test_files, @tests, @keyword, @markers, 'queued', @timeout_seconds,
	NULLIF(@rerun_of, 0))
RETURNING id`

// InsertRun implements domain.RunTx.
func (t *runTx) InsertRun(ctx context.Context, r domain.NewRun) (int64, error) {
	if r.EnvironmentID != t.env || r.Pool != "" {
		return 0, fmt.Errorf("insert a run of environment %d (pool %q) under the lock of environment %d", r.EnvironmentID, r.Pool, t.env)
	}
	return insertRun(ctx, t.tx, r)
}

func insertRun(ctx context.Context, tx pgx.Tx, r domain.NewRun) (int64, error) {
	var id int64
	err := tx.QueryRow(ctx, insertRunSQL, pgx.NamedArgs{
		"requested_by":    r.RequestedBy,
		"environment_id":  r.EnvironmentID,
		"pool":            r.Pool,
		"test_files":      r.TestFiles, // jsonb: pgx encodes the slice as a JSON array
		"tests":           nonNil(r.Tests),
		"keyword":         r.Keyword,
		"markers":         r.Markers,
		"timeout_seconds": int(r.Timeout / time.Second),
		"rerun_of":        r.RerunOf,
	}).Scan(&id)
	return id, err
}

// RunStatus implements domain.RunTx.
func (t *runTx) RunStatus(ctx context.Context, id int64) (domain.RunStatus, error) {
	return runStatus(ctx, t.tx, id)
}

func runStatus(ctx context.Context, tx pgx.Tx, id int64) (domain.RunStatus, error) {
	var status domain.RunStatus
	err := tx.QueryRow(ctx, `SELECT status FROM runs WHERE id = @id`, pgx.NamedArgs{"id": id}).Scan(&status)
	if err == pgx.ErrNoRows { //nolint:errorlint // pgx returns ErrNoRows itself, never wrapped
		return "", runNotFound(id)
	}
	return status, err
}

// busySQL tells whether a run is running in an environment.
const busySQL = `SELECT EXISTS (SELECT 1 FROM runs WHERE environment_id = @environment_id AND status = 'running')`

// Busy implements domain.RunTx.
func (t *runTx) Busy(ctx context.Context) (bool, error) {
	return t.exists(ctx, busySQL)
}

// Held implements domain.RunTx.
func (t *runTx) Held(ctx context.Context) (bool, error) {
	return t.exists(ctx, heldSQL)
}

// heldSQL tells whether a hold is in force on an environment, by the
// database's clock; an expired hold is no hold.
const heldSQL = `SELECT EXISTS (SELECT 1 FROM environments WHERE id = @environment_id AND hold_by IS NOT NULL
	AND (hold_until IS NULL OR hold_until > clock_timestamp()))`

// hasQueuedSQL tells whether a queued run can take an environment: one
// asked for it, or for a pool whose label it carries.
const hasQueuedSQL = `SELECT EXISTS (SELECT 1 FROM runs q JOIN environments e ON e.id = @environment_id
	WHERE q.status = 'queued' AND (q.environment_id = e.id OR q.pool = ANY(e.labels)))`

// HasQueued implements domain.RunTx.
func (t *runTx) HasQueued(ctx context.Context) (bool, error) {
	return t.exists(ctx, hasQueuedSQL)
}

func (t *runTx) exists(ctx context.Context, query string) (bool, error) {
	return exists(ctx, t.tx, t.env, query)
}

func exists(ctx context.Context, tx pgx.Tx, env int, query string) (bool, error) {
	var ok bool
	err := tx.QueryRow(ctx, query, pgx.NamedArgs{"environment_id": env}).Scan(&ok)
	return ok, err
}

// claimOldestSQL starts, in environment @environment_id, the oldest queued
// run that can take it: asked for it, or for a pool whose label it carries.
// The caller holds the environment's advisory lock, so no other claim of
// this environment runs meanwhile; but a pooled run is also a candidate of
// its pool's other environments, whose claims may pick the same run at the
// same time. FOR UPDATE settles that without skipping anybody: the row
// locks are taken oldest first, a run whose row another claim holds is
// waited for, and when that claim commits PostgreSQL re-checks the row
// (READ COMMITTED), finds it no longer queued and locks the next oldest
// instead; when that claim rolls back, the run is still the oldest and is
// taken here. SKIP LOCKED would be faster under contention but could give
// the environment to a younger run while an older one's claim fails, which
// is exactly what the fairness rule forbids (TestClaimWaitsForOlderRun).
// Deadlock-free: a claim holds one advisory lock and at most one row lock,
// taken after it, and waits for nothing else while holding the row.
//
// The run's environment_id is set here (for a pooled run, for the first
// time), so the partial unique index on running runs covers pooled runs
// as it covers direct ones. The outer status check re-states the guard:
// a run is only ever started from queued.
const claimOldestSQL = `
UPDATE runs SET status = 'running', environment_id = e.id, started_at = clock_timestamp(),
	heartbeat_at = clock_timestamp(), worker_id = @worker_id
FROM environments e
WHERE e.id = @environment_id AND runs.status = 'queued' AND runs.id = (
	SELECT q.id FROM runs q JOIN environments qe ON qe.id = @environment_id
	WHERE q.status = 'queued' AND (q.environment_id = qe.id OR q.pool = ANY(qe.labels))
	ORDER BY q.id LIMIT 1
	FOR UPDATE OF q)
RETURNING ` + runColumns + `, e.url, e.variables`

// ClaimOldest implements domain.RunTx.
func (t *runTx) ClaimOldest(ctx context.Context, workerID string) (*domain.Run, error) {
	rows, err := t.tx.Query(ctx, claimOldestSQL, pgx.NamedArgs{"worker_id": workerID, "environment_id": t.env})
	if err != nil {
		return nil, err
	}
	var env domain.RunEnvironment
	var vars []byte
	claimed, err := scanRunRows(rows, &env.URL, &vars)
	if err != nil || len(claimed) == 0 {
		return nil, err
	}
	if env.Variables, err = decodeVariables(vars); err != nil {
		return nil, fmt.Errorf("environment %d: %w", t.env, err)
	}
	run := claimed[0].toDomain()
	run.Env = &env
	if err := t.tx.QueryRow(ctx, takeFenceSQL, pgx.NamedArgs{"environment_id": t.env, "run_id": run.ID}).Scan(&run.Fence); err != nil {
		return nil, fmt.Errorf("fence of run %d: %w", run.ID, err)
	}
	return run, nil
}

// takeFenceSQL gives a run that was just claimed the environment's next
// fencing token. The claim's transaction holds the environment's lock, so
// fences are handed out in the order runs start there, and only grow. (A
// separate statement: one UPDATE cannot change both the run and its
// environment, and a CTE would bump the fence on claims that take nothing.)
const takeFenceSQL = `
WITH next AS (UPDATE environments SET fence = fence + 1 WHERE id = @environment_id RETURNING fence)
UPDATE runs SET fence = next.fence FROM next WHERE runs.id = @run_id
RETURNING runs.fence`

// RequestCancel implements domain.RunTx. The first request's name stays:
// a second cancel of a run already stopping changes nothing.
func (t *runTx) RequestCancel(ctx context.Context, id int64, by string) error {
	_, err := t.tx.Exec(ctx, `UPDATE runs SET cancel_requested = true,
		cancelled_by = CASE WHEN cancel_requested THEN cancelled_by ELSE NULLIF(@by, '') END
		WHERE id = @id AND status = 'running'`,
		pgx.NamedArgs{"id": id, "by": by})
	return err
}

// endGuards is the state each kind of end expects the run in.
var endGuards = map[domain.EndKind]string{
	domain.EndFinished:  `status = 'running' AND worker_id = @worker_id`,
	domain.EndLost:      `status = 'running' AND heartbeat_at < clock_timestamp() - make_interval(secs => @stale_seconds)`,
	domain.EndCancelled: `status = 'queued'`,
}

// endRunSQL ends one run. For a finished run a cancel accepted while it ran
// wins over however it ended (it may have ended before the worker saw the
// request): the API promised the user a cancelled run. The summary columns
// are NULL when pytest wrote no report; a report also completes the progress.
const endRunSQL = `
UPDATE runs SET
	status = CASE WHEN @honour_cancel AND cancel_requested THEN 'cancelled' ELSE @status END,
	reason = CASE WHEN @honour_cancel AND cancel_requested THEN @cancelled_reason ELSE NULLIF(@reason, '') END,
	exit_code = @exit_code,
	cancelled_by = coalesce(cancelled_by, NULLIF(@cancelled_by, '')),
	finished_at = clock_timestamp(),
	log_size = (SELECT coalesce(max(end_offset), 0) FROM run_log_chunks WHERE run_id = runs.id),
	tests_passed = @tests_passed, tests_failed = @tests_failed, tests_errors = @tests_errors,
	tests_skipped = @tests_skipped, tests_total = @tests_total,
	progress_completed = coalesce(@tests_total, progress_completed),
	progress_total = coalesce(@tests_total, progress_total)
WHERE id = @id AND %s
RETURNING id, coalesce(environment_id, 0), coalesce(pool, ''), requested_by, test_files, status, coalesce(reason, ''), exit_code,
	coalesce(worker_id, ''), created_at, started_at, finished_at,
	tests_passed, tests_failed, tests_errors, tests_skipped, tests_total,
	coalesce(fence, 0), coalesce(rerun_of, 0), coalesce(cancelled_by, '')`

// EndRun implements domain.RunTx.
func (t *runTx) EndRun(ctx context.Context, e domain.RunEnd) (*domain.RunEnded, error) {
	return endRun(ctx, t.tx, e)
}

// endRun is EndRun on any transaction: the caller holds the locks the end
// needs (the environment's; for a pooled run that never started, its pool's).
func endRun(ctx context.Context, tx pgx.Tx, e domain.RunEnd) (*domain.RunEnded, error) {
	guard, ok := endGuards[e.Kind]
	if !ok {
		return nil, fmt.Errorf("end run %d: unknown kind %d", e.RunID, e.Kind)
	}
	o := e.Outcome
	args := pgx.NamedArgs{
		"id":               e.RunID,
		"worker_id":        e.WorkerID,
		"stale_seconds":    e.StaleAfter.Seconds(),
		"honour_cancel":    e.Kind == domain.EndFinished,
		"cancelled_reason": domain.ReasonCancelled,
		"cancelled_by":     e.CancelledBy,
		"status":           string(o.Status),
		"reason":           o.Reason,
		"exit_code":        o.ExitCode,
		"tests_passed":     nil, "tests_failed": nil, "tests_errors": nil, "tests_skipped": nil, "tests_total": nil,
	}
	if sum := o.Summary; sum != nil {
		args["tests_passed"], args["tests_failed"], args["tests_errors"] = sum.Passed, sum.Failed, sum.Errors
		args["tests_skipped"], args["tests_total"] = sum.Skipped, sum.Total
	}
	var ended domain.RunEnded
	var testFiles []string
	var passed, failed, errs, skipped, total *int
	err := tx.QueryRow(ctx, fmt.Sprintf(endRunSQL, guard), args).Scan(
		&ended.RunID, &ended.EnvironmentID, &ended.Pool, &ended.RequestedBy, &testFiles, &ended.Status, &ended.Reason, &ended.ExitCode,
		&ended.WorkerID, &ended.CreatedAt, &ended.StartedAt, &ended.FinishedAt,
		&passed, &failed, &errs, &skipped, &total, &ended.Fence, &ended.RerunOf, &ended.CancelledBy)
	if err == pgx.ErrNoRows { //nolint:errorlint // pgx returns ErrNoRows itself, never wrapped
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("end run %d: %w", e.RunID, err)
	}
	ended.TestFiles = testFiles
	ended.CreatedAt, ended.FinishedAt = ended.CreatedAt.UTC(), ended.FinishedAt.UTC()
	ended.StartedAt = utcPtr(ended.StartedAt)
	if total != nil {
		ended.Summary = &domain.TestSummary{Passed: derefInt(passed), Failed: derefInt(failed), Errors: derefInt(errs),
			Skipped: derefInt(skipped), Total: *total}
	}
	if err := insertTestResults(ctx, tx, e.RunID, o.Tests, o.ContentHashes); err != nil {
		return nil, err
	}
	if len(o.JUnitXML) > 0 {
		if _, err := tx.Exec(ctx, insertReportSQL, pgx.NamedArgs{"run_id": e.RunID, "junit_xml": o.JUnitXML}); err != nil {
			return nil, fmt.Errorf("store JUnit report of run %d: %w", e.RunID, err)
		}
	}
	if e.LogLine != "" {
		if err := appendTail(ctx, tx, e.RunID, e.LogLine); err != nil {
			return nil, err
		}
	}
	return &ended, nil
}

// insertReportSQL keeps pytest's JUnit report of an ended run, as bytes:
// it is served as pytest wrote it.
const insertReportSQL = `INSERT INTO run_reports (run_id, junit_xml) VALUES (@run_id, @junit_xml)`

// insertTestResultsSQL stores a run's test results in report order, from
// one array per column.
const insertTestResultsSQL = `
INSERT INTO run_test_results (run_id, position, node_id, outcome, duration_ms, message, content_hash)
SELECT @run_id, t.position - 1, t.node_id, t.outcome, t.duration_ms, t.message, t.content_hash
FROM unnest(@node_ids::text[], @outcomes::text[], @durations_ms::bigint[], @messages::text[], @content_hashes::bigint[])
	WITH ORDINALITY AS t(node_id, outcome, duration_ms, message, content_hash, position)`

// insertTestResults stores a run's results, each with the content hash of
// its test file (the node id's path part), NULL when the file is unknown.
func insertTestResults(ctx context.Context, tx pgx.Tx, runID int64, tests []domain.TestResult, hashes map[string]int64) error {
	if len(tests) == 0 {
		return nil
	}
	nodeIDs, outcomes := make([]string, len(tests)), make([]string, len(tests))
	durations, messages := make([]int64, len(tests)), make([]string, len(tests))
	contentHashes := make([]*int64, len(tests))
	for i, tr := range tests {
		nodeIDs[i], outcomes[i], durations[i], messages[i] = tr.NodeID, tr.Outcome, tr.DurationMS, tr.Message
		file, _, _ := strings.Cut(tr.NodeID, "::")
		if h, ok := hashes[file]; ok {
			contentHashes[i] = &h
		}
	}
	_, err := tx.Exec(ctx, insertTestResultsSQL, pgx.NamedArgs{
		"run_id": runID, "node_ids": nodeIDs, "outcomes": outcomes, "durations_ms": durations, "messages": messages,
		"content_hashes": contentHashes,
	})
	if err != nil {
		return fmt.Errorf("store test results of run %d: %w", runID, err)
	}
	return nil
}

// appendTailSQL appends text after whatever a run's log holds and keeps
// log_size in step: for lines written when no worker is writing.
const appendTailSQL = `
WITH tail AS (SELECT coalesce(max(end_offset), 0) AS o FROM run_log_chunks WHERE run_id = @run_id),
ins AS (
	INSERT INTO run_log_chunks (run_id, byte_offset, end_offset, data)
	SELECT @run_id, o, o + octet_length(@text::text), @text FROM tail
	RETURNING end_offset)
UPDATE runs SET log_size = (SELECT end_offset FROM ins) WHERE id = @run_id`

func appendTail(ctx context.Context, tx pgx.Tx, runID int64, text string) error {
	_, err := tx.Exec(ctx, appendTailSQL, pgx.NamedArgs{"run_id": runID, "text": text})
	return err
}

// EnqueueStart implements domain.RunTx.
func (t *runTx) EnqueueStart(ctx context.Context) error {
	return t.enq.EnqueueStartTx(ctx, t.tx, t.env, nil)
}

// EnqueueRunStarted implements domain.RunTx.
func (t *runTx) EnqueueRunStarted(ctx context.Context, e domain.RunStarted) error {
	return t.enq.EnqueueRunStartedTx(ctx, t.tx, e)
}

// EnqueueRunEnded implements domain.RunTx.
func (t *runTx) EnqueueRunEnded(ctx context.Context, e domain.RunEnded) error {
	return t.enq.EnqueueRunEndedTx(ctx, t.tx, e)
}

// nonNil keeps a nil slice from being stored as JSON null.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
