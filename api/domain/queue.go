package domain

import (
	"container/heap"
	"math"
	"slices"
	"sort"
	"strings"
	"time"
)

// This file explains the queues: for every waiting run, what it waits for
// and when it should start. It is pure: the storage takes a QueueSnapshot
// (one consistent read of the scheduler's state) and ExplainQueue derives
// everything from it by the scheduling rule the claim itself applies:
//
//	A free environment that is not held goes to the oldest waiting run
//	(lowest id) that can use it: a run asked for that environment, or a
//	run asked for a pool whose label the environment carries.
//
// A run's place in line, its waiting_for and its ETA therefore agree with
// what the claim will do, as long as nothing changes meanwhile.

// WaitKind says what a queued run is waiting for.
type WaitKind string

// The kinds of wait.
const (
	// WaitRun: the run waits behind another run (WaitingFor.RunID), the one
	// running in its environment or the one directly ahead in its line.
	WaitRun WaitKind = "run"
	// WaitHold: its environment (or every environment of its pool) is held.
	WaitHold WaitKind = "hold"
	// WaitCapacity: nothing but a free worker slot stands between the run
	// and its start.
	WaitCapacity WaitKind = "capacity"
	// WaitPool: every environment of its pool is busy, held or promised to
	// an older run.
	WaitPool WaitKind = "pool"
)

// WaitingFor is what a queued run waits for.
type WaitingFor struct {
	Kind WaitKind
	// RunID is the run waited behind (WaitRun).
	RunID int64
	// EnvironmentID is the held environment (WaitHold).
	EnvironmentID int
	// HeldBy and Until describe the hold (WaitHold); Until is nil for a
	// hold without an end.
	HeldBy string
	Until  *time.Time
	// Pool is the label (WaitPool).
	Pool string
}

// LiveRun is a queued or running run as the scheduler sees it.
type LiveRun struct {
	ID int64
	// EnvironmentID is where it runs, or for a queued run the environment
	// it asked for; 0 for a queued pooled run.
	EnvironmentID int
	// Pool is the label a pooled run asked for; "" for a direct run.
	Pool      string
	TestFiles []string
	// StartedAt is set for a running run.
	StartedAt *time.Time
	// OnLiveWorker tells whether a running run's worker is alive, so the
	// slot it takes counts against the live capacity.
	OnLiveWorker bool
}

// SchedEnvironment is an environment as the scheduler sees it.
type SchedEnvironment struct {
	ID     int
	Labels []string
	// Hold is the environment's hold, if any (it may have expired: see
	// Hold.ActiveAt).
	Hold *Hold
}

// WorkerSlots is the capacity of the live workers: a worker is live while
// its heartbeat is recent (BATON_WORKER_LOST_AFTER).
type WorkerSlots struct {
	// Workers is the number of live worker processes.
	Workers int
	// Total is the runs they execute at once, together (BATON_MAX_RUNS each).
	Total int
	// Busy is how many of those slots execute a run now.
	Busy int
}

// Free returns the number of slots free now.
func (s WorkerSlots) Free() int { return max(0, s.Total-s.Busy) }

// HistoryKey names the recent runs an estimate comes from: runs of the same
// test files (FilesKey) in one environment, or in any (EnvironmentID 0).
type HistoryKey struct {
	EnvironmentID int
	Files         string
}

// FilesKey is the key of a list of test files in HistoryKey.
func FilesKey(files []string) string { return strings.Join(files, "\n") }

// QueueSnapshot is the scheduler's state at one moment, read in one
// transaction.
type QueueSnapshot struct {
	Now          time.Time
	Environments []SchedEnvironment
	// Running and Queued are the live runs, Queued by id (start order).
	Running []LiveRun
	Queued  []LiveRun
	Slots   WorkerSlots
	// History holds the typical duration of recent runs per key; a key
	// without history is missing.
	History map[HistoryKey]time.Duration
}

