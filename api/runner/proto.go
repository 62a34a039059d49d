package runner

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"

	"golang.org/x/sys/unix"
)

// The worker and a run's supervisor talk over a SOCK_SEQPACKET socket pair:
// one JSON message per packet, so no framing is needed, and file
// descriptors (an invocation's output pipe) travel with the message that
// needs them. Either side sees the other's death as the end of the socket.
// The supervisor's half is its file descriptor 3.

// Operations from the worker to the supervisor.
const (
	opInit  = "init"  // first message: the run's limits and placement (supervisorConfig)
	opExec  = "exec"  // start an invocation; fds: output pipe, memfd holding the execRequest
	opRenew = "renew" // the lease now ends at Deadline
	opStop  = "stop"  // kill the run (Reason; Now skips the SIGTERM grace)

	// A warm session (warm.go) is started before its run exists; these
	// give it to a run.
	opArm     = "arm"     // the session now serves run RunID: its lease (Deadline) and Timeout start now
	opGo      = "go"      // hand the run's first invocation to the warm process; fds: memfd holding the execRequest
	opDiscard = "discard" // kill the warm process unused: the run starts cold in this session instead
	opPromote = "promote" // a run waits for the warm process: give it the CPU priority a run has
)

// Operations from the supervisor to the worker.
const (
	opReady     = "ready"     // initialised; Cgroup is the run's cgroup, or Note says why none
	opStarted   = "started"   // the invocation runs as PID
	opKilling   = "killing"   // the supervisor started killing the run (Reason)
	opSurvivors = "survivors" // processes still alive after SIGKILL (Procs)
	opDone      = "done"      // the invocation ended and every process it started is gone
	opFailed    = "failed"    // the invocation could not start (Note)

	opWarm     = "warm"      // the warm process runs as PID; fds: the read ends of its output pipe and of its report
	opWarmGone = "warm_gone" // the warm process is gone, unused (Note says why): start the run cold
)

// Why the supervisor killed a run on its own, besides the worker's stop reasons.
const (
	killLeaseExpired = "lease_expired"
	killTimeout      = "timeout"
	killWorkerGone   = "worker_gone"
)

// message is every message of the protocol; each operation uses some fields.
type packet struct {
	Op string `json:"op"`

	Config   *supervisorConfig `json:"config,omitempty"`
	Deadline int64             `json:"deadline,omitempty"` // Boottime, ns
	Reason   string            `json:"reason,omitempty"`
	Now      bool              `json:"now,omitempty"`
	RunID    int64             `json:"run_id,omitempty"`
	Timeout  int64             `json:"timeout,omitempty"` // ns

	Cgroup string     `json:"cgroup,omitempty"`
	Note   string     `json:"note,omitempty"`
	PID    int        `json:"pid,omitempty"`
	Procs  []procInfo `json:"procs,omitempty"`
	// Done: how the invocation's main process ended (Code, or Signal when
	// killed by one), why the supervisor killed it (Reason, "" if it ended
	// on its own), what it left behind that had to be killed (Procs), and
	// how long the last of them took to die after SIGKILL (KillNs).
	Code   int   `json:"code,omitempty"`
	Signal int   `json:"signal,omitempty"`
	KillNs int64 `json:"kill_ns,omitempty"`

	fds []int // received with the message
	// give are descriptors to send with the message; the sender closes
	// them once sent (or dropped).
	give []int
}

// supervisorConfig is what a supervisor needs to know about its run.
type supervisorConfig struct {
	RunID int64 `json:"run_id"`
	// Deadline is the lease's end on the Boottime clock, 0 for none.
	Deadline int64 `json:"deadline"`
	// Timeout bounds the run from the supervisor's start, 0 for none.
	Timeout   int64 `json:"timeout"`
	KillGrace int64 `json:"kill_grace"`
	// CgroupParent is where to make the run's cgroup; "" for none.
	CgroupParent string `json:"cgroup_parent"`
	CgroupName   string `json:"cgroup_name"`
	// UID and GID, when set, are who the invocations run as.
	UID *uint32 `json:"uid,omitempty"`
	GID *uint32 `json:"gid,omitempty"`
	// Mounts are bind mounts made in the supervisor's own mount namespace
	// before anything runs (see workspace.go).
	Mounts []bindMount `json:"mounts,omitempty"`
	// Warm, when set, makes this a warm session: its Python starts at
	// once and waits for a run (opArm, then opGo or opDiscard); Deadline
	// and Timeout then come with opArm.
	Warm *execRequest `json:"warm,omitempty"`
}

type bindMount struct {
	Source string `json:"source"`
	Target string `json:"target"`
}

// execRequest is an invocation as the supervisor executes it: the
// directory, the command (Argv[0] an absolute path: no PATH lookup) and the
// whole environment, every path already as the run user sees it.
type execRequest struct {
	Dir  string   `json:"dir"`
	Argv []string `json:"argv"`
	Env  []string `json:"env"`
}

// maxPacket bounds a message; invocations travel in a memfd, so the rest
// stay small.
const maxPacket = 64 << 10

func send(c *net.UnixConn, m packet, fds ...int) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	var oob []byte
	if len(fds) > 0 {
		oob = unix.UnixRights(fds...)
	}
	_, _, err = c.WriteMsgUnix(b, oob, nil)
	return err
}

func receive(c *net.UnixConn, buf, oob []byte) (packet, error) {
	n, oobn, flags, _, err := c.ReadMsgUnix(buf, oob)
	if err != nil {
		return packet{}, err
	}
	if n == 0 && oobn == 0 {
		return packet{}, errors.New("connection closed")
	}
	var m packet
	if oobn > 0 {
		cmsgs, err := unix.ParseSocketControlMessage(oob[:oobn])
		if err != nil {
			return packet{}, err
		}
		for _, cm := range cmsgs {
			fds, err := unix.ParseUnixRights(&cm)
			if err == nil {
				for _, fd := range fds {
					unix.CloseOnExec(fd)
				}
				m.fds = append(m.fds, fds...)
			}
		}
	}
	if flags&(unix.MSG_TRUNC|unix.MSG_CTRUNC) != 0 {
		closeFds(m.fds)
		return packet{}, fmt.Errorf("message truncated (%d bytes)", n)
	}
	if err := json.Unmarshal(buf[:n], &m); err != nil {
		closeFds(m.fds)
		return packet{}, fmt.Errorf("bad message: %w", err)
	}
	return m, nil
}

func closeFds(fds []int) {
	for _, fd := range fds {
		unix.Close(fd)
	}
}

// socketPair returns the worker's end (as a connection) and the
// supervisor's end (as a file to pass as its fd 3).
func socketPair() (*net.UnixConn, *os.File, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, err
	}
	mine := os.NewFile(uintptr(fds[0]), "supervisor-control")
	defer mine.Close()
	c, err := net.FileConn(mine)
	if err != nil {
		unix.Close(fds[1])
		return nil, nil, err
	}
	return c.(*net.UnixConn), os.NewFile(uintptr(fds[1]), "supervisor-control"), nil
}
