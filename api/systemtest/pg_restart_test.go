package systemtest

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/baton-ci/baton/internal/testkit"
)

// pgCluster is a private PostgreSQL cluster started by deploy/dev/pg-cluster.sh.
type pgCluster struct {
	t      *testing.T
	data   string
	port   int
	bindir string
	url    string
}

// newPGCluster starts a private cluster for t and stops it (immediately)
// when t ends.
func newPGCluster(t *testing.T) *pgCluster {
	t.Helper()
	bindirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Strings(bindirs) // pg-cluster.sh takes the newest; so do we (fine for one-digit versions >= 10)
	if len(bindirs) == 0 {
		t.Skip("no PostgreSQL binaries under /usr/lib/postgresql: cannot start a private cluster")
	}
	// Not t.TempDir(): as root the cluster runs as user postgres, which
	// must be able to reach its data directory.
	base, err := os.MkdirTemp("", "baton-systemtest-pg-")
	require.NoError(t, err)
	require.NoError(t, os.Chmod(base, 0o755))
	c := &pgCluster{t: t, data: filepath.Join(base, "pg"), port: testkit.FreePort(t), bindir: bindirs[len(bindirs)-1]}
	t.Cleanup(func() {
		_ = c.pgCtl("-m", "immediate", "-w", "stop")
		_ = os.RemoveAll(base)
	})
	c.url = c.start()
	return c
}

// start runs pg-cluster.sh, which initialises the cluster the first time and
// starts it with the same options every time; it returns the DATABASE_URL.
func (c *pgCluster) start() string {
	c.t.Helper()
	cmd := exec.Command("bash", filepath.Join(moduleRoot, "deploy", "dev", "pg-cluster.sh"), c.data, fmt.Sprint(c.port))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(c.t, err, "pg-cluster.sh: %s\nserver log:\n%s", stderr.String(), c.serverLog())
	return strings.TrimSpace(string(out))
}

func (c *pgCluster) pgCtl(args ...string) error {
	argv := append([]string{filepath.Join(c.bindir, "pg_ctl"), "-D", c.data}, args...)
	if os.Geteuid() == 0 {
		argv = append([]string{"runuser", "-u", "postgres", "--"}, argv...)
	}
	out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("pg_ctl %s: %w: %s", strings.Join(args, " "), err, out)
	}
	return nil
}

func (c *pgCluster) serverLog() string {
	b, _ := os.ReadFile(filepath.Join(c.data, "server.log"))
	return tail(string(b), 8<<10)
}

