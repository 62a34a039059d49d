package domain

import (
	"context"
	"time"
)

// RunStarted is a run's start as the world is told about it: the payload
// of the run_started job, inserted in the transaction that claimed the run,
// that every RunStartedHandler receives.
type RunStarted struct {
	RunID         int64
	EnvironmentID int
	// Pool is the label a pooled run asked for; "" for a direct run.
	Pool        string
	RequestedBy string
	TestFiles   []string
	WorkerID    string
	CreatedAt   time.Time
	StartedAt   time.Time
	Timeout     time.Duration
	// Fence is the run's fencing token (Run.Fence); 0 only in a start
	// announced before fences existed.
	Fence int64
	// RerunOf is the run this one runs again; 0 for a new run.
	RerunOf int64
}

// RunStartedHandler is told about every run that started, after the claim
// was committed, at least once (see RunEndedHandler).
type RunStartedHandler interface {
	HandleRunStarted(ctx context.Context, e RunStarted) error
}

// The webhook event types.
const (
	EventRunStarted  = "run.started"
	EventRunFinished = "run.finished"
)

// WebhookEvent is one event for the configured webhooks: ID is the same
// for every delivery of it (receivers de-duplicate by it), Payload the
// JSON body that is signed and sent.
type WebhookEvent struct {
	ID      string
	Type    string
	RunID   int64
	Payload []byte
}

// WebhookDelivery is one attempt to deliver an event to a hook.
type WebhookDelivery struct {
	HookID    string
	EventID   string
	EventType string
	RunID     int64
	// Attempt counts from 1 for each event and hook.
	Attempt int
	// StatusCode is the receiver's HTTP status; 0 when it gave none.
	StatusCode int
	// Error says why the attempt failed; "" for a delivered event.
	Error    string
	Duration time.Duration
	At       time.Time
}

// Delivered reports whether the receiver accepted the event.
func (d WebhookDelivery) Delivered() bool { return d.Error == "" }

// WebhookStore keeps the recent deliveries of every hook.
type WebhookStore interface {
	// RecordWebhookDelivery stores d, keeping the latest deliveries per hook.
	RecordWebhookDelivery(ctx context.Context, d WebhookDelivery) error
	// LastWebhookDeliveries returns a hook's latest deliveries, newest first.
	LastWebhookDeliveries(ctx context.Context, hookID string, limit int) ([]WebhookDelivery, error)
}

// WebhookEnqueuer schedules the delivery of an event to one hook; a
// delivery already scheduled for that event and hook is not scheduled again.
type WebhookEnqueuer interface {
	EnqueueWebhook(ctx context.Context, hookURL string, e WebhookEvent) error
}

// WebhookSender makes one delivery attempt; an error makes it be retried.
type WebhookSender interface {
	SendWebhook(ctx context.Context, hookURL string, e WebhookEvent, attempt int) error
}

// Webhook is a configured hook as the API shows it.
type Webhook struct {
	ID string
	// URL is the hook's address, any password in it hidden.
	URL            string
	Events         []string
	LastDeliveries []WebhookDelivery
}

// WebhookService lists the configured hooks with their latest deliveries.
type WebhookService interface {
	Webhooks(ctx context.Context) ([]Webhook, error)
}
