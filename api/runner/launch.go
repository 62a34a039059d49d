package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// This is the worker's side of a run's supervisor (supervisor.go): start
// it, hand it invocations one at a time, forward lease renewals and stop
// requests, and turn its reports into log lines and results.

// session is one run's supervisor, seen from the worker.
type session struct {
	cmd    *exec.Cmd
	conn   *net.UnixConn
	events chan packet // closed when the supervisor's end of the socket closes
	exited chan struct{}
	// cgroup is the run's cgroup, "" when it has none.
	cgroup string
	// note says why something the worker asked for is missing (a cgroup).
	note string
	// sent is the lease deadline the supervisor knows.
	sent time.Duration
	// A warm session's warm process (warm.go): its pid, the read end of
	// its output pipe (the run's output once it has one) and of its report.
	warmPID    int
	warmOut    *os.File
	warmReport *os.File
}

// supervisorArgv is how to start a supervisor: this very binary (even if it
// was replaced on disk since) with the hidden command.
func (r *Runner) supervisorArgv() []string {
	if len(r.Supervisor) > 0 {
		return r.Supervisor
	}
	return []string{"/proc/self/exe", SupervisorCommand}
}

// startSession starts the supervisor of a run and waits until it is ready.
// With warm set it is a warm session: the supervisor starts warm (the
// Python that waits for a run) at once, and the run's limits come later
// with arm.
func (r *Runner) startSession(ws *workspace, spec Spec, warm *execRequest) (*session, error) {
	conn, theirs, err := socketPair()
	if err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	defer theirs.Close()
	argv := r.supervisorArgv()
	cmd := exec.Command(argv[0], argv[1:]...)
	// Its fd 3 is the socket and fd 4 the workspace lock, which it holds
	// for as long as it lives (see workspace.go).
	cmd.ExtraFiles = []*os.File{theirs, ws.lock}
	// Nothing of the worker's environment: the tests' environment comes
	// with each invocation, and the worker's (DATABASE_URL) is none of the
	// supervisor's business.
	cmd.Env = []string{}
	cmd.Dir = "/"
	cmd.Stderr = os.Stderr // only for a crash report
	// Its own session: signals to the worker's process group (Ctrl-C,
	// kill -STOP -pgid) must not reach the process that enforces the
	// lease. No parent-death signal: when the worker dies, the supervisor
	// must live on long enough to kill the run.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if len(ws.mounts) > 0 {
		cmd.SysProcAttr.Unshareflags = syscall.CLONE_NEWNS
	}
	if err := cmd.Start(); err != nil {
		conn.Close()
		return nil, fmt.Errorf("start supervisor %s: %w", argv[0], err)
	}
	s := &session{cmd: cmd, conn: conn, events: make(chan packet, 16), exited: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(s.exited)
	}()
	go s.read()

	cfg := &supervisorConfig{
		RunID: spec.RunID, Timeout: int64(spec.Timeout), KillGrace: int64(r.killGrace()),
		CgroupParent: r.Cgroup, Mounts: ws.mounts, Warm: warm,
	}
	if r.Cgroup != "" {
		cfg.CgroupName = "run-" + ws.suffix()
	}
	if spec.Lease != nil {
		d, _ := spec.Lease.Deadline()
		cfg.Deadline, s.sent = int64(d), d
	}
	if u := r.User; u != nil {
		cfg.UID, cfg.GID = &u.UID, &u.GID
	}
	if err := send(conn, packet{Op: opInit, Config: cfg}); err != nil {
		s.abandon()
		return nil, fmt.Errorf("supervisor: %w", err)
	}
	select {
	case ev, ok := <-s.events:
		if !ok || ev.Op != opReady {
			s.abandon()
			return nil, fmt.Errorf("supervisor %s did not start (exit: %v)", argv[0], s.cmd.ProcessState)
		}
		s.cgroup, s.note = ev.Cgroup, ev.Note
	case <-time.After(time.Minute):
		s.abandon()
		return nil, errors.New("supervisor did not answer within a minute")
	}
	if warm == nil {
		return s, nil
	}
	if s.note != "" && r.Cgroup != "" {
		// A run gets a cgroup or says why not; a warm slot that has none
		// would make every run it serves say so. Cold runs say it instead.
		s.close()
		return nil, errors.New(s.note)
	}
	select {
	case ev, ok := <-s.events:
		switch {
		case ok && ev.Op == opWarm && len(ev.fds) == 2:
			s.warmPID = ev.PID
			s.warmOut, s.warmReport = os.NewFile(uintptr(ev.fds[0]), "warm-output"), os.NewFile(uintptr(ev.fds[1]), "warm-report")
			return s, nil
		case ok && ev.Op == opWarmGone:
			closeFds(ev.fds)
			s.close()
			return nil, errors.New(ev.Note)
		}
		closeFds(ev.fds)
		s.close()
		return nil, fmt.Errorf("supervisor answered %q to a warm start", ev.Op)
	case <-time.After(time.Minute):
		s.close()
		return nil, errors.New("supervisor did not start the warm process within a minute")
	}
}

