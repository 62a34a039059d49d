package domain_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/baton-ci/baton/api/domain"
)

var t0 = time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)

func at(d time.Duration) *time.Time { t := t0.Add(d); return &t }

// snapshot is a QueueSnapshot at t0 over environments 1..n with the given
// labels, and 8 free worker slots unless changed.
func snapshot(labels map[int][]string, n int) *domain.QueueSnapshot {
	s := &domain.QueueSnapshot{Now: t0, Slots: domain.WorkerSlots{Workers: 1, Total: 8}, History: map[domain.HistoryKey]time.Duration{}}
	for id := 1; id <= n; id++ {
		s.Environments = append(s.Environments, domain.SchedEnvironment{ID: id, Labels: labels[id]})
	}
	return s
}

func running(id int64, env int, started time.Duration, f ...string) domain.LiveRun {
	return domain.LiveRun{ID: id, EnvironmentID: env, TestFiles: f, StartedAt: at(-started), OnLiveWorker: true}
}

func direct(id int64, env int, f ...string) domain.LiveRun {
	return domain.LiveRun{ID: id, EnvironmentID: env, TestFiles: f}
}

func pooled(id int64, pool string, f ...string) domain.LiveRun {
	return domain.LiveRun{ID: id, Pool: pool, TestFiles: f}
}

func eta(t *testing.T, info *domain.QueueInfo) time.Duration {
	t.Helper()
	require.NotNil(t, info.ETA, "no ETA")
	return *info.ETA
}

