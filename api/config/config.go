// Package config reads Baton's configuration from environment variables,
// once, into a typed struct with defaults, and fails fast with a message
// naming the variable that is wrong.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/baton-ci/baton/api/domain"
)

// Config is Baton's whole configuration.
type Config struct {
	// DatabaseURL is the PostgreSQL connection string (DATABASE_URL).
	DatabaseURL string
	// Addr is the HTTP listen address (BATON_ADDR).
	Addr string
	// DataDir holds uploads and other state (BATON_DATA_DIR).
	DataDir string
	// UploadDir is the upload root, $BATON_DATA_DIR/uploads.
	UploadDir string
	// SampleTestsDir is the shipped sample tests (BATON_SAMPLE_TESTS_DIR).
	SampleTestsDir string
	// SampleTestsWritable lets uploads go into the sample tests
	// (BATON_SAMPLE_TESTS_WRITABLE); turn it off where they are baked into
	// an image and would not reach other workers.
	SampleTestsWritable bool
	// WebDir is the built SPA served at / (BATON_WEB_DIR); missing is fine.
	WebDir string
	// Python runs pytest (BATON_PYTHON); "" means detect.
	Python string
	// MaxRuns is how many runs one process executes at once (BATON_MAX_RUNS).
	MaxRuns int
	// RunTimeout is the default per-run timeout (BATON_RUN_TIMEOUT).
	RunTimeout time.Duration
	// KillGrace is the SIGTERM→SIGKILL delay of a stopped run (BATON_KILL_GRACE).
	KillGrace time.Duration
	// ShutdownGrace is how long a stopping worker lets runs finish (BATON_SHUTDOWN_GRACE).
	ShutdownGrace time.Duration
	// HeartbeatInterval is how often a worker marks its runs alive and picks
	// up cancel requests (BATON_HEARTBEAT_INTERVAL).
	HeartbeatInterval time.Duration
	// WorkerLostAfter is how long a run may go without a heartbeat before any
	// worker ends it as worker_lost (BATON_WORKER_LOST_AFTER).
	WorkerLostAfter time.Duration
	// LeaseMargin is how long before WorkerLostAfter a worker's lease on a
	// run ends (BATON_LEASE_MARGIN): the run's supervisor kills its
	// processes when the lease ends, so this is the time it has to kill the
	// tree and confirm it dead, plus any difference in clock rates, before
	// another worker may reap the run and start the next one. Default a
	// quarter of WorkerLostAfter, at most 3s. See Lease.
	LeaseMargin time.Duration
	// EmbeddedWorker makes `baton serve` execute runs too (BATON_EMBEDDED_WORKER).
	EmbeddedWorker bool
	// MaxUploadBytes bounds an uploaded test file (BATON_MAX_UPLOAD_BYTES).
	MaxUploadBytes int64
	// LogLimitBytes bounds a run's stored log (BATON_LOG_LIMIT_BYTES).
	LogLimitBytes int64
	// APIURL is what tests get as BATON_API_URL (BATON_API_URL); default from Addr.
	APIURL string
	// WorkerID names this process in the runs it claims (BATON_WORKER_ID).
	WorkerID string
	// APIToken, when set, is required as a bearer token on every mutating
	// API request (BATON_API_TOKEN).
	APIToken string
	// CORSOrigins are the browser origins allowed to call the API from
	// elsewhere (BATON_CORS_ORIGINS, comma-separated); none by default.
	CORSOrigins []string
	// ListCacheTTL lets clients polling the same runs page, or the
	// environments, share one answer for this long (BATON_LIST_CACHE_TTL);
	// 0 turns it off.
	ListCacheTTL time.Duration
	// DBMaxConns bounds this process's connection pool (BATON_DB_MAX_CONNS).
	DBMaxConns int
	// LogLevel is the least severe level the server processes log
	// (BATON_LOG_LEVEL: debug, info, warn or error).
	LogLevel slog.Level
	// WebhookURLs receive run.started and run.finished events
	// (BATON_WEBHOOK_URLS, comma-separated); every process of a cluster
	// needs the same list.
	WebhookURLs []string
	// WebhookSecret signs every event (BATON_WEBHOOK_SECRET); required with
	// WebhookURLs.
	WebhookSecret string
	// WebhookTimeout bounds one delivery attempt (BATON_WEBHOOK_TIMEOUT).
	WebhookTimeout time.Duration
	// MaxProjectBytes bounds an uploaded project, unpacked (BATON_MAX_PROJECT_BYTES).
	MaxProjectBytes int64
	// MaxProjectFiles bounds the files of an uploaded project (BATON_MAX_PROJECT_FILES).
	MaxProjectFiles int
	// RunUser is who tests run as when the worker runs as root
	// (BATON_RUN_USER); "" means runner.DefaultRunUser, "root" keeps them
	// root. Without root tests run as the worker's user, and any other
	// value is refused.
	RunUser string
	// Cgroup is where runs get cgroups of their own (BATON_CGROUP): ""
	// finds the worker's own cgroup v2 and uses it if it can, "off" never
	// uses one, a path must be usable.
	Cgroup string
	// WarmSlots is how many warm runner slots a worker keeps ready
	// (BATON_WARM_SLOTS): Python processes that have imported pytest and
	// wait for a run. Default and most: MaxRuns; 0 starts every run cold.
	WarmSlots int
	// TestRoots are extra catalog roots, e.g. a team's own test checkout
	// (BATON_TEST_ROOTS, "qa=/srv/qa-tests,smoke=/srv/smoke:rw").
	TestRoots []TestRoot
	// FlakyWindow is how many of a test's last results decide whether it is
	// flaky (BATON_FLAKY_WINDOW).
	FlakyWindow int
	// Retention deletes runs that ended longer ago than this, with their
	// logs and results (BATON_RETENTION, e.g. 90d); 0 keeps everything.
	Retention time.Duration
	// MetricsAddr, when set, serves /metrics on its own listener instead of
	// the API's (BATON_METRICS_ADDR); a worker-only process serves metrics
	// only there.
	MetricsAddr string
	// Logging is how the process logs (BATON_LOG_FORMAT).
	Logging Logging
}

