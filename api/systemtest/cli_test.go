package systemtest

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/baton-ci/baton/internal/testkit"
)

// cliResult is what one `baton` client command did.
type cliResult struct {
	code           int
	stdout, stderr string
}

// cli runs the baton binary's client command args against url and waits
// for it to end.
func cli(t *testing.T, url string, args ...string) cliResult {
	t.Helper()
	cmd := cliCmd(url, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return cliResult{code: exitCode(t, err), stdout: stdout.String(), stderr: stderr.String()}
}

func cliCmd(url string, args ...string) *exec.Cmd {
	cmd := exec.Command(batonBin, args...)
	env := []string{"BATON_URL=" + url, "BATON_USER=ci-bot"}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "BATON_") && !strings.HasPrefix(kv, "DATABASE_URL=") {
			env = append(env, kv)
		}
	}
	cmd.Env = env
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	return cmd
}

func exitCode(t *testing.T, err error) int {
	t.Helper()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	require.NoError(t, err)
	return 0
}

func (r cliResult) String() string {
	return fmt.Sprintf("exit %d\n--- stdout\n%s\n--- stderr\n%s", r.code, tail(r.stdout, 8<<10), r.stderr)
}

// TestCLIRunWaitExitCodes runs `baton run --wait` for each outcome and
// checks its documented exit code, that what it printed is the run's
// stored log, and that upload then run works.
func TestCLIRunWaitExitCodes(t *testing.T) {
	systemTest(t)
	r := newRig(t, "")
	srv := r.serve("serve")
	url := srv.url()

	// Upload a failing test with the CLI, then run it.
	failing := filepath.Join(t.TempDir(), "test_cli_fails.py")
	require.NoError(t, os.WriteFile(failing, []byte("def test_fails():\n    print('about to fail')\n    assert 1 == 2\n"), 0o644))
	up := cli(t, url, "upload", "--dir", "uploads/cli", failing)
	require.Equal(t, 0, up.code, "%s", up)
	require.Equal(t, "uploads/cli/test_cli_fails.py\n", up.stdout)

	// A folder goes up whole, as a test project: its conftest.py and
	// helper modules with it (a file alone would fail to collect), caches
	// and hidden folders left behind. What it prints runs as is.
	project := filepath.Join(t.TempDir(), "shop")
	for name, content := range map[string]string{
		"pytest.ini":              "[pytest]\n",
		"tests/conftest.py":       "import pytest\n\n@pytest.fixture\ndef price():\n    return 3\n",
		"tests/helpers.py":        "PRICE = 3\n",
		"tests/test_cart.py":      "from helpers import PRICE\n\ndef test_cart(price):\n    assert price == PRICE\n",
		"tests/data/prices.csv":   "a,3\n",
		".git/config":             "[core]\n",
		"tests/__pycache__/x.pyc": "junk",
		".pytest_cache/README.md": "cache\n",
	} {
		require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(project, name)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(project, name), []byte(content), 0o644))
	}
	up = cli(t, url, "upload", "--dir", "uploads/ci/7", project)
	require.Equal(t, 0, up.code, "%s", up)
	require.Equal(t, "uploads/ci/7/tests/test_cart.py\n", up.stdout)
	res := cli(t, url, append([]string{"run", "--env", "16", "--wait"}, strings.Fields(up.stdout)...)...)
	require.Equal(t, 0, res.code, "%s", res)
	require.Contains(t, res.stdout, "1 passed", "%s", res)
	// Without --dir the folder keeps its name under uploads/; again it
	// clashes, unless --overwrite.
	up = cli(t, url, "upload", "--json", project)
	require.Equal(t, 0, up.code, "%s", up)
	var stored struct {
		Directory string `json:"directory"`
		FileCount int    `json:"file_count"`
	}
	require.NoError(t, json.Unmarshal([]byte(up.stdout), &stored), "%s", up)
	require.Equal(t, "uploads/shop", stored.Directory)
	require.Equal(t, 5, stored.FileCount, "caches and hidden folders stay behind")
	up = cli(t, url, "upload", project)
	require.Equal(t, 4, up.code, "%s", up)
	require.Contains(t, up.stderr, "409", "%s", up)
	up = cli(t, url, "upload", "--overwrite", project)
	require.Equal(t, 0, up.code, "%s", up)
	up = cli(t, url, "upload", project, failing)
	require.Equal(t, 2, up.code, "a folder goes up alone: %s", up)

	ids := map[string]int64{}
	for _, c := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"success", []string{"--env", "11", "sample-tests/test_quick.py"}, 0, "run %d success"},
		{"failed", []string{"--env", "12", "uploads/cli/test_cli_fails.py"}, 1, "run %d failed (tests failed)"},
		{"error", []string{"--env", "13", "--timeout", "1", "sample-tests/test_sleep30.py"}, 2, "run %d error (timeout)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			res := cli(t, url, append([]string{"run", "--wait"}, c.args...)...)
			require.Equal(t, c.code, res.code, "%s", res)
			runs := listRuns(t, url, c.args[1])
			require.Len(t, runs, 1)
			id := runs[0]
			ids[c.name] = id
			require.Contains(t, res.stderr, fmt.Sprintf(c.want, id), "%s", res)
			require.Equal(t, srv.log(id), res.stdout, "--wait printed something else than the stored log")
			require.NotEmpty(t, res.stdout)
		})
	}

	// Without --wait: the id, at once; with --json, the run.
	res = cli(t, url, "run", "--env", "14", "--json", "sample-tests/test_quick.py")
	require.Equal(t, 0, res.code, "%s", res)
	var queued struct {
		ID          int64  `json:"id"`
		Status      string `json:"status"`
		RequestedBy string `json:"requested_by"`
	}
	require.NoError(t, json.Unmarshal([]byte(res.stdout), &queued), "%s", res)
	require.Equal(t, "ci-bot", queued.RequestedBy)
	srv.waitFinal(queued.ID, 60*time.Second)

	// Refusals are exit 4 with the server's reason.
	res = cli(t, url, "run", "--env", "14", "sample-tests/test_nope.py")
	require.Equal(t, 4, res.code, "%s", res)
	require.Contains(t, res.stderr, "test_files")
	res = cli(t, url, "run", "--pool", "staging", "sample-tests/test_quick.py")
	require.Equal(t, 4, res.code, "%s", res)
	require.Contains(t, res.stderr, "no environment has the label staging", "%s", res)
	srv.label(16, "staging")
	res = cli(t, url, "run", "--pool", "staging", "--wait", "--json", "sample-tests/test_quick.py")
	require.Equal(t, 0, res.code, "%s", res)
	var pooled struct {
		EnvironmentID int    `json:"environment_id"`
		Pool          string `json:"pool"`
	}
	require.NoError(t, json.Unmarshal([]byte(res.stdout), &pooled), "%s", res)
	require.Equal(t, 16, pooled.EnvironmentID, "the pooled run ran in the pool's environment")
	require.Equal(t, "staging", pooled.Pool)
	// rerun --failed runs the failing test again (and fails again); a run
	// without failures has nothing to rerun.
	res = cli(t, url, "rerun", "--failed", "--wait", strconv.FormatInt(ids["failed"], 10))
	require.Equal(t, 1, res.code, "%s", res)
	require.Contains(t, res.stdout, "test_fails FAILED", "%s", res)
	res = cli(t, url, "rerun", "--failed", strconv.FormatInt(ids["success"], 10))
	require.Equal(t, 4, res.code, "%s", res)
	require.Contains(t, res.stderr, "409", "%s", res)
	// A single test by node id, selected by -k too.
	res = cli(t, url, "run", "--env", "15", "--wait", "-k", "quick", "sample-tests/test_quick.py::test_quick")
	require.Equal(t, 0, res.code, "%s", res)
	require.Contains(t, res.stdout, "1 passed", "%s", res)
	// Usage errors are 2, before anything is sent.
	res = cli(t, url, "run", "--env", "14", "--pool", "p", "sample-tests/test_quick.py")
	require.Equal(t, 2, res.code, "%s", res)
	require.Contains(t, res.stderr, "exactly one of --env")
}

