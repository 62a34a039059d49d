package onboarding

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// ruleRe matches a rule line: targets, a colon that is not part of an
// assignment (:=, ::=), prerequisites.
var ruleRe = regexp.MustCompile(`^([^\s:#=][^:#=]*):([^=]|$)`)

// makefileTargets returns the targets the Makefile defines, in order: every
// rule's targets except special ones (.PHONY), files (a path with a slash)
// and patterns.
func makefileTargets(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var targets []string
	seen := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		m := ruleRe.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		for _, name := range strings.Fields(m[1]) {
			if strings.HasPrefix(name, ".") || strings.ContainsAny(name, "/%$()") || seen[name] {
				continue
			}
			seen[name] = true
			targets = append(targets, name)
		}
	}
	require.NoError(t, sc.Err())
	return targets
}

// runMake runs make in the repository with args, outside any make that
// runs this test.
func runMake(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command("make", append([]string{"--no-print-directory"}, args...)...)
	cmd.Dir = moduleRoot
	cmd.Env = cleanEnv()
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "make %s:\n%s", strings.Join(args, " "), out)
	return string(out)
}

// helpLineRe is a line of `make help`: two spaces, the target, its text.
var helpLineRe = regexp.MustCompile(`^ {2}(\S+)\s+(.*)$`)

func TestMakeHelpListsEveryTarget(t *testing.T) {
	t.Parallel()
	targets := makefileTargets(t, filepath.Join(moduleRoot, "Makefile"))
	require.Contains(t, targets, "test-e2e", "the Makefile parser must see targets with digits")
	require.Contains(t, targets, "run")

	help := runMake(t, "help")
	listed := map[string]string{}
	var order []string
	for _, line := range strings.Split(strings.TrimRight(help, "\n"), "\n") {
		m := helpLineRe.FindStringSubmatch(line)
		require.NotNil(t, m, "make help printed a line that is not `  target  text`: %q", line)
		_, dup := listed[m[1]]
		require.False(t, dup, "make help lists %s twice", m[1])
		listed[m[1]] = m[2]
		order = append(order, m[1])
	}
	for _, target := range targets {
		text, ok := listed[target]
		if !assertTrue(t, ok, "make help does not list the target %q: give its rule a `## what it does` comment", target) {
			continue
		}
		require.NotEmpty(t, strings.TrimSpace(text), "make help has no text for %s", target)
		for _, raw := range []string{"$$", "$(", "${"} {
			require.NotContains(t, text, raw, "make help shows %s's text with make syntax in it: %q", target, text)
		}
	}
	for _, name := range order {
		require.Contains(t, targets, name, "make help lists %q, which the Makefile does not define", name)
	}

	require.Equal(t, help, runMake(t), "a bare `make` is `make help`")
}

func assertTrue(t *testing.T, ok bool, format string, args ...any) bool {
	t.Helper()
	if !ok {
		t.Errorf(format, args...)
	}
	return ok
}

// TestMakeLintRunsEveryLinter reads what `make lint` would run (make -n) and
// checks that each linter the repository has is among it.
func TestMakeLintRunsEveryLinter(t *testing.T) {
	t.Parallel()
	plan := runMake(t, "-n", "lint")
	for _, want := range []string{"gofmt -l", "go vet", "npm run --silent lint"} {
		require.Contains(t, plan, want, "make lint does not run %s; make -n lint:\n%s", want, plan)
	}
	if cfg, _ := filepath.Glob(filepath.Join(moduleRoot, ".golangci.*")); len(cfg) > 0 {
		require.Contains(t, plan, "golangci-lint", "the repository configures golangci-lint but make lint does not run it")
	}
}
