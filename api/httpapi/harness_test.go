package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertest"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"

	"github.com/baton-ci/baton/api/catalog"
	"github.com/baton-ci/baton/api/client"
	"github.com/baton-ci/baton/api/domain"
	"github.com/baton-ci/baton/api/httpapi"
	"github.com/baton-ci/baton/api/insights"
	"github.com/baton-ci/baton/api/internal/pgtest"
	"github.com/baton-ci/baton/api/jobs"
	"github.com/baton-ci/baton/api/metrics"
	"github.com/baton-ci/baton/api/postgres"
	"github.com/baton-ci/baton/api/runs"
	"github.com/baton-ci/baton/internal/testkit"
)

// specPath is the REST contract every request and response is checked against.
const specPath = "../../openapi.yaml"

var (
	specDoc    *openapi3.T
	specRouter routers.Router
)

// TestMain loads the contract once before any test runs.
func TestMain(m *testing.M) {
	if err := loadSpec(); err != nil {
		fmt.Fprintln(os.Stderr, "httpapi tests:", err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

// loadSpec loads and validates openapi.yaml once, before any test runs.
func loadSpec() error {
	// The document itself is served as application/yaml and described as
	// `type: string`; kin-openapi would parse YAML bodies into objects, so the
	// served text is checked as the string the contract says it is. This is
	// registered before any test runs because the registry is global.
	openapi3filter.RegisterBodyDecoder("application/yaml", openapi3filter.PlainBodyDecoder)
	// Likewise the JUnit download: XML text, a string to the contract.
	openapi3filter.RegisterBodyDecoder("application/xml", openapi3filter.PlainBodyDecoder)

	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromFile(specPath)
	if err != nil {
		return fmt.Errorf("load %s: %w", specPath, err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return fmt.Errorf("%s is not a valid OpenAPI document: %w", specPath, err)
	}
	r, err := gorillamux.NewRouter(doc)
	if err != nil {
		return fmt.Errorf("build router from %s: %w", specPath, err)
	}
	specDoc, specRouter = doc, r
	return nil
}

// sampleTests are the files every harness starts with, below sample-tests.
var sampleTests = map[string]string{
	"test_success.py":        "def test_ok():\n    assert True\n",
	"test_failure.py":        "def test_bad():\n    assert 1 == 2\n",
	"api/test_api.py":        "def test_api():\n    pass\n",
	"api/users_test.py":      "def test_users():\n    pass\n",
	"helpers.py":             "X = 1\n", // not a test file: never listed
	".hidden/test_hidden.py": "def test_h():\n    pass\n",
}

// harnessOptions tunes a harness; the zero value is the usual setup.
type harnessOptions struct {
	// catalog overrides the catalog options; Python defaults to /usr/bin/python3.
	catalog catalog.Options
	// noPython leaves the catalog without an interpreter.
	noPython bool
	// webDir is passed to httpapi.Options.WebDir.
	webDir string
	// apiToken and corsOrigins are passed to httpapi.Options.
	apiToken    string
	corsOrigins []string
	// listCacheTTL is passed to httpapi.Options.ListCacheTTL (0: no cache).
	listCacheTTL time.Duration
	// clock, when set, is the list cache's clock (httpapi.Options.Now).
	clock *testkit.Clock
	// flakyWindow is the insights service's N (0: the default).
	flakyWindow int
}

// harness is one API server over its own database and catalog tree.
type harness struct {
	db       *postgres.DB
	store    *postgres.Store
	runs     *runs.Service
	insights *insights.Service
	metrics  *metrics.Metrics
	cat      *catalog.Catalog
	syncer   *catalog.Syncer
	srv      *httpapi.Server
	ts       *httptest.Server
	// base holds the catalog roots sample-tests and uploads.
	base string
	logs *testkit.SyncBuffer
}

func newHarness(t *testing.T, o harnessOptions) *harness {
	t.Helper()
	ctx := context.Background()
	db := pgtest.NewDB(t)
	stack := pgtest.NewStack(t, db, 30*time.Minute)
	store := stack.Store

	base, err := filepath.EvalSymlinks(t.TempDir())
	require.NoError(t, err)
	for name, content := range sampleTests {
		writeFile(t, filepath.Join(base, "sample-tests", filepath.FromSlash(name)), content)
	}
	opts := o.catalog
	if opts.Python == "" && !o.noPython {
		opts.Python = testkit.Python(t)
	}
	cat, err := catalog.New([]catalog.Root{
		{Dir: filepath.Join(base, "sample-tests"), Writable: true},
		{Dir: filepath.Join(base, "uploads"), Writable: true},
	}, opts)
	require.NoError(t, err)
	logs := &testkit.SyncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	syncer := catalog.NewSyncer(cat, store, log)
	require.NoError(t, syncer.Sync(ctx))

	ins := insights.New(store, insights.Options{FlakyWindow: o.flakyWindow, Logger: log})
	meter := metrics.New("api")
	meter.Environments(stack.Environments, log)
	srv := httpapi.New(httpapi.Services{
		Runs: stack.Runs, Environments: stack.Environments, Catalog: store, Uploader: syncer, Health: store, Insights: ins,
	}, httpapi.Options{WebDir: o.webDir, Logger: log,
		APIToken: o.apiToken, CORSOrigins: o.corsOrigins, ListCacheTTL: o.listCacheTTL, Now: clockFunc(o.clock),
		Metrics: meter.Handler(), ObserveRequest: meter.ObserveRequest})
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return &harness{db: db, store: store, runs: stack.Runs, insights: ins, metrics: meter, cat: cat, syncer: syncer,
		srv: srv, ts: ts, base: base, logs: logs}
}

func clockFunc(c *testkit.Clock) func() time.Time {
	if c == nil {
		return nil
	}
	return c.Now
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
}

// specCheck says what the contract must think of a request.
type specCheck int

const (
	// specValid: the request conforms to openapi.yaml.
	specValid specCheck = iota
	// specInvalid: openapi.yaml itself rejects the request (the server must, too).
	specInvalid
	// specSilent: the contract cannot express what is wrong with the request
	// (e.g. a whitespace-only name, or a file not in the catalog).
	specSilent
)

// request is one call to the API.
type request struct {
	Method, Path string
	Body         []byte
	ContentType  string
	Spec         specCheck
	// Allow500 accepts an undocumented 500, for tests that force one; its
	// body is still checked against the ErrorResponse schema.
	Allow500 bool
	// Header is added to the request.
	Header http.Header
}

// response is what the server answered.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

// do sends r to the server after checking it against the contract as r.Spec
// demands, and checks every response against the contract: its status must
// be documented for the operation and its body must match the schema. Calls
// to paths the contract does not know (unknown /api paths) must answer with
// the ErrorResponse shape.
func (h *harness) do(t *testing.T, r request) *response {
	t.Helper()
	ctx := context.Background()
	target := h.ts.URL + r.Path

	// The contract's view of the request, on a copy of it. HEAD is the GET
	// of the same path without a body (see openapi.yaml's description).
	specMethod := r.Method
	if r.Method == http.MethodHead {
		specMethod = http.MethodGet
	}
	vreq, err := http.NewRequest(specMethod, target, bytes.NewReader(r.Body))
	require.NoError(t, err)
	if r.ContentType != "" {
		vreq.Header.Set("Content-Type", r.ContentType)
	}
	for k, v := range r.Header {
		vreq.Header[k] = v
	}
	route, params, routeErr := specRouter.FindRoute(vreq)
	var reqErr error
	var input *openapi3filter.RequestValidationInput
	if routeErr == nil {
		input = &openapi3filter.RequestValidationInput{Request: vreq, PathParams: params, Route: route,
			Options: &openapi3filter.Options{MultiError: true, AuthenticationFunc: bearerAuth}}
		reqErr = openapi3filter.ValidateRequest(ctx, input)
	} else {
		reqErr = routeErr
	}
	isAPI := strings.HasPrefix(r.Path, "/api/") || r.Path == "/metrics" || strings.HasPrefix(r.Path, "/metrics?")
	switch r.Spec {
	case specValid:
		require.NoError(t, reqErr, "%s %s must conform to openapi.yaml", r.Method, r.Path)
	case specInvalid:
		require.Error(t, reqErr, "openapi.yaml should reject %s %s", r.Method, r.Path)
	}

	req, err := http.NewRequest(r.Method, target, bytes.NewReader(r.Body))
	require.NoError(t, err)
	if r.ContentType != "" {
		req.Header.Set("Content-Type", r.ContentType)
	}
	for k, v := range r.Header {
		req.Header[k] = v
	}
	res, err := h.ts.Client().Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	out := &response{Status: res.StatusCode, Header: res.Header, Body: body}

	if !isAPI {
		return out // the SPA is not part of the contract
	}
	if out.Status == http.StatusInternalServerError {
		require.True(t, r.Allow500, "%s %s: unexpected 500: %s\nlogs: %s", r.Method, r.Path, body, h.logs.String())
		requireErrorShape(t, out)
		return out
	}
	if routeErr != nil {
		// Not an operation of the contract: an unknown path gets the
		// contract's NoEndpoint response, a wrong method MethodNotAllowed.
		switch {
		case errors.Is(routeErr, routers.ErrMethodNotAllowed):
			requireComponentResponse(t, r.Method, out, http.StatusMethodNotAllowed, "MethodNotAllowed")
		case errors.Is(routeErr, routers.ErrPathNotFound):
			requireComponentResponse(t, r.Method, out, http.StatusNotFound, "NoEndpoint")
		default:
			t.Fatalf("%s %s: %v", r.Method, r.Path, routeErr)
		}
		return out
	}
	if r.Method == http.MethodHead {
		// The GET's status and headers, no body.
		require.Empty(t, out.Body, "HEAD %s sent a body", r.Path)
		resErr := validateResponse(input, &response{Status: out.Status, Header: out.Header, Body: nil})
		if resErr != nil && !strings.Contains(resErr.Error(), "body") {
			require.NoError(t, resErr, "HEAD %s: response %d breaks openapi.yaml", r.Path, out.Status)
		}
		return out
	}
	resErr := validateResponse(input, out)
	require.NoError(t, resErr, "%s %s: response %d breaks openapi.yaml: %s", r.Method, r.Path, out.Status, body)
	if out.Status >= 400 {
		requireErrorShape(t, out)
	}
	return out
}

// validateResponse checks res against the operation input was routed to:
// the status must be documented and the body must match its schema.
func validateResponse(input *openapi3filter.RequestValidationInput, res *response) error {
	return openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
		RequestValidationInput: input,
		Status:                 res.Status,
		Header:                 res.Header,
		Body:                   io.NopCloser(bytes.NewReader(res.Body)),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	})
}

// bearerAuth is how the contract's bearerAuth scheme is checked: the request
// must carry "Authorization: Bearer <something>". Operations that also allow
// no security at all pass without it.
func bearerAuth(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	if in.SecurityScheme == nil || in.SecurityScheme.Type != "http" || in.SecurityScheme.Scheme != "bearer" {
		return fmt.Errorf("unexpected security scheme %s", in.SecuritySchemeName)
	}
	if !strings.HasPrefix(in.RequestValidationInput.Request.Header.Get("Authorization"), "Bearer ") {
		return errors.New("no bearer token")
	}
	return nil
}

// requireErrorShape checks an error body against the ErrorResponse schema and
// that its code matches its status.
func requireErrorShape(t *testing.T, res *response) {
	t.Helper()
	require.Contains(t, res.Header.Get("Content-Type"), "application/json", "body: %s", res.Body)
	var v any
	require.NoError(t, json.Unmarshal(res.Body, &v), "body: %s", res.Body)
	require.NoError(t, specDoc.Components.Schemas["ErrorResponse"].Value.VisitJSON(v), "body: %s", res.Body)
	want := map[int]domain.ErrorCode{400: domain.EINVALID, 405: domain.EINVALID, 401: domain.EUNAUTHORIZED, 404: domain.ENOTFOUND, 409: domain.ECONFLICT,
		413: domain.ETOOLARGE, 503: domain.EUNAVAILABLE, 500: domain.EINTERNAL}[res.Status]
	require.NotEmpty(t, want, "unexpected error status %d", res.Status)
	require.Equal(t, want, res.errorBody(t).Code, "status %d", res.Status)
}

// requireComponentResponse checks res against the response components.responses[name]
// of the contract: its status, its required headers and its JSON body's
// schema (none for HEAD).
func requireComponentResponse(t *testing.T, method string, res *response, status int, name string) {
	t.Helper()
	require.Equal(t, status, res.Status, "body: %s", res.Body)
	ref := specDoc.Components.Responses[name]
	require.NotNil(t, ref, "openapi.yaml has no response %s", name)
	for h, hdr := range ref.Value.Headers {
		if hdr.Value.Required {
			require.NotEmpty(t, res.Header.Get(h), "%s response without its %s header", name, h)
		}
	}
	mt := ref.Value.Content.Get("application/json")
	require.NotNil(t, mt, "response %s has no JSON body", name)
	require.Contains(t, res.Header.Get("Content-Type"), "application/json", "body: %s", res.Body)
	if method == http.MethodHead {
		require.Empty(t, res.Body, "HEAD sent a body")
		return
	}
	var v any
	require.NoError(t, json.Unmarshal(res.Body, &v), "body: %s", res.Body)
	require.NoError(t, mt.Schema.Value.VisitJSON(v), "%s body: %s", name, res.Body)
	requireErrorShape(t, res)
}

func (h *harness) get(t *testing.T, path string, spec specCheck) *response {
	t.Helper()
	return h.do(t, request{Method: http.MethodGet, Path: path, Spec: spec})
}

// postJSON sends v, or raw bytes when v is a []byte or string, as JSON.
func (h *harness) postJSON(t *testing.T, path string, v any, spec specCheck) *response {
	t.Helper()
	var body []byte
	switch b := v.(type) {
	case []byte:
		body = b
	case string:
		body = []byte(b)
	case nil:
	default:
		var err error
		body, err = json.Marshal(v)
		require.NoError(t, err)
	}
	return h.do(t, request{Method: http.MethodPost, Path: path, Body: body, ContentType: "application/json", Spec: spec})
}

// decode requires status and decodes the body into v.
func (r *response) decode(t *testing.T, status int, v any) {
	t.Helper()
	require.Equal(t, status, r.Status, "body: %s", r.Body)
	require.NoError(t, json.Unmarshal(r.Body, v), "body: %s", r.Body)
}

// apiError is an error body (client.ErrorResponse, as the generated client
// decodes it) seen as the tests compare it: the code as the domain's
// ErrorCode, and no fields as an empty map rather than a nil pointer.
type apiError struct {
	Code    domain.ErrorCode
	Message string
	Fields  map[string]string
}

func (r *response) errorBody(t *testing.T) apiError {
	t.Helper()
	var e client.ErrorResponse
	require.NoError(t, json.Unmarshal(r.Body, &e), "body: %s", r.Body)
	out := apiError{Code: domain.ErrorCode(e.Error.Code), Message: e.Error.Message}
	if e.Error.Fields != nil {
		out.Fields = *e.Error.Fields
	}
	return out
}

// requireErrorStatus checks that a response outside the API is a JSON
// error of the given status.
func (r *response) requireErrorStatus(t *testing.T, status int) {
	t.Helper()
	require.Equal(t, status, r.Status, "body: %s", r.Body)
	requireErrorShape(t, r)
}

// requireError checks status, code and exactly the given field keys.
func (r *response) requireError(t *testing.T, status int, code domain.ErrorCode, fields ...string) apiError {
	t.Helper()
	require.Equal(t, status, r.Status, "body: %s", r.Body)
	e := r.errorBody(t)
	require.Equal(t, code, e.Code, "body: %s", r.Body)
	require.NotEmpty(t, e.Message)
	keys := make([]string, 0, len(e.Fields))
	for k := range e.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	sort.Strings(fields)
	if len(fields) == 0 {
		fields = []string{}
	}
	require.Equal(t, fields, keys, "fields of %s", r.Body)
	return e
}

// The schemas of openapi.yaml as the generated client (api/client)
// decodes them: a response that decodes into one of these has the field
// names and types the spec gives (the conformance check sees the rest).
type (
	// Run is the Run schema.
	Run = client.Run
	// Progress is the Progress schema.
	Progress = client.Progress
	// Summary is the TestSummary schema.
	Summary = client.TestSummary
	// WaitingFor is the WaitingFor schema.
	WaitingFor = client.WaitingFor
	// TestResult is the TestResult schema.
	TestResult = client.TestResult
	// RunList is the RunList schema.
	RunList = client.RunList
	// LogPage is the LogPage schema.
	LogPage = client.LogPage
	// Environment is the Environment schema.
	Environment = client.Environment
	// TestFile is the TestFile schema.
	TestFile = client.TestFile
	// TestDirectory is the TestDirectory schema.
	TestDirectory = client.TestDirectory
)

// createRun queues a run through the API and returns it.
func (h *harness) createRun(t *testing.T, env int, by string, files ...string) Run {
	t.Helper()
	if len(files) == 0 {
		files = []string{"sample-tests/test_success.py"}
	}
	var run Run
	h.postJSON(t, "/api/runs", map[string]any{"requested_by": by, "environment_id": env, "test_files": files}, specValid).
		decode(t, http.StatusCreated, &run)
	return run
}

func (h *harness) getRun(t *testing.T, id int64) Run {
	t.Helper()
	var run Run
	h.get(t, fmt.Sprintf("/api/runs/%d", id), specValid).decode(t, http.StatusOK, &run)
	return run
}

// claim starts the next queued run of env as worker w1 does.
func (h *harness) claim(t *testing.T, env int) *domain.Run {
	t.Helper()
	run, err := h.runs.Claim(context.Background(), env, "w1")
	require.NoError(t, err)
	require.NotNil(t, run, "environment %d had nothing to claim", env)
	return run
}

// finish ends a claimed run with pytest's exit code.
func (h *harness) finish(t *testing.T, run *domain.Run, exit int) {
	t.Helper()
	ok, err := h.runs.Finish(context.Background(), run, "w1", domain.OutcomeForExit(exit))
	require.NoError(t, err)
	require.True(t, ok)
}

func (h *harness) count(t *testing.T, query string, args ...any) int {
	t.Helper()
	var n int
	require.NoError(t, h.db.SQL.QueryRowContext(context.Background(), query, args...).Scan(&n))
	return n
}

// requireStartJobs checks, with rivertest, that exactly n start jobs were
// inserted so far, and returns them in insertion order.
func (h *harness) requireStartJobs(t *testing.T, n int) []*rivertype.JobRow {
	t.Helper()
	expected := make([]rivertest.ExpectedJob, n)
	for i := range expected {
		expected[i] = rivertest.ExpectedJob{Args: jobs.StartArgs{}, Opts: &rivertest.RequireInsertedOpts{Queue: jobs.QueueRuns}}
	}
	return rivertest.RequireManyInserted(context.Background(), t, riverpgxv5.New(h.db.Pool), expected)
}

// state is everything a rejected request must leave alone.
type state struct {
	Runs, Jobs, Chunks, Cancels int
	Files                       map[string]string
	// Environments is every environment row, metadata and holds included.
	Environments string
}

func (h *harness) state(t *testing.T) state {
	t.Helper()
	return state{
		Runs:    h.count(t, `SELECT count(*) FROM runs`),
		Jobs:    h.count(t, `SELECT count(*) FROM river_job`),
		Chunks:  h.count(t, `SELECT count(*) FROM run_log_chunks`),
		Cancels: h.count(t, `SELECT count(*) FROM runs WHERE cancel_requested OR status = 'cancelled' OR cancelled_by IS NOT NULL`),
		Files:   testkit.Tree(t, h.base),
		Environments: func() string {
			var s string
			require.NoError(t, h.db.SQL.QueryRowContext(context.Background(),
				`SELECT string_agg(e::text, E'\n' ORDER BY id) FROM environments e`).Scan(&s))
			return s
		}(),
	}
}

// unchanged returns a check that nothing in the database or catalog tree
// changed since it was taken.
func (h *harness) unchanged(t *testing.T) func() {
	t.Helper()
	before := h.state(t)
	return func() {
		t.Helper()
		require.Equal(t, before, h.state(t), "a rejected request must change nothing")
	}
}

// formPart is one part of a multipart body.
type formPart struct {
	Name, FileName string
	Content        []byte
}

// multipartBody encodes parts; a part with a FileName is a file part.
func multipartBody(t *testing.T, parts ...formPart) ([]byte, string) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for _, p := range parts {
		hdr := textproto.MIMEHeader{}
		if p.FileName != "" {
			// Written by hand so that names such as "../x" reach the server
			// verbatim; %q quotes ASCII the way Content-Disposition expects.
			hdr.Set("Content-Disposition", fmt.Sprintf(`form-data; name=%q; filename=%q`, p.Name, p.FileName))
			hdr.Set("Content-Type", "application/octet-stream")
		} else {
			hdr.Set("Content-Disposition", fmt.Sprintf(`form-data; name=%q`, p.Name))
		}
		pw, err := w.CreatePart(hdr)
		require.NoError(t, err)
		_, err = pw.Write(p.Content)
		require.NoError(t, err)
	}
	require.NoError(t, w.Close())
	return buf.Bytes(), w.FormDataContentType()
}

// upload posts a multipart form to POST /api/test-files.
func (h *harness) upload(t *testing.T, spec specCheck, parts ...formPart) *response {
	t.Helper()
	body, ct := multipartBody(t, parts...)
	return h.do(t, request{Method: http.MethodPost, Path: "/api/test-files", Body: body, ContentType: ct, Spec: spec})
}

// testFiles lists the catalog through the API.
func (h *harness) testFiles(t *testing.T) []TestFile {
	t.Helper()
	var list client.TestFileList
	h.get(t, "/api/test-files", specValid).decode(t, http.StatusOK, &list)
	return list.Items
}

func paths(files []TestFile) []string {
	out := make([]string, len(files))
	for i, f := range files {
		out[i] = f.Path
	}
	return out
}
