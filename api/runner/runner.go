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
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

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
	// path ("sample-tests/test_a.py::test_x"). A run user reaches the roots
	// through bind mounts in the run's workspace (see workspace.go).
	Roots map[string]string
	// APIURL is passed to the tests as BATON_API_URL.
	APIURL string
	// Timeout bounds the whole run; 0 means none.
	Timeout time.Duration
	// Fence is the run's fencing token, passed as TEST_ENV_FENCE: it grows
	// with every run that starts in the environment, so a test
	// environment that remembers the highest it has seen can refuse a
	// stale holder. 0 means none.
	Fence int64
	// Lease, when set, bounds how long the run's processes may live: the
	// supervisor kills them all when its deadline passes, whatever the
	// worker does. The worker extends it after each confirmed heartbeat.
	Lease *Lease
	// Vars are this run's own variables (e.g. an environment's), after
	// Runner.Vars; secret values are masked in the log and results.
	Vars []Var
	// Ended, when set, is given the run's outcome once, as soon as it is
	// final: when the supervisor has confirmed every process of the run
	// gone, before the supervisor's own exit is awaited and the workspace
	// removed, so recording the run does not wait for that clean-up (a few
	// milliseconds of a short run). Nothing is written to out after it is
	// called; a clean-up problem then goes to Runner.Log. When the end
	// cannot be confirmed that early (the supervisor died, or an
	// invocation failed to start while a warm process may live), or no
	// session started, it is called right before Run returns, after the
	// clean-up. Run returns the same outcome.
	Ended func(domain.Outcome)
}

// Runner executes pytest runs, each under a supervisor process of its own
// (supervisor.go). A Runner is safe for concurrent use by many runs.
type Runner struct {
	// Python is the interpreter that runs pytest, e.g. /usr/bin/python3
	// (see DetectPython).
	Python string
	// KillGrace is how long a stopped run gets between SIGTERM and SIGKILL;
	// 0 means DefaultKillGrace. An expired lease gets none.
	KillGrace time.Duration
	// OutputGrace is how long to keep reading output after every process of
	// the run is gone; only a descriptor passed to a process outside the
	// run can hold the pipe open that long. 0 means DefaultOutputGrace.
	OutputGrace time.Duration
	// TempDir is the parent of the per-run workspaces; "" means
	// os.TempDir().
	TempDir string
	// Env is the environment pytest inherits, before the run's variables are
	// added; nil means os.Environ(). Set it to keep the worker's secrets
	// (e.g. the database URL) away from the tests.
	Env []string
	// Vars are variables every run gets, such as BATON_API_TOKEN (secret).
	Vars []Var
	// User, when set, is who the tests run as; it needs root. nil runs them
	// as the worker's own user.
	User *User
	// Cgroup is the cgroup v2 directory below which each run gets a cgroup
	// of its own (see DetectCgroup); "" for none.
	Cgroup string
	// Supervisor is the command that starts a run's supervisor; nil means
	// this binary re-executed with SupervisorCommand (a test binary must
	// then call SupervisorMain from TestMain when IsSupervisor).
	Supervisor []string
	// WarmSlots is how many warm slots StartWarm keeps ready: sessions
	// whose Python has imported pytest and waits for a run (warm.go).
	// 0 starts every run cold.
	WarmSlots int
	// Log receives what keeping warm slots has to report (slots that fail
	// to start, slots retired) and a run's clean-up problems once the run
	// has ended (Spec.Ended); nil means slog.Default().
	Log *slog.Logger

	warm atomic.Pointer[warmPool]
	// warmCheck overrides warmCheckEvery (tests).
	warmCheck time.Duration
}