// Logging is the configuration of the process's log, read before anything
// else so that even a configuration error is logged in the chosen format.
type Logging struct {
	// JSON selects slog's JSON handler (BATON_LOG_FORMAT=json); text otherwise.
	JSON bool
}

// LoadLogging reads the logging configuration from the process environment.
func LoadLogging() (Logging, error) { return LoggingFromLookup(os.LookupEnv) }

// LoggingFromLookup reads the logging configuration through lookup.
func LoggingFromLookup(lookup func(string) (string, bool)) (Logging, error) {
	p := parser{lookup: lookup}
	l := p.logging()
	return l, errors.Join(p.errs...)
}

// TestRoot is one entry of BATON_TEST_ROOTS: catalog paths below it start
// with Name. It is read-only unless Writable.
type TestRoot struct {
	Name     string
	Dir      string
	Writable bool
}

// Load reads the configuration from the process environment.
func Load() (*Config, error) { return FromLookup(os.LookupEnv) }

// FromLookup reads the configuration through lookup, so tests need not
// touch the process environment.
func FromLookup(lookup func(string) (string, bool)) (*Config, error) {
	p := parser{lookup: lookup}
	c := &Config{
		DatabaseURL:         p.str("DATABASE_URL", "postgres://postgres@localhost:5432/baton?sslmode=disable"),
		Addr:                p.str("BATON_ADDR", ":8080"),
		DataDir:             p.str("BATON_DATA_DIR", ".data"),
		SampleTestsDir:      p.str("BATON_SAMPLE_TESTS_DIR", "sample-tests"),
		WebDir:              p.str("BATON_WEB_DIR", "frontend/dist"),
		SampleTestsWritable: p.boolean("BATON_SAMPLE_TESTS_WRITABLE", true),
		Python:              p.str("BATON_PYTHON", ""),
		MaxRuns:             p.integer("BATON_MAX_RUNS", 8, 1, 1000),
		RunTimeout:          p.duration("BATON_RUN_TIMEOUT", 30*time.Minute, time.Second, 24*time.Hour),
		KillGrace:           p.duration("BATON_KILL_GRACE", 5*time.Second, 0, 10*time.Minute),
		ShutdownGrace:       p.duration("BATON_SHUTDOWN_GRACE", 30*time.Second, 0, 24*time.Hour),
		HeartbeatInterval:   p.duration("BATON_HEARTBEAT_INTERVAL", time.Second, 100*time.Millisecond, time.Minute),
		WorkerLostAfter:     p.duration("BATON_WORKER_LOST_AFTER", 12*time.Second, time.Second, time.Hour),
		LeaseMargin:         p.duration("BATON_LEASE_MARGIN", 0, 100*time.Millisecond, time.Hour),
		EmbeddedWorker:      p.boolean("BATON_EMBEDDED_WORKER", true),
		MaxUploadBytes:      int64(p.integer("BATON_MAX_UPLOAD_BYTES", 1<<20, 1, 1<<30)),
		LogLimitBytes:       int64(p.integer("BATON_LOG_LIMIT_BYTES", 10<<20, 1<<10, 1<<30)),
		APIURL:              p.str("BATON_API_URL", ""),
		WorkerID:            p.str("BATON_WORKER_ID", ""),
		DBMaxConns:          p.integer("BATON_DB_MAX_CONNS", 0, 0, 10000),
		LogLevel:            p.logLevel("BATON_LOG_LEVEL", slog.LevelInfo),
		APIToken:            p.str("BATON_API_TOKEN", ""),
		ListCacheTTL:        p.duration("BATON_LIST_CACHE_TTL", 200*time.Millisecond, 0, 5*time.Second),
	}
	for _, o := range strings.Split(p.str("BATON_CORS_ORIGINS", ""), ",") {
		if o = strings.TrimSpace(o); o != "" {
			c.CORSOrigins = append(c.CORSOrigins, o)
		}
	}
	c.WebhookURLs = p.webhookURLs("BATON_WEBHOOK_URLS")
	c.WebhookSecret = p.str("BATON_WEBHOOK_SECRET", "")
	c.WebhookTimeout = p.duration("BATON_WEBHOOK_TIMEOUT", 10*time.Second, 100*time.Millisecond, 5*time.Minute)
	if len(c.WebhookURLs) > 0 && c.WebhookSecret == "" {
		p.errs = append(p.errs, errors.New("BATON_WEBHOOK_SECRET is required with BATON_WEBHOOK_URLS: receivers check the signature made with it"))
	}
	c.TestRoots = p.testRoots("BATON_TEST_ROOTS")
	c.MaxProjectBytes = int64(p.integer("BATON_MAX_PROJECT_BYTES", 32<<20, 1, 1<<31-1))
	c.MaxProjectFiles = p.integer("BATON_MAX_PROJECT_FILES", 2000, 1, 100000)
	c.RunUser = p.str("BATON_RUN_USER", "")
	c.Cgroup = p.str("BATON_CGROUP", "")
	if c.Cgroup != "" && c.Cgroup != "off" && !filepath.IsAbs(c.Cgroup) {
		p.errs = append(p.errs, fmt.Errorf("BATON_CGROUP=%q: want off or an absolute cgroup v2 directory, e.g. /sys/fs/cgroup/baton", c.Cgroup))
	}
	// The limits of domain.DefaultFlakyWindow and its neighbours.
	c.FlakyWindow = p.integer("BATON_FLAKY_WINDOW", 20, 2, 200)
	c.Retention = p.span("BATON_RETENTION", time.Hour)
	c.MetricsAddr = p.str("BATON_METRICS_ADDR", "")
	c.Logging = p.logging()
	c.WarmSlots = p.integer("BATON_WARM_SLOTS", c.MaxRuns, 0, 1000)
	if c.WarmSlots > c.MaxRuns {
		p.errs = append(p.errs, fmt.Errorf("BATON_WARM_SLOTS=%d: at most BATON_MAX_RUNS (%d), since a warm slot waits for a free run slot", c.WarmSlots, c.MaxRuns))
	}
	if err := errors.Join(p.errs...); err != nil {
		return nil, err
	}
	// One late heartbeat (a slow query, a GC pause) must not get a live
	// worker's runs reaped.
	if c.WorkerLostAfter < 3*c.HeartbeatInterval {
		return nil, fmt.Errorf("BATON_WORKER_LOST_AFTER (%s) must be at least 3 × BATON_HEARTBEAT_INTERVAL (%s)",
			c.WorkerLostAfter, c.HeartbeatInterval)
	}
	if err := c.checkLease(); err != nil {
		return nil, err
	}
	var err error
	if c.DataDir, err = filepath.Abs(c.DataDir); err != nil {
		return nil, fmt.Errorf("BATON_DATA_DIR: %w", err)
	}
	c.UploadDir = filepath.Join(c.DataDir, "uploads")
	if c.SampleTestsDir, err = filepath.Abs(c.SampleTestsDir); err != nil {
		return nil, fmt.Errorf("BATON_SAMPLE_TESTS_DIR: %w", err)
	}
	if c.WebDir, err = filepath.Abs(c.WebDir); err != nil {
		return nil, fmt.Errorf("BATON_WEB_DIR: %w", err)
	}
	if c.MetricsAddr != "" {
		if _, _, err := net.SplitHostPort(c.MetricsAddr); err != nil {
			return nil, fmt.Errorf("BATON_METRICS_ADDR %q: want host:port, e.g. :9090", c.MetricsAddr)
		}
	}
	host, port, err := net.SplitHostPort(c.Addr)
	if err != nil {
		return nil, fmt.Errorf("BATON_ADDR %q: want host:port, e.g. :8080", c.Addr)
	}
	if c.APIURL == "" {
		if host == "" || host == "0.0.0.0" || host == "::" {
			host = "localhost"
		}
		c.APIURL = "http://" + net.JoinHostPort(host, port)
	}
	if c.DBMaxConns == 0 {
		// Every executing run needs a connection now and then (log flushes,
		// finish), plus API requests and River's own.
		// Capped so a large BATON_MAX_RUNS does not exceed a stock
		// PostgreSQL's 100 connections; runs need a connection only briefly.
		c.DBMaxConns = min(max(20, c.MaxRuns+10), 50)
	}
	return c, nil
}

