// Package runner executes one pytest run as a child process and streams its
// output. It knows nothing about the database or the queue: the caller turns
// the returned domain.Outcome into a run status and stores the output through
// a LogWriter.
package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/baton-ci/baton/api/domain"
)

// Defaults for the zero values of Runner's fields.
const (
	DefaultKillGrace   = 5 * time.Second
	DefaultOutputGrace = 2 * time.Second
)

// Spec describes one run to execute.
type Spec struct {
	RunID           int64
	EnvironmentID   int
	EnvironmentName string
	RequestedBy     string
	// Files are the test files to run whole. With Roots set they are
	// catalog paths ("sample-tests/test_a.py"); otherwise file system
	// paths, relative ones resolved against the worker's working directory.
	Files []string
	// Tests are single tests to run, as node ids in the same form as Files
	// ("uploads/shop/tests/test_cart.py::TestCart::test_total[1]").
	Tests []string
	// Keyword and Markers are pytest's -k and -m expressions; "" selects all.
	Keyword string
	Markers string
	// Roots maps each catalog root name to its directory. Each file runs in
	// its test project's root (see Plan), and results are named by catalog
	// path ("sample-tests/test_a.py::test_x").
	Roots map[string]string
	// APIURL is passed to the tests as BATON_API_URL.
	APIURL string
	// Timeout bounds the whole run; 0 means none.
	Timeout time.Duration
}

// Runner executes pytest runs. A Runner is stateless and safe for concurrent
// use by many runs.
type Runner struct {
	// Python is the interpreter that runs pytest, e.g. /usr/bin/python3
	// (see DetectPython).
	Python string
	// KillGrace is how long a stopped run gets between SIGTERM and SIGKILL;
	// 0 means DefaultKillGrace.
	KillGrace time.Duration
	// OutputGrace is how long to keep reading output after the process group
	// is dead; only a daemonised grandchild can hold the pipe that long.
	// 0 means DefaultOutputGrace.
	OutputGrace time.Duration
	// TempDir is the parent of the per-run working directories; "" means
	// os.TempDir().
	TempDir string
	// Env is the environment pytest inherits, before the run's variables are
	// added; nil means os.Environ(). Set it to keep the worker's secrets
	// (e.g. the database URL) away from the tests.
	Env []string
}

// Stop is a context cancel cause (see context.WithCancelCause) saying how a
// stopped run must end, e.g. Stop{Status: domain.StatusCancelled, Reason:
// domain.ReasonCancelled} or Stop{Status: domain.StatusError, Reason:
// domain.ReasonWorkerShutdown}.
type Stop struct {
	Status domain.RunStatus
	Reason string
}

// Error implements the error interface.
func (s Stop) Error() string { return fmt.Sprintf("run stopped: %s (%s)", s.Status, s.Reason) }

// outcome fills in what a sloppy cause left out, so a run never ends with an
// empty status.
func (s Stop) outcome() domain.Outcome {
	o := domain.Outcome{Status: s.Status, Reason: s.Reason}
	if o.Status == "" {
		o.Status = domain.StatusError
	}
	if o.Reason == "" {
		o.Reason = domain.ReasonInterrupted
	}
	return o
}

// stopOutcome is the outcome of a run whose context ended.
func stopOutcome(ctx context.Context) domain.Outcome {
	cause := context.Cause(ctx)
	var s Stop
	if errors.As(cause, &s) {
		return s.outcome()
	}
	var sp *Stop
	if errors.As(cause, &sp) && sp != nil {
		return sp.outcome()
	}
	return domain.Outcome{Status: domain.StatusError, Reason: domain.ReasonInterrupted}
}

// stopLabel names a stop in the log; a user cancel reads "cancelled", a
// shutdown names its reason so the log explains itself.
func stopLabel(o domain.Outcome) string {
	if o.Status == domain.StatusCancelled {
		return "cancelled"
	}
	return "stopped (" + o.Reason + ")"
}

// environ returns the child's environment; later entries win in os/exec, so
// the run's variables override anything inherited.
func (r *Runner) environ(spec Spec) []string {
	base := r.Env
	if base == nil {
		base = os.Environ()
	}
	return append(base[:len(base):len(base)],
		"TEST_ENV_ID="+strconv.Itoa(spec.EnvironmentID),
		"TEST_ENV_NAME="+spec.EnvironmentName,
		"TEST_RUN_ID="+strconv.FormatInt(spec.RunID, 10),
		"REQUESTED_BY="+spec.RequestedBy,
		"BATON_API_URL="+spec.APIURL,
		"PYTHONUNBUFFERED=1",
		// Keeps __pycache__ (and pytest's rewritten-assert .pyc) out of the
		// test folders, which may be shared and read-only.
		"PYTHONDONTWRITEBYTECODE=1",
	)
}

