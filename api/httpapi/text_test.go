package httpapi_test

import (
	"bytes"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/baton-ci/baton/api/domain"
)

// badJSON is text that is not text, as it appears inside a JSON string
// literal: escapes that decode to non-text, and raw bytes that are not
// UTF-8 (encoding/json would turn those and lone surrogates into U+FFFD
// without a word).
var badJSON = map[string]string{
	"escaped NUL":          `a\u0000b`,
	"raw NUL":              "a\x00b",
	"escaped control":      `a\u0007b`,
	"escaped C1 control":   `a\u0085b`,
	"raw control":          "a\x1bb",
	"invalid UTF-8":        "a\xffb",
	"truncated UTF-8":      "a\xe2\x82",
	"overlong UTF-8":       "a\xc0\xafb",
	"UTF-8 surrogate":      "a\xed\xa0\x80b",
	"lone high surrogate":  `a\ud800b`,
	"lone low surrogate":   `a\udc00b`,
	"high then non-low":    `a\ud800\u0041b`,
	"high at the end":      `a\ud800`,
	"reversed surrogates":  `a\udc00\ud800b`,
	"escaped NUL in a key": `a\u0000`,
	"escaped backspace":    `a\bb`,
	"escaped form feed":    `a\fb`,
	"raw DEL":              "a\x7fb",
	"escaped DEL":          `a\u007fb`,
}

// badQuery is the same as URL query escapes.
var badQuery = map[string]string{
	"NUL":             "a%00b",
	"control":         "a%07b",
	"invalid UTF-8":   "a%FFb",
	"overlong UTF-8":  "a%C0%AFb",
	"UTF-8 surrogate": "a%ED%A0%80b",
	"C1 control":      "a%C2%85b",
	"DEL":             "a%7Fb",
	"bad escape":      "a%zzb",
	"cut escape":      "a%F",
}

