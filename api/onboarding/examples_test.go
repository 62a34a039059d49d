package onboarding

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// This file reads the shell examples out of a Markdown file and runs them.
// The convention it implements is documented for authors in README.md
// ("Examples in this README are tested"); in short:
//
//   - Every fenced code block names its language. Blocks in sh, bash or
//     shell are examples and run, in the order they appear, in one bash
//     process (so a variable set by one example is there for the next), with
//     `set -e -o pipefail`. Other languages (text, yaml, json, ...) are not
//     run; "console"-style blocks with prompts are refused.
//   - `<!-- readme-test: skip REASON -->` on the line before a block leaves
//     it out; the test reports it as skipped, with the reason.
//   - A line `# => EXPECTATION` closes a step: the commands since the
//     previous step, checked against it. Expectations: an HTTP status
//     (`# => 201`), JSON fields (`# => {"status": "queued"}`, a subset of
//     the JSON the step prints last), both (`# => 201 {"id": 1}`), an exit
//     status (`# => exit 1`, default 0) and text (`# => prints 1 passed`).
//   - Without an expectation a step must exit 0 and every HTTP response
//     curl received in it must be below 400.
//   - localhost:8080 (and 127.0.0.1:8080) in an example means the server
//     the test started; BATON_URL points there too.

// shellLangs are the fence languages that run.
var shellLangs = map[string]bool{"sh": true, "bash": true, "shell": true}

// promptLangs are refused: their commands carry prompts and output inline,
// which cannot run as written.
var promptLangs = map[string]bool{"console": true, "shell-session": true, "sh-session": true,
	"shellsession": true, "terminal": true, "session": true}

// codeBlock is one fenced block of a Markdown file.
type codeBlock struct {
	// Line is the 1-based line of the opening fence.
	Line int
	Lang string
	// Skip is the reason given by a readme-test: skip marker, if any.
	Skip    string
	Content []string
}

// step is a run of commands and what they should do.
type step struct {
	// First and Last are the file's 1-based lines of the step's commands.
	First, Last int
	Script      string
	Expect      []expectation
}

// Name is how reports refer to the step: FILE:FIRST-LAST and its first command.
func (s step) Name(file string) string {
	first := strings.TrimSpace(strings.SplitN(s.Script, "\n", 2)[0])
	if len(first) > 60 {
		first = first[:57] + "..."
	}
	if s.First == s.Last {
		return fmt.Sprintf("%s:%d %s", file, s.First, first)
	}
	return fmt.Sprintf("%s:%d-%d %s", file, s.First, s.Last, first)
}

// expectation is one `# =>` line.
type expectation struct {
	Line int
	// Status is the HTTP status of the step's last response (0: unstated).
	Status int
	// Exit is the step's exit status, if stated.
	Exit *int
	// JSON holds fields the step's last printed JSON value must have.
	JSON     any
	JSONText string
	// Prints is text the step's output must contain.
	Prints string
}

var (
	fenceRe  = regexp.MustCompile("^([ \t]*)(`{3,}|~{3,})[ \t]*([^ \t`]*)(.*)$")
	markerRe = regexp.MustCompile(`^\s*<!--\s*readme-test:(.*?)-->\s*$`)
	expectRe = regexp.MustCompile(`^\s*# =>(.*)$`)
	statusRe = regexp.MustCompile(`^([1-5]\d{2})(\s+|$)`)
	exitRe   = regexp.MustCompile(`^exit\s+(\d+)(\s+|$)`)
)

