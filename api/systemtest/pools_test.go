package systemtest

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/baton-ci/baton/api/internal/schedcheck"
)

func (c *client) createTarget(target map[string]any, file string) run {
	c.t.Helper()
	body := map[string]any{"requested_by": "systemtest", "test_files": []string{file}}
	for k, v := range target {
		body[k] = v
	}
	var r run
	c.expect(http.StatusCreated, http.MethodPost, "/api/runs", body, &r)
	return r
}

func (c *client) label(env int, labels ...string) {
	c.t.Helper()
	c.expect(http.StatusOK, http.MethodPatch, fmt.Sprintf("/api/environments/%d", env), map[string]any{"labels": labels}, nil)
}

// timesRecord is what test_record.py (or test_lease_ticks.py) wrote for
// one run.
type timesRecord struct {
	starts, ends []time.Time
	envs         []int
	pids         []int
	// ticks counts the lines between start and end (test_lease_ticks.py's
	// sign of life); last is the latest line of any kind, and linePids the
	// pid of every line.
	ticks    int
	last     time.Time
	linePids []int
}

// times reads the records test_record.py left for run id.
func (r *rig) times(id int64) timesRecord {
	r.t.Helper()
	var rec timesRecord
	f, err := os.Open(filepath.Join(r.pidDir, fmt.Sprintf("%d.times", id)))
	if os.IsNotExist(err) {
		return rec
	}
	require.NoError(r.t, err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		require.Len(r.t, fs, 4, "record line %q of run %d", sc.Text(), id)
		sec, err := strconv.ParseFloat(fs[1], 64)
		require.NoError(r.t, err)
		at := time.Unix(0, int64(sec*1e9))
		env, _ := strconv.Atoi(fs[2])
		pid, _ := strconv.Atoi(fs[3])
		if at.After(rec.last) {
			rec.last = at
		}
		rec.linePids = append(rec.linePids, pid)
		switch fs[0] {
		case "start":
			rec.starts = append(rec.starts, at)
			rec.envs = append(rec.envs, env)
			rec.pids = append(rec.pids, pid)
		case "end":
			rec.ends = append(rec.ends, at)
		case "tick":
			rec.ticks++
		}
	}
	require.NoError(r.t, sc.Err())
	return rec
}

