package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/baton-ci/baton/api/domain"
)

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

// JUnitReport implements domain.RunStore.
func (s *Store) JUnitReport(ctx context.Context, runID int64) ([]byte, error) {
	var xml []byte
	err := s.db.Pool.QueryRow(ctx, `SELECT junit_xml FROM run_reports WHERE run_id = @run_id`, pgx.NamedArgs{"run_id": runID}).Scan(&xml)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, wrapDBError(err)
	}
	return xml, nil
}

// ListTestResults implements domain.RunStore.
func (s *Store) ListTestResults(ctx context.Context, runID int64) ([]domain.TestResult, error) {
	var rows []testResultRow
	if err := s.db.Gorm.WithContext(ctx).Where("run_id = ?", runID).Order("position").Find(&rows).Error; err != nil {
		return nil, wrapDBError(err)
	}
	out := make([]domain.TestResult, len(rows))
	for i, r := range rows {
		out[i] = domain.TestResult{NodeID: r.NodeID, Outcome: r.Outcome, DurationMS: r.DurationMS, Message: r.Message}
	}
	return out, nil
}
