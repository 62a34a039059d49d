package runner

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// procInfo names a process for the run's log.
type procInfo struct {
	PID   int    `json:"pid"`
	Comm  string `json:"comm"`
	State string `json:"state"`
}

func (p procInfo) String() string {
	if p.State == "" {
		return fmt.Sprintf("%d (%s)", p.PID, p.Comm)
	}
	return fmt.Sprintf("%d (%s, state %s)", p.PID, p.Comm, p.State)
}

// procStat is what /proc/<pid>/stat says about a process.
type procStat struct {
	pid, ppid int
	comm      string
	state     string
}

// readStat parses /proc/<pid>/stat; the command may contain spaces and
// parentheses, so it is whatever lies between the first '(' and the last ')'.
func readStat(pid int) (procStat, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procStat{}, false
	}
	s := string(b)
	open, closing := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || closing < open {
		return procStat{}, false
	}
	f := strings.Fields(s[closing+1:])
	if len(f) < 2 {
		return procStat{}, false
	}
	ppid, _ := strconv.Atoi(f[1])
	return procStat{pid: pid, ppid: ppid, comm: s[open+1 : closing], state: f[0]}, true
}

// descendants returns every process below root, zombies excluded (they are
// dead; only reaping is left), by one pass over /proc.
func descendants(root int) []procStat {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	children := map[int][]procStat{}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if st, ok := readStat(pid); ok {
			children[st.ppid] = append(children[st.ppid], st)
		}
	}
	var out []procStat
	queue := []int{root}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, c := range children[p] {
			if c.state != "Z" && c.state != "X" {
				out = append(out, c)
			}
			queue = append(queue, c.pid)
		}
	}
	return out
}

// infos describes processes for the log.
func infos(ps []procStat) []procInfo {
	out := make([]procInfo, len(ps))
	for i, p := range ps {
		out[i] = procInfo{PID: p.pid, Comm: p.comm}
	}
	return out
}

// signalDescendant sends sig to pid only if it is still the process found
// below root: through a pidfd, which cannot reach a process that reused the
// pid after this one was reaped.
func signalDescendant(root, pid int, sig unix.Signal) {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return
	}
	defer unix.Close(fd)
	// With the pidfd open, the pid names this very process until it is
	// reaped; check it is still in the tree before signalling.
	if !isDescendant(root, pid) {
		return
	}
	_ = unix.PidfdSendSignal(fd, sig, nil, 0)
}

// isDescendant walks pid's parents up to root.
func isDescendant(root, pid int) bool {
	for i := 0; i < 4096 && pid > 1; i++ {
		st, ok := readStat(pid)
		if !ok {
			return false
		}
		if st.ppid == root {
			return true
		}
		pid = st.ppid
	}
	return false
}

// describeProc returns a process's name and state for the log.
func describeProc(pid int) procInfo {
	st, ok := readStat(pid)
	if !ok {
		return procInfo{PID: pid, Comm: "?"}
	}
	return procInfo{PID: pid, Comm: st.comm, State: st.state}
}

func joinProcs(ps []procInfo) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, ", ")
}
