package systemtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/baton-ci/baton/api/internal/pgtest"
	"github.com/baton-ci/baton/internal/testkit"
)

// python runs the tests; it must be able to import pytest.
const python = "/usr/bin/python3"

var (
	// moduleRoot is the repository root (the directory of go.mod).
	moduleRoot string
	// batonBin is the binary under test, built once by TestMain.
	batonBin string
)

func TestMain(m *testing.M) {
	flag.Parse()
	// The tests spend nearly all their time waiting for child processes,
	// so more of them may run at once than there are CPUs (the default),
	// but not so many that their connections crowd the shared test
	// server; an explicit -parallel wins.
	explicit := false
	flag.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "test.parallel" })
	if !explicit {
		_ = flag.Set("test.parallel", "4")
	}
	os.Exit(buildAndRun(m))
}

func buildAndRun(m *testing.M) int {
	if testing.Short() {
		return m.Run() // every test skips itself
	}
	var err error
	if moduleRoot, err = testkit.ModuleRoot(); err != nil {
		fmt.Fprintln(os.Stderr, "systemtest:", err)
		return 1
	}
	bin, cleanup, err := testkit.BuildBaton(moduleRoot, "baton-systemtest-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "systemtest:", err)
		return 1
	}
	defer cleanup()
	batonBin = bin
	return m.Run()
}

// systemTest marks t as a parallel system test, or skips it in -short mode.
func systemTest(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("system test: starts real processes (skipped with -short)")
	}
	t.Parallel()
}

// ---------------------------------------------------------------------------
// Child processes

// proc is a `baton` child process whose output goes to a file.
type proc struct {
	t       *testing.T
	name    string
	cmd     *exec.Cmd
	logPath string
	// workerID is BATON_WORKER_ID.
	workerID string

	done     chan struct{}
	exitErr  error
	exitedAt time.Time
}

// startProc starts batonBin with args and env. Its stdout and stderr go to a
// file, printed if t fails (or SYSTEMTEST_SHOW_OUTPUT is set); t's cleanup kills it (and its process group).
func startProc(t *testing.T, name string, env []string, args ...string) *proc {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), name+".log")
	f, err := os.Create(logPath)
	require.NoError(t, err)
	cmd := exec.Command(batonBin, args...)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = f, f
	// Its own group, so cleanup reaches all of it; and it dies if the test
	// binary is killed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	err = cmd.Start()
	f.Close()
	require.NoError(t, err, "start %s", name)
	p := &proc{t: t, name: name, cmd: cmd, logPath: logPath, done: make(chan struct{})}
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "BATON_WORKER_ID="); ok {
			p.workerID = v
		}
	}
	go func() {
		p.exitErr = cmd.Wait()
		p.exitedAt = time.Now()
		close(p.done)
	}()
	t.Cleanup(func() {
		if !p.exited() {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-p.done
		}
		if t.Failed() || os.Getenv("SYSTEMTEST_SHOW_OUTPUT") != "" {
			t.Logf("----- output of %s (pid %d, %s) -----\n%s\n----- end of %s -----",
				name, cmd.Process.Pid, p.exitState(), tail(p.output(), 48<<10), name)
		}
	})
	return p
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func (p *proc) exitState() string {
	if !p.exited() {
		return "running"
	}
	if p.exitErr == nil {
		return "exited 0"
	}
	return p.exitErr.Error()
}

func (p *proc) output() string {
	b, _ := os.ReadFile(p.logPath)
	return string(b)
}

// signal sends sig to the process alone, not its group.
func (p *proc) signal(sig syscall.Signal) {
	p.t.Helper()
	require.NoError(p.t, syscall.Kill(p.pid(), sig), "signal %s", p.name)
}

// waitExit waits for the process to end and returns its exit error.
func (p *proc) waitExit(timeout time.Duration) error {
	p.t.Helper()
	select {
	case <-p.done:
		return p.exitErr
	case <-time.After(timeout):
		p.t.Fatalf("%s did not exit within %s", p.name, timeout)
		return nil
	}
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "[...]\n" + s[len(s)-n:]
}

// ---------------------------------------------------------------------------
// A rig: one database, one set of test files, any number of processes

type rig struct {
	t     *testing.T
	dbURL string
	// testsDir is BATON_SAMPLE_TESTS_DIR: a copy of testdata/sample-tests,
	// so catalog paths read "sample-tests/test_x.py".
	testsDir string
	// pidDir is where the tests record their pids (SYSTEMTEST_PID_DIR).
	pidDir string
	webDir string
}

