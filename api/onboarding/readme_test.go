package onboarding

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/baton-ci/baton/api/internal/pgtest"
)

// readmeFiles are the documents whose shell examples must run.
var readmeFiles = []string{"README.md"}

// TestREADMEExamples runs every shell example of the README, in order,
// against a fresh `baton serve`, and checks the result each one states (see
// examples_test.go and README.md, "Examples in this README are tested").
func TestREADMEExamples(t *testing.T) {
	t.Parallel()
	for _, file := range readmeFiles {
		t.Run(file, func(t *testing.T) {
			md, err := os.ReadFile(filepath.Join(moduleRoot, file))
			require.NoError(t, err)
			blocks, problems := parseMarkdown(string(md))
			for _, p := range problems {
				t.Errorf("%s %s", file, p)
			}
			var all []step
			for _, b := range blocks {
				if !shellLangs[b.Lang] {
					continue
				}
				if b.Skip != "" {
					t.Run(fmt.Sprintf("%s:%d", file, b.Line), func(t *testing.T) {
						t.Skipf("not run (readme-test: skip): %s", b.Skip)
					})
					continue
				}
				s, problems := steps(b)
				for _, p := range problems {
					t.Errorf("%s %s", file, p)
				}
				all = append(all, s...)
			}
			require.NotEmpty(t, all, "%s has no shell example to run", file)
			if t.Failed() {
				return
			}

			env := exampleWorkspace(t)
			srv := startServer(t, cleanEnv(
				"DATABASE_URL="+pgtest.NewURL(t),
				"BATON_DATA_DIR="+filepath.Join(env.Dir, ".data"),
				"BATON_SAMPLE_TESTS_DIR="+filepath.Join(env.Dir, "sample-tests"),
				"BATON_WEB_DIR="+filepath.Join(env.Dir, "no-web-ui"),
				// The examples need few; make test shares the server's 100.
				"BATON_DB_MAX_CONNS=6",
				"BATON_MAX_RUNS=4",
			))
			env.Port = srv.port
			results, err := runSteps(context.Background(), all, env)
			require.NoError(t, err)
			for _, r := range results {
				t.Run(r.Step.Name(file), func(t *testing.T) {
					for _, p := range r.Problems {
						t.Error(p)
					}
					if r.Ran && len(r.Problems) == 0 {
						t.Logf("ok: exit %d, HTTP %v", r.Exit, r.Statuses)
					}
				})
			}
		})
	}
}

// exampleWorkspace is a directory that looks like the repository root to
// the examples (each top-level entry linked), so `sample-tests/...` and
// `bin/baton` resolve, while the files they create land in a temporary
// directory. sample-tests is a copy, so an upload into it cannot change the
// repository, and bin/ holds the binary under test.
func exampleWorkspace(t *testing.T) exampleEnv {
	t.Helper()
	dir := t.TempDir()
	entries, err := os.ReadDir(moduleRoot)
	require.NoError(t, err)
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") || name == "bin" || name == "sample-tests" {
			continue
		}
		require.NoError(t, os.Symlink(filepath.Join(moduleRoot, name), filepath.Join(dir, name)))
	}
	out, err := exec.Command("cp", "-R", filepath.Join(moduleRoot, "sample-tests"), filepath.Join(dir, "sample-tests")).CombinedOutput()
	require.NoError(t, err, "%s", out)
	bin := filepath.Join(dir, "bin")
	require.NoError(t, os.Mkdir(bin, 0o755))
	require.NoError(t, os.Symlink(batonBin, filepath.Join(bin, "baton")))
	return exampleEnv{Dir: dir, Env: withPath(cleanEnv(), bin), Timeout: 3 * time.Minute}
}

