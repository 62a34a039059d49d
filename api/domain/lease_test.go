package domain_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/baton-ci/baton/api/domain"
)

func TestRunLease(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name                         string
		lostAfter, margin, heartbeat time.Duration
		wantMargin, wantLease        time.Duration
		ok                           bool
	}{
		{"default margin is capped at 3s", 12 * time.Second, 0, time.Second, 3 * time.Second, 9 * time.Second, true},
		{"default margin is a quarter of a short lost-after", 3 * time.Second, 0, 500 * time.Millisecond, 750 * time.Millisecond, 2250 * time.Millisecond, true},
		{"a set margin is kept", 12 * time.Second, 5 * time.Second, time.Second, 5 * time.Second, 7 * time.Second, true},
		{"a lease of exactly two heartbeats passes", 12 * time.Second, 10 * time.Second, time.Second, 10 * time.Second, 2 * time.Second, true},
		{"a lease of one heartbeat is refused", 12 * time.Second, 11 * time.Second, time.Second, 11 * time.Second, time.Second, false},
		{"no lease at all is refused", 12 * time.Second, 12 * time.Second, time.Second, 12 * time.Second, 0, false},
		{"a negative lease is refused", 12 * time.Second, 20 * time.Second, time.Second, 20 * time.Second, -8 * time.Second, false},
		{"the default can be refused with a slow heartbeat", 4 * time.Second, 0, 2 * time.Second, time.Second, 3 * time.Second, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			margin, lease, ok := domain.RunLease(c.lostAfter, c.margin, c.heartbeat)
			require.Equal(t, c.wantMargin, margin, "margin")
			require.Equal(t, c.wantLease, lease, "lease")
			require.Equal(t, c.ok, ok, "ok")
		})
	}
	require.Equal(t, 2*time.Second, domain.DefaultLeaseMargin(8*time.Second))
	require.Equal(t, domain.MaxDefaultLeaseMargin, domain.DefaultLeaseMargin(time.Hour))
}
