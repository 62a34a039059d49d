// Package schedcheck judges a record of executed runs against Baton's
// scheduling promises, for the race tests (in-process and with real
// processes): no two runs of one environment overlap, and every start
// follows the fairness rule. It knows nothing of how the record was made.
package schedcheck

import (
	"fmt"
	"slices"
	"sort"
	"time"
)

// Run is one executed run as a test recorded it.
type Run struct {
	ID int64
	// Env is where the run executed.
	Env int
	// AskedEnv is the environment it was asked for (0 for a pooled run);
	// Pool the label it was asked for ("" for a direct run).
	AskedEnv int
	Pool     string
	// Claimed is when it was given its environment (the order of claims:
	// Baton's started_at, all from the database's one clock).
	Claimed time.Time
	// Start and End bound what the run did in its environment, as the
	// test process itself recorded it.
	Start, End time.Time
}

// canUse reports whether r could have taken environment env.
func canUse(r Run, env int, labels map[int][]string) bool {
	if r.Pool == "" {
		return r.AskedEnv == env
	}
	return slices.Contains(labels[env], r.Pool)
}

// Overlaps returns, for each environment, every pair of runs whose
// recorded [Start, End] intervals intersect; none means one at a time.
func Overlaps(runs []Run) []string {
	byEnv := map[int][]Run{}
	for _, r := range runs {
		byEnv[r.Env] = append(byEnv[r.Env], r)
	}
	var out []string
	for env, rs := range byEnv {
		sort.Slice(rs, func(i, j int) bool { return rs[i].Start.Before(rs[j].Start) })
		for i := 1; i < len(rs); i++ {
			if rs[i].Start.Before(rs[i-1].End) {
				out = append(out, fmt.Sprintf("environment %d: run %d started at %s, before run %d ended at %s",
					env, rs[i].ID, rs[i].Start.Format(time.StampMicro), rs[i-1].ID, rs[i-1].End.Format(time.StampMicro)))
			}
		}
	}
	sort.Strings(out)
	return out
}

// Unfair returns every start that broke the fairness rule: run X was given
// environment E while an older run Y (lower id) that could take E had not
// been given one yet. labels are the environments' labels, unchanged during
// the record. Because a run's id is drawn under the lock of every
// environment it may take, an older run that can take E was always visible
// to the claim that gave E to X, so the rule admits no exception: the
// check is exact, not a heuristic.
func Unfair(runs []Run, labels map[int][]string) []string {
	sorted := slices.Clone(runs)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].ID < sorted[j].ID })
	var out []string
	for i, x := range sorted {
		for _, y := range sorted[:i] {
			if canUse(y, x.Env, labels) && y.Claimed.After(x.Claimed) {
				out = append(out, fmt.Sprintf("environment %d went to run %d at %s while the older run %d (%s) still waited (it started at %s in environment %d)",
					x.Env, x.ID, x.Claimed.Format(time.StampMicro), y.ID, target(y), y.Claimed.Format(time.StampMicro), y.Env))
			}
		}
	}
	return out
}

// Misplaced returns every run that executed where it could not: outside
// the environment it asked for, or in one without its pool's label.
func Misplaced(runs []Run, labels map[int][]string) []string {
	var out []string
	for _, r := range runs {
		if !canUse(r, r.Env, labels) {
			out = append(out, fmt.Sprintf("run %d (%s) executed in environment %d", r.ID, target(r), r.Env))
		}
	}
	return out
}

func target(r Run) string {
	if r.Pool != "" {
		return "pool " + r.Pool
	}
	return fmt.Sprintf("environment %d", r.AskedEnv)
}