// TestExampleConventionCatchesWrongResults runs examples with wrong
// expectations against a small HTTP server: the README test must report
// each of them, or it would pass whatever the README says.
func TestExampleConventionCatchesWrongResults(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"status":"ok","items":[{"path":"a.py","size":1},{"path":"b.py","size":2}]}`)
	})
	mux.HandleFunc("/created", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusCreated)
		fmt.Fprint(w, `{"id":1}`)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	port := ln.Addr().(*net.TCPAddr).Port

	md := "intro\n\n" +
		"```sh\n" +
		"curl -s localhost:8080/ok\n" + // 1: fine, fields and an array element
		"# => 200 {\"status\": \"ok\", \"items\": [{\"path\": \"b.py\"}]}\n" +
		"curl -s localhost:8080/ok\n" + // 2: wrong status
		"# => 201\n" +
		"curl -s localhost:8080/missing\n" + // 3: a 404 nobody expected, then a 201
		"curl -s -XPOST localhost:8080/created\n" + //    (the step's last response) with the wrong fields
		"# => 201 {\"id\": 2}\n" +
		"curl -s localhost:8080/missing\n" + // 4: a 404 that was expected
		"# => 404\n" +
		"x=42\n" + // 5: state carries over; prints
		"echo \"x is $x\"\n" +
		"# => prints x is 42\n" +
		"sh -c 'exit 3'\n" + // 6: an exit status stated
		"# => exit 3\n" +
		"echo plain text\n" + // 7: JSON wanted, text printed
		"# => {\"a\": 1}\n" +
		"echo '{\"items\": [{\"path\": \"a.py\"}]}'\n" + // 8: array element missing
		"# => {\"items\": [{\"path\": \"c.py\"}]}\n" +
		"```\n\n" +
		"```sh\n" +
		"false\n" + // 9: a failing command stops the run
		"echo never\n" +
		"```\n\n" +
		"```sh\n" +
		"echo after\n" + // 10: never reached
		"```\n"
	blocks, problems := parseMarkdown(md)
	require.Empty(t, problems)
	var all []step
	for _, b := range blocks {
		s, problems := steps(b)
		require.Empty(t, problems)
		all = append(all, s...)
	}
	require.Len(t, all, 10)
	results, err := runSteps(context.Background(), all, exampleEnv{Dir: t.TempDir(), Port: port, Env: cleanEnv(), Timeout: time.Minute})
	require.NoError(t, err)
	problem := func(i int) string { return strings.Join(results[i-1].Problems, "\n") }
	require.Empty(t, problem(1))
	require.Contains(t, problem(2), "HTTP 200, want 201")
	require.Contains(t, problem(3), "an HTTP request got 404")
	require.Contains(t, problem(3), `the output lacks {"id": 2}`)
	require.Equal(t, []int{404, 201}, results[2].Statuses)
	require.Empty(t, problem(4))
	require.Empty(t, problem(5))
	require.Empty(t, problem(6))
	require.Contains(t, problem(7), "not JSON")
	require.Contains(t, problem(8), "lacks")
	require.Contains(t, problem(9), "stopped the run: a command failed: false")
	require.Contains(t, problem(10), "not run")
}

func TestExampleConventionRefusesWhatCannotRun(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct{ md, want string }{
		"no language":       {"```\ncurl localhost:8080\n```\n", "without a language"},
		"prompts":           {"```console\n$ curl localhost:8080\n```\n", "cannot run as written"},
		"skip, no reason":   {"<!-- readme-test: skip -->\n```sh\nmake run\n```\n", "needs a reason"},
		"skip, no block":    {"<!-- readme-test: skip docker -->\ntext\n", "not followed by a code block"},
		"unknown directive": {"<!-- readme-test: only linux -->\n```sh\nls\n```\n", "unknown readme-test directive"},
		"unclosed":          {"```sh\nls\n", "never closed"},
	} {
		t.Run(name, func(t *testing.T) {
			_, problems := parseMarkdown(tc.md)
			require.NotEmpty(t, problems)
			require.Contains(t, strings.Join(problems, "\n"), tc.want)
		})
	}
	for name, tc := range map[string]struct{ line, want string }{
		"empty":     {"# =>", "states nothing"},
		"bad JSON":  {`# => {"a": }`, "does not parse"},
		"free text": {"# => it works", "want an HTTP status"},
	} {
		t.Run(name, func(t *testing.T) {
			_, problems := steps(codeBlock{Line: 1, Lang: "sh", Content: []string{"ls", tc.line}})
			require.Contains(t, strings.Join(problems, "\n"), tc.want)
		})
	}

	blocks, problems := parseMarkdown("<!-- readme-test: skip needs Docker -->\n```sh\ndocker compose up\n```\n\n" +
		"  ```bash\n  cat >f <<'EOF'\n  x\n  EOF\n  # => exit 0\n  ```\n")
	require.Empty(t, problems)
	require.Len(t, blocks, 2)
	require.Equal(t, "needs Docker", blocks[0].Skip)
	s, problems := steps(blocks[1])
	require.Empty(t, problems)
	require.Len(t, s, 1)
	require.Equal(t, "cat >f <<'EOF'\nx\nEOF", s[0].Script, "the list item's indentation is removed")
	require.Equal(t, 7, s[0].First)
	require.Equal(t, 9, s[0].Last)
}
