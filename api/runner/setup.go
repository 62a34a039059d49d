package runner

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// RunUserFor decides who tests run as, from BATON_RUN_USER (name; ""
// for the default): as root, an unprivileged account (DefaultRunUser,
// created if missing) unless name is "root"; otherwise the worker's own
// user, since only root can switch users. It returns nil for "as the
// worker", and a note for the log about what that choice means.
func RunUserFor(name string) (u *User, note string, err error) {
	if os.Geteuid() != 0 {
		me, err := user.Current()
		if err != nil {
			return nil, "", err
		}
		if name != "" && name != me.Username && name != strconv.Itoa(os.Geteuid()) {
			return nil, "", fmt.Errorf("BATON_RUN_USER=%s: only a worker running as root can run tests as another user (this one runs as %s)", name, me.Username)
		}
		return nil, fmt.Sprintf("tests run as the worker's own user %s (not root, so no run user): they can signal the worker and read what it can read, though not its memory or environment (the worker is not dumpable)", me.Username), nil
	}
	switch name {
	case "root", "0":
		return nil, "BATON_RUN_USER=root: tests run as root and can read the worker's secrets", nil
	case "":
		name = DefaultRunUser
		u, created, err := EnsureUser(name)
		if err != nil {
			return nil, "", fmt.Errorf("BATON_RUN_USER: default run user: %w", err)
		}
		if created {
			note = "created system user " + name + " for test runs"
		}
		return u, note, nil
	}
	u, err = LookupUser(name)
	if err != nil {
		return nil, "", fmt.Errorf("BATON_RUN_USER=%s: %w", name, err)
	}
	return u, "", nil
}

// Check proves on this host, before any run is taken, that runs can work:
// a supervisor starts (with the run user, the cgroup and the mounts of the
// given catalog roots), and the run user can run Python with pytest and
// read every root. The error says what is wrong and what to change.
func (r *Runner) Check(ctx context.Context, roots map[string]string) error {
	if r.Python == "" {
		return errors.New("no Python interpreter configured")
	}
	ws, err := newWorkspace(r.TempDir, 0, roots, r.User)
	if err != nil {
		return fmt.Errorf("create a run directory in %s: %w", r.tempDir(), err)
	}
	defer func() { _ = ws.remove() }()
	sess, err := r.startSession(ws, Spec{Timeout: time.Minute}, nil)
	if err != nil {
		return err
	}
	defer sess.close()
	if sess.note != "" && r.Cgroup != "" {
		return fmt.Errorf("runs cannot get a cgroup below %s: %s", r.Cgroup, sess.note)
	}
	names := make([]string, 0, len(roots))
	for name := range roots {
		names = append(names, name)
	}
	sort.Strings(names)
	var probe strings.Builder
	probe.WriteString("import os, sys\nbad = []\n")
	for _, name := range names {
		fmt.Fprintf(&probe, "p = %q\nif not os.access(p, os.R_OK | os.X_OK):\n    bad.append(%q)\n", ws.mapPath(roots[name]), roots[name])
	}
	probe.WriteString("import pytest\nif bad:\n    sys.exit('cannot read catalog root(s): ' + ', '.join(bad))\n")
	inv := Invocation{Dir: ws.work, Argv: []string{r.Python, "-c", probe.String()}}
	var out bytes.Buffer
	log := newRunLog(&out, nil)
	res := sess.invoke(ctx, ws.view(inv, r.environ(Spec{}, ws)), nil, log, r.outputGrace())
	switch {
	case res.supervisor != nil:
		return res.supervisor
	case res.failed != "":
		return fmt.Errorf("run %s as %s: %s", r.Python, r.userName(), res.failed)
	case res.reason != "" || res.code != 0 || res.sig != 0:
		return fmt.Errorf("%s, run as %s in %s: %s", r.Python, r.userName(), filepath.Dir(ws.work), strings.TrimSpace(out.String()))
	}
	return nil
}

func (r *Runner) userName() string {
	if r.User == nil {
		return "the worker's user"
	}
	return "user " + r.User.Name
}

func (r *Runner) tempDir() string {
	if r.TempDir == "" {
		return os.TempDir()
	}
	return r.TempDir
}

// SweepLeftovers removes what runs whose worker died left in TempDir (see
// sweepLeftovers); it returns the directories removed.
func (r *Runner) SweepLeftovers() ([]string, error) { return sweepLeftovers(r.TempDir) }
