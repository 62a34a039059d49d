package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/baton-ci/baton/api/client"
	"github.com/baton-ci/baton/api/domain"
)

func (h *harness) patchEnv(t *testing.T, id int, body any, spec specCheck) *response {
	t.Helper()
	var b []byte
	switch v := body.(type) {
	case string:
		b = []byte(v)
	default:
		var err error
		b, err = json.Marshal(v)
		require.NoError(t, err)
	}
	return h.do(t, request{Method: http.MethodPatch, Path: fmt.Sprintf("/api/environments/%d", id), Body: b,
		ContentType: "application/json", Spec: spec})
}

// TestEnvironmentMetadata: PATCH sets description, labels, URL and
// variables; a secret's value is never shown again, anywhere.
func TestEnvironmentMetadata(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{})
	var e Environment
	h.patchEnv(t, 3, map[string]any{
		"description": "Staging in eu-west",
		"labels":      []string{"staging", "eu"},
		"url":         "https://staging-3.example.com",
		"variables": map[string]any{
			"REGION":  map[string]any{"value": "eu-west-1"},
			"API_KEY": map[string]any{"value": "s3cr3t-v4lue", "secret": true},
		},
	}, specValid).decode(t, http.StatusOK, &e)
	require.Equal(t, "Staging in eu-west", e.Description)
	require.Equal(t, []string{"eu", "staging"}, e.Labels, "sorted")
	require.Equal(t, "https://staging-3.example.com", e.Url)
	require.Equal(t, "eu-west-1", *e.Variables["REGION"].Value)
	require.True(t, e.Variables["API_KEY"].Secret)
	require.Nil(t, e.Variables["API_KEY"].Value, "a secret's value is never returned")

	for _, path := range []string{"/api/environments", "/api/environments/3"} {
		body := h.get(t, path, specValid).Body
		require.NotContains(t, string(body), "s3cr3t-v4lue", path)
	}

	// Only what is given changes; null removes a variable; a secret kept
	// without its value keeps its value.
	e = Environment{}
	h.patchEnv(t, 3, map[string]any{"variables": map[string]any{"REGION": nil, "API_KEY": map[string]any{"secret": true}},
		"url": nil}, specValid).decode(t, http.StatusOK, &e)
	require.Equal(t, []string{"eu", "staging"}, e.Labels)
	require.Empty(t, e.Url)
	require.Len(t, e.Variables, 1)
	var stored string
	require.NoError(t, h.db.SQL.QueryRow(`SELECT variables->'API_KEY'->>'value' FROM environments WHERE id = 3`).Scan(&stored))
	require.Equal(t, "s3cr3t-v4lue", stored)

	var list client.EnvironmentList
	h.get(t, "/api/environments", specValid).decode(t, http.StatusOK, &list)
	require.Len(t, list.Pools, 2)
	require.Equal(t, "eu", list.Pools[0].Name)
	require.Equal(t, []int{3}, list.Pools[1].EnvironmentIds)
}

// TestEnvironmentHoldAPI: hold, a second holder's 409, release.
func TestEnvironmentHoldAPI(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{})
	require.NoError(t, h.store.WorkerAlive(context.Background(), "w1", 2))
	until := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	var e Environment
	h.postJSON(t, "/api/environments/5/hold", map[string]any{"held_by": "carol", "reason": "debugging", "until": until}, specValid).
		decode(t, http.StatusOK, &e)
	require.EqualValues(t, "held", e.State)
	require.Equal(t, "carol", e.Hold.HeldBy)
	require.Equal(t, "debugging", e.Hold.Reason)
	require.True(t, until.Equal(*e.Hold.Until))

	run := h.createRun(t, 5, "alice")
	five, carol := 5, "carol"
	require.Equal(t, &WaitingFor{Kind: client.WaitKindHold, EnvironmentId: &five, HeldBy: &carol, Until: e.Hold.Until}, run.WaitingFor)
	require.Equal(t, 1, *run.QueuePosition)
	require.NotNil(t, run.EtaSeconds)
	require.InDelta(t, time.Until(until).Seconds(), *run.EtaSeconds, 5)

	unchanged := h.unchanged(t)
	h.postJSON(t, "/api/environments/5/hold", map[string]any{"held_by": "dan", "reason": "mine now"}, specValid).
		requireError(t, http.StatusConflict, domain.ECONFLICT)
	unchanged()

	h.do(t, request{Method: http.MethodDelete, Path: "/api/environments/5/hold", Spec: specValid}).decode(t, http.StatusOK, &e)
	require.Nil(t, e.Hold)
	require.EqualValues(t, "waiting", e.State, "free again, and its run waits for a worker")
	require.EqualValues(t, "capacity", h.getRun(t, run.Id).WaitingFor.Kind)
}

