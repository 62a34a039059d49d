package systemtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

// A run's own timeout kills its process group and says so.
func TestRunTimeout(t *testing.T) {
	systemTest(t)
	r := newRig(t, "")
	srv := r.serve("serve")
	created := srv.createRun(1, "sample-tests/test_sleep30.py", 2)
	// Not the pid the test records: on a loaded machine pytest may take
	// longer than the timeout to reach the test function.
	sup := waitRunSupervisor(t, srv.pid(), 30*time.Second)

	got := srv.waitFinal(created.Id, 30*time.Second)
	require.EqualValues(t, "error", got.Status, "%s", got)
	require.Equal(t, "timeout", got.ReasonText(), "%s", got)
	require.Contains(t, srv.log(created.Id), "=== timed out after 2s: process tree killed ===")
	waitGone(t, sup, 5*time.Second)
}

// A test printing 100 MB: the run ends normally, the stored log stops at
// the 10 MiB limit with a notice, and the server's memory stays bounded.
func TestHugeOutput(t *testing.T) {
	systemTest(t)
	r := newRig(t, "")
	srv := r.serve("serve")
	created := srv.createRun(1, "sample-tests/test_big_output.py", 0)

	got := srv.waitFinal(created.Id, 150*time.Second)
	require.EqualValues(t, "success", got.Status, "%s", got)

	const limit = 10 << 20
	var stored int64
	var last string
	dbQuery(t, r.dbURL, `SELECT coalesce(sum(octet_length(data)), 0) FROM run_log_chunks WHERE run_id = $1`,
		[]any{created.Id}, &stored)
	dbQuery(t, r.dbURL, `SELECT data FROM run_log_chunks WHERE run_id = $1 ORDER BY byte_offset DESC LIMIT 1`,
		[]any{created.Id}, &last)
	t.Logf("stored %d bytes of log", stored)
	require.Greater(t, stored, int64(limit-(64<<10)), "the log should be filled up to its limit")
	require.LessOrEqual(t, stored, int64(limit+4096), "the log exceeds BATON_LOG_LIMIT_BYTES")
	require.True(t, strings.HasSuffix(last, "=== log truncated: output exceeded 10 MiB ===\n"),
		"the log should end with the truncation notice; it ends with %q", tail(last, 200))

	hwm := vmHWM(t, srv.pid())
	t.Logf("serve peak RSS (VmHWM): %d MiB", hwm>>20)
	require.Less(t, hwm, int64(300<<20), "serve's memory grew with the test's output")
}

// vmHWM returns a process's peak resident set size in bytes.
func vmHWM(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	require.NoError(t, err)
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			require.NoError(t, err, "VmHWM line %q", line)
			return kb << 10
		}
	}
	t.Fatalf("no VmHWM in /proc/%d/status", pid)
	return 0
}

// Bytes that are not UTF-8, and NUL, reach the log as U+FFFD, and the log
// endpoint still answers valid JSON.
func TestInvalidUTF8AndNUL(t *testing.T) {
	systemTest(t)
	r := newRig(t, "")
	srv := r.serve("serve")
	created := srv.createRun(1, "sample-tests/test_bad_bytes.py", 0)
	got := srv.waitFinal(created.Id, 60*time.Second)
	require.EqualValues(t, "success", got.Status, "%s", got)

	code, body := srv.do(http.MethodGet, fmt.Sprintf("/api/runs/%d/log?offset=0", created.Id), nil)
	require.Equal(t, http.StatusOK, code, "%s", body)
	require.True(t, json.Valid(body), "GET /log answered invalid JSON: %q", body)
	require.True(t, utf8.Valid(body), "GET /log answered invalid UTF-8: %q", body)
	var page struct {
		Text     string `json:"text"`
		Complete bool   `json:"complete"`
	}
	require.NoError(t, json.Unmarshal(body, &page))
	require.True(t, page.Complete)
	i := strings.Index(page.Text, "BEFORE-BAD ")
	require.GreaterOrEqual(t, i, 0, "the test's line is missing from the log:\n%s", page.Text)
	line, _, _ := strings.Cut(page.Text[i:], "\n")
	// \xff \xfe and the truncated \xc3 each become U+FFFD, as does NUL; the
	// valid é survives.
	require.Equal(t, "BEFORE-BAD \uFFFD\uFFFD\uFFFD NUL:\uFFFD:NUL café AFTER-BAD", line)
	require.NotContains(t, page.Text, "\x00")
}
