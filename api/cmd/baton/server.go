package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/baton-ci/baton/api/catalog"
	"github.com/baton-ci/baton/api/cli"
	"github.com/baton-ci/baton/api/config"
	"github.com/baton-ci/baton/api/domain"
	"github.com/baton-ci/baton/api/environments"
	"github.com/baton-ci/baton/api/httpapi"
	"github.com/baton-ci/baton/api/insights"
	"github.com/baton-ci/baton/api/jobs"
	"github.com/baton-ci/baton/api/metrics"
	"github.com/baton-ci/baton/api/postgres"
	"github.com/baton-ci/baton/api/runner"
	"github.com/baton-ci/baton/api/runs"
	"github.com/baton-ci/baton/api/webhooks"
)

func serveCmd(log *slog.Logger, level *slog.LevelVar) *cobra.Command {
	return &cobra.Command{
		Use:   "serve",
		Short: "run the HTTP API on $BATON_ADDR (and a worker unless BATON_EMBEDDED_WORKER=false)",
		Args:  cli.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return logged(log, run(cmd.Context(), log, level, true))
		},
	}
}

func workerCmd(log *slog.Logger, level *slog.LevelVar) *cobra.Command {
	return &cobra.Command{
		Use:   "worker",
		Short: "run a worker only (add one per extra host)",
		Args:  cli.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return logged(log, run(cmd.Context(), log, level, false))
		},
	}
}

func migrateCmd(log *slog.Logger, level *slog.LevelVar) *cobra.Command {
	return &cobra.Command{
		Use:   "migrate",
		Short: "apply database migrations to $DATABASE_URL and exit",
		Args:  cli.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return logged(log, migrate(cmd.Context(), log, level))
		},
	}
}

// logged reports a server command's failure in its own log, so log
// collectors see it as a structured record like every other.
func logged(log *slog.Logger, err error) error {
	if err == nil {
		return nil
	}
	log.Error("baton: " + err.Error())
	return &cli.Exit{Code: exitError} // reported
}

func openDB(ctx context.Context, cfg *config.Config) (*postgres.DB, error) {
	db, err := postgres.Open(ctx, cfg.DatabaseURL, int32(cfg.DBMaxConns))
	if err != nil {
		return nil, fmt.Errorf("%w (check DATABASE_URL)", err)
	}
	return db, nil
}

// loadConfig reads the configuration and sets the log level from it.
func loadConfig(level *slog.LevelVar) (*config.Config, error) {
	cfg, err := config.Load()
	if err != nil {
		return nil, err
	}
	level.Set(cfg.LogLevel)
	return cfg, nil
}