// TestCLICancelAndInterrupt: a run cancelled by `baton cancel` makes its
// waiting `baton run --wait` exit 3, and a waiting CLI that is stopped
// (SIGTERM, as a cancelled CI job gets) cancels its run.
func TestCLICancelAndInterrupt(t *testing.T) {
	systemTest(t)
	r := newRig(t, "")
	srv := r.serve("serve")
	url := srv.url()

	waiter := cliCmd(url, "run", "--wait", "--env", "21", "sample-tests/test_sleep30.py")
	var wout, werr bytes.Buffer
	waiter.Stdout, waiter.Stderr = &wout, &werr
	require.NoError(t, waiter.Start())
	id := awaitRunning(t, srv, url, "21")
	res := cli(t, url, "cancel", "--user", "carol", strconv.FormatInt(id, 10))
	require.Equal(t, 0, res.code, "%s", res)
	require.Contains(t, res.stdout, "cancel requested by carol", "%s", res)
	code := exitCode(t, waitCmd(t, waiter, 60*time.Second))
	require.Equal(t, 3, code, "stdout:\n%s\nstderr:\n%s", wout.String(), werr.String())
	require.Contains(t, werr.String(), fmt.Sprintf("run %d cancelled", id))
	require.Contains(t, werr.String(), "by carol", "the waiting CLI says who cancelled")
	require.Equal(t, "carol", *srv.waitFinal(id, 30*time.Second).CancelledBy)
	listed := cli(t, url, "runs", "--env", "21")
	require.Equal(t, 0, listed.code, "%s", listed)
	require.Contains(t, listed.stdout, "cancelled by carol", "baton runs says who cancelled")

	waiter = cliCmd(url, "run", "--wait", "--env", "22", "sample-tests/test_sleep30.py")
	werr.Reset()
	waiter.Stderr = &werr
	require.NoError(t, waiter.Start())
	id = awaitRunning(t, srv, url, "22")
	require.NoError(t, waiter.Process.Signal(syscall.SIGTERM))
	code = exitCode(t, waitCmd(t, waiter, 30*time.Second))
	require.Equal(t, 3, code, "stderr:\n%s", werr.String())
	require.Contains(t, werr.String(), fmt.Sprintf("cancelled run %d", id))
	got := srv.waitFinal(id, 30*time.Second)
	require.EqualValues(t, "cancelled", got.Status, "%s", got)
	require.NotNil(t, got.CancelledBy, "an interrupted CLI cancels as the run's user")
	require.Equal(t, got.RequestedBy, *got.CancelledBy)
}

