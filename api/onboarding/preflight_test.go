package onboarding

import (
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/baton-ci/baton/api/internal/pgtest"
)

// batonError runs the binary with args and env, expects it to fail, and
// returns its error message (the text of its ERROR log line).
func batonError(t *testing.T, env []string, args ...string) string {
	t.Helper()
	cmd := exec.Command(batonBin, args...)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	require.Error(t, err, "baton %v should fail:\n%s", args, out)
	m := regexp.MustCompile(`level=ERROR msg="((?:[^"\\]|\\.)*)"`).FindSubmatch(out)
	require.NotNil(t, m, "baton %v printed no error line:\n%s", args, out)
	msg, err := strconv.Unquote(`"` + string(m[1]) + `"`)
	require.NoError(t, err)
	return msg
}

// script runs a deploy/dev script with env, expects it to fail within 5 s,
// and returns what it printed.
func scriptError(t *testing.T, name string, env []string) string {
	t.Helper()
	cmd := exec.Command(filepath.Join(moduleRoot, "deploy", "dev", name))
	cmd.Dir = t.TempDir()
	cmd.Env = env
	start := time.Now()
	out, err := cmd.CombinedOutput()
	require.Error(t, err, "%s should fail:\n%s", name, out)
	require.Less(t, time.Since(start), 5*time.Second, "%s took too long to fail", name)
	return strings.TrimSpace(string(out))
}

// TestBadDatabaseURLStopsMakeRunWithTheServersMessage: the check make run
// does before building (deploy/dev/database-url.sh) fails fast on a wrong
// DATABASE_URL and says what `baton` says: the same words around
// PostgreSQL's own reason.
func TestBadDatabaseURLStopsMakeRunWithTheServersMessage(t *testing.T) {
	t.Parallel()
	missing, err := url.Parse(pgtest.URLFor(fmt.Sprintf("baton_no_such_db_%d", time.Now().UnixNano())))
	require.NoError(t, err)
	closed, err := url.Parse(pgtest.AdminURL())
	require.NoError(t, err)
	closed.Host = fmt.Sprintf("127.0.0.1:%d", freePort(t))
	for name, tc := range map[string]struct {
		url    string
		reason string
	}{
		"missing database": {missing.String(), fmt.Sprintf("database %q does not exist", strings.TrimPrefix(missing.Path, "/"))},
		"closed port":      {closed.String(), "connection refused"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			env := cleanEnv("DATABASE_URL=" + tc.url)
			got := scriptError(t, "database-url.sh", env)
			server := batonError(t, env, "migrate")
			t.Logf("make run: %s\nbaton:    %s", got, server)
			for _, msg := range []string{got, server} {
				require.Contains(t, msg, "connect to PostgreSQL: ")
				require.Contains(t, strings.ToLower(msg), tc.reason)
				require.True(t, strings.HasSuffix(msg, "(check DATABASE_URL)"), "%q does not end by naming DATABASE_URL", msg)
			}
		})
	}
}

// TestDatabaseURLPassesAGoodOne: a reachable DATABASE_URL is printed as
// given, including one psql cannot read (pgx's pool settings), which is
// left for the server to check.
func TestDatabaseURLPassesAGoodOne(t *testing.T) {
	t.Parallel()
	good := pgtest.AdminURL()
	withPool := good + "&pool_max_conns=4"
	if !strings.Contains(good, "?") {
		withPool = good + "?pool_max_conns=4"
	}
	for _, u := range []string{good, withPool} {
		cmd := exec.Command(filepath.Join(moduleRoot, "deploy", "dev", "database-url.sh"))
		cmd.Env = cleanEnv("DATABASE_URL=" + u)
		out, err := cmd.Output()
		require.NoError(t, err)
		require.Equal(t, u, strings.TrimSpace(string(out)))
	}
}

// TestBadPythonStopsMakeRunWithTheServersMessage: a BATON_PYTHON that cannot
// import pytest stops make run's check (deploy/dev/python-deps.sh) in
// seconds, and the check names the variable and gives Python's own reason,
// as `baton worker` does at start-up.
func TestBadPythonStopsMakeRunWithTheServersMessage(t *testing.T) {
	t.Parallel()
	// Not in t.TempDir(), whose parent only we may enter: the worker runs
	// Python as its run user (BATON_RUN_USER) to check it.
	dir, err := os.MkdirTemp("", "baton-fake-python-")
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	require.NoError(t, os.Chmod(dir, 0o755))
	fake := filepath.Join(dir, "python3")
	require.NoError(t, os.WriteFile(fake, []byte("#!/bin/sh\necho \"ModuleNotFoundError: No module named 'pytest'\" >&2\nexit 1\n"), 0o755))
	const reason = "ModuleNotFoundError: No module named 'pytest'"
	env := cleanEnv("BATON_PYTHON="+fake, "DATABASE_URL="+pgtest.NewURL(t), "BATON_DATA_DIR="+t.TempDir())
	got := scriptError(t, "python-deps.sh", env)
	server := batonError(t, env, "worker")
	t.Logf("make run: %s\nbaton:    %s", got, server)
	require.Equal(t, fmt.Sprintf("BATON_PYTHON=%s (%s): cannot import pytest: %s", fake, fake, reason), got)
	for _, want := range []string{fake, reason, "BATON_PYTHON"} {
		require.Contains(t, server, want)
	}

	missing := filepath.Join(t.TempDir(), "no-such-python")
	require.Equal(t, "BATON_PYTHON="+missing+": not found", scriptError(t, "python-deps.sh", cleanEnv("BATON_PYTHON="+missing)))
}

// TestPythonCandidatesAgree: without BATON_PYTHON, make run's check tries
// the interpreters `baton` tries, in the same order.
func TestPythonCandidatesAgree(t *testing.T) {
	t.Parallel()
	src, err := os.ReadFile(filepath.Join(moduleRoot, "api", "runner", "runner.go"))
	require.NoError(t, err)
	m := regexp.MustCompile(`pythonCandidates = \[\]string\{([^}]*)\}`).FindSubmatch(src)
	require.NotNil(t, m, "api/runner/runner.go no longer has pythonCandidates")
	var binary []string
	for _, q := range regexp.MustCompile(`"([^"]+)"`).FindAllSubmatch(m[1], -1) {
		binary = append(binary, string(q[1]))
	}
	script, err := os.ReadFile(filepath.Join(moduleRoot, "deploy", "dev", "python-deps.sh"))
	require.NoError(t, err)
	s := regexp.MustCompile(`(?m)^\s*for py in ([^;]+); do`).FindSubmatch(script)
	require.NotNil(t, s, "deploy/dev/python-deps.sh no longer loops over its candidates")
	require.Equal(t, binary, strings.Fields(string(s[1])))
}