// Stop is a context cancel cause (see context.WithCancelCause) saying how a
// stopped run must end, e.g. Stop{Status: domain.StatusCancelled, Reason:
// domain.ReasonCancelled} or Stop{Status: domain.StatusError, Reason:
// domain.ReasonWorkerShutdown}. Now skips the SIGTERM grace: for a run that
// is no longer this worker's, every moment it lives is a moment it may
// overlap with the environment's next run.
type Stop struct {
	Status domain.RunStatus
	Reason string
	Now    bool
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

// stopOf returns the Stop cause of a stopped run's context, if it has one.
func stopOf(ctx context.Context) (Stop, bool) {
	cause := context.Cause(ctx)
	var s Stop
	if errors.As(cause, &s) {
		return s, true
	}
	var sp *Stop
	if errors.As(cause, &sp) && sp != nil {
		return *sp, true
	}
	return Stop{}, false
}

// stopOutcome is the outcome of a run whose context ended.
func stopOutcome(ctx context.Context) domain.Outcome {
	if s, ok := stopOf(ctx); ok {
		return s.outcome()
	}
	return domain.Outcome{Status: domain.StatusError, Reason: domain.ReasonInterrupted}
}

// stopNow reports whether a stopped run must be killed without grace.
func stopNow(ctx context.Context) bool {
	s, ok := stopOf(ctx)
	return ok && s.Now
}

// stopLabel names a stop in the log; a user cancel reads "cancelled", a
// shutdown names its reason so the log explains itself.
func stopLabel(o domain.Outcome) string {
	if o.Status == domain.StatusCancelled {
		return "cancelled"
	}
	return "stopped (" + o.Reason + ")"
}

// environ returns the tests' environment: the inherited one, the
// variables of the runner and of the run, then Baton's own, which win.
// Each name appears once (the supervisor execs with exactly this list; with
// a duplicate, C's getenv and Python's os.environ would disagree).
func (r *Runner) environ(spec Spec, ws *workspace) []string {
	base := r.Env
	if base == nil {
		base = os.Environ()
	}
	env := append([]string(nil), base...)
	for _, vs := range [][]Var{r.Vars, spec.Vars} {
		for _, v := range vs {
			env = append(env, v.Name+"="+v.Value)
		}
	}
	env = append(env,
		"TEST_ENV_ID="+strconv.Itoa(spec.EnvironmentID),
		"TEST_ENV_NAME="+spec.EnvironmentName,
		"TEST_RUN_ID="+strconv.FormatInt(spec.RunID, 10),
		"REQUESTED_BY="+spec.RequestedBy,
		"BATON_API_URL="+spec.APIURL,
		"PYTHONUNBUFFERED=1",
		// Keeps __pycache__ (and pytest's rewritten-assert .pyc) out of the
		// test folders, which may be shared and read-only.
		"PYTHONDONTWRITEBYTECODE=1",
		// Temp files (pytest's tmp_path too) go with the run's workspace.
		"TMPDIR="+ws.tmp,
	)
	if spec.Fence > 0 {
		env = append(env, "TEST_ENV_FENCE="+strconv.FormatInt(spec.Fence, 10))
	}
	if u := r.User; u != nil {
		env = append(env, "HOME="+ws.home, "USER="+u.Name, "LOGNAME="+u.Name)
	}
	return dedupEnv(env)
}

// dedupEnv keeps the last value of each name, in the order names first
// appear.
func dedupEnv(env []string) []string {
	last := make(map[string]int, len(env))
	for i, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		last[name] = i
	}
	out := make([]string, 0, len(last))
	for i, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		if last[name] == i {
			out = append(out, kv)
		}
	}
	return out
}

func (r *Runner) killGrace() time.Duration {
	if r.KillGrace <= 0 {
		return DefaultKillGrace
	}
	return r.KillGrace
}

func (r *Runner) outputGrace() time.Duration {
	if r.OutputGrace <= 0 {
		return DefaultOutputGrace
	}
	return r.OutputGrace
}

