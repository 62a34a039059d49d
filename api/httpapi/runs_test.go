package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertest"
	"github.com/stretchr/testify/require"

	"github.com/baton-ci/baton/api/client"
	"github.com/baton-ci/baton/api/domain"
	"github.com/baton-ci/baton/api/jobs"
)

// TestCreateRun covers the happy path of POST /api/runs and its allowed
// boundaries. The subtests share one harness and run in order.
func TestCreateRun(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{})
	files := []string{"sample-tests/test_success.py", "sample-tests/api/users_test.py"}

	t.Run("queued with its start job", func(t *testing.T) {
		before := time.Now().Add(-time.Hour)
		var run Run
		h.postJSON(t, "/api/runs", map[string]any{
			"requested_by": "  alice ", "environment_id": 7, "test_files": files, "timeout_seconds": 60,
		}, specValid).decode(t, http.StatusCreated, &run)

		require.Positive(t, run.Id)
		require.Equal(t, "alice", run.RequestedBy, "the name is trimmed")
		require.Equal(t, 7, *run.EnvironmentId)
		require.Equal(t, files, run.TestFiles, "files keep their order")
		require.EqualValues(t, "queued", run.Status)
		require.NotNil(t, run.QueuePosition)
		require.Equal(t, 1, *run.QueuePosition)
		require.Nil(t, run.ExitCode)
		require.Nil(t, run.Reason)
		require.Nil(t, run.StartedAt)
		require.Nil(t, run.FinishedAt)
		require.Nil(t, run.DurationMs)
		require.True(t, run.CreatedAt.After(before) && run.CreatedAt.Before(time.Now().Add(time.Hour)), "created_at %v", run.CreatedAt)
		require.Equal(t, run, h.getRun(t, run.Id))

		require.Equal(t, 1, h.count(t, `SELECT count(*) FROM runs`))
		job := rivertest.RequireInserted(context.Background(), t, riverpgxv5.New(h.db.Pool), &jobs.StartArgs{},
			&rivertest.RequireInsertedOpts{Queue: jobs.QueueRuns})
		require.Equal(t, 7, job.Args.EnvironmentID)
		require.Equal(t, 1, h.count(t, `SELECT count(*) FROM runs r JOIN river_job j ON j.xmin::text = r.xmin::text
			WHERE r.id = $1 AND j.id = $2`, run.Id, job.ID), "the run and its job are written by one transaction")
		require.Equal(t, 60, h.count(t, `SELECT timeout_seconds FROM runs WHERE id = $1`, run.Id))
	})

	t.Run("default timeout and a 150-character name", func(t *testing.T) {
		// 300 bytes: the limit counts characters.
		long := strings.Repeat("é", 150)
		second := h.createRun(t, 7, long)
		require.Equal(t, long, second.RequestedBy)
		require.Equal(t, 2, *second.QueuePosition)
		require.Equal(t, 1800, h.count(t, `SELECT timeout_seconds FROM runs WHERE id = $1`, second.Id))
	})

	t.Run("a body of exactly 1 MiB", func(t *testing.T) {
		// Whitespace is valid JSON.
		var padded Run
		h.postJSON(t, "/api/runs", paddedJSON(t, 1<<20), specValid).decode(t, http.StatusCreated, &padded)
		require.Equal(t, "padded", padded.RequestedBy)
	})

	for name, body := range map[string]map[string]any{
		"environment 1, timeout 1 s":       {"requested_by": "a", "environment_id": 1, "test_files": []string{"sample-tests/test_success.py"}, "timeout_seconds": 1},
		"environment 100, timeout 86400 s": {"requested_by": "b", "environment_id": 100, "test_files": []string{"sample-tests/test_success.py"}, "timeout_seconds": 86400},
		"every file of the sample catalog": {"requested_by": "c", "environment_id": 3, "test_files": catalogPaths(t, h, 4)},
	} {
		t.Run(name, func(t *testing.T) {
			var run Run
			h.postJSON(t, "/api/runs", body, specValid).decode(t, http.StatusCreated, &run)
			require.Equal(t, body["requested_by"], run.RequestedBy)
		})
	}
}

// paddedJSON returns a valid run request of exactly size bytes.
func paddedJSON(t *testing.T, size int) []byte {
	t.Helper()
	head := `{"requested_by":"padded","environment_id":2,"test_files":["sample-tests/test_success.py"]`
	b := []byte(head + strings.Repeat(" ", size-len(head)-1) + "}")
	require.Len(t, b, size)
	return b
}

// catalogPaths returns the first n test files of the catalog.
func catalogPaths(t *testing.T, h *harness, n int) []string {
	t.Helper()
	p := paths(h.testFiles(t))
	require.GreaterOrEqual(t, len(p), n)
	return p[:n]
}

