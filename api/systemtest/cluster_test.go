package systemtest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/baton-ci/baton/internal/testkit"
)

// helloTest is uploaded and run first: it proves the run's environment,
// and writes what it saw into RECORD_DIR (a passing test's prints are not
// in the log: runs capture output as plain pytest does).
const helloTest = `import os

RECORD_DIR = %q


def test_hello():
    assert os.environ["BATON_API_URL"].startswith("http://")
    assert "BATON_API_TOKEN" not in os.environ, "tests must not see the API token"
    with open(os.path.join(RECORD_DIR, "hello-" + os.environ["TEST_RUN_ID"]), "w") as f:
        f.write("hello from %%s run %%s" %% (os.environ["TEST_ENV_NAME"], os.environ["TEST_RUN_ID"]))
`

// timingTest records, from inside the test process, when it ran, where and
// on which worker: the evidence the FIFO checks below are judged by.
const timingTest = `import json
import os
import time

RECORD_DIR = %q


def test_takes_a_second():
    start = time.time()
    time.sleep(1.0)
    end = time.time()
    run = int(os.environ["TEST_RUN_ID"])
    rec = {"run": run, "env": int(os.environ["TEST_ENV_ID"]), "start": start, "end": end,
           "worker": os.environ.get("BATON_WORKER_ID", "")}
    path = os.path.join(RECORD_DIR, "run-%%d.json" %% run)
    with open(path + ".tmp", "w") as f:
        json.dump(rec, f)
    os.replace(path + ".tmp", path)
`

// record is what timingTest wrote.
type record struct {
	Run    int64   `json:"run"`
	Env    int     `json:"env"`
	Start  float64 `json:"start"`
	End    float64 `json:"end"`
	Worker string  `json:"worker"`
}

