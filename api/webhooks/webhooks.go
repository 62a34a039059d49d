// Package webhooks tells HTTP receivers about runs: a run.started event
// when a run is claimed and a run.finished event when it ends, as signed
// JSON (HMAC-SHA256 of the body, as GitHub signs its webhooks). Events come
// from the run_started and run_ended jobs (it is their handler); each is
// delivered to each hook by a job of its own, on a queue of its own, with
// River's retries and back-off: at least once, with an event id that is the
// same for every delivery of the event, and never in a run's way.
package webhooks

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/baton-ci/baton/api/domain"
)

// Headers of every delivery.
const (
	HeaderEvent     = "X-Baton-Event"
	HeaderEventID   = "X-Baton-Event-Id"
	HeaderAttempt   = "X-Baton-Delivery-Attempt"
	HeaderSignature = "X-Baton-Signature-256"
)

// lastDeliveries is how many deliveries of each hook the API shows.
const lastDeliveries = 20

// Hook is one configured receiver.
type Hook struct {
	// ID names the hook in the API without showing its URL's secrets.
	ID  string
	URL string
}

// ParseHooks checks the receivers' URLs: absolute http or https.
func ParseHooks(urls []string) ([]Hook, error) {
	hooks := make([]Hook, 0, len(urls))
	for _, raw := range urls {
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("%q is not an http:// or https:// URL", redact(raw))
		}
		sum := sha256.Sum256([]byte(raw))
		hooks = append(hooks, Hook{ID: "hook-" + hex.EncodeToString(sum[:6]), URL: raw})
	}
	return hooks, nil
}

