package webhooks_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/stretchr/testify/require"

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
