package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/baton-ci/baton/api/domain"
)

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

const listTestResultsSQL = `
SELECT r.node_id, r.outcome, r.duration_ms, r.message, coalesce(s.flaky, false)
FROM run_test_results r LEFT JOIN test_stats s ON s.node_id = r.node_id
WHERE r.run_id = @run_id
ORDER BY r.position`

// ListTestResults implements domain.RunStore. Each result carries its
// test's current flaky mark.
func (s *Store) ListTestResults(ctx context.Context, runID int64) ([]domain.TestResult, error) {
	rs, err := s.db.Pool.Query(ctx, listTestResultsSQL, pgx.NamedArgs{"run_id": runID})
	if err != nil {
		return nil, wrapDBError(err)
	}
	out, err := pgx.CollectRows(rs, func(row pgx.CollectableRow) (domain.TestResult, error) {
		var r domain.TestResult
		err := row.Scan(&r.NodeID, &r.Outcome, &r.DurationMS, &r.Message, &r.Flaky)
		return r, err
	})
	if err != nil {
		return nil, wrapDBError(err)
	}
	if out == nil {
		out = []domain.TestResult{}
	}
	return out, nil
}
