package systemtest

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Cancelling a running run kills its pytest and ends it as cancelled within
// two seconds (the API's promise), and the environment's next run starts.
// Cancelling runs just as they start never lets one end as success and never
// leaves the environment stuck.
func TestCancel(t *testing.T) {
	systemTest(t)
	r := newRig(t, "")
	api := r.serve("api", "BATON_EMBEDDED_WORKER=false")
	r.worker("worker", api.url())

	t.Run("running", func(t *testing.T) {
		t.Parallel()
		r, api := r.on(t), newClient(t, api.url())
		long := api.createRun(5, "sample-tests/test_sleep60.py", 0)
		next := api.createRun(5, "sample-tests/test_quick.py", 0)
		py := r.waitPytest(long.Id, 60*time.Second)

		asked := time.Now()
		var resp run
		api.expect(http.StatusOK, http.MethodPost, fmt.Sprintf("/api/runs/%d/cancel", long.Id), nil, &resp)
		got := api.waitFinal(long.Id, 10*time.Second)
		took := time.Since(asked)
		t.Logf("run %d ended %s after the cancel request", long.Id, took.Round(time.Millisecond))
		require.EqualValues(t, "cancelled", got.Status, "%s", got)
		require.Equal(t, "cancelled_by_user", got.ReasonText(), "%s", got)
		// The requirement is two seconds; the slack covers polling and a
		// loaded machine.
		require.LessOrEqual(t, took, 3*time.Second, "cancel took too long")
		waitGone(t, py, 5*time.Second)
		require.Contains(t, api.log(long.Id), "cancelled: process tree killed")

		after := api.waitFinal(next.Id, 60*time.Second)
		require.EqualValues(t, "success", after.Status, "%s", after)
	})

	t.Run("race", func(t *testing.T) {
		t.Parallel()
		r, api := r.on(t), newClient(t, api.url())
		const env = 6
		for i := range 20 {
			created := api.createRun(env, "sample-tests/test_brief.py", 0)
			// From at once to 190 ms later: before the claim, between the
			// claim and pytest, and while pytest starts up.
			time.Sleep(time.Duration(i) * 10 * time.Millisecond)
			var asked run
			api.expect(http.StatusOK, http.MethodPost, fmt.Sprintf("/api/runs/%d/cancel", created.Id), nil, &asked)
			got := api.waitFinal(created.Id, 30*time.Second)
			t.Logf("attempt %2d: %s (%s when cancelled; test function reached: %v)",
				i, got, asked.Status, len(r.pids(created.Id)) > 0)
			require.EqualValues(t, "cancelled", got.Status, "attempt %d: a cancelled run must not end otherwise: %s", i, got)
		}
		probe := api.createRun(env, "sample-tests/test_quick.py", 0)
		got := api.waitFinal(probe.Id, 60*time.Second)
		require.EqualValues(t, "success", got.Status, "environment %d is not usable after the cancels: %s", env, got)
	})
}
