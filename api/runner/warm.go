package runner

import (
	"bytes"
	"context"
	_ "embed" // the warm process's bootstrap, warm.py
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Warm slots. Most of a short run's time is Python starting and importing
// pytest (~0.15 CPU-s), not the tests. A warm slot is a run's session made
// before the run exists: a supervisor (supervisor.go) with its workspace,
// mounts and cgroup, and below it, as the run user, a Python that has done
// exactly what a cold `python -m pytest` does before pytest's __main__ runs
// (warm.py: runpy imports pytest; no user code, no user directory on
// sys.path) and then waits. A run takes a slot, gets the slot's lease and
// timeout (opArm), and hands its first invocation to the waiting Python
// (opGo), which sets argv, environment and working directory as exec would
// have and calls pytest's main. A slot serves one run and goes with it; a
// replacement starts in the background, at SCHED_IDLE when the supervisor
// can give the priority back, so warming never takes CPU from a run.
//
// A warm start must be indistinguishable from a cold one to the tests, so a
// run starts cold (in the slot's session, its Python discarded) when it
// could not be:
//   - its command is not `<the slot's python> -m pytest …`;
//   - its environment differs from the slot's in a variable Python or the
//     C library read before the handoff: PYTHON*, locale (LANG, LC_*,
//     LANGUAGE), TZ, HOME (user site-packages), LD_*, MALLOC_*, GLIBC_*,
//     or one that importing pytest read (warm.py records os.environ
//     reads during the import);
//   - its project root holds a module or package named like one pytest's
//     import loaded from sys.path (a cold start would import the project's).
//
// And a slot is retired, unused, when the world it was made in changed:
// another interpreter (BATON_PYTHON, or the interpreter file replaced),
// the installed packages (the modification times of sys.path's
// directories, taken before pytest was imported, and of every module file
// loaded by then and its directory), or a catalog root replaced under its bind
// mount. Staleness is checked when a run takes a slot and every
// warmCheckEvery while slots wait.
//
// Later invocations of a run (a run over several projects) start cold in
// the same session: a second waiting Python would be a live process of the
// run while the first project's pytest runs, which the whole-tree rules
// (nothing of an invocation may outlive it) would have to make an
// exception for.
//
// What cannot be made identical, and stays different: /proc/self/cmdline
// and /proc/self/environ show how the process started (`python -c <warm.py>`,
// the slot's environment), not the run's; the process is older (its start
// time, CPU times and rusage include the warm-up); two frames of warm.py sit
// below runpy on the stack; and what pytest's import left in memory is
// frozen out of the cyclic collector (gc.freeze: gc.get_freeze_count() is
// not 0, gc.get_objects() and gc.get_referrers() leave those objects out). That freeze is what
// makes a warm run's interpreter shutdown short (~30 ms less on an idle
// core): the collector no longer walks pytest's import at exit. The run's
// own objects are collected as in a cold start, at exit too
// (TestWarmRunGarbageIsCollectedAsCold).

//go:embed warm.py
var warmBootstrap string

// warmCheckEvery is how often waiting slots are checked for staleness, so
// that a replacement is warm before a run needs it.
const warmCheckEvery = 2 * time.Second

// Variables of a run that only a cold start honours: read by the
// interpreter, the dynamic loader or the C library before a warm process
// could see the run's environment.
var (
	startupVarPrefixes = []string{"PYTHON", "LC_", "LD_", "MALLOC_", "GLIBC_"}
	startupVars        = map[string]bool{"LANG": true, "LANGUAGE": true, "TZ": true, "HOME": true}
	// perRunVars are set for each run (environ); a slot starts without them.
	perRunVars = []string{"TEST_ENV_ID", "TEST_ENV_NAME", "TEST_RUN_ID", "REQUESTED_BY", "BATON_API_URL", "TEST_ENV_FENCE"}
)

func isStartupVar(name string) bool {
	if startupVars[name] {
		return true
	}
	for _, p := range startupVarPrefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// StartWarm begins keeping r.WarmSlots warm slots ready for runs whose
// catalog roots are roots (Spec.Roots; nil for runs outside a catalog).
// Call it once the Runner is configured, and StopWarm at shutdown. Slots
// that fail to start are logged to r.Log and retried with back-off; runs
// then start cold.
func (r *Runner) StartWarm(roots map[string]string) {
	if r.WarmSlots <= 0 {
		return
	}
	log := r.logger()
	every := r.warmCheck
	if every <= 0 {
		every = warmCheckEvery
	}
	p := &warmPool{r: r, size: r.WarmSlots, python: r.Python, roots: roots, log: log, every: every,
		kick: make(chan struct{}, 1), stop: make(chan struct{})}
	if !r.warm.CompareAndSwap(nil, p) {
		return
	}
	p.wg.Add(1)
	go p.loop()
}

// StopWarm kills the waiting slots and returns once they are gone; slots
// already given to runs go with their runs.
func (r *Runner) StopWarm() {
	if p := r.warm.Swap(nil); p != nil {
		p.close()
	}
}

// warmPool keeps a Runner's warm slots.
type warmPool struct {
	r     *Runner
	size  int
	every time.Duration // how often waiting slots are checked
	roots map[string]string
	log   *slog.Logger
	kick  chan struct{}
	stop  chan struct{}
	wg    sync.WaitGroup

	mu sync.Mutex
	// python is the interpreter new slots run: BATON_PYTHON as the last
	// run asked for it.
	python   string
	slots    []*warmSlot // waiting for a run, warming or warm, oldest first
	starting int         // being made, not yet in slots
	closed   bool
	failures int // slots in a row that failed to warm
	pause    time.Time
}

// warmSlot is one warm session waiting for its run.
type warmSlot struct {
	ws     *workspace
	sess   *session
	python string
	// interp and interpPath are the interpreter as it was before the slot
	// started it; roots are the catalog root directories as they were
	// before they were mounted.
	interp     fileStamp
	interpPath string
	roots      []fileStamp
	env        []string // the environment the warm process started with
	started    time.Time
	// waited is how long the run that took the slot waited for it to
	// finish warming (0: it was warm).
	waited time.Duration

	ready     chan struct{} // closed once warm (report read) or dead
	report    *warmReport   // set before ready closes, if warm
	dead      string        // why the slot cannot serve; read after stopWatching
	stopWatch chan struct{}
	watchDone chan struct{}
	stopOnce  sync.Once
}

func (p *warmPool) loop() {
	defer p.wg.Done()
	t := time.NewTicker(p.every)
	defer t.Stop()
	for {
		p.fill()
		select {
		case <-p.stop:
			return
		case <-p.kick:
		case <-t.C:
			p.check()
		}
	}
}

func (p *warmPool) wake() {
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

// fill starts slots up to the pool's size, at most one per CPU warming at
// a time: warming is CPU-bound, and more at once only makes each later.
func (p *warmPool) fill() {
	p.mu.Lock()
	if p.closed || time.Now().Before(p.pause) {
		p.mu.Unlock()
		return
	}
	warming := p.starting
	for _, sl := range p.slots {
		if !isClosed(sl.ready) {
			warming++
		}
	}
	n := min(p.size-len(p.slots)-p.starting, max(1, runtime.NumCPU())-warming)
	if n > 0 {
		p.starting += n
	}
	python := p.python
	p.mu.Unlock()
	for range max(n, 0) {
		p.wg.Add(1)
		go p.create(python)
	}
}

func (p *warmPool) create(python string) {
	defer p.wg.Done()
	sl, err := p.r.newWarmSlot(python, p.roots)
	p.mu.Lock()
	p.starting--
	if err != nil {
		p.failed(err.Error())
		p.mu.Unlock()
		return
	}
	if p.closed {
		p.mu.Unlock()
		p.retire(sl, "")
		return
	}
	p.slots = append(p.slots, sl)
	p.mu.Unlock()
	go sl.watch(p)
}

// failed counts a slot that did not warm; after three in a row the pool
// pauses (10 s, doubling up to 5 minutes) rather than burn CPU on a
// broken interpreter. Runs start cold meanwhile. Call with p.mu held.
func (p *warmPool) failed(why string) {
	p.failures++
	if p.failures < 3 {
		p.log.Warn("a warm slot failed to start; runs start cold until one is warm", "err", why)
		return
	}
	pause := min(10*time.Second<<min(p.failures-3, 5), 5*time.Minute)
	p.pause = time.Now().Add(pause)
	p.log.Warn("warm slots keep failing to start; runs start cold", "err", why, "failures", p.failures, "retry_in", pause)
}

// slotDied drops a waiting slot that can no longer serve.
func (p *warmPool) slotDied(sl *warmSlot, warmed bool) {
	p.mu.Lock()
	listed := p.unlist(sl)
	if listed && !warmed && !p.closed {
		p.failed("warm process: " + sl.dead)
	}
	p.mu.Unlock()
	if listed {
		p.retire(sl, "")
		p.wake()
	}
}

// unlist removes sl from the waiting slots; call with p.mu held.
func (p *warmPool) unlist(sl *warmSlot) bool {
	for i, s := range p.slots {
		if s == sl {
			p.slots = append(p.slots[:i], p.slots[i+1:]...)
			return true
		}
	}
	return false
}

// retire ends a slot no run will use, in the background.
func (p *warmPool) retire(sl *warmSlot, why string) {
	if why != "" {
		p.log.Info("warm slot retired", "why", why)
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		sl.stopWatching()
		if err := sl.close(); err != nil {
			p.log.Warn("removing a warm slot", "err", err)
		}
	}()
}

// check retires waiting slots made in a world that has changed.
func (p *warmPool) check() {
	p.mu.Lock()
	var warm []*warmSlot
	for _, sl := range p.slots {
		if isClosed(sl.ready) {
			warm = append(warm, sl)
		}
	}
	python := p.python
	p.mu.Unlock()
	stats := map[string]fileStamp{}
	for _, sl := range warm {
		why := sl.stale(python, stats)
		if why == "" {
			continue
		}
		p.mu.Lock()
		listed := p.unlist(sl)
		p.mu.Unlock()
		if listed {
			p.retire(sl, why)
			p.wake()
		}
	}
}

func (p *warmPool) close() {
	p.mu.Lock()
	p.closed = true
	slots := p.slots
	p.slots = nil
	p.mu.Unlock()
	close(p.stop)
	for _, sl := range slots {
		p.retire(sl, "")
	}
	p.wg.Wait()
}

// take returns a warm slot for spec, or nil and why none (for the log; ""
// when warm slots are off). It prefers a warm slot; else it takes the
// slot that has warmed longest, lets it finish at a run's priority and
// waits: that is never slower than starting cold. Stale slots it meets are
// retired. A replacement starts at once.
func (p *warmPool) take(ctx context.Context, spec Spec, python string) (*warmSlot, string) {
	if !sameRoots(spec.Roots, p.roots) {
		return nil, "this run's catalog roots are not the ones the warm slots were made for"
	}
	p.mu.Lock()
	if python != p.python {
		// BATON_PYTHON changed: the slots waiting run the old one, and
		// new ones start with the new one.
		p.python = python
	}
	p.mu.Unlock()
	stats := map[string]fileStamp{}
	why := ""
	for {
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			return nil, "warm slots are stopping"
		}
		var sl *warmSlot
		for _, s := range p.slots {
			if isClosed(s.ready) {
				sl = s
				break
			}
		}
		if sl == nil && len(p.slots) > 0 {
			sl = p.slots[0]
		}
		if sl == nil {
			n := p.starting
			p.mu.Unlock()
			p.wake()
			if why == "" {
				why = fmt.Sprintf("no warm slot was free (%d of %d starting)", n, p.size)
			}
			return nil, why
		}
		p.unlist(sl)
		p.mu.Unlock()
		p.wake()

		if !isClosed(sl.ready) {
			sl.sess.promote()
			promoted := time.Now()
			select {
			case <-sl.ready:
				sl.waited = time.Since(promoted)
			case <-ctx.Done():
				p.mu.Lock()
				if p.closed {
					p.mu.Unlock()
					p.retire(sl, "")
				} else {
					p.slots = append([]*warmSlot{sl}, p.slots...)
					p.mu.Unlock()
				}
				return nil, ""
			}
		}
		sl.stopWatching()
		if sl.dead != "" {
			p.retire(sl, "")
			continue
		}
		if w := sl.stale(python, stats); w != "" {
			p.retire(sl, w)
			why = w
			continue
		}
		return sl, ""
	}
}

func isClosed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

func sameRoots(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || filepath.Clean(w) != filepath.Clean(v) {
			return false
		}
	}
	return true
}

// newWarmSlot makes a warm session running python.
func (r *Runner) newWarmSlot(python string, roots map[string]string) (*warmSlot, error) {
	if python == "" {
		return nil, errors.New("no Python interpreter configured")
	}
	sl := &warmSlot{python: python, started: time.Now(), ready: make(chan struct{}),
		stopWatch: make(chan struct{}), watchDone: make(chan struct{})}
	// Taken before anything starts: a change from here on shows.
	sl.interp = statStamp(python)
	sl.interpPath, _ = filepath.EvalSymlinks(python)
	names := make([]string, 0, len(roots))
	for name := range roots {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		sl.roots = append(sl.roots, statStamp(roots[name]))
	}
	ws, err := newWorkspaceFor(r.TempDir, "warm", roots, r.User)
	if err != nil {
		return nil, fmt.Errorf("create a run directory in %s: %w", r.tempDir(), err)
	}
	env := r.environ(Spec{}, ws)
	env = dropVars(env, perRunVars)
	sess, err := r.startSession(ws, Spec{}, &execRequest{Dir: ws.work, Argv: []string{python, "-c", warmBootstrap}, Env: env})
	if err != nil {
		_ = ws.remove()
		return nil, err
	}
	if sess.cgroup != "" {
		ws.recordCgroup(sess.cgroup)
	}
	sl.ws, sl.sess, sl.env = ws, sess, env
	return sl, nil
}

func dropVars(env, names []string) []string {
	out := env[:0:0]
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		if !contains(names, name) {
			out = append(out, kv)
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// watch follows a waiting slot: its report (it is warm), or its end.
func (sl *warmSlot) watch(p *warmPool) {
	defer close(sl.watchDone)
	reported := make(chan error, 1)
	go func() {
		b, err := io.ReadAll(sl.sess.warmReport)
		if err == nil && len(b) == 0 {
			err = errEndedEarly
		} else if err == nil {
			sl.report, err = parseWarmReport(b)
		}
		reported <- err
	}()
	warmed := false
	die := func(why string) {
		sl.dead = why
		if !warmed {
			close(sl.ready)
		}
		p.slotDied(sl, warmed)
	}
	for {
		select {
		case err := <-reported:
			reported = nil
			if errors.Is(err, errEndedEarly) {
				// It is ending: its end (and what it printed) says why.
				continue
			}
			if err != nil {
				die("its report: " + err.Error())
				return
			}
			warmed = true
			close(sl.ready)
			p.mu.Lock()
			p.failures = 0
			p.mu.Unlock()
		case ev, ok := <-sl.sess.events:
			if !ok {
				die("its supervisor died")
				return
			}
			closeFds(ev.fds)
			if ev.Op == opWarmGone {
				// Every writer of its output is gone: this ends.
				b, _ := io.ReadAll(io.LimitReader(sl.sess.warmOut, 64<<10))
				if s := strings.TrimSpace(string(b)); s != "" {
					ev.Note += ": " + s[strings.LastIndexByte(s, '\n')+1:]
				}
				die(ev.Note)
				return
			}
		case <-sl.stopWatch:
			return
		}
	}
}

// errEndedEarly is a report that never came: the warm process ended (or
// closed it) before pytest was imported.
var errEndedEarly = errors.New("the warm process ended before it reported")

// stopWatching ends watch; from then on the slot's events are its run's.
func (sl *warmSlot) stopWatching() {
	sl.stopOnce.Do(func() { close(sl.stopWatch) })
	<-sl.watchDone
}

// close ends a slot: its supervisor kills the warm process and exits, then
// the workspace goes.
func (sl *warmSlot) close() error {
	sl.sess.close()
	return sl.ws.remove()
}

// stale says how the world changed since the slot started, or "". stats
// caches stat results across calls of one pass.
func (sl *warmSlot) stale(python string, stats map[string]fileStamp) string {
	stat := func(path string) fileStamp {
		if st, ok := stats[path]; ok {
			return st
		}
		st := statStamp(path)
		stats[path] = st
		return st
	}
	if python != sl.python {
		return fmt.Sprintf("BATON_PYTHON is now %s; the slot runs %s", python, sl.python)
	}
	if now, _ := filepath.EvalSymlinks(python); now != sl.interpPath || !stat(python).same(sl.interp) {
		return fmt.Sprintf("the interpreter %s changed", python)
	}
	for _, root := range sl.roots {
		if now := stat(root.path); now.dev != root.dev || now.ino != root.ino || now.missing != root.missing {
			return fmt.Sprintf("catalog root %s was replaced", root.path)
		}
	}
	if sl.report != nil {
		for _, st := range sl.report.stamps {
			if !stat(st.path).same(st) {
				return fmt.Sprintf("%s changed since the slot imported pytest (installed packages)", st.path)
			}
		}
	}
	return ""
}

// coldReason says why inv (the run's first invocation, with the run's
// environment env) must start cold rather than in this slot, or "".
func (sl *warmSlot) coldReason(inv Invocation, env []string) string {
	if len(inv.Argv) < 3 || inv.Argv[0] != sl.python || inv.Argv[1] != "-m" || inv.Argv[2] != "pytest" {
		return "the command is not " + sl.python + " -m pytest"
	}
	if why := sl.envReason(env); why != "" {
		return why
	}
	if file, mod := shadowing(inv.Dir, sl.report.modules); file != "" {
		return fmt.Sprintf("the project root has %s, which a cold start imports in place of the module %s that importing pytest loads", file, mod)
	}
	return ""
}

// envReason names a variable whose value for the run differs from the
// warm process's in a way the warm process cannot take on.
func (sl *warmSlot) envReason(env []string) string {
	warm, run := envMap(sl.env), envMap(env)
	var names []string
	for k := range warm {
		names = append(names, k)
	}
	for k := range run {
		if _, ok := warm[k]; !ok {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		w, inWarm := warm[name]
		v, inRun := run[name]
		if inWarm == inRun && w == v {
			continue
		}
		switch {
		case isStartupVar(name):
			return fmt.Sprintf("%s differs for this run, and Python reads it only when it starts", name)
		case sl.report.envAll:
			return fmt.Sprintf("%s differs for this run, and importing pytest read the whole environment", name)
		case sl.report.envRead[name]:
			return fmt.Sprintf("%s differs for this run, and importing pytest read it", name)
		}
	}
	return ""
}

func envMap(env []string) map[string]string {
	m := make(map[string]string, len(env))
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	return m
}

// shadowing finds an entry of dir that a Python started in dir (which
// puts dir first on sys.path) would import in place of one of modules:
// a module file (name.py, name.pyc, name.*.so) or a regular package (a
// directory with an __init__). A directory without __init__ is only a
// namespace portion, which loses to a module found later on sys.path.
func shadowing(dir string, modules map[string]bool) (file, module string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", ""
	}
	for _, e := range entries {
		name := e.Name()
		var mod string
		switch {
		case strings.HasSuffix(name, ".py"):
			mod = strings.TrimSuffix(name, ".py")
		case strings.HasSuffix(name, ".pyc"):
			mod = strings.TrimSuffix(name, ".pyc")
		case strings.HasSuffix(name, ".so"):
			mod, _, _ = strings.Cut(name, ".")
		default:
			if modules[name] && hasInit(filepath.Join(dir, name)) {
				return name + "/", name
			}
			continue
		}
		if modules[mod] {
			return name, mod
		}
	}
	return "", ""
}

func hasInit(dir string) bool {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, e := range entries {
		n := e.Name()
		if rest, ok := strings.CutPrefix(n, "__init__."); ok && (rest == "py" || rest == "pyc" || strings.HasSuffix(rest, "so")) {
			return true
		}
	}
	return false
}

// fileStamp is how a file looked: identity, size and modification time;
// missing when it did not exist; unknown when it could not be looked at.
type fileStamp struct {
	path             string
	missing, unknown bool
	dev, ino         uint64
	size, mtime      int64
}

func statStamp(path string) fileStamp {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		if errors.Is(err, unix.ENOENT) {
			return fileStamp{path: path, missing: true}
		}
		return fileStamp{path: path, unknown: true}
	}
	return fileStamp{path: path, dev: st.Dev, ino: st.Ino, size: st.Size, mtime: st.Mtim.Nano()}
}

// same compares what the warm process could see of a file (it reports no
// device) with a new look.
func (a fileStamp) same(b fileStamp) bool {
	return a.missing == b.missing && a.unknown == b.unknown && a.ino == b.ino && a.size == b.size && a.mtime == b.mtime
}

// warmReport is what the warm process reports once pytest is imported
// (warm.py): how every directory on sys.path looked before the import and
// every file and package directory the import loaded looked after it; the
// top-level modules it found on sys.path; the variables it read.
type warmReport struct {
	stamps  []fileStamp
	modules map[string]bool
	envRead map[string]bool
	envAll  bool
}

// parseWarmReport reads warm.py's report: NUL-terminated fields, each
// record led by its kind.
func parseWarmReport(b []byte) (*warmReport, error) {
	f := bytes.Split(b, []byte{0})
	rep := &warmReport{modules: map[string]bool{}, envRead: map[string]bool{}}
	for i := 0; i < len(f); {
		kind := string(f[i])
		need := map[string]int{"P": 5, "F": 5, "D": 5, "M": 2, "E": 2, "E*": 1, "OK": 1}[kind]
		if need == 0 || i+need > len(f) {
			return nil, fmt.Errorf("malformed at field %d (%q)", i, kind)
		}
		rec := f[i : i+need]
		i += need
		switch kind {
		case "P", "F", "D":
			st, err := reportedStamp(rec[1:])
			if err != nil {
				return nil, err
			}
			rep.stamps = append(rep.stamps, st)
		case "M":
			rep.modules[string(rec[1])] = true
		case "E":
			rep.envRead[string(rec[1])] = true
		case "E*":
			rep.envAll = true
		case "OK":
			return rep, nil
		}
	}
	return nil, errors.New("incomplete: the warm process ended before importing pytest")
}

func reportedStamp(rec [][]byte) (fileStamp, error) {
	st := fileStamp{path: string(rec[0])}
	switch string(rec[1]) {
	case "-":
		st.missing = true
		return st, nil
	case "?":
		// The run user may not look; the worker's look now is the base.
		return statStamp(st.path), nil
	}
	mtime, err1 := strconv.ParseInt(string(rec[1]), 10, 64)
	size, err2 := strconv.ParseInt(string(rec[2]), 10, 64)
	ino, err3 := strconv.ParseUint(string(rec[3]), 10, 64)
	if err := errors.Join(err1, err2, err3); err != nil {
		return st, fmt.Errorf("stamp of %s: %w", st.path, err)
	}
	st.mtime, st.size, st.ino = mtime, size, ino
	return st, nil
}