// TestCreateRunRejects checks that every bad POST /api/runs is refused
// with the right status, code and fields, and changes nothing.
func TestCreateRunRejects(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{})
	h.createRun(t, 1, "setup") // so "nothing changed" is checked against a non-empty database

	ok := "sample-tests/test_success.py"
	valid := func(edit func(m map[string]any)) map[string]any {
		m := map[string]any{"requested_by": "alice", "environment_id": 7, "test_files": []string{ok}}
		edit(m)
		return m
	}
	set := func(k string, v any) map[string]any { return valid(func(m map[string]any) { m[k] = v }) }
	del := func(k string) map[string]any { return valid(func(m map[string]any) { delete(m, k) }) }
	many := func(n int, f func(i int) any) []any {
		out := make([]any, n)
		for i := range out {
			out[i] = f(i)
		}
		return out
	}
	huge := `{"requested_by":"alice","environment_id":7,"test_files":["sample-tests/` + strings.Repeat("a", 1<<20) + `.py"]}`

	cases := []struct {
		name        string
		body        any // a map is encoded; a string is sent verbatim
		contentType string
		spec        specCheck
		status      int
		fields      []string
		message     string
	}{
		{name: "requested_by missing", body: del("requested_by"), spec: specInvalid, fields: []string{"requested_by"}},
		{name: "requested_by empty", body: set("requested_by", ""), spec: specInvalid, fields: []string{"requested_by"}},
		{name: "requested_by blank", body: set("requested_by", "   \t "), spec: specSilent, fields: []string{"requested_by"}},
		{name: "requested_by 151 chars", body: set("requested_by", strings.Repeat("é", 151)), spec: specInvalid, fields: []string{"requested_by"}},
		{name: "requested_by control char", body: set("requested_by", "al\u0007ice"), spec: specSilent, fields: []string{"requested_by"}},
		{name: "requested_by newline inside", body: set("requested_by", "al\nice"), spec: specSilent, fields: []string{"requested_by"}},
		{name: "requested_by NUL", body: set("requested_by", "al\x00ice"), spec: specSilent, fields: []string{"requested_by"}},
		{name: "requested_by number", body: set("requested_by", 42), spec: specInvalid, fields: []string{"requested_by"}},
		{name: "environment_id missing", body: del("environment_id"), spec: specInvalid, fields: []string{"environment_id"}},
		{name: "environment_id string", body: set("environment_id", "7"), spec: specInvalid, fields: []string{"environment_id"}},
		{name: "environment_id fraction", body: set("environment_id", 7.5), spec: specInvalid, fields: []string{"environment_id"}},
		{name: "environment_id exponent", body: `{"requested_by":"alice","environment_id":7e0,"test_files":["` + ok + `"]}`, spec: specSilent, fields: []string{"environment_id"}},
		{name: "environment_id zero", body: set("environment_id", 0), spec: specInvalid, fields: []string{"environment_id"}},
		{name: "environment_id 101", body: set("environment_id", 101), spec: specInvalid, fields: []string{"environment_id"}},
		{name: "environment_id negative", body: set("environment_id", -1), spec: specInvalid, fields: []string{"environment_id"}},
		{name: "environment_id overflow", body: `{"requested_by":"alice","environment_id":99999999999999999999999,"test_files":["` + ok + `"]}`, spec: specInvalid, fields: []string{"environment_id"}},
		{name: "environment_id null", body: set("environment_id", nil), spec: specInvalid, fields: []string{"environment_id"}},
		{name: "test_files missing", body: del("test_files"), spec: specInvalid, fields: []string{"test_files"}},
		{name: "test_files empty", body: set("test_files", []string{}), spec: specInvalid, fields: []string{"test_files"}},
		{name: "test_files 101 items", body: set("test_files", many(101, func(i int) any { return fmt.Sprintf("sample-tests/test_%d.py", i) })), spec: specInvalid, fields: []string{"test_files"}},
		{name: "test_files duplicate", body: set("test_files", []string{ok, "sample-tests/test_failure.py", ok}), spec: specInvalid, fields: []string{"test_files"}},
		{name: "test_files not in catalog", body: set("test_files", []string{ok, "sample-tests/test_missing.py"}), spec: specSilent, fields: []string{"test_files"}, message: "sample-tests/test_missing.py"},
		{name: "test_files not a test file", body: set("test_files", []string{"sample-tests/helpers.py"}), spec: specSilent, fields: []string{"test_files"}},
		{name: "test_files hidden", body: set("test_files", []string{"sample-tests/.hidden/test_hidden.py"}), spec: specSilent, fields: []string{"test_files"}},
		{name: "test_files traversal", body: set("test_files", []string{"sample-tests/../sample-tests/test_success.py"}), spec: specSilent, fields: []string{"test_files"}},
		{name: "test_files absolute", body: set("test_files", []string{"/etc/passwd"}), spec: specSilent, fields: []string{"test_files"}},
		{name: "test_files non-string items", body: set("test_files", []any{ok, 5}), spec: specInvalid, fields: []string{"test_files"}},
		{name: "test_files a string", body: set("test_files", ok), spec: specInvalid, fields: []string{"test_files"}},
		{name: "tests not a node id", body: set("tests", []string{"sample-tests/test_failure.py"}), spec: specSilent, fields: []string{"tests"}},
		{name: "tests file not in catalog", body: set("tests", []string{"sample-tests/test_missing.py::test_x"}), spec: specSilent, fields: []string{"tests"}, message: "sample-tests/test_missing.py"},
		{name: "tests file also whole", body: set("tests", []string{ok + "::test_ok"}), spec: specSilent, fields: []string{"tests"}},
		{name: "tests duplicate", body: set("tests", []string{"sample-tests/test_failure.py::a", "sample-tests/test_failure.py::a"}), spec: specInvalid, fields: []string{"tests"}},
		{name: "tests empty part", body: set("tests", []string{"sample-tests/test_failure.py::::a"}), spec: specSilent, fields: []string{"tests"}},
		{name: "tests not strings", body: set("tests", []any{1}), spec: specInvalid, fields: []string{"tests"}},
		{name: "tests only, not in catalog", body: valid(func(m map[string]any) { delete(m, "test_files"); m["tests"] = []string{"nope/test_x.py::t"} }), spec: specSilent, fields: []string{"tests"}},
		{name: "keyword bad syntax", body: set("keyword", "slow and"), spec: specSilent, fields: []string{"keyword"}, message: "expected not OR left parenthesis OR identifier; got end of input"},
		{name: "keyword bad character", body: set("keyword", "a == b"), spec: specSilent, fields: []string{"keyword"}, message: "unexpected character"},
		{name: "keyword not a string", body: set("keyword", 5), spec: specInvalid, fields: []string{"keyword"}},
		{name: "markers bad syntax", body: set("markers", "(smoke"), spec: specSilent, fields: []string{"markers"}},
		{name: "markers too long", body: set("markers", strings.Repeat("a", 1001)), spec: specInvalid, fields: []string{"markers"}},
		{name: "timeout_seconds zero", body: set("timeout_seconds", 0), spec: specInvalid, fields: []string{"timeout_seconds"}},
		{name: "timeout_seconds 86401", body: set("timeout_seconds", 86401), spec: specInvalid, fields: []string{"timeout_seconds"}},
		{name: "timeout_seconds string", body: set("timeout_seconds", "60"), spec: specInvalid, fields: []string{"timeout_seconds"}},
		{name: "every field wrong", body: map[string]any{"requested_by": "", "environment_id": 0, "test_files": []string{}, "timeout_seconds": 0},
			spec: specInvalid, fields: []string{"requested_by", "environment_id", "test_files", "timeout_seconds"}},
		{name: "unknown field", body: set("enviroment_id", 7), spec: specInvalid, fields: []string{"enviroment_id"}},
		{name: "wrong content type", body: `{"requested_by":"alice","environment_id":7,"test_files":["` + ok + `"]}`, contentType: "text/plain", spec: specInvalid},
		{name: "form body", body: "requested_by=alice&environment_id=7", contentType: "application/x-www-form-urlencoded", spec: specInvalid},
		{name: "no content type", body: `{"requested_by":"alice","environment_id":7,"test_files":["` + ok + `"]}`, contentType: "-", spec: specInvalid},
		{name: "not JSON", body: "hello", spec: specInvalid},
		{name: "malformed JSON", body: `{"requested_by":"alice",`, spec: specInvalid},
		{name: "trailing garbage", body: `{"requested_by":"alice","environment_id":7,"test_files":["` + ok + `"]}}`, spec: specSilent}, // kin-openapi's decoder ignores it
		{name: "two objects", body: `{"requested_by":"alice","environment_id":7,"test_files":["` + ok + `"]} {}`, spec: specSilent},
		{name: "array body", body: `[{"requested_by":"alice","environment_id":7,"test_files":["` + ok + `"]}]`, spec: specInvalid},
		{name: "null body", body: `null`, spec: specInvalid},
		{name: "empty body", body: ``, spec: specInvalid},
		{name: "body over 1 MiB", body: huge, spec: specSilent, status: http.StatusRequestEntityTooLarge},
		{name: "body 1 MiB and 1 byte", body: string(paddedJSON(t, 1<<20+1)), spec: specSilent, status: http.StatusRequestEntityTooLarge},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			unchanged := h.unchanged(t)
			var body []byte
			switch b := c.body.(type) {
			case string:
				body = []byte(b)
			default:
				body = mustJSON(t, b)
			}
			ct := c.contentType
			switch ct {
			case "":
				ct = "application/json"
			case "-":
				ct = ""
			}
			res := h.do(t, request{Method: http.MethodPost, Path: "/api/runs", Body: body, ContentType: ct, Spec: c.spec})
			status, code := http.StatusBadRequest, domain.EINVALID
			if c.status != 0 {
				status, code = c.status, domain.ErrorCode(map[int]string{413: "too_large"}[c.status])
			}
			e := res.requireError(t, status, code, c.fields...)
			for _, f := range c.fields {
				require.NotEmpty(t, e.Fields[f])
			}
			if c.message != "" {
				require.Contains(t, e.Message+" "+strings.Join(values(e.Fields), " "), c.message)
			}
			unchanged()
		})
	}
}

