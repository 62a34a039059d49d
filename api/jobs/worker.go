package jobs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"

	"github.com/baton-ci/baton/api/domain"
	"github.com/baton-ci/baton/api/runner"
)

// Executor runs one test run and streams its output; *runner.Runner
// implements it, tests substitute fakes that record overlaps.
type Executor interface {
	Run(ctx context.Context, spec runner.Spec, out io.Writer) domain.Outcome
}

// LeftoverSweeper is an Executor that keeps per-run state on this host (a
// work directory, a cgroup) and can clear what the runs of dead workers
// left there; *runner.Runner is one. The worker sweeps at start-up and
// whenever its reaper ends runs, which may have been this host's.
type LeftoverSweeper interface {
	SweepLeftovers() ([]string, error)
}

// Resolver maps catalog paths to files on this host.
type Resolver interface {
	Resolve(path string) (string, error)
	// RootDirs maps catalog root names to their directories.
	RootDirs() map[string]string
	// ContentHash identifies the content of a test file, as its tests run
	// with it (the file and the conftest.py files pytest loads for it).
	ContentHash(path string) (int64, error)
}

// Config configures a Worker.
type Config struct {
	// ID names this worker process in runs it claims; default host-pid.
	ID string
	// MaxRuns is how many runs this process executes at once.
	MaxRuns int
	// APIURL is handed to tests as BATON_API_URL.
	APIURL string
	// HeartbeatInterval is how often running runs are marked alive and
	// checked for cancel requests. Default 1s.
	HeartbeatInterval time.Duration
	// StaleAfter is how long without a heartbeat makes a run's worker count
	// as lost. Default 12s.
	StaleAfter time.Duration
	// LeaseMargin is how long before StaleAfter this worker's lease on a
	// run ends. A run's processes live only while its lease does: it
	// starts when the claim is sent, each heartbeat that PostgreSQL
	// confirmed extends it to the heartbeat's send time plus
	// StaleAfter − LeaseMargin, and the run's supervisor kills the
	// process tree on its own when it ends. Another worker reaps the run
	// only once the database has seen no heartbeat for StaleAfter, and a
	// heartbeat is stored after it was sent, so the margin is what the
	// supervisor has to kill the tree and confirm it dead (plus any
	// difference between the hosts' clock rates) before the environment
	// can go to another run. Default: a quarter of StaleAfter, at most 3s
	// (domain.RunLease); the lease left must be at least twice
	// HeartbeatInterval.
	LeaseMargin time.Duration
	// ReapInterval is how often this process looks for lost runs. Default 3s.
	ReapInterval time.Duration
	// ReconcileInterval is how often the cluster's leader re-enqueues start
	// jobs for stalled queues. Default 10s.
	ReconcileInterval time.Duration
	// RescueAfter is when River may rescue a start job still "running":
	// harmless (a rescued job can only claim a queued run, never re-run one),
	// but set from the run timeout so it only happens to jobs of dead workers.
	RescueAfter time.Duration
	// FetchPollInterval is River's fallback poll; inserts wake workers
	// through LISTEN/NOTIFY long before it. Default 500ms.
	FetchPollInterval time.Duration
	// LogOptions tune log batching and the log size limit.
	LogOptions runner.LogOptions
	// OnRunEnded are told, in order, about every run that ended, by this
	// process's worker of the run_ended job (RunEndedArgs): the seam for
	// webhooks, per-test history and metrics. Every worker process of a
	// cluster must be given the same handlers, since any of them may work
	// the job. None by default: the job then only completes.
	OnRunEnded []domain.RunEndedHandler
	// OnRunStarted are told about every run that started (the run_started
	// job), like OnRunEnded.
	OnRunStarted []domain.RunStartedHandler
	// Webhooks delivers the webhook jobs of the webhooks queue; nil when
	// none are configured. WebhookTimeout bounds one attempt (default 10s).
	Webhooks       domain.WebhookSender
	WebhookTimeout time.Duration
	// Housekeeping are the periodic tasks (retention, statistics refresh)
	// this process may work; every worker of a cluster should have the same.
	Housekeeping []Task
	// Observer is told what this worker does, for metrics; nil for none.
	Observer Observer
	// Registry, when set, records this worker and its MaxRuns slots as
	// alive every HeartbeatInterval (and forgets it on Stop), so the API can
	// tell runs that wait for a free worker slot.
	Registry domain.WorkerRegistry
	Logger   *slog.Logger
}

