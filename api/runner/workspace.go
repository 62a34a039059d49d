package runner

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// A run's workspace is a directory of its own under Runner.TempDir:
//
//	baton-run-<id>-<random>/  the worker's; 0755 when the run user must traverse it
//	                           (baton-run-warm-<random> for a warm slot's, made
//	                           before its run exists; see warm.go)
//	  .lock                    flock()ed by the worker and held by the supervisor
//	  cgroup                   the run's cgroup, once it has one
//	  work/                    the run's own files, outside every project
//	                           (JUnit reports, pytest's cache; see Plan), the run user's
//	  roots/<root>             with a run user: where each catalog root is mounted
//	  home/                    the run user's HOME
//	  tmp/                     TMPDIR, so temp files go with the run
//
// The lock is how a leftover is told from a live run: it is held as long
// as the worker or the supervisor of the run lives (the supervisor inherits
// it and outlives a dead worker until the run's processes are gone), so a
// workspace whose lock can be taken belongs to nobody and may go, with
// whatever its cgroup still holds. A workspace is built under a
// "baton-new-" name and renamed once locked, so the sweep never sees one
// half made.
//
// A run user reaches the catalog roots through bind mounts in roots/,
// made inside the supervisor's private mount namespace, and every path of
// an invocation below a root is rewritten to its mount (see view): with the
// real paths the run user would have to traverse the roots' parents (a
// checkout under /root is unreachable), a bind mount only needs the roots
// themselves to be readable. The mounts exist only in that namespace, never
// on the host, so removing a workspace on the host cannot reach into a
// catalog root; remove still refuses to delete below a mount point, in
// case. Without a run user the tests see the real paths.

const (
	workspacePrefix = "baton-run-"
	stagingPrefix   = "baton-new-"
	lockFile        = ".lock"
	cgroupFile      = "cgroup"
	// lockless workspaces (made before workspaces had locks) older than
	// the longest possible run are leftovers too.
	locklessAge = 25 * time.Hour
	// a staging directory this old was abandoned mid-creation.
	stagingAge = 10 * time.Minute
)

type workspace struct {
	dir, work, home, tmp string
	lock                 *os.File
	mounts               []bindMount
}

// newWorkspace makes run runID's workspace in tempDir, with a mount point
// per catalog root when the run has a user of its own.
func newWorkspace(tempDir string, runID int64, roots map[string]string, user *User) (*workspace, error) {
	return newWorkspaceFor(tempDir, strconv.FormatInt(runID, 10), roots, user)
}

// newWorkspaceFor is newWorkspace for a run named label: a run id, or
// "warm" for a warm slot's, made before its run exists.
func newWorkspaceFor(tempDir, label string, roots map[string]string, user *User) (*workspace, error) {
	if tempDir == "" {
		tempDir = os.TempDir()
	}
	staging, err := os.MkdirTemp(tempDir, stagingPrefix)
	if err != nil {
		return nil, err
	}
	ws, err := buildWorkspace(tempDir, staging, label, roots, user)
	if err != nil {
		_ = os.RemoveAll(staging)
		return nil, err
	}
	return ws, nil
}

func buildWorkspace(tempDir, staging, label string, roots map[string]string, user *User) (*workspace, error) {
	lock, err := os.OpenFile(filepath.Join(staging, lockFile), os.O_CREATE|os.O_RDWR|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, err
	}
	ws := &workspace{lock: lock}
	if err := ws.fill(tempDir, staging, label, roots, user); err != nil {
		lock.Close()
		return nil, err
	}
	return ws, nil
}