func values(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// TestListRuns covers order, filters and queue positions.
func TestListRuns(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{})
	r1 := h.createRun(t, 1, "alice")
	r2 := h.createRun(t, 2, "bob")
	r3 := h.createRun(t, 1, "bob")
	r4 := h.createRun(t, 3, "alice")
	r5 := h.createRun(t, 1, "alice")
	r6 := h.createRun(t, 2, "alice")
	require.Equal(t, []int{1, 1, 2, 1, 3, 2}, []int{*r1.QueuePosition, *r2.QueuePosition, *r3.QueuePosition,
		*r4.QueuePosition, *r5.QueuePosition, *r6.QueuePosition}, "each environment counts its own queue")
	require.Equal(t, r2.Id, h.claim(t, 2).ID)
	h.finish(t, h.claim(t, 3), 0)

	list := func(query string) ([]int64, map[int64]Run) {
		t.Helper()
		var l RunList
		h.get(t, "/api/runs"+query, specValid).decode(t, http.StatusOK, &l)
		require.Nil(t, l.NextCursor, "one page is enough for %s", query)
		ids := []int64{}
		byID := map[int64]Run{}
		for _, r := range l.Items {
			ids = append(ids, r.Id)
			byID[r.Id] = r
		}
		return ids, byID
	}
	all, byID := list("")
	require.Equal(t, []int64{r6.Id, r5.Id, r4.Id, r3.Id, r2.Id, r1.Id}, all, "newest first")
	pos := func(id int64) any {
		if p := byID[id].QueuePosition; p != nil {
			return *p
		}
		return nil
	}
	// r2 started, so r6 is now first in environment 2; r4 finished.
	require.Equal(t, []any{1, nil, 2, nil, 3, 1}, []any{pos(r1.Id), pos(r2.Id), pos(r3.Id), pos(r4.Id), pos(r5.Id), pos(r6.Id)})
	require.EqualValues(t, "running", byID[r2.Id].Status)
	require.EqualValues(t, "success", byID[r4.Id].Status)
	require.Equal(t, 0, *byID[r4.Id].ExitCode)
	require.NotNil(t, byID[r4.Id].DurationMs)
	require.GreaterOrEqual(t, *byID[r4.Id].DurationMs, int64(0))

	for query, want := range map[string][]int64{
		"?status=queued":      {r6.Id, r5.Id, r3.Id, r1.Id},
		"?status=running":     {r2.Id},
		"?status=success":     {r4.Id},
		"?status=failed":      {},
		"?environment_id=1":   {r5.Id, r3.Id, r1.Id},
		"?environment_id=100": {},
		"?requested_by=alice": {r6.Id, r5.Id, r4.Id, r1.Id},
		"?requested_by=carol": {},
		// Names are stored trimmed, so the filter is trimmed the same way.
		"?requested_by=%20alice%20":                          {r6.Id, r5.Id, r4.Id, r1.Id},
		"?requested_by=%20%20":                               {r6.Id, r5.Id, r4.Id, r3.Id, r2.Id, r1.Id},
		"?status=queued&environment_id=1&requested_by=alice": {r5.Id, r1.Id},
		"?limit=200": {r6.Id, r5.Id, r4.Id, r3.Id, r2.Id, r1.Id},
		// Several statuses: any of them.
		"?status=queued&status=running":                  {r6.Id, r5.Id, r3.Id, r2.Id, r1.Id},
		"?status=success&status=failed&environment_id=3": {r4.Id},
		// A fragment of a test file's path, case-insensitive, matched literally.
		"?test_file=TEST_SUCCESS":  {r6.Id, r5.Id, r4.Id, r3.Id, r2.Id, r1.Id},
		"?test_file=sample-tests/": {r6.Id, r5.Id, r4.Id, r3.Id, r2.Id, r1.Id},
		"?test_file=%25":           {},
		"?test_file=test_failure":  {},
		// Created between two instants, inclusive.
		"?created_after=2000-01-01T00:00:00Z":                                      {r6.Id, r5.Id, r4.Id, r3.Id, r2.Id, r1.Id},
		"?created_after=2999-01-01T00:00:00Z":                                      {},
		"?created_before=2000-01-01T00:00:00Z":                                     {},
		"?created_after=" + url.QueryEscape(r3.CreatedAt.Format(time.RFC3339Nano)): {r6.Id, r5.Id, r4.Id, r3.Id},
		"?created_before=" + url.QueryEscape(r3.CreatedAt.Format(time.RFC3339Nano)) + "&created_after=2000-01-01T00:00:00%2B02:00": {r3.Id, r2.Id, r1.Id},
	} {
		got, _ := list(query)
		require.Equal(t, want, got, query)
	}

	// total counts the filter's runs on every page, not the page.
	var page RunList
	h.get(t, "/api/runs?limit=2", specValid).decode(t, http.StatusOK, &page)
	require.Len(t, page.Items, 2)
	require.NotNil(t, page.NextCursor)
	require.Equal(t, int64(6), page.Total)
	h.get(t, "/api/runs?limit=1&cursor="+*page.NextCursor+"&requested_by=alice", specValid).decode(t, http.StatusOK, &page)
	require.Equal(t, int64(4), page.Total, "the cursor does not change the total")
	h.get(t, "/api/runs?status=failed", specValid).decode(t, http.StatusOK, &page)
	require.Equal(t, int64(0), page.Total)
}

