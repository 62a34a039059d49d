package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/baton-ci/baton/api/domain"
)

// TestDownloadJUnit: the report stored with an ended run is served as
// pytest wrote it, as a named XML file; other runs get a clear 404.
func TestDownloadJUnit(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{})
	ctx := context.Background()
	path := func(id int64) string { return fmt.Sprintf("/api/runs/%d/junit.xml", id) }

	run := h.createRun(t, 6, "alice")
	e := h.get(t, path(run.Id), specValid).requireError(t, http.StatusNotFound, domain.ENOTFOUND)
	require.Contains(t, e.Message, "yet")
	claimed := h.claim(t, 6)
	h.get(t, path(run.Id), specValid).requireError(t, http.StatusNotFound, domain.ENOTFOUND)

	report := []byte(`<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest" tests="1"><testcase classname="test_success" name="test_ok" time="0.001"/></testsuite></testsuites>`)
	o := domain.OutcomeForExit(0)
	o.Summary = &domain.TestSummary{Passed: 1, Total: 1}
	o.Tests = []domain.TestResult{{NodeID: "sample-tests/test_success.py::test_ok", Outcome: domain.TestPassed}}
	o.JUnitXML = report
	ok, err := h.runs.Finish(ctx, claimed, "w1", o)
	require.NoError(t, err)
	require.True(t, ok)
	res := h.get(t, path(run.Id), specValid)
	require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
	require.Equal(t, "application/xml", res.Header.Get("Content-Type"))
	require.Equal(t, fmt.Sprintf(`attachment; filename="baton-run-%d-junit.xml"`, run.Id), res.Header.Get("Content-Disposition"))
	require.Equal(t, report, res.Body)

	// An ended run without a report (here pytest exited 2), and no run.
	other := h.createRun(t, 6, "bob")
	h.finish(t, h.claim(t, 6), 2)
	e = h.get(t, path(other.Id), specValid).requireError(t, http.StatusNotFound, domain.ENOTFOUND)
	require.Contains(t, e.Message, "pytest wrote none")
	h.get(t, path(999999), specValid).requireError(t, http.StatusNotFound, domain.ENOTFOUND)
	h.get(t, "/api/runs/0/junit.xml", specInvalid).requireError(t, http.StatusBadRequest, domain.EINVALID, "id")
}

// TestDownloadLogText: log.txt is the whole log, across pages, as a named
// text file, while the run runs and after.
func TestDownloadLogText(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{})
	ctx := context.Background()
	run := h.createRun(t, 8, "alice")
	path := fmt.Sprintf("/api/runs/%d/log.txt", run.Id)

	res := h.get(t, path, specValid)
	require.Equal(t, http.StatusOK, res.Status)
	require.Empty(t, res.Body, "a queued run has no log yet")

	claimed := h.claim(t, 8)
	var want strings.Builder
	for i := range 6 {
		text := strings.Repeat(fmt.Sprintf("line %d ✓ \x1b[32mok\x1b[0m\n", i), (100<<10)/20)
		require.NoError(t, h.store.AppendLog(ctx, run.Id, int64(want.Len()), text))
		want.WriteString(text)
	}
	res = h.get(t, path, specValid)
	require.Equal(t, http.StatusOK, res.Status)
	require.Equal(t, want.String(), string(res.Body), "the log so far, beyond one page")
	h.finish(t, claimed, 0)

	res = h.get(t, path, specValid)
	require.Equal(t, http.StatusOK, res.Status)
	require.Equal(t, "text/plain; charset=utf-8", res.Header.Get("Content-Type"))
	require.Equal(t, fmt.Sprintf(`attachment; filename="baton-run-%d.log"`, run.Id), res.Header.Get("Content-Disposition"))
	require.Equal(t, want.String(), string(res.Body))

	h.get(t, "/api/runs/999999/log.txt", specValid).requireError(t, http.StatusNotFound, domain.ENOTFOUND)
}

// TestListWebhooksWithoutHooks: a server without BATON_WEBHOOK_URLS lists
// none (the deliveries themselves are tested in systemtest).
func TestListWebhooksWithoutHooks(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{})
	res := h.get(t, "/api/webhooks", specValid)
	require.Equal(t, http.StatusOK, res.Status)
	require.JSONEq(t, `{"items":[]}`, string(res.Body))
}
