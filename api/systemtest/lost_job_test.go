package systemtest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A queued run whose start job was lost is started by the reconciler.
func TestLostStartJob(t *testing.T) {
	systemTest(t)
	r := newRig(t, "")
	api := r.serve("api", "BATON_EMBEDDED_WORKER=false")

	// No worker yet: the run waits, with its start job in river_job.
	created := api.createRun(9, "sample-tests/test_quick.py", 0)
	var jobs int64
	dbQuery(t, r.dbURL, `SELECT count(*) FROM river_job WHERE kind = 'baton_start_next'`, nil, &jobs)
	require.EqualValues(t, 1, jobs, "creating a run should enqueue one start job")
	deleted := dbExec(t, r.dbURL, `DELETE FROM river_job WHERE (args->>'environment_id')::int = $1`, created.EnvironmentID)
	require.EqualValues(t, 1, deleted)
	require.Equal(t, "queued", api.getRun(created.ID).Status)

	started := time.Now()
	r.worker("worker", api.url())
	got := api.waitFinal(created.ID, 30*time.Second)
	require.Equal(t, "success", got.Status, "%s", got)
	t.Logf("run %d started by the reconciler and finished %s after the worker started",
		created.ID, time.Since(started).Round(time.Millisecond))

	// Again while the worker runs, so only the periodic sweep can find it:
	// a queued run that never had a start job.
	var orphan int64
	dbQuery(t, r.dbURL, `INSERT INTO runs (requested_by, environment_id, test_files, timeout_seconds)
		VALUES ('systemtest', 10, '["sample-tests/test_quick.py"]', 60) RETURNING id`, nil, &orphan)
	inserted := time.Now()
	got = api.waitFinal(orphan, 30*time.Second)
	require.Equal(t, "success", got.Status, "%s", got)
	t.Logf("run %d without a start job finished %s after it was inserted", orphan, time.Since(inserted).Round(time.Millisecond))
}
