// Package harness is what every Baton benchmark shares: it starts a private
// `baton serve` (own port, own fresh database, own data directory) and stops
// it, talks to its API, and summarises latencies. Benchmarks are programs,
// never tests: see bench/README.md.
package harness

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/baton-ci/baton/internal/testkit"
)

// Python is the interpreter both Baton and the direct baselines use.
var Python = envOr("BENCH_PYTHON", "/usr/bin/python3")

// PGURL is the server the benchmarks create their scratch databases on; the
// database name is appended.
var PGURL = envOr("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/")

// BatonBin is the binary under test, relative to the repository root.
var BatonBin = envOr("BENCH_BATON_BIN", "bin/baton")

// TestRoot is the catalog root name the benchmark tests live under.
const TestRoot = "bench-tests"

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// Options describes one private Baton server.
type Options struct {
	// Name goes into the database and temp dir names: bench_<name>_<pid>.
	Name string
	// Tests are written into the catalog root: file name → content.
	Tests map[string]string
	// MaxRuns is BATON_MAX_RUNS (0: Baton's default).
	MaxRuns int
	// DBMaxConns is BATON_DB_MAX_CONNS (0: Baton's default).
	DBMaxConns int
	// NoWorker sets BATON_EMBEDDED_WORKER=false (API only).
	NoWorker bool
	// Env is added to the server's environment (runs inherit it).
	Env []string
}

// Server is a running private Baton.
type Server struct {
	URL      string
	DBName   string
	DBURL    string
	Dir      string // temp dir: data/, bench-tests/, baton.log
	TestsDir string
	Cmd      *exec.Cmd
	Client   *http.Client

	exited chan struct{}
	once   sync.Once
}

var (
	cleanupMu sync.Mutex
	cleanups  []func()
)

// init makes Ctrl-C / SIGTERM stop every started server and drop its
// database before the benchmark exits.
func init() {
	ch := make(chan os.Signal, 1)
	// SIGPIPE: output piped into `head` must not kill us before cleanup.
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGPIPE)
	go func() {
		<-ch
		cleanupMu.Lock()
		fs := append([]func(){}, cleanups...)
		cleanupMu.Unlock()
		for i := len(fs) - 1; i >= 0; i-- {
			fs[i]()
		}
		os.Exit(130)
	}()
}

// Fatal prints an error line and exits non-zero after cleaning up.
func Fatal(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "FATAL: "+format+"\n", a...)
	cleanupMu.Lock()
	fs := append([]func(){}, cleanups...)
	cleanupMu.Unlock()
	for i := len(fs) - 1; i >= 0; i-- {
		fs[i]()
	}
	os.Exit(1)
}

// AdminExec runs one statement on the maintenance database.
func AdminExec(ctx context.Context, sql string) error {
	conn, err := pgx.Connect(ctx, PGURL+"postgres?sslmode=disable")
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql)
	return err
}

