package onboarding

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/baton-ci/baton/api/internal/pgtest"
)

// restartBudget is what the issue promises for `make run` with nothing
// changed: a healthy server in under 10 s. A wrong setting must stop it as
// fast.
const restartBudget = 10 * time.Second

// readmeRunCommand is the README's command to run Baton: the `make run`
// line of its shell examples, without its comment.
func readmeRunCommand(t *testing.T) string {
	t.Helper()
	md, err := os.ReadFile(filepath.Join(moduleRoot, "README.md"))
	require.NoError(t, err)
	blocks, _ := parseMarkdown(string(md))
	var found []string
	for _, b := range blocks {
		if !shellLangs[b.Lang] {
			continue
		}
		for _, line := range b.Content {
			cmd, _, _ := strings.Cut(line, "#")
			cmd = strings.TrimSpace(cmd)
			if cmd == "make run" || strings.HasPrefix(cmd, "make run ") {
				found = append(found, cmd)
			}
		}
	}
	require.Len(t, found, 1, "README.md should give one `make run` command")
	return found[0]
}

// makeRun is the README's run command running in a clone.
type makeRun struct {
	cmd   *exec.Cmd
	start time.Time
	mu    sync.Mutex
	out   bytes.Buffer
	done  chan struct{}
	err   error
}

func (m *makeRun) Write(p []byte) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.out.Write(p)
}

func (m *makeRun) output() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.out.String()
}

func startMakeRun(t *testing.T, dir, command string, env []string) *makeRun {
	t.Helper()
	m := &makeRun{done: make(chan struct{})}
	m.cmd = exec.Command("bash", "-c", command)
	m.cmd.Dir = dir
	m.cmd.Env = env
	m.cmd.Stdout, m.cmd.Stderr = m, m
	m.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	m.start = time.Now()
	require.NoError(t, m.cmd.Start())
	go func() { m.err = m.cmd.Wait(); close(m.done) }()
	t.Cleanup(m.stop)
	return m
}

// stop ends make and the server it started, as Ctrl-C does.
func (m *makeRun) stop() {
	select {
	case <-m.done:
		return
	default:
	}
	_ = syscall.Kill(-m.cmd.Process.Pid, syscall.SIGINT)
	select {
	case <-m.done:
	case <-time.After(45 * time.Second):
		_ = syscall.Kill(-m.cmd.Process.Pid, syscall.SIGKILL)
		<-m.done
	}
}