// parseMarkdown returns the fenced code blocks of a Markdown document, and
// everything that breaks the convention.
func parseMarkdown(md string) ([]codeBlock, []string) {
	var (
		blocks   []codeBlock
		problems []string
		cur      *codeBlock
		fence    string
		indent   int
		marker   = -1 // line index of a pending skip marker
		reason   string
	)
	lines := strings.Split(md, "\n")
	for i, line := range lines {
		if cur != nil {
			if m := fenceRe.FindStringSubmatch(line); len(m) == 5 && m[2][0] == fence[0] && len(m[2]) >= len(fence) &&
				m[3] == "" && strings.TrimSpace(m[4]) == "" {
				blocks = append(blocks, *cur)
				cur = nil
				continue
			}
			cur.Content = append(cur.Content, dedent(line, indent))
			continue
		}
		if m := markerRe.FindStringSubmatch(line); m != nil {
			directive := strings.TrimSpace(m[1])
			r, ok := strings.CutPrefix(directive, "skip")
			r = strings.TrimSpace(strings.TrimLeft(r, " \t:—-"))
			switch {
			case !ok:
				problems = append(problems, fmt.Sprintf("line %d: unknown readme-test directive %q (only \"skip REASON\")", i+1, directive))
			case r == "":
				problems = append(problems, fmt.Sprintf("line %d: readme-test: skip needs a reason", i+1))
			default:
				marker, reason = i, r
			}
			continue
		}
		m := fenceRe.FindStringSubmatch(line)
		if m == nil {
			if marker >= 0 && strings.TrimSpace(line) != "" {
				problems = append(problems, fmt.Sprintf("line %d: readme-test: skip is not followed by a code block", marker+1))
				marker = -1
			}
			continue
		}
		fence, indent = m[2], len(m[1])
		cur = &codeBlock{Line: i + 1, Lang: strings.ToLower(m[3])}
		if marker >= 0 {
			cur.Skip = reason
			marker = -1
		}
		switch {
		case cur.Lang == "":
			problems = append(problems, fmt.Sprintf("line %d: a code block without a language: write sh for an example "+
				"the test runs, or text, yaml, ... for one it does not", i+1))
		case promptLangs[cur.Lang]:
			problems = append(problems, fmt.Sprintf("line %d: a %s block cannot run as written: write sh, commands "+
				"without prompts, results as `# =>` lines", i+1, cur.Lang))
		}
	}
	if cur != nil {
		problems = append(problems, fmt.Sprintf("line %d: code block never closed", cur.Line))
	}
	if marker >= 0 {
		problems = append(problems, fmt.Sprintf("line %d: readme-test: skip is not followed by a code block", marker+1))
	}
	return blocks, problems
}

func dedent(line string, n int) string {
	for i := 0; i < n && line != "" && (line[0] == ' ' || line[0] == '\t'); i++ {
		line = line[1:]
	}
	return line
}

// steps splits a shell block into steps at its `# =>` lines.
func steps(b codeBlock) ([]step, []string) {
	var (
		out      []step
		problems []string
		cur      step
		script   []string
	)
	flush := func() {
		if len(script) == 0 && len(cur.Expect) == 0 {
			return
		}
		cur.Script = strings.Join(script, "\n")
		if strings.TrimSpace(cur.Script) == "" {
			problems = append(problems, fmt.Sprintf("line %d: an expectation with no command before it", cur.Expect[0].Line))
		} else {
			out = append(out, cur)
		}
		cur, script = step{}, nil
	}
	for i, line := range b.Content {
		n := b.Line + 1 + i
		if m := expectRe.FindStringSubmatch(line); m != nil {
			e, err := parseExpectation(strings.TrimSpace(m[1]))
			if err != nil {
				problems = append(problems, fmt.Sprintf("line %d: %v", n, err))
				continue
			}
			e.Line = n
			cur.Expect = append(cur.Expect, e)
			continue
		}
		if len(cur.Expect) > 0 {
			flush()
		}
		if len(script) == 0 && strings.TrimSpace(line) == "" {
			continue
		}
		if len(script) == 0 {
			cur.First = n
		}
		script = append(script, line)
		if strings.TrimSpace(line) != "" {
			cur.Last = n
		}
	}
	flush()
	return out, problems
}

func parseExpectation(s string) (expectation, error) {
	var e expectation
	rest := s
	if m := exitRe.FindStringSubmatch(rest); m != nil {
		n, _ := strconv.Atoi(m[1])
		e.Exit = &n
		rest = rest[len(m[0]):]
	} else if m := statusRe.FindStringSubmatch(rest); m != nil {
		e.Status, _ = strconv.Atoi(m[1])
		rest = rest[len(m[0]):]
	}
	rest = strings.TrimSpace(rest)
	switch {
	case rest == "":
		if e.Status == 0 && e.Exit == nil {
			return e, errors.New("`# =>` states nothing: give an HTTP status, exit N, JSON fields or prints TEXT")
		}
	case rest[0] == '{' || rest[0] == '[':
		if err := json.Unmarshal([]byte(rest), &e.JSON); err != nil {
			return e, fmt.Errorf("`# =>` JSON does not parse (%w): %s", err, rest)
		}
		e.JSONText = rest
	case strings.HasPrefix(rest, "prints "):
		e.Prints = strings.TrimSpace(strings.TrimPrefix(rest, "prints "))
	default:
		return e, fmt.Errorf("`# => %s`: want an HTTP status, exit N, {JSON fields} or prints TEXT", s)
	}
	return e, nil
}

// exampleEnv is where the examples run.
type exampleEnv struct {
	// Dir is the working directory.
	Dir string
	// Port is the test server's port, which localhost:8080 becomes.
	Port int
	// Env is the examples' environment (PATH should start with a directory
	// holding `baton`).
	Env []string
	// Timeout bounds the whole run.
	Timeout time.Duration
}

