// Package testkit holds the helpers Baton's tests share: a writer safe for
// concurrent use, the Python for syntax checks, a free port, tree
// snapshots, waiting on the test goroutine, a clock a test moves by hand,
// and the API's Run as JSON. Of Baton's it imports only the generated
// client (for the Run's fields), so any test package but the client's own
// internal tests may use it.
package testkit

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/baton-ci/baton/api/client"
)

// SyncBuffer is an io.Writer that may be written to concurrently (a logger,
// a run's output) while the test reads it.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write implements io.Writer.
func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Python returns a Python 3 interpreter for upload syntax checks: Debian's
// /usr/bin/python3, else python3 on PATH; it skips the test without one.
func Python(t testing.TB) string {
	t.Helper()
	if _, err := os.Stat("/usr/bin/python3"); err == nil {
		return "/usr/bin/python3"
	}
	p, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("no python3 available for syntax checks")
	}
	return p
}

// FreePort returns a loopback port nobody listened on a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close())
	return port
}

// Tree records every entry below dir, hidden ones included, with its type,
// permissions and content or link target, without following symlinks: two
// snapshots are equal exactly when nothing in the tree changed.
func Tree(t testing.TB, dir string) map[string]string {
	t.Helper()
	snap := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			snap[rel] = "symlink -> " + target
		case d.IsDir():
			snap[rel] = "dir " + fi.Mode().String()
		case d.Type().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			snap[rel] = "file " + fi.Mode().String() + " " + string(b)
		default:
			snap[rel] = "other " + fi.Mode().String()
		}
		return nil
	})
	require.NoError(t, err)
	return snap
}

// Eventually polls cond every 20ms until it holds, and fails t with what
// was awaited when timeout passes first. Unlike require.Eventually, cond
// runs on the test goroutine, so it may call require itself.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Clock is a clock that moves only when the test says so, for code that
// takes a func() time.Time: a test of a TTL then checks the same thing on
// a slow machine as on a fast one.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a Clock that reads start.
func NewClock(start time.Time) *Clock { return &Clock{now: start} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// Run is the API's Run as the generated client (api/client) decodes it,
// so a test that decodes a response into it also checks the field names
// and types against openapi.yaml. It wraps client.Run only to add the
// helpers below, which the system tests and benchmarks share.
type Run struct {
	client.Run
}

// ReasonText is the run's reason, "" when it has none.
func (r Run) ReasonText() string {
	if r.Reason == nil {
		return ""
	}
	return string(*r.Reason)
}

// Final reports whether the run has ended.
func (r Run) Final() bool { return r.Status != "queued" && r.Status != "running" }

// String describes the run for failure messages.
func (r Run) String() string {
	return fmt.Sprintf("run %d (env %d): %s/%s", r.Id, r.Env(), r.Status, r.ReasonText())
}

// Env is the run's environment, 0 for null: a pooled run before it starts.
func (r Run) Env() int {
	if r.EnvironmentId == nil {
		return 0
	}
	return *r.EnvironmentId
}

// ModuleRoot returns the directory of the go.mod at or above the working
// directory: where a test that runs `go build` or reads the repository
// starts from, whichever package it is in.
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found above the working directory")
		}
		dir = parent
	}
}

// BuildBaton builds ./api/cmd/baton of the module at root into a new
// directory named after prefix, for a TestMain whose tests run the real
// binary; cleanup removes the directory. It takes no testing.TB because
// TestMain has none.
func BuildBaton(root, prefix string) (bin string, cleanup func(), err error) {
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		return "", nil, err
	}
	bin = filepath.Join(dir, "baton")
	build := exec.Command("go", "build", "-o", bin, "./api/cmd/baton")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		_ = os.RemoveAll(dir)
		return "", nil, fmt.Errorf("go build ./api/cmd/baton: %w\n%s", err, out)
	}
	return bin, func() { _ = os.RemoveAll(dir) }, nil
}
