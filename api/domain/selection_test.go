package domain_test

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/baton-ci/baton/api/domain"
)

// expressionCorpus mixes valid and invalid -k / -m expressions.
var expressionCorpus = []string{
	"", "slow", "not slow", "slow and not flaky", "(a or b) and not c", "test_x[1-2]", "a.b::c/d\\e+f",
	"not not x", "True", "x or", "and", "(a", "a)", "a b", "a == b", "'quoted'", "a,b", "é and ñ", "x\ty",
	"((a))", "or or", "not", "(", ")", "a and (b or (c and not d))", "name-with-dash", "*", "a;b", "1", "日本",
}

// TestCheckExpressionAgreesWithPytest compiles each expression with
// pytest's own parser and checks CheckExpression accepts exactly the same
// ones, with the same message.
func TestCheckExpressionAgreesWithPytest(t *testing.T) {
	t.Parallel()
	py, err := exec.LookPath("/usr/bin/python3")
	if err != nil || exec.Command(py, "-c", "import _pytest.mark.expression").Run() != nil {
		t.Skip("no python3 with pytest")
	}
	const script = `import sys, json
from _pytest.mark.expression import Expression, ParseError
out = []
for s in json.load(sys.stdin):
    try:
        Expression.compile(s)
        out.append("")
    except ParseError as e:
        out.append(str(e))
print(json.dumps(out))`
	cmd := exec.Command(py, "-c", script)
	cmd.Stdin = strings.NewReader(jsonList(expressionCorpus))
	out, err := cmd.Output()
	require.NoError(t, err)
	want := parseJSONList(t, out)
	for i, s := range expressionCorpus {
		require.Equal(t, want[i], domain.CheckExpression(s), "%q", s)
	}
}

func TestCreateRunValidatesSelection(t *testing.T) {
	t.Parallel()
	env := 1
	base := func() domain.CreateRun {
		return domain.CreateRun{RequestedBy: "a", EnvironmentID: &env, TestFiles: []string{"s/test_a.py"}}
	}
	ok := base()
	ok.TestFiles = nil
	ok.Tests = []string{"s/test_a.py::TestX::test_y[a::b]", "s/test_b.py::test_z"}
	ok.Keyword, ok.Markers = "not slow", "smoke or (db and not net)"
	require.NoError(t, ok.Validate())
	require.Equal(t, []string{"s/test_a.py", "s/test_b.py"}, ok.Files())

	for name, tc := range map[string]struct {
		edit  func(*domain.CreateRun)
		field string
	}{
		"no file part":      {func(c *domain.CreateRun) { c.Tests = []string{"test_a"} }, "tests"},
		"not a node id":     {func(c *domain.CreateRun) { c.Tests = []string{"s/test_b.py"} }, "tests"},
		"not .py":           {func(c *domain.CreateRun) { c.Tests = []string{"s/test_b.txt::x"} }, "tests"},
		"empty part":        {func(c *domain.CreateRun) { c.Tests = []string{"s/test_b.py::::x"} }, "tests"},
		"control character": {func(c *domain.CreateRun) { c.Tests = []string{"s/test_b.py::x\x00"} }, "tests"},
		"duplicate":         {func(c *domain.CreateRun) { c.Tests = []string{"s/test_b.py::x", "s/test_b.py::x"} }, "tests"},
		"file also whole":   {func(c *domain.CreateRun) { c.Tests = []string{"s/test_a.py::x"} }, "tests"},
		"bad keyword":       {func(c *domain.CreateRun) { c.Keyword = "a and" }, "keyword"},
		"bad markers":       {func(c *domain.CreateRun) { c.Markers = "smoke or (" }, "markers"},
		"nothing to run":    {func(c *domain.CreateRun) { c.TestFiles = nil }, "test_files"},
	} {
		c := base()
		tc.edit(&c)
		err := c.Validate()
		require.Error(t, err, name)
		var de *domain.Error
		require.ErrorAs(t, err, &de, name)
		require.Contains(t, de.Fields, tc.field, name)
	}
}

func TestFailedTestsOf(t *testing.T) {
	t.Parallel()
	r := &domain.Run{ID: 3, RequestedBy: "alice", EnvironmentID: 4, Status: domain.StatusFailed,
		TestFiles: []string{"u/test_a.py", "u/test_b.py", "u/test_broken.py"}, Keyword: "not slow", Timeout: time.Minute}
	results := []domain.TestResult{
		{NodeID: "u/test_a.py::test_ok", Outcome: domain.TestPassed},
		{NodeID: "u/test_a.py::TestX::test_bad[1]", Outcome: domain.TestFailed},
		{NodeID: "u/test_b.py::test_setup", Outcome: domain.TestError},
		{NodeID: "u/test_b.py::test_skip", Outcome: domain.TestSkipped},
		{NodeID: "u/test_broken.py", Outcome: domain.TestError},
	}
	in, err := domain.FailedTestsOf(r, results, "")
	require.NoError(t, err)
	require.Equal(t, []string{"u/test_a.py::TestX::test_bad[1]", "u/test_b.py::test_setup"}, in.Tests)
	require.Equal(t, []string{"u/test_broken.py"}, in.TestFiles)
	require.Empty(t, in.Keyword, "the node ids are exact")
	require.Equal(t, 4, *in.EnvironmentID)
	require.Equal(t, "alice", in.RequestedBy)
	require.NoError(t, in.Validate())

	_, err = domain.FailedTestsOf(r, results[:1], "")
	require.Equal(t, domain.ECONFLICT, domain.ErrorCodeOf(err))
	r.Status = domain.StatusRunning
	_, err = domain.FailedTestsOf(r, results, "")
	require.Equal(t, domain.ECONFLICT, domain.ErrorCodeOf(err))
}

func jsonList(l []string) string {
	b, _ := json.Marshal(l)
	return string(b)
}

func parseJSONList(t *testing.T, b []byte) []string {
	t.Helper()
	var out []string
	require.NoError(t, json.Unmarshal(b, &out))
	return out
}
