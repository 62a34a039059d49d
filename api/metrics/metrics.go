// Package metrics exposes Baton's Prometheus metrics (prometheus/client_golang).
//
// Which process reports what, when the API and the workers are separate
// processes on many hosts:
//
//   - Every process: Go runtime and process metrics, baton_process_info.
//   - A worker process reports what it does itself: the runs it started and
//     their queue wait (at the claim), its slots, its heartbeats and reaps,
//     the River jobs it worked. Sum them over instances for the cluster.
//   - The run_ended seam: runs ended by status and their duration are
//     counted by whichever worker works the run's run_ended job, once per
//     completed job; summed over workers they count every end once.
//   - An API process reports its HTTP requests, and the cluster-wide
//     gauges read from the database at scrape time (queue depth and running
//     run per environment): every API process reports the same values, so
//     aggregate them with max, not sum.
package metrics

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/baton-ci/baton/api/domain"
)

// Metrics is one process's registry and the metrics Baton records in it.
type Metrics struct {
	reg *prometheus.Registry

	runsStarted prometheus.Counter
	queueWait   prometheus.Histogram
	runsEnded   *prometheus.CounterVec
	runDuration *prometheus.HistogramVec
	heartbeats  *prometheus.CounterVec
	reaped      prometheus.Counter
	jobs        *prometheus.CounterVec
	jobDuration *prometheus.HistogramVec
	requests    *prometheus.HistogramVec
}

var _ domain.RunEndedHandler = (*Metrics)(nil)

// New returns the metrics of a process playing role ("api", "worker" or
// "api+worker"), with Go runtime and process metrics registered.
func New(role string) *Metrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	f := func(c prometheus.Collector) prometheus.Collector { reg.MustRegister(c); return c }
	info := prometheus.NewGauge(prometheus.GaugeOpts{Name: "baton_process_info",
		Help: "Always 1; role says whether this process serves the API, runs tests, or both.", ConstLabels: prometheus.Labels{"role": role}})
	info.Set(1)
	reg.MustRegister(info)
	return &Metrics{
		reg: reg,
		runsStarted: f(prometheus.NewCounter(prometheus.CounterOpts{Name: "baton_runs_started_total",
			Help: "Runs this worker claimed and started."})).(prometheus.Counter),
		queueWait: f(prometheus.NewHistogram(prometheus.HistogramOpts{Name: "baton_run_queue_wait_seconds",
			Help:    "How long runs this worker started waited in their environment's queue (created to started).",
			Buckets: []float64{0.01, 0.05, 0.1, 0.5, 1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200}})).(prometheus.Histogram),
		runsEnded: f(prometheus.NewCounterVec(prometheus.CounterOpts{Name: "baton_runs_ended_total",
			Help: "Runs that ended, by status and reason, counted by the worker that worked their run_ended job."},
			[]string{"status", "reason"})).(*prometheus.CounterVec),
		runDuration: f(prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "baton_run_duration_seconds",
			Help:    "How long ended runs executed (started to finished), by status; runs that never started are not observed.",
			Buckets: []float64{0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400}},
			[]string{"status"})).(*prometheus.HistogramVec),
		heartbeats: f(prometheus.NewCounterVec(prometheus.CounterOpts{Name: "baton_heartbeats_total",
			Help: "Heartbeats this worker sent for its running runs (one statement for all of them), by result."},
			[]string{"result"})).(*prometheus.CounterVec),
		reaped: f(prometheus.NewCounter(prometheus.CounterOpts{Name: "baton_runs_reaped_total",
			Help: "Runs this worker ended as worker_lost because their own worker stopped heartbeating."})).(prometheus.Counter),
		jobs: f(prometheus.NewCounterVec(prometheus.CounterOpts{Name: "baton_river_jobs_total",
			Help: "River jobs this worker worked, by kind, queue and outcome (completed, failed, discarded, cancelled, snoozed)."},
			[]string{"kind", "queue", "outcome"})).(*prometheus.CounterVec),
		jobDuration: f(prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "baton_river_job_duration_seconds",
			Help:    "How long River jobs took to work, by kind (a start job lasts as long as its run).",
			Buckets: []float64{0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 60, 300, 1800, 7200}},
			[]string{"kind"})).(*prometheus.HistogramVec),
		requests: f(prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "baton_http_request_duration_seconds",
			Help:    "HTTP requests served, by method, route pattern (e.g. /api/runs/:id) and status.",
			Buckets: []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}},
			[]string{"method", "route", "status"})).(*prometheus.HistogramVec),
	}
}

// Handler serves the registry in Prometheus's exposition formats.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Registry is the process's registry, for tests.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// ObserveRequest records one HTTP request (httpapi.Options.ObserveRequest).
func (m *Metrics) ObserveRequest(method, route string, status int, d time.Duration) {
	m.requests.WithLabelValues(method, route, strconv.Itoa(status)).Observe(d.Seconds())
}

