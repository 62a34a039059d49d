package runner

import (
	"fmt"
	"net"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
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
	// Nor may a descriptor the worker inherited from whoever started it
	// (a shell, a service manager) and passed on to this process reach
	// the tests: exec keeps every descriptor not marked close-on-exec.
	_ = unix.CloseRange(5, ^uint(0), unix.CLOSE_RANGE_CLOEXEC)
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
	conn   *net.UnixConn
	outbox chan packet
	cfg    supervisorConfig
	self   int
	cg     *runCgroup
	// leaf is the cgroup, below cg, of the invocation (or warm process)
	// now running: each gets a fresh one, because a process cloned into a
	// cgroup that cgroup.kill was ever used on is killed at once on some
	// kernels (seen on 6.18), and a run goes on after killing what one
	// invocation left behind. nil without cg, or when one could not be
	// made (processes then go straight into cg).
	leaf    *runCgroup
	leaves  int // made so far, to name the next
	cred    *syscall.Credential
	devnull *os.File

	timerfd  *os.File
	deadline int64
	// timeout ends the run at its time limit; nil until the run has one.
	timeout *time.Timer
	// poison is why no further invocation may start: the run was stopped,
	// timed out, lost its lease or lost its worker.
	poison string
	closed bool // the worker's end of the socket is gone

	inv *invocation
	// warm is the warm process's side of a warm session (warm.go).
	warm *warmProc
}

// warmProc is what the supervisor keeps of its warm process.
type warmProc struct {
	req *os.File // the write end of its request pipe (its fd 3)
	// sched is the scheduling a run's processes have, the supervisor's
	// own: the warm process waits at SCHED_IDLE and gets this back when a
	// run wants it. nil when the supervisor could not give it back (it
	// lacks CAP_SYS_NICE), and so never lowers it.
	sched *unix.SchedAttr
}

// invocation is the one running now.
type invocation struct {
	pid int
	// warm says this is a warm process no run has been handed yet: its end
	// is opWarmGone, not opDone.
	warm   bool
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

	if s.cfg.Warm == nil {
		s.startTimeout(s.cfg.Timeout)
	} else if s.poison == "" {
		s.startWarm()
	}
	check := time.NewTimer(time.Hour)
	check.Stop()
	for {
		var graceC, timeoutC <-chan time.Time
		if s.inv != nil && s.inv.grace != nil {
			graceC = s.inv.grace.C
		}
		if s.timeout != nil {
			timeoutC = s.timeout.C
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
			_ = send(s.conn, m, m.give...)
		}
		closeFds(m.give)
	}
}

func (s *supervisor) send(m packet) {
	select {
	case s.outbox <- m:
	default: // a worker that stopped reading loses reports, never the kill
		closeFds(m.give)
	}
}

// startTimeout starts the run's time limit (0: none), once.
func (s *supervisor) startTimeout(d int64) {
	if d > 0 && s.timeout == nil {
		s.timeout = time.NewTimer(time.Duration(d))
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
	case opArm:
		// Before the process that will run user code gets anything.
		s.cfg.RunID = m.RunID
		if s.poison != killLeaseExpired && m.Deadline > s.deadline {
			s.deadline = m.Deadline
			s.arm()
		}
		s.startTimeout(m.Timeout)
	case opGo:
		s.handOver(m)
	case opDiscard:
		if inv := s.inv; inv != nil && inv.warm {
			inv.reason = "discarded"
			s.hardKill()
		} else if inv == nil {
			s.send(packet{Op: opWarmGone, Note: "gone before the run"})
		}
	case opPromote:
		if inv := s.inv; inv != nil && inv.warm {
			_ = s.restorePriority()
		}
	}
}

// procAttr is how a run's process is started: in a process group of its
// own, so SIGTERM reaches pytest and the children it did not move
// elsewhere (the tree walk finds the rest); dying with the supervisor,
// should it be killed; as the run user; in the run's cgroup.
func (s *supervisor) procAttr() *syscall.SysProcAttr {
	sys := &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL, Credential: s.cred}
	if s.cg != nil {
		cg := s.cg
		s.leaves++
		if leaf, err := createRunCgroup(s.cg.path, "inv-"+strconv.Itoa(s.leaves)); err == nil {
			s.leaf, cg = leaf, leaf
		}
		sys.UseCgroupFD, sys.CgroupFD = true, int(cg.dir.Fd())
	}
	return sys
}

// dropLeaf removes the cgroup of an invocation that has failed to start
// or whose processes are all gone.
func (s *supervisor) dropLeaf() {
	if s.leaf != nil {
		_ = s.leaf.remove()
		s.leaf = nil
	}
}