func migrate(ctx context.Context, log *slog.Logger, level *slog.LevelVar) error {
	cfg, err := loadConfig(level)
	if err != nil {
		return err
	}
	db, err := openDB(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	applied, err := db.Migrate(ctx, func(ctx context.Context) error { return jobs.MigrateRiver(ctx, db.Pool) })
	if err != nil {
		return err
	}
	log.Info("migrations applied", "new", applied)
	return nil
}

// run starts the API (withAPI) and/or a worker and blocks until ctx ends,
// then shuts down gracefully.
func run(ctx context.Context, log *slog.Logger, level *slog.LevelVar, withAPI bool) error {
	cfg, err := loadConfig(level)
	if err != nil {
		return err
	}
	if err := hideProcess(); err != nil {
		return fmt.Errorf("make the process non-dumpable: %w", err)
	}
	withWorker := !withAPI || cfg.EmbeddedWorker
	python := cfg.Python
	if python == "" {
		python, err = runner.DetectPython()
		if err != nil && withWorker {
			return fmt.Errorf("%w; set BATON_PYTHON or install pytest (Debian: apt-get install python3-pytest)", err)
		}
		if err != nil {
			log.Warn("no Python with pytest found: uploads cannot be syntax-checked", "err", err)
		}
	}

	db, err := openDB(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	applied, err := db.Migrate(ctx, func(ctx context.Context) error { return jobs.MigrateRiver(ctx, db.Pool) })
	if err != nil {
		return err
	}
	if len(applied) > 0 {
		log.Info("migrations applied", "new", applied)
	}
	enq, err := jobs.NewEnqueuer(db.Pool)
	if err != nil {
		return err
	}
	store := postgres.NewStore(db, enq, postgres.WithWorkerLostAfter(cfg.WorkerLostAfter))
	runService := runs.New(store, cfg.RunTimeout)
	hooks, err := webhooks.ParseHooks(cfg.WebhookURLs)
	if err != nil {
		return fmt.Errorf("BATON_WEBHOOK_URLS: %w", err)
	}
	hookService := webhooks.New(webhooks.Config{Hooks: hooks, Secret: []byte(cfg.WebhookSecret), Timeout: cfg.WebhookTimeout,
		BaseURL: cfg.APIURL, Logger: log}, enq, store)
	insightsService := insights.New(store, insights.Options{FlakyWindow: cfg.FlakyWindow, Logger: log})
	role := "worker"
	if withAPI {
		role = "api"
		if withWorker {
			role = "api+worker"
		}
	}
	meter := metrics.New(role)
	if cfg.Retention > 0 {
		log.Info("retention: ended runs are deleted with their logs and results", "after", cfg.Retention.String())
	} else {
		log.Info("retention: off, every run is kept (set BATON_RETENTION, e.g. 90d)")
	}
	roots := []catalog.Root{
		{Dir: cfg.SampleTestsDir, Writable: cfg.SampleTestsWritable},
		{Dir: cfg.UploadDir, Writable: true},
	}
	for _, r := range cfg.TestRoots {
		roots = append(roots, catalog.Root{Name: r.Name, Dir: r.Dir, Writable: r.Writable})
	}
	cat, err := catalog.New(roots, catalog.Options{Python: python, MaxUploadBytes: cfg.MaxUploadBytes,
		MaxProjectBytes: cfg.MaxProjectBytes, MaxProjectFiles: cfg.MaxProjectFiles})
	if err != nil && len(cfg.TestRoots) > 0 {
		err = fmt.Errorf("%w (check BATON_TEST_ROOTS)", err)
	}
	if err != nil {
		return err
	}

	var worker *jobs.Worker
	if withWorker {
		rn, err := newRunner(ctx, cfg, python, cat.RootDirs(), log)
		if err != nil {
			return err
		}
		// After the worker's Stop (deferred calls run last): the runs it
		// lets finish need no new slots, and waiting ones go now.
		defer rn.StopWarm()
		worker, err = jobs.NewWorker(db.Pool, runService, rn, cat, jobs.Config{
			ID:                cfg.WorkerID,
			MaxRuns:           cfg.MaxRuns,
			APIURL:            cfg.APIURL,
			RescueAfter:       jobs.RescueAfter(cfg.RunTimeout, cfg.KillGrace),
			HeartbeatInterval: cfg.HeartbeatInterval,
			StaleAfter:        cfg.WorkerLostAfter,
			LeaseMargin:       cfg.LeaseMargin,
			ReapInterval:      cfg.WorkerLostAfter / 4,
			LogOptions:        runner.LogOptions{Limit: cfg.LogLimitBytes},
			OnRunStarted:      []domain.RunStartedHandler{hookService},
			// The metrics handler comes last: it never fails, so a job
			// retried because another handler failed is counted once.
			OnRunEnded:     []domain.RunEndedHandler{insightsService, hookService, meter},
			Webhooks:       hookService,
			WebhookTimeout: cfg.WebhookTimeout,
			Housekeeping:   housekeeping(cfg, insightsService),
			Observer:       meter.WorkerObserver(),
			Registry:       store,
			Logger:         log,
		})
		if err != nil {
			return err
		}
		meter.WorkerSlots(worker)
		if err := worker.Start(ctx); err != nil {
			return fmt.Errorf("start worker: %w", err)
		}
		log.Info("worker started", "id", worker.ID(), "max_runs", cfg.MaxRuns, "python", python,
			"lease", cfg.Lease(), "lease_margin", cfg.LeaseMargin)
	}

	var srv *http.Server
	serveErr := make(chan error, 2)
	if withAPI {
		syncer := catalog.NewSyncer(cat, store, log)
		if err := syncer.Sync(ctx); err != nil {
			return fmt.Errorf("scan test catalog: %w", err)
		}
		go syncer.Run(ctx, time.Second)
		envService := environments.New(store, nil)
		meter.Environments(envService, log)
		opts := httpapi.Options{WebDir: cfg.WebDir, Logger: log, APIToken: cfg.APIToken, CORSOrigins: cfg.CORSOrigins,
			ListCacheTTL: cfg.ListCacheTTL, ObserveRequest: meter.ObserveRequest}
		if cfg.MetricsAddr == "" {
			opts.Metrics = meter.Handler()
		}
		api := httpapi.New(httpapi.Services{
			Runs: runService, Environments: envService, Catalog: store, Uploader: syncer, Health: store, Webhooks: hookService,
			Insights: insightsService,
		}, opts)
		srv = &http.Server{Addr: cfg.Addr, Handler: api.Handler(), ReadHeaderTimeout: 10 * time.Second}
		ln, err := net.Listen("tcp", cfg.Addr)
		if err != nil {
			return fmt.Errorf("listen on BATON_ADDR %s: %w", cfg.Addr, err)
		}
		log.Info("API listening", "addr", cfg.Addr, "url", cfg.APIURL, "web_dir", cfg.WebDir)
		go func() { serveErr <- srv.Serve(ln) }()
	}

	var metricsSrv *http.Server
	switch {
	case cfg.MetricsAddr != "":
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", meter.Handler())
		metricsSrv = &http.Server{Addr: cfg.MetricsAddr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		ln, err := net.Listen("tcp", cfg.MetricsAddr)
		if err != nil {
			return fmt.Errorf("listen on BATON_METRICS_ADDR %s: %w", cfg.MetricsAddr, err)
		}
		log.Info("metrics listening", "addr", cfg.MetricsAddr, "path", "/metrics")
		go func() { serveErr <- metricsSrv.Serve(ln) }()
	case !withAPI:
		log.Info("metrics are not served: set BATON_METRICS_ADDR (e.g. :9090) to serve /metrics from this worker")
	}

	select {
	case <-ctx.Done():
	case err := <-serveErr:
		if !errors.Is(err, http.ErrServerClosed) {
			return err
		}
	}
	log.Info("shutting down", "grace", cfg.ShutdownGrace)
	for _, s := range []*http.Server{srv, metricsSrv} {
		if s != nil {
			sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			_ = s.Shutdown(sctx)
			cancel()
		}
	}
	if worker != nil {
		wctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownGrace)
		defer cancel()
		if err := worker.Stop(wctx); err != nil {
			log.Warn("worker stop", "err", err)
		}
	}
	return nil
}

// housekeeping are the periodic tasks of the workers: retention when
// BATON_RETENTION is set, recomputing test statistics after a change of
// BATON_FLAKY_WINDOW, and adding ended runs the environment usage rollup
// lacks (all of them after the upgrade that brought it).
func housekeeping(cfg *config.Config, ins *insights.Service) []jobs.Task {
	tasks := []jobs.Task{{Name: "test_stats_refresh", Interval: 10 * time.Minute, Run: func(ctx context.Context) error {
		_, err := ins.RefreshStale(ctx)
		return err
	}}, {Name: "environment_usage", Interval: 10 * time.Minute, Run: func(ctx context.Context) error {
		_, err := ins.RecordPendingUsage(ctx)
		return err
	}}}
	if cfg.Retention > 0 {
		tasks = append(tasks, jobs.Task{Name: "retention", Interval: 10 * time.Minute, Run: func(ctx context.Context) error {
			_, err := ins.Prune(ctx, cfg.Retention)
			return err
		}})
	}
	return tasks
}