// TestListRunsPagination walks every page for several limits and checks
// that no run is repeated or skipped.
func TestListRunsPagination(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{})
	ctx := context.Background()
	var ids []int64 // newest first
	for i := range 55 {
		env := 1 + i%3
		r, err := h.runs.Create(ctx, domain.CreateRun{RequestedBy: fmt.Sprintf("user%d", i%2), EnvironmentID: &env,
			TestFiles: []string{"sample-tests/test_success.py"}})
		require.NoError(t, err)
		ids = append([]int64{r.ID}, ids...)
	}

	// walk follows next_cursor until it is null and returns every id seen.
	walk := func(query string, limit int) []int64 {
		t.Helper()
		var seen []int64
		cursor := ""
		for page := 0; ; page++ {
			require.Less(t, page, 100, "pagination does not end")
			q := url.Values{}
			for k, v := range mustParseQuery(t, query) {
				q[k] = v
			}
			if limit > 0 {
				q.Set("limit", fmt.Sprint(limit))
			}
			if cursor != "" {
				q.Set("cursor", cursor)
			}
			var l RunList
			h.get(t, "/api/runs?"+q.Encode(), specValid).decode(t, http.StatusOK, &l)
			want := limit
			if want == 0 {
				want = 50
			}
			require.LessOrEqual(t, len(l.Items), want)
			for _, r := range l.Items {
				seen = append(seen, r.Id)
			}
			if l.NextCursor == nil {
				return seen
			}
			require.Len(t, l.Items, want, "only the last page may be short")
			cursor = *l.NextCursor
		}
	}
	for _, limit := range []int{1, 7, 11, 54, 55, 56, 200} {
		require.Equal(t, ids, walk("", limit), "limit %d", limit)
	}
	// The default page is 50.
	var l RunList
	h.get(t, "/api/runs", specValid).decode(t, http.StatusOK, &l)
	require.Len(t, l.Items, 50)
	require.NotNil(t, l.NextCursor)
	require.Equal(t, ids, walk("", 0))

	// Filters apply on every page.
	var user1 []int64
	for _, id := range ids {
		if h.count(t, `SELECT count(*) FROM runs WHERE id = $1 AND requested_by = 'user1' AND environment_id = 2`, id) == 1 {
			user1 = append(user1, id)
		}
	}
	require.NotEmpty(t, user1)
	require.Equal(t, user1, walk("requested_by=user1&environment_id=2", 2))

	// A run created while a client pages does not shift later pages.
	var first RunList
	h.get(t, "/api/runs?limit=10", specValid).decode(t, http.StatusOK, &first)
	h.createRun(t, 4, "late")
	var rest []int64
	for _, r := range first.Items {
		rest = append(rest, r.Id)
	}
	cursor := *first.NextCursor
	for cursor != "" {
		var p RunList
		h.get(t, "/api/runs?limit=10&cursor="+url.QueryEscape(cursor), specValid).decode(t, http.StatusOK, &p)
		for _, r := range p.Items {
			rest = append(rest, r.Id)
		}
		cursor = ""
		if p.NextCursor != nil {
			cursor = *p.NextCursor
		}
	}
	require.Equal(t, ids, rest)
}

func mustParseQuery(t *testing.T, q string) url.Values {
	t.Helper()
	v, err := url.ParseQuery(q)
	require.NoError(t, err)
	return v
}

// TestListRunsRejects checks the 400s of GET /api/runs.
func TestListRunsRejects(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{})
	h.createRun(t, 1, "alice")
	unchanged := h.unchanged(t)
	for _, c := range []struct {
		query  string
		spec   specCheck
		fields []string
	}{
		{"status=paused", specInvalid, []string{"status"}},
		{"status=QUEUED", specInvalid, []string{"status"}},
		{"limit=0", specInvalid, []string{"limit"}},
		{"limit=201", specInvalid, []string{"limit"}},
		{"limit=-1", specInvalid, []string{"limit"}},
		{"limit=abc", specInvalid, []string{"limit"}},
		{"limit=1.5", specInvalid, []string{"limit"}},
		{"environment_id=0", specInvalid, []string{"environment_id"}},
		{"environment_id=101", specInvalid, []string{"environment_id"}},
		{"environment_id=abc", specInvalid, []string{"environment_id"}},
		{"requested_by=" + strings.Repeat("x", 151), specInvalid, []string{"requested_by"}},
		{"cursor=%21%21%21", specSilent, []string{"cursor"}},
		{"cursor=eDU", specSilent, []string{"cursor"}},  // base64 of "x5"
		{"cursor=cjA", specSilent, []string{"cursor"}},  // base64 of "r0"
		{"cursor=ci0x", specSilent, []string{"cursor"}}, // base64 of "r-1"
		{"status=paused&limit=0&environment_id=0", specInvalid, []string{"status", "limit", "environment_id"}},
		{"status=failed&status=paused", specInvalid, []string{"status"}},
		{"created_after=yesterday", specInvalid, []string{"created_after"}},
		{"created_before=2026-05-01", specInvalid, []string{"created_before"}},
		{"created_after=2026-05-02T00:00:00Z&created_before=2026-05-01T00:00:00Z", specSilent, []string{"created_after"}},
		{"test_file=" + strings.Repeat("x", 1025), specInvalid, []string{"test_file"}},
	} {
		t.Run(c.query, func(t *testing.T) {
			e := h.get(t, "/api/runs?"+c.query, c.spec).requireError(t, http.StatusBadRequest, domain.EINVALID, c.fields...)
			for _, f := range c.fields {
				require.NotEmpty(t, e.Fields[f])
			}
		})
	}
	unchanged()
}

// TestGetRun covers GET /api/runs/{id} through a run's life, and its errors.
func TestGetRun(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{})
	run := h.createRun(t, 5, "alice")
	require.Equal(t, run, h.getRun(t, run.Id))
	require.Nil(t, run.Fence, "a queued run has no fencing token")

	claimed := h.claim(t, 5)
	got := h.getRun(t, run.Id)
	require.EqualValues(t, "running", got.Status)
	require.Nil(t, got.QueuePosition)
	require.NotNil(t, got.StartedAt)
	require.Nil(t, got.FinishedAt)
	require.Nil(t, got.DurationMs)
	require.Equal(t, &claimed.Fence, got.Fence, "the fencing token its tests get")
	require.Equal(t, int64(1), claimed.Fence, "environment 5's first run")

	h.finish(t, claimed, 1)
	got = h.getRun(t, run.Id)
	require.EqualValues(t, "failed", got.Status)
	require.Equal(t, 1, *got.ExitCode)
	require.EqualValues(t, domain.ReasonTestsFailed, *got.Reason)
	require.NotNil(t, got.FinishedAt)
	require.NotNil(t, got.DurationMs)
	require.Equal(t, got.FinishedAt.Sub(*got.StartedAt).Milliseconds(), *got.DurationMs)

	unchanged := h.unchanged(t)
	e := h.get(t, fmt.Sprintf("/api/runs/%d", run.Id+1000), specValid).requireError(t, http.StatusNotFound, domain.ENOTFOUND)
	require.Contains(t, e.Message, fmt.Sprint(run.Id+1000))
	for _, id := range []string{"abc", "0", "-1", "1.5", "99999999999999999999"} {
		h.get(t, "/api/runs/"+id, specInvalid).requireError(t, http.StatusBadRequest, domain.EINVALID, "id")
	}
	unchanged()
}

