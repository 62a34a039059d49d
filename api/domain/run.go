package domain

import (
	"encoding/base64"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// RunStatus is where a run is in its life.
type RunStatus string

// The run statuses; queued and running are live, the others final.
const (
	StatusQueued    RunStatus = "queued"
	StatusRunning   RunStatus = "running"
	StatusSuccess   RunStatus = "success"
	StatusFailed    RunStatus = "failed"
	StatusError     RunStatus = "error"
	StatusCancelled RunStatus = "cancelled"
)

// RunStatuses lists every status in life-cycle order.
var RunStatuses = []RunStatus{StatusQueued, StatusRunning, StatusSuccess, StatusFailed, StatusError, StatusCancelled}

// Valid reports whether s is a known status.
func (s RunStatus) Valid() bool {
	for _, v := range RunStatuses {
		if s == v {
			return true
		}
	}
	return false
}

// Final reports whether a run in status s will never change again.
func (s RunStatus) Final() bool { return s != StatusQueued && s != StatusRunning && s.Valid() }

// Reasons explain a run's final status beyond the status itself.
const (
	ReasonTestsFailed      = "tests_failed"
	ReasonNoTestsCollected = "no_tests_collected"
	ReasonInterrupted      = "interrupted"
	ReasonInternalError    = "pytest_internal_error"
	ReasonUsageError       = "usage_error"
	ReasonSignal           = "killed_by_signal"
	ReasonTimeout          = "timeout"
	ReasonStartFailed      = "start_failed"
	ReasonWorkerLost       = "worker_lost"
	ReasonWorkerShutdown   = "worker_shutdown"
	ReasonCancelled        = "cancelled_by_user"
	// ReasonLeaseExpired: the worker could not prove in time that it still
	// held the run (no heartbeat confirmed by the database), so the run's
	// supervisor killed it before any other worker could take it over.
	ReasonLeaseExpired = "lease_expired"
	// ReasonReportMissing: pytest exited as if its session had finished
	// but wrote no report (a test ended the process), so the outcome of its
	// tests is unknown.
	ReasonReportMissing = "report_missing"
	// ReasonSupervisorLost: the run's supervisor process died under it.
	ReasonSupervisorLost = "supervisor_lost"
)

// Limits on a run request.
const (
	MinEnvironmentID   = 1
	MaxEnvironmentID   = 100
	MaxRequestedByLen  = 150
	MaxTestFilesPerRun = 100
	MaxTimeoutSeconds  = 24 * 60 * 60
)

// The reasons a field breaks a rule, built from the limits above so that a
// limit and its message never disagree. The HTTP layer uses the same texts
// for values it cannot even parse.
var (
	RuleEnvironmentID = fmt.Sprintf("must be an integer between %d and %d", MinEnvironmentID, MaxEnvironmentID)
	RuleRequestedBy   = fmt.Sprintf("must be at most %d characters", MaxRequestedByLen)
	RuleTimeout       = fmt.Sprintf("must be an integer between 1 and %d", MaxTimeoutSeconds)
	RuleTestFilesMax  = fmt.Sprintf("must name at most %d test files", MaxTestFilesPerRun)
	RuleListLimit     = fmt.Sprintf("must be an integer between 1 and %d", MaxListLimit)
	RuleStatus        = "must be one of " + joinStatuses(RunStatuses)
	RuleRunID         = "must be a positive integer"
	RuleCursor        = "is not a cursor returned by this API"
)

func joinStatuses(ss []RunStatus) string {
	parts := make([]string, len(ss))
	for i, s := range ss {
		parts[i] = string(s)
	}
	return strings.Join(parts, ", ")
}

// Run is one request to execute test files in an environment.
type Run struct {
	ID          int64
	RequestedBy string
	// EnvironmentID is where the run executes; for a pooled run it is 0
	// until the run starts, then the environment it got.
	EnvironmentID int
	// Pool is the label a pooled run asked for; "" for a run asked for one
	// environment.
	Pool      string
	TestFiles []string
	Status    RunStatus
	// QueuePosition is 1 for the next run to start in its line (see
	// QueueInfo); 0 unless queued.
	QueuePosition int
	// WaitingFor and ETA explain a queued run (see ExplainQueue); nil
	// otherwise, and ETA also when it cannot be estimated.
	WaitingFor *WaitingFor
	ETA        *time.Duration
	ExitCode   *int
	Reason     string
	CreatedAt  time.Time
	StartedAt  *time.Time
	FinishedAt *time.Time
	// WorkerID names the worker process that claimed the run.
	WorkerID string
	// Fence is the run's fencing token: drawn from its environment when
	// the run started, larger than that of every run that started there
	// before it (TEST_ENV_FENCE); 0 until it starts.
	Fence int64
	// LogSize is the number of log bytes stored so far.
	LogSize int64
	// Timeout is how long the run may execute before it is killed.
	Timeout time.Duration
	// Tests, Keyword and Markers narrow the run as in CreateRun; TestFiles
	// then lists every file the run touches, the files of Tests included.
	Tests   []string
	Keyword string
	Markers string
	// Summary counts the test results once the run has ended with a report.
	Summary *TestSummary
	// Progress is set once pytest has collected the tests.
	Progress *Progress
	// RerunOf is the run this one runs again (Rerun, RerunFailed); 0 for a
	// new run, or once retention deleted the original.
	RerunOf int64
	// CancelledBy is who asked to cancel the run, as the first accepted
	// cancel request named them; "" when no one asked or it named no one.
	// It is set as soon as the cancel is accepted, so a running run shows
	// it while its processes are being stopped.
	CancelledBy string
	// Env is what the run gets from its environment: set by a claim only,
	// for the worker, and never shown to clients (it holds secrets).
	Env *RunEnvironment
}

// RunEnvironment is what a claimed run receives from its environment, as it
// was when the run started.
type RunEnvironment struct {
	// URL is given to the tests as TEST_ENV_URL when set.
	URL       string
	Variables []Variable
}

// Duration returns how long the run executed, or nil while it has not ended
// or never started.
func (r *Run) Duration() *time.Duration {
	if r.StartedAt == nil || r.FinishedAt == nil {
		return nil
	}
	d := r.FinishedAt.Sub(*r.StartedAt)
	return &d
}

// CreateRun is the input for starting a run, in one environment or in any
// environment of a pool (exactly one of the two). EnvironmentID and Pool are
// pointers so a missing value is told apart from an invalid one.
type CreateRun struct {
	RequestedBy   string
	EnvironmentID *int
	// Pool is a label: the run starts in the first environment carrying it
	// that becomes free (see ExplainQueue for the rule).
	Pool *string
	// TestFiles are catalog paths of files to run whole.
	TestFiles []string
	// Tests are catalog node ids of single tests to run
	// ("uploads/shop/tests/test_cart.py::TestCart::test_total[1]"); their
	// files must not also be in TestFiles.
	Tests []string
	// Keyword and Markers are pytest -k and -m expressions; "" selects all.
	Keyword string
	Markers string
	// TimeoutSeconds overrides the server's default run timeout when set.
	TimeoutSeconds *int
	// RerunOf is the run this one runs again; 0 for a new run. Clients never
	// set it: Rerun and RerunFailed do.
	RerunOf int64
}

// Normalize trims the user name so "  alice " and "alice" are one user.
func (c *CreateRun) Normalize() { c.RequestedBy = strings.TrimSpace(c.RequestedBy) }

// Validate checks everything that needs no catalog lookup: user name,
// environment range and the shape of the file list.
func (c *CreateRun) Validate() error {
	f := FieldErrors{}
	if why := CheckUsername(c.RequestedBy); why != "" {
		f.Add("requested_by", why)
	}
	switch {
	case c.Pool != nil && c.EnvironmentID != nil:
		f.Add("pool", "cannot be given with environment_id: ask for one environment or for a pool")
	case c.Pool != nil:
		if why := CheckLabel(*c.Pool); why != "" {
			f.Add("pool", "is a label, which "+why)
		}
	case c.EnvironmentID == nil:
		f.Add("environment_id", "is required (or give pool instead)")
	default:
		if why := ValidateEnvironmentID(c.EnvironmentID); why != "" {
			f.Add("environment_id", why)
		}
	}
	if t := c.TimeoutSeconds; t != nil && (*t < 1 || *t > MaxTimeoutSeconds) {
		f.Add("timeout_seconds", RuleTimeout)
	}
	switch n := len(c.TestFiles); {
	case n == 0 && len(c.Tests) == 0:
		f.Add("test_files", "must name at least one test file (or give tests)")
	case n > MaxTestFilesPerRun:
		f.Add("test_files", RuleTestFilesMax)
	default:
		seen := make(map[string]bool, n)
		for _, p := range c.TestFiles {
			if seen[p] {
				f.Add("test_files", "names "+p+" more than once")
				break
			}
			seen[p] = true
		}
	}
	if why := c.checkTests(); why != "" {
		f.Add("tests", why)
	}
	for field, expr := range map[string]string{"keyword": c.Keyword, "markers": c.Markers} {
		if why := CheckExpression(expr); why != "" {
			f.Add(field, "is not a valid pytest expression: "+why)
		}
	}
	return f.Err()
}

// checkTests returns why the node ids cannot be run, or "".
func (c *CreateRun) checkTests() string {
	if len(c.Tests) > MaxTestsPerRun {
		return fmt.Sprintf("must name at most %d tests", MaxTestsPerRun)
	}
	whole := make(map[string]bool, len(c.TestFiles))
	for _, p := range c.TestFiles {
		whole[p] = true
	}
	files := map[string]bool{}
	seen := make(map[string]bool, len(c.Tests))
	for _, id := range c.Tests {
		if why := checkNodeID(id); why != "" {
			return why
		}
		if seen[id] {
			return "names " + id + " more than once"
		}
		seen[id] = true
		file := NodeIDFile(id)
		if whole[file] {
			return fmt.Sprintf("names %s, but %s already runs whole (it is in test_files)", id, file)
		}
		files[file] = true
	}
	if len(files) > 0 && len(c.TestFiles) <= MaxTestFilesPerRun && len(files)+len(c.TestFiles) > MaxTestFilesPerRun {
		return RuleTestFilesMax + " (counting the files of the tests)"
	}
	return ""
}

// Files returns every file the run touches: TestFiles, then the files of
// Tests not among them, in order. It is what a run stores as its test files.
func (c *CreateRun) Files() []string {
	out := slices.Clone(c.TestFiles)
	seen := make(map[string]bool, len(out))
	for _, p := range out {
		seen[p] = true
	}
	for _, id := range c.Tests {
		if f := NodeIDFile(id); !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	return out
}

// CheckUsername returns why name cannot name a user (a run's, a hold's,
// who cancelled a run), or "".
func CheckUsername(name string) string {
	switch {
	case name == "":
		return "is required"
	case utf8.RuneCountInString(name) > MaxRequestedByLen:
		return RuleRequestedBy
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return "must not contain control characters"
	}
	return ""
}

// ValidateEnvironmentID returns why id is not a usable environment, or "".
func ValidateEnvironmentID(id *int) string {
	switch {
	case id == nil:
		return "is required"
	case *id < MinEnvironmentID || *id > MaxEnvironmentID:
		return RuleEnvironmentID
	}
	return ""
}

// RerunOf is the CreateRun that runs r again: the same environment (or the
// same pool, for a pooled run, wherever the original ran), test files and
// timeout, requested by requestedBy or, when that is blank, by r's user.
// Every field CreateRun gains (a test selection, say) must be copied here;
// TestRerunOfCopiesEveryField fails until it is.
func RerunOf(r *Run, requestedBy string) CreateRun {
	if strings.TrimSpace(requestedBy) == "" {
		requestedBy = r.RequestedBy
	}
	var env *int
	var pool *string
	if r.Pool != "" {
		p := r.Pool
		pool = &p
	} else {
		e := r.EnvironmentID
		env = &e
	}
	timeout := int((r.Timeout + time.Second - 1) / time.Second)
	return CreateRun{
		RequestedBy:    requestedBy,
		EnvironmentID:  env,
		Pool:           pool,
		TestFiles:      r.WholeFiles(),
		Tests:          slices.Clone(r.Tests),
		Keyword:        r.Keyword,
		Markers:        r.Markers,
		TimeoutSeconds: &timeout,
		RerunOf:        r.ID,
	}
}

// WholeFiles returns the run's files that run whole: TestFiles without the
// files of its Tests.
func (r *Run) WholeFiles() []string {
	picked := make(map[string]bool, len(r.Tests))
	for _, id := range r.Tests {
		picked[NodeIDFile(id)] = true
	}
	out := []string{}
	for _, f := range r.TestFiles {
		if !picked[f] {
			out = append(out, f)
		}
	}
	return out
}

// FailedTestsOf is the CreateRun that runs exactly the failed and errored
// tests of an ended run r, given its results: single tests by node id, and
// whole files for files that failed to collect, in the same environment
// with the same timeout. It is ECONFLICT when r has not ended or nothing
// failed.
func FailedTestsOf(r *Run, results []TestResult, requestedBy string) (CreateRun, error) {
	if !r.Status.Final() {
		return CreateRun{}, Errorf(ECONFLICT, "Run %d has not ended yet (%s); its failed tests are known once it ends.", r.ID, r.Status)
	}
	in := RerunOf(r, requestedBy)
	in.TestFiles, in.Tests, in.Keyword, in.Markers = nil, nil, "", ""
	seen := map[string]bool{}
	for _, t := range results {
		if (t.Outcome != TestFailed && t.Outcome != TestError) || seen[t.NodeID] {
			continue
		}
		seen[t.NodeID] = true
		if strings.Contains(t.NodeID, "::") {
			in.Tests = append(in.Tests, t.NodeID)
		} else {
			in.TestFiles = append(in.TestFiles, t.NodeID)
		}
	}
	if len(in.Tests) == 0 && len(in.TestFiles) == 0 {
		return CreateRun{}, Errorf(ECONFLICT, "Run %d has no failed or errored tests to run again.", r.ID)
	}
	// A file that failed to collect runs whole; its tests need not be named.
	whole := map[string]bool{}
	for _, f := range in.TestFiles {
		whole[f] = true
	}
	in.Tests = slices.DeleteFunc(in.Tests, func(id string) bool { return whole[NodeIDFile(id)] })
	return in, nil
}

// RunQuery is a run listing as a client asks for it: each field as given
// (the URL query parameters of GET /api/runs), "" when not given. It is
// comparable, so it can key a cache. Filter parses and checks it.
type RunQuery struct {
	// Status is one status or several, comma-separated (the HTTP layer joins
	// a repeated status parameter so the query stays comparable).
	Status        string
	EnvironmentID string
	Pool          string
	RequestedBy   string
	// CreatedAfter and CreatedBefore bound created_at (RFC 3339), inclusive.
	CreatedAfter  string
	CreatedBefore string
	// TestFile selects runs with a test file whose path contains it.
	TestFile string
	// RerunOf selects the reruns of one run (its id).
	RerunOf string
	// Cursor is the NextCursor of the previous page.
	Cursor string
	Limit  string
}

// RunFilter selects runs for listing, newest first; zero fields select
// everything.
type RunFilter struct {
	// Statuses selects runs in any of these statuses.
	Statuses      []RunStatus
	EnvironmentID int
	// Pool selects the runs asked for that pool (wherever they ran).
	Pool        string
	RequestedBy string
	// CreatedAfter and CreatedBefore bound created_at, inclusive; zero is unbounded.
	CreatedAfter  time.Time
	CreatedBefore time.Time
	// TestFile selects runs with a test file whose path contains it (case-insensitive).
	TestFile string
	// RerunOf selects the reruns of that run; 0 selects runs whatever they rerun.
	RerunOf int64
	// BeforeID is the keyset cursor: only runs with a smaller id are listed.
	BeforeID int64
	// Limit is the page size.
	Limit int
}

// Listing limits.
const (
	DefaultListLimit = 50
	MaxListLimit     = 200
	// MaxTestFileFilterLen bounds the test_file filter, a path fragment.
	MaxTestFileFilterLen = 1024
)

// Rules of the listing filters that have no other home.
var (
	RuleTimestamp      = "must be an RFC 3339 date-time, e.g. 2026-05-01T09:30:00Z"
	RuleCreatedRange   = "must not be after created_before"
	RuleTestFileFilter = fmt.Sprintf("must be at most %d characters of text", MaxTestFileFilterLen)
)

// Filter parses and checks q. The user name is trimmed as
// CreateRun.Normalize trims it, so " alice" finds alice's runs.
func (q RunQuery) Filter() (RunFilter, error) {
	fe := FieldErrors{}
	f := RunFilter{RequestedBy: strings.TrimSpace(q.RequestedBy), TestFile: q.TestFile, Limit: DefaultListLimit}
	if q.Status != "" {
		for _, part := range strings.Split(q.Status, ",") {
			st := RunStatus(strings.TrimSpace(part))
			if !st.Valid() {
				fe.Add("status", RuleStatus)
				break
			}
			if !slices.Contains(f.Statuses, st) {
				f.Statuses = append(f.Statuses, st)
			}
		}
	}
	for _, bound := range []struct {
		field, value string
		to           *time.Time
	}{{"created_after", q.CreatedAfter, &f.CreatedAfter}, {"created_before", q.CreatedBefore, &f.CreatedBefore}} {
		if bound.value == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339Nano, bound.value)
		if err != nil {
			fe.Add(bound.field, RuleTimestamp)
			continue
		}
		*bound.to = t
	}
	if !f.CreatedAfter.IsZero() && !f.CreatedBefore.IsZero() && f.CreatedAfter.After(f.CreatedBefore) {
		fe.Add("created_after", RuleCreatedRange)
	}
	if utf8.RuneCountInString(f.TestFile) > MaxTestFileFilterLen || strings.ContainsRune(f.TestFile, 0) {
		fe.Add("test_file", RuleTestFileFilter)
	}
	if q.EnvironmentID != "" {
		n, err := strconv.Atoi(q.EnvironmentID)
		if err != nil || ValidateEnvironmentID(&n) != "" {
			fe.Add("environment_id", RuleEnvironmentID)
		}
		f.EnvironmentID = n
	}
	if q.Pool != "" {
		if why := CheckLabel(q.Pool); why != "" {
			fe.Add("pool", "is a label, which "+why)
		}
		f.Pool = q.Pool
	}
	if utf8.RuneCountInString(f.RequestedBy) > MaxRequestedByLen {
		fe.Add("requested_by", RuleRequestedBy)
	}
	if q.RerunOf != "" {
		id, err := strconv.ParseInt(q.RerunOf, 10, 64)
		if err != nil || id < 1 {
			fe.Add("rerun_of", RuleRunID)
		}
		f.RerunOf = id
	}
	if q.Limit != "" {
		n, err := strconv.Atoi(q.Limit)
		if err != nil || n < 1 || n > MaxListLimit {
			fe.Add("limit", RuleListLimit)
		}
		f.Limit = n
	}
	if q.Cursor != "" {
		id, ok := DecodeCursor(q.Cursor)
		if !ok {
			fe.Add("cursor", RuleCursor)
		}
		f.BeforeID = id
	}
	return f, fe.Err()
}

// RunPage is one page of a run listing.
type RunPage struct {
	Runs []*Run
	// Total counts every run the filters select, on all pages.
	Total int64
	// NextCursor fetches the next page; "" on the last one.
	NextCursor string
}

// EncodeCursor makes the opaque page cursor that continues after run id.
func EncodeCursor(id int64) string { return encodeKeyset('r', id) }

// DecodeCursor reads a cursor made by EncodeCursor.
func DecodeCursor(c string) (int64, bool) { return decodeKeyset('r', c) }

// encodeKeyset makes an opaque cursor for a keyset id; kind tells the
// listings' cursors apart, so one is never taken for another.
func encodeKeyset(kind byte, id int64) string {
	return base64.RawURLEncoding.EncodeToString(append([]byte{kind}, strconv.FormatInt(id, 10)...))
}

// decodeKeyset reads a cursor made by encodeKeyset with the same kind.
func decodeKeyset(kind byte, c string) (int64, bool) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err == nil && len(b) > 1 && b[0] == kind {
		if id, err := strconv.ParseInt(string(b[1:]), 10, 64); err == nil && id > 0 {
			return id, true
		}
	}
	return 0, false
}

