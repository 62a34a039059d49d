package runner

import (
	"fmt"
	"net"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// The supervisor is a small process per run: the baton binary re-executed
// as `baton supervise` by the worker (see launch.go), with the worker's end
// of a socket pair as its fd 3. It exists so that the rules of a run hold
// whatever happens to the worker:
//
//   - It is the child subreaper of the run (PR_SET_CHILD_SUBREAPER): every
//     process the run starts stays below it, because an orphan — pytest's
//     child after pytest exits, a double-forked daemon, a setsid()ed
//     session — is re-parented to it rather than to init. So "no child
//     left" (wait4 → ECHILD) means no process of the run is left, with or
//     without a cgroup.
//   - It puts the run's processes in a cgroup of their own when one is
//     usable (cgroup.go), and kills with cgroup.kill and the tree walk
//     together.
//   - It holds the lease deadline (a CLOCK_BOOTTIME timerfd) and kills the
//     whole run at once when renewals stop coming, when the worker's end of
//     the socket closes (the worker died), at the run's timeout and when
//     the worker says so (cancel, shutdown). It runs in its own session,
//     so a signal to the worker's process group (Ctrl-C, kill -STOP -pgid)
//     does not reach it.
//   - It reports every invocation as done only once every process the
//     invocation started is confirmed gone; while some survive SIGKILL it
//     says which and keeps trying, and the worker keeps the environment.
//
// It is single-threaded in spirit: one goroutine, locked to the main OS
// thread, forks, reaps and decides; the others only turn the socket, the
// timerfd and signals into channel receives. Pytest's parent-death signal
// is tied to the forking thread, hence the lock: if the supervisor itself
// is killed, pytest goes with it.

// SupervisorCommand is the hidden argument that makes the baton binary a
// run's supervisor.
const SupervisorCommand = "supervise"

// IsSupervisor reports whether this process was started as a run's
// supervisor; its main must then call SupervisorMain and nothing else.
func IsSupervisor() bool { return len(os.Args) == 2 && os.Args[1] == SupervisorCommand }

// survivorReportAfter is how long processes may resist SIGKILL before the
// worker is told (and writes in the run's log) which ones; killing goes on.
const survivorReportAfter = 3 * time.Second

// Kill rounds while processes remain: quick at first, since most die at
// once, then slower for those stuck in the kernel.
const (
	firstCheck = 2 * time.Millisecond
	maxCheck   = 250 * time.Millisecond
)

// SupervisorMain runs a supervisor until its run is over and returns the
// process's exit code.
func SupervisorMain() int {
	runtime.LockOSThread()
	err := superviseFd3()
	if err != nil {
		fmt.Fprintf(os.Stderr, "baton supervise: %v\n", err)
		return 1
	}
	return 0
}

func superviseFd3() error {
	// Nobody may read the supervisor's memory (it holds the tests'
	// environment, secrets included) or ptrace it, not even processes of
	// the same user: a non-dumpable process's /proc files belong to root.
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		return fmt.Errorf("PR_SET_DUMPABLE: %w", err)
	}
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("PR_SET_CHILD_SUBREAPER: %w", err)
	}
	// A write to a dead worker's stderr pipe must fail, not kill the
	// supervisor before it has killed the run.
	signal.Ignore(syscall.SIGPIPE, syscall.SIGHUP, syscall.SIGINT)
	for _, fd := range []int{3, 4} {
		unix.CloseOnExec(fd) // fd 4, if any, is the work directory's lock
	}
	f := os.NewFile(3, "control")
	c, err := net.FileConn(f)
	f.Close()
	if err != nil {
		return fmt.Errorf("control socket (fd 3): %w", err)
	}
	conn, ok := c.(*net.UnixConn)
	if !ok {
		return fmt.Errorf("fd 3 is not a unix socket")
	}
	s, err := newSupervisor(conn)
	if err != nil {
		return err
	}
	return s.run()
}

type supervisor struct {
	conn    *net.UnixConn
	outbox  chan packet
	cfg     supervisorConfig
	self    int
	cg      *runCgroup
	cred    *syscall.Credential
	devnull *os.File

	timerfd  *os.File
	deadline int64
	// poison is why no further invocation may start: the run was stopped,
	// timed out, lost its lease or lost its worker.
	poison string
	closed bool // the worker's end of the socket is gone

	inv *invocation
}