// Lease is how long a worker's lease on a run lasts after the heartbeat
// that renewed it was sent (jobs.Config.LeaseMargin).
func (c *Config) Lease() time.Duration { return c.WorkerLostAfter - c.LeaseMargin }

// checkLease fills in the lease margin's default and refuses a lease that
// could not outlive the time between two heartbeats, by domain.RunLease:
// the rule is the worker's too, and this check only names the variables.
// (The default margin always passes, given the 3 × heartbeat rule of
// WorkerLostAfter.)
func (c *Config) checkLease() error {
	margin, lease, ok := domain.RunLease(c.WorkerLostAfter, c.LeaseMargin, c.HeartbeatInterval)
	c.LeaseMargin = margin
	if !ok {
		return fmt.Errorf("the run lease, BATON_WORKER_LOST_AFTER (%s) − BATON_LEASE_MARGIN (%s) = %s, must be at least "+
			"2 × BATON_HEARTBEAT_INTERVAL (%s), so that one late heartbeat does not end it: lower BATON_LEASE_MARGIN or raise BATON_WORKER_LOST_AFTER",
			c.WorkerLostAfter, c.LeaseMargin, lease, c.HeartbeatInterval)
	}
	return nil
}

type parser struct {
	lookup func(string) (string, bool)
	errs   []error
}

