package systemtest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/stretchr/testify/require"

	apiclient "github.com/baton-ci/baton/api/client"
	"github.com/baton-ci/baton/internal/testkit"
)

const hookSecret = "systemtest-webhook-secret"

// delivery is one request a test receiver got.
type delivery struct {
	event, id, attempt, signature string
	body                          []byte
	at                            time.Time
}

// receiver is an HTTP server on 127.0.0.1 that records every delivery and
// answers with what answer returns.
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	got    []delivery
	answer func(d delivery, nth int) int
}

func newReceiver(t *testing.T, answer func(d delivery, nth int) int) *receiver {
	rc := &receiver{answer: answer}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		d := delivery{event: r.Header.Get("X-Baton-Event"), id: r.Header.Get("X-Baton-Event-Id"),
			attempt: r.Header.Get("X-Baton-Delivery-Attempt"), signature: r.Header.Get("X-Baton-Signature-256"), body: body, at: time.Now()}
		rc.mu.Lock()
		nth := 0
		for _, g := range rc.got {
			if g.id == d.id {
				nth++
			}
		}
		rc.got = append(rc.got, d)
		rc.mu.Unlock()
		w.WriteHeader(rc.answer(d, nth))
	}))
	require.True(t, strings.HasPrefix(rc.URL, "http://127.0.0.1:"))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) deliveries() []delivery {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]delivery(nil), rc.got...)
}

// of returns the deliveries of one event type.
func (rc *receiver) of(event string) []delivery {
	var out []delivery
	for _, d := range rc.deliveries() {
		if d.event == event {
			out = append(out, d)
		}
	}
	return out
}

// signed reports whether d carries the HMAC-SHA256 of its body, computed
// here as any receiver would.
func signed(d delivery) bool {
	mac := hmac.New(sha256.New, []byte(hookSecret))
	mac.Write(d.body)
	return hmac.Equal([]byte("sha256="+hex.EncodeToString(mac.Sum(nil))), []byte(d.signature))
}

// TestWebhooks: a run's start and end reach the receiver as signed JSON; a
// delivery answered 500 is retried with the same event id and body, and
// the API shows both attempts.
func TestWebhooks(t *testing.T) {
	systemTest(t)
	rc := newReceiver(t, func(d delivery, nth int) int {
		if d.event == "run.finished" && nth == 0 {
			return http.StatusInternalServerError
		}
		return http.StatusNoContent
	})
	r := newRig(t, "")
	srv := r.serve("serve", "BATON_WEBHOOK_URLS="+rc.URL+"/hook", "BATON_WEBHOOK_SECRET="+hookSecret)
	started := srv.createRun(51, "sample-tests/test_quick.py", 0)
	final := srv.waitFinal(started.Id, 60*time.Second)
	require.EqualValues(t, "success", final.Status, "%s", final)

	testkit.Eventually(t, 60*time.Second, "run.finished to be delivered again after the 500", func() bool {
		return len(rc.of("run.finished")) >= 2
	})
	for _, d := range rc.deliveries() {
		require.True(t, signed(d), "delivery %s attempt %s: signature %q does not verify", d.id, d.attempt, d.signature)
	}
	start := rc.of("run.started")
	require.Len(t, start, 1)
	var ev apiclient.WebhookEvent
	require.NoError(t, json.Unmarshal(start[0].body, &ev), "%s", start[0].body)
	require.EqualValues(t, "run.started", ev.Type)
	require.Equal(t, started.Id, ev.Run.Id)
	require.EqualValues(t, "running", ev.Run.Status)
	require.Equal(t, start[0].id, ev.Id)

	fin := rc.of("run.finished")
	require.Len(t, fin, 2, "one retry after the 500, then delivered: no more")
	require.Equal(t, fin[0].id, fin[1].id, "a retry is the same event")
	require.Equal(t, fin[0].body, fin[1].body)
	require.Equal(t, []string{"1", "2"}, []string{fin[0].attempt, fin[1].attempt})
	require.NoError(t, json.Unmarshal(fin[1].body, &ev))
	require.EqualValues(t, "success", ev.Run.Status)
	require.NotNil(t, ev.Run.Summary)
	require.Equal(t, 1, ev.Run.Summary.Passed)
	require.NotEqual(t, start[0].id, fin[0].id)

	var hooks struct {
		Items []struct {
			URL            string `json:"url"`
			LastDeliveries []struct {
				EventID    string `json:"event_id"`
				Attempt    int    `json:"attempt"`
				Delivered  bool   `json:"delivered"`
				StatusCode *int   `json:"status_code"`
			} `json:"last_deliveries"`
		} `json:"items"`
	}
	testkit.Eventually(t, 10*time.Second, "the API to show three deliveries", func() bool {
		srv.expect(http.StatusOK, http.MethodGet, "/api/webhooks", nil, &hooks)
		return len(hooks.Items) == 1 && len(hooks.Items[0].LastDeliveries) == 3
	})
	require.Equal(t, rc.URL+"/hook", hooks.Items[0].URL)
	newest := hooks.Items[0].LastDeliveries[0]
	require.Equal(t, fin[0].id, newest.EventID)
	require.True(t, newest.Delivered)
	require.Equal(t, 2, newest.Attempt)
	var failed int
	for _, d := range hooks.Items[0].LastDeliveries {
		if !d.Delivered {
			failed++
			require.Equal(t, 500, *d.StatusCode)
		}
	}
	require.Equal(t, 1, failed)
}

