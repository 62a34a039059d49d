package domain_test

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/baton-ci/baton/api/domain"
)

// TestRerunOfCopiesEveryField: a rerun repeats everything the original run
// was asked to do. It fails for a field added to CreateRun that RerunOf does
// not copy (the way the timeout was once lost).
func TestRerunOfCopiesEveryField(t *testing.T) {
	t.Parallel()
	orig := &domain.Run{ID: 7, RequestedBy: "alice", EnvironmentID: 9,
		TestFiles: []string{"sample-tests/test_b.py", "sample-tests/test_a.py", "sample-tests/test_c.py"}, Timeout: 90 * time.Second,
		Tests: []string{"sample-tests/test_c.py::test_x"}, Keyword: "not slow", Markers: "smoke"}
	again := domain.RerunOf(orig, "")
	v := reflect.ValueOf(again)
	for i := range v.NumField() {
		name := v.Type().Field(i).Name
		if name == "EnvironmentID" || name == "Pool" {
			continue // the target: exactly one of the two, checked below
		}
		require.False(t, v.Field(i).IsZero(), "RerunOf leaves CreateRun.%s unset", name)
	}
	require.Equal(t, "alice", again.RequestedBy)
	require.Equal(t, 9, *again.EnvironmentID)
	require.Nil(t, again.Pool)
	pooled := domain.RerunOf(&domain.Run{RequestedBy: "alice", EnvironmentID: 4, Pool: "staging", TestFiles: orig.TestFiles}, "")
	require.Nil(t, pooled.EnvironmentID, "a pooled run is rerun in its pool, wherever it ran")
	require.Equal(t, "staging", *pooled.Pool)
	require.Equal(t, orig.TestFiles[:2], again.TestFiles, "the files of its tests are not run whole")
	require.Equal(t, orig.Tests, again.Tests)
	require.Equal(t, orig.TestFiles, again.Files())
	require.Equal(t, 90, *again.TimeoutSeconds)
	again.TestFiles[0] = "changed"
	require.Equal(t, "sample-tests/test_b.py", orig.TestFiles[0], "the rerun's files are its own")
	require.NoError(t, again.Validate())

	require.Equal(t, "bob", domain.RerunOf(orig, "bob").RequestedBy)
	require.Equal(t, "alice", domain.RerunOf(orig, " \t").RequestedBy, "a blank name is no name")
	require.Equal(t, 2, *domain.RerunOf(&domain.Run{Timeout: 1500 * time.Millisecond}, "").TimeoutSeconds,
		"a timeout is never shortened")
}

func strp(s string) *string { return &s }

