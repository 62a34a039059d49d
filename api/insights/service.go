// Package insights answers questions about many runs: a test's history,
// flaky and slow tests, how contested each environment is; and it keeps the
// database from growing forever (retention).
//
// A run's results enter the per-test statistics through the run_ended job
// (Service.HandleRunEnded, a domain.RunEndedHandler): each test the run
// reported is recomputed from its last results, in SQL, so a retried or
// out-of-order job leaves the same figures. The same job adds the run to
// its environment's usage rollup (per UTC day and month), exactly once;
// environment insights read the rollup, and the runs table only for what
// it cannot answer (see postgres.Store.EnvironmentUsage).
package insights

import (
	"context"
	"log/slog"
	"time"

	"github.com/baton-ci/baton/api/domain"
)

// Service is the insights service.
type Service struct {
	store  domain.InsightsStore
	window int
	now    func() time.Time
	log    *slog.Logger
}

var (
	_ domain.InsightsService = (*Service)(nil)
	_ domain.RunEndedHandler = (*Service)(nil)
)

// Options configure a Service.
type Options struct {
	// FlakyWindow is N, how many of a test's last results decide whether
	// it is flaky; domain.DefaultFlakyWindow when 0.
	FlakyWindow int
	// Now is the clock; time.Now when nil.
	Now    func() time.Time
	Logger *slog.Logger
}

// New returns the insights service on store.
func New(store domain.InsightsStore, o Options) *Service {
	if o.FlakyWindow <= 0 {
		o.FlakyWindow = domain.DefaultFlakyWindow
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return &Service{store: store, window: o.FlakyWindow, now: o.Now, log: o.Logger}
}

// FlakyWindow is the N the service judges flakiness over.
func (s *Service) FlakyWindow() int { return s.window }

// TestHistory implements domain.InsightsService.
func (s *Service) TestHistory(ctx context.Context, q domain.TestHistoryQuery) (*domain.TestHistory, error) {
	f, err := q.Filter()
	if err != nil {
		return nil, err
	}
	limit := f.Limit
	f.Limit++ // one more tells whether an older page exists
	entries, err := s.store.TestHistory(ctx, f)
	if err != nil {
		return nil, err
	}
	h := &domain.TestHistory{NodeID: f.NodeID, Entries: entries}
	if len(entries) > limit {
		h.Entries = entries[:limit]
		h.NextCursor = domain.EncodeHistoryCursor(h.Entries[limit-1].RunID)
	}
	if h.Stats, err = s.store.TestStats(ctx, f.NodeID); err != nil {
		return nil, err
	}
	if h.Stats == nil && len(h.Entries) == 0 && f.BeforeRunID == 0 {
		return nil, domain.Errorf(domain.ENOTFOUND, "No run has reported the test %q.", f.NodeID)
	}
	return h, nil
}

// FlakyTests implements domain.InsightsService.
func (s *Service) FlakyTests(ctx context.Context, q domain.TestListQuery) (*domain.TestList, error) {
	return s.list(ctx, q, s.store.FlakyTests)
}

// SlowestTests implements domain.InsightsService.
func (s *Service) SlowestTests(ctx context.Context, q domain.TestListQuery) (*domain.TestList, error) {
	return s.list(ctx, q, s.store.SlowestTests)
}

func (s *Service) list(ctx context.Context, q domain.TestListQuery,
	read func(context.Context, time.Time, int) ([]domain.TestStats, error)) (*domain.TestList, error) {
	f, err := q.Filter()
	if err != nil {
		return nil, err
	}
	// Whole seconds: the answer then depends on the second asked, not on
	// the nanosecond (a GET and its HEAD give the same body and length,
	// TestHeadWhereverGet), and the window is at most a second wider.
	since := s.now().UTC().Add(-f.Window).Truncate(time.Second)
	tests, err := read(ctx, since, f.Limit)
	if err != nil {
		return nil, err
	}
	if tests == nil {
		tests = []domain.TestStats{}
	}
	return &domain.TestList{Window: s.window, Since: since, Tests: tests}, nil
}

// EnvironmentInsights implements domain.InsightsService.
func (s *Service) EnvironmentInsights(ctx context.Context, q domain.EnvironmentInsightsQuery) (*domain.EnvironmentInsights, error) {
	now := s.now().UTC()
	w, err := q.Resolve(now)
	if err != nil {
		return nil, err
	}
	if w.To.After(now.Add(time.Minute)) {
		return nil, domain.Invalid("end", "must not be in the future")
	}
	return s.store.EnvironmentUsage(ctx, w)
}

// HandleRunEnded implements domain.RunEndedHandler: the run enters its
// environment's usage rollup (once: the store marks it recorded in the same
// transaction) and its results enter its tests' statistics (recomputed, so
// a retried job changes nothing).
func (s *Service) HandleRunEnded(ctx context.Context, e domain.RunEnded) error {
	if _, err := s.store.RecordEnvironmentUsage(ctx, e.RunID); err != nil {
		return err
	}
	if e.Summary == nil {
		return nil // no report, no results
	}
	_, err := s.store.RecordTestStats(ctx, e.RunID, s.window)
	return err
}

// UsageBatch is how many runs one step of RecordPendingUsage records.
const UsageBatch = 2000

// RecordPendingUsage adds to the environment usage rollup, in batches, the
// ended runs not in it yet (those from before the rollup existed, or whose
// run_ended job was given up on), until none is left or ctx ends, and
// returns how many. Insights are right meanwhile: they read such runs from
// the runs table.
func (s *Service) RecordPendingUsage(ctx context.Context) (int, error) {
	total := 0
	for ctx.Err() == nil {
		n, err := s.store.RecordPendingUsage(ctx, UsageBatch)
		total += n
		if err != nil || n < UsageBatch {
			if total > 0 {
				s.log.Info("ended runs added to the environment usage rollup", "runs", total)
			}
			return total, err
		}
	}
	return total, ctx.Err()
}

// RefreshBatch is how many tests one refresh step recomputes.
const RefreshBatch = 500

// RefreshStale recomputes, in batches, the statistics computed over another
// window size than the service's (BATON_FLAKY_WINDOW was changed), until
// none is left or ctx ends, and returns how many it recomputed.
func (s *Service) RefreshStale(ctx context.Context) (int, error) {
	total := 0
	for ctx.Err() == nil {
		n, err := s.store.RefreshTestStats(ctx, s.window, RefreshBatch)
		total += n
		if err != nil || n < RefreshBatch {
			if total > 0 {
				s.log.Info("test statistics recomputed for a new flakiness window", "tests", total, "window", s.window)
			}
			return total, err
		}
	}
	return total, ctx.Err()
}
