package systemtest

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/baton-ci/baton/internal/testkit"
)

// The fault tests (faults_*_test.go) judge Baton from what the test
// processes themselves write, not from Baton's bookkeeping: every process a
// run starts (pytest, and the children, new sessions and daemons its tests
// leave behind) appends lines to a record of its environment,
// $SYSTEMTEST_PID_DIR/env-<id>.rec:
//
//	run   <run> <pid> <CLOCK_MONOTONIC ns> <start time> <fence>   a run's test function begins (in pytest)
//	start <run> <pid> <ns> <start time> <fence>                   a child of the test begins
//	alive <run> <pid> <ns> <start time> <fence>                   every 100 ms while it lives
//	end   <run> <pid> <ns> <start time> <fence>                   when it ends by itself
//	child <run> <pid> <ns> <start time> <fence>                   a child that writes nothing itself (sleep 30)
//
// A process that was killed shows as one whose last line is an alive line;
// a process alive after its run was final writes a line later than that.
// CLOCK_MONOTONIC is shared by every process of the host, this test binary
// included (monotonicNow), and <start time> is field 22 of
// /proc/<pid>/stat, so a pid reused by another process is not mistaken for
// the recorded one. <fence> is the run's TEST_ENV_FENCE as the process saw
// it ("-" without one).

// faultrecPy is the test processes' side: a module next to the test files.
const faultrecPy = `"""What the fault system tests judge Baton by: see faults_record_test.go."""
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def _path():
    return os.path.join(os.environ["SYSTEMTEST_PID_DIR"], "env-%s.rec" % os.environ["TEST_ENV_ID"])


def starttime(pid):
    with open("/proc/%d/stat" % pid) as f:
        s = f.read()
    return s[s.rindex(")") + 2:].split()[19]


def record(what, pid=None):
    pid = pid or os.getpid()
    line = "%s %s %d %d %s %s\n" % (what, os.environ["TEST_RUN_ID"], pid, time.monotonic_ns(), starttime(pid),
                                 os.environ.get("TEST_ENV_FENCE", "-"))
    # One write(2) on an O_APPEND descriptor: lines of concurrent writers
    # never interleave.
    fd = os.open(_path(), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


def alive(seconds, say=None):
    """Records this process alive every 100 ms for seconds: bounded, so a
    process Baton failed to kill ends by itself after the test."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        record("alive")
        if say:
            print(say, flush=True)
        time.sleep(0.1)


def wait_recorded(pid, timeout=10):
    """Waits until process pid has recorded its start."""
    mark = " %s %d " % (os.environ["TEST_RUN_ID"], pid)
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            with open(_path()) as f:
                if any(l.startswith("start") and mark in l for l in f):
                    return
        except FileNotFoundError:
            pass
        time.sleep(0.02)
    raise AssertionError("process %d did not record its start" % pid)


def python_child(seconds, say=None, **popen):
    """Starts a Python that records itself alive for seconds."""
    code = "import faultrec; faultrec.record('start'); faultrec.alive(%r, %r); faultrec.record('end')" % (seconds, say)
    env = dict(os.environ, PYTHONPATH=HERE)
    p = subprocess.Popen([sys.executable, "-c", code], env=env, **popen)
    wait_recorded(p.pid)
    return p


def new_session(seconds):
    """A sleep and a recording Python in sessions of their own, outside
    pytest's process group."""
    s = subprocess.Popen(["sleep", str(int(seconds))], start_new_session=True)
    record("child", s.pid)
    python_child(seconds, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def daemon(seconds):
    """A classic double-fork daemon: fork, setsid, fork, the middle process
    exits, and the grandchild (re-parented away from pytest) records itself
    alive."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.setsid()
            if os.fork() > 0:
                os._exit(0)
            os.close(r)
            null = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(null, fd)
            record("start")
            os.write(w, b"x")
            os.close(w)
            alive(seconds)
            record("end")
        finally:
            os._exit(0)
    os.close(w)
    os.waitpid(pid, 0)
    got = os.read(r, 1)
    os.close(r)
    assert got == b"x", "the daemon did not start"


def stdout_holder(seconds):
    """A child that keeps pytest's stdout (the run's output pipe) open, and
    writes to it, after pytest exits."""
    python_child(seconds, say="holder still writing")
`

