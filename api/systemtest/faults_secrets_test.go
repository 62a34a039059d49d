package systemtest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// secretsTest looks, from inside a run, for the worker's secrets where a
// test could find them: the environment of every Baton process on the host
// (/proc/<pid>/environ of the worker, its supervisor, any other server),
// and prints the API token it was given. It writes what it found to
// $SYSTEMTEST_PID_DIR/secrets-<run id>, one "<pid> <denied|read|LEAK> <cmd>"
// line per process.
const secretsTest = `import os


def test_secrets():
    lines = []
    for pid in sorted(p for p in os.listdir("/proc") if p.isdigit()):
        if int(pid) == os.getpid():
            continue
        cmd = "?"
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                cmd = " ".join(f.read().replace(b"\0", b" ").decode(errors="replace").split())[:200]
            with open("/proc/%s/environ" % pid, "rb") as f:
                env = f.read()
        except PermissionError:
            lines.append("%s denied %s" % (pid, cmd))
            continue
        except OSError:
            continue  # gone, or a kernel thread
        what = "LEAK" if b"DATABASE_URL=" in env else "read"
        lines.append("%s %s %s" % (pid, what, cmd))
    with open(os.path.join(os.environ["SYSTEMTEST_PID_DIR"], "secrets-" + os.environ["TEST_RUN_ID"]), "w") as f:
        f.write("\n".join(lines) + "\n")
    # Split across two writes, as a test's output may be.
    print("token=" + os.environ["BATON_API_TOKEN"][:5], end="", flush=True)
    print(os.environ["BATON_API_TOKEN"][5:] + " end", flush=True)
`

// A run cannot read the worker's secrets: as root the tests run as the
// run user, so no Baton process's environment (DATABASE_URL) is readable
// from a test — not the worker's, not its supervisor's, not the API
// server's — and the API token the tests are handed is [MASKED] in the
// stored log, even when printed in pieces. Judged from what the test
// itself could read.
func TestFaultRunCannotReadSecrets(t *testing.T) {
	systemTest(t)
	if os.Geteuid() != 0 {
		t.Skip("needs root: without it, tests run as the worker's own user and can read what that user can (see README)")
	}
	r := newRig(t, "")
	require.NoError(t, os.WriteFile(filepath.Join(r.testsDir, "test_fault_secrets.py"), []byte(secretsTest), 0o644))
	token := fmt.Sprintf("tok-%d-secret", time.Now().UnixNano())
	api := r.serve("api", "BATON_EMBEDDED_WORKER=false", "BATON_API_TOKEN="+token)
	worker := r.worker("worker", api.url(), "BATON_API_TOKEN="+token)
	c := api.withToken(token)

	got := c.waitFinal(c.createRun(1, "sample-tests/test_fault_secrets.py", 0).Id, 60*time.Second)
	log := c.log(got.Id)
	require.EqualValues(t, "success", got.Status, "%s\n%s", got, log)
	require.Contains(t, log, "token=[MASKED] end")
	require.NotContains(t, log, token)
	require.NotContains(t, log, token[5:], "the token's second half is masked too")

	b, err := os.ReadFile(filepath.Join(r.pidDir, fmt.Sprintf("secrets-%d", got.Id)))
	require.NoError(t, err)
	// This test's Baton processes (any process of the host is listed, but
	// other tests' are theirs to judge).
	status := map[int]string{}
	var leaks []string
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var pid int
		var what string
		_, err := fmt.Sscanf(line, "%d %s", &pid, &what)
		require.NoError(t, err, "line %q", line)
		if !strings.Contains(line, " "+batonBin+" ") {
			continue
		}
		status[pid] = what
		if what != "denied" {
			leaks = append(leaks, line)
		}
	}
	require.Empty(t, leaks, "a test could read these Baton processes' environment (LEAK: with DATABASE_URL)")
	require.Equal(t, "denied", status[worker.pid()], "the worker's (pid %d) environment should be unreadable to tests; seen: %v", worker.pid(), status)
	require.Equal(t, "denied", status[api.pid()], "the API server's environment should be unreadable to tests")
}