// startWarm starts the warm process of a warm session exactly as exec
// starts a run's pytest (same user, group, cgroup, parent-death signal,
// stdin), with the run's output pipe as its stdout and stderr, a request
// pipe as fd 3 and a report pipe as fd 4; the worker gets the read ends of
// output and report. It waits at SCHED_IDLE, so that warming a slot never
// takes CPU from a run, when the supervisor can give the run's priority
// back (restorePriority); otherwise at the run's own.
func (s *supervisor) startWarm() {
	w := s.cfg.Warm
	fail := func(err error) { s.send(packet{Op: opWarmGone, Note: "start the warm process: " + err.Error()}) }
	var ends [6]*os.File // out r/w, req r/w, report r/w
	for i := 0; i < 6; i += 2 {
		r, wr, err := os.Pipe()
		if err != nil {
			for _, f := range ends[:i] {
				f.Close()
			}
			fail(err)
			return
		}
		ends[i], ends[i+1] = r, wr
	}
	outR, outW, reqR, reqW, repR, repW := ends[0], ends[1], ends[2], ends[3], ends[4], ends[5]
	pid, err := syscall.ForkExec(w.Argv[0], w.Argv, &syscall.ProcAttr{
		Dir: w.Dir, Env: w.Env, Files: []uintptr{s.devnull.Fd(), outW.Fd(), outW.Fd(), reqR.Fd(), repW.Fd()}, Sys: s.procAttr(),
	})
	outW.Close()
	reqR.Close()
	repW.Close()
	if err != nil {
		s.dropLeaf()
		outR.Close()
		reqW.Close()
		repR.Close()
		fail(err)
		return
	}
	wp := &warmProc{req: reqW}
	if canRaisePriority() {
		if own, err := unix.SchedGetAttr(0, 0); err == nil {
			idle := *own
			idle.Policy, idle.Nice, idle.Priority, idle.Flags = unix.SCHED_IDLE, 0, 0, 0
			if unix.SchedSetAttr(pid, &idle, 0) == nil {
				wp.sched = own
			}
		}
	}
	s.warm = wp
	s.inv = &invocation{pid: pid, warm: true, checkIn: firstCheck}
	// Dup'ed for the message: the writer closes what it sends.
	s.send(packet{Op: opWarm, PID: pid, give: []int{dupFd(outR), dupFd(repR)}})
	outR.Close()
	repR.Close()
}

// dupFd returns a close-on-exec copy of f's descriptor (-1 on failure, which
// the message then lacks).
func dupFd(f *os.File) int {
	fd, err := unix.FcntlInt(f.Fd(), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return -1
	}
	return fd
}

// restorePriority gives the warm process the scheduling of a run's
// processes back, once.
func (s *supervisor) restorePriority() error {
	w := s.warm
	if w == nil || w.sched == nil {
		return nil
	}
	attr := *w.sched
	if err := unix.SchedSetAttr(s.inv.pid, &attr, 0); err != nil {
		return err
	}
	w.sched = nil
	return nil
}

// canRaisePriority reports whether this process may give another one a
// higher CPU priority (CAP_SYS_NICE): without it, a process lowered to
// SCHED_IDLE stays there.
func canRaisePriority() bool {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return false
	}
	return data[0].Effective&(1<<unix.CAP_SYS_NICE) != 0
}

// handOver gives the run's first invocation (m.fds[0], a memfd with its
// execRequest) to the warm process: its priority back first, then the
// request on its fd 3, after which it is the run's pytest, like one exec
// started. If the warm process is gone the worker hears opWarmGone and
// starts the invocation cold.
func (s *supervisor) handOver(m packet) {
	defer closeFds(m.fds)
	inv := s.inv
	switch {
	case s.poison != "":
		if inv == nil {
			s.send(packet{Op: opDone, Reason: s.poison})
		} // else it is being killed, and its end is the answer
		return
	case inv == nil || !inv.warm || inv.status != nil || inv.reason != "":
		if inv == nil {
			s.send(packet{Op: opWarmGone, Note: "gone before the run"})
		}
		return
	case len(m.fds) != 1:
		s.send(packet{Op: opFailed, Note: "go without invocation"})
		return
	}
	var req execRequest
	if err := readMemfdJSON(m.fds[0], &req); err != nil {
		s.send(packet{Op: opFailed, Note: "read invocation: " + err.Error()})
		return
	}
	if err := s.restorePriority(); err != nil {
		inv.reason = "discarded"
		s.hardKill()
		return
	}
	inv.warm = false
	body := warmRequest(req)
	w := s.warm.req
	go func() {
		// Its own goroutine: a request larger than the pipe holds must
		// not stall the supervisor while Python reads it.
		_, _ = w.Write(body)
		w.Close()
	}()
	s.warm.req = nil
	s.send(packet{Op: opStarted, PID: inv.pid})
}

// warmRequest encodes an invocation for the warm process (warm.py):
// NUL-separated magic, directory, argument count, arguments, variable
// count, variables.
func warmRequest(req execRequest) []byte {
	fields := []string{"BATON-WARM-1", req.Dir, strconv.Itoa(len(req.Argv))}
	fields = append(fields, req.Argv...)
	fields = append(fields, strconv.Itoa(len(req.Env)))
	fields = append(fields, req.Env...)
	return []byte(strings.Join(fields, "\x00"))
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
	pid, err := syscall.ForkExec(inv.Argv[0], inv.Argv, &syscall.ProcAttr{
		Dir: inv.Dir, Env: inv.Env, Files: []uintptr{s.devnull.Fd(), out, out}, Sys: s.procAttr(),
	})
	if err != nil {
		s.dropLeaf()
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
		// The run's cgroup, with the invocation's below it: also what a
		// root-run test moved elsewhere within the run.
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
	s.dropLeaf()
	if w := s.warm; w != nil && w.req != nil {
		w.req.Close()
		w.req = nil
	}
	if inv.warm {
		// No run had it: the worker starts the run cold, or drops the slot.
		note := inv.reason
		switch {
		case note != "":
		case inv.status != nil && inv.status.Signaled():
			note = "killed by signal " + inv.status.Signal().String()
		case inv.status != nil:
			note = "exited with code " + strconv.Itoa(inv.status.ExitStatus())
		}
		s.send(packet{Op: opWarmGone, Note: note})
		return
	}
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