// Observer is told what a worker does, as it happens, for metrics
// (metrics.Worker implements it). Its methods must not block.
type Observer interface {
	// RunStarted: this worker claimed run, which now executes here.
	RunStarted(run *domain.Run)
	// Heartbeat: one heartbeat of runs running runs; err when it failed.
	Heartbeat(runs int, err error)
	// Reaped: this worker ended runs whose worker was lost.
	Reaped(runs int)
	// JobWorked: River worked a job of kind on queue, with outcome
	// completed, failed, discarded, cancelled or snoozed, in d.
	JobWorked(kind, queue, outcome string, d time.Duration)
}

// nopObserver observes nothing.
type nopObserver struct{}

// RunStarted implements Observer.
func (nopObserver) RunStarted(*domain.Run) {}

// Heartbeat implements Observer.
func (nopObserver) Heartbeat(int, error) {}

// Reaped implements Observer.
func (nopObserver) Reaped(int) {}

// JobWorked implements Observer.
func (nopObserver) JobWorked(string, string, string, time.Duration) {}

// Worker executes runs from River's runs queue on this host.
type Worker struct {
	cfg      Config
	store    domain.RunScheduler
	exec     Executor
	resolver Resolver
	client   *river.Client[pgx.Tx]
	log      *slog.Logger

	mu      sync.Mutex
	running map[int64]*execution

	stopLoops context.CancelFunc
	loopsDone sync.WaitGroup
}

