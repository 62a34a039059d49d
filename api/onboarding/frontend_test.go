package onboarding

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// frontendRepo is a small git checkout with deploy/dev/frontend.sh, a
// frontend/ and openapi.yaml, and fake npm and node on PATH that log what
// they are asked to do.
type frontendRepo struct {
	t    *testing.T
	dir  string
	log  string
	path string
}

func newFrontendRepo(t *testing.T) *frontendRepo {
	t.Helper()
	dir := t.TempDir()
	r := &frontendRepo{t: t, dir: dir, log: filepath.Join(dir, "calls.log")}
	script, err := os.ReadFile(filepath.Join(moduleRoot, "deploy", "dev", "frontend.sh"))
	require.NoError(t, err)
	r.write("deploy/dev/frontend.sh", string(script))
	require.NoError(t, os.Chmod(filepath.Join(dir, "deploy", "dev", "frontend.sh"), 0o755))
	r.write("openapi.yaml", "openapi: 3.0.3\n")
	r.write("frontend/package.json", `{"name": "x"}`)
	r.write("frontend/package-lock.json", `{"lockfileVersion": 3}`)
	r.write("frontend/.gitignore", "node_modules/\ndist/\n")
	r.write("frontend/src/main.ts", "console.log(1)\n")
	r.write("frontend/src/api/schema.d.ts", "// generated\n")
	r.write("frontend/README.md", "the UI\n")
	r.git("init", "-q")
	r.git("add", ".")
	r.git("-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-qm", "init")

	bin := filepath.Join(dir, "fakebin")
	// npm ci fills node_modules; npm run build fills dist, or fails when
	// FAIL_BUILD is set.
	r.write("fakebin/npm", `#!/bin/sh
echo "npm $*" >>"$CALLS"
case "$1" in
  ci) rm -rf node_modules && mkdir -p node_modules/pkg ;;
  run) [ -z "$FAIL_BUILD" ] || exit 1; rm -rf dist && mkdir -p dist && echo built >dist/index.html ;;
esac
`)
	r.write("fakebin/node", "#!/bin/sh\necho ${FAKE_NODE_VERSION:-v20.0.0}\n")
	require.NoError(t, os.Chmod(filepath.Join(bin, "npm"), 0o755))
	require.NoError(t, os.Chmod(filepath.Join(bin, "node"), 0o755))
	r.path = bin + string(os.PathListSeparator) + os.Getenv("PATH")
	return r
}

func (r *frontendRepo) write(name, content string) {
	r.t.Helper()
	p := filepath.Join(r.dir, name)
	require.NoError(r.t, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(r.t, os.WriteFile(p, []byte(content), 0o644))
}

func (r *frontendRepo) git(args ...string) {
	r.t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = r.dir
	out, err := cmd.CombinedOutput()
	require.NoError(r.t, err, "git %v: %s", args, out)
}

// run runs frontend.sh with args and returns the npm calls it made.
func (r *frontendRepo) run(env []string, args ...string) (calls []string, err error) {
	r.t.Helper()
	_ = os.Remove(r.log)
	cmd := exec.Command(filepath.Join(r.dir, "deploy", "dev", "frontend.sh"), args...)
	cmd.Env = append(cleanEnv("PATH="+r.path, "CALLS="+r.log), env...)
	out, err := cmd.CombinedOutput()
	b, _ := os.ReadFile(r.log)
	if s := strings.TrimSpace(string(b)); s != "" {
		calls = strings.Split(s, "\n")
	}
	if err != nil {
		r.t.Logf("frontend.sh %v: %v\n%s", args, err, out)
	}
	return calls, err
}

func (r *frontendRepo) build(env ...string) []string {
	r.t.Helper()
	calls, err := r.run(env, "build")
	require.NoError(r.t, err)
	return calls
}

var (
	npmCI    = "npm ci --prefer-offline --no-audit --no-fund --loglevel=error"
	npmBuild = "npm run --silent build"
)

// TestFrontendBuildsOnlyWhatChanged: npm ci runs only when package-lock.json
// (or Node) changed since the last install, the build only when a source
// did; content counts, time stamps do not; a failed step is redone.
func TestFrontendBuildsOnlyWhatChanged(t *testing.T) {
	t.Parallel()
	r := newFrontendRepo(t)
	require.Equal(t, []string{npmCI, npmBuild}, r.build(), "first time: install and build")
	require.Empty(t, r.build(), "nothing changed")

	// Time stamps alone, as after a checkout or a rebase, change nothing.
	future := time.Now().Add(time.Hour)
	for _, f := range []string{"frontend/src/main.ts", "frontend/package-lock.json", "openapi.yaml"} {
		require.NoError(t, os.Chtimes(filepath.Join(r.dir, f), future, future))
	}
	require.Empty(t, r.build(), "only the time stamps changed")

	r.write("frontend/src/main.ts", "console.log(2)\n")
	require.Equal(t, []string{npmBuild}, r.build(), "a source changed")
	require.Empty(t, r.build())

	r.write("frontend/src/new.ts", "export {}\n")
	require.Equal(t, []string{npmBuild}, r.build(), "a new, untracked source")

	require.NoError(t, os.Remove(filepath.Join(r.dir, "frontend", "src", "new.ts")))
	require.Equal(t, []string{npmBuild}, r.build(), "a source removed")

	r.write("openapi.yaml", "openapi: 3.0.3\ninfo: {}\n")
	require.Equal(t, []string{npmBuild}, r.build(), "openapi.yaml feeds the generated client")

	r.write("frontend/src/api/schema.d.ts", "// generated again\n")
	r.write("frontend/dist/extra.js", "x\n")
	r.write("frontend/node_modules/pkg/x.js", "x\n")
	require.Empty(t, r.build(), "the generated client and ignored files are outputs, not inputs")

	r.write("frontend/package-lock.json", `{"lockfileVersion": 3, "packages": {}}`)
	require.Equal(t, []string{npmCI, npmBuild}, r.build(), "package-lock.json changed")
	require.Empty(t, r.build())

	require.Equal(t, []string{npmCI}, r.build("FAKE_NODE_VERSION=v22.0.0"), "another Node")

	require.NoError(t, os.RemoveAll(filepath.Join(r.dir, "frontend", "dist")))
	require.Equal(t, []string{npmBuild}, r.build("FAKE_NODE_VERSION=v22.0.0"), "dist/ removed (make clean)")

	r.write("frontend/src/main.ts", "console.log(3)\n")
	_, err := r.run([]string{"FAIL_BUILD=1", "FAKE_NODE_VERSION=v22.0.0"}, "build")
	require.Error(t, err, "a failed build fails")
	require.Equal(t, []string{npmBuild}, r.build("FAKE_NODE_VERSION=v22.0.0"), "a failed build is redone")

	calls, err := r.run([]string{"FAKE_NODE_VERSION=v22.0.0"}, "deps")
	require.NoError(t, err)
	require.Empty(t, calls, "deps alone: installed already")
	require.Equal(t, []string{npmCI, npmBuild}, r.build("FORCE=1", "FAKE_NODE_VERSION=v22.0.0"))
}
