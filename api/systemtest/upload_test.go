package systemtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// upload sends a test file through POST /api/test-files.
func (c *client) upload(dir, name, content string) (int, []byte) {
	c.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	require.NoError(c.t, mw.WriteField("directory", dir))
	fw, err := mw.CreateFormFile("file", name)
	require.NoError(c.t, err)
	_, err = fw.Write([]byte(content))
	require.NoError(c.t, err)
	require.NoError(c.t, mw.Close())
	req, err := http.NewRequest(http.MethodPost, c.base+"/api/test-files", &body)
	require.NoError(c.t, err)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	res, err := c.http.Do(req)
	require.NoError(c.t, err)
	defer res.Body.Close()
	var out bytes.Buffer
	_, _ = out.ReadFrom(res.Body)
	return res.StatusCode, out.Bytes()
}

// apiTest is an uploaded test of "a public API": it calls an HTTP server
// this Go test runs on 127.0.0.1 and checks its JSON answer.
const apiTest = `import json
import urllib.request

URL = %q


def test_public_api_answers_with_the_expected_json():
    with urllib.request.urlopen(URL, timeout=10) as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"].startswith("application/json")
        body = json.load(resp)
    print("the API said:", body)
    assert body["service"] == "weather"
    assert body["temperature_c"] == %d
`

// TestUploadedTestCallingAnHTTPAPI is the upload feature end to end: a test
// uploaded into a new directory calls an HTTP API, runs at once in an
// environment and succeeds with its output in the log; a variant expecting
// another answer, uploaded next to it, fails.
func TestUploadedTestCallingAnHTTPAPI(t *testing.T) {
	systemTest(t)
	var calls atomic.Int64
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"service": "weather", "temperature_c": 21})
	}))
	t.Cleanup(api.Close)
	require.True(t, strings.HasPrefix(api.URL, "http://127.0.0.1:"))

	r := newRig(t, "")
	srv := r.serve("serve")

	code, body := srv.upload("uploads/partners/weather", "test_weather_api.py", fmt.Sprintf(apiTest, api.URL+"/v1/now", 21))
	require.Equal(t, http.StatusCreated, code, "%s", body)
	var file struct {
		Path      string `json:"path"`
		Directory string `json:"directory"`
	}
	require.NoError(t, json.Unmarshal(body, &file))
	require.Equal(t, "uploads/partners/weather/test_weather_api.py", file.Path)
	require.Equal(t, "uploads/partners/weather", file.Directory)

	passing := srv.createRun(5, file.Path, 0)
	got := srv.waitFinal(passing.Id, 60*time.Second)
	log := srv.log(passing.Id)
	require.EqualValues(t, "success", got.Status, "%s\n%s", got, log)
	// pytest runs in the project root (here the upload root, which has no
	// config) and names tests relative to it, as by hand.
	require.Contains(t, log, "\npartners/weather/test_weather_api.py::test_public_api_answers_with_the_expected_json PASSED")
	require.Contains(t, log, "1 passed")
	var results struct {
		Items []struct {
			NodeID  string `json:"node_id"`
			Outcome string `json:"outcome"`
		} `json:"items"`
	}
	srv.expect(http.StatusOK, http.MethodGet, fmt.Sprintf("/api/runs/%d/tests", passing.Id), nil, &results)
	require.Len(t, results.Items, 1)
	require.Equal(t, "uploads/partners/weather/test_weather_api.py::test_public_api_answers_with_the_expected_json", results.Items[0].NodeID)
	require.Equal(t, "passed", results.Items[0].Outcome)
	// pytest captures a passing test's prints, as by hand.
	require.NotContains(t, log, "the API said:")
	require.EqualValues(t, 1, calls.Load(), "the uploaded test must really call the API")

	code, body = srv.upload("uploads/partners/weather", "test_weather_api_wrong.py", fmt.Sprintf(apiTest, api.URL+"/v1/now", 35))
	require.Equal(t, http.StatusCreated, code, "%s", body)
	failing := srv.createRun(5, "uploads/partners/weather/test_weather_api_wrong.py", 0)
	got = srv.waitFinal(failing.Id, 60*time.Second)
	log = srv.log(failing.Id)
	require.EqualValues(t, "failed", got.Status, "%s\n%s", got, log)
	require.Equal(t, "tests_failed", got.ReasonText())
	require.Contains(t, log, "assert 21 == 35")
	require.EqualValues(t, 2, calls.Load())

	// The same name again is refused and changes nothing.
	code, body = srv.upload("uploads/partners/weather", "test_weather_api.py", "def test_x():\n    pass\n")
	require.Equal(t, http.StatusConflict, code, "%s", body)
}