// TestRunLog covers offsets, tailing, completeness and errors of
// GET /api/runs/{id}/log.
func TestRunLog(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{})
	ctx := context.Background()
	run := h.createRun(t, 8, "alice")
	logAt := func(offset int64, spec specCheck) LogPage {
		t.Helper()
		var p LogPage
		h.get(t, fmt.Sprintf("/api/runs/%d/log?offset=%d", run.Id, offset), spec).decode(t, http.StatusOK, &p)
		require.Equal(t, offset, p.Offset)
		return p
	}

	// Queued: nothing yet, and not complete.
	var p LogPage
	h.get(t, fmt.Sprintf("/api/runs/%d/log", run.Id), specValid).decode(t, http.StatusOK, &p)
	require.Equal(t, LogPage{Offset: 0, NextOffset: 0, Text: "", Complete: false}, p)

	claimed := h.claim(t, 8)
	first, second := "hello\n", "wörld ✓ 日本\n"
	require.NoError(t, h.store.AppendLog(ctx, run.Id, 0, first))
	p = logAt(0, specValid)
	require.Equal(t, LogPage{Offset: 0, NextOffset: int64(len(first)), Text: first}, p)

	// Tailing: the next call from next_offset returns only new text.
	p = logAt(p.NextOffset, specValid)
	require.Empty(t, p.Text)
	require.Equal(t, int64(len(first)), p.NextOffset)
	require.False(t, p.Complete)

	require.NoError(t, h.store.AppendLog(ctx, run.Id, int64(len(first)), second))
	total := int64(len(first) + len(second))
	p = logAt(int64(len(first)), specValid)
	require.Equal(t, LogPage{Offset: int64(len(first)), NextOffset: total, Text: second}, p)
	require.Equal(t, first+second, logAt(0, specValid).Text)
	require.Equal(t, "llo\n"+second, logAt(2, specValid).Text, "an offset inside a chunk")

	// An offset inside "ö" (bytes 7 and 8) yields valid UTF-8 with a replacement.
	p = logAt(8, specValid)
	require.Equal(t, "\uFFFDrld ✓ 日本\n", p.Text)
	require.Equal(t, total, p.NextOffset)

	// Beyond the end: nothing, and next_offset never moves backwards.
	p = logAt(total+100, specValid)
	require.Equal(t, LogPage{Offset: total + 100, NextOffset: total + 100}, p)

	h.finish(t, claimed, 0)
	p = logAt(total, specValid)
	require.Equal(t, LogPage{Offset: total, NextOffset: total, Complete: true}, p, "complete once finished and all read")
	p = logAt(0, specValid)
	require.Equal(t, LogPage{Offset: 0, NextOffset: total, Text: first + second, Complete: true}, p)
	p = logAt(total+100, specValid)
	require.True(t, p.Complete)
	require.Empty(t, p.Text)

	unchanged := h.unchanged(t)
	for _, q := range []string{"-1", "abc", "1.5", "99999999999999999999"} {
		h.get(t, fmt.Sprintf("/api/runs/%d/log?offset=%s", run.Id, q), specInvalid).
			requireError(t, http.StatusBadRequest, domain.EINVALID, "offset")
	}
	h.get(t, fmt.Sprintf("/api/runs/%d/log", run.Id+1000), specValid).requireError(t, http.StatusNotFound, domain.ENOTFOUND)
	h.get(t, "/api/runs/abc/log", specInvalid).requireError(t, http.StatusBadRequest, domain.EINVALID, "id")
	h.get(t, "/api/runs/0/log?offset=0", specInvalid).requireError(t, http.StatusBadRequest, domain.EINVALID, "id")
	unchanged()
}

// TestRunLogPages checks that a large log comes in bounded pages and that
// complete is set on the last page only.
func TestRunLogPages(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{})
	ctx := context.Background()

	// read follows next_offset until complete (or, for a running run, until
	// no new text comes) and returns the text and the page sizes.
	read := func(id int64, wantComplete bool) (string, []int) {
		t.Helper()
		var b strings.Builder
		var sizes []int
		offset := int64(0)
		for i := 0; ; i++ {
			require.Less(t, i, 1000)
			var p LogPage
			h.get(t, fmt.Sprintf("/api/runs/%d/log?offset=%d", id, offset), specValid).decode(t, http.StatusOK, &p)
			require.Equal(t, offset, p.Offset)
			require.Equal(t, int64(len(p.Text)), p.NextOffset-p.Offset, "pages of valid UTF-8 are exact")
			b.WriteString(p.Text)
			offset = p.NextOffset
			if p.Complete {
				require.True(t, wantComplete, "a running run's log is never complete")
				sizes = append(sizes, len(p.Text))
				return b.String(), sizes
			}
			if p.Text == "" {
				require.False(t, wantComplete, "an ended run's log must become complete")
				return b.String(), sizes
			}
			sizes = append(sizes, len(p.Text))
		}
	}

	// Big chunks, as the runner writes them: pages are bounded near MaxLogPage.
	big := h.createRun(t, 9, "alice")
	claimed := h.claim(t, 9)
	const chunk = 100 << 10
	var want strings.Builder
	for i := range 8 {
		// Multi-byte characters, whole in every chunk as the runner keeps them.
		text := strings.Repeat(fmt.Sprintf("line %d ✓\n", i), chunk/12)
		require.NoError(t, h.store.AppendLog(ctx, big.Id, int64(want.Len()), text))
		want.WriteString(text)
	}
	got, sizes := read(big.Id, false)
	require.Equal(t, want.String(), got)
	require.Greater(t, len(sizes), 1, "a large log is returned in pages")
	for _, s := range sizes {
		require.LessOrEqual(t, s, 256<<10+chunk, "a page is at most MaxLogPage plus one chunk")
	}
	h.finish(t, claimed, 0)
	got, sizes = read(big.Id, true)
	require.Equal(t, want.String(), got)
	require.Greater(t, len(sizes), 2)

	// Many tiny chunks: a page holds a bounded number of them.
	small := h.createRun(t, 10, "bob")
	claimed = h.claim(t, 10)
	want.Reset()
	for i := range 200 {
		text := fmt.Sprintf("%03d ä\n", i)
		require.NoError(t, h.store.AppendLog(ctx, small.Id, int64(want.Len()), text))
		want.WriteString(text)
	}
	h.finish(t, claimed, 1)
	got, sizes = read(small.Id, true)
	require.Equal(t, want.String(), got)
	require.Greater(t, len(sizes), 1)
}

