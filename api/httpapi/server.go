// Package httpapi is Baton's JSON REST API on Echo, as described by
// openapi.yaml, and the server of the built web UI. Handlers only bind
// (decode the request into the domain's input types, refusing what cannot
// even be decoded), call a service and respond; the rules live in the
// services (domain's contracts), and errors are mapped to statuses in one
// table (errors.go).
package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/baton-ci/baton/api/domain"
)

// Services are what the API serves, as the domain's contracts; cmd/baton
// wires the run service and the storage into them.
type Services struct {
	Runs         domain.RunService
	Environments domain.EnvironmentService
	Catalog      domain.CatalogService
	Uploader     domain.Uploader
	Health       domain.HealthChecker
	// Webhooks lists the configured hooks; nil lists none.
	Webhooks domain.WebhookService
	// Insights answers questions about many runs.
	Insights domain.InsightsService
}

// Options configures a Server.
type Options struct {
	// WebDir is the built SPA; "" or a missing directory serves a hint instead.
	WebDir string
	// MaxJSONBytes bounds JSON request bodies. Default 1 MiB.
	MaxJSONBytes int64
	// APIToken, when set, is required on every mutating request.
	APIToken string
	// CORSOrigins may call the API from other origins; none by default.
	CORSOrigins []string
	// ListCacheTTL lets clients polling the same page of GET /api/runs, or
	// GET /api/environments, share one answer for this long; 0 disables it.
	ListCacheTTL time.Duration
	// Now is the clock of the list cache's TTL; nil means time.Now. Tests
	// set it, so a TTL check holds on a slow machine too.
	Now func() time.Time
	// ObserveRequest, when set, is told about every request served: its
	// method, route pattern ("/api/runs/:id"; "web" for the UI, "unmatched"
	// for a miss), status and latency (metrics.Metrics.ObserveRequest).
	ObserveRequest func(method, route string, status int, d time.Duration)
	// Metrics, when set, is served at GET /metrics (Prometheus).
	Metrics http.Handler
	Logger  *slog.Logger
}

// Server is the HTTP API.
type Server struct {
	echo  *echo.Echo
	svc   Services
	opts  Options
	log   *slog.Logger
	lists *listCache
}

// New returns a Server with every route registered.
func New(svc Services, opts Options) *Server {
	if opts.MaxJSONBytes <= 0 {
		opts.MaxJSONBytes = 1 << 20
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	s := &Server{echo: echo.New(), svc: svc, opts: opts, log: opts.Logger,
		lists: newListCache(opts.ListCacheTTL, opts.Now)}
	e := s.echo
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = errorHandler(s.log)
	if opts.ObserveRequest != nil {
		// Outermost, so it sees the status of errors and recovered panics.
		e.Use(observeRequests(opts.ObserveRequest))
	}
	e.Use(middleware.Recover())
	e.Use(cleanRequestID)
	e.Use(middleware.RequestID())
	e.Use(middleware.RequestLoggerWithConfig(middleware.RequestLoggerConfig{
		LogStatus: true, LogURI: true, LogMethod: true, LogLatency: true, LogError: true, HandleError: true,
		LogRequestID: true,
		LogValuesFunc: func(c echo.Context, v middleware.RequestLoggerValues) error {
			// Every open UI polls several GETs a second: reads that
			// succeed are logged at debug level, everything else at info.
			level := slog.LevelInfo
			if (v.Method == http.MethodGet || v.Method == http.MethodHead) && v.Status < 400 {
				level = slog.LevelDebug
			}
			s.log.LogAttrs(c.Request().Context(), level, "request", slog.String("request_id", v.RequestID),
				slog.String("method", v.Method), slog.String("uri", v.URI), slog.Int("status", v.Status),
				slog.Duration("latency", v.Latency))
			return nil
		},
	}))

	if len(opts.CORSOrigins) > 0 {
		e.Use(cors(opts.CORSOrigins))
	}
	// API middleware is Echo-wide, limited to /api paths, or on the routes
	// themselves, never the group's: Group.Use registers catch-all
	// RouteNotFound routes, which would take the router's 405 from known
	// paths.
	e.Use(apiOnly(requireTextQuery))
	var write []echo.MiddlewareFunc
	if opts.APIToken != "" {
		write = append(write, requireToken(opts.APIToken))
	}
	api := e.Group("/api")
	api.GET("/health", s.health)
	api.GET("/openapi.yaml", s.openAPI)
	api.GET("/environments", s.listEnvironments)
	api.GET("/environments/:id", s.getEnvironment)
	api.PATCH("/environments/:id", s.patchEnvironment, write...)
	api.POST("/environments/:id/hold", s.holdEnvironment, write...)
	api.DELETE("/environments/:id/hold", s.releaseEnvironment, write...)
	api.GET("/test-directories", s.listTestDirectories)
	api.GET("/test-files", s.listTestFiles)
	api.POST("/test-files", s.uploadTestFile, write...)
	api.POST("/test-projects", s.uploadTestProject, write...)
	api.GET("/runs", s.listRuns)
	api.POST("/runs", s.createRun, write...)
	api.GET("/runs/:id", s.getRun)
	api.GET("/runs/:id/log", s.getRunLog)
	api.GET("/runs/:id/log.txt", s.getRunLogText)
	api.GET("/runs/:id/junit.xml", s.getRunJUnit)
	api.GET("/webhooks", s.listWebhooks)
	api.GET("/runs/:id/tests", s.getRunTests)
	api.POST("/runs/:id/cancel", s.cancelRun, write...)
	api.POST("/runs/:id/rerun", s.rerun, write...)
	api.POST("/runs/:id/rerun-failed", s.rerunFailed, write...)
	api.GET("/tests/history", s.getTestHistory)
	api.GET("/tests/flaky", s.listFlakyTests)
	api.GET("/tests/slowest", s.listSlowestTests)
	api.GET("/insights/environments", s.getEnvironmentInsights)
	if opts.Metrics != nil {
		e.GET("/metrics", echo.WrapHandler(opts.Metrics))
	}
	// No catch-all route and no RouteNotFound: either would take precedence
	// over the router's own 405 for a known path called with the wrong
	// method. Misses reach errorHandler as Echo's 404 or 405 (with Allow);
	// the web UI is middleware that only answers what no route took.
	s.mountSPA()
	return s
}

// Handler returns the server as an http.Handler.
func (s *Server) Handler() http.Handler { return headAsGet(s.echo) }

// Echo exposes the router, for tests that check every route is documented.
func (s *Server) Echo() *echo.Echo { return s.echo }

func (s *Server) health(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
	defer cancel()
	if err := s.svc.Health.Ping(ctx); err != nil {
		s.log.Warn("health check: database unreachable", "err", err)
		return domain.Errorf(domain.EUNAVAILABLE, "The database is unreachable.")
	}
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}
