package runner

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/baton-ci/baton/api/domain"
	"github.com/baton-ci/baton/internal/testkit"
)

// TestRunReportsPerTestResultsByCatalogPath runs a real pytest session over
// catalog roots and checks the summary, the per-test results and that tests
// are named by catalog path, in the report and in the log.
func TestRunReportsPerTestResultsByCatalogPath(t *testing.T) {
	t.Parallel()
	py, err := DetectPython()
	if err != nil {
		t.Skip(err)
	}
	root := filepath.Join(t.TempDir(), "suite")
	require.NoError(t, os.MkdirAll(filepath.Join(root, "pay"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(root, "pay", "test_mix.py"), []byte(`import pytest

def test_ok():
    pass

def test_bad():
    assert 1 == 2, "one is not two"

@pytest.mark.skip(reason="not today")
def test_skipped():
    pass

@pytest.fixture
def broken():
    raise RuntimeError("fixture exploded")

def test_error(broken):
    pass

class TestGroup:
    @pytest.mark.parametrize("n", [1, 2])
    def test_param(self, n):
        assert n
`), 0o644))
	var out testkit.SyncBuffer
	r := &Runner{Python: py}
	o := r.Run(context.Background(), Spec{RunID: 1, EnvironmentID: 1, EnvironmentName: "env1",
		Files: []string{"suite/pay/test_mix.py"}, Roots: map[string]string{"suite": root}}, &out)
	log := out.String()
	require.Equal(t, domain.StatusFailed, o.Status, log)
	require.Equal(t, &domain.TestSummary{Passed: 3, Failed: 1, Errors: 1, Skipped: 1, Total: 6}, o.Summary, log)
	byID := map[string]domain.TestResult{}
	for _, tr := range o.Tests {
		byID[tr.NodeID] = tr
	}
	require.Equal(t, domain.TestPassed, byID["suite/pay/test_mix.py::test_ok"].Outcome, o.Tests)
	require.Equal(t, domain.TestFailed, byID["suite/pay/test_mix.py::test_bad"].Outcome)
	require.Contains(t, byID["suite/pay/test_mix.py::test_bad"].Message, "one is not two")
	require.Equal(t, domain.TestSkipped, byID["suite/pay/test_mix.py::test_skipped"].Outcome)
	require.Contains(t, byID["suite/pay/test_mix.py::test_skipped"].Message, "not today")
	require.Equal(t, domain.TestError, byID["suite/pay/test_mix.py::test_error"].Outcome)
	require.Contains(t, byID["suite/pay/test_mix.py::test_error"].Message, "fixture exploded")
	require.Equal(t, domain.TestPassed, byID["suite/pay/test_mix.py::TestGroup::test_param[1]"].Outcome, o.Tests)
	// pytest runs in the project root (here the catalog root) and names
	// tests relative to it, as by hand.
	require.Contains(t, log, "\npay/test_mix.py::test_ok PASSED")
}

func TestReadReportRejectsMissingOrBrokenReports(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	_, _, ok := readReport(Invocation{Report: filepath.Join(dir, "absent.xml")})
	require.False(t, ok)
	bad := filepath.Join(dir, "bad.xml")
	require.NoError(t, os.WriteFile(bad, []byte("<testsuites><testsuite"), 0o644))
	_, _, ok = readReport(Invocation{Report: bad})
	require.False(t, ok)
}