// NewWorker returns a Worker that takes jobs from pool and drives the run
// life cycle through sched.
func NewWorker(pool *pgxpool.Pool, sched domain.RunScheduler, exec Executor, resolver Resolver, cfg Config) (*Worker, error) {
	if cfg.MaxRuns <= 0 {
		return nil, errors.New("jobs: MaxRuns must be positive")
	}
	if cfg.ID == "" {
		host, _ := os.Hostname()
		cfg.ID = host + "-" + strconv.Itoa(os.Getpid())
	}
	cfg.HeartbeatInterval = orDefault(cfg.HeartbeatInterval, time.Second)
	cfg.StaleAfter = orDefault(cfg.StaleAfter, 12*time.Second)
	// The same rule api/config applies to BATON_LEASE_MARGIN, for callers
	// (tests, benchmarks) that build a Config by hand.
	margin, lease, ok := domain.RunLease(cfg.StaleAfter, cfg.LeaseMargin, cfg.HeartbeatInterval)
	cfg.LeaseMargin = margin
	if !ok {
		return nil, fmt.Errorf("jobs: the run lease (StaleAfter %s − LeaseMargin %s = %s) must be at least twice the heartbeat interval (%s)",
			cfg.StaleAfter, cfg.LeaseMargin, lease, cfg.HeartbeatInterval)
	}
	cfg.ReapInterval = orDefault(cfg.ReapInterval, 3*time.Second)
	cfg.ReconcileInterval = orDefault(cfg.ReconcileInterval, 10*time.Second)
	cfg.RescueAfter = orDefault(cfg.RescueAfter, 2*time.Hour)
	cfg.FetchPollInterval = orDefault(cfg.FetchPollInterval, 500*time.Millisecond)
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Observer == nil {
		cfg.Observer = nopObserver{}
	}
	tasks := map[string]Task{}
	for i, t := range cfg.Housekeeping {
		if t.Name == "" || t.Run == nil || t.Interval <= 0 || tasks[t.Name].Run != nil {
			return nil, fmt.Errorf("jobs: housekeeping task %d (%q) needs a unique name, an interval and a Run", i, t.Name)
		}
		if t.Budget <= 0 {
			t.Budget = 45 * time.Second
		}
		tasks[t.Name] = t
	}
	w := &Worker{cfg: cfg, store: sched, exec: exec, resolver: resolver, log: cfg.Logger,
		running: map[int64]*execution{}}

	workers := river.NewWorkers()
	if err := river.AddWorkerSafely(workers, &startWorker{w: w}); err != nil {
		return nil, err
	}
	if err := river.AddWorkerSafely(workers, &reconcileWorker{w: w}); err != nil {
		return nil, err
	}
	if err := river.AddWorkerSafely(workers, &runEndedWorker{handlers: cfg.OnRunEnded}); err != nil {
		return nil, err
	}
	if err := river.AddWorkerSafely(workers, &runStartedWorker{handlers: cfg.OnRunStarted}); err != nil {
		return nil, err
	}
	cfg.WebhookTimeout = orDefault(cfg.WebhookTimeout, 10*time.Second)
	if err := river.AddWorkerSafely(workers, &webhookWorker{sender: cfg.Webhooks, timeout: cfg.WebhookTimeout}); err != nil {
		return nil, err
	}
	if err := river.AddWorkerSafely(workers, &housekeepingWorker{tasks: tasks}); err != nil {
		return nil, err
	}
	periodic := append([]*river.PeriodicJob{
		river.NewPeriodicJob(river.PeriodicInterval(cfg.ReconcileInterval),
			func() (river.JobArgs, *river.InsertOpts) { return ReconcileArgs{}, nil },
			&river.PeriodicJobOpts{RunOnStart: true}),
	}, housekeepingJobs(cfg.Housekeeping)...)
	client, err := river.NewClient(riverpgxv5.New(pool), &river.Config{
		ID: cfg.ID,
		Queues: map[string]river.QueueConfig{
			QueueRuns:        {MaxWorkers: cfg.MaxRuns},
			QueueMaintenance: {MaxWorkers: 1},
			QueueEvents:      {MaxWorkers: 2},
			QueueWebhooks:    {MaxWorkers: 4},
		},
		Workers: workers,
		// Start jobs set their own timeout (none: the runner enforces each
		// run's timeout); this one bounds maintenance jobs only.
		JobTimeout:           time.Minute,
		RescueStuckJobsAfter: cfg.RescueAfter,
		FetchCooldown:        5 * time.Millisecond,
		FetchPollInterval:    cfg.FetchPollInterval,
		PeriodicJobs:         periodic,
		Middleware:           []rivertype.Middleware{&observeJobs{obs: cfg.Observer}},
		Logger:               riverLogger(cfg.Logger),
	})
	if err != nil {
		return nil, fmt.Errorf("create River client: %w", err)
	}
	w.client = client
	return w, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// ID returns the worker's id as recorded on the runs it claims.
func (w *Worker) ID() string { return w.cfg.ID }

// Start begins taking jobs and runs the heartbeat and reaper loops. The
// worker runs until Stop, whatever happens to ctx: River treats the end of
// its start context as StopAndCancel, which would cancel every running run
// at once and skip the shutdown grace period that Stop grants.
func (w *Worker) Start(ctx context.Context) error {
	w.sweep()
	ctx = context.WithoutCancel(ctx)
	loopCtx, cancel := context.WithCancel(ctx)
	w.stopLoops = cancel
	w.loopsDone.Add(2)
	go w.every(loopCtx, w.cfg.HeartbeatInterval, w.heartbeat)
	go w.every(loopCtx, w.cfg.ReapInterval, w.reap)
	if w.cfg.Registry != nil {
		w.announce(loopCtx)
		w.loopsDone.Add(1)
		go w.every(loopCtx, w.cfg.HeartbeatInterval, w.announce)
	}
	return w.client.Start(ctx)
}

// announce records this worker's slots as alive.
func (w *Worker) announce(ctx context.Context) {
	if err := w.cfg.Registry.WorkerAlive(ctx, w.cfg.ID, w.cfg.MaxRuns); err != nil {
		w.log.Warn("recording the worker as alive failed", "err", err)
	}
}

// Stop stops taking new runs and lets running ones finish until ctx ends;
// then it stops them, and they end as error/worker_shutdown.
func (w *Worker) Stop(ctx context.Context) error {
	err := w.client.Stop(ctx)
	if err != nil {
		// The grace period is over: cancel what still runs. Each run's
		// context outlives River's, so record why it was stopped first.
		w.cancelAll(runner.Stop{Status: domain.StatusError, Reason: domain.ReasonWorkerShutdown})
		hard, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		err = w.client.StopAndCancel(hard)
	}
	if w.stopLoops != nil {
		w.stopLoops()
		w.loopsDone.Wait()
	}
	if w.cfg.Registry != nil {
		gone, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if gerr := w.cfg.Registry.WorkerGone(gone, w.cfg.ID); gerr != nil {
			w.log.Warn("forgetting the stopped worker failed", "err", gerr)
		}
	}
	return err
}

func (w *Worker) every(ctx context.Context, d time.Duration, fn func(context.Context)) {
	defer w.loopsDone.Done()
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			fn(ctx)
		}
	}
}

