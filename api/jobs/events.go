package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/baton-ci/baton/api/domain"
)

// RunStartedArgs is the run_started job: one per claimed run, inserted in
// the claim's transaction, handed to every domain.RunStartedHandler in
// Config.OnRunStarted. Like RunEndedArgs it may gain fields, never change
// the meaning of one.
type RunStartedArgs struct {
	RunID          int64     `json:"run_id"`
	EnvironmentID  int       `json:"environment_id"`
	RequestedBy    string    `json:"requested_by"`
	TestFiles      []string  `json:"test_files"`
	WorkerID       string    `json:"worker_id"`
	CreatedAt      time.Time `json:"created_at"`
	StartedAt      time.Time `json:"started_at"`
	TimeoutSeconds int64     `json:"timeout_seconds"`
	// Pool, Fence and RerunOf came later: a job queued before them decodes
	// them as zero (a direct run, no fence, a new run).
	Pool    string `json:"pool,omitempty"`
	Fence   int64  `json:"fence,omitempty"`
	RerunOf int64  `json:"rerun_of,omitempty"`
}

// Kind implements river.JobArgs.
func (RunStartedArgs) Kind() string { return "baton_run_started" }

// InsertOpts puts run_started jobs on the events queue, as run_ended.
func (RunStartedArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueEvents, MaxAttempts: 25}
}

// RunStarted is the domain value the job carries.
func (a RunStartedArgs) RunStarted() domain.RunStarted {
	return domain.RunStarted{RunID: a.RunID, EnvironmentID: a.EnvironmentID, RequestedBy: a.RequestedBy,
		TestFiles: a.TestFiles, WorkerID: a.WorkerID, CreatedAt: a.CreatedAt, StartedAt: a.StartedAt,
		Timeout: time.Duration(a.TimeoutSeconds) * time.Second, Pool: a.Pool, Fence: a.Fence, RerunOf: a.RerunOf}
}

// EnqueueRunStartedTx inserts the run_started job of a claimed run in tx.
func (e *Enqueuer) EnqueueRunStartedTx(ctx context.Context, tx pgx.Tx, s domain.RunStarted) error {
	_, err := e.client.InsertTx(ctx, tx, runStartedArgs(s), nil)
	return err
}

func runStartedArgs(s domain.RunStarted) RunStartedArgs {
	return RunStartedArgs{
		RunID: s.RunID, EnvironmentID: s.EnvironmentID, RequestedBy: s.RequestedBy, TestFiles: s.TestFiles,
		WorkerID: s.WorkerID, CreatedAt: s.CreatedAt, StartedAt: s.StartedAt, TimeoutSeconds: int64(s.Timeout / time.Second),
		Pool: s.Pool, Fence: s.Fence, RerunOf: s.RerunOf,
	}
}

// runStartedWorker hands a start to every handler in turn; an error fails
// the job, which River retries.
type runStartedWorker struct {
	river.WorkerDefaults[RunStartedArgs]
	handlers []domain.RunStartedHandler
}

// Work calls the handlers.
func (r *runStartedWorker) Work(ctx context.Context, job *river.Job[RunStartedArgs]) error {
	e := job.Args.RunStarted()
	for _, h := range r.handlers {
		if err := h.HandleRunStarted(ctx, e); err != nil {
			return fmt.Errorf("run %d started: %w", e.RunID, err)
		}
	}
	return nil
}

// QueueWebhooks holds webhook deliveries: a slow or dead receiver occupies
// only its slots, never a run's or an event handler's.
const QueueWebhooks = "webhooks"

// WebhookArgs delivers one event to one hook. It is unique by hook and
// event id, so an event handled twice (run_ended is at least once) is still
// scheduled once per hook.
type WebhookArgs struct {
	URL       string          `json:"url" river:"unique"`
	EventID   string          `json:"event_id" river:"unique"`
	EventType string          `json:"event_type"`
	RunID     int64           `json:"run_id"`
	Payload   json.RawMessage `json:"payload"`
}

// Kind implements river.JobArgs.
func (WebhookArgs) Kind() string { return "baton_webhook" }

// InsertOpts puts deliveries on their own queue. River retries a failed one
// after about attempt⁴ seconds (1 s, 16 s, 81 s, ...): 12 attempts span
// about half a day.
func (WebhookArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueWebhooks, MaxAttempts: 12, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// EnqueueWebhook implements domain.WebhookEnqueuer.
func (e *Enqueuer) EnqueueWebhook(ctx context.Context, hookURL string, ev domain.WebhookEvent) error {
	_, err := e.client.Insert(ctx, WebhookArgs{URL: hookURL, EventID: ev.ID, EventType: ev.Type, RunID: ev.RunID,
		Payload: json.RawMessage(ev.Payload)}, nil)
	return err
}

// webhookWorker makes one delivery attempt per job attempt.
type webhookWorker struct {
	river.WorkerDefaults[WebhookArgs]
	sender  domain.WebhookSender
	timeout time.Duration
}

// Work sends the event.
func (w *webhookWorker) Work(ctx context.Context, job *river.Job[WebhookArgs]) error {
	if w.sender == nil {
		return river.JobCancel(errors.New("this worker has no webhooks configured (set BATON_WEBHOOK_URLS on every worker)"))
	}
	a := job.Args
	return w.sender.SendWebhook(ctx, a.URL, domain.WebhookEvent{ID: a.EventID, Type: a.EventType, RunID: a.RunID, Payload: a.Payload}, job.Attempt)
}

// Timeout bounds an attempt a little beyond the sender's own HTTP timeout.
func (w *webhookWorker) Timeout(*river.Job[WebhookArgs]) time.Duration {
	return w.timeout + 5*time.Second
}
