package insights

import (
	"context"
	"time"
)

// RetentionBatch is how many runs one retention transaction deletes: small
// enough that no lock or WAL burst is felt by the runs being scheduled.
const RetentionBatch = 200

// Prune deletes the runs that ended more than retention ago, with their
// logs and results, one batch per transaction, until none is left or ctx
// ends; it never touches a queued or running run. Each batch is logged
// with what it deleted. A retention of 0 keeps everything. It returns the
// number of runs deleted.
func (s *Service) Prune(ctx context.Context, retention time.Duration) (int, error) {
	if retention <= 0 {
		return 0, nil
	}
	cutoff := s.now().UTC().Add(-retention)
	total := 0
	for ctx.Err() == nil {
		p, err := s.store.DeleteEndedRuns(ctx, cutoff, RetentionBatch, s.window)
		if err != nil {
			return total, err
		}
		if p.Runs == 0 {
			break
		}
		total += p.Runs
		s.log.Info("retention deleted ended runs", "runs", p.Runs, "first_run_id", p.FirstRunID, "last_run_id", p.LastRunID,
			"oldest_finished_at", p.OldestEnd, "newest_finished_at", p.NewestEnd, "log_chunks", p.LogChunks,
			"log_bytes", p.LogBytes, "test_results", p.Results, "cutoff", cutoff, "retention", retention.String())
		if p.Runs < RetentionBatch {
			break
		}
	}
	return total, ctx.Err()
}