// execution is a run this process is executing.
type execution struct {
	cancel   context.CancelCauseFunc
	progress *runner.ProgressCounter
	lease    *runner.Lease
}

// lease is how long a run's lease lasts after the claim or heartbeat that
// began or renewed it was sent (Config.LeaseMargin).
func (w *Worker) lease() time.Duration { return w.cfg.StaleAfter - w.cfg.LeaseMargin }

// heartbeat marks this worker's runs alive and extends the lease of each
// one PostgreSQL confirmed is still running here, from the time the
// heartbeat was sent: only that proves no other worker may reap the run
// before StaleAfter from then. A heartbeat that fails, or does not answer
// within half a lease, extends nothing; the runs keep their leases, and
// their supervisors kill them when those end.
func (w *Worker) heartbeat(ctx context.Context) {
	w.mu.Lock()
	runs := make(map[int64]*domain.Progress, len(w.running))
	leases := make(map[int64]*runner.Lease, len(w.running))
	for id, ex := range w.running {
		runs[id] = ex.progress.Progress()
		leases[id] = ex.lease
	}
	w.mu.Unlock()
	if len(runs) == 0 {
		return
	}
	// A hung connection must not hold up the loop past the leases it is
	// meant to renew (a late answer would extend them from its send time
	// only, which is no use once they have ended).
	hctx, cancel := context.WithTimeout(ctx, w.lease()/2)
	defer cancel()
	sent := runner.Boottime()
	alive, err := w.store.Heartbeat(hctx, w.cfg.ID, runs)
	w.cfg.Observer.Heartbeat(len(runs), err)
	if err != nil {
		// Keep running while the leases last: a short database outage must
		// not kill healthy runs. If it outlasts them, their supervisors
		// kill the runs, before another worker may reap them.
		w.log.Warn("heartbeat failed; the runs' leases were not extended", "err", err, "runs", len(runs))
		return
	}
	until := sent + w.lease()
	for id := range runs {
		cancelRequested, ok := alive[id]
		if ok && leases[id] != nil {
			leases[id].Extend(until)
		}
		switch {
		case !ok:
			w.cancel(id, runner.Stop{Status: domain.StatusError, Reason: domain.ReasonWorkerLost})
		case cancelRequested:
			w.cancel(id, runner.Stop{Status: domain.StatusCancelled, Reason: domain.ReasonCancelled})
		}
	}
}

func (w *Worker) reap(ctx context.Context) {
	ids, err := w.store.Reap(ctx, w.cfg.StaleAfter)
	if len(ids) > 0 {
		w.cfg.Observer.Reaped(len(ids))
	}
	if err != nil {
		w.log.Warn("reaping lost runs failed", "err", err)
	}
	for _, id := range ids {
		w.log.Warn("run's worker stopped responding; run ended as worker_lost", "run_id", id)
	}
	if len(ids) > 0 {
		w.sweep()
	}
}