// Run executes the run's pytest sessions, one per test project (see Plan),
// one after another, and streams their combined stdout and stderr to out as
// it is produced: a first line naming the run, a banner per project when
// there are several, each command, and a line per session with how it
// ended. It returns only after every process group is dead and reaped.
//
// The run ends with spec.Timeout ({error, timeout}, over all sessions) or
// when ctx ends (the Stop cause of ctx, else {error, interrupted}); the
// sessions not yet started are skipped. Otherwise the outcome is the worst
// of the sessions' (see combine). out should not block for long: pytest
// stalls while its output is not read. Errors writing to out are ignored so
// the child is always drained.
func (r *Runner) Run(ctx context.Context, spec Spec, out io.Writer) domain.Outcome {
	started := time.Now()
	fmt.Fprintf(out, "=== run %d in %s (environment %d) requested by %s%s ===\n",
		spec.RunID, spec.EnvironmentName, spec.EnvironmentID, spec.RequestedBy, timeoutNote(spec.Timeout))

	startFailed := func(err error) domain.Outcome {
		fmt.Fprintf(out, "=== failed to start pytest: %v ===\n", err)
		return domain.Outcome{Status: domain.StatusError, Reason: domain.ReasonStartFailed}
	}
	switch {
	case r.Python == "":
		return startFailed(errors.New("no Python interpreter configured"))
	case len(spec.Files) == 0 && len(spec.Tests) == 0:
		// pytest would collect whatever lies in its working directory.
		return startFailed(errors.New("no test files given"))
	case ctx.Err() != nil:
		o := stopOutcome(ctx)
		fmt.Fprintf(out, "=== %s before start ===\n", stopLabel(o))
		return o
	}

	// The run's own directory, outside every project: JUnit reports and
	// pytest's cache go here, never into the tests' folders.
	workDir, err := os.MkdirTemp(r.TempDir, fmt.Sprintf("baton-run-%d-", spec.RunID))
	if err != nil {
		return startFailed(err)
	}
	defer os.RemoveAll(workDir)
	env := r.environ(spec)
	invs, err := Plan(r.Python, spec, workDir, env)
	if err != nil {
		return startFailed(err)
	}

	var timeoutC <-chan time.Time
	if spec.Timeout > 0 {
		timer := time.NewTimer(spec.Timeout)
		defer timer.Stop()
		timeoutC = timer.C
	}
	var sessions []domain.Outcome
	for i, inv := range invs {
		if len(invs) > 1 {
			fmt.Fprintf(out, "=== project %d/%d: %s (root: %s) ===\n", i+1, len(invs), inv.Project, inv.Root)
		}
		if inv.Note != "" {
			fmt.Fprintf(out, "=== note: %s ===\n", inv.Note)
		}
		o, stopped := r.runOne(ctx, inv, env, out, timeoutC, spec.Timeout, started)
		if stopped {
			if rest := len(invs) - i - 1; rest > 0 {
				fmt.Fprintf(out, "=== %d more project(s) not started ===\n", rest)
			}
			return o
		}
		sessions = append(sessions, o)
	}
	o := combine(sessions)
	if len(invs) > 1 {
		fmt.Fprintf(out, "=== %d pytest sessions ended after %s: %s ===\n", len(invs), roundDuration(time.Since(started)), describe(o))
	}
	return o
}

