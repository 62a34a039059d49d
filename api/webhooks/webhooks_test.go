package webhooks_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/stretchr/testify/require"

	"github.com/baton-ci/baton/api/client"
	"github.com/baton-ci/baton/api/domain"
	"github.com/baton-ci/baton/api/webhooks"
)

type captured struct {
	urls   []string
	events []domain.WebhookEvent
}

func (c *captured) EnqueueWebhook(_ context.Context, url string, e domain.WebhookEvent) error {
	c.urls, c.events = append(c.urls, url), append(c.events, e)
	return nil
}

// TestEventsMatchTheContract: both events' bodies are WebhookEvents of
// openapi.yaml, scheduled once per hook, with ids that depend on the run
// alone (an end handled twice is one event).
func TestEventsMatchTheContract(t *testing.T) {
	doc, err := openapi3.NewLoader().LoadFromFile("../../openapi.yaml")
	require.NoError(t, err)
	schema := doc.Components.Schemas["WebhookEvent"].Value

	hooks, err := webhooks.ParseHooks([]string{"http://127.0.0.1:1/a", "https://user:pw@example.test/b?token=x"})
	require.NoError(t, err)
	enq := &captured{}
	svc := webhooks.New(webhooks.Config{Hooks: hooks, Secret: []byte("s"), BaseURL: "http://baton.test/"}, enq, nil)
	created := time.Date(2025, 5, 1, 9, 30, 0, 0, time.UTC)
	started := created.Add(time.Second)
	ctx := context.Background()
	require.NoError(t, svc.HandleRunStarted(ctx, domain.RunStarted{RunID: 7, EnvironmentID: 3, RequestedBy: "alice",
		TestFiles: []string{"a.py"}, CreatedAt: created, StartedAt: started}))
	exit := 1
	ended := domain.RunEnded{RunID: 7, EnvironmentID: 3, RequestedBy: "alice", TestFiles: []string{"a.py"},
		Status: domain.StatusFailed, Reason: domain.ReasonTestsFailed, ExitCode: &exit, CreatedAt: created,
		StartedAt: &started, FinishedAt: started.Add(2 * time.Second), Summary: &domain.TestSummary{Failed: 1, Total: 1}}
	require.NoError(t, svc.HandleRunEnded(ctx, ended))
	require.NoError(t, svc.HandleRunEnded(ctx, ended))
	require.Len(t, enq.events, 6)
	require.Equal(t, []string{hooks[0].URL, hooks[1].URL, hooks[0].URL, hooks[1].URL, hooks[0].URL, hooks[1].URL}, enq.urls)
	require.Equal(t, enq.events[2], enq.events[4], "the same end is the same event")
	require.NotEqual(t, enq.events[0].ID, enq.events[2].ID)
	for _, e := range enq.events {
		var v any
		require.NoError(t, json.Unmarshal(e.Payload, &v))
		require.NoError(t, schema.VisitJSON(v), "%s", e.Payload)
	}
	var body struct {
		Type string `json:"type"`
		Run  struct {
			Status     string `json:"status"`
			DurationMS int64  `json:"duration_ms"`
		} `json:"run"`
		Links struct {
			JUnit string `json:"junit"`
		} `json:"links"`
	}
	require.NoError(t, json.Unmarshal(enq.events[2].Payload, &body))
	require.Equal(t, domain.EventRunFinished, body.Type)
	require.Equal(t, "failed", body.Run.Status)
	require.Equal(t, int64(2000), body.Run.DurationMS)
	require.Equal(t, "http://baton.test/api/runs/7/junit.xml", body.Links.JUnit)
}

func TestSignature(t *testing.T) {
	body := []byte(`{"id":"x"}`)
	sig := webhooks.Sign([]byte("k"), body)
	// As computed by: printf '{"id":"x"}' | openssl dgst -sha256 -hmac k
	require.Equal(t, "sha256=696b5110678d1f332918da752fc2089d305cf4caf658eb24939d7e1f0b0a7934", sig)
	require.True(t, webhooks.Verify([]byte("k"), body, sig))
	require.False(t, webhooks.Verify([]byte("other"), body, sig))
	require.False(t, webhooks.Verify([]byte("k"), []byte(`{"id":"y"}`), sig))
}