var hostPortRe = regexp.MustCompile(`\b(localhost|127\.0\.0\.1):8080\b`)

// stepResult is what one step did and what is wrong with it.
type stepResult struct {
	Step     step
	Ran      bool
	Exit     int
	Stdout   string
	Stderr   string
	Statuses []int
	// Failed is the command bash was running when the step stopped the run.
	Failed   string
	Problems []string
}

// runSteps runs the steps in order in one bash process and checks each.
// Steps after one that stopped the run are reported as not run.
func runSteps(ctx context.Context, all []step, env exampleEnv) ([]stepResult, error) {
	rec, err := os.MkdirTemp("", "baton-readme-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(rec)
	wrappers := filepath.Join(rec, "bin")
	if err := writeCurlWrapper(wrappers); err != nil {
		return nil, err
	}

	var script strings.Builder
	script.WriteString("set -eE -o pipefail\n")
	fmt.Fprintf(&script, "__rec=%s\n", shQuote(rec))
	script.WriteString(`trap 'printf "%s\n" "$BASH_COMMAND" >"$__rec/$__step.failed"' ERR` + "\n")
	for i, s := range all {
		body := hostPortRe.ReplaceAllString(s.Script, fmt.Sprintf("127.0.0.1:%d", env.Port))
		fmt.Fprintf(&script, "__step=%d; export README_TEST_HTTP=\"$__rec/%d.http\"; : >\"$README_TEST_HTTP\"\n", i, i)
		wantsExit := false
		for _, e := range s.Expect {
			wantsExit = wantsExit || e.Exit != nil
		}
		if wantsExit {
			script.WriteString("set +e\n")
		}
		fmt.Fprintf(&script, "{\n%s\n} >\"$__rec/%d.out\" 2>\"$__rec/%d.err\" </dev/null\n", body, i, i)
		fmt.Fprintf(&script, "echo $? >\"$__rec/%d.rc\"\n", i)
		if wantsExit {
			script.WriteString("set -e\n")
		}
	}
	scriptPath := filepath.Join(rec, "examples.sh")
	if err := os.WriteFile(scriptPath, []byte(script.String()), 0o600); err != nil {
		return nil, err
	}

	ctx, cancel := context.WithTimeout(ctx, env.Timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", scriptPath)
	cmd.Dir = env.Dir
	cmd.Env = append(withPath(env.Env, wrappers), "README_TEST_REAL_CURL="+realCurl(),
		fmt.Sprintf("BATON_URL=http://127.0.0.1:%d", env.Port))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	// Its own group, so whatever an example leaves behind is stopped too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	runErr := cmd.Run()
	if cmd.Process != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}

	results := make([]stepResult, len(all))
	stopped := false
	for i, s := range all {
		r := &results[i]
		r.Step = s
		read := func(ext string) (string, bool) {
			b, err := os.ReadFile(filepath.Join(rec, fmt.Sprintf("%d.%s", i, ext)))
			return string(b), err == nil
		}
		var started bool
		r.Stdout, started = read("out")
		r.Stderr, _ = read("err")
		httpLog, _ := read("http")
		for _, f := range strings.Fields(httpLog) {
			if n, err := strconv.Atoi(f); err == nil {
				r.Statuses = append(r.Statuses, n)
			}
		}
		if stopped || !started {
			r.Problems = append(r.Problems, "not run: an earlier example stopped the run")
			stopped = true
			continue
		}
		r.Ran = true
		rc, finished := read("rc")
		if !finished {
			failed, _ := read("failed")
			r.Failed = strings.TrimSpace(failed)
			msg := "stopped the run: a command failed"
			if r.Failed != "" {
				msg += ": " + r.Failed
			}
			if ctx.Err() != nil {
				msg = fmt.Sprintf("stopped the run: timed out after %s", env.Timeout)
			}
			r.Problems = append(r.Problems, msg+describeOutput(r))
			stopped = true
			continue
		}
		r.Exit, _ = strconv.Atoi(strings.TrimSpace(rc))
		r.Problems = append(r.Problems, check(r)...)
	}
	if runErr != nil && !stopped {
		return results, fmt.Errorf("bash: %w\n%s", runErr, out.String())
	}
	return results, nil
}

// check compares what a finished step did with its expectations.
func check(r *stepResult) []string {
	var problems []string
	wantExit, wantStatus := 0, 0
	for _, e := range r.Step.Expect {
		if e.Exit != nil {
			wantExit = *e.Exit
		}
		if e.Status != 0 {
			wantStatus = e.Status
		}
	}
	if r.Exit != wantExit {
		problems = append(problems, fmt.Sprintf("exit status %d, want %d", r.Exit, wantExit))
	}
	for i, s := range r.Statuses {
		last := i == len(r.Statuses)-1
		if s >= 400 && (!last || wantStatus != s) {
			problems = append(problems, fmt.Sprintf("an HTTP request got %d", s))
		}
	}
	if wantStatus != 0 {
		switch {
		case len(r.Statuses) == 0:
			problems = append(problems, fmt.Sprintf("want HTTP %d, but curl recorded no response (does the example pass -D itself?)", wantStatus))
		case r.Statuses[len(r.Statuses)-1] != wantStatus:
			problems = append(problems, fmt.Sprintf("HTTP %d, want %d", r.Statuses[len(r.Statuses)-1], wantStatus))
		}
	}
	for _, e := range r.Step.Expect {
		if e.JSONText != "" {
			got, err := lastJSON(r.Stdout)
			switch {
			case err != nil:
				problems = append(problems, fmt.Sprintf("want JSON with %s, but the output is not JSON: %v", e.JSONText, err))
			case !jsonContains(e.JSON, got):
				problems = append(problems, fmt.Sprintf("the output lacks %s", e.JSONText))
			}
		}
		if e.Prints != "" && !strings.Contains(r.Stdout, e.Prints) {
			problems = append(problems, fmt.Sprintf("the output does not contain %q", e.Prints))
		}
	}
	if len(problems) > 0 {
		problems[len(problems)-1] += describeOutput(r)
	}
	return problems
}

func describeOutput(r *stepResult) string {
	return fmt.Sprintf("\n--- stdout:\n%s\n--- stderr:\n%s\n--- HTTP statuses: %v", clip(r.Stdout), clip(r.Stderr), r.Statuses)
}

func clip(s string) string {
	if len(s) > 4000 {
		return s[:4000] + "\n[...]"
	}
	return s
}

// lastJSON returns the last JSON value the output ends with: the output,
// or its tail after some text (a 404 page, a message), is a sequence of JSON
// values, as several curls print them back to back.
func lastJSON(s string) (any, error) {
	var firstErr error
	for i := 0; i < len(s); i++ {
		if i > 0 && s[i] != '{' && s[i] != '[' {
			continue
		}
		v, err := decodeAll(s[i:])
		if err == nil {
			return v, nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	if firstErr == nil {
		firstErr = errors.New("empty output")
	}
	return nil, firstErr
}

// decodeAll decodes s as a sequence of JSON values and returns the last.
func decodeAll(s string) (any, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	var last any
	n := 0
	for {
		var v any
		err := dec.Decode(&v)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		last, n = v, n+1
	}
	if n == 0 {
		return nil, errors.New("empty output")
	}
	return last, nil
}

// jsonContains reports whether got has everything want shows: the same
// scalars, every key of an object (others may be there too), and for an
// array, each element shown matched by some element of got's.
func jsonContains(want, got any) bool {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return false
		}
		for k, wv := range w {
			gv, ok := g[k]
			if !ok || !jsonContains(wv, gv) {
				return false
			}
		}
		return true
	case []any:
		g, ok := got.([]any)
		if !ok {
			return false
		}
		for _, wv := range w {
			found := false
			for _, gv := range g {
				if jsonContains(wv, gv) {
					found = true
					break
				}
			}
			if !found {
				return false
			}
		}
		return true
	default:
		return reflect.DeepEqual(want, got)
	}
}

// writeCurlWrapper puts a `curl` in dir that records the status of every
// HTTP response (1xx aside) in $README_TEST_HTTP and otherwise behaves as
// the real one: the headers go to a file of their own, not to the output.
func writeCurlWrapper(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	const wrapper = `#!/usr/bin/env bash
hdr=$(mktemp)
rc=0
"$README_TEST_REAL_CURL" -D "$hdr" "$@" || rc=$?
if [ -n "${README_TEST_HTTP:-}" ]; then
  tr -d '\r' <"$hdr" | awk '/^HTTP\// && $2 !~ /^1/ { print $2 }' >>"$README_TEST_HTTP"
fi
rm -f "$hdr"
exit "$rc"
`
	return os.WriteFile(filepath.Join(dir, "curl"), []byte(wrapper), 0o755)
}

func realCurl() string {
	p, err := exec.LookPath("curl")
	if err != nil {
		return "curl"
	}
	return p
}

// withPath returns env with dir in front of its PATH.
func withPath(env []string, dir string) []string {
	out := make([]string, 0, len(env)+1)
	path := ""
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			path = v
			continue
		}
		out = append(out, kv)
	}
	return append(out, "PATH="+dir+string(os.PathListSeparator)+path)
}

func shQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
