package runner

import (
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Boottime reads CLOCK_BOOTTIME: one clock shared by every process on the
// host (so the worker can hand a deadline to the supervisor as a plain
// number), that never jumps with the wall clock and, unlike
// CLOCK_MONOTONIC, keeps counting while the host is suspended, so a
// suspended worker host wakes up with its leases already expired rather
// than extended by the suspension.
func Boottime() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts); err != nil {
		// CLOCK_BOOTTIME exists on every kernel Go supports; failing here
		// means the process cannot keep time at all.
		panic("runner: clock_gettime(CLOCK_BOOTTIME): " + err.Error())
	}
	return time.Duration(ts.Nano())
}

// Lease is how long a run's processes may live: a deadline on the Boottime
// clock. The worker extends it after every heartbeat PostgreSQL confirmed
// (to the time the heartbeat was sent plus the lease duration); the run's
// supervisor kills the run's processes when the deadline passes, on its
// own, whatever the worker is doing. A lease only moves forward.
// A Lease is safe for concurrent use.
type Lease struct {
	mu       sync.Mutex
	deadline time.Duration
	changed  chan struct{}
}

// NewLease returns a lease ending at deadline (a Boottime value).
func NewLease(deadline time.Duration) *Lease {
	return &Lease{deadline: deadline, changed: make(chan struct{})}
}

// Extend moves the deadline to d if that is later, and reports whether it
// did. An earlier d is ignored: a heartbeat confirmed late proves less than
// a newer one already did.
func (l *Lease) Extend(d time.Duration) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if d <= l.deadline {
		return false
	}
	l.deadline = d
	close(l.changed)
	l.changed = make(chan struct{})
	return true
}

// Deadline returns the current deadline and a channel closed at the next
// extension.
func (l *Lease) Deadline() (time.Duration, <-chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.deadline, l.changed
}

// Remaining is how long the lease still runs; negative once expired.
func (l *Lease) Remaining() time.Duration {
	d, _ := l.Deadline()
	return d - Boottime()
}