func TestCreateRunValidate(t *testing.T) {
	t.Parallel()
	env := func(n int) *int { return &n }
	ok := domain.CreateRun{RequestedBy: "alice", EnvironmentID: env(1), TestFiles: []string{"a"}}
	files := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprint("f", i)
		}
		return out
	}
	for name, c := range map[string]struct {
		edit  func(*domain.CreateRun)
		field string
		why   string
	}{
		"valid":                {func(*domain.CreateRun) {}, "", ""},
		"150 characters":       {func(c *domain.CreateRun) { c.RequestedBy = strings.Repeat("é", 150) }, "", ""},
		"151 characters":       {func(c *domain.CreateRun) { c.RequestedBy = strings.Repeat("é", 151) }, "requested_by", domain.RuleRequestedBy},
		"control character":    {func(c *domain.CreateRun) { c.RequestedBy = "a\x00b" }, "requested_by", "must not contain control characters"},
		"environment 0":        {func(c *domain.CreateRun) { c.EnvironmentID = env(0) }, "environment_id", domain.RuleEnvironmentID},
		"environment 100":      {func(c *domain.CreateRun) { c.EnvironmentID = env(100) }, "", ""},
		"environment 101":      {func(c *domain.CreateRun) { c.EnvironmentID = env(101) }, "environment_id", domain.RuleEnvironmentID},
		"no environment":       {func(c *domain.CreateRun) { c.EnvironmentID = nil }, "environment_id", "is required (or give pool instead)"},
		"pool":                 {func(c *domain.CreateRun) { c.EnvironmentID, c.Pool = nil, strp("staging") }, "", ""},
		"pool and environment": {func(c *domain.CreateRun) { c.Pool = strp("staging") }, "pool", "cannot be given with environment_id: ask for one environment or for a pool"},
		"pool not a label":     {func(c *domain.CreateRun) { c.EnvironmentID, c.Pool = nil, strp("Staging") }, "pool", "is a label, which " + domain.RuleLabel},
		"empty pool":           {func(c *domain.CreateRun) { c.EnvironmentID, c.Pool = nil, strp("") }, "pool", "is a label, which " + domain.RuleLabel},
		"100 files":            {func(c *domain.CreateRun) { c.TestFiles = files(100) }, "", ""},
		"101 files":            {func(c *domain.CreateRun) { c.TestFiles = files(101) }, "test_files", domain.RuleTestFilesMax},
		"duplicate file":       {func(c *domain.CreateRun) { c.TestFiles = []string{"a", "b", "a"} }, "test_files", "names a more than once"},
		"timeout 86400":        {func(c *domain.CreateRun) { c.TimeoutSeconds = env(86400) }, "", ""},
		"timeout 86401":        {func(c *domain.CreateRun) { c.TimeoutSeconds = env(86401) }, "timeout_seconds", domain.RuleTimeout},
		"timeout 0":            {func(c *domain.CreateRun) { c.TimeoutSeconds = env(0) }, "timeout_seconds", domain.RuleTimeout},
		"limits in the rules":  {func(*domain.CreateRun) {}, "", ""},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c2 := ok
			c2.TestFiles = append([]string(nil), ok.TestFiles...)
			c.edit(&c2)
			err := c2.Validate()
			if c.field == "" {
				require.NoError(t, err)
				return
			}
			var de *domain.Error
			require.ErrorAs(t, err, &de)
			require.Equal(t, domain.EINVALID, de.Code)
			require.Equal(t, map[string]string{c.field: c.why}, de.Fields)
			require.Equal(t, c.field+" "+c.why+".", de.Message)
		})
	}
	require.Contains(t, domain.RuleRequestedBy, fmt.Sprint(domain.MaxRequestedByLen))
	require.Contains(t, domain.RuleEnvironmentID, fmt.Sprint(domain.MaxEnvironmentID))
	require.Contains(t, domain.RuleTimeout, fmt.Sprint(domain.MaxTimeoutSeconds))
	require.Contains(t, domain.RuleTestFilesMax, fmt.Sprint(domain.MaxTestFilesPerRun))
}

func TestRunQueryFilter(t *testing.T) {
	t.Parallel()
	t.Run("defaults", func(t *testing.T) {
		t.Parallel()
		f, err := domain.RunQuery{}.Filter()
		require.NoError(t, err)
		require.Equal(t, domain.RunFilter{Limit: domain.DefaultListLimit}, f)
	})
	t.Run("everything", func(t *testing.T) {
		t.Parallel()
		f, err := domain.RunQuery{Status: "running,failed,running", EnvironmentID: "7", RequestedBy: " alice ",
			CreatedAfter: "2026-05-01T00:00:00Z", CreatedBefore: "2026-05-02T00:00:00+02:00", TestFile: "Payments/",
			Cursor: domain.EncodeCursor(42), Limit: "200"}.Filter()
		require.NoError(t, err)
		require.Equal(t, domain.RunFilter{
			Statuses: []domain.RunStatus{domain.StatusRunning, domain.StatusFailed}, EnvironmentID: 7, RequestedBy: "alice",
			CreatedAfter: time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC), CreatedBefore: time.Date(2026, 5, 1, 22, 0, 0, 0, time.UTC),
			TestFile: "Payments/", BeforeID: 42, Limit: 200,
		}, normalizeTimes(f))
	})
	t.Run("every field wrong", func(t *testing.T) {
		t.Parallel()
		_, err := domain.RunQuery{Status: "failed,QUEUED", EnvironmentID: "1.5", RequestedBy: strings.Repeat("x", 151),
			CreatedAfter: "yesterday", CreatedBefore: "2026-05-01", TestFile: "a\x00b", Cursor: "cjA", Limit: "201"}.Filter()
		var de *domain.Error
		require.ErrorAs(t, err, &de)
		require.Equal(t, map[string]string{"status": domain.RuleStatus, "environment_id": domain.RuleEnvironmentID,
			"requested_by": domain.RuleRequestedBy, "cursor": domain.RuleCursor, "limit": domain.RuleListLimit,
			"created_after": domain.RuleTimestamp, "created_before": domain.RuleTimestamp, "test_file": domain.RuleTestFileFilter}, de.Fields)
	})
	t.Run("a range that ends before it starts", func(t *testing.T) {
		t.Parallel()
		_, err := domain.RunQuery{CreatedAfter: "2026-05-02T00:00:00Z", CreatedBefore: "2026-05-01T00:00:00Z"}.Filter()
		var de *domain.Error
		require.ErrorAs(t, err, &de)
		require.Equal(t, map[string]string{"created_after": domain.RuleCreatedRange}, de.Fields)
	})
}