// invocation is the one running now.
type invocation struct {
	pid    int
	status *unix.WaitStatus // the main process's, once reaped
	// reason is why the supervisor is killing it; "" while it runs, or ran,
	// on its own.
	reason    string
	termSent  bool
	grace     *time.Timer
	hard      bool // SIGKILL sent
	hardSince time.Time
	leftovers []procInfo
	reported  bool
	checkIn   time.Duration
}

func newSupervisor(conn *net.UnixConn) (*supervisor, error) {
	buf, oob := make([]byte, maxPacket), make([]byte, 256)
	first, err := receive(conn, buf, oob)
	if err != nil {
		return nil, fmt.Errorf("read init: %w", err)
	}
	if first.Op != opInit || first.Config == nil {
		return nil, fmt.Errorf("first packet is %q, not init", first.Op)
	}
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		return nil, err
	}
	s := &supervisor{conn: conn, outbox: make(chan packet, 64), cfg: *first.Config, self: os.Getpid(),
		devnull: devnull, deadline: first.Config.Deadline}
	if s.cfg.UID != nil && s.cfg.GID != nil {
		s.cred = &syscall.Credential{Uid: *s.cfg.UID, Gid: *s.cfg.GID, Groups: []uint32{}}
	}
	return s, nil
}

func (s *supervisor) run() error {
	go s.writer()
	ready := packet{Op: opReady}
	if err := s.mount(); err != nil {
		// Without the mounts the run user could not reach the tests;
		// nothing can run.
		s.poison = "start_failed"
		ready.Note = err.Error()
	}
	if s.cfg.CgroupParent != "" {
		cg, err := createRunCgroup(s.cfg.CgroupParent, s.cfg.CgroupName)
		if err != nil {
			ready.Note = joinNote(ready.Note, fmt.Sprintf("no cgroup for this run (%v); processes are tracked as the supervisor's descendants", err))
		} else {
			s.cg = cg
			ready.Cgroup = cg.path
		}
	}
	leaseC, err := s.startLeaseTimer()
	if err != nil {
		return err
	}
	s.arm()
	sigchld := make(chan os.Signal, 1)
	signal.Notify(sigchld, syscall.SIGCHLD)
	// SIGTERM to the supervisor itself (an operator, a service manager)
	// ends the run as if the worker were gone.
	sigterm := make(chan os.Signal, 1)
	signal.Notify(sigterm, syscall.SIGTERM)
	s.send(ready)

	msgs := make(chan packet)
	go s.reader(msgs)

	var timeoutC <-chan time.Time
	if s.cfg.Timeout > 0 {
		t := time.NewTimer(time.Duration(s.cfg.Timeout))
		defer t.Stop()
		timeoutC = t.C
	}
	check := time.NewTimer(time.Hour)
	check.Stop()
	for {
		var graceC <-chan time.Time
		if s.inv != nil && s.inv.grace != nil {
			graceC = s.inv.grace.C
		}
		select {
		case m, ok := <-msgs:
			if !ok {
				msgs = nil
				s.closed = true
				s.kill(killWorkerGone, true)
			} else {
				s.handle(m)
			}
		case <-sigchld:
		case <-sigterm:
			s.closed = true
			s.kill(killWorkerGone, true)
		case <-leaseC:
			if s.deadline > 0 && int64(Boottime()) >= s.deadline {
				s.kill(killLeaseExpired, true)
			}
		case <-timeoutC:
			s.kill(killTimeout, false)
		case <-graceC:
			s.inv.grace = nil
			s.hardKill()
		case <-check.C:
		}
		if next := s.advance(); next > 0 {
			check.Reset(next)
		}
		if s.closed && s.inv == nil {
			break
		}
	}
	if s.cg != nil {
		// Empty by now; a failure leaves an empty directory for the
		// worker's leftover sweep.
		_ = s.cg.remove()
	}
	return nil
}

