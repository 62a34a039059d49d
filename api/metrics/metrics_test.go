package metrics_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"

	"github.com/baton-ci/baton/api/domain"
	"github.com/baton-ci/baton/api/httpapi"
	"github.com/baton-ci/baton/api/insights"
	"github.com/baton-ci/baton/api/internal/pgtest"
	"github.com/baton-ci/baton/api/jobs"
	"github.com/baton-ci/baton/api/metrics"
	"github.com/baton-ci/baton/api/runner"
)

// gate is an Executor whose runs wait for release; the second run fails.
type gate struct {
	started chan int64
	release chan struct{}
}

func (g *gate) Run(ctx context.Context, spec runner.Spec, out io.Writer) domain.Outcome {
	g.started <- spec.RunID
	select {
	case <-g.release:
	case <-ctx.Done():
	}
	fmt.Fprintln(out, "ran")
	o := domain.OutcomeForExit(0)
	if spec.RunID%2 == 0 {
		o = domain.OutcomeForExit(1)
	}
	o.Summary = &domain.TestSummary{Total: 1, Passed: 1}
	o.Tests = []domain.TestResult{{NodeID: "sample-tests/test_m.py::test_m", Outcome: domain.TestPassed, DurationMS: 3}}
	return o
}

type anywhere struct{}

func (anywhere) Resolve(p string) (string, error)  { return "/nonexistent/" + p, nil }
func (anywhere) ContentHash(string) (int64, error) { return 0, errors.New("no files here") }
func (anywhere) RootDirs() map[string]string {
	return map[string]string{"sample-tests": "/nonexistent/sample-tests"}
}

// scrape reads /metrics and parses it with Prometheus's own text parser.
func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	res, err := http.Get(url + "/metrics")
	require.NoError(t, err)
	defer res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	body, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(bytes.NewReader(body))
	require.NoError(t, err, "%s", body)
	return families
}