// TestCLILogsFollow: `baton logs -f` started while a run is running prints
// exactly the stored log and ends when the run does; `baton logs` after the
// end prints the same.
func TestCLILogsFollow(t *testing.T) {
	systemTest(t)
	r := newRig(t, "")
	srv := r.serve("serve")
	url := srv.url()
	started := srv.createRun(31, "sample-tests/test_sleep2.py", 0)
	srv.waitRun(started.Id, 30*time.Second, "running", func(r run) bool { return r.Status != "queued" })
	id := strconv.FormatInt(started.Id, 10)
	follow := cli(t, url, "logs", "-f", id)
	require.Equal(t, 0, follow.code, "%s", follow)
	require.True(t, srv.getRun(started.Id).Final(), "logs -f returned before the run ended")
	stored := srv.log(started.Id)
	require.Equal(t, stored, follow.stdout)
	require.Contains(t, stored, "passed")
	again := cli(t, url, "logs", id)
	require.Equal(t, stored, again.stdout, "%s", again)

	// The other listings answer, as text and as JSON.
	res := cli(t, url, "runs", "--env", "31")
	require.Equal(t, 0, res.code, "%s", res)
	require.Contains(t, res.stdout, id+" ")
	require.Contains(t, res.stdout, " env31 ", "the environment by name (it once printed a pointer)")
	res = cli(t, url, "envs", "--json")
	require.Equal(t, 0, res.code, "%s", res)
	var envs struct {
		Items []struct{ ID int } `json:"items"`
	}
	require.NoError(t, json.Unmarshal([]byte(res.stdout), &envs))
	require.Len(t, envs.Items, 100)
	res = cli(t, url, "logs", "999999")
	require.Equal(t, 4, res.code, "%s", res)
	require.Contains(t, res.stderr, "not_found")
}

// TestCLIUnreachable: every client command says clearly that Baton cannot
// be reached, and exits 4.
func TestCLIUnreachable(t *testing.T) {
	systemTest(t)
	url := fmt.Sprintf("http://127.0.0.1:%d", testkit.FreePort(t)) // nothing listens
	for _, args := range [][]string{
		{"run", "--wait", "--env", "1", "sample-tests/test_quick.py"},
		{"runs"}, {"envs"}, {"logs", "1"}, {"logs", "-f", "1"}, {"cancel", "1"}, {"rerun", "1"},
	} {
		res := cli(t, url, args...)
		require.Equal(t, 4, res.code, "%v: %s", args, res)
		require.Contains(t, res.stderr, "cannot reach Baton at "+url, "%v", args)
		require.Contains(t, res.stderr, "connection refused", "%v", args)
	}
}