// Outcome is how a run ended, as decided by the runner or by Baton itself.
type Outcome struct {
	Status   RunStatus
	ExitCode *int
	Reason   string
	// Summary and Tests come from pytest's JUnit report, when it wrote one.
	Summary *TestSummary
	Tests   []TestResult
	// JUnitXML is that report as pytest wrote it (one <testsuites> of every
	// session's suites when the run had several), kept for download.
	JUnitXML []byte
	// ContentHashes identify, by catalog path, the content of each test file
	// as the worker read it when the run started (see catalog.ContentHash):
	// stored with each result, so flakiness is judged on unchanged files.
	ContentHashes map[string]int64
}

// OutcomeForExit maps a pytest exit code to a run outcome: 0 passes, 1 and 5
// fail (tests failed, nothing collected), anything else is an error.
func OutcomeForExit(code int) Outcome {
	c := code
	o := Outcome{ExitCode: &c, Status: StatusError}
	switch code {
	case 0:
		o.Status = StatusSuccess
	case 1:
		o.Status, o.Reason = StatusFailed, ReasonTestsFailed
	case 5:
		o.Status, o.Reason = StatusFailed, ReasonNoTestsCollected
	case 2:
		o.Reason = ReasonInterrupted
	case 3:
		o.Reason = ReasonInternalError
	case 4:
		o.Reason = ReasonUsageError
	default:
		o.Reason = ReasonSignal
	}
	return o
}

// TestSummary counts a run's test results, as pytest's JUnit report tells.
type TestSummary struct {
	Passed  int
	Failed  int
	Errors  int
	Skipped int
	Total   int
}

// Test outcomes of a single test.
const (
	TestPassed  = "passed"
	TestFailed  = "failed"
	TestError   = "error"
	TestSkipped = "skipped"
)

// TestResult is the result of one test of a run.
type TestResult struct {
	NodeID     string
	Outcome    string
	DurationMS int64
	// Message is the failure, error or skip message; empty for a pass.
	Message string
	// Flaky is set when listing a run's results: the test is flaky now
	// (TestStats.Flaky).
	Flaky bool
}

// Progress is how far a running run is: tests completed out of collected.
type Progress struct {
	Completed int
	Total     int
}