// TestCancelRun covers cancelling queued, running and ended runs.
func TestCancelRun(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{})
	a := h.createRun(t, 5, "alice")
	b := h.createRun(t, 5, "bob")
	c := h.createRun(t, 5, "carol")
	require.Equal(t, 3, *c.QueuePosition)
	cancel := func(t *testing.T, id int64) *response {
		t.Helper()
		return h.do(t, request{Method: http.MethodPost, Path: fmt.Sprintf("/api/runs/%d/cancel", id), Spec: specValid})
	}
	cancelBy := func(t *testing.T, id int64, body any, spec specCheck) *response {
		t.Helper()
		return h.postJSON(t, fmt.Sprintf("/api/runs/%d/cancel", id), body, spec)
	}

	var got Run
	t.Run("bad bodies are refused and cancel nothing", func(t *testing.T) {
		unchanged := h.unchanged(t)
		cancelBy(t, b.Id, map[string]any{"cancelled_by": 5}, specInvalid).requireError(t, http.StatusBadRequest, domain.EINVALID, "cancelled_by")
		cancelBy(t, b.Id, map[string]any{"cancelled_by": strings.Repeat("x", 151)}, specInvalid).
			requireError(t, http.StatusBadRequest, domain.EINVALID, "cancelled_by")
		cancelBy(t, b.Id, map[string]any{"cancelled_by": "a\x01b"}, specSilent).requireError(t, http.StatusBadRequest, domain.EINVALID, "cancelled_by")
		cancelBy(t, b.Id, map[string]any{"username": "bob"}, specInvalid).requireError(t, http.StatusBadRequest, domain.EINVALID, "username")
		cancelBy(t, b.Id, `{"cancelled_by":`, specInvalid).requireError(t, http.StatusBadRequest, domain.EINVALID)
		cancelBy(t, b.Id, `[]`, specInvalid).requireError(t, http.StatusBadRequest, domain.EINVALID)
		cancelBy(t, b.Id, `"bob"`, specInvalid).requireError(t, http.StatusBadRequest, domain.EINVALID)
		h.do(t, request{Method: http.MethodPost, Path: fmt.Sprintf("/api/runs/%d/cancel", b.Id), Body: []byte("cancelled_by=bob"),
			ContentType: "application/x-www-form-urlencoded", Spec: specInvalid}).requireError(t, http.StatusBadRequest, domain.EINVALID)
		unchanged()
	})

	t.Run("a queued run is cancelled at once and leaves its queue", func(t *testing.T) {
		cancelBy(t, b.Id, map[string]any{"cancelled_by": " bob "}, specValid).decode(t, http.StatusOK, &got)
		require.EqualValues(t, "cancelled", got.Status)
		require.Equal(t, "bob", *got.CancelledBy, "who cancelled it, trimmed")
		require.Nil(t, got.QueuePosition)
		require.EqualValues(t, domain.ReasonCancelled, *got.Reason)
		require.NotNil(t, got.FinishedAt)
		require.Nil(t, got.StartedAt)
		require.Nil(t, got.ExitCode)
		require.Nil(t, got.DurationMs)
		require.Equal(t, got, h.getRun(t, b.Id))
		require.Equal(t, 2, *h.getRun(t, c.Id).QueuePosition, "the runs behind move up")
		require.Equal(t, 1, *h.getRun(t, a.Id).QueuePosition)
		var env Environment
		h.get(t, "/api/environments/5", specValid).decode(t, http.StatusOK, &env)
		require.Equal(t, []int64{a.Id, c.Id}, env.QueuedRunIds)
		var log LogPage
		h.get(t, fmt.Sprintf("/api/runs/%d/log", b.Id), specValid).decode(t, http.StatusOK, &log)
		require.Contains(t, log.Text, "cancelled by bob")
		require.True(t, log.Complete)
	})

	var running *domain.Run
	t.Run("a running run is flagged; its worker kills it", func(t *testing.T) {
		running = h.claim(t, 5)
		require.Equal(t, a.Id, running.ID)
		require.Equal(t, 1, *h.getRun(t, c.Id).QueuePosition)
		cancel(t, a.Id).decode(t, http.StatusOK, &got) // an older client: no body, no name
		require.EqualValues(t, "running", got.Status)
		require.Nil(t, got.CancelledBy)
		require.Equal(t, 1, h.count(t, `SELECT count(*) FROM runs WHERE id = $1 AND cancel_requested`, a.Id))
		alive, err := h.runs.Heartbeat(context.Background(), "w1", map[int64]*domain.Progress{a.Id: nil})
		require.NoError(t, err)
		require.Equal(t, map[int64]bool{a.Id: true}, alive, "the worker learns of the cancel through its heartbeat")
		cancelBy(t, a.Id, map[string]any{"cancelled_by": "dave"}, specValid).decode(t, http.StatusOK, &got) // asking twice is fine
		require.EqualValues(t, "running", got.Status)
		require.Nil(t, got.CancelledBy, "a second request does not rename who cancelled")
	})

	t.Run("an ended run cannot be cancelled; nothing changes", func(t *testing.T) {
		h.finish(t, running, 0)
		unchanged := h.unchanged(t)
		for _, id := range []int64{a.Id, b.Id} {
			e := cancel(t, id).requireError(t, http.StatusConflict, domain.ECONFLICT)
			require.Contains(t, e.Message, fmt.Sprint(id))
		}
		cancel(t, c.Id+1000).requireError(t, http.StatusNotFound, domain.ENOTFOUND)
		for _, id := range []string{"abc", "0"} {
			h.do(t, request{Method: http.MethodPost, Path: "/api/runs/" + id + "/cancel", Spec: specInvalid}).
				requireError(t, http.StatusBadRequest, domain.EINVALID, "id")
		}
		unchanged()
		require.EqualValues(t, "queued", h.getRun(t, c.Id).Status)
	})

	t.Run("a running run records who asked while it stops", func(t *testing.T) {
		running := h.claim(t, 5)
		require.Equal(t, c.Id, running.ID)
		cancelBy(t, c.Id, map[string]any{"cancelled_by": "erin"}, specValid).decode(t, http.StatusOK, &got)
		require.EqualValues(t, "running", got.Status)
		require.Equal(t, "erin", *got.CancelledBy)
		h.finish(t, running, 0)
		final := h.getRun(t, c.Id)
		require.EqualValues(t, "cancelled", final.Status)
		require.Equal(t, "erin", *final.CancelledBy)
		var list RunList
		h.get(t, "/api/runs?status=cancelled", specValid).decode(t, http.StatusOK, &list)
		by := map[int64]string{}
		for _, r := range list.Items {
			if r.CancelledBy != nil {
				by[r.Id] = *r.CancelledBy
			}
		}
		require.Equal(t, map[int64]string{b.Id: "bob", c.Id: "erin"}, by, "the list says who too")
	})
}

