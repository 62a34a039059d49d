package domain

import "time"

// A worker's lease on a run: the run's processes live only while it does.
// It lasts LostAfter − margin from the send time of the last heartbeat
// PostgreSQL confirmed, and another worker reaps the run only once the
// database has seen no heartbeat for LostAfter, so the margin is what the
// run's supervisor has to kill the tree and confirm it dead (plus any
// difference between the hosts' clock rates). The rule lives here because
// both api/config (BATON_LEASE_MARGIN's default and its start-up check) and
// api/jobs (the worker's own defaults) apply it, and neither may import
// the other.

// MaxDefaultLeaseMargin caps the default lease margin: killing a run's
// tree through its cgroup takes milliseconds and clock rates differ by
// parts per million, so 3s is ample.
const MaxDefaultLeaseMargin = 3 * time.Second

// DefaultLeaseMargin is the lease margin for a lost-after when none is
// configured: a quarter of it, at most MaxDefaultLeaseMargin. The quarter
// keeps a short lost-after usable (3s leaves a 2.25s lease).
func DefaultLeaseMargin(lostAfter time.Duration) time.Duration {
	return min(MaxDefaultLeaseMargin, lostAfter/4)
}

// RunLease applies the lease rule: margin, or DefaultLeaseMargin when it
// is zero, and the lease it leaves. ok is false when that lease is shorter
// than two heartbeat intervals: it would expire between two heartbeats
// and kill healthy runs, so the caller must refuse to start (each caller
// names its own settings in the message).
func RunLease(lostAfter, margin, heartbeat time.Duration) (usedMargin, lease time.Duration, ok bool) {
	if margin == 0 {
		margin = DefaultLeaseMargin(lostAfter)
	}
	lease = lostAfter - margin
	return margin, lease, lease >= 2*heartbeat
}