// FreePort returns a loopback port nobody listens on right now.
func FreePort() int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		Fatal("free port: %v", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// Start creates the database and directories and starts `baton serve`; it
// returns once /api/health answers and every test file is in the catalog.
func Start(o Options) *Server {
	ctx := context.Background()
	s := &Server{exited: make(chan struct{})}
	s.DBName = fmt.Sprintf("bench_%s_%d", o.Name, os.Getpid())
	if err := AdminExec(ctx, "CREATE DATABASE "+s.DBName); err != nil {
		Fatal("create database %s: %v", s.DBName, err)
	}
	s.DBURL = PGURL + s.DBName + "?sslmode=disable"
	dir, err := os.MkdirTemp("", "baton-bench-"+o.Name+"-")
	if err != nil {
		Fatal("temp dir: %v", err)
	}
	s.Dir = dir
	s.TestsDir = filepath.Join(dir, TestRoot)
	must(os.MkdirAll(s.TestsDir, 0o755))
	for name, body := range o.Tests {
		must(os.WriteFile(filepath.Join(s.TestsDir, name), []byte(body), 0o644))
	}
	port := FreePort()
	s.URL = fmt.Sprintf("http://127.0.0.1:%d", port)
	env := append(os.Environ(),
		"DATABASE_URL="+s.DBURL,
		fmt.Sprintf("BATON_ADDR=127.0.0.1:%d", port),
		"BATON_DATA_DIR="+filepath.Join(dir, "data"),
		"BATON_SAMPLE_TESTS_DIR="+s.TestsDir,
		"BATON_WEB_DIR="+filepath.Join(dir, "no-web"),
		"BATON_PYTHON="+Python,
		"BATON_WORKER_ID=bench-"+o.Name,
	)
	if o.MaxRuns > 0 {
		env = append(env, "BATON_MAX_RUNS="+strconv.Itoa(o.MaxRuns))
	}
	if o.DBMaxConns > 0 {
		env = append(env, "BATON_DB_MAX_CONNS="+strconv.Itoa(o.DBMaxConns))
	}
	if o.NoWorker {
		env = append(env, "BATON_EMBEDDED_WORKER=false")
	}
	env = append(env, o.Env...)
	logf, err := os.Create(filepath.Join(dir, "baton.log"))
	must(err)
	s.Cmd = exec.Command(BatonBin, "serve")
	s.Cmd.Env = env
	s.Cmd.Stdout, s.Cmd.Stderr = logf, logf
	// Own group (a stray child is killed with it); and baton goes when the
	// benchmark dies, even by SIGKILL.
	s.Cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	cleanupMu.Lock()
	cleanups = append(cleanups, s.Stop)
	cleanupMu.Unlock()
	if err := s.Cmd.Start(); err != nil {
		Fatal("start %s: %v (run from the repository root after `go build -o bin/baton ./api/cmd/baton`)", BatonBin, err)
	}
	go func() { _ = s.Cmd.Wait(); logf.Close(); close(s.exited) }()

	s.Client = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		MaxIdleConns: 1000, MaxIdleConnsPerHost: 1000, IdleConnTimeout: time.Minute,
	}}
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case <-s.exited:
			Fatal("baton exited during start-up; log:\n%s", s.LogTail(40))
		default:
		}
		if time.Now().After(deadline) {
			Fatal("baton did not become healthy within 60s; log:\n%s", s.LogTail(40))
		}
		var files struct {
			Items []struct{ Path string } `json:"items"`
		}
		if s.GetJSON("/api/health", nil) == nil && s.GetJSON("/api/test-files", &files) == nil && len(files.Items) >= len(o.Tests) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	return s
}

func must(err error) {
	if err != nil {
		Fatal("%v", err)
	}
}

// Pid is the baton process id.
func (s *Server) Pid() int { return s.Cmd.Process.Pid }