// faultTests are the test files of the fault tests, next to faultrec.py.
var faultTests = map[string]string{
	// A run that takes a while: the one a fault hits.
	"test_fault_long.py": `import faultrec


def test_long():
    faultrec.record("run")
    faultrec.alive(20)
    faultrec.record("end")
`,
	// A run that ends quickly: the ones queued behind it.
	"test_fault_short.py": `import faultrec


def test_short():
    faultrec.record("run")
    faultrec.alive(1.5)
    faultrec.record("end")
`,
	"test_fault_session.py": `import faultrec


def test_new_session():
    faultrec.record("run")
    faultrec.new_session(30)
    faultrec.record("end")
`,
	"test_fault_daemon.py": `import faultrec


def test_daemon():
    faultrec.record("run")
    faultrec.daemon(30)
    faultrec.record("end")
`,
	"test_fault_stdout.py": `import faultrec


def test_stdout_holder():
    faultrec.record("run")
    faultrec.stdout_holder(30)
    faultrec.record("end")
`,
	// Everything at once, and then the test itself runs on: for a run that
	// is cancelled, times out or loses its worker.
	"test_fault_hang.py": `import faultrec


def test_hang():
    faultrec.record("run")
    faultrec.new_session(30)
    faultrec.daemon(30)
    faultrec.stdout_holder(30)
    faultrec.alive(30)
    faultrec.record("end")
`,
}

// addFaultTests writes faultrec.py and the fault test files into the rig's
// catalog; call it before the rig's server starts, which scans it.
func (r *rig) addFaultTests() {
	r.t.Helper()
	require.NoError(r.t, os.WriteFile(filepath.Join(r.testsDir, "faultrec.py"), []byte(faultrecPy), 0o644))
	for name, src := range faultTests {
		require.NoError(r.t, os.WriteFile(filepath.Join(r.testsDir, name), []byte(src), 0o644))
	}
}

// monotonicNow reads CLOCK_MONOTONIC, the clock of the records.
func monotonicNow(t *testing.T) int64 {
	t.Helper()
	var ts unix.Timespec
	require.NoError(t, unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts))
	return ts.Nano()
}

// recLine is one line of a record.
type recLine struct {
	what  string
	run   int64
	pid   int
	ns    int64
	start string
	fence string
}

// recProc is one process of a run as its lines show it.
type recProc struct {
	pid         int
	start       string // /proc start time
	first, last int64  // ns of its first and last line
	ended       bool   // it wrote an end line
	child       bool   // recorded by its parent only
}

// alive reports whether the recorded process still exists (and is not a
// zombie).
func (p recProc) alive() bool {
	s, ok := procStart(p.pid)
	return ok && s == p.start
}

func (p recProc) String() string {
	state := "killed"
	switch {
	case p.child:
		state = "child"
	case p.ended:
		state = "ended"
	}
	return fmt.Sprintf("pid %d (%s)", p.pid, state)
}

// recRun is what a run's processes recorded.
type recRun struct {
	id          int64
	starts      int // its test function began this often (run lines)
	fence       string
	first, last int64
	procs       []*recProc
}

// envRecord is an environment's record, by run.
type envRecord struct {
	env  int
	runs map[int64]*recRun
}

// readRecord parses environment env's record (empty if nothing wrote it
// yet). A last line without its newline is still being written and left out.
func (r *rig) readRecord(env int) envRecord {
	r.t.Helper()
	rec := envRecord{env: env, runs: map[int64]*recRun{}}
	f, err := os.Open(filepath.Join(r.pidDir, fmt.Sprintf("env-%d.rec", env)))
	if os.IsNotExist(err) {
		return rec
	}
	require.NoError(r.t, err)
	defer f.Close()
	b := bufio.NewReader(f)
	procs := map[[2]int64]*recProc{}
	for {
		line, err := b.ReadString('\n')
		if err != nil {
			break
		}
		var l recLine
		_, perr := fmt.Sscanf(line, "%s %d %d %d %s %s\n", &l.what, &l.run, &l.pid, &l.ns, &l.start, &l.fence)
		require.NoError(r.t, perr, "record line %q", line)
		run := rec.runs[l.run]
		if run == nil {
			run = &recRun{id: l.run, first: l.ns, fence: l.fence}
			rec.runs[l.run] = run
		}
		run.first, run.last = min(run.first, l.ns), max(run.last, l.ns)
		key := [2]int64{l.run, int64(l.pid)}
		p := procs[key]
		if p == nil {
			p = &recProc{pid: l.pid, start: l.start, first: l.ns, child: l.what == "child"}
			procs[key] = p
			run.procs = append(run.procs, p)
		}
		p.last = max(p.last, l.ns)
		switch l.what {
		case "run":
			run.starts++
		case "end":
			p.ended = true
		}
	}
	return rec
}

