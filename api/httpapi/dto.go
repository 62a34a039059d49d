package httpapi

import (
	"time"

	"github.com/baton-ci/baton/api/domain"
)

// The JSON shapes of openapi.yaml. They are separate from the domain types
// so the wire format changes only on purpose.

type runJSON struct {
	ID          int64  `json:"id"`
	RequestedBy string `json:"requested_by"`
	// EnvironmentID is null for a pooled run until it starts.
	EnvironmentID *int             `json:"environment_id"`
	Pool          *string          `json:"pool"`
	TestFiles     []string         `json:"test_files"`
	Tests         []string         `json:"tests"`
	Keyword       *string          `json:"keyword"`
	Markers       *string          `json:"markers"`
	Status        domain.RunStatus `json:"status"`
	QueuePosition *int             `json:"queue_position"`
	WaitingFor    *waitingForJSON  `json:"waiting_for"`
	ETASeconds    *int64           `json:"eta_seconds"`
	ExitCode      *int             `json:"exit_code"`
	Reason        *string          `json:"reason"`
	CreatedAt     time.Time        `json:"created_at"`
	StartedAt     *time.Time       `json:"started_at"`
	FinishedAt    *time.Time       `json:"finished_at"`
	Fence         *int64           `json:"fence"`
	DurationMS    *int64           `json:"duration_ms"`
	Progress      *progressJSON    `json:"progress"`
	Summary       *summaryJSON     `json:"summary"`
	RerunOf       *int64           `json:"rerun_of"`
	CancelledBy   *string          `json:"cancelled_by"`
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

// waitingForJSON is what a queued run waits for; only the fields of its kind
// are present.
type waitingForJSON struct {
	Kind          domain.WaitKind `json:"kind"`
	RunID         int64           `json:"run_id,omitempty"`
	EnvironmentID int             `json:"environment_id,omitempty"`
	HeldBy        string          `json:"held_by,omitempty"`
	// Until is null for a hold without an end; absent for other kinds.
	Until *jsonTime `json:"until,omitempty"`
	Pool  string    `json:"pool,omitempty"`
}

// jsonTime is a time that may be JSON null inside an omitempty field.
type jsonTime struct{ t *time.Time }

// MarshalJSON implements json.Marshaler.
func (j jsonTime) MarshalJSON() ([]byte, error) {
	if j.t == nil {
		return []byte("null"), nil
	}
	return j.t.UTC().MarshalJSON()
}

func toWaitingForJSON(w *domain.WaitingFor) *waitingForJSON {
	if w == nil {
		return nil
	}
	out := &waitingForJSON{Kind: w.Kind}
	switch w.Kind {
	case domain.WaitRun:
		out.RunID = w.RunID
	case domain.WaitHold:
		out.EnvironmentID, out.HeldBy, out.Until = w.EnvironmentID, w.HeldBy, &jsonTime{w.Until}
	case domain.WaitPool:
		out.Pool = w.Pool
	}
	return out
}

// etaSeconds rounds an estimate up to whole seconds.
func etaSeconds(d *time.Duration) *int64 {
	if d == nil {
		return nil
	}
	s := int64((*d + time.Second - 1) / time.Second)
	return &s
}

func toRunJSON(r *domain.Run) runJSON {
	out := runJSON{
		ID: r.ID, RequestedBy: r.RequestedBy, TestFiles: r.TestFiles,
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
	if r.Fence != 0 {
		fence := r.Fence
		out.Fence = &fence
	}
	if r.Markers != "" {
		out.Markers = &r.Markers
	}
	if r.EnvironmentID != 0 {
		env := r.EnvironmentID
		out.EnvironmentID = &env
	}
	if r.Pool != "" {
		pool := r.Pool
		out.Pool = &pool
	}
	if r.Status == domain.StatusQueued {
		if r.QueuePosition > 0 {
			p := r.QueuePosition
			out.QueuePosition = &p
		}
		out.WaitingFor, out.ETASeconds = toWaitingForJSON(r.WaitingFor), etaSeconds(r.ETA)
	}
	if r.Reason != "" {
		reason := r.Reason
		out.Reason = &reason
	}
	if p := r.Progress; p != nil {
		out.Progress = &progressJSON{Completed: p.Completed, Total: p.Total}
	}
	out.Summary = toSummaryJSON(r.Summary)
	if r.RerunOf != 0 {
		of := r.RerunOf
		out.RerunOf = &of
	}
	if r.CancelledBy != "" {
		by := r.CancelledBy
		out.CancelledBy = &by
	}
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
	Description  string                  `json:"description"`
	Labels       []string                `json:"labels"`
	URL          string                  `json:"url"`
	Variables    map[string]variableJSON `json:"variables"`
	Hold         *holdJSON               `json:"hold"`
}

// variableJSON is a variable as clients see it: a secret's value is null.
type variableJSON struct {
	Value  *string `json:"value"`
	Secret bool    `json:"secret"`
}

type holdJSON struct {
	HeldBy string     `json:"held_by"`
	Reason string     `json:"reason"`
	Since  time.Time  `json:"since"`
	Until  *time.Time `json:"until"`
}

func toEnvironmentJSON(e *domain.Environment) environmentJSON {
	q := e.QueuedRunIDs
	if q == nil {
		q = []int64{}
	}
	labels := e.Labels
	if labels == nil {
		labels = []string{}
	}
	out := environmentJSON{ID: e.ID, Name: e.Name, State: e.State, RunningRunID: e.RunningRunID, QueuedRunIDs: q,
		Description: e.Description, Labels: labels, URL: e.URL, Variables: make(map[string]variableJSON, len(e.Variables))}
	for _, v := range e.Variables {
		vj := variableJSON{Secret: v.Secret}
		if !v.Secret {
			value := v.Value
			vj.Value = &value
		}
		out.Variables[v.Name] = vj
	}
	if h := e.Hold; h != nil {
		out.Hold = &holdJSON{HeldBy: h.HeldBy, Reason: h.Reason, Since: h.Since, Until: h.Until}
	}
	return out
}

type environmentListJSON struct {
	Items              []environmentJSON `json:"items"`
	Pools              []poolJSON        `json:"pools"`
	WorkerSlots        workerSlotsJSON   `json:"worker_slots"`
	WaitingForCapacity int               `json:"waiting_for_capacity"`
}

type poolJSON struct {
	Name           string  `json:"name"`
	EnvironmentIDs []int   `json:"environment_ids"`
	QueuedRunIDs   []int64 `json:"queued_run_ids"`
}

type workerSlotsJSON struct {
	Workers int `json:"workers"`
	Total   int `json:"total"`
	Busy    int `json:"busy"`
}

func toEnvironmentListJSON(l *domain.EnvironmentList) environmentListJSON {
	out := environmentListJSON{Items: make([]environmentJSON, len(l.Items)), Pools: make([]poolJSON, len(l.Pools)),
		WorkerSlots:        workerSlotsJSON{Workers: l.Slots.Workers, Total: l.Slots.Total, Busy: l.Slots.Busy},
		WaitingForCapacity: l.WaitingForCapacity}
	for i, e := range l.Items {
		out.Items[i] = toEnvironmentJSON(e)
	}
	for i, p := range l.Pools {
		out.Pools[i] = poolJSON{Name: p.Name, EnvironmentIDs: p.EnvironmentIDs, QueuedRunIDs: p.QueuedRunIDs}
	}
	return out
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