func (p *parser) logging() Logging {
	var l Logging
	switch v := p.str("BATON_LOG_FORMAT", "text"); strings.ToLower(v) {
	case "text":
	case "json":
		l.JSON = true
	default:
		p.errs = append(p.errs, fmt.Errorf("BATON_LOG_FORMAT=%q: want text or json", v))
	}
	return l
}

func (p *parser) raw(name string) (string, bool) {
	v, ok := p.lookup(name)
	v = strings.TrimSpace(v)
	return v, ok && v != ""
}

func (p *parser) str(name, def string) string {
	if v, ok := p.raw(name); ok {
		return v
	}
	return def
}

func (p *parser) integer(name string, def, lo, hi int) int {
	v, ok := p.raw(name)
	if !ok {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		p.errs = append(p.errs, fmt.Errorf("%s=%q: want a whole number from %d to %d", name, v, lo, hi))
		return def
	}
	return n
}

func (p *parser) duration(name string, def, lo, hi time.Duration) time.Duration {
	v, ok := p.raw(name)
	if !ok {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < lo || d > hi {
		p.errs = append(p.errs, fmt.Errorf("%s=%q: want a duration like 30s or 30m, from %s to %s", name, v, lo, hi))
		return def
	}
	return d
}

func (p *parser) logLevel(name string, def slog.Level) slog.Level {
	v, ok := p.raw(name)
	if !ok {
		return def
	}
	switch l := strings.ToLower(v); l {
	case "debug", "info", "warn", "error":
		var level slog.Level
		_ = level.UnmarshalText([]byte(l))
		return level
	}
	p.errs = append(p.errs, fmt.Errorf("%s=%q: want debug, info, warn or error", name, v))
	return def
}

// parseSpan reads a whole number of days ("90d") or a Go duration ("36h"),
// positive, as domain.ParseSpan does for the API's windows.
func parseSpan(s string) (time.Duration, bool) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 1 || n > 100*366 || strings.HasPrefix(days, "+") {
			return 0, false
		}
		return time.Duration(n) * 24 * time.Hour, true
	}
	d, err := time.ParseDuration(s)
	return d, err == nil && d > 0
}

