package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/baton-ci/baton/api/domain"
)

// runRow is the GORM model of the runs table.
type runRow struct {
	ID                int64
	RequestedBy       string
	EnvironmentID     int // 0 for a pooled run that has no environment yet
	Pool              string
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
	Tests             []string `gorm:"serializer:json"`
	Keyword           string
	Markers           string
	Fence             *int64
	RerunOf           int64  // 0 for none
	CancelledBy       string // "" for none
}

// TableName tells GORM the table.
func (runRow) TableName() string { return "runs" }

func (r *runRow) toDomain() *domain.Run {
	run := &domain.Run{
		ID:            r.ID,
		RequestedBy:   r.RequestedBy,
		EnvironmentID: r.EnvironmentID,
		Pool:          r.Pool,
		TestFiles:     r.TestFiles,
		Status:        domain.RunStatus(r.Status),
		ExitCode:      r.ExitCode,
		CreatedAt:     r.CreatedAt.UTC(),
		StartedAt:     utcPtr(r.StartedAt),
		FinishedAt:    utcPtr(r.FinishedAt),
		LogSize:       r.LogSize,
		Timeout:       time.Duration(r.TimeoutSeconds) * time.Second,
		Tests:         r.Tests,
		Keyword:       r.Keyword,
		Markers:       r.Markers,
		RerunOf:       r.RerunOf,
		CancelledBy:   r.CancelledBy,
	}
	if r.Fence != nil {
		run.Fence = *r.Fence
	}
	if r.Reason != nil {
		run.Reason = *r.Reason
	}
	if r.WorkerID != nil {
		run.WorkerID = *r.WorkerID
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

// runColumns are the columns scanRunRows reads, in its order. A queued run's
// place in line is not among them: with pools it depends on every queue,
// so the run service works it out from a QueueSnapshot (domain.ExplainQueue).
const runColumns = "runs.id, requested_by, coalesce(runs.environment_id, 0), coalesce(pool, ''), test_files, status, exit_code, reason, " +
	"timeout_seconds, worker_id, cancel_requested, created_at, started_at, finished_at, heartbeat_at, log_size, " +
	"progress_completed, progress_total, tests_passed, tests_failed, tests_errors, tests_skipped, tests_total, tests, keyword, markers, runs.fence, " +
	"coalesce(rerun_of, 0), coalesce(cancelled_by, '')"

// rows is what both database/sql (GORM) and pgx return for a query.
type rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
}

// scanRunRows scans rows that select runColumns by position: the run list is
// the API's hottest query, and GORM's reflective row mapping cost more CPU
// than the query itself (bench/README.md). It reads every row; columns
// after runColumns are scanned into extra (for a query of one row).
func scanRunRows(rs rows, extra ...any) ([]runRow, error) {
	var out []runRow
	for rs.Next() {
		var r runRow
		var files, tests []byte
		dest := append([]any{&r.ID, &r.RequestedBy, &r.EnvironmentID, &r.Pool, &files, &r.Status, &r.ExitCode, &r.Reason,
			&r.TimeoutSeconds, &r.WorkerID, &r.CancelRequested, &r.CreatedAt, &r.StartedAt, &r.FinishedAt,
			&r.HeartbeatAt, &r.LogSize, &r.ProgressCompleted, &r.ProgressTotal, &r.TestsPassed, &r.TestsFailed,
			&r.TestsErrors, &r.TestsSkipped, &r.TestsTotal, &tests, &r.Keyword, &r.Markers, &r.Fence, &r.RerunOf, &r.CancelledBy}, extra...)
		if err := rs.Scan(dest...); err != nil {
			return nil, err
		}
		if err := json.Unmarshal(files, &r.TestFiles); err != nil {
			return nil, fmt.Errorf("run %d: test_files: %w", r.ID, err)
		}
		if err := json.Unmarshal(tests, &r.Tests); err != nil {
			return nil, fmt.Errorf("run %d: tests: %w", r.ID, err)
		}
		out = append(out, r)
	}
	return out, rs.Err()
}

// scanRuns runs q, which selects runColumns, through GORM.
func scanRuns(q *gorm.DB) ([]runRow, error) {
	rs, err := q.Rows()
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	return scanRunRows(rs)
}

// MissingTestFiles implements domain.RunStore.
func (s *Store) MissingTestFiles(ctx context.Context, paths []string) ([]string, error) {
	var found []string
	if err := s.db.Gorm.WithContext(ctx).Table("test_files").Where("path IN ?", paths).Pluck("path", &found).Error; err != nil {
		return nil, wrapDBError(err)
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
	return missing, nil
}

// FindRun implements domain.RunStore.
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

// filterRuns adds f's conditions (all but the cursor) to a query on runs.
func filterRuns(q *gorm.DB, f domain.RunFilter) *gorm.DB {
	if len(f.Statuses) > 0 {
		statuses := make([]string, len(f.Statuses))
		for i, st := range f.Statuses {
			statuses[i] = string(st)
		}
		q = q.Where("status IN ?", statuses)
	}
	if f.EnvironmentID != 0 {
		q = q.Where("environment_id = ?", f.EnvironmentID)
	}
	if f.Pool != "" {
		q = q.Where("pool = ?", f.Pool)
	}
	if f.RequestedBy != "" {
		q = q.Where("requested_by = ?", f.RequestedBy)
	}
	if !f.CreatedAfter.IsZero() {
		q = q.Where("created_at >= ?", f.CreatedAfter)
	}
	if !f.CreatedBefore.IsZero() {
		q = q.Where("created_at <= ?", f.CreatedBefore)
	}
	if f.RerunOf != 0 {
		q = q.Where("rerun_of = ?", f.RerunOf)
	}
	if f.TestFile != "" {
		// A substring of any test file's path; the fragment is matched literally (strpos, not LIKE).
		q = q.Where("EXISTS (SELECT 1 FROM jsonb_array_elements_text(test_files) AS tf(path) WHERE strpos(lower(tf.path), lower(?)) > 0)", f.TestFile)
	}
	return q
}

// CountRuns implements domain.RunStore.
func (s *Store) CountRuns(ctx context.Context, f domain.RunFilter) (int64, error) {
	var n int64
	if err := filterRuns(s.db.Gorm.WithContext(ctx).Table("runs"), f).Count(&n).Error; err != nil {
		return 0, wrapDBError(err)
	}
	return n, nil
}

func runNotFound(id int64) error {
	return domain.Errorf(domain.ENOTFOUND, "Run %d does not exist.", id)
}

// ListRuns implements domain.RunStore.
func (s *Store) ListRuns(ctx context.Context, f domain.RunFilter) ([]*domain.Run, error) {
	q := filterRuns(s.db.Gorm.WithContext(ctx).Table("runs").Select(runColumns), f)
	if f.BeforeID > 0 {
		q = q.Where("id < ?", f.BeforeID)
	}
	rows, err := scanRuns(q.Order("id DESC").Limit(f.Limit))
	if err != nil {
		return nil, wrapDBError(err)
	}
	runs := make([]*domain.Run, len(rows))
	for i := range rows {
		runs[i] = rows[i].toDomain()
	}
	return runs, nil
}