// PostgreSQL restarted while runs execute and wait: the API answers 503
// while it is down and recovers by itself, every run ends, and no
// environment ever ran two runs at once.
func TestPostgresRestartUnderLoad(t *testing.T) {
	systemTest(t)
	pg := newPGCluster(t)
	r := newRig(t, pg.url)
	// The private cluster has room: Baton's default pool size.
	srv := r.serve("serve", "BATON_MAX_RUNS=4", "BATON_DB_MAX_CONNS=")

	envs := []int{1, 2, 3}
	var ids []int64
	for i := range 12 {
		ids = append(ids, srv.createRun(envs[i%len(envs)], "sample-tests/test_sleep1.py", 0).Id)
	}
	// Some are running (their test function reached), the rest wait.
	testkit.Eventually(t, 60*time.Second, "a run's test to be running", func() bool {
		for _, id := range ids {
			if len(r.pids(id)) > 0 && srv.getRun(id).Status == "running" {
				return true
			}
		}
		return false
	})

	require.NoError(t, pg.pgCtl("-m", "fast", "-w", "stop"))
	down := time.Now()
	t.Log("PostgreSQL stopped")

	// The API says the database is unavailable: 503, never 500.
	testkit.Eventually(t, 15*time.Second, "GET /api/health to answer 503", func() bool {
		code, _, err := srv.try(http.MethodGet, "/api/health", nil)
		return err == nil && code == http.StatusServiceUnavailable
	})
	unavailable := func(method, path string, body any) {
		t.Helper()
		code, b := srv.do(method, path, body)
		require.Equal(t, http.StatusServiceUnavailable, code, "%s %s while the database is down: %s", method, path, b)
		require.Equal(t, "unavailable", apiError(t, b), "%s %s: %s", method, path, b)
	}
	unavailable(http.MethodGet, "/api/health", nil)
	unavailable(http.MethodGet, "/api/runs", nil)
	unavailable(http.MethodGet, fmt.Sprintf("/api/runs/%d", ids[0]), nil)
	unavailable(http.MethodGet, fmt.Sprintf("/api/runs/%d/log", ids[0]), nil)
	unavailable(http.MethodGet, fmt.Sprintf("/api/runs/%d/tests", ids[0]), nil)
	unavailable(http.MethodGet, "/api/environments", nil)
	unavailable(http.MethodGet, "/api/environments/1", nil)
	unavailable(http.MethodGet, "/api/test-files", nil)
	unavailable(http.MethodGet, "/api/test-directories", nil)
	unavailable(http.MethodPost, fmt.Sprintf("/api/runs/%d/rerun", ids[0]), nil)
	unavailable(http.MethodPost, fmt.Sprintf("/api/runs/%d/cancel", ids[len(ids)-1]), nil)
	unavailable(http.MethodPost, "/api/runs", map[string]any{
		"requested_by": "systemtest", "environment_id": 1, "test_files": []string{"sample-tests/test_quick.py"}})

	time.Sleep(time.Until(down.Add(3 * time.Second)))
	pg.start()
	up := time.Now()
	t.Logf("PostgreSQL started again after %s down", up.Sub(down).Round(time.Millisecond))

	testkit.Eventually(t, 30*time.Second, "GET /api/health to recover", func() bool {
		code, _, err := srv.try(http.MethodGet, "/api/health", nil)
		return err == nil && code == http.StatusOK
	})
	t.Logf("API healthy %s after the restart", time.Since(up).Round(time.Millisecond))

	statuses := map[string]int{}
	for _, id := range ids {
		got := srv.waitFinal(id, time.Until(up.Add(90*time.Second)))
		statuses[string(got.Status)+"/"+got.ReasonText()]++
	}
	t.Logf("all %d runs final %s after the restart: %v", len(ids), time.Since(up).Round(time.Millisecond), statuses)
	// A run that ended while the database was away kept its whole log, up
	// to the runner's last line.
	for _, id := range ids {
		if got := srv.getRun(id); got.Status == "success" {
			log := srv.log(id)
			require.Contains(t, log, "=== pytest exited with code 0 after", "the end of run %d's log is missing:\n%s", id, log)
		}
	}

	// No environment ever had two running runs: the recorded intervals of
	// each environment's runs do not overlap.
	for _, env := range envs {
		var runs []dbRun
		for _, id := range ids {
			if got := dbGetRun(t, r.dbURL, id); got.EnvironmentID == env && got.StartedAt != nil {
				require.NotNil(t, got.FinishedAt, "%+v", got)
				runs = append(runs, got)
			}
		}
		sort.Slice(runs, func(i, j int) bool { return runs[i].StartedAt.Before(*runs[j].StartedAt) })
		for i := 1; i < len(runs); i++ {
			prev, cur := runs[i-1], runs[i]
			require.False(t, cur.StartedAt.Before(*prev.FinishedAt),
				"environment %d: run %d started at %s while run %d ran (%s to %s)",
				env, cur.ID, cur.StartedAt, prev.ID, prev.StartedAt, prev.FinishedAt)
		}
	}

	// And it keeps working.
	after := srv.createRun(1, "sample-tests/test_quick.py", 0)
	got := srv.waitFinal(after.Id, 60*time.Second)
	require.EqualValues(t, "success", got.Status, "%s", got)
}