// Stop ends baton (SIGTERM, then SIGKILL after 20 s), drops its database and
// removes its temp dir (kept when BENCH_KEEP=1).
func (s *Server) Stop() {
	s.once.Do(func() {
		if s.Cmd != nil && s.Cmd.Process != nil {
			_ = s.Cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-s.exited:
			case <-time.After(20 * time.Second):
				_ = syscall.Kill(-s.Cmd.Process.Pid, syscall.SIGKILL)
				<-s.exited
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := AdminExec(ctx, "DROP DATABASE IF EXISTS "+s.DBName+" WITH (FORCE)"); err != nil {
			fmt.Fprintf(os.Stderr, "warning: drop database %s: %v\n", s.DBName, err)
		}
		if os.Getenv("BENCH_KEEP") == "1" {
			fmt.Fprintf(os.Stderr, "kept %s\n", s.Dir)
		} else if s.Dir != "" {
			_ = os.RemoveAll(s.Dir)
		}
	})
}

// LogTail returns the last n lines of baton's log.
func (s *Server) LogTail(n int) string {
	b, _ := os.ReadFile(filepath.Join(s.Dir, "baton.log"))
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// GetJSON fetches path and decodes it into v (v may be nil); non-200 is an error.
func (s *Server) GetJSON(path string, v any) error {
	resp, err := s.Client.Get(s.URL + path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s: %s", path, resp.Status, bytes.TrimSpace(body))
	}
	if v == nil {
		return nil
	}
	return json.Unmarshal(body, v)
}

// Run is the API's run, decoded as every Go client of Baton's tests does.
type Run = testkit.Run

// CreateRun queues a run of the given catalog files (names under TestRoot).
func (s *Server) CreateRun(env int, files ...string) (*Run, error) {
	return s.postRun("environment_id", env, files)
}

// CreatePoolRun queues a run of the given catalog files on any environment
// labelled pool.
func (s *Server) CreatePoolRun(pool string, files ...string) (*Run, error) {
	return s.postRun("pool", pool, files)
}

// postRun POSTs a run of files whose target is the field key (environment_id
// or pool) set to target.
func (s *Server) postRun(key string, target any, files []string) (*Run, error) {
	paths := make([]string, len(files))
	for i, f := range files {
		paths[i] = TestRoot + "/" + f
	}
	body, _ := json.Marshal(map[string]any{"requested_by": "bench", key: target, "test_files": paths})
	resp, err := s.Client.Post(s.URL+"/api/runs", "application/json", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated {
		return nil, fmt.Errorf("POST /api/runs: %s: %s", resp.Status, bytes.TrimSpace(b))
	}
	var r Run
	return &r, json.Unmarshal(b, &r)
}

// Label gives environment env the labels (PATCH /api/environments/{id}).
func (s *Server) Label(env int, labels ...string) error {
	body, _ := json.Marshal(map[string]any{"labels": labels})
	req, err := http.NewRequest(http.MethodPatch, fmt.Sprintf("%s/api/environments/%d", s.URL, env), bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.Client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("PATCH /api/environments/%d: %s: %s", env, resp.Status, bytes.TrimSpace(b))
	}
	return nil
}

// GetRun fetches one run.
func (s *Server) GetRun(id int64) (*Run, error) {
	var r Run
	return &r, s.GetJSON(fmt.Sprintf("/api/runs/%d", id), &r)
}

// WaitAll polls each run until all are final or the timeout passes.
func (s *Server) WaitAll(ids []int64, every, timeout time.Duration) ([]*Run, error) {
	deadline := time.Now().Add(timeout)
	out := make([]*Run, len(ids))
	for i, id := range ids {
		for {
			r, err := s.GetRun(id)
			if err != nil {
				return nil, err
			}
			if r.Final() {
				out[i] = r
				break
			}
			if time.Now().After(deadline) {
				return nil, fmt.Errorf("run %d still %s after %s", id, r.Status, timeout)
			}
			time.Sleep(every)
		}
	}
	return out, nil
}

// ProcStatus returns VmRSS and VmHWM of pid in KiB.
func ProcStatus(pid int) (rss, hwm int64, err error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 {
			continue
		}
		switch fields[0] {
		case "VmRSS:":
			rss, _ = strconv.ParseInt(fields[1], 10, 64)
		case "VmHWM:":
			hwm, _ = strconv.ParseInt(fields[1], 10, 64)
		}
	}
	return rss, hwm, sc.Err()
}

// BackendPIDs returns the pids of the PostgreSQL backends connected to db,
// other than pg's own: the processes serving Baton, for their CPU time.
func BackendPIDs(ctx context.Context, pg *pgx.Conn, db string) []int {
	rows, err := pg.Query(ctx, `SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`, db)
	if err != nil {
		return nil
	}
	defer rows.Close()
	var out []int
	for rows.Next() {
		var p int
		_ = rows.Scan(&p)
		out = append(out, p)
	}
	return out
}

// ProcCPU returns the user+system CPU time pid has used so far.
func ProcCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	f := strings.Fields(s[i+2:])
	// fields after ")": state(0) ppid(1) ... utime(11) stime(12)
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / 100 // USER_HZ = 100 on Linux
}

// Children counts the direct children of pid (the pytest processes of a
// worker). Each thread has its own children file: Go forks from many threads.
func Children(pid int) int {
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		return 0
	}
	n := 0
	for _, t := range tasks {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/children", pid, t.Name()))
		if err == nil {
			n += len(strings.Fields(string(b)))
		}
	}
	return n
}