// TestExplainQueueWaitingFor covers every kind of wait and the place in line.
func TestExplainQueueWaitingFor(t *testing.T) {
	t.Parallel()
	t.Run("behind the running run, then behind the one ahead", func(t *testing.T) {
		s := snapshot(nil, 2)
		s.Running = []domain.LiveRun{running(1, 1, time.Second, "a")}
		s.Queued = []domain.LiveRun{direct(2, 1, "a"), direct(3, 1, "a")}
		ex := domain.ExplainQueue(s)
		require.Equal(t, domain.WaitingFor{Kind: domain.WaitRun, RunID: 1}, ex.Runs[2].WaitingFor)
		require.Equal(t, 1, ex.Runs[2].Position)
		require.Equal(t, domain.WaitingFor{Kind: domain.WaitRun, RunID: 2}, ex.Runs[3].WaitingFor)
		require.Equal(t, 2, ex.Runs[3].Position)
		require.Equal(t, domain.EnvBusy, ex.Environments[1].State)
		require.Equal(t, []int64{2, 3}, ex.Environments[1].QueuedRunIDs)
		require.Equal(t, domain.EnvIdle, ex.Environments[2].State)
	})
	t.Run("capacity: free environment, no slot", func(t *testing.T) {
		s := snapshot(map[int][]string{2: {"staging"}}, 3)
		s.Slots = domain.WorkerSlots{Workers: 1, Total: 1, Busy: 1}
		s.Running = []domain.LiveRun{running(1, 3, time.Second, "a")}
		s.Queued = []domain.LiveRun{direct(2, 1, "a"), pooled(3, "staging", "a")}
		ex := domain.ExplainQueue(s)
		require.Equal(t, domain.WaitCapacity, ex.Runs[2].WaitingFor.Kind)
		require.Equal(t, domain.WaitCapacity, ex.Runs[3].WaitingFor.Kind)
		require.Equal(t, 2, ex.WaitingForCapacity)
		require.Equal(t, domain.EnvWaiting, ex.Environments[1].State, "never idle while a run waits for it")
		require.Equal(t, domain.EnvWaiting, ex.Environments[2].State, "a pooled run waits for it too")
	})
	t.Run("hold, on a busy environment too", func(t *testing.T) {
		s := snapshot(nil, 2)
		s.Environments[0].Hold = &domain.Hold{HeldBy: "carol", Reason: "debug", Since: t0.Add(-time.Minute), Until: at(time.Hour)}
		s.Running = []domain.LiveRun{running(1, 1, time.Second, "a")}
		s.Queued = []domain.LiveRun{direct(2, 1, "a")}
		ex := domain.ExplainQueue(s)
		require.Equal(t, domain.WaitingFor{Kind: domain.WaitHold, EnvironmentID: 1, HeldBy: "carol", Until: at(time.Hour)}, ex.Runs[2].WaitingFor)
		require.Equal(t, domain.EnvBusy, ex.Environments[1].State, "the running run finishes first")
		require.NotNil(t, ex.Environments[1].Hold)
	})
	t.Run("an expired hold is none", func(t *testing.T) {
		s := snapshot(nil, 1)
		s.Environments[0].Hold = &domain.Hold{HeldBy: "carol", Reason: "debug", Since: t0.Add(-time.Hour), Until: at(-time.Second)}
		s.Queued = []domain.LiveRun{direct(2, 1, "a")}
		ex := domain.ExplainQueue(s)
		require.Equal(t, domain.WaitCapacity, ex.Runs[2].WaitingFor.Kind)
		require.Nil(t, ex.Environments[1].Hold)
		require.Equal(t, domain.EnvWaiting, ex.Environments[1].State)
	})
	t.Run("held and idle", func(t *testing.T) {
		s := snapshot(nil, 1)
		s.Environments[0].Hold = &domain.Hold{HeldBy: "carol", Reason: "maintenance", Since: t0}
		require.Equal(t, domain.EnvHeld, domain.ExplainQueue(s).Environments[1].State)
	})
	t.Run("pool: all busy or promised to older runs", func(t *testing.T) {
		s := snapshot(map[int][]string{1: {"staging"}, 2: {"staging", "eu"}}, 3)
		s.Running = []domain.LiveRun{running(1, 1, time.Second, "a")}
		// Run 2 is older and can take environment 2, the only free member.
		s.Queued = []domain.LiveRun{direct(2, 2, "a"), pooled(3, "staging", "a"), pooled(4, "staging", "a")}
		ex := domain.ExplainQueue(s)
		require.Equal(t, domain.WaitCapacity, ex.Runs[2].WaitingFor.Kind)
		require.Equal(t, domain.WaitingFor{Kind: domain.WaitPool, Pool: "staging"}, ex.Runs[3].WaitingFor)
		require.Equal(t, 1, ex.Runs[3].Position)
		require.Equal(t, 2, ex.Runs[4].Position)
		// A direct run's line counts the pooled runs that can take its
		// environment before it.
		require.Equal(t, []domain.Pool{
			{Name: "eu", EnvironmentIDs: []int{2}, QueuedRunIDs: []int64{}},
			{Name: "staging", EnvironmentIDs: []int{1, 2}, QueuedRunIDs: []int64{3, 4}},
		}, ex.Pools)
	})
	t.Run("a direct run waits behind an older pooled run that can take its environment", func(t *testing.T) {
		s := snapshot(map[int][]string{1: {"staging"}}, 1)
		s.Running = []domain.LiveRun{running(1, 1, time.Second, "a")}
		s.Queued = []domain.LiveRun{pooled(2, "staging", "a"), direct(3, 1, "a")}
		ex := domain.ExplainQueue(s)
		require.Equal(t, domain.WaitingFor{Kind: domain.WaitRun, RunID: 2}, ex.Runs[3].WaitingFor)
		require.Equal(t, 2, ex.Runs[3].Position)
	})
	t.Run("every member held: the hold that ends first", func(t *testing.T) {
		s := snapshot(map[int][]string{1: {"staging"}, 2: {"staging"}}, 2)
		s.Environments[0].Hold = &domain.Hold{HeldBy: "carol", Since: t0}
		s.Environments[1].Hold = &domain.Hold{HeldBy: "dan", Since: t0, Until: at(time.Hour)}
		s.Queued = []domain.LiveRun{pooled(3, "staging", "a")}
		ex := domain.ExplainQueue(s)
		require.Equal(t, domain.WaitingFor{Kind: domain.WaitHold, EnvironmentID: 2, HeldBy: "dan", Until: at(time.Hour)}, ex.Runs[3].WaitingFor)
		require.Equal(t, time.Hour, eta(t, ex.Runs[3]))
	})
	t.Run("a pool nobody carries any more", func(t *testing.T) {
		s := snapshot(nil, 1)
		s.Queued = []domain.LiveRun{pooled(3, "gone", "a")}
		ex := domain.ExplainQueue(s)
		require.Equal(t, domain.WaitingFor{Kind: domain.WaitPool, Pool: "gone"}, ex.Runs[3].WaitingFor)
		require.Nil(t, ex.Runs[3].ETA)
		require.Equal(t, []domain.Pool{{Name: "gone", EnvironmentIDs: []int{}, QueuedRunIDs: []int64{3}}}, ex.Pools)
	})
}