// Sign is the signature header's value for body: "sha256=" and the hex
// HMAC-SHA256 of the body under secret.
func Sign(secret, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// Verify reports whether signature is body's under secret, in constant time:
// what a receiver does.
func Verify(secret, body []byte, signature string) bool {
	return hmac.Equal([]byte(Sign(secret, body)), []byte(signature))
}

// Config configures a Service.
type Config struct {
	Hooks  []Hook
	Secret []byte
	// Timeout bounds one delivery attempt.
	Timeout time.Duration
	// BaseURL is where Baton's UI and API are, for the links in events.
	BaseURL string
	Logger  *slog.Logger
}

// Service is the webhooks of one Baton process: it turns run events into
// deliveries (domain.RunStartedHandler, domain.RunEndedHandler), makes them
// (domain.WebhookSender) and lists them (domain.WebhookService).
type Service struct {
	cfg    Config
	byURL  map[string]Hook
	enq    domain.WebhookEnqueuer
	store  domain.WebhookStore
	client *http.Client
}

var (
	_ domain.RunStartedHandler = (*Service)(nil)
	_ domain.RunEndedHandler   = (*Service)(nil)
	_ domain.WebhookSender     = (*Service)(nil)
	_ domain.WebhookService    = (*Service)(nil)
)

// New returns the Service; enq may be nil in a process that only lists.
func New(cfg Config, enq domain.WebhookEnqueuer, store domain.WebhookStore) *Service {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s := &Service{cfg: cfg, byURL: map[string]Hook{}, enq: enq, store: store, client: &http.Client{
		Timeout: cfg.Timeout,
		// A redirect is not a delivery: a receiver must answer 2xx itself.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
	for _, h := range cfg.Hooks {
		s.byURL[h.URL] = h
	}
	return s
}

// HandleRunStarted implements domain.RunStartedHandler.
func (s *Service) HandleRunStarted(ctx context.Context, e domain.RunStarted) error {
	started := e.StartedAt
	r := runJSON{ID: e.RunID, RequestedBy: e.RequestedBy, EnvironmentID: positive(e.EnvironmentID), Pool: nonEmpty(e.Pool),
		TestFiles: nonNil(e.TestFiles), Status: domain.StatusRunning, CreatedAt: e.CreatedAt.UTC(), StartedAt: utc(&started),
		Fence: positive(e.Fence), RerunOf: positive(e.RerunOf)}
	return s.publish(ctx, domain.EventRunStarted, e.StartedAt, r)
}

// HandleRunEnded implements domain.RunEndedHandler.
func (s *Service) HandleRunEnded(ctx context.Context, e domain.RunEnded) error {
	finished := e.FinishedAt
	r := runJSON{ID: e.RunID, RequestedBy: e.RequestedBy, EnvironmentID: positive(e.EnvironmentID), Pool: nonEmpty(e.Pool),
		TestFiles: nonNil(e.TestFiles), Status: e.Status, ExitCode: e.ExitCode, Reason: nonEmpty(e.Reason),
		CreatedAt: e.CreatedAt.UTC(), StartedAt: utc(e.StartedAt), FinishedAt: utc(&finished),
		Fence: positive(e.Fence), RerunOf: positive(e.RerunOf), CancelledBy: nonEmpty(e.CancelledBy)}
	if e.StartedAt != nil {
		ms := e.FinishedAt.Sub(*e.StartedAt).Milliseconds()
		r.DurationMS = &ms
	}
	if sum := e.Summary; sum != nil {
		r.Summary = &summaryJSON{Passed: sum.Passed, Failed: sum.Failed, Errors: sum.Errors, Skipped: sum.Skipped, Total: sum.Total}
	}
	return s.publish(ctx, domain.EventRunFinished, e.FinishedAt, r)
}

// publish schedules the event's delivery to every hook. Its id is made from
// the run alone, so the same end handled twice is the same event.
func (s *Service) publish(ctx context.Context, typ string, at time.Time, r runJSON) error {
	if len(s.cfg.Hooks) == 0 {
		return nil
	}
	if s.enq == nil {
		return errors.New("webhooks: no enqueuer")
	}
	id := fmt.Sprintf("%s:%d:%d", typ, r.ID, r.CreatedAt.UnixMilli())
	base := strings.TrimRight(s.cfg.BaseURL, "/")
	payload, err := json.Marshal(eventJSON{ID: id, Type: typ, CreatedAt: at.UTC(), Run: r, Links: linksJSON{
		Run:   fmt.Sprintf("%s/runs/%d", base, r.ID),
		Log:   fmt.Sprintf("%s/api/runs/%d/log.txt", base, r.ID),
		JUnit: fmt.Sprintf("%s/api/runs/%d/junit.xml", base, r.ID),
	}})
	if err != nil {
		return err
	}
	ev := domain.WebhookEvent{ID: id, Type: typ, RunID: r.ID, Payload: payload}
	for _, h := range s.cfg.Hooks {
		if err := s.enq.EnqueueWebhook(ctx, h.URL, ev); err != nil {
			return fmt.Errorf("schedule %s for %s: %w", typ, h.ID, err)
		}
	}
	return nil
}

// SendWebhook implements domain.WebhookSender: one POST, recorded.
func (s *Service) SendWebhook(ctx context.Context, hookURL string, e domain.WebhookEvent, attempt int) error {
	hook, ok := s.byURL[hookURL]
	if !ok {
		// Configured elsewhere in the cluster, or since removed: every
		// worker must have the same BATON_WEBHOOK_URLS.
		return fmt.Errorf("webhook %s is not configured on this worker", redact(hookURL))
	}
	d := domain.WebhookDelivery{HookID: hook.ID, EventID: e.ID, EventType: e.Type, RunID: e.RunID, Attempt: attempt, At: time.Now().UTC()}
	start := time.Now()
	d.StatusCode, d.Error = s.post(ctx, hook, e, attempt)
	d.Duration = time.Since(start)
	if err := s.store.RecordWebhookDelivery(context.WithoutCancel(ctx), d); err != nil {
		s.cfg.Logger.Warn("webhook delivery not recorded", "hook", hook.ID, "event", e.ID, "err", err)
	}
	if d.Error != "" {
		s.cfg.Logger.Warn("webhook delivery failed; River retries it", "hook", hook.ID, "event", e.ID, "attempt", attempt, "err", d.Error)
		return fmt.Errorf("deliver %s to %s: %s", e.ID, hook.ID, d.Error)
	}
	return nil
}

// post sends e to hook; errMsg is "" when the receiver answered 2xx.
func (s *Service) post(ctx context.Context, hook Hook, e domain.WebhookEvent, attempt int) (status int, errMsg string) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, hook.URL, strings.NewReader(string(e.Payload)))
	if err != nil {
		return 0, err.Error()
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Baton-Webhooks/1")
	req.Header.Set(HeaderEvent, e.Type)
	req.Header.Set(HeaderEventID, e.ID)
	req.Header.Set(HeaderAttempt, strconv.Itoa(attempt))
	req.Header.Set(HeaderSignature, Sign(s.cfg.Secret, e.Payload))
	res, err := s.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // without the URL, which may hold credentials
		}
		return 0, err.Error()
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return res.StatusCode, "receiver answered " + res.Status
	}
	return res.StatusCode, ""
}

