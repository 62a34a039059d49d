package postgres

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/baton-ci/baton/api/domain"
)

// runRow is the GORM model of the runs table.
type runRow struct {
	ID                int64
	RequestedBy       string
	EnvironmentID     int
	TestFiles         []string `gorm:"serializer:json"`
	Status            string
	ExitCode          *int
	Reason            *string
	TimeoutSeconds    int
	WorkerID          *string
	CancelRequested   bool
	CreatedAt         time.Time `gorm:"autoCreateTime:false"`
	StartedAt         *time.Time
	FinishedAt        *time.Time
	HeartbeatAt       *time.Time
	LogSize           int64
	ProgressCompleted *int
	ProgressTotal     *int
	TestsPassed       *int
	TestsFailed       *int
	TestsErrors       *int
	TestsSkipped      *int
	TestsTotal        *int
	// QueuePosition is computed by queries, never stored.
	QueuePosition *int `gorm:"->;-:migration"`
}

// TableName tells GORM the table.
func (runRow) TableName() string { return "runs" }

func (r *runRow) toDomain() *domain.Run {
	run := &domain.Run{
		ID:            r.ID,
		RequestedBy:   r.RequestedBy,
		EnvironmentID: r.EnvironmentID,
		TestFiles:     r.TestFiles,
		Status:        domain.RunStatus(r.Status),
		ExitCode:      r.ExitCode,
		CreatedAt:     r.CreatedAt.UTC(),
		StartedAt:     utcPtr(r.StartedAt),
		FinishedAt:    utcPtr(r.FinishedAt),
		LogSize:       r.LogSize,
		Timeout:       time.Duration(r.TimeoutSeconds) * time.Second,
	}
	if r.Reason != nil {
		run.Reason = *r.Reason
	}
	if r.WorkerID != nil {
		run.WorkerID = *r.WorkerID
	}
	if r.QueuePosition != nil {
		run.QueuePosition = *r.QueuePosition
	}
	if r.ProgressTotal != nil {
		run.Progress = &domain.Progress{Total: *r.ProgressTotal, Completed: derefInt(r.ProgressCompleted)}
	}
	if r.TestsTotal != nil {
		run.Summary = &domain.TestSummary{Total: *r.TestsTotal, Passed: derefInt(r.TestsPassed),
			Failed: derefInt(r.TestsFailed), Errors: derefInt(r.TestsErrors), Skipped: derefInt(r.TestsSkipped)}
	}
	return run
}