// Run executes spec's invocations under a supervisor of their own and
// streams their combined stdout and stderr to out as it is produced,
// framed by Baton's own lines: the run first, each command, and how it
// ended. Secret values are masked. It returns only once every process the
// run started is gone; while some resist SIGKILL it keeps the run (and so
// its environment) and says so in the log.
//
// The run ends with spec.Timeout ({error, timeout}), with spec.Lease
// ({error, lease_expired}) or when ctx ends (the Stop cause of ctx, else
// {error, interrupted}); otherwise the outcome follows pytest's exit code
// and report. out should not block for long: pytest stalls while its output
// is not read. Errors writing to out are ignored so the child is always
// drained.
func (r *Runner) Run(ctx context.Context, spec Spec, out io.Writer) (o domain.Outcome) {
	ended := false
	if spec.Ended != nil {
		defer func() {
			if !ended {
				spec.Ended(o)
			}
		}()
	}
	started := time.Now()
	log := newRunLog(out, secretValues(r.Vars, spec.Vars))
	fence := ""
	if spec.Fence > 0 {
		fence = fmt.Sprintf(", fence %d", spec.Fence)
	}
	log.line("=== run %d in %s (environment %d%s) requested by %s%s ===",
		spec.RunID, spec.EnvironmentName, spec.EnvironmentID, fence, spec.RequestedBy, timeoutNote(spec.Timeout))

	startFailed := func(err error) domain.Outcome {
		log.line("=== failed to start pytest: %v ===", err)
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
		log.line("=== %s before start ===", stopLabel(o))
		return o
	}

	// A warm slot brings its session and workspace; without one, they are
	// made now.
	var slot *warmSlot
	cold := ""
	if p := r.warm.Load(); p != nil {
		slot, cold = p.take(ctx, spec, r.Python)
	}
	var ws *workspace
	var sess *session
	var err error
	if slot != nil {
		ws, sess = slot.ws, slot.sess
	} else if ws, err = newWorkspace(r.TempDir, spec.RunID, spec.Roots, r.User); err != nil {
		return startFailed(err)
	}
	env := r.environ(spec, ws)
	// Planned on the real paths (it reads the projects' config files); a
	// run user then reaches them through its mounts.
	invs, err := Plan(r.Python, spec, ws.work, env)
	if err != nil {
		if sess != nil {
			sess.close()
		}
		_ = ws.remove()
		return startFailed(err)
	}
	if slot != nil {
		if err := sess.arm(spec); err != nil {
			sess.close()
			_ = ws.remove()
			return startFailed(err)
		}
		cold = slot.coldReason(invs[0], env)
	} else {
		if sess, err = r.startSession(ws, spec, nil); err != nil {
			_ = ws.remove()
			return startFailed(err)
		}
		if sess.cgroup != "" {
			ws.recordCgroup(sess.cgroup)
		}
	}
	if sess.note != "" {
		log.line("=== note: %s ===", sess.note)
	}

	var sessions []domain.Outcome
	stopped := false
	// confirmed says the last invocation ended with the supervisor's word
	// that every process it started is gone (opDone), and so, with the
	// earlier ones, every process of the run.
	confirmed := false
	for i, inv := range invs {
		if len(invs) > 1 {
			log.line("=== project %d/%d: %s (root: %s) ===", i+1, len(invs), inv.Project, inv.Root)
		}
		if inv.Note != "" {
			log.line("=== note: %s ===", inv.Note)
		}
		switch {
		case i > 0:
		case slot != nil && cold == "":
			log.line("=== warm start: Python had imported pytest before the run (BATON_WARM_SLOTS) ===")
			if slot.waited > 0 {
				log.line("=== note: no warm slot was ready; the run waited %s for one to finish warming ===", roundDuration(slot.waited))
			}
		case cold != "":
			log.line("=== cold start: %s ===", cold)
		}
		log.line("$ cd %s && %s", shellQuote(inv.Dir), shellJoin(inv.Argv))
		invStarted := time.Now()
		res := r.invokeFirst(ctx, i, slot, cold, sess, ws.view(inv, env), spec.Lease, log)
		confirmed = res.failed == "" && res.supervisor == nil
		var o domain.Outcome
		if res.supervisor != nil {
			o, stopped = r.supervisorLost(ctx, sess, res, log, spec), true
		} else {
			o, stopped = conclude(ctx, res, inv, log, started, invStarted, spec)
		}
		if stopped {
			if rest := len(invs) - i - 1; rest > 0 {
				log.line("=== %d more project(s) not started ===", rest)
			}
			sessions = []domain.Outcome{o}
			break
		}
		sessions = append(sessions, o)
	}
	o = combine(sessions)
	if len(invs) > 1 && !stopped {
		log.line("=== %d pytest sessions ended after %s: %s ===", len(invs), roundDuration(time.Since(started)), describeOutcome(o))
	}
	for i := range o.Tests {
		o.Tests[i].NodeID = log.mask.maskString(o.Tests[i].NodeID)
		o.Tests[i].Message = log.mask.maskString(o.Tests[i].Message)
	}
	o.JUnitXML = log.mask.maskXML(o.JUnitXML)
	// The log's tail is stored as soon as the run's processes are gone:
	// while the supervisor exits (a few milliseconds: the kernel tears
	// down a Go process and its mount namespace) and the workspace is
	// removed, or while the caller records the run (Ended).
	if f, ok := out.(OutputFlusher); ok {
		f.FlushSoon()
	}
	if confirmed && spec.Ended != nil {
		// The end is final: the supervisor's exit and the workspace's
		// removal are the worker's business, not the run's.
		spec.Ended(o)
		ended = true
	}
	// The workspace goes only after the supervisor's exit: until then a
	// process of the run may be alive (a warm process after a failed
	// handoff), and the supervisor holds its lock.
	sess.close()
	if err := ws.remove(); err != nil {
		if ended {
			r.logger().Warn("could not remove a run's directory", "run_id", spec.RunID, "err", err)
		} else {
			log.line("=== could not remove the run's directory: %v ===", err)
		}
	}
	return o
}

