package runner

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/baton-ci/baton/api/domain"
)

func TestProgressCounterReadsVerboseOutput(t *testing.T) {
	t.Parallel()
	pc := &ProgressCounter{}
	require.Nil(t, pc.Progress(), "no progress before collection")
	out := "============================= test session starts ==============================\n" +
		"collecting ... collected 4 items\n\n" +
		"test_a.py::test_one PASSED                                               [ 25%]\n" +
		"test_a.py::test_two tick 0\ntick 1\nFAILED                                  [ 50%]\n" +
		"test_a.py::test_three SKIPPED (no db)                                   [ 75%]\n"
	// Byte by byte: lines split across writes must still count once.
	for i := range len(out) {
		_, _ = pc.Write([]byte{out[i]})
	}
	require.Equal(t, &domain.Progress{Completed: 3, Total: 4}, pc.Progress())
	_, _ = pc.Write([]byte("test_a.py::test_four ERROR                                              [100%]\n"))
	// A teardown error after a pass prints a second result; never exceed the total.
	_, _ = pc.Write([]byte("test_a.py::test_four ERROR                                              [100%]\n"))
	require.Equal(t, &domain.Progress{Completed: 4, Total: 4}, pc.Progress())
}

func TestProgressCounterIgnoresResultWordsBeforeCollection(t *testing.T) {
	t.Parallel()
	pc := &ProgressCounter{}
	_, _ = pc.Write([]byte("PASSED [100%]\ncollected 1 item\n"))
	require.Equal(t, &domain.Progress{Completed: 0, Total: 1}, pc.Progress())
	_, _ = pc.Write([]byte(strings.Repeat("x", 200<<10)))
	require.LessOrEqual(t, len(pc.partial), maxProgressLine)
}