func (s *session) read() {
	defer close(s.events)
	buf, oob := make([]byte, maxPacket), make([]byte, 64)
	for {
		m, err := receive(s.conn, buf, oob)
		if err != nil {
			return
		}
		s.events <- m
	}
}

// abandon gives up on a supervisor that never became ready; with no
// invocation started it has no processes to kill.
func (s *session) abandon() {
	s.conn.Close()
	_ = s.cmd.Process.Kill()
	<-s.exited
}

// close ends the session: the supervisor sees its socket close, makes
// sure nothing of the run is left, removes the cgroup and exits.
func (s *session) close() {
	for _, f := range []*os.File{s.warmOut, s.warmReport} {
		if f != nil {
			f.Close()
		}
	}
	s.conn.Close()
	select {
	case <-s.exited:
	case <-time.After(30 * time.Second):
		// It only lingers while processes resist SIGKILL, and then it
		// keeps killing on its own; the run's result is recorded anyway.
	}
}

// result is how one invocation ended.
type result struct {
	// failed says why the invocation could not start; "" if it started.
	failed string
	// reason is why the supervisor killed it (a kill* constant or a Stop
	// reason); "" when it ended on its own.
	reason     string
	code, sig  int
	leftovers  []procInfo
	survivors  []procInfo
	killTook   time.Duration
	supervisor error // the supervisor died: the run's end is not confirmed by it
}

// invoke runs inv under the supervisor and returns once every process it
// started is gone (or the supervisor died). It forwards lease extensions
// and, when ctx ends, a stop request, and streams the output to log.
func (s *session) invoke(ctx context.Context, inv execRequest, lease *Lease, log *runLog, outputGrace time.Duration) result {
	pr, pw, err := os.Pipe()
	if err != nil {
		return result{failed: err.Error()}
	}
	body, err := memfdJSON(inv)
	if err != nil {
		pr.Close()
		pw.Close()
		return result{failed: err.Error()}
	}
	err = send(s.conn, packet{Op: opExec}, int(pw.Fd()), int(body.Fd()))
	pw.Close() // only the run's processes may hold the write end, or EOF never comes
	body.Close()
	if err != nil {
		pr.Close()
		return result{failed: "supervisor: " + err.Error()}
	}
	return s.await(ctx, pr, lease, log, outputGrace)
}

// await follows a started invocation whose output is pr until every
// process it started is gone (or the supervisor died); see invoke.
func (s *session) await(ctx context.Context, pr *os.File, lease *Lease, log *runLog, outputGrace time.Duration) result {
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		drain(pr, log)
	}()

	var res result
	var leaseC <-chan struct{}
	if lease != nil {
		s.renew(lease)
		_, leaseC = lease.Deadline()
	}
	done := ctx.Done()
loop:
	for {
		select {
		case ev, ok := <-s.events:
			if !ok {
				res.supervisor = fmt.Errorf("the run's supervisor died (%s)", s.exitState())
				break loop
			}
			switch ev.Op {
			case opFailed:
				res.failed = ev.Note
				break loop
			case opSurvivors:
				res.survivors = ev.Procs
				log.line("=== %d process(es) of this run survive SIGKILL: %s; the environment stays occupied by this run until they are gone ===",
					len(ev.Procs), joinProcs(ev.Procs))
			case opDone:
				res.reason, res.code, res.sig, res.leftovers = ev.Reason, ev.Code, ev.Signal, ev.Procs
				res.killTook = time.Duration(ev.KillNs)
				break loop
			}
		case <-leaseC:
			s.renew(lease)
			_, leaseC = lease.Deadline()
		case <-done:
			done = nil
			o := stopOutcome(ctx)
			_ = send(s.conn, packet{Op: opStop, Reason: o.Reason, Now: stopNow(ctx)})
		}
	}
	if res.failed != "" {
		pr.Close() // nothing started, so nothing will write
		<-drained
		return res
	}
	// Every process that could write is gone now (unless the supervisor
	// died), so EOF is immediate, short of a descriptor passed to a process
	// outside the run.
	t := time.NewTimer(outputGrace)
	defer t.Stop()
	select {
	case <-drained:
	case <-t.C:
		pr.Close()
		<-drained
		log.endOutput()
		log.line("=== a process outside the run still holds its output open; stopped reading ===")
	}
	pr.Close()
	log.endOutput()
	return res
}