// TestEventsDescribeTheRun: where the run ran or waited (a pooled run
// cancelled while queued has no environment: null, with its pool), its
// fence from run.started on, what it reruns, and who cancelled it, each
// valid against the contract.
func TestEventsDescribeTheRun(t *testing.T) {
	doc, err := openapi3.NewLoader().LoadFromFile("../../openapi.yaml")
	require.NoError(t, err)
	schema := doc.Components.Schemas["WebhookEvent"].Value
	hooks, err := webhooks.ParseHooks([]string{"http://127.0.0.1:1/a"})
	require.NoError(t, err)
	created := time.Date(2025, 5, 1, 9, 30, 0, 0, time.UTC)
	started := created.Add(time.Second)
	ctx := context.Background()

	body := func(t *testing.T, send func(*webhooks.Service) error) (client.WebhookRun, map[string]any) {
		t.Helper()
		enq := &captured{}
		require.NoError(t, send(webhooks.New(webhooks.Config{Hooks: hooks, Secret: []byte("s")}, enq, nil)))
		require.Len(t, enq.events, 1)
		var v map[string]any
		require.NoError(t, json.Unmarshal(enq.events[0].Payload, &v))
		require.NoError(t, schema.VisitJSON(v), "%s", enq.events[0].Payload)
		var ev client.WebhookEvent
		require.NoError(t, json.Unmarshal(enq.events[0].Payload, &ev))
		return ev.Run, v["run"].(map[string]any)
	}
	present := func(t *testing.T, raw map[string]any, keys ...string) {
		t.Helper()
		for _, k := range keys {
			require.Contains(t, raw, k, "%s is always present (null when unset)", k)
		}
	}

	t.Run("pooled run cancelled while queued", func(t *testing.T) {
		got, raw := body(t, func(s *webhooks.Service) error {
			return s.HandleRunEnded(ctx, domain.RunEnded{RunID: 8, Pool: "linux", RequestedBy: "alice", TestFiles: []string{"a.py"},
				Status: domain.StatusCancelled, Reason: domain.ReasonCancelled, CreatedAt: created, FinishedAt: started})
		})
		present(t, raw, "environment_id", "pool", "fence", "rerun_of", "cancelled_by")
		require.Nil(t, got.EnvironmentId, "no environment: null, never 0")
		require.Equal(t, "linux", *got.Pool)
		require.Nil(t, got.Fence, "it never started")
		require.Nil(t, got.RerunOf)
		require.Nil(t, got.CancelledBy, "a queued cancel that named no one")
	})
	t.Run("rerun started in a pool", func(t *testing.T) {
		got, raw := body(t, func(s *webhooks.Service) error {
			return s.HandleRunStarted(ctx, domain.RunStarted{RunID: 9, EnvironmentID: 4, Pool: "linux", RequestedBy: "alice",
				TestFiles: []string{"a.py"}, CreatedAt: created, StartedAt: started, Fence: 12, RerunOf: 7})
		})
		present(t, raw, "environment_id", "pool", "fence", "rerun_of", "cancelled_by")
		require.Equal(t, 4, *got.EnvironmentId)
		require.Equal(t, "linux", *got.Pool)
		require.Equal(t, int64(12), *got.Fence)
		require.Equal(t, int64(7), *got.RerunOf)
		require.Nil(t, got.CancelledBy)
	})
	t.Run("direct run cancelled while running", func(t *testing.T) {
		got, _ := body(t, func(s *webhooks.Service) error {
			return s.HandleRunEnded(ctx, domain.RunEnded{RunID: 10, EnvironmentID: 3, RequestedBy: "alice", TestFiles: []string{"a.py"},
				Status: domain.StatusCancelled, Reason: domain.ReasonCancelled, CreatedAt: created, StartedAt: &started,
				FinishedAt: started.Add(time.Second), Fence: 5, RerunOf: 9, CancelledBy: "bob"})
		})
		require.Equal(t, 3, *got.EnvironmentId)
		require.Nil(t, got.Pool, "a direct run has no pool")
		require.Equal(t, int64(5), *got.Fence)
		require.Equal(t, int64(9), *got.RerunOf)
		require.Equal(t, "bob", *got.CancelledBy)
	})
}