// logger is where the runner reports what belongs to no run's log.
func (r *Runner) logger() *slog.Logger {
	if r.Log != nil {
		return r.Log
	}
	return slog.Default()
}

// OutputFlusher is implemented by a Run output that buffers (LogWriter):
// FlushSoon asks it to store what it holds now, without waiting. Run calls
// it as soon as the run's processes are gone, so that storing the log's tail
// overlaps with the rest of the clean-up.
type OutputFlusher interface {
	FlushSoon()
}

// invokeFirst runs invocation i of a run: the first one of a warm slot's
// run in its warm process, unless cold says why not (the warm process is
// then discarded and the invocation starts cold in the same session);
// every other one cold.
func (r *Runner) invokeFirst(ctx context.Context, i int, slot *warmSlot, cold string, sess *session, req execRequest, lease *Lease, log *runLog) result {
	if i > 0 || slot == nil {
		return sess.invoke(ctx, req, lease, log, r.outputGrace())
	}
	if cold == "" {
		res, warm := sess.handoff(ctx, req, lease, log, r.outputGrace())
		if warm {
			return res
		}
		log.line("=== the warm process had ended before the run; starting cold ===")
	} else if !sess.discard() {
		return result{supervisor: fmt.Errorf("the run's supervisor died (%s)", sess.exitState())}
	}
	return sess.invoke(ctx, req, lease, log, r.outputGrace())
}