// renew tells the supervisor the lease's new deadline, if it moved.
func (s *session) renew(lease *Lease) {
	if d, _ := lease.Deadline(); d > s.sent {
		if send(s.conn, packet{Op: opRenew, Deadline: int64(d)}) == nil {
			s.sent = d
		}
	}
}

func (s *session) exitState() string {
	select {
	case <-s.exited:
		return s.cmd.ProcessState.String()
	case <-time.After(time.Second):
		return "still running"
	}
}

// memfdJSON returns an anonymous in-memory file holding v as JSON: an
// invocation's environment and arguments may exceed a packet.
func memfdJSON(v any) (*os.File, error) {
	fd, err := unix.MemfdCreate("baton-invocation", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("memfd_create: %w", err)
	}
	f := os.NewFile(uintptr(fd), "invocation")
	if err := json.NewEncoder(f).Encode(v); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// readMemfdJSON decodes the JSON in a memfd written by memfdJSON; it reads
// with pread and leaves fd open (the caller owns it).
func readMemfdJSON(fd int, v any) error {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return err
	}
	b := make([]byte, st.Size)
	for off := 0; off < len(b); {
		n, err := unix.Pread(fd, b[off:], int64(off))
		if err != nil {
			return err
		}
		if n == 0 {
			return errors.New("invocation truncated")
		}
		off += n
	}
	return json.Unmarshal(b, v)
}

// arm gives a warm session to run spec: from now on its lease and its
// timeout count, as they do from a cold session's start.
func (s *session) arm(spec Spec) error {
	m := packet{Op: opArm, RunID: spec.RunID, Timeout: int64(spec.Timeout)}
	if spec.Lease != nil {
		d, _ := spec.Lease.Deadline()
		m.Deadline = int64(d)
	}
	if err := send(s.conn, m); err != nil {
		return fmt.Errorf("supervisor: %w", err)
	}
	s.sent = time.Duration(m.Deadline)
	return nil
}

// promote asks for the warm process to get a run's CPU priority: a run is
// waiting for it to finish warming.
func (s *session) promote() { _ = send(s.conn, packet{Op: opPromote}) }

// handoff runs inv in the session's warm process, like invoke in a new one.
// warm is false when the warm process was gone by then (res is then
// empty): the caller starts inv cold in the same session instead.
func (s *session) handoff(ctx context.Context, inv execRequest, lease *Lease, log *runLog, outputGrace time.Duration) (res result, warm bool) {
	body, err := memfdJSON(inv)
	if err != nil {
		return result{failed: err.Error()}, true
	}
	err = send(s.conn, packet{Op: opGo}, int(body.Fd()))
	body.Close()
	if err != nil {
		return result{failed: "supervisor: " + err.Error()}, true
	}
	done := ctx.Done()
	for {
		select {
		case ev, ok := <-s.events:
			if !ok {
				return result{supervisor: fmt.Errorf("the run's supervisor died (%s)", s.exitState())}, true
			}
			switch ev.Op {
			case opStarted:
				out := s.warmOut
				s.warmOut = nil
				return s.await(ctx, out, lease, log, outputGrace), true
			case opWarmGone:
				return result{}, false
			case opFailed:
				return result{failed: ev.Note}, true
			case opDone: // stopped before the handoff
				return result{reason: ev.Reason}, true
			}
		case <-done:
			done = nil
			o := stopOutcome(ctx)
			_ = send(s.conn, packet{Op: opStop, Reason: o.Reason, Now: stopNow(ctx)})
		}
	}
}

// discard kills the warm process unused and returns once it is gone, so
// the session can run the first invocation cold. ok is false when the
// supervisor died meanwhile.
func (s *session) discard() (ok bool) {
	if err := send(s.conn, packet{Op: opDiscard}); err != nil {
		return false
	}
	for ev := range s.events {
		if ev.Op == opWarmGone {
			return true
		}
	}
	return false
}