// MachineCPU returns the busy and total jiffies of the whole machine, for
// how loaded it was during a phase (other engineers share it).
func MachineCPU() (busy, total int64) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	line := strings.SplitN(string(b), "\n", 2)[0]
	f := strings.Fields(line)[1:]
	for i, v := range f {
		n, _ := strconv.ParseInt(v, 10, 64)
		total += n
		if i != 3 && i != 4 { // idle, iowait
			busy += n
		}
	}
	return busy, total
}

// CPUMeter measures machine-wide CPU use between Start and Stop.
type CPUMeter struct{ b0, t0 int64 }

// StartCPU begins a measurement.
func StartCPU() CPUMeter { b, t := MachineCPU(); return CPUMeter{b, t} }

// Percent returns the machine's busy share since start, 0..100 (all cores).
func (m CPUMeter) Percent() float64 {
	b, t := MachineCPU()
	if t == m.t0 {
		return 0
	}
	return 100 * float64(b-m.b0) / float64(t-m.t0)
}

// Percentile returns the nearest-rank p-th percentile (0 < p ≤ 100) of sorted.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	k := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	if k < 0 {
		k = 0
	}
	if k >= len(sorted) {
		k = len(sorted) - 1
	}
	return sorted[k]
}

// Stats summarises a sample.
type Stats struct {
	N                       int
	Min, P50, P95, P99, Max time.Duration
	Mean                    time.Duration
}

// Summarize sorts a copy of d and summarises it.
func Summarize(d []time.Duration) Stats {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	st := Stats{N: len(s)}
	if len(s) == 0 {
		return st
	}
	var sum time.Duration
	for _, v := range s {
		sum += v
	}
	st.Min, st.Max, st.Mean = s[0], s[len(s)-1], sum/time.Duration(len(s))
	st.P50, st.P95, st.P99 = Percentile(s, 50), Percentile(s, 95), Percentile(s, 99)
	return st
}

// Ms formats a duration in milliseconds with one decimal.
func Ms(d time.Duration) string { return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond)) }

// String is the usual one-line form.
func (s Stats) String() string {
	return fmt.Sprintf("n=%d p50=%s p95=%s max=%s mean=%s", s.N, Ms(s.P50), Ms(s.P95), Ms(s.Max), Ms(s.Mean))
}

// Verdict is "PASS" or "MISS".
func Verdict(ok bool) string {
	if ok {
		return "PASS"
	}
	return "MISS"
}

// Header prints the common first lines of a benchmark's output.
func Header(name, what string) {
	host, _ := os.Hostname()
	fmt.Printf("== bench %s: %s\n", name, what)
	fmt.Printf("   %s host=%s nproc=%d cpu=%q mem=%s load=%s\n", time.Now().UTC().Format(time.RFC3339), host,
		nproc(), cpuModel(), memTotal(), loadAvg())
}

func nproc() int {
	b, _ := os.ReadFile("/proc/cpuinfo")
	return strings.Count(string(b), "\nprocessor") + boolInt(strings.HasPrefix(string(b), "processor"))
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func cpuModel() string {
	b, _ := os.ReadFile("/proc/cpuinfo")
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "model name") {
			return strings.TrimSpace(strings.SplitN(l, ":", 2)[1])
		}
	}
	return "?"
}

func memTotal() string {
	b, _ := os.ReadFile("/proc/meminfo")
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "MemTotal:") {
			f := strings.Fields(l)
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return fmt.Sprintf("%.1fGiB", float64(kb)/(1<<20))
		}
	}
	return "?"
}

// LoadAvg returns the 1-minute load average as text.
func loadAvg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return "?"
	}
	return f[0]
}

// LoadAvg is exported for end-of-run lines.
func LoadAvg() string { return loadAvg() }

// ErrTimeout is returned by pollers that gave up.
var ErrTimeout = errors.New("timeout")