func derefInt(p *int) int {
	if p == nil {
		return 0
	}
	return *p
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// queuePositionSQL computes a queued run's place in its environment's FIFO
// from the partial queue index; it is NULL for runs that are not queued.
const queuePositionSQL = `CASE WHEN runs.status = 'queued' THEN (
	SELECT count(*) FROM runs q WHERE q.environment_id = runs.environment_id AND q.status = 'queued' AND q.id <= runs.id
) END AS queue_position`

// runColumns are the columns scanRuns reads, in its order.
var runColumns = "id, requested_by, environment_id, test_files, status, exit_code, reason, timeout_seconds, worker_id, " +
	"cancel_requested, created_at, started_at, finished_at, heartbeat_at, log_size, progress_completed, progress_total, " +
	"tests_passed, tests_failed, tests_errors, tests_skipped, tests_total, " + queuePositionSQL

// scanRuns runs q, which selects runColumns, and scans the rows by hand:
// the run list is the API's hottest query, and GORM's reflective row
// mapping cost more CPU than the query itself (bench/README.md).
func scanRuns(q *gorm.DB) ([]runRow, error) {
	rows, err := q.Rows()
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []runRow
	for rows.Next() {
		var r runRow
		var files []byte
		if err := rows.Scan(&r.ID, &r.RequestedBy, &r.EnvironmentID, &files, &r.Status, &r.ExitCode, &r.Reason,
			&r.TimeoutSeconds, &r.WorkerID, &r.CancelRequested, &r.CreatedAt, &r.StartedAt, &r.FinishedAt,
			&r.HeartbeatAt, &r.LogSize, &r.ProgressCompleted, &r.ProgressTotal, &r.TestsPassed, &r.TestsFailed,
			&r.TestsErrors, &r.TestsSkipped, &r.TestsTotal, &r.QueuePosition); err != nil {
			return nil, err
		}
		if err := json.Unmarshal(files, &r.TestFiles); err != nil {
			return nil, fmt.Errorf("run %d: test_files: %w", r.ID, err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// CreateRun validates in, stores it as a queued run and enqueues the job
// that starts it, in one transaction.
func (s *Store) CreateRun(ctx context.Context, in domain.CreateRun) (*domain.Run, error) {
	in.Normalize()
	if err := in.Validate(); err != nil {
		return nil, err
	}
	if err := s.checkCatalog(ctx, in.TestFiles); err != nil {
		return nil, err
	}
	timeout := s.DefaultTimeout
	if in.TimeoutSeconds != nil {
		timeout = time.Duration(*in.TimeoutSeconds) * time.Second
	}
	var id int64
	err := s.inTx(ctx, func(tx *gorm.DB, sqlTx *sql.Tx) error {
		// Taking the lock before the id is drawn makes id order equal commit
		// order within an environment, so FIFO by id is exact.
		if err := lockEnvironment(tx, *in.EnvironmentID); err != nil {
			return err
		}
		row := runRow{
			RequestedBy:    in.RequestedBy,
			EnvironmentID:  *in.EnvironmentID,
			TestFiles:      in.TestFiles,
			Status:         string(domain.StatusQueued),
			TimeoutSeconds: int((timeout + time.Second - 1) / time.Second),
		}
		if err := tx.Omit("ID", "CreatedAt", "QueuePosition").Create(&row).Error; err != nil {
			return err
		}
		id = row.ID
		return s.enq.EnqueueStartTx(ctx, sqlTx, row.EnvironmentID)
	})
	if err != nil {
		return nil, err
	}
	return s.FindRun(ctx, id)
}

// checkCatalog reports, as a field error, every file that is not in the catalog.
func (s *Store) checkCatalog(ctx context.Context, paths []string) error {
	var found []string
	if err := s.db.Gorm.WithContext(ctx).Table("test_files").Where("path IN ?", paths).Pluck("path", &found).Error; err != nil {
		return wrapDBError(err)
	}
	if len(found) == len(paths) {
		return nil
	}
	have := make(map[string]bool, len(found))
	for _, p := range found {
		have[p] = true
	}
	var missing []string
	for _, p := range paths {
		if !have[p] {
			missing = append(missing, p)
		}
	}
	sort.Strings(missing)
	if len(missing) > 5 {
		missing = append(missing[:5], "…")
	}
	return &domain.Error{
		Code:    domain.EINVALID,
		Message: "The request has invalid fields.",
		Fields:  map[string]string{"test_files": "not in the test catalog: " + strings.Join(missing, ", ")},
	}
}

// FindRun returns one run, or ENOTFOUND.
func (s *Store) FindRun(ctx context.Context, id int64) (*domain.Run, error) {
	rows, err := scanRuns(s.db.Gorm.WithContext(ctx).Table("runs").Select(runColumns).Where("id = ?", id))
	if err != nil {
		return nil, wrapDBError(err)
	}
	if len(rows) == 0 {
		return nil, runNotFound(id)
	}
	return rows[0].toDomain(), nil
}

func runNotFound(id int64) error {
	return domain.Errorf(domain.ENOTFOUND, "Run %d does not exist.", id)
}

// runStatus reads just a run's status, or ENOTFOUND.
func runStatus(db *gorm.DB, id int64) (domain.RunStatus, error) {
	var status string
	if err := db.Raw(`SELECT status FROM runs WHERE id = ?`, id).Scan(&status).Error; err != nil {
		return "", err
	}
	if status == "" {
		return "", runNotFound(id)
	}
	return domain.RunStatus(status), nil
}

// ListRuns returns runs matching f, newest first, and the cursor of the next
// page ("" on the last page).
func (s *Store) ListRuns(ctx context.Context, f domain.RunFilter) ([]*domain.Run, string, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = domain.DefaultListLimit
	}
	q := s.db.Gorm.WithContext(ctx).Table("runs").Select(runColumns)
	if f.Status != "" {
		q = q.Where("status = ?", string(f.Status))
	}
	if f.EnvironmentID != 0 {
		q = q.Where("environment_id = ?", f.EnvironmentID)
	}
	if f.RequestedBy != "" {
		q = q.Where("requested_by = ?", f.RequestedBy)
	}
	if f.BeforeID > 0 {
		q = q.Where("id < ?", f.BeforeID)
	}
	rows, err := scanRuns(q.Order("id DESC").Limit(limit + 1))
	if err != nil {
		return nil, "", wrapDBError(err)
	}
	next := ""
	if len(rows) > limit {
		rows = rows[:limit]
		next = EncodeCursor(rows[limit-1].ID)
	}
	runs := make([]*domain.Run, len(rows))
	for i := range rows {
		runs[i] = rows[i].toDomain()
	}
	return runs, next, nil
}

// EncodeCursor makes an opaque page cursor from the last id of a page.
func EncodeCursor(id int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte("r" + strconv.FormatInt(id, 10)))
}

// DecodeCursor reads a cursor made by EncodeCursor.
func DecodeCursor(c string) (int64, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err == nil && len(b) > 1 && b[0] == 'r' {
		if id, err := strconv.ParseInt(string(b[1:]), 10, 64); err == nil && id > 0 {
			return id, nil
		}
	}
	return 0, &domain.Error{Code: domain.EINVALID, Message: "The request has invalid fields.",
		Fields: map[string]string{"cursor": "is not a cursor returned by this API"}}
}