// TestWebhookReceiversNeverDelayRuns: with one receiver that holds every
// request for 30 seconds and one that is not there at all, three runs
// queued in one environment still run back to back, as fast as without.
func TestWebhookReceiversNeverDelayRuns(t *testing.T) {
	systemTest(t)
	release := make(chan struct{})
	slow := newReceiver(t, func(delivery, int) int {
		select {
		case <-release:
		case <-time.After(30 * time.Second):
		}
		return http.StatusOK
	})
	t.Cleanup(func() { close(release) })
	dead := fmt.Sprintf("http://127.0.0.1:%d/hook", testkit.FreePort(t))
	r := newRig(t, "")
	srv := r.serve("serve", "BATON_WEBHOOK_URLS="+slow.URL+"/slow,"+dead, "BATON_WEBHOOK_SECRET="+hookSecret,
		"BATON_WEBHOOK_TIMEOUT=60s", "BATON_MAX_RUNS=2") // few slots: a delivery in one would show

	begin := time.Now()
	ids := make([]int64, 3)
	for i := range ids {
		ids[i] = srv.createRun(52, "sample-tests/test_quick.py", 0).Id
	}
	for _, id := range ids {
		got := srv.waitFinal(id, 60*time.Second)
		require.EqualValues(t, "success", got.Status, "%s", got)
	}
	took := time.Since(begin)
	require.Less(t, took, 25*time.Second, "three quick runs took %s behind webhook receivers", took)
	// The slow receiver really was being called (and held) meanwhile.
	require.NotEmpty(t, slow.deliveries(), "no delivery reached the slow receiver")
}

// TestWebhookPayloadsDescribeTheRun: with real processes, every delivery is
// a WebhookEvent of openapi.yaml, and the events say where a run ran or
// waited (a pooled run cancelled while queued: environment_id null, its
// pool, who cancelled it), its fence from run.started on, and what a rerun
// reruns.
func TestWebhookPayloadsDescribeTheRun(t *testing.T) {
	systemTest(t)
	doc, err := openapi3.NewLoader().LoadFromFile("../../openapi.yaml")
	require.NoError(t, err)
	schema := doc.Components.Schemas["WebhookEvent"].Value
	rc := newReceiver(t, func(delivery, int) int { return http.StatusNoContent })
	r := newRig(t, "")
	srv := r.serve("serve", "BATON_WEBHOOK_URLS="+rc.URL+"/hook", "BATON_WEBHOOK_SECRET="+hookSecret)

	// A pooled run that waits behind a hold and is cancelled there.
	srv.label(54, "hooks")
	srv.expect(http.StatusOK, http.MethodPost, "/api/environments/54/hold", map[string]any{"held_by": "carol", "reason": "webhook test"}, nil)
	pooled := srv.createTarget(map[string]any{"pool": "hooks"}, "sample-tests/test_quick.py")
	srv.expect(http.StatusOK, http.MethodPost, fmt.Sprintf("/api/runs/%d/cancel", pooled.Id), map[string]any{"cancelled_by": "carol"}, nil)
	srv.expect(http.StatusOK, http.MethodDelete, "/api/environments/54/hold", nil, nil)
	// A direct run, then its rerun.
	first := srv.createRun(54, "sample-tests/test_quick.py", 0)
	require.EqualValues(t, "success", srv.waitFinal(first.Id, 60*time.Second).Status)
	var rerun run
	srv.expect(http.StatusCreated, http.MethodPost, fmt.Sprintf("/api/runs/%d/rerun", first.Id), map[string]any{}, &rerun)
	require.EqualValues(t, "success", srv.waitFinal(rerun.Id, 60*time.Second).Status)

	events := map[string]apiclient.WebhookEvent{} // by type and run
	testkit.Eventually(t, 30*time.Second, "five events to be delivered", func() bool { return len(rc.deliveries()) >= 5 })
	for _, d := range rc.deliveries() {
		var v any
		require.NoError(t, json.Unmarshal(d.body, &v))
		require.NoError(t, schema.VisitJSON(v), "%s", d.body)
		var p apiclient.WebhookEvent
		require.NoError(t, json.Unmarshal(d.body, &p))
		events[fmt.Sprintf("%s %d", d.event, p.Run.Id)] = p
	}
	require.Len(t, events, 5, "run.finished of the pooled run, run.started and run.finished of the others")

	cancelled := events[fmt.Sprintf("run.finished %d", pooled.Id)].Run
	require.Nil(t, cancelled.EnvironmentId, "a pooled run cancelled while queued had no environment")
	require.NotNil(t, cancelled.Pool)
	require.Equal(t, "hooks", *cancelled.Pool)
	require.NotNil(t, cancelled.CancelledBy)
	require.Equal(t, "carol", *cancelled.CancelledBy)
	require.Nil(t, cancelled.Fence, "it never started")

	start := events[fmt.Sprintf("run.started %d", first.Id)].Run
	require.Equal(t, 54, *start.EnvironmentId)
	require.Nil(t, start.Pool)
	require.NotNil(t, start.Fence, "run.started carries the fence")
	require.Nil(t, start.RerunOf)
	require.Equal(t, start.Fence, events[fmt.Sprintf("run.finished %d", first.Id)].Run.Fence)

	for _, typ := range []string{"run.started", "run.finished"} {
		again := events[fmt.Sprintf("%s %d", typ, rerun.Id)].Run
		require.NotNil(t, again.RerunOf, "%s of a rerun names its original", typ)
		require.Equal(t, first.Id, *again.RerunOf)
		require.NotNil(t, again.Fence)
		require.Greater(t, *again.Fence, *start.Fence)
		require.Nil(t, again.CancelledBy)
	}
}