// HistoryKeys lists the estimates ExplainQueue may need for s: every live
// run's files in each environment it runs in or could run in, and in any
// environment (the fallback).
func (s *QueueSnapshot) HistoryKeys() []HistoryKey {
	seen := map[HistoryKey]bool{}
	var keys []HistoryKey
	add := func(k HistoryKey) {
		if !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	members := s.poolMembers()
	for _, r := range slices.Concat(s.Running, s.Queued) {
		f := FilesKey(r.TestFiles)
		add(HistoryKey{Files: f})
		if r.EnvironmentID != 0 {
			add(HistoryKey{EnvironmentID: r.EnvironmentID, Files: f})
			continue
		}
		for _, e := range members[r.Pool] {
			add(HistoryKey{EnvironmentID: e, Files: f})
		}
	}
	return keys
}

// poolMembers maps each label to the environments carrying it, by id.
func (s *QueueSnapshot) poolMembers() map[string][]int {
	out := map[string][]int{}
	for _, e := range s.Environments {
		for _, l := range e.Labels {
			out[l] = append(out[l], e.ID)
		}
	}
	for _, ids := range out {
		sort.Ints(ids)
	}
	return out
}

// estimate is how long run r is expected to take in environment env: its
// files' recent runs there, else anywhere; ok is false without history.
func (s *QueueSnapshot) estimate(r *LiveRun, env int) (time.Duration, bool) {
	f := FilesKey(r.TestFiles)
	if d, ok := s.History[HistoryKey{EnvironmentID: env, Files: f}]; ok {
		return d, true
	}
	d, ok := s.History[HistoryKey{Files: f}]
	return d, ok
}

// QueueInfo explains one queued run.
type QueueInfo struct {
	// Position is 1 for the next run to start in its line: the runs that can
	// take its environment (a direct run), or the pool's runs (a pooled run).
	Position   int
	WaitingFor WaitingFor
	// ETA is how long until the run should start; nil when some run it
	// waits for has no history, or it waits for a hold without an end or
	// for a worker that does not exist.
	ETA *time.Duration
}

// EnvironmentQueue is what ExplainQueue says about one environment.
type EnvironmentQueue struct {
	State EnvironmentState
	// Hold is the hold in force, or about to be once the running run ends;
	// nil when none (or expired).
	Hold *Hold
	// RunningRunID is the run executing there.
	RunningRunID *int64
	// QueuedRunIDs are the runs asked for this environment, in start order.
	QueuedRunIDs []int64
}

// QueueExplanation is ExplainQueue's answer.
type QueueExplanation struct {
	Runs         map[int64]*QueueInfo
	Environments map[int]*EnvironmentQueue
	// Pools lists every label with its environments and its waiting runs.
	Pools []Pool
	// WaitingForCapacity counts the runs that wait for a free worker slot.
	WaitingForCapacity int
	Slots              WorkerSlots
}

// Pool is a label as a pool: the environments carrying it and the runs
// waiting for any of them.
type Pool struct {
	Name           string
	EnvironmentIDs []int
	// QueuedRunIDs are the pooled runs waiting, oldest first.
	QueuedRunIDs []int64
}

// queueState is ExplainQueue's working state.
type queueState struct {
	s       *QueueSnapshot
	envs    map[int]*SchedEnvironment
	members map[string][]int
	running map[int]*LiveRun // by environment
	// line maps each environment to the queued runs that can take it, by id.
	line map[int][]*LiveRun
}

// canUse reports whether queued run r may start in environment e.
func canUse(r *LiveRun, e *SchedEnvironment) bool {
	if r.EnvironmentID != 0 {
		return r.EnvironmentID == e.ID
	}
	return slices.Contains(e.Labels, r.Pool)
}

// ExplainQueue explains every queued run of s and the state of every
// environment.
func ExplainQueue(s *QueueSnapshot) *QueueExplanation {
	q := &queueState{s: s, envs: map[int]*SchedEnvironment{}, members: s.poolMembers(),
		running: map[int]*LiveRun{}, line: map[int][]*LiveRun{}}
	for i := range s.Environments {
		e := &s.Environments[i]
		q.envs[e.ID] = e
	}
	for i := range s.Running {
		q.running[s.Running[i].EnvironmentID] = &s.Running[i]
	}
	for i := range s.Queued {
		r := &s.Queued[i]
		for _, e := range s.Environments {
			if canUse(r, &e) {
				q.line[e.ID] = append(q.line[e.ID], r)
			}
		}
	}
	out := &QueueExplanation{Runs: map[int64]*QueueInfo{}, Environments: map[int]*EnvironmentQueue{}, Slots: s.Slots}
	poolQueue := map[string][]int64{}
	for i := range s.Queued {
		r := &s.Queued[i]
		info := &QueueInfo{}
		if r.EnvironmentID != 0 {
			info.Position, info.WaitingFor = q.explainDirect(r)
		} else {
			poolQueue[r.Pool] = append(poolQueue[r.Pool], r.ID)
			info.Position, info.WaitingFor = len(poolQueue[r.Pool]), q.explainPooled(r)
		}
		if info.WaitingFor.Kind == WaitCapacity {
			out.WaitingForCapacity++
		}
		out.Runs[r.ID] = info
	}
	for id, start := range q.simulate() {
		if info := out.Runs[id]; info != nil {
			eta := start
			info.ETA = &eta
		}
	}
	for _, e := range s.Environments {
		eq := &EnvironmentQueue{QueuedRunIDs: []int64{}}
		if e.Hold.ActiveAt(s.Now) {
			eq.Hold = e.Hold
		}
		for _, r := range q.line[e.ID] {
			if r.EnvironmentID == e.ID {
				eq.QueuedRunIDs = append(eq.QueuedRunIDs, r.ID)
			}
		}
		switch run := q.running[e.ID]; {
		case run != nil:
			id := run.ID
			eq.State, eq.RunningRunID = EnvBusy, &id
		case eq.Hold != nil:
			eq.State = EnvHeld
		case len(q.line[e.ID]) > 0:
			// Free, not held, and a run can take it: that run waits for a
			// worker slot, so the environment is not idle.
			eq.State = EnvWaiting
		default:
			eq.State = EnvIdle
		}
		out.Environments[e.ID] = eq
	}
	labels := make([]string, 0, len(q.members))
	for l := range q.members {
		labels = append(labels, l)
	}
	for l := range poolQueue {
		if _, ok := q.members[l]; !ok {
			labels = append(labels, l) // runs wait for a label no environment carries any more
		}
	}
	sort.Strings(labels)
	for _, l := range labels {
		ids := poolQueue[l]
		if ids == nil {
			ids = []int64{}
		}
		envs := q.members[l]
		if envs == nil {
			envs = []int{}
		}
		out.Pools = append(out.Pools, Pool{Name: l, EnvironmentIDs: envs, QueuedRunIDs: ids})
	}
	return out
}

// held returns environment id's hold when it is in force now.
func (q *queueState) held(id int) *Hold {
	if e := q.envs[id]; e != nil && e.Hold.ActiveAt(q.s.Now) {
		return e.Hold
	}
	return nil
}

// ahead returns the runs in environment env's line before run r.
func (q *queueState) ahead(env int, r *LiveRun) []*LiveRun {
	line := q.line[env]
	i := slices.IndexFunc(line, func(x *LiveRun) bool { return x.ID == r.ID })
	if i < 0 {
		return line
	}
	return line[:i]
}

func (q *queueState) explainDirect(r *LiveRun) (int, WaitingFor) {
	ahead := q.ahead(r.EnvironmentID, r)
	pos := len(ahead) + 1
	if h := q.held(r.EnvironmentID); h != nil {
		return pos, holdWait(r.EnvironmentID, h)
	}
	if len(ahead) > 0 {
		return pos, WaitingFor{Kind: WaitRun, RunID: ahead[len(ahead)-1].ID}
	}
	if run := q.running[r.EnvironmentID]; run != nil {
		return pos, WaitingFor{Kind: WaitRun, RunID: run.ID}
	}
	return pos, WaitingFor{Kind: WaitCapacity}
}

func (q *queueState) explainPooled(r *LiveRun) WaitingFor {
	members := q.members[r.Pool]
	if len(members) == 0 {
		return WaitingFor{Kind: WaitPool, Pool: r.Pool}
	}
	// The hold that ends first, if every member is held; one without an
	// end only when all are.
	var first *Hold
	firstEnv := 0
	for _, id := range members {
		h := q.held(id)
		if h == nil {
			first = nil
			break
		}
		if first == nil || (h.Until != nil && (first.Until == nil || h.Until.Before(*first.Until))) {
			first, firstEnv = h, id
		}
	}
	if first != nil {
		return holdWait(firstEnv, first)
	}
	for _, id := range members {
		if q.running[id] == nil && q.held(id) == nil && len(q.ahead(id, r)) == 0 {
			return WaitingFor{Kind: WaitCapacity}
		}
	}
	return WaitingFor{Kind: WaitPool, Pool: r.Pool}
}

func holdWait(env int, h *Hold) WaitingFor {
	return WaitingFor{Kind: WaitHold, EnvironmentID: env, HeldBy: h.HeldBy, Until: h.Until}
}

// never stands for a time that cannot be estimated.
var never = time.Duration(math.MaxInt64)

// simulate plays the scheduler forward from s.Now with every run taking its
// estimated time, and returns when each queued run starts, from now. A run
// missing from the answer cannot be estimated: something before it has no
// history, a hold has no end, or there is no worker.
//
// It follows the claim's rule event by event: the environment that frees
// first takes the oldest run that can use it, once a worker slot is free
// too (slots free when runs end, wherever they ran).
func (q *queueState) simulate() map[int64]time.Duration {
	s := q.s
	free := map[int]time.Duration{} // when each environment can next start a run
	var slots durationHeap
	busy := 0
	for _, e := range s.Environments {
		at := time.Duration(0)
		if run := q.running[e.ID]; run != nil {
			at = never
			if d, ok := s.estimate(run, e.ID); ok && run.StartedAt != nil {
				at = max(0, d-s.Now.Sub(*run.StartedAt))
			}
			if run.OnLiveWorker {
				slots = append(slots, at)
				busy++
			}
		}
		if h := q.held(e.ID); h != nil {
			if h.Until == nil {
				at = never
			} else {
				at = max(at, h.Until.Sub(s.Now))
			}
		}
		free[e.ID] = at
	}
	for i := busy; i < s.Slots.Total; i++ {
		slots = append(slots, 0)
	}
	heap.Init(&slots)

	started := map[int64]time.Duration{}
	taken := map[int64]bool{}
	next := map[int]int{} // index of the first untaken run in each line
	for len(taken) < len(s.Queued) && slots.Len() > 0 {
		// The environment that frees first among those with a run to take.
		env, at := 0, never
		var pick *LiveRun
		for _, e := range s.Environments {
			line := q.line[e.ID]
			i := next[e.ID]
			for i < len(line) && taken[line[i].ID] {
				i++
			}
			next[e.ID] = i
			if i < len(line) && free[e.ID] < at {
				env, at, pick = e.ID, free[e.ID], line[i]
			}
		}
		if pick == nil {
			break
		}
		start := max(at, slots[0])
		if start == never {
			break
		}
		heap.Pop(&slots)
		taken[pick.ID] = true
		started[pick.ID] = start
		end := never
		if d, ok := s.estimate(pick, env); ok {
			end = start + d
		}
		free[env] = end
		heap.Push(&slots, end)
	}
	return started
}

// durationHeap is a min-heap of times at which worker slots free up.
type durationHeap []time.Duration

func (h durationHeap) Len() int           { return len(h) }
func (h durationHeap) Less(i, j int) bool { return h[i] < h[j] }
func (h durationHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }

// Push implements heap.Interface.
func (h *durationHeap) Push(x any) { *h = append(*h, x.(time.Duration)) }

// Pop implements heap.Interface.
func (h *durationHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