// TestCluster is the docker-compose.yml topology without Docker, as
// deploy/dev/cluster.sh starts it: one API process (no embedded worker,
// with an API token) and two worker processes without the token, sharing
// one database and one data directory. Through the API: the token is
// required, the web UI is served, an uploaded test lands in the shared
// data directory and runs, runs over two environments never overlap and
// start in FIFO order (judged from what the test processes recorded), and
// both workers take part. Then deploy/nginx.conf, rendered for this host,
// fronts it (when nginx is installed).
func TestCluster(t *testing.T) {
	systemTest(t)
	r := newRig(t, "")
	token := fmt.Sprintf("e2e-%d", time.Now().UnixNano())
	data, records := t.TempDir(), sharedDir(t, "records")
	index := "<!doctype html><title>Baton cluster e2e</title>\n"
	require.NoError(t, os.WriteFile(filepath.Join(r.webDir, "index.html"), []byte(index), 0o644))
	shared := []string{"BATON_DATA_DIR=" + data, "BATON_MAX_RUNS=1"}

	srv := r.serve("api", append(shared, "BATON_EMBEDDED_WORKER=false", "BATON_API_TOKEN="+token)...)
	api := srv.withToken(token)
	workers := []*proc{r.worker("worker-1", srv.url(), shared...), r.worker("worker-2", srv.url(), shared...)}

	t.Run("the API requires its token", func(t *testing.T) {
		code, body := newClient(t, srv.url()).do(http.MethodPost, "/api/runs", map[string]any{})
		require.Equal(t, http.StatusUnauthorized, code, "%s", body)
	})

	t.Run("health and web UI", func(t *testing.T) {
		var health struct{ Status string }
		api.expect(http.StatusOK, http.MethodGet, "/api/health", nil, &health)
		require.Equal(t, "ok", health.Status)
		for _, p := range []string{"/", "/runs/12345"} {
			code, body := api.do(http.MethodGet, p, nil)
			require.Equal(t, http.StatusOK, code, p)
			require.Equal(t, index, string(body), "%s serves the app", p)
		}
	})

	for name, content := range map[string]string{
		"test_e2e_hello.py":  fmt.Sprintf(helloTest, records),
		"test_e2e_timing.py": fmt.Sprintf(timingTest, records),
	} {
		code, body := api.upload("uploads/cluster/e2e", name, content)
		require.Equal(t, http.StatusCreated, code, "upload %s: %s", name, body)
		stored, err := os.ReadFile(filepath.Join(data, "uploads", "cluster", "e2e", name))
		require.NoError(t, err, "%s is in the shared data directory", name)
		require.Equal(t, content, string(stored))
	}

	t.Run("an uploaded test runs", func(t *testing.T) {
		api := api.on(t)
		hello := api.createRun(1, "uploads/cluster/e2e/test_e2e_hello.py", 0)
		got := api.waitFinal(hello.Id, 90*time.Second)
		log := api.log(hello.Id)
		require.EqualValues(t, "success", got.Status, "%s\n%s", got, log)
		require.Contains(t, log, "test_e2e_hello.py::test_hello PASSED")
		said, err := os.ReadFile(filepath.Join(records, fmt.Sprintf("hello-%d", hello.Id)))
		require.NoError(t, err, "the test did not run")
		require.Equal(t, fmt.Sprintf("hello from env1 run %d", hello.Id), string(said))
	})

	t.Run("FIFO per environment on both workers", func(t *testing.T) {
		api := api.on(t)
		var ids []int64
		for _, env := range []int{7, 8, 7, 8, 7, 8} {
			ids = append(ids, api.createRun(env, "uploads/cluster/e2e/test_e2e_timing.py", 0).Id)
		}
		runs := map[int64]run{}
		for _, id := range ids {
			runs[id] = api.waitFinal(id, 90*time.Second)
		}
		recs := map[int64]record{}
		for _, id := range ids {
			require.EqualValues(t, "success", runs[id].Status, "%s\n%s", runs[id], api.log(id))
			b, err := os.ReadFile(filepath.Join(records, fmt.Sprintf("run-%d.json", id)))
			require.NoError(t, err, "run %d left no record: its test did not execute", id)
			var rec record
			require.NoError(t, json.Unmarshal(b, &rec))
			recs[id] = rec
		}
		workerIDs := []string{workers[0].workerID, workers[1].workerID}
		used := map[string]int{}
		for _, env := range []int{7, 8} {
			var mine []int64
			for _, id := range ids {
				if runs[id].Env() == env {
					mine = append(mine, id)
				}
			}
			byStart := slices.Clone(mine)
			sort.Slice(byStart, func(i, j int) bool { return runs[byStart[i]].StartedAt.Before(*runs[byStart[j]].StartedAt) })
			require.Equal(t, mine, byStart, "environment %d: runs start in id order", env)
			for i, id := range mine {
				require.Equal(t, env, recs[id].Env, "run %d ran with TEST_ENV_ID=%d", id, recs[id].Env)
				if i == 0 {
					continue
				}
				prev := mine[i-1]
				require.False(t, runs[id].StartedAt.Before(*runs[prev].FinishedAt),
					"environment %d: run %d started before run %d finished", env, id, prev)
				require.GreaterOrEqual(t, recs[id].Start, recs[prev].End,
					"environment %d: the tests of runs %d and %d overlapped", env, prev, id)
			}
		}
		for _, id := range ids {
			w := dbGetRun(t, r.dbURL, id).WorkerID
			require.Contains(t, workerIDs, w, "run %d", id)
			require.Equal(t, w, recs[id].Worker, "run %d: the database and the test disagree on the worker", id)
			used[w]++
		}
		require.Len(t, used, 2, "both workers execute runs: %v", used)
		t.Logf("runs per worker: %v", used)
	})

	for _, p := range append([]*proc{srv.proc}, workers...) {
		require.False(t, p.exited(), "%s died: %s", p.name, p.exitState())
	}

	t.Run("nginx front door", func(t *testing.T) {
		testNginx(t, srv.url(), token)
	})
}

