package systemtest

import (
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// SIGTERM stops a worker gracefully: runs may finish within
// BATON_SHUTDOWN_GRACE; what still runs after it is stopped and ends as
// error/worker_shutdown, and the process exits.
func TestGracefulShutdown(t *testing.T) {
	systemTest(t)

	t.Run("grace expires", func(t *testing.T) {
		t.Parallel()
		r := newRig(t, "")
		srv := r.serve("serve", "BATON_SHUTDOWN_GRACE=2s")
		long := srv.createRun(1, "sample-tests/test_sleep30.py", 0)
		py := r.waitPytest(long.Id, 60*time.Second)

		srv.signal(syscall.SIGTERM)
		asked := time.Now()
		require.NoError(t, srv.waitExit(10*time.Second), "serve should exit cleanly")
		t.Logf("serve exited %s after SIGTERM", srv.exitedAt.Sub(asked).Round(time.Millisecond))
		waitGone(t, py, 5*time.Second)

		got := dbGetRun(t, r.dbURL, long.Id)
		require.Equal(t, "error", got.Status, "%+v", got)
		require.Equal(t, "worker_shutdown", got.Reason, "%+v", got)
		require.Contains(t, dbLog(t, r.dbURL, long.Id), "stopped (worker_shutdown): process tree killed")
	})

	t.Run("run finishes within grace", func(t *testing.T) {
		t.Parallel()
		r := newRig(t, "")
		srv := r.serve("serve", "BATON_SHUTDOWN_GRACE=20s")
		quick := srv.createRun(1, "sample-tests/test_sleep2.py", 0)
		r.waitPytest(quick.Id, 60*time.Second)

		srv.signal(syscall.SIGTERM)
		require.NoError(t, srv.waitExit(25*time.Second), "serve should exit cleanly")

		got := dbGetRun(t, r.dbURL, quick.Id)
		require.Equal(t, "success", got.Status, "%+v", got)
		require.NotNil(t, got.FinishedAt)
		require.True(t, got.FinishedAt.Before(srv.exitedAt), "serve exited (%s) before the run finished (%s)",
			srv.exitedAt, got.FinishedAt)
	})
}