// sweep clears what runs of dead workers left on this host; a live run's
// state is never touched.
func (w *Worker) sweep() {
	s, ok := w.exec.(LeftoverSweeper)
	if !ok {
		return
	}
	removed, err := s.SweepLeftovers()
	for _, dir := range removed {
		w.log.Info("removed a dead run's leftovers", "dir", dir)
	}
	if err != nil {
		w.log.Warn("clearing dead runs' leftovers", "err", err)
	}
}

func (w *Worker) cancel(id int64, why runner.Stop) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if ex := w.running[id]; ex != nil {
		ex.cancel(why)
	}
}

func (w *Worker) cancelAll(why runner.Stop) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, ex := range w.running {
		ex.cancel(why)
	}
}

// startWorker is the River worker of StartArgs.
type startWorker struct {
	river.WorkerDefaults[StartArgs]
	w *Worker
}

// Timeout disables River's job timeout for start jobs: a run's length is
// bounded by its own timeout, enforced by the runner, which kills the
// process group and records the reason. River's 1-minute default would
// cancel every longer run.
func (*startWorker) Timeout(*river.Job[StartArgs]) time.Duration { return -1 }

// Work claims the environment's next queued run, if it is free, and executes it.
// The run's lease counts from before the claim was sent: the claim's
// heartbeat_at is written after that, so the lease ends at least
// LeaseMargin before any other worker may reap the run.
func (s *startWorker) Work(ctx context.Context, job *river.Job[StartArgs]) error {
	sent := runner.Boottime()
	run, err := s.w.store.Claim(ctx, job.Args.EnvironmentID, s.w.cfg.ID)
	if err != nil || run == nil {
		return err
	}
	s.w.cfg.Observer.RunStarted(run)
	s.w.execute(ctx, run, runner.NewLease(sent+s.w.lease()))
	return nil
}

// execute runs a claimed run to its end and records the outcome. It never
// gives up on recording: an unrecorded run would hold its environment until
// the reaper frees it.
//
// The run's processes live only while lease does (see heartbeat).
func (w *Worker) execute(jobCtx context.Context, run *domain.Run, lease *runner.Lease) {
	// The run must not die with River's job context: only a cancel, a lost
	// claim or a shutdown (each with its reason) stops it.
	runCtx, cancel := context.WithCancelCause(context.WithoutCancel(jobCtx))
	defer cancel(nil)
	stopWithJob := context.AfterFunc(jobCtx, func() {
		cancel(runner.Stop{Status: domain.StatusError, Reason: domain.ReasonWorkerShutdown})
	})
	defer stopWithJob()

	progress := &runner.ProgressCounter{}
	w.mu.Lock()
	w.running[run.ID] = &execution{cancel: cancel, progress: progress, lease: lease}
	w.mu.Unlock()
	done := func() {
		w.mu.Lock()
		delete(w.running, run.ID)
		w.mu.Unlock()
	}
	defer done()

	logw := runner.NewLogWriter(patientLog{w.store}, run.ID, w.cfg.LogOptions)
	hashes := w.contentHashes(run)
	// The run is recorded as soon as the runner says its end is final
	// (runner.Spec.Ended), while the runner still waits for the
	// supervisor's exit and removes the workspace; or after Run, for an
	// Executor that does not call it.
	var once sync.Once
	record := func(o domain.Outcome) {
		once.Do(func() {
			o.ContentHashes = hashes
			w.record(jobCtx, runCtx, run, logw, o)
			// No longer this worker's run: a heartbeat would find it
			// ended and cancel it as lost while its clean-up goes on.
			done()
		})
	}
	record(w.runTests(runCtx, run, lease, runOutput{logw, progress}, record))
}

