package systemtest

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertest"
	"github.com/stretchr/testify/require"

	"github.com/baton-ci/baton/api/jobs"
)

// A queued run whose start job was lost is started by the reconciler.
func TestLostStartJob(t *testing.T) {
	systemTest(t)
	r := newRig(t, "")
	api := r.serve("api", "BATON_EMBEDDED_WORKER=false")

	// No worker yet: the run waits, with its start job in river_job.
	created := api.createRun(9, "sample-tests/test_quick.py", 0)
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, r.dbURL)
	require.NoError(t, err)
	defer pool.Close()
	job := rivertest.RequireInserted(ctx, t, riverpgxv5.New(pool), &jobs.StartArgs{}, nil)
	require.Equal(t, created.Env(), job.Args.EnvironmentID, "creating a run enqueues its start job")
	deleted := dbExec(t, r.dbURL, `DELETE FROM river_job WHERE id = $1`, job.ID)
	require.EqualValues(t, 1, deleted)
	require.EqualValues(t, "queued", api.getRun(created.Id).Status)

	started := time.Now()
	r.worker("worker", api.url())
	got := api.waitFinal(created.Id, 30*time.Second)
	require.EqualValues(t, "success", got.Status, "%s", got)
	t.Logf("run %d started by the reconciler and finished %s after the worker started",
		created.Id, time.Since(started).Round(time.Millisecond))

	// Again while the worker runs, so only the periodic sweep can find it:
	// a queued run that never had a start job.
	var orphan int64
	dbQuery(t, r.dbURL, `INSERT INTO runs (requested_by, environment_id, test_files, timeout_seconds)
		VALUES ('systemtest', 10, '["sample-tests/test_quick.py"]', 60) RETURNING id`, nil, &orphan)
	inserted := time.Now()
	got = api.waitFinal(orphan, 30*time.Second)
	require.EqualValues(t, "success", got.Status, "%s", got)
	t.Logf("run %d without a start job finished %s after it was inserted", orphan, time.Since(inserted).Round(time.Millisecond))
}