func joinNote(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// mount makes the configured bind mounts, in the supervisor's private
// mount namespace (the worker started it with CLONE_NEWNS, and Go made the
// namespace's mounts private, so nothing propagates to the host).
func (s *supervisor) mount() error {
	for _, m := range s.cfg.Mounts {
		if err := unix.Mount(m.Source, m.Target, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return fmt.Errorf("bind-mount %s on %s: %w", m.Source, m.Target, err)
		}
	}
	return nil
}

// startLeaseTimer returns a channel that receives when the lease timerfd
// fires. The timer is absolute on CLOCK_BOOTTIME: it fires at the deadline
// even if the host was suspended meanwhile.
func (s *supervisor) startLeaseTimer() (<-chan struct{}, error) {
	fd, err := unix.TimerfdCreate(unix.CLOCK_BOOTTIME, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("timerfd_create: %w", err)
	}
	s.timerfd = os.NewFile(uintptr(fd), "lease-timer")
	c := make(chan struct{}, 1)
	go func() {
		b := make([]byte, 8)
		for {
			if _, err := s.timerfd.Read(b); err != nil {
				return
			}
			select {
			case c <- struct{}{}:
			default:
			}
		}
	}()
	return c, nil
}

// arm sets the lease timer to the current deadline.
func (s *supervisor) arm() {
	if s.deadline <= 0 {
		return
	}
	spec := unix.ItimerSpec{Value: unix.NsecToTimespec(s.deadline)}
	if err := unix.TimerfdSettime(int(s.timerfd.Fd()), unix.TFD_TIMER_ABSTIME, &spec, nil); err != nil {
		// A lease that cannot be timed is no lease.
		s.kill(killLeaseExpired, true)
	}
}

func (s *supervisor) reader(msgs chan<- packet) {
	defer close(msgs)
	buf, oob := make([]byte, maxPacket), make([]byte, unix.CmsgSpace(4*8))
	for {
		m, err := receive(s.conn, buf, oob)
		if err != nil {
			return
		}
		msgs <- m
	}
}

// writer sends queued messages, so a worker that does not read (it is
// frozen) never blocks the supervisor.
func (s *supervisor) writer() {
	for m := range s.outbox {
		if s.conn != nil {
			_ = send(s.conn, m)
		}
	}
}

func (s *supervisor) send(m packet) {
	select {
	case s.outbox <- m:
	default: // a worker that stopped reading loses reports, never the kill
	}
}

func (s *supervisor) handle(m packet) {
	switch m.Op {
	case opRenew:
		// An expired lease stays expired: the run was killed for it.
		if s.poison != killLeaseExpired && m.Deadline > s.deadline {
			s.deadline = m.Deadline
			s.arm()
		}
	case opStop:
		s.kill(m.Reason, m.Now)
	case opExec:
		s.exec(m)
	}
}

// exec starts an invocation: m.fds are its output pipe and a memfd with
// the execRequest.
func (s *supervisor) exec(m packet) {
	defer closeFds(m.fds)
	switch {
	case len(m.fds) != 2:
		s.send(packet{Op: opFailed, Note: "exec without output pipe and invocation"})
		return
	case s.inv != nil:
		s.send(packet{Op: opFailed, Note: "an invocation is still running"})
		return
	case s.poison != "":
		s.send(packet{Op: opDone, Reason: s.poison})
		return
	}
	var inv execRequest
	if err := readMemfdJSON(m.fds[1], &inv); err != nil {
		s.send(packet{Op: opFailed, Note: "read invocation: " + err.Error()})
		return
	}
	if len(inv.Argv) == 0 {
		s.send(packet{Op: opFailed, Note: "empty command"})
		return
	}
	out := uintptr(m.fds[0])
	sys := &syscall.SysProcAttr{
		// Its own group, so SIGTERM reaches pytest and the children it
		// did not move elsewhere; the rest is found by the tree walk.
		Setpgid: true,
		// pytest dies with the supervisor, should it be killed.
		Pdeathsig:  syscall.SIGKILL,
		Credential: s.cred,
	}
	if s.cg != nil {
		sys.UseCgroupFD, sys.CgroupFD = true, int(s.cg.dir.Fd())
	}
	pid, err := syscall.ForkExec(inv.Argv[0], inv.Argv, &syscall.ProcAttr{
		Dir: inv.Dir, Env: inv.Env, Files: []uintptr{s.devnull.Fd(), out, out}, Sys: sys,
	})
	if err != nil {
		s.send(packet{Op: opFailed, Note: err.Error()})
		return
	}
	s.inv = &invocation{pid: pid, checkIn: firstCheck}
	s.send(packet{Op: opStarted, PID: pid})
}

// kill ends the run: no invocation may start any more, and the running
// one is killed, at once or after SIGTERM and the kill grace.
func (s *supervisor) kill(reason string, now bool) {
	if s.poison == "" {
		s.poison = reason
	}
	inv := s.inv
	if inv == nil {
		return
	}
	if inv.status == nil && inv.reason == "" {
		inv.reason = reason
		s.send(packet{Op: opKilling, Reason: reason})
	}
	if now || inv.status != nil {
		s.hardKill()
		return
	}
	if !inv.termSent {
		inv.termSent = true
		_ = unix.Kill(-inv.pid, unix.SIGTERM)
		inv.grace = time.NewTimer(time.Duration(s.cfg.KillGrace))
	}
}

// hardKill sends SIGKILL to every process of the invocation.
func (s *supervisor) hardKill() {
	inv := s.inv
	if inv == nil {
		return
	}
	if !inv.hard {
		inv.hard, inv.hardSince = true, time.Now()
		if inv.grace != nil {
			inv.grace.Stop()
			inv.grace = nil
		}
	}
	if s.cg != nil {
		_ = s.cg.kill()
	}
	if inv.status == nil {
		_ = unix.Kill(-inv.pid, unix.SIGKILL)
	}
	for _, p := range descendants(s.self) {
		signalDescendant(s.self, p.pid, unix.SIGKILL)
	}
}

// reap collects every exited child, recording the main process's status,
// and reports whether any child is left.
func (s *supervisor) reap() (children bool) {
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		switch {
		case err == unix.EINTR:
			continue
		case err != nil: // ECHILD
			return false
		case pid == 0:
			return true
		}
		if s.inv != nil && pid == s.inv.pid && s.inv.status == nil {
			st := ws
			s.inv.status = &st
		}
	}
}