// conclude writes how an invocation ended and returns its outcome; stopped
// says the run was stopped (timeout, lease, cancel, shutdown) or could not
// start, so no further invocation may run and o is the run's outcome.
func conclude(ctx context.Context, res result, inv Invocation, log *runLog, runStarted, invStarted time.Time, spec Spec) (domain.Outcome, bool) {
	took, ran := roundDuration(time.Since(runStarted)), roundDuration(time.Since(invStarted))
	if res.failed != "" {
		log.line("=== failed to start pytest: %s ===", res.failed)
		return domain.Outcome{Status: domain.StatusError, Reason: domain.ReasonStartFailed}, true
	}
	if len(res.leftovers) > 0 {
		log.line("=== killed %d process(es) the tests left running: %s ===", len(res.leftovers), joinProcs(res.leftovers))
	}
	if len(res.survivors) > 0 {
		log.line("=== the last surviving process is gone, %s after SIGKILL ===", roundDuration(res.killTook))
	}
	switch res.reason {
	case "":
	case killTimeout:
		log.line("=== timed out after %s: process tree killed ===", spec.Timeout)
		return domain.Outcome{Status: domain.StatusError, Reason: domain.ReasonTimeout}, true
	case killLeaseExpired:
		log.line("=== lease expired after %s: this worker could not prove in time that it still holds the run (no heartbeat confirmed by the database); process tree killed ===", took)
		return domain.Outcome{Status: domain.StatusError, Reason: domain.ReasonLeaseExpired}, true
	default:
		o := stopOutcome(ctx)
		log.line("=== %s: process tree killed after %s ===", stopLabel(o), took)
		return o, true
	}
	o, how := exitOutcome(res.code, res.sig)
	if code := o.ExitCode; code != nil && (*code == 0 || *code == 1 || *code == 5) {
		// Only a session that ran to its end (passed, failed, or found
		// no tests) writes a report; an interrupted one is partial.
		summary, tests, ok := readReport(inv)
		if !ok {
			log.line("=== pytest %s after %s ===", how, ran)
			log.line("=== pytest wrote no test report: the session did not finish (a test ended the process, e.g. os._exit), so its outcome is unknown ===")
			return domain.Outcome{Status: domain.StatusError, ExitCode: o.ExitCode, Reason: domain.ReasonReportMissing}, false
		}
		o.Summary, o.Tests = summary, tests
		o.JUnitXML, _ = os.ReadFile(inv.Report)
	}
	log.line("=== pytest %s after %s ===", how, ran)
	return o, false
}

// supervisorLost ends a run whose supervisor died under it. With a cgroup
// the worker kills what is left itself; without one, nothing can confirm
// the run's processes are gone, so the run keeps its environment until
// ctx ends (a cancel or the worker's shutdown), as the log explains.
func (r *Runner) supervisorLost(ctx context.Context, sess *session, res result, log *runLog, spec Spec) domain.Outcome {
	lost := domain.Outcome{Status: domain.StatusError, Reason: domain.ReasonSupervisorLost}
	if sess.cgroup != "" {
		c := openRunCgroup(sess.cgroup)
		for reported := false; ; {
			err := emptyCgroup(c, survivorReportAfter)
			if err == nil {
				break
			}
			if !reported {
				reported = true
				log.line("=== %v; the environment stays occupied by this run until they are gone ===", err)
			}
		}
		log.line("=== %v: the worker killed what was left of the run in its cgroup ===", res.supervisor)
		return lost
	}
	log.line("=== %v, and the run has no cgroup: its processes cannot be confirmed gone. Environment %d stays occupied by this run until it is cancelled or the worker stops ===",
		res.supervisor, spec.EnvironmentID)
	<-ctx.Done()
	return lost
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

// describeOutcome says how a run of several sessions ended.
func describeOutcome(o domain.Outcome) string {
	s := string(o.Status)
	if o.Reason != "" {
		s += " (" + o.Reason + ")"
	}
	if o.ExitCode != nil {
		s += fmt.Sprintf(", exit code %d", *o.ExitCode)
	}
	return s
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

// exitOutcome maps how pytest ended (its exit code, or the signal that
// killed it) to an outcome and a phrase for the log.
func exitOutcome(code, sig int) (domain.Outcome, string) {
	if sig != 0 {
		s := syscall.Signal(sig)
		return domain.Outcome{Status: domain.StatusError, Reason: domain.ReasonSignal},
			fmt.Sprintf("killed by signal %d (%s)", sig, s)
	}
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
