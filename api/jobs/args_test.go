package jobs

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/baton-ci/baton/api/domain"
)

// TestRunEndedArgsCarryTheRun: every field of an end survives the job's
// JSON, and a job queued before fence, rerun_of and cancelled_by existed
// still decodes, with them zero.
func TestRunEndedArgsCarryTheRun(t *testing.T) {
	at := time.Date(2025, 5, 1, 9, 30, 0, 0, time.UTC)
	started, exit := at.Add(time.Second), 0
	e := domain.RunEnded{RunID: 9, EnvironmentID: 4, Pool: "p", RequestedBy: "alice", TestFiles: []string{"a.py"},
		Status: domain.StatusCancelled, Reason: domain.ReasonCancelled, ExitCode: &exit, WorkerID: "w", CreatedAt: at,
		StartedAt: &started, FinishedAt: started.Add(time.Second), Summary: &domain.TestSummary{Total: 1, Passed: 1},
		Fence: 12, RerunOf: 7, CancelledBy: "bob"}
	raw, err := json.Marshal(runEndedArgs(e))
	require.NoError(t, err)
	var back RunEndedArgs
	require.NoError(t, json.Unmarshal(raw, &back))
	require.Equal(t, e, back.RunEnded())

	var old RunEndedArgs
	require.NoError(t, json.Unmarshal([]byte(`{"run_id":3,"environment_id":0,"pool":"p","requested_by":"a","test_files":["a.py"],
		"status":"cancelled","reason":"cancelled_by_user","created_at":"2025-05-01T09:30:00Z","finished_at":"2025-05-01T09:30:01Z"}`), &old))
	got := old.RunEnded()
	require.Equal(t, int64(3), got.RunID)
	require.Zero(t, got.Fence)
	require.Zero(t, got.RerunOf)
	require.Empty(t, got.CancelledBy)
}

// TestRunStartedArgsCarryTheRun: as TestRunEndedArgsCarryTheRun for starts.
func TestRunStartedArgsCarryTheRun(t *testing.T) {
	at := time.Date(2025, 5, 1, 9, 30, 0, 0, time.UTC)
	s := domain.RunStarted{RunID: 9, EnvironmentID: 4, Pool: "p", RequestedBy: "alice", TestFiles: []string{"a.py"},
		WorkerID: "w", CreatedAt: at, StartedAt: at.Add(time.Second), Timeout: time.Minute, Fence: 12, RerunOf: 7}
	raw, err := json.Marshal(runStartedArgs(s))
	require.NoError(t, err)
	var back RunStartedArgs
	require.NoError(t, json.Unmarshal(raw, &back))
	require.Equal(t, s, back.RunStarted())

	var old RunStartedArgs
	require.NoError(t, json.Unmarshal([]byte(`{"run_id":3,"environment_id":2,"requested_by":"a","test_files":["a.py"],
		"worker_id":"w","created_at":"2025-05-01T09:30:00Z","started_at":"2025-05-01T09:30:01Z","timeout_seconds":60}`), &old))
	got := old.RunStarted()
	require.Equal(t, 2, got.EnvironmentID)
	require.Empty(t, got.Pool)
	require.Zero(t, got.Fence)
	require.Zero(t, got.RerunOf)
}
