package httpapi

import (
	"time"

	"github.com/baton-ci/baton/api/domain"
)

// The JSON shapes of openapi.yaml. They are separate from the domain types
// so the wire format changes only on purpose.

type runJSON struct {
	ID            int64            `json:"id"`
	RequestedBy   string           `json:"requested_by"`
	EnvironmentID int              `json:"environment_id"`
	TestFiles     []string         `json:"test_files"`
	Tests         []string         `json:"tests"`
	Keyword       *string          `json:"keyword"`
	Markers       *string          `json:"markers"`
	Status        domain.RunStatus `json:"status"`
	QueuePosition *int             `json:"queue_position"`
	ExitCode      *int             `json:"exit_code"`
	Reason        *string          `json:"reason"`
	CreatedAt     time.Time        `json:"created_at"`
	StartedAt     *time.Time       `json:"started_at"`
	FinishedAt    *time.Time       `json:"finished_at"`
	DurationMS    *int64           `json:"duration_ms"`
	Progress      *progressJSON    `json:"progress"`
	Summary       *summaryJSON     `json:"summary"`
}

type progressJSON struct {
	Completed int `json:"completed"`
	Total     int `json:"total"`
}

type summaryJSON struct {
	Passed  int `json:"passed"`
	Failed  int `json:"failed"`
	Errors  int `json:"errors"`
	Skipped int `json:"skipped"`
	Total   int `json:"total"`
}

func toSummaryJSON(s *domain.TestSummary) *summaryJSON {
	if s == nil {
		return nil
	}
	return &summaryJSON{Passed: s.Passed, Failed: s.Failed, Errors: s.Errors, Skipped: s.Skipped, Total: s.Total}
}

type testResultJSON struct {
	NodeID     string `json:"node_id"`
	Outcome    string `json:"outcome"`
	DurationMS int64  `json:"duration_ms"`
	Message    string `json:"message"`
	Flaky      bool   `json:"flaky"`
}

type testResultsJSON struct {
	Items   []testResultJSON `json:"items"`
	Summary *summaryJSON     `json:"summary"`
}

func toRunJSON(r *domain.Run) runJSON {
	out := runJSON{
		ID: r.ID, RequestedBy: r.RequestedBy, EnvironmentID: r.EnvironmentID, TestFiles: r.TestFiles,
		Status: r.Status, ExitCode: r.ExitCode, CreatedAt: r.CreatedAt, StartedAt: r.StartedAt, FinishedAt: r.FinishedAt,
	}
	if out.TestFiles == nil {
		out.TestFiles = []string{}
	}
	out.Tests = r.Tests
	if out.Tests == nil {
		out.Tests = []string{}
	}
	if r.Keyword != "" {
		out.Keyword = &r.Keyword
	}
	if r.Markers != "" {
		out.Markers = &r.Markers
	}
	if r.Status == domain.StatusQueued && r.QueuePosition > 0 {
		p := r.QueuePosition
		out.QueuePosition = &p
	}
	if r.Reason != "" {
		reason := r.Reason
		out.Reason = &reason
	}
	if p := r.Progress; p != nil {
		out.Progress = &progressJSON{Completed: p.Completed, Total: p.Total}
	}
	out.Summary = toSummaryJSON(r.Summary)
	if d := r.Duration(); d != nil {
		ms := d.Milliseconds()
		out.DurationMS = &ms
	}
	return out
}

type runListJSON struct {
	Items      []runJSON `json:"items"`
	NextCursor *string   `json:"next_cursor"`
	Total      int64     `json:"total"`
}

type environmentJSON struct {
	ID           int                     `json:"id"`
	Name         string                  `json:"name"`
	State        domain.EnvironmentState `json:"state"`
	RunningRunID *int64                  `json:"running_run_id"`
	QueuedRunIDs []int64                 `json:"queued_run_ids"`
}

func toEnvironmentJSON(e *domain.Environment) environmentJSON {
	q := e.QueuedRunIDs
	if q == nil {
		q = []int64{}
	}
	return environmentJSON{ID: e.ID, Name: e.Name, State: e.State, RunningRunID: e.RunningRunID, QueuedRunIDs: q}
}

type testFileJSON struct {
	Path       string    `json:"path"`
	Directory  string    `json:"directory"`
	SizeBytes  int64     `json:"size_bytes"`
	ModifiedAt time.Time `json:"modified_at"`
}

func toTestFileJSON(f domain.TestFile) testFileJSON {
	return testFileJSON{Path: f.Path, Directory: f.Directory, SizeBytes: f.SizeBytes, ModifiedAt: f.ModifiedAt}
}

type testDirectoryJSON struct {
	Path      string `json:"path"`
	Writable  bool   `json:"writable"`
	FileCount int    `json:"file_count"`
}

type logPageJSON struct {
	Offset     int64  `json:"offset"`
	NextOffset int64  `json:"next_offset"`
	Text       string `json:"text"`
	Complete   bool   `json:"complete"`
}

type itemsJSON[T any] struct {
	Items []T `json:"items"`
}

type testProjectJSON struct {
	Directory string         `json:"directory"`
	FileCount int            `json:"file_count"`
	SizeBytes int64          `json:"size_bytes"`
	TestFiles []testFileJSON `json:"test_files"`
}
