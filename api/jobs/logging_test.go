package jobs

import (
	"bytes"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestRiverHousekeepingIsDebug(t *testing.T) {
	t.Parallel()
	logAt := func(level slog.Level) string {
		var buf bytes.Buffer
		log := riverLogger(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: level})))
		log.Info("producer: Producer job counts", "num_jobs_running", 0, "queue", "runs")
		log.Info("River client started", "client_id", "w1")
		log.With("component", "executor").Info("jobexecutor.JobExecutor: Job errored; retrying", "job_id", 7)
		log.Warn("notifier: Error from notification wait", "err", "boom")
		log.Debug("elector: Attempting to gain leadership")
		return buf.String()
	}

	info := logAt(slog.LevelInfo)
	require.NotContains(t, info, "Producer job counts")
	require.NotContains(t, info, "River client started")
	require.NotContains(t, info, "Attempting to gain leadership")
	require.Contains(t, info, `level=INFO msg="jobexecutor.JobExecutor: Job errored; retrying" component=executor job_id=7`)
	require.Contains(t, info, `level=WARN msg="notifier: Error from notification wait"`)

	debug := logAt(slog.LevelDebug)
	require.Contains(t, debug, `level=DEBUG msg="producer: Producer job counts"`)
	require.Contains(t, debug, `level=DEBUG msg="River client started"`)
	require.Contains(t, debug, `level=INFO msg="jobexecutor.JobExecutor: Job errored; retrying"`)
	require.Contains(t, debug, `level=DEBUG msg="elector: Attempting to gain leadership"`)

	warn := logAt(slog.LevelWarn)
	require.NotContains(t, warn, "Job errored")
	require.Contains(t, warn, "level=WARN")
}