// TestPoolsRace: three real worker processes with one slot each (fewer
// slots than environments, so runs also wait for capacity) take runs that
// mix direct requests and two pools over overlapping labels, created
// concurrently through the API. Judged from what the test processes
// recorded themselves: no two runs ever overlapped in an environment, every
// run executed exactly once and where it was allowed to. Judged from the
// order in which Baton handed environments out (started_at, one database
// clock): every start followed the fairness rule. Meanwhile every queued
// run the API showed said what it waited for.
func TestPoolsRace(t *testing.T) {
	systemTest(t)
	const runs, creators = 60, 4
	r := newRig(t, "")
	lease := []string{"BATON_HEARTBEAT_INTERVAL=500ms", "BATON_WORKER_LOST_AFTER=5s"}
	api := r.serve("api", append([]string{"BATON_EMBEDDED_WORKER=false"}, lease...)...)
	labels := map[int][]string{1: {"a"}, 2: {"a", "b"}, 3: {"b"}}
	for env, ls := range labels {
		api.label(env, ls...)
	}
	for i := range 3 {
		r.worker(fmt.Sprintf("worker-%d", i), api.url(), append([]string{"BATON_MAX_RUNS=1"}, lease...)...)
	}

	asked := map[int64]map[string]any{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	errs := make(chan error, runs)
	for g := range creators {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := newClient(t, api.url())
			for i := g; i < runs; i += creators {
				target := map[string]any{"environment_id": 1 + i%4}
				switch i % 5 {
				case 0:
					target = map[string]any{"pool": "a"}
				case 1:
					target = map[string]any{"pool": "b"}
				}
				body := map[string]any{"requested_by": "race", "test_files": []string{"sample-tests/test_record.py"}}
				for k, v := range target {
					body[k] = v
				}
				code, b, err := c.try(http.MethodPost, "/api/runs", body)
				if err != nil || code != http.StatusCreated {
					errs <- fmt.Errorf("create: %d %s %w", code, b, err)
					return
				}
				var created run
				if err := json.Unmarshal(b, &created); err != nil {
					errs <- err
					return
				}
				mu.Lock()
				asked[created.Id] = target
				mu.Unlock()
			}
		}()
	}

	// While the runs are created and executed, every queued run must say
	// what it waits for.
	kinds := map[string]int{}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	deadline := time.Now().Add(4 * time.Minute)
	for {
		var page struct {
			Items []run `json:"items"`
		}
		api.expect(http.StatusOK, http.MethodGet, "/api/runs?status=queued&limit=200", nil, &page)
		for _, q := range page.Items {
			require.NotNil(t, q.WaitingFor, "queued run %d does not say what it waits for: %+v", q.Id, q)
			kinds[string(q.WaitingFor.Kind)]++
		}
		select {
		case <-done:
		default:
			time.Sleep(100 * time.Millisecond)
			continue
		}
		if len(page.Items) == 0 {
			break
		}
		require.True(t, time.Now().Before(deadline), "runs still queued after 4 minutes")
		time.Sleep(200 * time.Millisecond)
	}
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.Len(t, asked, runs)
	t.Logf("waiting_for seen while the race ran: %v", kinds)

	var record []schedcheck.Run
	workers := map[string]bool{}
	for id, target := range asked {
		got := api.waitFinal(id, 2*time.Minute)
		require.EqualValues(t, "success", got.Status, "%s", got)
		times := r.times(id)
		require.Len(t, times.starts, 1, "run %d's test started %d times (nothing lost, nothing twice)", id, len(times.starts))
		require.Len(t, times.ends, 1, "run %d's test ended %d times", id, len(times.ends))
		require.Equal(t, got.Env(), times.envs[0], "run %d: the environment the API says and the one the test ran in", id)
		db := dbGetRun(t, r.dbURL, id)
		workers[db.WorkerID] = true
		sr := schedcheck.Run{ID: id, Env: times.envs[0], Claimed: *got.StartedAt, Start: times.starts[0], End: times.ends[0]}
		if p, ok := target["pool"]; ok {
			sr.Pool = p.(string)
		} else {
			sr.AskedEnv = target["environment_id"].(int)
		}
		record = append(record, sr)
	}
	require.Empty(t, schedcheck.Overlaps(record), "runs overlapped in an environment")
	require.Empty(t, schedcheck.Misplaced(record, labels))
	require.Empty(t, schedcheck.Unfair(record, labels))
	require.GreaterOrEqual(t, len(workers), 2, "the runs were spread over the workers: %v", workers)

	// In each environment, the order the tests ran in is the order Baton
	// handed the environment out.
	byEnv := map[int][]schedcheck.Run{}
	for _, sr := range record {
		byEnv[sr.Env] = append(byEnv[sr.Env], sr)
	}
	pooledEnvs := map[string]map[int]bool{"a": {}, "b": {}}
	for env, rs := range byEnv {
		byClaim := append([]schedcheck.Run(nil), rs...)
		sort.Slice(byClaim, func(i, j int) bool { return byClaim[i].Claimed.Before(byClaim[j].Claimed) })
		sort.Slice(rs, func(i, j int) bool { return rs[i].Start.Before(rs[j].Start) })
		for i := range rs {
			require.Equal(t, byClaim[i].ID, rs[i].ID, "environment %d: the tests ran in another order than Baton gave it out", env)
			if rs[i].Pool != "" {
				pooledEnvs[rs[i].Pool][env] = true
			}
		}
	}
	require.Len(t, pooledEnvs["a"], 2, "pool a used both its environments")
	require.Len(t, pooledEnvs["b"], 2, "pool b used both its environments")
}