// TestRerun covers POST /api/runs/{id}/rerun.
func TestRerun(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{})
	files := []string{"sample-tests/test_failure.py", "sample-tests/api/test_api.py"}
	var orig Run
	h.postJSON(t, "/api/runs", map[string]any{"requested_by": "alice", "environment_id": 9, "test_files": files},
		specValid).decode(t, http.StatusCreated, &orig)
	h.finish(t, h.claim(t, 9), 1)
	rerun := func(body any, spec specCheck) *response {
		t.Helper()
		path := fmt.Sprintf("/api/runs/%d/rerun", orig.Id)
		if body == nil {
			return h.do(t, request{Method: http.MethodPost, Path: path, Spec: spec})
		}
		return h.postJSON(t, path, body, spec)
	}

	// orig's start job; its end handed nothing on (nothing was queued).
	h.requireStartJobs(t, 1)
	var again Run
	rerun(nil, specValid).decode(t, http.StatusCreated, &again)
	require.NotEqual(t, orig.Id, again.Id)
	require.Equal(t, "alice", again.RequestedBy, "defaults to the original user")
	require.Equal(t, 9, *again.EnvironmentId)
	require.Equal(t, files, again.TestFiles)
	require.EqualValues(t, "queued", again.Status)
	require.Equal(t, 1, *again.QueuePosition)
	require.Nil(t, again.ExitCode)
	require.Nil(t, again.Reason)
	h.requireStartJobs(t, 2) // the rerun's
	require.Equal(t, again, h.getRun(t, again.Id))
	require.EqualValues(t, "failed", h.getRun(t, orig.Id).Status, "the original is untouched")
	require.Equal(t, orig.Id, *again.RerunOf, "a rerun says what it reruns")
	require.Nil(t, orig.RerunOf)

	rerun(map[string]any{"requested_by": "bob"}, specValid).decode(t, http.StatusCreated, &again)
	require.Equal(t, "bob", again.RequestedBy)
	require.Equal(t, 2, *again.QueuePosition)
	rerun(map[string]any{}, specValid).decode(t, http.StatusCreated, &again)
	require.Equal(t, "alice", again.RequestedBy)
	rerun(map[string]any{"requested_by": ""}, specValid).decode(t, http.StatusCreated, &again)
	require.Equal(t, "alice", again.RequestedBy)
	rerun(map[string]any{"requested_by": "   "}, specValid).decode(t, http.StatusCreated, &again)
	require.Equal(t, "alice", again.RequestedBy, "a blank name is no name")
	// A queued run can be rerun too.
	var third Run
	h.do(t, request{Method: http.MethodPost, Path: fmt.Sprintf("/api/runs/%d/rerun", again.Id), Spec: specValid}).
		decode(t, http.StatusCreated, &third)
	require.Equal(t, files, third.TestFiles)
	require.Equal(t, again.Id, *third.RerunOf)
	// The original lists its reruns, newest first.
	var reruns RunList
	h.get(t, fmt.Sprintf("/api/runs?rerun_of=%d", orig.Id), specValid).decode(t, http.StatusOK, &reruns)
	require.Equal(t, int64(5), reruns.Total)
	require.Equal(t, again.Id, reruns.Items[0].Id)
	for _, r := range reruns.Items {
		require.Equal(t, orig.Id, *r.RerunOf)
	}
	for _, bad := range []string{"0", "-1", "x", "1.5", "99999999999999999999"} {
		h.get(t, "/api/runs?rerun_of="+bad, specInvalid).requireError(t, http.StatusBadRequest, domain.EINVALID, "rerun_of")
	}

	unchanged := h.unchanged(t)
	h.do(t, request{Method: http.MethodPost, Path: fmt.Sprintf("/api/runs/%d/rerun", third.Id+1000), Spec: specValid}).
		requireError(t, http.StatusNotFound, domain.ENOTFOUND)
	h.do(t, request{Method: http.MethodPost, Path: "/api/runs/abc/rerun", Spec: specInvalid}).
		requireError(t, http.StatusBadRequest, domain.EINVALID, "id")
	rerun(map[string]any{"requested_by": 5}, specInvalid).requireError(t, http.StatusBadRequest, domain.EINVALID, "requested_by")
	rerun(map[string]any{"requested_by": strings.Repeat("x", 151)}, specInvalid).
		requireError(t, http.StatusBadRequest, domain.EINVALID, "requested_by")
	rerun(map[string]any{"requested_by": "a\x01b"}, specSilent).requireError(t, http.StatusBadRequest, domain.EINVALID, "requested_by")
	rerun(map[string]any{"environment_id": 3}, specInvalid).requireError(t, http.StatusBadRequest, domain.EINVALID, "environment_id")
	rerun(`{"requested_by":`, specInvalid).requireError(t, http.StatusBadRequest, domain.EINVALID)
	rerun(`[]`, specInvalid).requireError(t, http.StatusBadRequest, domain.EINVALID)
	h.do(t, request{Method: http.MethodPost, Path: fmt.Sprintf("/api/runs/%d/rerun", orig.Id), Body: []byte("requested_by=bob"),
		ContentType: "application/x-www-form-urlencoded", Spec: specInvalid}).requireError(t, http.StatusBadRequest, domain.EINVALID)
	unchanged()

	// A file that left the catalog cannot be run again.
	require.NoError(t, os.Remove(filepath.Join(h.base, "sample-tests", "api", "test_api.py")))
	require.NoError(t, h.syncer.Sync(context.Background()))
	unchanged = h.unchanged(t)
	e := rerun(nil, specValid).requireError(t, http.StatusBadRequest, domain.EINVALID, "test_files")
	require.Contains(t, e.Fields["test_files"], "sample-tests/api/test_api.py")
	unchanged()
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	if v == nil {
		return nil
	}
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}