// newRig prepares test files for processes on the database at dbURL; ""
// means a fresh database on the test server.
func newRig(t *testing.T, dbURL string) *rig {
	t.Helper()
	if dbURL == "" {
		dbURL = pgtest.NewURL(t)
	}
	base := t.TempDir()
	r := &rig{t: t, dbURL: dbURL, testsDir: filepath.Join(base, "sample-tests"),
		pidDir: sharedDir(t, "pids"), webDir: filepath.Join(base, "web")}
	for _, d := range []string{r.testsDir, r.webDir} {
		require.NoError(t, os.Mkdir(d, 0o755))
	}
	files, err := filepath.Glob(filepath.Join("testdata", "sample-tests", "*")) // test files and pytest.ini
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(r.testsDir, filepath.Base(f)), b, 0o644))
	}
	return r
}

// sharedDir returns a fresh directory that the tests' processes may write
// to: a root worker runs them as an unprivileged user, who cannot enter
// t.TempDir() (only its owner may). It is removed with the test.
func sharedDir(t *testing.T, name string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "baton-systemtest-"+name+"-")
	require.NoError(t, err)
	require.NoError(t, os.Chmod(dir, 0o777))
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

// on returns the rig for use in subtest t.
func (r *rig) on(t *testing.T) *rig {
	c := *r
	c.t = t
	return &c
}

var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

// env is the environment of a child process: the test's own, minus any
// Baton settings, plus the rig's; extra ("K=V") entries win.
func (r *rig) env(name string, extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if k == "DATABASE_URL" || k == "SYSTEMTEST_PID_DIR" || strings.HasPrefix(k, "BATON_") {
			continue
		}
		env = append(env, kv)
	}
	env = append(env,
		"DATABASE_URL="+r.dbURL,
		"BATON_DATA_DIR="+r.t.TempDir(),
		"BATON_SAMPLE_TESTS_DIR="+r.testsDir,
		"BATON_WEB_DIR="+r.webDir,
		"BATON_PYTHON="+python,
		"BATON_WORKER_ID="+unsafeChars.ReplaceAllString(r.t.Name(), "_")+"-"+name,
		"SYSTEMTEST_PID_DIR="+r.pidDir,
		// Many processes share the test server (and its max_connections)
		// with other packages' tests; none here needs Baton's default 20.
		"BATON_DB_MAX_CONNS=8",
	)
	return append(env, extra...)
}

// server is a running `baton serve`.
type server struct {
	*proc
	*client
}

// serve starts `baton serve` and waits until its API answers.
func (r *rig) serve(name string, extra ...string) *server {
	r.t.Helper()
	addr := fmt.Sprintf("127.0.0.1:%d", testkit.FreePort(r.t))
	p := startProc(r.t, name, r.env(name, append([]string{"BATON_ADDR=" + addr}, extra...)...), "serve")
	s := &server{proc: p, client: newClient(r.t, "http://"+addr)}
	testkit.Eventually(r.t, 60*time.Second, name+" to answer GET /api/health", func() bool {
		if p.exited() {
			r.t.Fatalf("%s exited while starting: %s", name, p.exitState())
		}
		code, _, err := s.try(http.MethodGet, "/api/health", nil)
		return err == nil && code == http.StatusOK
	})
	return s
}

// worker starts `baton worker` and waits until it takes jobs.
func (r *rig) worker(name, apiURL string, extra ...string) *proc {
	r.t.Helper()
	env := r.env(name, append([]string{"BATON_ADDR=127.0.0.1:1", "BATON_API_URL=" + apiURL}, extra...)...)
	p := startProc(r.t, name, env, "worker")
	testkit.Eventually(r.t, 60*time.Second, name+" to start", func() bool {
		if p.exited() {
			r.t.Fatalf("%s exited while starting: %s", name, p.exitState())
		}
		return strings.Contains(p.output(), "worker started")
	})
	return p
}

// ---------------------------------------------------------------------------
// The REST API

type client struct {
	t    *testing.T
	base string
	http *http.Client
	// token, when set, is sent as the API's bearer token.
	token string
}

// on returns the client for use in subtest t.
func (c *client) on(t *testing.T) *client {
	cp := *c
	cp.t = t
	return &cp
}

// withToken returns a client that sends token with every request.
func (c *client) withToken(token string) *client {
	cp := *c
	cp.token = token
	return &cp
}

func newClient(t *testing.T, base string) *client {
	return &client{t: t, base: base, http: &http.Client{Timeout: 20 * time.Second}}
}