// assertNoOverlap fails t if two runs' processes were alive on the
// environment at the same time: each run's lines, from its first to its
// last, must come wholly before or after every other run's. And each run
// that started later holds a larger fence (TEST_ENV_FENCE), as its tests
// saw it, so an environment that checks fences refuses the earlier one.
func (rec envRecord) assertNoOverlap(t *testing.T) {
	t.Helper()
	runs := make([]*recRun, 0, len(rec.runs))
	for _, run := range rec.runs {
		runs = append(runs, run)
	}
	sort.Slice(runs, func(i, j int) bool { return runs[i].first < runs[j].first })
	var overlaps []string
	for i, a := range runs {
		for _, b := range runs[i+1:] {
			if b.first <= a.last {
				overlaps = append(overlaps, fmt.Sprintf("run %d started while run %d's processes were alive (%.3f s of overlap; %d's: %v)",
					b.id, a.id, float64(min(a.last, b.last)-b.first)/1e9, a.id, a.procs))
			}
		}
	}
	require.Empty(t, overlaps, "environment %d had two runs' processes alive at once:\n%s", rec.env, strings.Join(overlaps, "\n"))
	for i := 1; i < len(runs); i++ {
		prev, cur := runs[i-1], runs[i]
		p, perr := strconv.ParseInt(prev.fence, 10, 64)
		c, cerr := strconv.ParseInt(cur.fence, 10, 64)
		require.NoError(t, perr, "run %d's fence %q", prev.id, prev.fence)
		require.NoError(t, cerr, "run %d's fence %q", cur.id, cur.fence)
		require.Greater(t, c, p, "environment %d: run %d started after run %d with fence %d, not above %d", rec.env, cur.id, prev.id, c, p)
	}
}

// runFinalClean waits for run id to be final and requires that nothing it
// started is alive from then on: at that moment no recorded process of it
// exists (by /proc), and none recorded anything later. It returns the run
// and the moment (CLOCK_MONOTONIC) it was seen final.
func (r *rig) runFinalClean(api *client, id int64, env int, timeout time.Duration) (run, int64) {
	r.t.Helper()
	got := api.waitFinal(id, timeout)
	seen := monotonicNow(r.t)
	var alive []string
	for _, p := range r.readRecord(env).runs[id].processes() {
		if p.alive() {
			alive = append(alive, fmt.Sprintf("%s: %s", p, procLine(p.pid)))
		}
	}
	require.Empty(r.t, alive, "%s is final, but processes it started are alive", got)
	return got, seen
}

// processes returns the run's processes; none for a run that recorded
// nothing.
func (run *recRun) processes() []*recProc {
	if run == nil {
		return nil
	}
	return run.procs
}

// assertQuietAfter requires that no process of run id recorded anything
// after ns (when the run was seen final).
func (rec envRecord) assertQuietAfter(t *testing.T, id int64, ns int64) {
	t.Helper()
	run := rec.runs[id]
	require.NotNil(t, run, "run %d recorded nothing", id)
	for _, p := range run.procs {
		require.LessOrEqual(t, p.last, ns, "run %d's %s wrote its record %.3f s after the run was final",
			id, p, float64(p.last-ns)/1e9)
	}
}

// procLine describes a live process for a failure message.
func procLine(pid int) string {
	cmd, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	stat, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	return fmt.Sprintf("%q, stat %s", strings.ReplaceAll(string(cmd), "\x00", " "), strings.TrimSpace(string(stat)))
}

// waitRecorded waits until procs processes of run id have recorded
// themselves (its pytest and its children) and returns the run's record.
func (r *rig) waitRecorded(env int, id int64, procs int, timeout time.Duration) *recRun {
	r.t.Helper()
	var run *recRun
	testkit.Eventually(r.t, timeout, fmt.Sprintf("run %d to record %d processes", id, procs), func() bool {
		run = r.readRecord(env).runs[id]
		return run != nil && len(run.procs) >= procs
	})
	return run
}