// TestExplainQueueETA: the estimates follow the scheduling rule from recent
// durations, and are missing where something has no history.
func TestExplainQueueETA(t *testing.T) {
	t.Parallel()
	key := func(env int, f ...string) domain.HistoryKey {
		return domain.HistoryKey{EnvironmentID: env, Files: domain.FilesKey(f)}
	}
	t.Run("a line in one environment", func(t *testing.T) {
		s := snapshot(nil, 1)
		s.History[key(1, "a")] = 10 * time.Second
		s.History[key(0, "b")] = 5 * time.Second // only known elsewhere: the fallback
		s.Running = []domain.LiveRun{running(1, 1, 4*time.Second, "a")}
		s.Queued = []domain.LiveRun{direct(2, 1, "b"), direct(3, 1, "a"), direct(4, 1, "c"), direct(5, 1, "a")}
		ex := domain.ExplainQueue(s)
		require.Equal(t, 6*time.Second, eta(t, ex.Runs[2]), "10 s typical, 4 s gone")
		require.Equal(t, 11*time.Second, eta(t, ex.Runs[3]))
		require.Equal(t, 21*time.Second, eta(t, ex.Runs[4]))
		require.Nil(t, ex.Runs[5].ETA, "behind a run without history")
	})
	t.Run("unknown running run", func(t *testing.T) {
		s := snapshot(nil, 1)
		s.Running = []domain.LiveRun{running(1, 1, time.Second, "x")}
		s.Queued = []domain.LiveRun{direct(2, 1, "a")}
		require.Nil(t, domain.ExplainQueue(s).Runs[2].ETA)
	})
	t.Run("a pool takes the first environment to free", func(t *testing.T) {
		s := snapshot(map[int][]string{1: {"p"}, 2: {"p"}}, 2)
		s.History[key(0, "a")] = 30 * time.Second
		s.Running = []domain.LiveRun{running(1, 1, 10*time.Second, "a"), running(2, 2, 25*time.Second, "a")}
		s.Queued = []domain.LiveRun{pooled(3, "p", "a"), pooled(4, "p", "a"), direct(5, 1, "a")}
		ex := domain.ExplainQueue(s)
		require.Equal(t, 5*time.Second, eta(t, ex.Runs[3]), "environment 2 frees first")
		require.Equal(t, 20*time.Second, eta(t, ex.Runs[4]), "then environment 1")
		require.Equal(t, 50*time.Second, eta(t, ex.Runs[5]), "environment 1 went to the older run 4 at 20 s, until 50 s")
	})
	t.Run("slots", func(t *testing.T) {
		s := snapshot(nil, 3)
		s.Slots = domain.WorkerSlots{Workers: 1, Total: 1, Busy: 1}
		s.History[key(0, "a")] = 10 * time.Second
		s.Running = []domain.LiveRun{running(1, 1, 2*time.Second, "a")}
		s.Queued = []domain.LiveRun{direct(2, 2, "a"), direct(3, 3, "a")}
		ex := domain.ExplainQueue(s)
		require.Equal(t, 8*time.Second, eta(t, ex.Runs[2]), "the one slot frees when run 1 ends")
		require.Equal(t, 18*time.Second, eta(t, ex.Runs[3]))
	})
	t.Run("no worker at all", func(t *testing.T) {
		s := snapshot(nil, 1)
		s.Slots = domain.WorkerSlots{}
		s.Queued = []domain.LiveRun{direct(2, 1, "a")}
		ex := domain.ExplainQueue(s)
		require.Equal(t, domain.WaitCapacity, ex.Runs[2].WaitingFor.Kind)
		require.Nil(t, ex.Runs[2].ETA)
	})
	t.Run("a free environment and a free slot: now", func(t *testing.T) {
		s := snapshot(nil, 1)
		s.Queued = []domain.LiveRun{direct(2, 1, "a")}
		require.Equal(t, time.Duration(0), eta(t, domain.ExplainQueue(s).Runs[2]))
	})
	t.Run("hold without an end", func(t *testing.T) {
		s := snapshot(nil, 1)
		s.Environments[0].Hold = &domain.Hold{HeldBy: "carol", Since: t0}
		s.Queued = []domain.LiveRun{direct(2, 1, "a")}
		require.Nil(t, domain.ExplainQueue(s).Runs[2].ETA)
	})
	t.Run("overdue running run", func(t *testing.T) {
		s := snapshot(nil, 1)
		s.History[key(1, "a")] = 10 * time.Second
		s.Running = []domain.LiveRun{running(1, 1, time.Minute, "a")}
		s.Queued = []domain.LiveRun{direct(2, 1, "a")}
		require.Equal(t, time.Duration(0), eta(t, domain.ExplainQueue(s).Runs[2]), "any moment now")
	})
}

// TestHistoryKeys: the estimates a snapshot needs are asked for, no more.
func TestHistoryKeys(t *testing.T) {
	t.Parallel()
	s := snapshot(map[int][]string{2: {"p"}, 3: {"p"}}, 3)
	s.Running = []domain.LiveRun{running(1, 1, 0, "a")}
	s.Queued = []domain.LiveRun{pooled(2, "p", "b", "c"), direct(3, 1, "a")}
	require.ElementsMatch(t, []domain.HistoryKey{
		{Files: "a"}, {EnvironmentID: 1, Files: "a"},
		{Files: "b\nc"}, {EnvironmentID: 2, Files: "b\nc"}, {EnvironmentID: 3, Files: "b\nc"},
	}, s.HistoryKeys())
}