// url is the API's base URL, for BATON_API_URL.
func (c *client) url() string { return c.base }

// try sends a request and returns the status and body.
func (c *client) try(method, path string, body any) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	res, err := c.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res.StatusCode, b, err
}

// do sends a request that must get a response (of any status).
func (c *client) do(method, path string, body any) (int, []byte) {
	c.t.Helper()
	code, b, err := c.try(method, path, body)
	require.NoError(c.t, err, "%s %s", method, path)
	return code, b
}

// expect sends a request, requires status want and decodes the body into out.
func (c *client) expect(want int, method, path string, body, out any) {
	c.t.Helper()
	code, b := c.do(method, path, body)
	require.Equal(c.t, want, code, "%s %s: %s", method, path, b)
	if out != nil {
		require.NoError(c.t, json.Unmarshal(b, out), "%s %s: %s", method, path, b)
	}
}

// run is the API's Run, as every API test decodes it.
type run = testkit.Run

// createRun queues a run of one catalog file; timeoutSeconds 0 means the
// server's default.
func (c *client) createRun(env int, file string, timeoutSeconds int) run {
	c.t.Helper()
	body := map[string]any{"requested_by": "systemtest", "environment_id": env, "test_files": []string{file}}
	if timeoutSeconds > 0 {
		body["timeout_seconds"] = timeoutSeconds
	}
	var r run
	c.expect(http.StatusCreated, http.MethodPost, "/api/runs", body, &r)
	return r
}

func (c *client) getRun(id int64) run {
	c.t.Helper()
	var r run
	c.expect(http.StatusOK, http.MethodGet, fmt.Sprintf("/api/runs/%d", id), nil, &r)
	return r
}

// waitRun polls a run until cond holds for it.
func (c *client) waitRun(id int64, timeout time.Duration, what string, cond func(run) bool) run {
	c.t.Helper()
	var r run
	testkit.Eventually(c.t, timeout, fmt.Sprintf("run %d to be %s", id, what), func() bool {
		r = c.getRun(id)
		return cond(r)
	})
	return r
}

func (c *client) waitFinal(id int64, timeout time.Duration) run {
	c.t.Helper()
	return c.waitRun(id, timeout, "final", run.Final)
}

// log returns a run's whole log through GET /api/runs/{id}/log.
func (c *client) log(id int64) string {
	c.t.Helper()
	var b strings.Builder
	var offset int64
	for {
		var page struct {
			NextOffset int64  `json:"next_offset"`
			Text       string `json:"text"`
			Complete   bool   `json:"complete"`
		}
		c.expect(http.StatusOK, http.MethodGet, fmt.Sprintf("/api/runs/%d/log?offset=%d", id, offset), nil, &page)
		b.WriteString(page.Text)
		if page.Complete || page.NextOffset == offset {
			return b.String()
		}
		offset = page.NextOffset
	}
}

// apiError is the error code of an error response.
func apiError(t *testing.T, body []byte) string {
	t.Helper()
	var e struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	require.NoError(t, json.Unmarshal(body, &e), "error body %s", body)
	return e.Error.Code
}

// ---------------------------------------------------------------------------
// The database, directly

// dbQuery runs one query on a fresh connection and scans its single row.
func dbQuery(t *testing.T, url, query string, args []any, dest ...any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	require.NoError(t, err)
	defer conn.Close(context.Background())
	require.NoError(t, conn.QueryRow(ctx, query, args...).Scan(dest...), "%s", query)
}

func dbExec(t *testing.T, url, query string, args ...any) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	require.NoError(t, err)
	defer conn.Close(context.Background())
	tag, err := conn.Exec(ctx, query, args...)
	require.NoError(t, err, "%s", query)
	return tag.RowsAffected()
}

// dbRun is a run as stored.
type dbRun struct {
	ID            int64
	EnvironmentID int
	Status        string
	Reason        string
	WorkerID      string
	StartedAt     *time.Time
	FinishedAt    *time.Time
}

func dbGetRun(t *testing.T, url string, id int64) dbRun {
	t.Helper()
	r := dbRun{ID: id}
	dbQuery(t, url, `SELECT environment_id, status, coalesce(reason, ''), coalesce(worker_id, ''), started_at, finished_at
		FROM runs WHERE id = $1`, []any{id}, &r.EnvironmentID, &r.Status, &r.Reason, &r.WorkerID, &r.StartedAt, &r.FinishedAt)
	return r
}