func (ws *workspace) fill(tempDir, staging, label string, roots map[string]string, user *User) error {
	if err := unix.Flock(int(ws.lock.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		return fmt.Errorf("lock %s: %w", ws.lock.Name(), err)
	}
	private := []string{"work", "tmp"}
	if user != nil {
		if err := os.Chmod(staging, 0o755); err != nil {
			return err
		}
		private = append(private, "home")
	}
	for _, d := range private {
		p := filepath.Join(staging, d)
		mode := os.FileMode(0o700)
		if d == "work" {
			mode = 0o755
		}
		if err := os.Mkdir(p, mode); err != nil {
			return err
		}
		if user != nil {
			if err := os.Lchown(p, int(user.UID), int(user.GID)); err != nil {
				return err
			}
		}
	}
	names := make([]string, 0, len(roots))
	for name := range roots {
		names = append(names, name)
	}
	sort.Strings(names)
	var sources []string
	if user != nil && len(names) > 0 {
		if err := os.Mkdir(filepath.Join(staging, "roots"), 0o755); err != nil {
			return err
		}
		for _, name := range names {
			src, err := filepath.Abs(roots[name])
			if err != nil {
				return err
			}
			sources = append(sources, src)
			if err := os.Mkdir(filepath.Join(staging, "roots", name), 0o755); err != nil {
				return err
			}
		}
	}
	final := filepath.Join(tempDir, workspacePrefix+label+"-"+strings.TrimPrefix(filepath.Base(staging), stagingPrefix))
	if err := os.Rename(staging, final); err != nil {
		return err
	}
	ws.dir, ws.work, ws.tmp = final, filepath.Join(final, "work"), filepath.Join(final, "tmp")
	if user != nil {
		ws.home = filepath.Join(final, "home")
	}
	for i, src := range sources {
		ws.mounts = append(ws.mounts, bindMount{Source: src, Target: filepath.Join(final, "roots", names[i])})
	}
	return nil
}

// view is inv as the supervisor must execute it: with env, and with every
// path below a catalog root (the directory, and each argument or option
// value) rewritten to the root's mount when the run has mounts.
func (ws *workspace) view(inv Invocation, env []string) execRequest {
	req := execRequest{Dir: ws.mapPath(inv.Dir), Env: env, Argv: make([]string, len(inv.Argv))}
	for i, a := range inv.Argv {
		if k, v, ok := strings.Cut(a, "="); ok && strings.HasPrefix(v, "/") {
			req.Argv[i] = k + "=" + ws.mapPath(v)
		} else {
			req.Argv[i] = ws.mapPath(a)
		}
	}
	return req
}

func (ws *workspace) mapPath(p string) string {
	best := -1
	for i, m := range ws.mounts {
		if (p == m.Source || strings.HasPrefix(p, m.Source+"/")) && (best < 0 || len(m.Source) > len(ws.mounts[best].Source)) {
			best = i
		}
	}
	if best < 0 {
		return p
	}
	return ws.mounts[best].Target + p[len(ws.mounts[best].Source):]
}

// recordCgroup notes the run's cgroup, for the sweep to empty should the
// supervisor die without removing it.
func (ws *workspace) recordCgroup(path string) {
	_ = os.WriteFile(filepath.Join(ws.dir, cgroupFile), []byte(path), 0o600)
}

// remove deletes the workspace and releases its lock; call it only once
// the run's supervisor has exited.
func (ws *workspace) remove() error {
	err := removeTree(ws.dir)
	ws.lock.Close()
	return err
}

// removeTree deletes dir, refusing if anything below it is a mount point
// in this process's mount namespace.
func removeTree(dir string) error {
	if m := mountBelow(dir); m != "" {
		return fmt.Errorf("not removing %s: %s is mounted below it", dir, m)
	}
	return os.RemoveAll(dir)
}

func mountBelow(dir string) string {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return ""
	}
	prefix := filepath.Clean(dir) + "/"
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) >= 5 {
			if mp := unescapeMountinfo(f[4]); strings.HasPrefix(mp, prefix) {
				return mp
			}
		}
	}
	return ""
}

// sweepLeftovers removes, from tempDir ("" means os.TempDir()), the
// workspaces of runs whose worker and supervisor are both gone, after
// killing whatever is left in their cgroups; a live run's workspace is
// never touched (its lock is held). It returns the directories removed and
// the problems met.
func sweepLeftovers(tempDir string) (removed []string, err error) {
	if tempDir == "" {
		tempDir = os.TempDir()
	}
	entries, err := os.ReadDir(tempDir)
	if err != nil {
		return nil, err
	}
	var errs []error
	for _, e := range entries {
		name := e.Name()
		staging := strings.HasPrefix(name, stagingPrefix)
		if !e.IsDir() || !staging && !strings.HasPrefix(name, workspacePrefix) {
			continue
		}
		dir := filepath.Join(tempDir, name)
		ok, err := sweepOne(dir, staging)
		if err != nil {
			errs = append(errs, err)
		}
		if ok {
			removed = append(removed, dir)
		}
	}
	return removed, errors.Join(errs...)
}

func sweepOne(dir string, staging bool) (bool, error) {
	if staging {
		// A staging directory is still being built by a live worker until
		// it is renamed, and its lock is free between the moment its lock
		// file is created and the moment it is locked: only its age tells
		// an abandoned one. (Taking the lock then made the worker building
		// it fail to start a run, or the probe at a worker's start-up.)
		if fi, err := os.Lstat(dir); err != nil || time.Since(fi.ModTime()) < stagingAge {
			return false, nil
		}
	}
	lock, err := os.OpenFile(filepath.Join(dir, lockFile), os.O_RDWR|unix.O_CLOEXEC, 0)
	if errors.Is(err, os.ErrNotExist) {
		fi, serr := os.Lstat(dir)
		if serr != nil || !staging && time.Since(fi.ModTime()) < locklessAge {
			return false, nil
		}
		return true, removeTree(dir)
	}
	if err != nil {
		return false, err
	}
	defer lock.Close()
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		return false, nil // a live run
	}
	if b, err := os.ReadFile(filepath.Join(dir, cgroupFile)); err == nil && len(b) > 0 {
		if err := emptyCgroup(openRunCgroup(string(b)), 5*time.Second); err != nil {
			return false, fmt.Errorf("leftover run in %s: %w", dir, err)
		}
	}
	return true, removeTree(dir)
}

// emptyCgroup kills everything in c, waits up to wait for it to be empty,
// and removes it.
func emptyCgroup(c *runCgroup, wait time.Duration) error {
	deadline := time.Now().Add(wait)
	for {
		populated, err := c.populated()
		if err == nil && !populated {
			return c.remove()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("processes in cgroup %s survive SIGKILL: %s", c.path, joinProcs(describeAll(c.procs())))
		}
		_ = c.kill()
		time.Sleep(20 * time.Millisecond)
	}
}

func describeAll(pids []int) []procInfo {
	out := make([]procInfo, len(pids))
	for i, p := range pids {
		out[i] = describeProc(p)
	}
	return out
}

// suffix is the random part of the workspace's name, to name its cgroup.
func (ws *workspace) suffix() string {
	base := filepath.Base(ws.dir)
	return base[len(workspacePrefix):]
}