// TestBadTextIsRefused sends every kind of non-text in every JSON field,
// query parameter and form field of the API and expects a 400 naming the
// field, never a 500, with nothing changed.
func TestBadTextIsRefused(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{})
	run := h.createRun(t, 4, "alice")
	unchanged := h.unchanged(t)

	type jsonCase struct{ method, path, template, field string }
	jsonCases := []jsonCase{
		{http.MethodPost, "/api/runs", `{"requested_by":"%s","environment_id":7,"test_files":["sample-tests/test_success.py"]}`, "requested_by"},
		{http.MethodPost, "/api/runs", `{"requested_by":"bob","environment_id":7,"test_files":["sample-tests/test_success.py","%s"]}`, "test_files"},
		{http.MethodPost, "/api/runs", `{"requested_by":"bob","environment_id":"%s","test_files":["sample-tests/test_success.py"]}`, "environment_id"},
		{http.MethodPost, "/api/runs", `{"requested_by":"bob","environment_id":7,"timeout_seconds":"%s","test_files":["x"]}`, "timeout_seconds"},
		{http.MethodPost, "/api/runs", `{"requested_by":"bob","environment_id":7,"tests":["sample-tests/test_success.py::test_ok%s"]}`, "tests"},
		{http.MethodPost, "/api/runs", `{"requested_by":"bob","environment_id":7,"test_files":["sample-tests/test_success.py"],"keyword":"ok%s"}`, "keyword"},
		{http.MethodPost, "/api/runs", `{"requested_by":"bob","environment_id":7,"test_files":["sample-tests/test_success.py"],"markers":"m%s"}`, "markers"},
		{http.MethodPost, fmt.Sprintf("/api/runs/%d/rerun", run.Id), `{"requested_by":"%s"}`, "requested_by"},
		{http.MethodPost, fmt.Sprintf("/api/runs/%d/rerun-failed", run.Id), `{"requested_by":"%s"}`, "requested_by"},
		{http.MethodPost, fmt.Sprintf("/api/runs/%d/cancel", run.Id), `{"cancelled_by":"%s"}`, "cancelled_by"},
		{http.MethodPost, "/api/runs", `{"requested_by":"bob","pool":"p%s","test_files":["sample-tests/test_success.py"]}`, "pool"},
		{http.MethodPatch, "/api/environments/3", `{"description":"d%s"}`, "description"},
		{http.MethodPatch, "/api/environments/3", `{"labels":["staging","l%s"]}`, "labels"},
		{http.MethodPatch, "/api/environments/3", `{"url":"https://x.example/%s"}`, "url"},
		{http.MethodPatch, "/api/environments/3", `{"variables":{"REGION":{"value":"v%s"}}}`, "variables"},
		{http.MethodPatch, "/api/environments/3", `{"variables":{"K%s":{"value":"v"}}}`, "variables"},
		{http.MethodPost, "/api/environments/3/hold", `{"held_by":"h%s"}`, "held_by"},
		{http.MethodPost, "/api/environments/3/hold", `{"held_by":"carol","reason":"r%s"}`, "reason"},
		{http.MethodPost, "/api/environments/3/hold", `{"held_by":"carol","until":"2030-01-01T00:00:00Z%s"}`, "until"},
	}
	for _, c := range jsonCases {
		for name, bad := range badJSON {
			t.Run(c.method+" "+c.path+" "+c.field+" "+name, func(t *testing.T) {
				body := fmt.Sprintf(c.template, bad)
				res := h.do(t, request{Method: c.method, Path: c.path, Body: []byte(body), ContentType: "application/json", Spec: specSilent})
				e := res.requireError(t, http.StatusBadRequest, domain.EINVALID, c.field)
				// The text check itself refused it, before any rule of the
				// field could pass or store it.
				require.Equal(t, domain.RuleText, e.Fields[c.field], "body: %s", res.Body)
			})
		}
	}
	// A bad member name is named too (as it can be shown).
	h.postJSON(t, "/api/runs", `{"requested_by":"bob","environment_id":7,"test_files":["x"],"extra\u0000":1}`, specSilent).
		requireError(t, http.StatusBadRequest, domain.EINVALID, `extra\x00`)

	queryCases := []struct{ path, param string }{
		{"/api/runs?%s=%s", "status"},
		{"/api/runs?%s=%s", "environment_id"},
		{"/api/runs?%s=%s", "requested_by"},
		{"/api/runs?%s=%s", "cursor"},
		{"/api/runs?%s=%s", "rerun_of"},
		{"/api/runs?%s=%s", "limit"},
		{"/api/runs?limit=5&%s=%s", "unknown"},
		{fmt.Sprintf("/api/runs/%d/log?%%s=%%s", run.Id), "offset"},
		{fmt.Sprintf("/api/runs/%d?%%s=%%s", run.Id), "any"},
		{"/api/health?%s=%s", "x"},
		{"/api/environments/3?%s=%s", "x"},
		{fmt.Sprintf("/api/runs/%d/log.txt?%%s=%%s", run.Id), "x"},
		{fmt.Sprintf("/api/runs/%d/junit.xml?%%s=%%s", run.Id), "x"},
		{"/api/webhooks?%s=%s", "x"},
		{"/api/tests/history?%s=%s", "node_id"},
		{"/api/tests/history?node_id=a&%s=%s", "cursor"},
		{"/api/tests/flaky?%s=%s", "window"},
		{"/api/tests/slowest?%s=%s", "limit"},
		{"/api/insights/environments?%s=%s", "tz"},
		{"/api/insights/environments?%s=%s", "end"},
	}
	for _, c := range queryCases {
		for name, bad := range badQuery {
			t.Run(c.path+" "+c.param+" "+name, func(t *testing.T) {
				for _, method := range []string{http.MethodGet, http.MethodHead} {
					res := h.do(t, request{Method: method, Path: fmt.Sprintf(c.path, c.param, bad), Spec: specSilent})
					if method == http.MethodHead {
						require.Equal(t, http.StatusBadRequest, res.Status)
						continue
					}
					res.requireError(t, http.StatusBadRequest, domain.EINVALID, c.param)
				}
			})
		}
	}
	// A query sent with a write is checked as well, and a bad name is named.
	h.do(t, request{Method: http.MethodPost, Path: fmt.Sprintf("/api/runs/%d/cancel?why=%%00", run.Id), Spec: specSilent}).
		requireError(t, http.StatusBadRequest, domain.EINVALID, "why")
	res := h.get(t, "/api/runs?a%00b=1", specSilent)
	res.requireError(t, http.StatusBadRequest, domain.EINVALID, `a\x00b`)

	for name, bad := range badQuery {
		raw := strings.NewReplacer("%zz", "%", "%F", "%").Replace(bad) // unescaped once more below
		value := []byte(unescapeOrRaw(raw))
		t.Run("form "+name, func(t *testing.T) {
			file := formPart{Name: "file", FileName: "test_new.py", Content: []byte("def test_x():\n    pass\n")}
			if !strings.Contains(bad, "%zz") && !strings.HasSuffix(bad, "%F") {
				h.upload(t, specSilent, file, formPart{Name: "directory", Content: value}).
					requireError(t, http.StatusBadRequest, domain.EINVALID, "directory")
				h.upload(t, specSilent, file, formPart{Name: "directory", Content: []byte("uploads/x")}, formPart{Name: "overwrite", Content: value}).
					requireError(t, http.StatusBadRequest, domain.EINVALID, "overwrite")
			}
			// The same fields of a whole-project upload.
			if !strings.Contains(bad, "%zz") && !strings.HasSuffix(bad, "%F") {
				body, ct := multipartBody(t, file, formPart{Name: "directory", Content: value})
				h.do(t, request{Method: http.MethodPost, Path: "/api/test-projects", Body: body, ContentType: ct, Spec: specSilent}).
					requireError(t, http.StatusBadRequest, domain.EINVALID, "directory")
				body, ct = multipartBody(t, file, formPart{Name: "directory", Content: []byte("uploads/p")}, formPart{Name: "overwrite", Content: value})
				h.do(t, request{Method: http.MethodPost, Path: "/api/test-projects", Body: body, ContentType: ct, Spec: specSilent}).
					requireError(t, http.StatusBadRequest, domain.EINVALID, "overwrite")
			}
			// The file name, raw and in RFC 2231's escaped form.
			for _, disposition := range []string{
				`form-data; name="file"; filename="test_` + string(value) + `.py"`,
				`form-data; name="file"; filename*=UTF-8''test_` + bad + `.py`,
			} {
				body, ct := rawFilePart(t, disposition)
				r := h.do(t, request{Method: http.MethodPost, Path: "/api/test-files", Body: body, ContentType: ct, Spec: specSilent})
				if strings.ContainsFunc(disposition, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
					// A control byte in a part's header breaks the multipart
					// syntax itself: no field can be named.
					r.requireError(t, http.StatusBadRequest, domain.EINVALID)
					continue
				}
				r.requireError(t, http.StatusBadRequest, domain.EINVALID, "file")
				if !strings.Contains(bad, "%zz") && !strings.HasSuffix(bad, "%F") { // else a plain, odd name
					r = h.do(t, request{Method: http.MethodPost, Path: "/api/test-projects", Body: body, ContentType: ct, Spec: specSilent})
					r.requireError(t, http.StatusBadRequest, domain.EINVALID, domain.FieldUploadFiles)
				}
			}
		})
	}
	require.NotContains(t, h.logs.String(), "SQLSTATE", "bad text reached PostgreSQL")
	unchanged()
}