// value returns the value of the series of name whose labels include
// labels (a counter, gauge, or a histogram's count), or -1 when absent.
// Every value this test reads is a whole number.
func value(fams map[string]*dto.MetricFamily, name string, labels ...string) int {
	f := fams[name]
	if f == nil {
		return -1
	}
next:
	for _, m := range f.GetMetric() {
		got := map[string]string{}
		for _, l := range m.GetLabel() {
			got[l.GetName()] = l.GetValue()
		}
		for i := 0; i+1 < len(labels); i += 2 {
			if got[labels[i]] != labels[i+1] {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return int(math.Round(m.GetCounter().GetValue()))
		case m.Gauge != nil:
			return int(math.Round(m.GetGauge().GetValue()))
		case m.Histogram != nil:
			return int(m.GetHistogram().GetSampleCount())
		}
	}
	return -1
}

// TestMetricsMoveAsRunsGoThrough runs an API and a worker, both recording
// into one registry as `baton serve` wires them, and watches the series.
func TestMetricsMoveAsRunsGoThrough(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.NewDB(t)
	stack := pgtest.NewStack(t, db, time.Minute)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	_, err := db.Pool.Exec(ctx, `INSERT INTO test_files (path, directory, size_bytes, modified_at)
		VALUES ('sample-tests/test_m.py', 'sample-tests', 1, now())`)
	require.NoError(t, err)

	meter := metrics.New("api+worker")
	ins := insights.New(stack.Store, insights.Options{Logger: log})
	g := &gate{started: make(chan int64, 10), release: make(chan struct{})}
	w, err := jobs.NewWorker(db.Pool, stack.Runs, g, anywhere{}, jobs.Config{
		ID: "metrics-worker", MaxRuns: 2, HeartbeatInterval: 50 * time.Millisecond, StaleAfter: time.Second,
		ReapInterval: 100 * time.Millisecond, FetchPollInterval: 50 * time.Millisecond,
		OnRunEnded: []domain.RunEndedHandler{ins, meter}, Observer: meter.WorkerObserver(), Logger: log,
	})
	require.NoError(t, err)
	meter.WorkerSlots(w)
	meter.Environments(stack.Environments, log)
	api := httpapi.New(httpapi.Services{Runs: stack.Runs, Environments: stack.Environments, Catalog: stack.Store,
		Health: stack.Store, Insights: ins}, httpapi.Options{Logger: log, Metrics: meter.Handler(), ObserveRequest: meter.ObserveRequest})
	ts := httptest.NewServer(api.Handler())
	t.Cleanup(ts.Close)

	m := scrape(t, ts.URL)
	require.Equal(t, 0, value(m, "baton_runs_started_total"))
	require.Equal(t, 0, value(m, "baton_queue_depth", "environment", "1"))
	require.Equal(t, 2, value(m, "baton_worker_slots"))
	require.Equal(t, 0, value(m, "baton_worker_slots_busy"))
	require.Equal(t, 1, value(m, "baton_database_up"))
	require.Equal(t, 1, value(m, "baton_process_info", "role", "api+worker"))
	require.Len(t, m["baton_queue_depth"].GetMetric(), 100, "one series per environment")

	for range 3 {
		res, err := http.Post(ts.URL+"/api/runs", "application/json",
			strings.NewReader(`{"requested_by":"m","environment_id":1,"test_files":["sample-tests/test_m.py"]}`))
		require.NoError(t, err)
		res.Body.Close()
		require.Equal(t, http.StatusCreated, res.StatusCode)
	}
	require.NoError(t, w.Start(ctx))
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = w.Stop(sctx)
	})

	first := <-g.started
	require.Eventually(t, func() bool {
		m = scrape(t, ts.URL)
		return value(m, "baton_heartbeats_total", "result", "ok") >= 1
	}, 10*time.Second, 20*time.Millisecond)
	require.Equal(t, 1, value(m, "baton_runs_started_total"))
	require.Equal(t, 1, value(m, "baton_run_queue_wait_seconds"), "one queue wait observed")
	require.Equal(t, 2, value(m, "baton_queue_depth", "environment", "1"), "two runs wait behind the first")
	require.Equal(t, 1, value(m, "baton_environment_busy", "environment", "1"))
	require.Equal(t, 0, value(m, "baton_environment_busy", "environment", "2"))
	require.Equal(t, 1, value(m, "baton_worker_slots_busy"))
	require.Equal(t, -1, value(m, "baton_runs_ended_total"), "no run has ended")

	close(g.release)
	require.Eventually(t, func() bool {
		m = scrape(t, ts.URL)
		return value(m, "baton_river_jobs_total", "kind", "baton_run_ended", "outcome", "completed") == 3
	}, 15*time.Second, 50*time.Millisecond)
	require.Equal(t, 3, value(m, "baton_runs_started_total"))
	require.Equal(t, 3, value(m, "baton_run_queue_wait_seconds"))
	// The runs have ids first, first+1 and first+2; the even ones fail.
	failed := 1
	if first%2 == 0 {
		failed = 2
	}
	require.Equal(t, failed, value(m, "baton_runs_ended_total", "status", "failed", "reason", domain.ReasonTestsFailed))
	require.Equal(t, 3-failed, value(m, "baton_runs_ended_total", "status", "success", "reason", ""))
	require.Equal(t, failed, value(m, "baton_run_duration_seconds", "status", "failed"))
	require.GreaterOrEqual(t, value(m, "baton_river_jobs_total", "kind", "baton_start_next", "queue", "runs", "outcome", "completed"), 3,
		"a start job per create, and one per end that left a queue")
	require.Equal(t, 3, value(m, "baton_river_job_duration_seconds", "kind", "baton_run_ended"))
	require.Equal(t, 0, value(m, "baton_queue_depth", "environment", "1"))
	require.Equal(t, 0, value(m, "baton_worker_slots_busy"))
	require.Equal(t, 0, value(m, "baton_runs_reaped_total"))

	// A run whose worker vanished is reaped by this one.
	_, err = db.Pool.Exec(ctx, `INSERT INTO runs (requested_by, environment_id, test_files, status, timeout_seconds,
		started_at, heartbeat_at, worker_id) VALUES ('m', 2, '["sample-tests/test_m.py"]', 'running', 60,
		now() - interval '1 minute', now() - interval '1 minute', 'ghost')`)
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		m = scrape(t, ts.URL)
		return value(m, "baton_runs_ended_total", "status", "error", "reason", domain.ReasonWorkerLost) == 1
	}, 15*time.Second, 50*time.Millisecond)
	require.Equal(t, 1, value(m, "baton_runs_reaped_total"))
	require.Equal(t, 1, value(m, "baton_run_duration_seconds", "status", "error"), "a reaped run had started")

	// HTTP requests by route pattern and status.
	for _, p := range []string{"/api/runs/1", "/api/runs/2", "/api/runs/999999", "/api/nope"} {
		res, err := http.Get(ts.URL + p)
		require.NoError(t, err)
		res.Body.Close()
	}
	m = scrape(t, ts.URL)
	require.Equal(t, 2, value(m, "baton_http_request_duration_seconds", "method", "GET", "route", "/api/runs/:id", "status", "200"))
	require.Equal(t, 1, value(m, "baton_http_request_duration_seconds", "method", "GET", "route", "/api/runs/:id", "status", "404"))
	require.Equal(t, 1, value(m, "baton_http_request_duration_seconds", "method", "GET", "route", "unmatched", "status", "404"))
	require.Equal(t, 3, value(m, "baton_http_request_duration_seconds", "method", "POST", "route", "/api/runs", "status", "201"))
}