// testNginx renders deploy/nginx.conf the way the nginx image's entrypoint
// does (plus this host's paths and port instead of the container's), runs
// nginx in front of the API at apiURL and checks it through nginx.
func testNginx(t *testing.T, apiURL, token string) {
	bin, err := exec.LookPath("nginx")
	if err != nil {
		if _, statErr := os.Stat("/usr/sbin/nginx"); statErr != nil {
			t.Skip("nginx is not installed: deploy/nginx.conf not exercised")
		}
		bin = "/usr/sbin/nginx"
	}
	// nginx runs as root here and must reach its files: not t.TempDir().
	dir, err := os.MkdirTemp("", "baton-nginx-")
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	require.NoError(t, os.Chmod(dir, 0o755))
	html := filepath.Join(dir, "html")
	require.NoError(t, os.MkdirAll(filepath.Join(html, "assets"), 0o755))
	index := "<!doctype html><title>stand-in</title>\n"
	require.NoError(t, os.WriteFile(filepath.Join(html, "index.html"), []byte(index), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(html, "assets", "stand-in.js"), []byte(strings.Repeat("a", 4000)), 0o644))

	port := testkit.FreePort(t)
	tmpl, err := os.ReadFile(filepath.Join(moduleRoot, "deploy", "nginx.conf"))
	require.NoError(t, err)
	site := strings.NewReplacer(
		"${BATON_API_UPSTREAM}", strings.TrimPrefix(apiURL, "http://"),
		"${BATON_CLIENT_MAX_BODY_SIZE}", "2m",
		"${NGINX_LOCAL_RESOLVERS}", "127.0.0.1",
		"listen 80 default_server;", fmt.Sprintf("listen 127.0.0.1:%d default_server;", port),
		"root /usr/share/nginx/html;", "root "+html+";",
	).Replace(string(tmpl))
	for _, line := range strings.Split(site, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			require.NotContains(t, line, "${", "every template variable is replaced")
		}
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "site.conf"), []byte(site), 0o644))
	user := ""
	if os.Geteuid() == 0 {
		user = "user root;"
	}
	conf := fmt.Sprintf(`daemon off;
worker_processes 1;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log warn;
%[2]s
events { worker_connections 64; }
http {
  include /etc/nginx/mime.types;
  default_type application/octet-stream;
  access_log off;
  client_body_temp_path %[1]s/body;
  proxy_temp_path %[1]s/proxy;
  fastcgi_temp_path %[1]s/fastcgi;
  uwsgi_temp_path %[1]s/uwsgi;
  scgi_temp_path %[1]s/scgi;
  include %[1]s/site.conf;
}
`, dir, user)
	confPath := filepath.Join(dir, "nginx.conf")
	require.NoError(t, os.WriteFile(confPath, []byte(conf), 0o644))
	out, err := exec.Command(bin, "-t", "-q", "-p", dir, "-c", confPath).CombinedOutput()
	require.NoError(t, err, "nginx rejects deploy/nginx.conf: %s", out)

	cmd := exec.Command(bin, "-p", dir, "-c", confPath)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Logf("nginx error.log:\n%s", b)
		}
	})
	front := newClient(t, fmt.Sprintf("http://127.0.0.1:%d", port)).withToken(token)
	testkit.Eventually(t, 10*time.Second, "nginx to answer", func() bool {
		_, _, err := front.try(http.MethodGet, "/", nil)
		return err == nil
	})

	get := func(path string, header ...string) *http.Response {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, front.base+path, http.NoBody)
		require.NoError(t, err)
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		// Not the client's transport: it would ask for gzip and undo it.
		res, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
		require.NoError(t, err)
		t.Cleanup(func() { res.Body.Close() })
		return res
	}
	body := func(res *http.Response) string {
		b, err := io.ReadAll(res.Body)
		require.NoError(t, err)
		return string(b)
	}

	var health struct{ Status string }
	front.expect(http.StatusOK, http.MethodGet, "/api/health", nil, &health)
	require.Equal(t, "ok", health.Status, "/api is proxied")
	res := get("/runs/42")
	require.Equal(t, index, body(res), "a client-side route falls back to index.html")
	require.Equal(t, "no-cache", get("/").Header.Get("Cache-Control"), "index.html is never cached")
	// nginx sends two Cache-Control headers here (expires and add_header).
	require.Contains(t, strings.Join(get("/assets/stand-in.js").Header.Values("Cache-Control"), ", "), "immutable")
	require.Equal(t, http.StatusNotFound, get("/assets/missing.js").StatusCode, "a missing asset is a 404, not the app")
	require.Equal(t, "gzip", get("/assets/stand-in.js", "Accept-Encoding", "gzip").Header.Get("Content-Encoding"))

	code, b := front.upload("uploads/cluster/e2e", "test_e2e_via_nginx.py", fmt.Sprintf(helloTest, dir))
	require.Equal(t, http.StatusCreated, code, "upload through nginx: %s", b)
	big := "#" + strings.Repeat("#", 1<<20-100)
	code, b = front.upload("uploads/cluster/e2e", "test_e2e_big.py", big)
	require.Equal(t, http.StatusCreated, code, "a 1 MiB upload passes nginx (client_max_body_size): %s", b)
	code, _ = front.upload("uploads/cluster/e2e", "test_e2e_huge.py", strings.Repeat("#", 3<<20))
	require.Equal(t, http.StatusRequestEntityTooLarge, code, "a 3 MiB upload is refused by nginx")
}