// TestHoldsWithRealWorkers: with a real worker, a hold on a busy
// environment lets its run finish and keeps the next one out until the
// hold is released; a hold with until ends by itself; pools skip a held
// environment.
func TestHoldsWithRealWorkers(t *testing.T) {
	systemTest(t)
	r := newRig(t, "")
	api := r.serve("api")
	hold := func(env int, body map[string]any) {
		api.expect(http.StatusOK, http.MethodPost, fmt.Sprintf("/api/environments/%d/hold", env), body, nil)
	}
	waitingFor := func(id int64) string {
		var got run
		api.expect(http.StatusOK, http.MethodGet, fmt.Sprintf("/api/runs/%d", id), nil, &got)
		if got.WaitingFor == nil {
			return ""
		}
		return string(got.WaitingFor.Kind)
	}

	// A busy environment: its run finishes, the next waits for the release.
	first := api.createRun(5, "sample-tests/test_sleep2.py", 0)
	r.waitPytest(first.Id, 60*time.Second)
	hold(5, map[string]any{"held_by": "carol", "reason": "debugging"})
	second := api.createRun(5, "sample-tests/test_quick.py", 0)
	require.Equal(t, "hold", waitingFor(second.Id))
	ended := api.waitFinal(first.Id, 60*time.Second)
	require.EqualValues(t, "success", ended.Status, "the running run finished under the hold")
	time.Sleep(1500 * time.Millisecond) // a start would take milliseconds
	require.EqualValues(t, "queued", api.getRun(second.Id).Status, "no run starts in a held environment")
	require.Empty(t, r.pids(second.Id))
	api.expect(http.StatusOK, http.MethodDelete, "/api/environments/5/hold", nil, nil)
	require.EqualValues(t, "success", api.waitFinal(second.Id, 60*time.Second).Status)
	// A hold with until ends by itself.
	until := time.Now().Add(2 * time.Second)
	hold(6, map[string]any{"held_by": "carol", "reason": "a short look", "until": until.UTC().Format(time.RFC3339Nano)})
	late := api.createRun(6, "sample-tests/test_quick.py", 0)
	require.Equal(t, "hold", waitingFor(late.Id))
	// River's scheduler moves the scheduled start job within seconds
	// of the hold's end (and the reconciler would within 10 s).
	expired := api.waitFinal(late.Id, 30*time.Second)
	require.EqualValues(t, "success", expired.Status)
	require.False(t, expired.StartedAt.Before(until), "started at %s, before the hold ended at %s", expired.StartedAt, until)
	t.Logf("the run started %s after the hold ended", expired.StartedAt.Sub(until).Round(time.Millisecond))
	// Pools skip a held environment.
	api.label(7, "p")
	api.label(8, "p")
	hold(7, map[string]any{"held_by": "carol", "reason": "maintenance"})
	for range 3 {
		run := api.createTarget(map[string]any{"pool": "p"}, "sample-tests/test_quick.py")
		got := api.waitFinal(run.Id, 60*time.Second)
		require.EqualValues(t, "success", got.Status)
		require.Equal(t, 8, got.Env())
	}
}

// TestEnvironmentVariablesReachRuns: a run gets its environment's URL and
// variables; a secret one arrives intact but is masked in the stored log,
// and no API answer ever shows it.
func TestEnvironmentVariablesReachRuns(t *testing.T) {
	systemTest(t)
	r := newRig(t, "")
	api := r.serve("api")
	const secret = "s3cr3t-Zq9-value"
	sum := sha256.Sum256([]byte(secret))
	var env map[string]any
	api.expect(http.StatusOK, http.MethodPatch, "/api/environments/9", map[string]any{
		"labels": []string{"vars"},
		"url":    "https://staging-9.example.com/api",
		"variables": map[string]any{
			"REGION":         map[string]any{"value": "eu-west-1"},
			"API_KEY":        map[string]any{"value": secret, "secret": true},
			"API_KEY_SHA256": map[string]any{"value": hex.EncodeToString(sum[:])},
		},
	}, &env)
	run := api.createTarget(map[string]any{"pool": "vars"}, "sample-tests/test_env_vars.py")
	got := api.waitFinal(run.Id, 60*time.Second)
	require.EqualValues(t, "success", got.Status, "the secret reached the test intact: %s", api.log(run.Id))
	log := api.log(run.Id)
	require.Contains(t, log, "url=https://staging-9.example.com/api")
	require.Contains(t, log, "region=eu-west-1")
	require.Contains(t, log, "secret=[MASKED]")
	require.NotContains(t, dbLog(t, r.dbURL, run.Id), secret, "the stored log never holds the secret")
	for _, path := range []string{"/api/environments", "/api/environments/9", fmt.Sprintf("/api/runs/%d", run.Id),
		fmt.Sprintf("/api/runs/%d/tests", run.Id)} {
		_, body := api.do(http.MethodGet, path, nil)
		require.NotContains(t, string(body), secret, path)
	}
}
