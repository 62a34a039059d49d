package config

import (
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func lookupMap(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestDefaults(t *testing.T) {
	t.Parallel()
	c, err := FromLookup(lookupMap(nil))
	require.NoError(t, err)
	require.Equal(t, ":8080", c.Addr)
	require.Equal(t, 30*time.Minute, c.RunTimeout)
	require.True(t, c.EmbeddedWorker)
	require.Equal(t, int64(1<<20), c.MaxUploadBytes)
	require.Equal(t, "http://localhost:8080", c.APIURL)
	require.Equal(t, "uploads", c.UploadDir[len(c.UploadDir)-7:])
	require.GreaterOrEqual(t, c.DBMaxConns, c.MaxRuns)
	require.Equal(t, 200*time.Millisecond, c.ListCacheTTL)
	require.Equal(t, time.Second, c.HeartbeatInterval)
	require.Equal(t, 12*time.Second, c.WorkerLostAfter)
	require.Equal(t, slog.LevelInfo, c.LogLevel)
	require.Equal(t, c.MaxRuns, c.WarmSlots, "a warm slot for every free run slot")
}

func TestWarmSlots(t *testing.T) {
	t.Parallel()
	c, err := FromLookup(lookupMap(map[string]string{"BATON_MAX_RUNS": "3"}))
	require.NoError(t, err)
	require.Equal(t, 3, c.WarmSlots)
	c, err = FromLookup(lookupMap(map[string]string{"BATON_WARM_SLOTS": "0"}))
	require.NoError(t, err)
	require.Zero(t, c.WarmSlots)
	_, err = FromLookup(lookupMap(map[string]string{"BATON_MAX_RUNS": "4", "BATON_WARM_SLOTS": "5"}))
	require.ErrorContains(t, err, "BATON_WARM_SLOTS=5: at most BATON_MAX_RUNS (4)")
	_, err = FromLookup(lookupMap(map[string]string{"BATON_WARM_SLOTS": "-1"}))
	require.ErrorContains(t, err, `BATON_WARM_SLOTS="-1": want a whole number`)
}

func TestLogLevel(t *testing.T) {
	t.Parallel()
	for v, want := range map[string]slog.Level{"debug": slog.LevelDebug, "INFO": slog.LevelInfo, "Warn": slog.LevelWarn, "error": slog.LevelError} {
		c, err := FromLookup(lookupMap(map[string]string{"BATON_LOG_LEVEL": v}))
		require.NoError(t, err, v)
		require.Equal(t, want, c.LogLevel, v)
	}
	for _, v := range []string{"loud", "info+2", "4", "warning"} {
		_, err := FromLookup(lookupMap(map[string]string{"BATON_LOG_LEVEL": v}))
		require.ErrorContains(t, err, `BATON_LOG_LEVEL="`+v+`": want debug, info, warn or error`)
	}
}

func TestOverrides(t *testing.T) {
	t.Parallel()
	c, err := FromLookup(lookupMap(map[string]string{
		"BATON_ADDR": "127.0.0.1:9000", "BATON_MAX_RUNS": "100", "BATON_RUN_TIMEOUT": "90s",
		"BATON_EMBEDDED_WORKER": "false", "BATON_DATA_DIR": "/srv/baton", "BATON_LIST_CACHE_TTL": "0",
		"BATON_HEARTBEAT_INTERVAL": "500ms", "BATON_WORKER_LOST_AFTER": "5s",
	}))
	require.NoError(t, err)
	require.Equal(t, 100, c.MaxRuns)
	require.Equal(t, 90*time.Second, c.RunTimeout)
	require.False(t, c.EmbeddedWorker)
	require.Equal(t, "/srv/baton/uploads", c.UploadDir)
	require.Equal(t, "http://127.0.0.1:9000", c.APIURL)
	require.Zero(t, c.ListCacheTTL)
	require.Equal(t, 50, c.DBMaxConns, "the pool is capped for a stock PostgreSQL")
	require.Equal(t, 500*time.Millisecond, c.HeartbeatInterval)
	require.Equal(t, 5*time.Second, c.WorkerLostAfter)
}

func TestWorkerLostAfterLeavesRoomForLateHeartbeats(t *testing.T) {
	t.Parallel()
	_, err := FromLookup(lookupMap(map[string]string{"BATON_HEARTBEAT_INTERVAL": "5s"}))
	require.ErrorContains(t, err, "BATON_WORKER_LOST_AFTER (12s) must be at least 3 × BATON_HEARTBEAT_INTERVAL (5s)")
	_, err = FromLookup(lookupMap(map[string]string{"BATON_HEARTBEAT_INTERVAL": "4s"}))
	require.NoError(t, err)
	_, err = FromLookup(lookupMap(map[string]string{"BATON_HEARTBEAT_INTERVAL": "10ms"}))
	require.ErrorContains(t, err, "BATON_HEARTBEAT_INTERVAL")
}

func TestBadValuesFailFastNamingTheVariable(t *testing.T) {
	t.Parallel()
	_, err := FromLookup(lookupMap(map[string]string{
		"BATON_MAX_RUNS": "zero", "BATON_RUN_TIMEOUT": "forever", "BATON_EMBEDDED_WORKER": "maybe",
	}))
	require.Error(t, err)
	for _, name := range []string{"BATON_MAX_RUNS", "BATON_RUN_TIMEOUT", "BATON_EMBEDDED_WORKER"} {
		require.Contains(t, err.Error(), name)
	}
	_, err = FromLookup(lookupMap(map[string]string{"BATON_ADDR": "8080"}))
	require.ErrorContains(t, err, "BATON_ADDR")
}

func TestTestRoots(t *testing.T) {
	t.Parallel()
	c, err := FromLookup(lookupMap(map[string]string{"BATON_TEST_ROOTS": " qa=/srv/qa-tests , smoke=/srv/smoke:rw,x=/a:b:ro,"}))
	require.NoError(t, err)
	require.Equal(t, []TestRoot{
		{Name: "qa", Dir: "/srv/qa-tests"},
		{Name: "smoke", Dir: "/srv/smoke", Writable: true},
		{Name: "x", Dir: "/a:b"},
	}, c.TestRoots)

	c, err = FromLookup(lookupMap(nil))
	require.NoError(t, err)
	require.Empty(t, c.TestRoots)

	for _, bad := range []string{"qa", "qa=relative/dir", "q a=/srv", "-qa=/srv", "qa=/a,qa=/b", "=/srv", ",", "qa.x=/srv"} {
		_, err := FromLookup(lookupMap(map[string]string{"BATON_TEST_ROOTS": bad}))
		require.ErrorContains(t, err, "BATON_TEST_ROOTS", bad)
	}
}

func TestWebhookConfig(t *testing.T) {
	env := map[string]string{"BATON_WEBHOOK_URLS": " https://ci.example/hook , http://127.0.0.1:9/x ", "BATON_WEBHOOK_SECRET": "s3cret"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	c, err := FromLookup(lookup)
	require.NoError(t, err)
	require.Equal(t, []string{"https://ci.example/hook", "http://127.0.0.1:9/x"}, c.WebhookURLs)
	require.Equal(t, 10*time.Second, c.WebhookTimeout)

	delete(env, "BATON_WEBHOOK_SECRET")
	_, err = FromLookup(lookup)
	require.ErrorContains(t, err, "BATON_WEBHOOK_SECRET")
	env["BATON_WEBHOOK_SECRET"] = "x"
	env["BATON_WEBHOOK_URLS"] = "ftp://nope"
	_, err = FromLookup(lookup)
	require.ErrorContains(t, err, "BATON_WEBHOOK_URLS")

	// Refused at start-up, not by every delivery later, and never with
	// the password or the query (where tokens live) in the message: it
	// ends up in CI and service logs.
	for _, bad := range []string{
		"htp://user:s3cr3tpw@hooks.example/x",
		"http://user:s3cr3tpw@bad host/x",
		"https://hooks.example:99999/x?token=s3cr3tpw",
		"https://user:s3cr3tpw@hooks.example:0/x",
		"https://hooks.example:http/x",
		"https://ok.example/a,https://user:s3cr3tpw@hooks.example/b?t=1,https://user:s3cr3tpw@hooks.example/b?t=1",
	} {
		env["BATON_WEBHOOK_URLS"] = bad
		_, err = FromLookup(lookup)
		require.ErrorContains(t, err, "BATON_WEBHOOK_URLS", bad)
		require.NotContains(t, err.Error(), "s3cr3tpw", bad)
	}
	env["BATON_WEBHOOK_URLS"] = "https://a.example/x,https://a.example/x"
	_, err = FromLookup(lookup)
	require.ErrorContains(t, err, "twice")
}

func TestInsightsAndOperations(t *testing.T) {
	t.Parallel()
	c, err := FromLookup(lookupMap(nil))
	require.NoError(t, err)
	require.Zero(t, c.Retention, "retention keeps everything by default")
	require.Equal(t, 20, c.FlakyWindow)
	require.Empty(t, c.MetricsAddr)
	require.False(t, c.Logging.JSON)

	c, err = FromLookup(lookupMap(map[string]string{"BATON_RETENTION": "90d", "BATON_FLAKY_WINDOW": "50",
		"BATON_METRICS_ADDR": "127.0.0.1:9090", "BATON_LOG_FORMAT": "JSON"}))
	require.NoError(t, err)
	require.Equal(t, 90*24*time.Hour, c.Retention)
	require.Equal(t, 50, c.FlakyWindow)
	require.Equal(t, "127.0.0.1:9090", c.MetricsAddr)
	require.True(t, c.Logging.JSON)
	c, err = FromLookup(lookupMap(map[string]string{"BATON_RETENTION": "36h"}))
	require.NoError(t, err)
	require.Equal(t, 36*time.Hour, c.Retention)

	for name, value := range map[string]string{
		"BATON_RETENTION": "forever", "BATON_FLAKY_WINDOW": "1", "BATON_METRICS_ADDR": "9090", "BATON_LOG_FORMAT": "xml",
	} {
		_, err := FromLookup(lookupMap(map[string]string{name: value}))
		require.ErrorContains(t, err, name, "%s=%s", name, value)
	}
	for _, v := range []string{"0d", "-1d", "30m", "1.5d", "+3d", "d"} {
		_, err := FromLookup(lookupMap(map[string]string{"BATON_RETENTION": v}))
		require.ErrorContains(t, err, "BATON_RETENTION", v)
	}
	l, err := LoggingFromLookup(lookupMap(map[string]string{"BATON_LOG_FORMAT": "json"}))
	require.NoError(t, err)
	require.True(t, l.JSON)
	_, err = LoggingFromLookup(lookupMap(map[string]string{"BATON_LOG_FORMAT": "yaml"}))
	require.ErrorContains(t, err, "BATON_LOG_FORMAT")
}

func TestLeaseMargin(t *testing.T) {
	t.Parallel()
	c, err := FromLookup(lookupMap(nil))
	require.NoError(t, err)
	require.Equal(t, 3*time.Second, c.LeaseMargin, "the default margin")
	require.Equal(t, 9*time.Second, c.Lease())

	// A short BATON_WORKER_LOST_AFTER keeps a usable lease by default.
	c, err = FromLookup(lookupMap(map[string]string{"BATON_HEARTBEAT_INTERVAL": "500ms", "BATON_WORKER_LOST_AFTER": "3s"}))
	require.NoError(t, err)
	require.Equal(t, 750*time.Millisecond, c.LeaseMargin)
	require.Equal(t, 2250*time.Millisecond, c.Lease())

	c, err = FromLookup(lookupMap(map[string]string{"BATON_LEASE_MARGIN": "5s"}))
	require.NoError(t, err)
	require.Equal(t, 7*time.Second, c.Lease())

	for margin, why := range map[string]string{
		"12s": "= 0s, must be at least 2 × BATON_HEARTBEAT_INTERVAL (1s)",  // no lease at all
		"20s": "= -8s, must be at least 2 × BATON_HEARTBEAT_INTERVAL (1s)", // negative
		"11s": "= 1s, must be at least 2 × BATON_HEARTBEAT_INTERVAL (1s)",  // one heartbeat
	} {
		_, err := FromLookup(lookupMap(map[string]string{"BATON_LEASE_MARGIN": margin}))
		require.ErrorContains(t, err, "the run lease, BATON_WORKER_LOST_AFTER (12s) − BATON_LEASE_MARGIN ("+margin+") "+why, margin)
	}
	_, err = FromLookup(lookupMap(map[string]string{"BATON_LEASE_MARGIN": "10s"}))
	require.NoError(t, err, "a 2s lease outlives two heartbeats of 1s")
	for _, bad := range []string{"0", "10ms", "soon", "-1s"} {
		_, err := FromLookup(lookupMap(map[string]string{"BATON_LEASE_MARGIN": bad}))
		require.ErrorContains(t, err, `BATON_LEASE_MARGIN="`+bad+`": want a duration`, bad)
	}
}