// Webhooks implements domain.WebhookService.
func (s *Service) Webhooks(ctx context.Context) ([]domain.Webhook, error) {
	out := make([]domain.Webhook, 0, len(s.cfg.Hooks))
	for _, h := range s.cfg.Hooks {
		ds, err := s.store.LastWebhookDeliveries(ctx, h.ID, lastDeliveries)
		if err != nil {
			return nil, err
		}
		out = append(out, domain.Webhook{ID: h.ID, URL: redact(h.URL),
			Events: []string{domain.EventRunStarted, domain.EventRunFinished}, LastDeliveries: ds})
	}
	return out, nil
}

// redact hides a URL's password and query (where tokens tend to live).
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable URL)"
	}
	if u.RawQuery != "" {
		u.RawQuery = "redacted"
	}
	return u.Redacted()
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// positive is n, or nil (JSON null) for the zero that means "none": the
// environment of a pooled run that never started, a fence not drawn, a
// new run's rerun_of.
func positive[T int | int64](n T) *T {
	if n <= 0 {
		return nil
	}
	return &n
}

// nonEmpty is s, or nil (JSON null) for "".
func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// eventJSON is the body of a delivery: the WebhookEvent schema of
// openapi.yaml.
type eventJSON struct {
	ID        string    `json:"id"`
	Type      string    `json:"type"`
	CreatedAt time.Time `json:"created_at"`
	Run       runJSON   `json:"run"`
	Links     linksJSON `json:"links"`
}

type linksJSON struct {
	Run   string `json:"run"`
	Log   string `json:"log"`
	JUnit string `json:"junit"`
}

type runJSON struct {
	ID            int64            `json:"id"`
	RequestedBy   string           `json:"requested_by"`
	EnvironmentID *int             `json:"environment_id"`
	Pool          *string          `json:"pool"`
	TestFiles     []string         `json:"test_files"`
	Status        domain.RunStatus `json:"status"`
	ExitCode      *int             `json:"exit_code"`
	Reason        *string          `json:"reason"`
	CreatedAt     time.Time        `json:"created_at"`
	StartedAt     *time.Time       `json:"started_at"`
	FinishedAt    *time.Time       `json:"finished_at"`
	DurationMS    *int64           `json:"duration_ms"`
	Summary       *summaryJSON     `json:"summary"`
	Fence         *int64           `json:"fence"`
	RerunOf       *int64           `json:"rerun_of"`
	CancelledBy   *string          `json:"cancelled_by"`
}

type summaryJSON struct {
	Passed  int `json:"passed"`
	Failed  int `json:"failed"`
	Errors  int `json:"errors"`
	Skipped int `json:"skipped"`
	Total   int `json:"total"`
}