// procTable maps every live pid to its parent.
func procTable() map[int]int {
	out := map[int]int{}
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		pid, err := strconv.Atoi(filepath.Base(d))
		if err != nil {
			continue
		}
		b, err := os.ReadFile(d + "/stat")
		if err != nil {
			continue
		}
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
		if len(f) > 1 {
			out[pid], _ = strconv.Atoi(f[1])
		}
	}
	return out
}

// Descendants returns every live process below pid (not pid itself).
func Descendants(pid int) []int {
	parent := procTable()
	var out []int
	for p := range parent {
		for q, i := parent[p], 0; q > 1 && i < 64; q, i = parent[q], i+1 {
			if q == pid {
				out = append(out, p)
				break
			}
		}
	}
	sort.Ints(out)
	return out
}

// WarmWaiting returns the warm slots' Pythons below pid that are warm and
// wait for a run: started with Baton's bootstrap (warm.py), report
// descriptor 4 closed, request pipe (3) still open. Reading another user's
// descriptors needs root; without it none are found.
func WarmWaiting(pid int) []int {
	var out []int
	for _, p := range Descendants(pid) {
		cmd, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", p))
		if err != nil || !bytes.Contains(cmd, []byte("_baton_warm")) {
			continue
		}
		if _, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/4", p)); err == nil {
			continue // still warming
		}
		if l, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/3", p)); err != nil || !strings.HasPrefix(l, "pipe:") {
			continue // handed a run
		}
		out = append(out, p)
	}
	return out
}

// WaitWarm waits until n warm slots wait below pid (or timeout) and
// returns how long that took.
func WaitWarm(pid, n int, timeout time.Duration) time.Duration {
	t0 := time.Now()
	for len(WarmWaiting(pid)) < n {
		if time.Since(t0) > timeout {
			Fatal("only %d of %d warm slots after %s", len(WarmWaiting(pid)), n, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return time.Since(t0)
}

// TreeCPU returns the CPU time pid and its live descendants have used.
func TreeCPU(pid int) time.Duration {
	t := ProcCPU(pid)
	for _, p := range Descendants(pid) {
		t += ProcCPU(p)
	}
	return t
}

// Mem is a process's memory in KiB: resident, and its proportional share
// of the pages it shares with others (what it really costs).
type Mem struct{ RSS, PSS int64 }

// ProcMem reads pid's smaps_rollup.
func ProcMem(pid int) Mem {
	var m Mem
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	if err != nil {
		return m
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		v, _ := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "Rss:":
			m.RSS = v
		case "Pss:":
			m.PSS = v
		}
	}
	return m
}

// Parent returns pid's parent, or 0.
func Parent(pid int) int { return procTable()[pid] }

// RunLog returns a run's whole log as text (GET /api/runs/{id}/log.txt).
func (s *Server) RunLog(id int64) (string, error) {
	resp, err := s.Client.Get(fmt.Sprintf("%s/api/runs/%d/log.txt", s.URL, id))
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET log of run %d: %s", id, resp.Status)
	}
	return string(b), err
}

// WarmStarted reports whether a run's log says it started warm.
func (s *Server) WarmStarted(id int64) bool {
	warm, _ := s.WarmStart(id)
	return warm
}

// WarmStart reports whether a run's log says it started warm, and whether
// it had to wait for its slot to finish warming (no slot was ready).
func (s *Server) WarmStart(id int64) (warm, waited bool) {
	log, err := s.RunLog(id)
	if err != nil {
		return false, false
	}
	return strings.Contains(log, "=== warm start: "), strings.Contains(log, "=== note: no warm slot was ready")
}

// ProcCPUWithChildren returns the CPU time pid and the children it has
// reaped (with theirs) have used: for a worker, its own work plus that of
// every finished supervisor and pytest below it.
func ProcCPUWithChildren(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(f) < 15 {
		return 0
	}
	var sum int64
	for _, i := range []int{11, 12, 13, 14} { // utime stime cutime cstime
		v, _ := strconv.ParseInt(f[i], 10, 64)
		sum += v
	}
	return time.Duration(sum) * time.Second / 100
}