// runOne executes one invocation to its end. stopped is true when the run
// timed out or ctx ended: o is then the run's final outcome.
func (r *Runner) runOne(ctx context.Context, inv Invocation, env []string, out io.Writer,
	timeoutC <-chan time.Time, timeout time.Duration, runStarted time.Time) (o domain.Outcome, stopped bool) {
	started := time.Now()
	fmt.Fprintf(out, "$ cd %s && %s\n", shellQuote(inv.Dir), shellJoin(inv.Argv))
	startFailed := func(err error) (domain.Outcome, bool) {
		fmt.Fprintf(out, "=== failed to start pytest: %v ===\n", err)
		return domain.Outcome{Status: domain.StatusError, Reason: domain.ReasonStartFailed}, false
	}

	// One pipe for both streams keeps stdout and stderr in the order pytest
	// wrote them.
	pr, pw, err := os.Pipe()
	if err != nil {
		return startFailed(err)
	}
	cmd := exec.Command(inv.Argv[0], inv.Argv[1:]...)
	cmd.Dir = inv.Dir
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = pw, pw
	cmd.SysProcAttr = &syscall.SysProcAttr{
		// Own group: one signal reaches pytest and every child it spawned.
		Setpgid: true,
		// pytest dies with the worker even if the worker is SIGKILLed.
		Pdeathsig: syscall.SIGKILL,
	}

	// Pdeathsig fires when the forking OS thread ends, not the process, and
	// Go ends a thread whose goroutine exits while locked to it. Holding the
	// thread until the child is reaped keeps the signal tied to this run.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()

	err = cmd.Start()
	pw.Close() // only the child may hold the write end, or EOF never comes
	if err != nil {
		pr.Close()
		return startFailed(err)
	}
	pgid := cmd.Process.Pid

	drained := make(chan struct{})
	go func() {
		defer close(drained)
		drain(pr, out)
	}()

	// exited closes when the main process has ended but is not yet reaped:
	// while it is a zombie its pid cannot be reused, so signalling the group
	// cannot hit an unrelated process.
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		waitExitedNoReap(pgid)
	}()

	var stop *domain.Outcome
	footer := ""
	select {
	case <-exited:
	case <-timeoutC:
		r.terminate(pgid, exited)
		stop = &domain.Outcome{Status: domain.StatusError, Reason: domain.ReasonTimeout}
		footer = fmt.Sprintf("=== timed out after %s: process group killed ===", timeout)
	case <-ctx.Done():
		r.terminate(pgid, exited)
		so := stopOutcome(ctx)
		stop = &so
		footer = fmt.Sprintf("=== %s: process group killed after %s ===", stopLabel(so), roundDuration(time.Since(runStarted)))
	}
	// Whatever the test left running in the group goes too.
	_ = unix.Kill(-pgid, unix.SIGKILL)
	waitErr := cmd.Wait()

	r.awaitOutput(pr, drained, out)

	if stop != nil {
		fmt.Fprintln(out, footer)
		return *stop, true
	}
	o, how := exitOutcome(cmd.ProcessState, waitErr)
	// Only a session that ran to its end (passed, failed, or found no
	// tests) leaves a report worth showing; an interrupted one is partial.
	if o.ExitCode != nil && (*o.ExitCode == 0 || *o.ExitCode == 1 || *o.ExitCode == 5) {
		if summary, tests, ok := readReport(inv); ok {
			o.Summary, o.Tests = summary, tests
			o.JUnitXML, _ = os.ReadFile(inv.Report)
		}
	}
	fmt.Fprintf(out, "=== pytest %s after %s ===\n", how, roundDuration(time.Since(started)))
	return o, false
}

// combine is the outcome of a run from its sessions' outcomes: the worst
// one decides (an error over failed tests over success) and gives the exit
// code; "no tests collected" counts only when no session collected any,
// as it would for one pytest given all the files. Results and summaries of
// every session that left a report are joined.
func combine(sessions []domain.Outcome) domain.Outcome {
	if len(sessions) == 1 {
		return sessions[0]
	}
	rank := func(o domain.Outcome) int {
		switch {
		case o.Status == domain.StatusError:
			return 3
		case o.Reason == domain.ReasonTestsFailed:
			return 2
		case o.Reason == domain.ReasonNoTestsCollected:
			return 1
		}
		return 0
	}
	worst := sessions[0]
	allEmpty := true
	var summary *domain.TestSummary
	var tests []domain.TestResult
	for _, o := range sessions {
		if rank(o) > rank(worst) {
			worst = o
		}
		if o.Reason != domain.ReasonNoTestsCollected {
			allEmpty = false
		}
		if o.Summary != nil {
			if summary == nil {
				summary = &domain.TestSummary{}
			}
			summary.Passed += o.Summary.Passed
			summary.Failed += o.Summary.Failed
			summary.Errors += o.Summary.Errors
			summary.Skipped += o.Summary.Skipped
			summary.Total += o.Summary.Total
			tests = append(tests, o.Tests...)
		}
	}
	if worst.Reason == domain.ReasonNoTestsCollected && !allEmpty {
		// Some session ran tests and none failed: a success, like pytest's
		// own exit code 0 for a run where one of several files is empty.
		for _, o := range sessions {
			if o.Status == domain.StatusSuccess {
				worst = o
				break
			}
		}
	}
	out := domain.Outcome{Status: worst.Status, ExitCode: worst.ExitCode, Reason: worst.Reason, Summary: summary, Tests: tests,
		JUnitXML: mergeJUnit(sessions)}
	return out
}

func describe(o domain.Outcome) string {
	s := string(o.Status)
	if o.Reason != "" {
		s += " (" + o.Reason + ")"
	}
	if o.ExitCode != nil {
		s += fmt.Sprintf(", exit code %d", *o.ExitCode)
	}
	return s
}

