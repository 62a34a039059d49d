package runner

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// A run's processes go into a cgroup v2 of their own when one can be made:
// the kernel then knows every process of the run, whatever it does
// (setsid, double forks, daemons), `cgroup.kill` kills them all at once
// without racing their forks, and `cgroup.events` says when the last one
// is gone. Processes are cloned straight into it (CLONE_INTO_CGROUP), so
// not even pytest's first instruction runs outside it. Without a usable
// cgroup the supervisor still finds every process, as child subreaper of
// the run (see supervisor.go); the cgroup adds the atomic kill and holds
// processes that root-run tests move elsewhere in the process tree.

// cgroupParentName is the directory, inside the worker's own cgroup, that
// holds the runs' cgroups.
const cgroupParentName = "baton-runs"

// DetectCgroup returns the directory below which run cgroups can be made:
// baton-runs inside the worker's own cgroup v2 (on a host with v1
// controllers, cgroup2 is often mounted at /sys/fs/cgroup/unified next to
// them). That is the cgroup a service manager delegates to the worker
// (systemd: Delegate=yes), and the only place an unprivileged worker may
// write to. It makes sure the directory exists and that a run cgroup can
// be created and killed there; the error says why not otherwise.
func DetectCgroup() (string, error) {
	mount, err := cgroup2Mount()
	if err != nil {
		return "", err
	}
	own, err := ownCgroup()
	if err != nil {
		return "", err
	}
	parent := filepath.Join(mount, own, cgroupParentName)
	return parent, ProbeCgroup(parent)
}

// ProbeCgroup checks that run cgroups can be made, killed and removed
// below parent, creating parent if needed.
func ProbeCgroup(parent string) error {
	if err := os.Mkdir(parent, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("create %s: %w", parent, err)
	}
	var st unix.Statfs_t
	if err := unix.Statfs(parent, &st); err != nil {
		return fmt.Errorf("%s: %w", parent, err)
	}
	if st.Type != unix.CGROUP2_SUPER_MAGIC {
		return fmt.Errorf("%s is not in a cgroup v2 file system", parent)
	}
	probe, err := os.MkdirTemp(parent, "probe-")
	if err != nil {
		return fmt.Errorf("create a cgroup in %s: %w", parent, err)
	}
	defer os.Remove(probe)
	// cgroup.kill (Linux 5.14) implies CLONE_INTO_CGROUP (5.7).
	if err := unix.Access(filepath.Join(probe, "cgroup.kill"), unix.W_OK); err != nil {
		return fmt.Errorf("%s: no writable cgroup.kill (needs Linux 5.14): %w", probe, err)
	}
	if err := unix.Access(filepath.Join(probe, "cgroup.procs"), unix.W_OK); err != nil {
		return fmt.Errorf("%s: cgroup.procs not writable: %w", probe, err)
	}
	return nil
}

// cgroup2Mount finds where the cgroup v2 hierarchy is mounted.
func cgroup2Mount() (string, error) {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return "", err
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		// id parent major:minor root mountpoint options... - fstype source super
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		if !ok || !strings.HasPrefix(post, "cgroup2 ") {
			continue
		}
		f := strings.Fields(pre)
		if len(f) >= 5 && f[3] == "/" {
			return unescapeMountinfo(f[4]), nil
		}
	}
	return "", errors.New("no cgroup v2 file system is mounted")
}

// unescapeMountinfo undoes the octal escapes (\040 for a space) of
// /proc/self/mountinfo.
func unescapeMountinfo(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// ownCgroup is this process's cgroup v2 path ("0::/path" in /proc/self/cgroup).
func ownCgroup() (string, error) {
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if p, ok := strings.CutPrefix(line, "0::"); ok {
			if strings.HasSuffix(p, " (deleted)") {
				return "", errors.New("this process's cgroup was removed")
			}
			return p, nil
		}
	}
	return "", errors.New("this process is in no cgroup v2")
}

// runCgroup is the cgroup of one run.
type runCgroup struct {
	path string
	dir  *os.File // the directory, for CLONE_INTO_CGROUP
}

// createRunCgroup makes the cgroup name below parent.
func createRunCgroup(parent, name string) (*runCgroup, error) {
	path := filepath.Join(parent, name)
	if err := os.Mkdir(path, 0o755); err != nil {
		return nil, err
	}
	dir, err := os.OpenFile(path, os.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		_ = os.Remove(path)
		return nil, err
	}
	return &runCgroup{path: path, dir: dir}, nil
}

// openRunCgroup returns an existing run cgroup, to kill what is left in it.
func openRunCgroup(path string) *runCgroup { return &runCgroup{path: path} }

// kill sends SIGKILL to every process in the cgroup, atomically with
// respect to forks.
func (c *runCgroup) kill() error {
	return os.WriteFile(filepath.Join(c.path, "cgroup.kill"), []byte("1"), 0)
}

// populated reports whether any process is still in the cgroup; zombies
// do not count (they left it when they exited).
func (c *runCgroup) populated() (bool, error) {
	b, err := os.ReadFile(filepath.Join(c.path, "cgroup.events"))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return false, nil
		}
		return true, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "populated "); ok {
			return v != "0", nil
		}
	}
	return true, fmt.Errorf("%s/cgroup.events: no populated field", c.path)
}

// procs lists the processes in the cgroup and the cgroups below it.
func (c *runCgroup) procs() []int {
	var pids []int
	_ = filepath.WalkDir(c.path, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return nil
		}
		b, err := os.ReadFile(filepath.Join(p, "cgroup.procs"))
		if err != nil {
			return nil
		}
		for _, f := range strings.Fields(string(b)) {
			if pid, err := strconv.Atoi(f); err == nil {
				pids = append(pids, pid)
			}
		}
		return nil
	})
	return pids
}

// remove deletes the (empty) cgroup, and the cgroups below it first (an
// invocation's, or ones a root-run test made).
func (c *runCgroup) remove() error {
	if c.dir != nil {
		c.dir.Close()
	}
	var dirs []string
	_ = filepath.WalkDir(c.path, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			dirs = append(dirs, p)
		}
		return nil
	})
	var err error
	for i := len(dirs) - 1; i >= 0; i-- { // deepest first
		if e := os.Remove(dirs[i]); e != nil && !errors.Is(e, os.ErrNotExist) {
			err = e
		}
	}
	if e := os.Remove(c.path); e != nil && !errors.Is(e, os.ErrNotExist) {
		return e
	}
	return err
}
