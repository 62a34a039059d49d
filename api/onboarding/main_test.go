package onboarding

import (
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/baton-ci/baton/internal/testkit"
)

var (
	// moduleRoot is the repository root (the directory of go.mod).
	moduleRoot string
	// batonBin is the binary under test, built once by TestMain.
	batonBin string
)

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(buildAndRun(m))
}

func buildAndRun(m *testing.M) int {
	var err error
	if moduleRoot, err = testkit.ModuleRoot(); err != nil {
		fmt.Fprintln(os.Stderr, "onboarding:", err)
		return 1
	}
	bin, cleanup, err := testkit.BuildBaton(moduleRoot, "baton-onboarding-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "onboarding:", err)
		return 1
	}
	defer cleanup()
	batonBin = bin
	return m.Run()
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close())
	return port
}

// cleanEnv is the test's environment without Baton's own settings, so a
// developer's exported DATABASE_URL or BATON_* cannot change what a test
// sees; extra entries are appended.
func cleanEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if name == "DATABASE_URL" || strings.HasPrefix(name, "BATON_") || name == "MAKEFLAGS" || name == "MAKELEVEL" {
			continue
		}
		env = append(env, kv)
	}
	return append(env, extra...)
}

// server is a child `baton serve` process.
type server struct {
	port int
	cmd  *exec.Cmd
	log  string
	done chan struct{}
}

// output is what the server has logged so far.
func (s *server) output() string {
	b, _ := os.ReadFile(s.log)
	return string(b)
}

// startServer starts `baton serve` on a free port with env and waits until
// /api/health answers 200; t's cleanup stops it.
func startServer(t *testing.T, env []string) *server {
	t.Helper()
	port := freePort(t)
	logPath := filepath.Join(t.TempDir(), "server.log")
	f, err := os.Create(logPath)
	require.NoError(t, err)
	cmd := exec.Command(batonBin, "serve")
	cmd.Env = append(append([]string(nil), env...), fmt.Sprintf("BATON_ADDR=127.0.0.1:%d", port))
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	require.NoError(t, cmd.Start())
	f.Close()
	s := &server{port: port, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(s.done) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-s.done:
		case <-time.After(15 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-s.done
		}
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("----- server log -----\n%s", b)
		}
	})
	url := fmt.Sprintf("http://127.0.0.1:%d/api/health", port)
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case <-s.done:
			b, _ := os.ReadFile(logPath)
			t.Fatalf("baton serve exited during start-up:\n%s", b)
		default:
		}
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("baton serve not healthy after 60s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
