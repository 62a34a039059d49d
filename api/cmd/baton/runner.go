package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/baton-ci/baton/api/config"
	"github.com/baton-ci/baton/api/runner"
)

// newRunner builds the worker's runner from the configuration and proves
// on this host that runs can work (run user, cgroup, Python, catalog
// roots), so a misconfigured worker fails at start naming the variable
// rather than failing every run. It starts the warm slots; the caller
// stops them (StopWarm) at shutdown.
func newRunner(ctx context.Context, cfg *config.Config, python string, roots map[string]string, log *slog.Logger) (*runner.Runner, error) {
	r := &runner.Runner{Python: python, KillGrace: cfg.KillGrace, Env: testEnviron()}
	if cfg.APIToken != "" {
		// Tests of Baton's own API need the token; it is masked wherever
		// their output is stored.
		r.Vars = append(r.Vars, runner.Var{Name: "BATON_API_TOKEN", Value: cfg.APIToken, Secret: true})
	}
	u, note, err := runner.RunUserFor(cfg.RunUser)
	if err != nil {
		return nil, err
	}
	r.User = u
	if note != "" {
		log.Info(note)
	}
	switch cfg.Cgroup {
	case "off":
		log.Info("BATON_CGROUP=off: a run's processes are tracked as its supervisor's descendants only")
	case "":
		parent, err := runner.DetectCgroup()
		if err != nil {
			log.Info("no cgroup v2 for runs (set BATON_CGROUP to a delegated one): a run's processes are tracked as its supervisor's descendants only", "why", err)
		} else {
			r.Cgroup = parent
		}
	default:
		if err := runner.ProbeCgroup(cfg.Cgroup); err != nil {
			return nil, fmt.Errorf("BATON_CGROUP=%s: %w", cfg.Cgroup, err)
		}
		r.Cgroup = cfg.Cgroup
	}
	if err := r.Check(ctx, roots); err != nil {
		return nil, fmt.Errorf("runs cannot work on this host: %w (check BATON_PYTHON, BATON_RUN_USER, BATON_CGROUP and TMPDIR)", err)
	}
	runUser := "the worker's user"
	if u != nil {
		runUser = u.Name
	}
	log.Info("runs are supervised", "run_user", runUser, "cgroup", r.Cgroup, "warm_slots", cfg.WarmSlots)
	// Started once the host is proven fit; a slot that fails to warm is
	// logged and runs start cold.
	r.WarmSlots, r.Log = cfg.WarmSlots, log
	r.StartWarm(roots)
	return r, nil
}

// testEnviron is the environment tests inherit: the worker's, without what
// gives access to Baton's database (DATABASE_URL, libpq's PG* variables)
// and without BATON_API_TOKEN, which tests get as a masked variable.
func testEnviron() []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if name == "DATABASE_URL" || name == "BATON_API_TOKEN" || strings.HasPrefix(name, "PG") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// hideProcess makes this process non-dumpable: its /proc files (environ,
// mem, fd) then belong to root and nobody else may ptrace it, so a test
// running as the same user cannot read DATABASE_URL out of the worker.
func hideProcess() error {
	return unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0)
}