// HandleRunEnded implements domain.RunEndedHandler: it counts the end and
// observes the run's duration. It never fails, and is meant to be the last
// handler, so a job retried because another handler failed counts once.
func (m *Metrics) HandleRunEnded(_ context.Context, e domain.RunEnded) error {
	m.runsEnded.WithLabelValues(string(e.Status), e.Reason).Inc()
	if e.StartedAt != nil {
		m.runDuration.WithLabelValues(string(e.Status)).Observe(e.FinishedAt.Sub(*e.StartedAt).Seconds())
	}
	return nil
}

// Slots tells a worker's slots; *jobs.Worker implements it.
type Slots interface {
	Slots() (busy, total int)
}

// WorkerObserver returns the observer of a worker's work (jobs.Config.Observer).
func (m *Metrics) WorkerObserver() *WorkerObserver { return &WorkerObserver{m: m} }

// WorkerSlots registers the slot gauges of w. Call it once per process.
func (m *Metrics) WorkerSlots(w Slots) {
	m.reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "baton_worker_slots_busy",
			Help: "Runs this worker process executes now."}, func() float64 { b, _ := w.Slots(); return float64(b) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "baton_worker_slots",
			Help: "Runs this worker process may execute at once (BATON_MAX_RUNS)."}, func() float64 { _, t := w.Slots(); return float64(t) }),
	)
}

// WorkerObserver records what a worker does; it implements jobs.Observer.
type WorkerObserver struct{ m *Metrics }

// RunStarted implements jobs.Observer.
func (o *WorkerObserver) RunStarted(run *domain.Run) {
	o.m.runsStarted.Inc()
	if run.StartedAt != nil {
		o.m.queueWait.Observe(max(0, run.StartedAt.Sub(run.CreatedAt).Seconds()))
	}
}

// Heartbeat implements jobs.Observer.
func (o *WorkerObserver) Heartbeat(_ int, err error) {
	result := "ok"
	if err != nil {
		result = "failed"
	}
	o.m.heartbeats.WithLabelValues(result).Inc()
}

// Reaped implements jobs.Observer.
func (o *WorkerObserver) Reaped(runs int) { o.m.reaped.Add(float64(runs)) }

// JobWorked implements jobs.Observer.
func (o *WorkerObserver) JobWorked(kind, queue, outcome string, d time.Duration) {
	o.m.jobs.WithLabelValues(kind, queue, outcome).Inc()
	o.m.jobDuration.WithLabelValues(kind).Observe(d.Seconds())
}

// Environments registers the cluster-wide gauges read from the database at
// each scrape through envs: the queue depth and the running run of every
// environment, and whether the database answered.
func (m *Metrics) Environments(envs domain.EnvironmentService, log *slog.Logger) {
	m.reg.MustRegister(&environmentCollector{envs: envs, log: log})
}

var (
	queueDepthDesc = prometheus.NewDesc("baton_queue_depth",
		"Runs waiting in each environment's queue, read from the database at scrape time (the same from every API process: aggregate with max).",
		[]string{"environment"}, nil)
	envBusyDesc = prometheus.NewDesc("baton_environment_busy",
		"1 while a run executes in the environment, read from the database at scrape time.", []string{"environment"}, nil)
	poolQueueDepthDesc = prometheus.NewDesc("baton_pool_queue_depth",
		"Runs waiting for any environment of each pool (label), read from the database at scrape time.",
		[]string{"pool"}, nil)
	waitingForCapacityDesc = prometheus.NewDesc("baton_runs_waiting_for_capacity",
		"Queued runs that could start now but wait for a free worker slot, read from the database at scrape time.", nil, nil)
	dbUpDesc = prometheus.NewDesc("baton_database_up",
		"1 when the database answered this scrape's queries, 0 when it did not (the environment gauges are then missing).", nil, nil)
)

// environmentCollector reads the environments at scrape time.
type environmentCollector struct {
	envs domain.EnvironmentService
	log  *slog.Logger
}

// Describe implements prometheus.Collector.
func (c *environmentCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- queueDepthDesc
	ch <- poolQueueDepthDesc
	ch <- waitingForCapacityDesc
	ch <- envBusyDesc
	ch <- dbUpDesc
}

// Collect implements prometheus.Collector.
func (c *environmentCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	list, err := c.envs.ListEnvironments(ctx)
	if err != nil {
		c.log.Warn("metrics: reading the environments failed", "err", err)
		ch <- prometheus.MustNewConstMetric(dbUpDesc, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(dbUpDesc, prometheus.GaugeValue, 1)
	ch <- prometheus.MustNewConstMetric(waitingForCapacityDesc, prometheus.GaugeValue, float64(list.WaitingForCapacity))
	for _, p := range list.Pools {
		ch <- prometheus.MustNewConstMetric(poolQueueDepthDesc, prometheus.GaugeValue, float64(len(p.QueuedRunIDs)), p.Name)
	}
	for _, e := range list.Items {
		id := strconv.Itoa(e.ID)
		ch <- prometheus.MustNewConstMetric(queueDepthDesc, prometheus.GaugeValue, float64(len(e.QueuedRunIDs)), id)
		busy := 0.0
		if e.RunningRunID != nil {
			busy = 1
		}
		ch <- prometheus.MustNewConstMetric(envBusyDesc, prometheus.GaugeValue, busy, id)
	}
}