// span reads a length of time such as 90d or 36h (parseSpan), at least lo;
// unset is 0.
func (p *parser) span(name string, lo time.Duration) time.Duration {
	v, ok := p.raw(name)
	if !ok {
		return 0
	}
	d, valid := parseSpan(v)
	if !valid || d < lo {
		p.errs = append(p.errs, fmt.Errorf("%s=%q: want a length of time such as 90d or 36h, at least %s", name, v, lo))
		return 0
	}
	return d
}

func (p *parser) boolean(name string, def bool) bool {
	v, ok := p.raw(name)
	if !ok {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		p.errs = append(p.errs, fmt.Errorf("%s=%q: want true or false", name, v))
		return def
	}
	return b
}

// rootNameRe is what a catalog root name may be: it starts every catalog
// path, so it must need no quoting in URLs, shells or pytest node ids.
var rootNameRe = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_-]{0,99}$`)

// testRoots parses "name=/dir[:rw|:ro],…". Whether each directory exists is
// checked when the catalog is opened.
func (p *parser) testRoots(name string) []TestRoot {
	v, ok := p.raw(name)
	if !ok {
		return nil
	}
	var out []TestRoot
	seen := map[string]bool{}
	for _, entry := range strings.Split(v, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		fail := func(why string) {
			p.errs = append(p.errs, fmt.Errorf("%s: entry %q %s; want name=/absolute/dir, optionally followed by :rw (writable) or :ro, e.g. qa=/srv/qa-tests,smoke=/srv/smoke:rw", name, entry, why))
		}
		rootName, dir, found := strings.Cut(entry, "=")
		rootName, dir = strings.TrimSpace(rootName), strings.TrimSpace(dir)
		r := TestRoot{Name: rootName}
		switch {
		case strings.HasSuffix(dir, ":rw"):
			dir, r.Writable = strings.TrimSuffix(dir, ":rw"), true
		case strings.HasSuffix(dir, ":ro"):
			dir = strings.TrimSuffix(dir, ":ro")
		}
		switch {
		case !found:
			fail("has no '='")
			continue
		case !rootNameRe.MatchString(rootName):
			fail("has an invalid name (ASCII letters, digits, '_' and '-', not starting with '-', at most 100)")
			continue
		case seen[rootName]:
			fail("repeats the name " + rootName)
			continue
		case !filepath.IsAbs(dir):
			fail("has a directory that is not absolute")
			continue
		}
		seen[rootName] = true
		r.Dir = filepath.Clean(dir)
		out = append(out, r)
	}
	if len(out) == 0 {
		p.errs = append(p.errs, fmt.Errorf("%s=%q: names no root; want e.g. qa=/srv/qa-tests", name, v))
	}
	return out
}

// webhookURLs reads a comma-separated list of absolute http(s) URLs.
func (p *parser) webhookURLs(name string) []string {
	var out []string
	seen := map[string]bool{}
	for i, raw := range strings.Split(p.str(name, ""), ",") {
		raw = strings.TrimSpace(raw)
		if raw == "" {
			continue
		}
		if why := webhookURLProblem(raw); why != "" {
			p.errs = append(p.errs, fmt.Errorf("%s: URL %d (%s) %s", name, i+1, shownURL(raw), why))
			continue
		}
		if seen[raw] {
			p.errs = append(p.errs, fmt.Errorf("%s: URL %d (%s) is listed twice; each receiver once", name, i+1, shownURL(raw)))
			continue
		}
		seen[raw] = true
		out = append(out, raw)
	}
	return out
}

// webhookURLProblem says what is wrong with a receiver's URL, or "".
func webhookURLProblem(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Hostname() == "" {
		return "is not an http:// or https:// URL"
	}
	if port := u.Port(); port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return "has no valid port (1–65535)"
		}
	} else if strings.HasSuffix(u.Host, ":") {
		return "has no valid port (1–65535)"
	}
	return ""
}

// shownURL is a receiver's URL as an error message may show it: without
// its password or query, where tokens live (the message ends up in logs).
func shownURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		if strings.ContainsAny(raw, "@?") {
			return "not shown: it may hold a secret"
		}
		return strconv.Quote(raw)
	}
	if u.RawQuery != "" {
		u.RawQuery = "…"
	}
	return strconv.Quote(u.Redacted())
}
