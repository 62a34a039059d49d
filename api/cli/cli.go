// Package cli is `baton`'s client commands — run, runs, logs, junit,
// cancel, rerun, upload, envs — for people and CI pipelines. They talk to a Baton
// server only through the client generated from openapi.yaml (package
// client); they never build HTTP requests themselves.
package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"reflect"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/baton-ci/baton/api/client"
)

// Exit codes of the client commands; `baton run --wait` and `baton rerun
// --wait` exit with the run's outcome.
const (
	ExitSuccess = 0
	// ExitFailed: the run's tests failed.
	ExitFailed = 1
	// ExitError: the run could not produce a verdict (timeout, collection
	// error, worker lost...). Usage errors of any baton command exit 2 too.
	ExitError = 2
	// ExitCancelled: the run was cancelled.
	ExitCancelled = 3
	// ExitUnreachable: Baton could not be reached, or refused the request.
	ExitUnreachable = 4
	// ExitInterrupted: a wait with --no-cancel-on-interrupt was interrupted;
	// the run goes on (128 + SIGINT, as shells report it).
	ExitInterrupted = 130
)

// DefaultURL is the server the commands talk to without --url or BATON_URL.
const DefaultURL = "http://localhost:8080"

// GroupID is the help group of the client commands.
const GroupID = "client"

// Exit ends a command with Code; Msg, when not empty, is printed as
// "baton: Msg" on stderr.
type Exit struct {
	Code int
	Msg  string
}

func (e *Exit) Error() string { return e.Msg }

// ExitCode is the process's exit code.
func (e *Exit) ExitCode() int { return e.Code }

// UsageError is a command line that cannot be acted on: exit 2, with the
// command's usage.
type UsageError struct{ Err error }

func (e UsageError) Error() string { return e.Err.Error() }
func (e UsageError) Unwrap() error { return e.Err }

func usagef(format string, args ...any) error { return UsageError{fmt.Errorf(format, args...)} }

// app is what every client command shares: where Baton is, how to
// authenticate, and whether to print JSON.
type app struct {
	url, token string
	json       bool
	// pollInterval is how often a follower asks for new log text.
	pollInterval time.Duration
	// patience is how long a follower keeps retrying an unreachable server.
	patience time.Duration
}

// Commands returns the client commands, to be added to the root command.
func Commands() []*cobra.Command {
	a := &app{pollInterval: 500 * time.Millisecond, patience: 60 * time.Second}
	cmds := []*cobra.Command{
		a.runCmd(), a.runsCmd(), a.logsCmd(), a.junitCmd(), a.cancelCmd(), a.rerunCmd(), a.uploadCmd(), a.envsCmd(),
	}
	for _, c := range cmds {
		c.GroupID = GroupID
		f := c.Flags()
		f.StringVar(&a.url, "url", envOr("BATON_URL", DefaultURL), "Baton's address (env BATON_URL)")
		f.StringVar(&a.token, "token", os.Getenv("BATON_TOKEN"), "API token for servers that set BATON_API_TOKEN (env BATON_TOKEN)")
		f.BoolVar(&a.json, "json", false, "print JSON (the API's own shapes) instead of text")
	}
	return cmds
}

func envOr(name, def string) string {
	if v := strings.TrimSpace(os.Getenv(name)); v != "" {
		return v
	}
	return def
}

// api is the generated client for a.url.
func (a *app) api() (*client.ClientWithResponses, error) {
	base := strings.TrimRight(a.url, "/")
	if !strings.HasPrefix(base, "http://") && !strings.HasPrefix(base, "https://") {
		return nil, usagef("--url %q: want http://host:port or https://host", a.url)
	}
	return client.NewClientWithResponses(base+"/",
		client.WithHTTPClient(&http.Client{Timeout: 30 * time.Second}),
		client.WithRequestEditorFn(func(_ context.Context, req *http.Request) error {
			req.Header.Set("User-Agent", "baton-cli")
			if a.token != "" {
				req.Header.Set("Authorization", "Bearer "+a.token)
			}
			return nil
		}))
}

// status is what every generated response has.
type status interface{ StatusCode() int }

// check turns a call's outcome into an error for the user: Baton
// unreachable, or an answer other than want (with the server's message).
func (a *app) check(res status, err error, want int) error {
	if err != nil {
		return a.unreachable(err)
	}
	if res.StatusCode() == want {
		return nil
	}
	return refused(res.StatusCode(), bodyOf(res))
}

// bodyOf is the Body every generated response type has (as a field, which
// no interface can name).
func bodyOf(res status) []byte {
	v := reflect.ValueOf(res)
	if v.Kind() == reflect.Pointer {
		v = v.Elem()
	}
	if f := v.FieldByName("Body"); f.IsValid() && f.Kind() == reflect.Slice {
		return f.Bytes()
	}
	return nil
}

// unreachable is the error for a request that got no answer.
func (a *app) unreachable(err error) error {
	if errors.Is(err, context.Canceled) {
		return &Exit{Code: ExitUnreachable, Msg: "interrupted"}
	}
	return &Exit{Code: ExitUnreachable, Msg: fmt.Sprintf("cannot reach Baton at %s: %v", a.url, rootCause(err))}
}

// rootCause drops the url.Error wrapping (`Get "http://...": `), which
// repeats the address.
func rootCause(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// apiError is the server's error body.
type apiError struct {
	status  int
	code    string
	message string
	fields  map[string]string
}

func (e *apiError) Error() string {
	msg := e.message
	if msg == "" {
		msg = http.StatusText(e.status)
	}
	if len(e.fields) > 0 && !strings.Contains(msg, ":") {
		var parts []string
		for k, v := range e.fields {
			parts = append(parts, k+" "+v)
		}
		msg += " (" + strings.Join(parts, "; ") + ")"
	}
	return fmt.Sprintf("Baton refused (%d %s): %s", e.status, e.code, msg)
}

// ExitCode is ExitUnreachable: Baton refused.
func (e *apiError) ExitCode() int { return ExitUnreachable }

func refused(code int, body []byte) error {
	e := &apiError{status: code}
	var er client.ErrorResponse
	if json.Unmarshal(body, &er) == nil {
		e.code, e.message, e.fields = string(er.Error.Code), er.Error.Message, derefFields(er.Error.Fields)
	} else {
		e.code = "no_api"
		e.message = "the answer is not Baton's (is --url a Baton server?)"
	}
	return e
}

func derefFields(f *map[string]string) map[string]string {
	if f == nil {
		return nil
	}
	return *f
}

// printJSON writes v as indented JSON.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