// listRuns returns the ids of the runs in environment env, newest first.
func listRuns(t *testing.T, url, env string) []int64 {
	t.Helper()
	res := cli(t, url, "runs", "--json", "--env", env)
	require.Equal(t, 0, res.code, "%s", res)
	var list struct {
		Items []struct {
			ID int64 `json:"id"`
		} `json:"items"`
	}
	require.NoError(t, json.Unmarshal([]byte(res.stdout), &list), "%s", res)
	ids := make([]int64, len(list.Items))
	for i, r := range list.Items {
		ids[i] = r.ID
	}
	return ids
}

// awaitRunning waits for the one run of environment env to be running.
func awaitRunning(t *testing.T, srv *server, url, env string) int64 {
	t.Helper()
	var id int64
	testkit.Eventually(t, 30*time.Second, "a run in env "+env, func() bool {
		ids := listRuns(t, url, env)
		if len(ids) == 0 {
			return false
		}
		id = ids[0]
		return true
	})
	srv.waitRun(id, 30*time.Second, "running", func(r run) bool { return r.Status == "running" })
	return id
}

func waitCmd(t *testing.T, cmd *exec.Cmd, timeout time.Duration) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(timeout):
		_ = cmd.Process.Kill()
		t.Fatalf("%v did not exit within %s", cmd.Args, timeout)
		return nil
	}
}

// TestDownloads: a real pytest run's JUnit report, saved by `baton run
// --wait --junit` and served at junit.xml, parses and has as many test
// cases as /tests lists; log.txt is the stored log.
func TestDownloads(t *testing.T) {
	systemTest(t)
	r := newRig(t, "")
	srv := r.serve("serve")
	url := srv.url()
	mixed := filepath.Join(t.TempDir(), "test_mixed.py")
	require.NoError(t, os.WriteFile(mixed, []byte(`import pytest

def test_ok():
    pass

def test_bad():
    assert "x" == "y"

@pytest.mark.skip(reason="later")
def test_later():
    pass

@pytest.mark.parametrize("n", [1, 2, 3])
def test_param(n):
    assert n < 3
`), 0o644))
	up := cli(t, url, "upload", "--dir", "uploads/dl", mixed)
	require.Equal(t, 0, up.code, "%s", up)

	report := filepath.Join(t.TempDir(), "junit.xml")
	res := cli(t, url, "run", "--env", "41", "--wait", "--junit", report, "uploads/dl/test_mixed.py", "sample-tests/test_quick.py")
	require.Equal(t, 1, res.code, "%s", res)
	require.Contains(t, res.stderr, "JUnit report saved to "+report)
	id := listRuns(t, url, "41")[0]

	saved, err := os.ReadFile(report)
	require.NoError(t, err)
	code, served := srv.do(http.MethodGet, fmt.Sprintf("/api/runs/%d/junit.xml", id), nil)
	require.Equal(t, http.StatusOK, code, "%s", served)
	require.Equal(t, saved, served)
	var doc struct {
		Suites []struct {
			Cases []struct {
				Name    string    `xml:"name,attr"`
				Failure *struct{} `xml:"failure"`
				Skipped *struct{} `xml:"skipped"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	require.NoError(t, xml.Unmarshal(saved, &doc), "%s", saved)
	var cases, failures, skipped int
	for _, s := range doc.Suites {
		for _, c := range s.Cases {
			cases++
			if c.Failure != nil {
				failures++
			}
			if c.Skipped != nil {
				skipped++
			}
		}
	}
	var tests struct {
		Items []struct {
			Outcome string `json:"outcome"`
		} `json:"items"`
	}
	srv.expect(http.StatusOK, http.MethodGet, fmt.Sprintf("/api/runs/%d/tests", id), nil, &tests)
	require.Len(t, tests.Items, 7)
	require.Equal(t, len(tests.Items), cases, "junit.xml and /tests disagree")
	require.Equal(t, 2, failures)
	require.Equal(t, 1, skipped)

	code, logText := srv.do(http.MethodGet, fmt.Sprintf("/api/runs/%d/log.txt", id), nil)
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, srv.log(id), string(logText))
	require.Equal(t, res.stdout, string(logText))
	res = cli(t, url, "junit", strconv.FormatInt(id, 10))
	require.Equal(t, 0, res.code, "%s", res)
	require.Equal(t, string(saved), res.stdout)

	// A run pytest wrote no report for keeps its exit code; nothing is saved.
	res = cli(t, url, "run", "--env", "42", "--wait", "--timeout", "1", "--junit", report+".none", "sample-tests/test_sleep30.py")
	require.Equal(t, 2, res.code, "%s", res)
	require.Contains(t, res.stderr, "no JUnit report saved")
	require.NoFileExists(t, report+".none")
}