// unescapeOrRaw decodes %XX escapes, leaving anything else as it is.
func unescapeOrRaw(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s)+0 && i+2 <= len(s)-1 {
			var v byte
			if _, err := fmt.Sscanf(s[i+1:i+3], "%02X", &v); err == nil {
				b.WriteByte(v)
				i += 2
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// rawFilePart is an upload whose file part has the given Content-Disposition
// byte for byte, and a valid directory.
func rawFilePart(t *testing.T, disposition string) ([]byte, string) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	pw, err := w.CreatePart(textproto.MIMEHeader{"Content-Disposition": {disposition}, "Content-Type": {"application/octet-stream"}})
	require.NoError(t, err)
	_, err = pw.Write([]byte("def test_x():\n    pass\n"))
	require.NoError(t, err)
	dw, err := w.CreateFormField("directory")
	require.NoError(t, err)
	_, err = dw.Write([]byte("uploads/x"))
	require.NoError(t, err)
	require.NoError(t, w.Close())
	return buf.Bytes(), w.FormDataContentType()
}

// TestGoodTextIsAccepted makes sure the bad-text checks refuse only what
// is not text: surrogate pairs, non-ASCII letters, U+FFFD itself.
func TestGoodTextIsAccepted(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{})
	var run Run
	h.postJSON(t, "/api/runs", `{"requested_by":"Zoë \ud83d\ude00 😀 \ufffd�x","environment_id":7,"test_files":["sample-tests/test_success.py"]}`, specValid).
		decode(t, http.StatusCreated, &run)
	require.Equal(t, "Zoë 😀 😀 \ufffd\ufffdx", run.RequestedBy)
	var list RunList
	h.get(t, "/api/runs?requested_by=Zo%C3%AB+%F0%9F%98%80+%F0%9F%98%80+%EF%BF%BD%EF%BF%BDx", specValid).decode(t, http.StatusOK, &list)
	require.Len(t, list.Items, 1)
}