// TestRunProgressAndTests covers what a worker reports while and after a
// run executes: live progress, the summary and the per-test results.
func TestRunProgressAndTests(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{})
	ctx := context.Background()
	run := h.createRun(t, 6, "alice", "sample-tests/test_success.py", "sample-tests/test_failure.py")
	tests := func(id int64) (out client.TestResultList) {
		t.Helper()
		h.get(t, fmt.Sprintf("/api/runs/%d/tests", id), specValid).decode(t, http.StatusOK, &out)
		return out
	}
	got := tests(run.Id)
	require.Empty(t, got.Items)
	require.NotNil(t, got.Items, "an empty list, not null")
	require.Nil(t, got.Summary)
	require.Nil(t, run.Progress)
	require.Nil(t, run.Summary)

	claimed := h.claim(t, 6)
	_, err := h.runs.Heartbeat(ctx, "w1", map[int64]*domain.Progress{run.Id: {Completed: 1, Total: 3}})
	require.NoError(t, err)
	require.Equal(t, &Progress{Completed: 1, Total: 3}, h.getRun(t, run.Id).Progress)

	o := domain.OutcomeForExit(1)
	o.Summary = &domain.TestSummary{Passed: 1, Failed: 1, Skipped: 1, Total: 3}
	o.Tests = []domain.TestResult{
		{NodeID: "sample-tests/test_success.py::test_ok", Outcome: "passed", DurationMS: 3},
		{NodeID: "sample-tests/test_failure.py::test_bad", Outcome: "failed", DurationMS: 5, Message: "assert 1 == 2"},
		{NodeID: "sample-tests/test_failure.py::test_skip", Outcome: "skipped", Message: "später ✓"},
	}
	ok, err := h.runs.Finish(ctx, claimed, "w1", o)
	require.NoError(t, err)
	require.True(t, ok)

	got = tests(run.Id)
	want := &Summary{Passed: 1, Failed: 1, Skipped: 1, Total: 3}
	require.Equal(t, want, got.Summary)
	require.Equal(t, []TestResult{
		{NodeId: "sample-tests/test_success.py::test_ok", Outcome: "passed", DurationMs: 3},
		{NodeId: "sample-tests/test_failure.py::test_bad", Outcome: "failed", DurationMs: 5, Message: "assert 1 == 2"},
		{NodeId: "sample-tests/test_failure.py::test_skip", Outcome: "skipped", Message: "später ✓"},
	}, got.Items, "in report order")
	finished := h.getRun(t, run.Id)
	require.Equal(t, want, finished.Summary)
	require.Equal(t, &Progress{Completed: 3, Total: 3}, finished.Progress)

	unchanged := h.unchanged(t)
	h.get(t, fmt.Sprintf("/api/runs/%d/tests", run.Id+1000), specValid).requireError(t, http.StatusNotFound, domain.ENOTFOUND)
	h.get(t, "/api/runs/abc/tests", specInvalid).requireError(t, http.StatusBadRequest, domain.EINVALID, "id")
	h.get(t, "/api/runs/0/tests", specInvalid).requireError(t, http.StatusBadRequest, domain.EINVALID, "id")
	unchanged()
}

// A run may name single tests and -k / -m expressions; they are stored and
// answered back, the tests' files counted among its files.
func TestCreateRunWithSelection(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{})
	var run Run
	h.postJSON(t, "/api/runs", map[string]any{"requested_by": "alice", "environment_id": 3,
		"test_files": []string{"sample-tests/test_success.py"},
		"tests":      []string{"sample-tests/test_failure.py::TestX::test_y[a::b]"},
		"keyword":    "not slow", "markers": "smoke or db"}, specValid).decode(t, http.StatusCreated, &run)
	got := h.getRun(t, run.Id)
	require.Equal(t, []string{"sample-tests/test_success.py", "sample-tests/test_failure.py"}, got.TestFiles)
	require.Equal(t, []string{"sample-tests/test_failure.py::TestX::test_y[a::b]"}, got.Tests)
	require.Equal(t, "not slow", *got.Keyword)
	require.Equal(t, "smoke or db", *got.Markers)

	// Only tests: fine. A rerun repeats the selection.
	h.postJSON(t, "/api/runs", map[string]any{"requested_by": "alice", "environment_id": 4,
		"tests": []string{"sample-tests/test_failure.py::test_fails"}}, specValid).decode(t, http.StatusCreated, &run)
	var again Run
	h.postJSON(t, fmt.Sprintf("/api/runs/%d/rerun", run.Id), nil, specValid).decode(t, http.StatusCreated, &again)
	require.Equal(t, []string{"sample-tests/test_failure.py::test_fails"}, again.Tests)
	require.Equal(t, []string{"sample-tests/test_failure.py"}, again.TestFiles)
	require.Nil(t, again.Keyword)
}

// Rerun failed: exactly the failed and errored tests of an ended run, by
// node id (a file that failed to collect whole); 409 before the end or
// when nothing failed, 404 for no run.
func TestRerunFailed(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{})
	run := h.createRun(t, 5, "alice", "sample-tests/test_success.py", "sample-tests/test_failure.py")
	h.postJSON(t, fmt.Sprintf("/api/runs/%d/rerun-failed", run.Id), nil, specValid).
		requireError(t, http.StatusConflict, domain.ECONFLICT)
	claimed := h.claim(t, 5)
	o := domain.OutcomeForExit(1)
	o.Tests = []domain.TestResult{
		{NodeID: "sample-tests/test_success.py::test_ok", Outcome: domain.TestPassed},
		{NodeID: "sample-tests/test_failure.py::test_fails", Outcome: domain.TestFailed, Message: "assert 1 == 2"},
		{NodeID: "sample-tests/test_failure.py::TestY::test_err[1]", Outcome: domain.TestError},
		{NodeID: "sample-tests/test_failure.py::test_skip", Outcome: domain.TestSkipped},
	}
	o.Summary = &domain.TestSummary{Passed: 1, Failed: 1, Errors: 1, Skipped: 1, Total: 4}
	ok, err := h.runs.Finish(context.Background(), claimed, "w1", o)
	require.NoError(t, err)
	require.True(t, ok)

	var again Run
	h.postJSON(t, fmt.Sprintf("/api/runs/%d/rerun-failed", run.Id), map[string]any{"requested_by": "bob"}, specValid).
		decode(t, http.StatusCreated, &again)
	require.Equal(t, []string{"sample-tests/test_failure.py::test_fails", "sample-tests/test_failure.py::TestY::test_err[1]"}, again.Tests)
	require.Equal(t, []string{"sample-tests/test_failure.py"}, again.TestFiles)
	require.Equal(t, "bob", again.RequestedBy, "filed under who asked, not the original's user")
	require.Equal(t, 5, *again.EnvironmentId)
	require.Equal(t, run.Id, *again.RerunOf)

	passing := h.createRun(t, 6, "alice")
	c2 := h.claim(t, 6)
	h.finish(t, c2, 0)
	h.postJSON(t, fmt.Sprintf("/api/runs/%d/rerun-failed", passing.Id), nil, specValid).
		requireError(t, http.StatusConflict, domain.ECONFLICT)
	h.postJSON(t, "/api/runs/999999/rerun-failed", nil, specValid).requireError(t, http.StatusNotFound, domain.ENOTFOUND)
}