// terminate asks the group to stop, then forces it after the grace period;
// it returns once the main process has exited.
func (r *Runner) terminate(pgid int, exited <-chan struct{}) {
	_ = unix.Kill(-pgid, unix.SIGTERM)
	grace := r.KillGrace
	if grace <= 0 {
		grace = DefaultKillGrace
	}
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-exited:
	case <-t.C:
		_ = unix.Kill(-pgid, unix.SIGKILL)
		<-exited
	}
}

// awaitOutput waits for the pipe to reach EOF. A grandchild that left the
// group (e.g. a daemon) may hold the write end forever, so after the grace
// period the read end is closed, which unblocks the drain.
func (r *Runner) awaitOutput(pr *os.File, drained <-chan struct{}, out io.Writer) {
	grace := r.OutputGrace
	if grace <= 0 {
		grace = DefaultOutputGrace
	}
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-drained:
		pr.Close()
	case <-t.C:
		pr.Close()
		<-drained
		fmt.Fprintln(out, "=== a process outside the run's group still holds the output open; stopped reading ===")
	}
}

// drain copies the pipe to out until EOF or until the pipe is closed. It
// keeps reading after out fails, because a child blocked on a full pipe
// never exits.
func drain(pr *os.File, out io.Writer) {
	buf := make([]byte, 32*1024)
	var werr error
	for {
		n, err := pr.Read(buf)
		if n > 0 && werr == nil {
			_, werr = out.Write(buf[:n])
		}
		if err != nil {
			return
		}
	}
}

// waitExitedNoReap blocks until process pid has exited, leaving it a zombie
// for cmd.Wait to reap.
func waitExitedNoReap(pid int) {
	var info unix.Siginfo
	for {
		err := unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
		if err != unix.EINTR {
			return
		}
	}
}

// exitOutcome maps how the process ended to an outcome and a phrase for the
// log's last line.
func exitOutcome(ps *os.ProcessState, waitErr error) (domain.Outcome, string) {
	if ps == nil {
		return domain.Outcome{Status: domain.StatusError, Reason: domain.ReasonInterrupted},
			fmt.Sprintf("could not be waited for (%v)", waitErr)
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return domain.Outcome{Status: domain.StatusError, Reason: domain.ReasonSignal},
			fmt.Sprintf("killed by signal %d (%s)", int(ws.Signal()), ws.Signal())
	}
	code := ps.ExitCode()
	return domain.OutcomeForExit(code), fmt.Sprintf("exited with code %d", code)
}

func timeoutNote(d time.Duration) string {
	if d <= 0 {
		return ""
	}
	return ", timeout " + d.String()
}

// roundDuration keeps the log readable: 2.31s rather than 2.310843127s.
func roundDuration(d time.Duration) time.Duration {
	if d >= time.Second {
		return d.Round(10 * time.Millisecond)
	}
	return d.Round(time.Millisecond)
}

// shellJoin quotes argv so the logged command can be pasted into a shell.
func shellJoin(argv []string) string {
	q := make([]string, len(argv))
	for i, a := range argv {
		q[i] = shellQuote(a)
	}
	return strings.Join(q, " ")
}

func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') && (r < '0' || r > '9') && !strings.ContainsRune("-_./:=+,@%", r)
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// pythonCandidates are tried in order by DetectPython.
var pythonCandidates = []string{"python3", "/usr/bin/python3", "/usr/local/bin/python3"}

// DetectPython returns the first python3 able to import pytest: python3 on
// PATH, then /usr/bin/python3, then /usr/local/bin/python3. Its error lists
// every candidate and why it was rejected.
func DetectPython() (string, error) {
	return detectPythonFrom(pythonCandidates)
}

func detectPythonFrom(candidates []string) (string, error) {
	var tried []string
	for _, c := range candidates {
		path, err := exec.LookPath(c)
		if err != nil {
			tried = append(tried, fmt.Sprintf("%s: not found", c))
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		msg, err := exec.CommandContext(ctx, path, "-c", "import pytest").CombinedOutput()
		cancel()
		if err != nil {
			tried = append(tried, fmt.Sprintf("%s (%s): cannot import pytest: %s", c, path, lastOutputLine(string(msg), err)))
			continue
		}
		return path, nil
	}
	return "", fmt.Errorf("no python3 with pytest found; tried %s", strings.Join(tried, "; "))
}

// lastOutputLine keeps a traceback's final line, which names the actual problem.
func lastOutputLine(s string, err error) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return err.Error()
	}
	return s[strings.LastIndexByte(s, '\n')+1:]
}