// TestPooledRunAPI: POST /api/runs with a pool, the run before and after it
// gets an environment.
func TestPooledRunAPI(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{})
	h.patchEnv(t, 8, map[string]any{"labels": []string{"gpu"}}, specValid).decode(t, http.StatusOK, &Environment{})
	h.createRun(t, 8, "alice")
	first := h.claim(t, 8)

	var run Run
	h.postJSON(t, "/api/runs", map[string]any{"requested_by": "bob", "pool": "gpu", "test_files": []string{"sample-tests/test_success.py"}},
		specValid).decode(t, http.StatusCreated, &run)
	require.Nil(t, run.EnvironmentId)
	require.Equal(t, "gpu", *run.Pool)
	gpu := "gpu"
	require.Equal(t, &WaitingFor{Kind: client.WaitKindPool, Pool: &gpu}, run.WaitingFor)
	require.Equal(t, 1, *run.QueuePosition)
	raw := string(h.get(t, fmt.Sprintf("/api/runs/%d", run.Id), specValid).Body)
	require.Contains(t, raw, `"environment_id":null`)

	var list RunList
	h.get(t, "/api/runs?pool=gpu", specValid).decode(t, http.StatusOK, &list)
	require.Len(t, list.Items, 1)
	require.Equal(t, run.Id, list.Items[0].Id)

	h.finish(t, first, 0)
	got := h.claim(t, 8)
	require.Equal(t, run.Id, got.ID)
	started := h.getRun(t, run.Id)
	require.Equal(t, 8, *started.EnvironmentId, "the run records the environment it got")
	require.Equal(t, "gpu", *started.Pool)
	require.Nil(t, started.WaitingFor)
}