// dbLog returns a run's log straight from its chunks.
func dbLog(t *testing.T, url string, id int64) string {
	t.Helper()
	var s string
	dbQuery(t, url, `SELECT coalesce(string_agg(data, '' ORDER BY byte_offset), '') FROM run_log_chunks WHERE run_id = $1`,
		[]any{id}, &s)
	return s
}

// ---------------------------------------------------------------------------
// The pytest processes of runs

// pyProc is a pytest process as the test recorded it (see testdata).
type pyProc struct {
	pid, ppid int
	// start is the process's start time in /proc, so a reused pid is not
	// mistaken for it.
	start string
}

// pids returns every pytest process that recorded itself for run id, in
// the order they started.
func (r *rig) pids(id int64) []pyProc {
	r.t.Helper()
	b, err := os.ReadFile(filepath.Join(r.pidDir, fmt.Sprintf("%d.pid", id)))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	require.NoError(r.t, err)
	var out []pyProc
	for _, line := range strings.SplitAfter(string(b), "\n") {
		if !strings.HasSuffix(line, "\n") {
			break // still being written
		}
		var p pyProc
		_, err := fmt.Sscanf(line, "%d %d\n", &p.pid, &p.ppid)
		require.NoError(r.t, err, "pid file line %q", line)
		p.start, _ = procStart(p.pid)
		out = append(out, p)
	}
	return out
}

// waitPytest waits for run id's test to record its pid.
func (r *rig) waitPytest(id int64, timeout time.Duration) pyProc {
	r.t.Helper()
	var ps []pyProc
	testkit.Eventually(r.t, timeout, fmt.Sprintf("run %d's test to start", id), func() bool {
		ps = r.pids(id)
		return len(ps) > 0
	})
	require.NotEmpty(r.t, ps[0].start, "pytest of run %d (pid %d) ended before it was seen", id, ps[0].pid)
	return ps[0]
}

// waitRunSupervisor waits for the supervisor of the one run a worker
// (parent) executes, before the test function itself runs, and returns
// it: the worker's child with a child of its own that is not a warm slot's
// Python still waiting for a run (the worker's other children are the
// supervisors of its warm slots).
func waitRunSupervisor(t *testing.T, parent int, timeout time.Duration) pyProc {
	t.Helper()
	var found pyProc
	testkit.Eventually(t, timeout, fmt.Sprintf("the supervisor of a run of pid %d", parent), func() bool {
		kids := map[int][]int{}
		starts := map[int]string{}
		dirs, _ := filepath.Glob("/proc/[0-9]*")
		for _, d := range dirs {
			b, err := os.ReadFile(d + "/stat")
			if err != nil {
				continue
			}
			s := string(b)
			f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
			if len(f) < 20 || f[0] == "Z" {
				continue
			}
			pid, _ := strconv.Atoi(filepath.Base(d))
			ppid, _ := strconv.Atoi(f[1])
			kids[ppid] = append(kids[ppid], pid)
			starts[pid] = f[19]
		}
		for _, sup := range kids[parent] {
			for _, c := range kids[sup] {
				if !waitingWarm(c) {
					found = pyProc{pid: sup, ppid: parent, start: starts[sup]}
					return true
				}
			}
		}
		return false
	})
	return found
}

// waitingWarm reports whether pid is a warm slot's Python that no run has
// been handed yet: started from warm.py, its request pipe (fd 3) still open.
func waitingWarm(pid int) bool {
	d := "/proc/" + strconv.Itoa(pid)
	cmd, err := os.ReadFile(d + "/cmdline")
	if err != nil || !strings.Contains(string(cmd), "# baton warm slot") {
		return false
	}
	_, err = os.Readlink(d + "/fd/3")
	return err == nil
}

// procStart returns a live process's start time (field 22 of
// /proc/<pid>/stat); ok is false when it is gone or a zombie.
func procStart(pid int) (string, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return "", false
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 20 || f[0] == "Z" || f[0] == "X" {
		return "", false
	}
	return f[19], true
}

// parentOf returns the parent pid of a live process.
func parentOf(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	require.NoError(t, err)
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	ppid, err := strconv.Atoi(f[1])
	require.NoError(t, err)
	return ppid
}

func (p pyProc) alive() bool {
	start, ok := procStart(p.pid)
	return ok && start == p.start
}

// waitGone waits until the pytest process has ended.
func waitGone(t *testing.T, p pyProc, timeout time.Duration) {
	t.Helper()
	testkit.Eventually(t, timeout, fmt.Sprintf("pytest pid %d to be gone", p.pid), func() bool { return !p.alive() })
}
