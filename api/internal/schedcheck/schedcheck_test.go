package schedcheck_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/baton-ci/baton/api/internal/schedcheck"
)

// The checks must catch what they are for; a checker that cannot fail
// would make the race tests pass whatever Baton does.
func TestChecksCatchViolations(t *testing.T) {
	t.Parallel()
	base := time.Unix(1_700_000_000, 0)
	s := func(d int) time.Time { return base.Add(time.Duration(d) * time.Second) }
	labels := map[int][]string{1: {"a"}, 2: {"a", "b"}}
	fair := []schedcheck.Run{
		{ID: 1, Env: 1, AskedEnv: 1, Claimed: s(0), Start: s(0), End: s(2)},
		{ID: 2, Env: 2, Pool: "a", Claimed: s(1), Start: s(1), End: s(3)},
		{ID: 3, Env: 1, Pool: "a", Claimed: s(2), Start: s(2), End: s(4)},
		{ID: 4, Env: 2, AskedEnv: 2, Claimed: s(3), Start: s(3), End: s(4)},
	}
	require.Empty(t, schedcheck.Overlaps(fair))
	require.Empty(t, schedcheck.Unfair(fair, labels))
	require.Empty(t, schedcheck.Misplaced(fair, labels))

	overlap := append([]schedcheck.Run(nil), fair...)
	overlap[2].Start = s(1)
	require.Len(t, schedcheck.Overlaps(overlap), 1)

	// Run 3 (pool a) still waited when environment 2 went to run 4.
	unfair := append([]schedcheck.Run(nil), fair...)
	unfair[2].Env, unfair[2].Claimed = 1, s(5)
	unfair[2].Start, unfair[2].End = s(5), s(6)
	require.Len(t, schedcheck.Unfair(unfair, labels), 1)
	// Run 4 could not take environment 1, so run 2's wait there is no
	// violation; a younger run of another pool neither.
	require.Empty(t, schedcheck.Unfair([]schedcheck.Run{
		{ID: 1, Env: 2, Pool: "b", Claimed: s(5)},
		{ID: 2, Env: 1, Pool: "a", Claimed: s(1)},
	}, labels))

	misplaced := []schedcheck.Run{{ID: 9, Env: 1, Pool: "b"}, {ID: 10, Env: 2, AskedEnv: 1}}
	require.Len(t, schedcheck.Misplaced(misplaced, labels), 2)
}