// record stores the end of a run's log and then its outcome.
func (w *Worker) record(jobCtx, runCtx context.Context, run *domain.Run, logw *runner.LogWriter, outcome domain.Outcome) {
	flushCtx, flushCancel := context.WithTimeout(context.WithoutCancel(jobCtx), time.Minute)
	if err := logw.Close(flushCtx); err != nil {
		w.log.Error("storing run log failed", "run_id", run.ID, "err", err)
	}
	flushCancel()

	if outcome.Reason == domain.ReasonWorkerLost {
		// Another worker already ended this run; record nothing.
		return
	}
	for attempt := 0; ; attempt++ {
		finished, err := w.store.Finish(context.WithoutCancel(jobCtx), run, w.cfg.ID, outcome)
		if err == nil {
			if !finished {
				// Typically reaped while this worker was frozen or cut off;
				// the outcome (often lease_expired) is only ours to log.
				w.log.Warn("run was ended elsewhere before its outcome was recorded", "run_id", run.ID,
					"status", outcome.Status, "reason", outcome.Reason)
			}
			return
		}
		w.log.Error("recording run outcome failed; retrying", "run_id", run.ID, "err", err, "attempt", attempt)
		time.Sleep(min(time.Duration(attempt+1)*200*time.Millisecond, 5*time.Second))
		// While we retry, heartbeats go on; if the run was reaped meanwhile
		// it is no longer ours to finish.
		var stop runner.Stop
		if errors.As(context.Cause(runCtx), &stop) && stop.Reason == domain.ReasonWorkerLost {
			return
		}
	}
}

// runOutput is where a run's output goes: its log and its progress. It
// passes FlushSoon on to the log (runner.OutputFlusher), so the runner can
// have the log's tail stored while it cleans up.
type runOutput struct {
	log      *runner.LogWriter
	progress *runner.ProgressCounter
}

// Write implements io.Writer, like io.MultiWriter of the log and the progress.
func (o runOutput) Write(p []byte) (int, error) {
	if n, err := o.log.Write(p); err != nil {
		return n, err
	}
	return o.progress.Write(p)
}

// FlushSoon implements runner.OutputFlusher.
func (o runOutput) FlushSoon() { o.log.FlushSoon() }

// patientLog stores log chunks, waiting out a database outage for as long
// as the LogWriter's context allows. LogWriter.Close gives up after a few
// quick attempts, so without this a run that ends while PostgreSQL restarts
// would lose the end of its log, although its outcome is still recorded.
type patientLog struct{ store domain.RunScheduler }