func TestCursorRoundTrip(t *testing.T) {
	t.Parallel()
	for _, id := range []int64{1, 42, 1 << 62} {
		got, ok := domain.DecodeCursor(domain.EncodeCursor(id))
		require.True(t, ok)
		require.Equal(t, id, got)
	}
	for _, c := range []string{"", "!!!", "eDU", "cjA", "ci0x"} {
		_, ok := domain.DecodeCursor(c)
		require.False(t, ok, c)
	}
}

func TestOutcomeForExit(t *testing.T) {
	t.Parallel()
	for code, want := range map[int][2]string{
		0: {"success", ""}, 1: {"failed", domain.ReasonTestsFailed}, 5: {"failed", domain.ReasonNoTestsCollected},
		2: {"error", domain.ReasonInterrupted}, 3: {"error", domain.ReasonInternalError}, 4: {"error", domain.ReasonUsageError},
		-9: {"error", domain.ReasonSignal}, 137: {"error", domain.ReasonSignal},
	} {
		o := domain.OutcomeForExit(code)
		require.Equal(t, want, [2]string{string(o.Status), o.Reason}, "exit %d", code)
		require.Equal(t, code, *o.ExitCode)
		require.True(t, o.Status.Final())
	}
	require.False(t, domain.StatusQueued.Final())
	require.False(t, domain.StatusRunning.Final())
	require.False(t, domain.RunStatus("paused").Final())
}

func TestErrors(t *testing.T) {
	t.Parallel()
	wrapped := fmt.Errorf("context: %w", domain.Errorf(domain.ENOTFOUND, "Run %d does not exist.", 3))
	require.Equal(t, domain.ENOTFOUND, domain.ErrorCodeOf(wrapped))
	require.Equal(t, "Run 3 does not exist.", domain.ErrorMessageOf(wrapped))
	require.Equal(t, domain.EINTERNAL, domain.ErrorCodeOf(errors.New("secret detail")))
	require.Equal(t, "An internal error occurred.", domain.ErrorMessageOf(errors.New("secret detail")))
	require.Empty(t, domain.ErrorCodeOf(nil))
	require.Equal(t, domain.EUNAVAILABLE, domain.ErrorCodeOf(fmt.Errorf("%w (%w)", domain.ErrUnavailable, errors.New("x"))))

	fe := domain.FieldErrors{}
	require.NoError(t, fe.Err())
	fe.Add("b", "is wrong")
	fe.Add("a", "is required")
	fe.Add("a", "second reason is dropped")
	var de *domain.Error
	require.ErrorAs(t, fe.Err(), &de)
	require.Equal(t, "a is required; b is wrong.", de.Message)
	require.ErrorAs(t, domain.Invalid("offset", "must be a non-negative integer"), &de)
	require.Equal(t, map[string]string{"offset": "must be a non-negative integer"}, de.Fields)
}

// normalizeTimes puts f's bounds in UTC so that equal instants compare equal.
func normalizeTimes(f domain.RunFilter) domain.RunFilter {
	f.CreatedAfter = f.CreatedAfter.UTC()
	f.CreatedBefore = f.CreatedBefore.UTC()
	return f
}