// empty reports whether no process of the run is left.
func (s *supervisor) empty() bool {
	if s.reap() {
		return false
	}
	if s.cg != nil {
		if populated, err := s.cg.populated(); populated || err != nil {
			return false
		}
	}
	return true
}

// advance moves the running invocation on after any event: once its main
// process has exited, whatever it left is killed, and when nothing is left
// the invocation is done. It returns when to look again (0: an event will
// wake the loop).
func (s *supervisor) advance() time.Duration {
	inv := s.inv
	if inv == nil {
		s.reap() // nothing can be left, but never leave a zombie
		return 0
	}
	empty := s.empty() // reaps, so it may record the main process's end
	switch {
	case inv.status == nil && !inv.hard:
		return 0 // running, or in its SIGTERM grace: SIGCHLD or a timer wakes us
	case inv.status != nil && empty:
		s.finish()
		return 0
	case inv.status != nil && !inv.hard && inv.reason == "":
		// pytest ended on its own and left processes behind.
		inv.leftovers = s.leftovers()
	}
	s.hardKill()
	if !inv.reported && time.Since(inv.hardSince) >= survivorReportAfter {
		inv.reported = true
		s.send(packet{Op: opSurvivors, Procs: s.survivors()})
	}
	next := inv.checkIn
	inv.checkIn = min(2*inv.checkIn, maxCheck)
	return next
}

// leftovers names the processes still alive in the run.
func (s *supervisor) leftovers() []procInfo {
	return infos(descendants(s.self))
}

// survivors names what resists SIGKILL, with its state ("D": stuck in the
// kernel), from the tree and the cgroup.
func (s *supervisor) survivors() []procInfo {
	seen := map[int]bool{}
	var out []procInfo
	for _, p := range descendants(s.self) {
		seen[p.pid] = true
		out = append(out, describeProc(p.pid))
	}
	if s.cg != nil {
		for _, pid := range s.cg.procs() {
			if !seen[pid] {
				out = append(out, describeProc(pid))
			}
		}
	}
	return out
}

// finish reports the invocation done: every process it started is gone.
func (s *supervisor) finish() {
	inv := s.inv
	s.inv = nil
	done := packet{Op: opDone, Reason: inv.reason, Procs: inv.leftovers}
	if inv.hard {
		done.KillNs = int64(time.Since(inv.hardSince))
	}
	if inv.status != nil {
		if inv.status.Signaled() {
			done.Signal = int(inv.status.Signal())
		} else {
			done.Code = inv.status.ExitStatus()
		}
	}
	s.send(done)
}