// AppendLog implements runner.Appender.
func (p patientLog) AppendLog(ctx context.Context, runID int64, offset int64, text string) error {
	for delay := 100 * time.Millisecond; ; delay = min(2*delay, 2*time.Second) {
		err := p.store.AppendLog(ctx, runID, offset, text)
		if domain.ErrorCodeOf(err) != domain.EUNAVAILABLE {
			return err
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
	}
}

// contentHashes reads, as the run starts, the content of each of its test
// files on this host (catalog.ContentHash), by catalog path; a file that
// cannot be read is left out, and its results count as unknown content.
func (w *Worker) contentHashes(run *domain.Run) map[string]int64 {
	out := make(map[string]int64, len(run.TestFiles))
	for _, p := range run.TestFiles {
		h, err := w.resolver.ContentHash(p)
		if err != nil {
			w.log.Debug("test file content not hashed", "run_id", run.ID, "file", p, "err", err)
			continue
		}
		out[p] = h
	}
	return out
}

func (w *Worker) runTests(ctx context.Context, run *domain.Run, lease *runner.Lease, out io.Writer, ended func(domain.Outcome)) domain.Outcome {
	// Checked here so a file deleted since the run was queued is reported
	// plainly rather than as a pytest usage error.
	for _, p := range run.TestFiles {
		if _, err := w.resolver.Resolve(p); err != nil {
			fmt.Fprintf(out, "=== test file %s is not available on worker %s: %s ===\n", p, w.cfg.ID, domain.ErrorMessageOf(err))
			return domain.Outcome{Status: domain.StatusError, Reason: domain.ReasonStartFailed}
		}
	}
	return w.exec.Run(ctx, runner.Spec{
		RunID:           run.ID,
		EnvironmentID:   run.EnvironmentID,
		EnvironmentName: domain.EnvironmentName(run.EnvironmentID),
		RequestedBy:     run.RequestedBy,
		Files:           run.WholeFiles(),
		Tests:           run.Tests,
		Keyword:         run.Keyword,
		Markers:         run.Markers,
		Roots:           w.resolver.RootDirs(),
		APIURL:          w.cfg.APIURL,
		Timeout:         run.Timeout,
		Fence:           run.Fence,
		Lease:           lease,
		Vars:            environmentVars(run.Env),
		Ended:           ended,
	}, out)
}

// environmentVars is what a run gets from its environment, as it was when
// the run was claimed: TEST_ENV_URL and the environment's variables, the
// secret ones marked so the runner masks their values in the log and the
// results. (Their names cannot clash with Baton's own: the environment
// service refuses TEST_ENV_* and the rest, and Baton's win anyway.)
func environmentVars(env *domain.RunEnvironment) []runner.Var {
	if env == nil {
		return nil
	}
	vars := make([]runner.Var, 0, len(env.Variables)+1)
	if env.URL != "" {
		vars = append(vars, runner.Var{Name: "TEST_ENV_URL", Value: env.URL})
	}
	for _, v := range env.Variables {
		vars = append(vars, runner.Var{Name: v.Name, Value: v.Value, Secret: v.Secret})
	}
	return vars
}

// reconcileWorker is the River worker of ReconcileArgs.
type reconcileWorker struct {
	river.WorkerDefaults[ReconcileArgs]
	w *Worker
}

// Work re-enqueues start jobs for stalled environments.
func (r *reconcileWorker) Work(ctx context.Context, _ *river.Job[ReconcileArgs]) error {
	envs, err := r.w.store.Reconcile(ctx)
	if len(envs) > 0 {
		r.w.log.Debug("reconciler re-enqueued start jobs", "environments", envs)
	}
	return err
}

// RescueAfter is when River may rescue a start job that still looks
// running: well after the longest default run could have been killed, so
// only jobs of dead workers are rescued. Rescue can never re-execute a run
// (a start job only claims queued runs), so a late rescue costs nothing.
func RescueAfter(runTimeout, killGrace time.Duration) time.Duration {
	return runTimeout + killGrace + time.Hour
}

// runEndedWorker is the River worker of RunEndedArgs: it hands the end to
// every handler in turn. A handler's error fails the job, which River
// retries, so handlers must tolerate seeing an end twice.
type runEndedWorker struct {
	river.WorkerDefaults[RunEndedArgs]
	handlers []domain.RunEndedHandler
}

// Work calls the handlers.
func (r *runEndedWorker) Work(ctx context.Context, job *river.Job[RunEndedArgs]) error {
	e := job.Args.RunEnded()
	for _, h := range r.handlers {
		if err := h.HandleRunEnded(ctx, e); err != nil {
			return fmt.Errorf("run %d ended: %w", e.RunID, err)
		}
	}
	return nil
}

// Slots returns how many runs this process executes now and at most.
func (w *Worker) Slots() (busy, total int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.running), w.cfg.MaxRuns
}

// observeJobs is River worker middleware that tells the Observer how each
// job ended.
type observeJobs struct {
	river.WorkerMiddlewareDefaults
	obs Observer
}

// Work implements rivertype.WorkerMiddleware.
func (o *observeJobs) Work(ctx context.Context, job *rivertype.JobRow, doInner func(context.Context) error) error {
	start := time.Now()
	err := doInner(ctx)
	o.obs.JobWorked(job.Kind, job.Queue, jobOutcome(job, err), time.Since(start))
	return err
}

// jobOutcome names what River does with a job after err.
func jobOutcome(job *rivertype.JobRow, err error) string {
	var snooze *river.JobSnoozeError
	var cancel *river.JobCancelError
	switch {
	case err == nil:
		return "completed"
	case errors.As(err, &snooze):
		return "snoozed"
	case errors.As(err, &cancel):
		return "cancelled"
	case job.Attempt >= job.MaxAttempts:
		return "discarded"
	default:
		return "failed"
	}
}
