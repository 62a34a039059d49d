package onboarding

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/baton-ci/baton/api/internal/pgtest"
)

// riverNoise are River's housekeeping records: fine at debug, noise at info.
var riverNoise = regexp.MustCompile(`msg="?(producer: Producer job counts|River client started|[A-Za-z.]+: Ran successfully)`)

// TestQuietByDefault starts `baton serve` at the default log level and at
// BATON_LOG_LEVEL=debug side by side. Once the debug one has logged River's
// periodic job counts (so enough time has passed for them), the default one
// must have logged none of River's housekeeping, and still what a person
// starting Baton needs: the worker and the URL.
func TestQuietByDefault(t *testing.T) {
	t.Parallel()
	env := func(extra ...string) []string {
		dir := t.TempDir()
		return cleanEnv(append([]string{
			"DATABASE_URL=" + pgtest.NewURL(t),
			"BATON_DATA_DIR=" + filepath.Join(dir, "data"),
			"BATON_SAMPLE_TESTS_DIR=" + filepath.Join(moduleRoot, "sample-tests"),
			"BATON_SAMPLE_TESTS_WRITABLE=false",
			"BATON_WEB_DIR=" + filepath.Join(dir, "web"),
			"BATON_DB_MAX_CONNS=4",
		}, extra...)...)
	}
	quiet := startServer(t, env())
	loud := startServer(t, env("BATON_LOG_LEVEL=debug"))

	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(loud.output(), "Producer job counts") {
		require.True(t, time.Now().Before(deadline), "BATON_LOG_LEVEL=debug shows no River job counts after 30s:\n%s", loud.output())
		time.Sleep(100 * time.Millisecond)
	}
	require.Regexp(t, `level=DEBUG msg="producer: Producer job counts"`, loud.output())

	out := quiet.output()
	t.Logf("the default log:\n%s", out)
	require.NotRegexp(t, riverNoise, out)
	require.NotContains(t, out, "level=DEBUG")
	require.Contains(t, out, `msg="worker started"`)
	require.Contains(t, out, `msg="API listening"`)
}