// TestPoolsAndEnvironmentsRejectBadInput is the bad-input corpus: each
// request is a 400 naming its field, and changes nothing.
func TestPoolsAndEnvironmentsRejectBadInput(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{})
	h.patchEnv(t, 2, map[string]any{"labels": []string{"staging"}}, specValid).decode(t, http.StatusOK, &Environment{})
	run := func(extra string) string {
		return `{"requested_by":"a","test_files":["sample-tests/test_success.py"]` + extra + `}`
	}
	future := func(d time.Duration) string { return time.Now().Add(d).UTC().Format(time.RFC3339) }
	type c struct {
		method, path, body string
		spec               specCheck
		field              string
	}
	cases := map[string]c{
		// POST /api/runs
		"unknown pool":         {"POST", "/api/runs", run(`,"pool":"nowhere"`), specSilent, "pool"},
		"pool and environment": {"POST", "/api/runs", run(`,"pool":"staging","environment_id":2`), specInvalid, "pool"},
		"neither":              {"POST", "/api/runs", run(``), specInvalid, "environment_id"},
		"pool not a label":     {"POST", "/api/runs", run(`,"pool":"Staging"`), specInvalid, "pool"},
		"pool empty":           {"POST", "/api/runs", run(`,"pool":""`), specInvalid, "pool"},
		"pool not a string":    {"POST", "/api/runs", run(`,"pool":["staging"]`), specInvalid, "pool"},
		"pool with NUL":        {"POST", "/api/runs", run(`,"pool":"stag\u0000ing"`), specSilent, "pool"},
		"pool, invalid UTF-8":  {"POST", "/api/runs", run(`,"pool":"stag` + "\xff" + `ing"`), specSilent, "pool"},
		"list by a bad pool":   {"GET", "/api/runs?pool=Staging", "", specInvalid, "pool"},
		// PATCH /api/environments/{id}
		"label syntax":          {"PATCH", "/api/environments/3", `{"labels":["eu west"]}`, specInvalid, "labels"},
		"label upper case":      {"PATCH", "/api/environments/3", `{"labels":["EU"]}`, specInvalid, "labels"},
		"label twice":           {"PATCH", "/api/environments/3", `{"labels":["eu","eu"]}`, specInvalid, "labels"},
		"labels not an array":   {"PATCH", "/api/environments/3", `{"labels":"eu"}`, specInvalid, "labels"},
		"label not a string":    {"PATCH", "/api/environments/3", `{"labels":[7]}`, specInvalid, "labels"},
		"too many labels":       {"PATCH", "/api/environments/3", `{"labels":[` + labels(21) + `]}`, specInvalid, "labels"},
		"description too long":  {"PATCH", "/api/environments/3", `{"description":"` + strings.Repeat("d", 501) + `"}`, specInvalid, "description"},
		"description NUL":       {"PATCH", "/api/environments/3", `{"description":"a\u0000b"}`, specSilent, "description"},
		"description bad UTF-8": {"PATCH", "/api/environments/3", "{\"description\":\"a\xc0\xafb\"}", specSilent, "description"},
		"url not http":          {"PATCH", "/api/environments/3", `{"url":"ftp://x.example/"}`, specSilent, "url"},
		"url relative":          {"PATCH", "/api/environments/3", `{"url":"staging.example"}`, specSilent, "url"},
		"reserved TEST_ENV_ID":  {"PATCH", "/api/environments/3", `{"variables":{"TEST_ENV_ID":{"value":"9"}}}`, specSilent, "variables.TEST_ENV_ID"},
		"reserved PATH":         {"PATCH", "/api/environments/3", `{"variables":{"PATH":{"value":"/tmp"}}}`, specSilent, "variables.PATH"},
		"reserved PYTHONPATH":   {"PATCH", "/api/environments/3", `{"variables":{"PYTHONPATH":{"value":"/tmp"}}}`, specSilent, "variables.PYTHONPATH"},
		"reserved BATON_*":      {"PATCH", "/api/environments/3", `{"variables":{"BATON_API_TOKEN":{"value":"x"}}}`, specSilent, "variables.BATON_API_TOKEN"},
		"variable name":         {"PATCH", "/api/environments/3", `{"variables":{"MY-VAR":{"value":"x"}}}`, specSilent, "variables"},
		"oversized value":       {"PATCH", "/api/environments/3", `{"variables":{"BIG":{"value":"` + strings.Repeat("v", 4097) + `"}}}`, specInvalid, "variables.BIG"},
		"value NUL":             {"PATCH", "/api/environments/3", `{"variables":{"V":{"value":"a\u0000"}}}`, specSilent, "variables"},
		"value bad UTF-8":       {"PATCH", "/api/environments/3", "{\"variables\":{\"V\":{\"value\":\"a\xffb\"}}}", specSilent, "variables"},
		"value not a string":    {"PATCH", "/api/environments/3", `{"variables":{"V":{"value":7}}}`, specInvalid, "variables.V"},
		"unknown variable key":  {"PATCH", "/api/environments/3", `{"variables":{"V":{"value":"x","scret":true}}}`, specInvalid, "variables.V"},
		"new without value":     {"PATCH", "/api/environments/3", `{"variables":{"V":{"secret":true}}}`, specSilent, "variables.V"},
		"variables not object":  {"PATCH", "/api/environments/3", `{"variables":["V"]}`, specInvalid, "variables"},
		"unknown field":         {"PATCH", "/api/environments/3", `{"lables":["eu"]}`, specInvalid, "lables"},
		"empty patch":           {"PATCH", "/api/environments/3", `{}`, specInvalid, ""},
		"environment 101":       {"PATCH", "/api/environments/101", `{"labels":["eu"]}`, specInvalid, "id"},
		// POST /api/environments/{id}/hold
		"until in the past":     {"POST", "/api/environments/3/hold", `{"held_by":"c","reason":"r","until":"2020-01-01T00:00:00Z"}`, specSilent, "until"},
		"until past 24 h":       {"POST", "/api/environments/3/hold", `{"held_by":"c","reason":"r","until":"` + future(25*time.Hour) + `"}`, specSilent, "until"},
		"until not a time":      {"POST", "/api/environments/3/hold", `{"held_by":"c","reason":"r","until":"tomorrow"}`, specInvalid, "until"},
		"no holder":             {"POST", "/api/environments/3/hold", `{"reason":"r"}`, specInvalid, "held_by"},
		"no reason":             {"POST", "/api/environments/3/hold", `{"held_by":"c"}`, specInvalid, "reason"},
		"holder NUL":            {"POST", "/api/environments/3/hold", `{"held_by":"c\u0000","reason":"r"}`, specSilent, "held_by"},
		"hold unknown field":    {"POST", "/api/environments/3/hold", `{"held_by":"c","reason":"r","for":"1h"}`, specInvalid, "for"},
		"hold environment 0":    {"POST", "/api/environments/0/hold", `{"held_by":"c","reason":"r"}`, specInvalid, "id"},
		"release environment x": {"DELETE", "/api/environments/x/hold", ``, specInvalid, "id"},
	}
	unchanged := h.unchanged(t)
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			r := request{Method: c.method, Path: c.path, Body: []byte(c.body), Spec: c.spec}
			if c.body != "" {
				r.ContentType = "application/json"
			}
			res := h.do(t, r)
			if c.field == "" {
				res.requireError(t, http.StatusBadRequest, domain.EINVALID)
				return
			}
			e := res.requireError(t, http.StatusBadRequest, domain.EINVALID, c.field)
			require.Contains(t, e.Message, c.field)
		})
	}
	unchanged()
}

func labels(n int) string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf(`"l%d"`, i)
	}
	return strings.Join(out, ",")
}