// untilHealthy waits for /api/health to answer 200 and returns the time
// since make run started; it fails t if make exits first.
func (m *makeRun) untilHealthy(t *testing.T, port int, limit time.Duration) time.Duration {
	t.Helper()
	url := fmt.Sprintf("http://127.0.0.1:%d/api/health", port)
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		select {
		case <-m.done:
			t.Fatalf("make run exited (%v) before the server was healthy:\n%s", m.err, m.output())
		default:
		}
		if resp, err := client.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return time.Since(m.start)
			}
		}
		if time.Since(m.start) > limit {
			t.Fatalf("no healthy server %s after make run started:\n%s", limit, m.output())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// failsFast runs the command, which must fail within restartBudget, and
// returns its output and how long it took.
func failsFast(t *testing.T, dir, command string, env []string) (string, time.Duration) {
	t.Helper()
	m := startMakeRun(t, dir, command, env)
	select {
	case <-m.done:
	case <-time.After(3 * restartBudget):
		m.stop()
		t.Fatalf("%s with a bad setting still running after %s:\n%s", command, 3*restartBudget, m.output())
	}
	took := time.Since(m.start)
	require.Error(t, m.err, "%s should fail:\n%s", command, m.output())
	require.Less(t, took, restartBudget, "%s took %s to stop:\n%s", command, took, m.output())
	return m.output(), took
}

// TestFreshClone is the newcomer's first ten minutes, timed: in a fresh
// clone, a wrong DATABASE_URL or BATON_PYTHON stops the README's run command
// in seconds, before anything is built, with the server's own message; the
// first run builds everything and serves the UI; the second, with nothing
// changed, reaches a healthy server in under 10 s.
//
// It runs alone (make test-fresh-clone, part of make test), since it times
// make run and shares the machine's cores with nothing else then.
func TestFreshClone(t *testing.T) {
	if os.Getenv("BATON_TEST_FRESH_CLONE") != "1" {
		t.Skip("times make run in a fresh clone; runs alone in `make test-fresh-clone` (part of make test), or set BATON_TEST_FRESH_CLONE=1")
	}
	command := readmeRunCommand(t)
	clone := filepath.Join(t.TempDir(), "baton")
	out, err := exec.Command("git", "clone", "-q", moduleRoot, clone).CombinedOutput()
	require.NoError(t, err, "git clone: %s", out)
	if status, _ := exec.Command("git", "-C", moduleRoot, "status", "--porcelain", "--untracked-files=no").Output(); len(status) > 0 {
		t.Logf("note: the clone has the last commit; uncommitted changes in %s are not in it", moduleRoot)
	}
	port := freePort(t)
	env := func(extra ...string) []string {
		return cleanEnv(append([]string{fmt.Sprintf("BATON_ADDR=127.0.0.1:%d", port)}, extra...)...)
	}
	built := func() []string {
		var found []string
		for _, p := range []string{"frontend/node_modules", "frontend/dist", "bin"} {
			if _, err := os.Stat(filepath.Join(clone, p)); err == nil {
				found = append(found, p)
			}
		}
		return found
	}

	// A wrong DATABASE_URL, before anything was ever built.
	missingDB := fmt.Sprintf("baton_no_such_db_%d", time.Now().UnixNano())
	badURL := pgtest.URLFor(missingDB)
	badOut, badTook := failsFast(t, clone, command, env("DATABASE_URL="+badURL))
	require.Contains(t, badOut, fmt.Sprintf("database %q does not exist", missingDB))
	require.Contains(t, badOut, "(check DATABASE_URL)")
	require.Empty(t, built(), "make run built things before it checked the database:\n%s", badOut)
	t.Logf("bad DATABASE_URL: make run stopped after %.2fs:\n%s", badTook.Seconds(), badOut)

	// A BATON_PYTHON without pytest.
	fake := filepath.Join(t.TempDir(), "python3")
	require.NoError(t, os.WriteFile(fake, []byte("#!/bin/sh\necho \"ModuleNotFoundError: No module named 'pytest'\" >&2\nexit 1\n"), 0o755))
	pyOut, pyTook := failsFast(t, clone, command, env("BATON_PYTHON="+fake))
	require.Contains(t, pyOut, "BATON_PYTHON="+fake)
	require.Contains(t, pyOut, "cannot import pytest: ModuleNotFoundError: No module named 'pytest'")
	require.Empty(t, built(), "make run built things before it checked Python:\n%s", pyOut)
	t.Logf("BATON_PYTHON without pytest: make run stopped after %.2fs", pyTook.Seconds())

	dbURL := pgtest.NewURL(t)
	first := startMakeRun(t, clone, command, env("DATABASE_URL="+dbURL))
	firstTook := first.untilHealthy(t, port, 10*time.Minute)
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/", port))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "the first make run serves the built UI at /")
	first.stop()
	t.Logf("first make run: healthy after %.1fs", firstTook.Seconds())

	second := startMakeRun(t, clone, command, env("DATABASE_URL="+dbURL))
	secondTook := second.untilHealthy(t, port, 5*time.Minute)
	secondOut := second.output()
	second.stop()
	t.Logf("second make run: healthy after %.1fs; it printed:\n%s", secondTook.Seconds(), secondOut)
	require.Less(t, secondTook, restartBudget, "make run with nothing changed")
	require.NotContains(t, secondOut, "npm ci", "nothing changed, yet npm ci ran")
	require.NotContains(t, secondOut, "building the web UI", "nothing changed, yet the UI was rebuilt")

	// The message make run gave is the one the binary gives.
	cmd := exec.Command(filepath.Join(clone, "bin", "baton"), "migrate")
	cmd.Env = env("DATABASE_URL=" + badURL)
	binOut, err := cmd.CombinedOutput()
	require.Error(t, err)
	for _, part := range []string{"connect to PostgreSQL: ", fmt.Sprintf(`database \"%s\" does not exist`, missingDB), "(check DATABASE_URL)"} {
		require.Contains(t, badOut, strings.ReplaceAll(part, `\"`, `"`))
		require.Contains(t, string(binOut), part, "the binary's message:\n%s", binOut)
	}
}
