package insights_test

import (
	"bytes"
	"context"
	"log/slog"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/baton-ci/baton/api/insights"
	"github.com/baton-ci/baton/api/internal/pgtest"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// TestRetentionDeletesExactlyOldEndedRuns: runs that ended before the
// cutoff go, with their logs and results, in batches; nothing queued or
// running goes however old it is, nor anything that ended after the cutoff;
// the statistics of the tests they held follow.
func TestRetentionDeletesExactlyOldEndedRuns(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.NewDB(t)
	stack := pgtest.NewStack(t, db, time.Minute)
	now := time.Now().UTC()
	logs := &syncBuffer{}
	svc := insights.New(stack.Store, insights.Options{FlakyWindow: 5, Now: func() time.Time { return now },
		Logger: slog.New(slog.NewJSONHandler(logs, nil))})

	type row struct {
		name, status     string
		created, started *time.Time
		finished         *time.Time
		env              int
	}
	ago := func(d time.Duration) *time.Time { v := now.Add(-d); return &v }
	day := 24 * time.Hour
	var keep, drop []string
	rows := []row{
		{"old success", "success", ago(100 * day), ago(100 * day), ago(100 * day), 1},
		{"old failed", "failed", ago(95 * day), ago(95 * day), ago(91 * day), 2},
		{"old cancelled before start", "cancelled", ago(120 * day), nil, ago(120 * day), 3},
		{"old queued", "queued", ago(200 * day), nil, nil, 4},
		{"old running", "running", ago(150 * day), ago(150 * day), nil, 5},
		{"ended just inside", "success", ago(95 * day), ago(95 * day), ago(89 * day), 6},
		{"recent", "error", ago(time.Hour), ago(time.Hour), ago(time.Minute), 7},
	}
	ids := map[string]int64{}
	for i, r := range rows {
		var id int64
		require.NoError(t, db.Pool.QueryRow(ctx, `INSERT INTO runs (requested_by, environment_id, test_files, status,
			timeout_seconds, created_at, started_at, finished_at, heartbeat_at, worker_id, log_size)
			VALUES ('u', $1, '["t.py"]', $2, 60, $3, $4, $5, $4, CASE WHEN $4::timestamptz IS NOT NULL THEN 'w' END, 30)
			RETURNING id`, r.env, r.status, r.created, r.started, r.finished).Scan(&id))
		ids[r.name] = id
		_, err := db.Pool.Exec(ctx, `INSERT INTO run_log_chunks (run_id, byte_offset, end_offset, data)
			VALUES ($1, 0, 10, 'ten bytes!'), ($1, 10, 30, 'twenty bytes more!!!')`, id)
		require.NoError(t, err)
		// Every ended run reports t.py::test_shared; the old ones also test_old.
		if r.finished != nil {
			_, err = db.Pool.Exec(ctx, `INSERT INTO run_test_results (run_id, position, node_id, outcome, duration_ms, content_hash)
				VALUES ($1, 0, 't.py::test_shared', CASE WHEN $2 % 2 = 0 THEN 'passed' ELSE 'failed' END, $2, 1)`, id, i)
			require.NoError(t, err)
		}
		if r.finished != nil && now.Sub(*r.finished) > 90*day {
			_, err = db.Pool.Exec(ctx, `INSERT INTO run_test_results (run_id, position, node_id, outcome, duration_ms)
				VALUES ($1, 1, 't.py::test_old', 'passed', 5)`, id)
			require.NoError(t, err)
			drop = append(drop, r.name)
		} else {
			keep = append(keep, r.name)
		}
		if r.finished != nil {
			_, err = stack.Store.RecordTestStats(ctx, id, 5)
			require.NoError(t, err)
		}
	}
	require.Equal(t, []string{"old success", "old failed", "old cancelled before start"}, drop)

	deleted, err := svc.Prune(ctx, 90*day)
	require.NoError(t, err)
	require.Equal(t, 3, deleted)

	remaining := func(q string) []string {
		rs, err := db.Pool.Query(ctx, q)
		require.NoError(t, err)
		defer rs.Close()
		byID := map[int64]string{}
		for n, id := range ids {
			byID[id] = n
		}
		var out []string
		for rs.Next() {
			var id int64
			require.NoError(t, rs.Scan(&id))
			out = append(out, byID[id])
		}
		sort.Strings(out)
		return out
	}
	sort.Strings(keep)
	require.Equal(t, keep, remaining(`SELECT id FROM runs`), "exactly the old ended runs are gone")
	require.Equal(t, keep, remaining(`SELECT DISTINCT run_id FROM run_log_chunks`), "with their logs")
	require.Equal(t, []string{"ended just inside", "recent"}, remaining(`SELECT DISTINCT run_id FROM run_test_results`),
		"and their results (the live runs have none yet)")

	var statsOld, shared int
	require.NoError(t, db.Pool.QueryRow(ctx, `SELECT count(*) FROM test_stats WHERE node_id = 't.py::test_old'`).Scan(&statsOld))
	require.Zero(t, statsOld, "a test whose every result is gone has no statistics")
	require.NoError(t, db.Pool.QueryRow(ctx, `SELECT results FROM test_stats WHERE node_id = 't.py::test_shared'`).Scan(&shared))
	require.Equal(t, 2, shared, "recomputed from the results that remain (of ended runs: just inside, recent)")

	out := logs.String()
	require.Contains(t, out, `"msg":"retention deleted ended runs"`)
	require.Contains(t, out, `"runs":3`)
	require.Contains(t, out, `"log_chunks":6`)
	require.Contains(t, out, `"log_bytes":90`)
	require.Contains(t, out, `"test_results":6`)

	again, err := svc.Prune(ctx, 90*day)
	require.NoError(t, err)
	require.Zero(t, again, "nothing more to delete")
	none, err := svc.Prune(ctx, 0)
	require.NoError(t, err)
	require.Zero(t, none, "no retention keeps everything")
}

// TestRetentionWorksInBatches deletes more runs than one batch holds.
func TestRetentionWorksInBatches(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.NewDB(t)
	stack := pgtest.NewStack(t, db, time.Minute)
	logs := &syncBuffer{}
	svc := insights.New(stack.Store, insights.Options{Logger: slog.New(slog.NewTextHandler(logs, nil))})
	n := insights.RetentionBatch*2 + 17
	_, err := db.Pool.Exec(ctx, `INSERT INTO runs (requested_by, environment_id, test_files, status, timeout_seconds,
		created_at, started_at, finished_at)
		SELECT 'u', 1 + g % 100, '["t.py"]', 'success', 60, now() - interval '40 days', now() - interval '40 days',
			now() - interval '40 days' + g * interval '1 second'
		FROM generate_series(1, $1) AS g`, n)
	require.NoError(t, err)
	deleted, err := svc.Prune(ctx, 30*24*time.Hour)
	require.NoError(t, err)
	require.Equal(t, n, deleted)
	require.Equal(t, 3, bytes.Count([]byte(logs.String()), []byte("retention deleted ended runs")), "one log line per batch")
}
