package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/baton-ci/baton/api/client"
)

// waitFlags are the flags of the commands that can wait for a run.
type waitFlags struct {
	wait     bool
	noCancel bool
	junit    string
}

func (w *waitFlags) add(cmd *cobra.Command) {
	cmd.Flags().BoolVarP(&w.wait, "wait", "w", false,
		"follow the run's log on stdout until it ends, and exit with its outcome: 0 success, 1 failed, 2 error, 3 cancelled, 4 Baton unreachable or refused")
	cmd.Flags().BoolVar(&w.noCancel, "no-cancel-on-interrupt", false,
		"with --wait, leave the run going when baton is interrupted (by default Ctrl-C or SIGTERM, as a CI job being cancelled sends, cancels it)")
	cmd.Flags().StringVar(&w.junit, "junit", "",
		"with --wait, save pytest's JUnit XML report of the run to this file once it ends (for CI test reports)")
}

func (a *app) runCmd() *cobra.Command {
	var (
		env              int
		pool, user       string
		keyword, markers string
		timeout          int
		w                waitFlags
	)
	cmd := &cobra.Command{
		Use:   "run (--env N | --pool NAME) [--user NAME] FILE|NODE_ID...",
		Short: "start a run of test files from the catalog (see `baton upload`)",
		Long: `Queue a run of test files, as catalog paths such as
sample-tests/test_success.py, or single tests, as node ids such as
sample-tests/test_success.py::test_addition, in an environment; -k and -m
select tests as pytest's own options do. Without --wait it prints the run's id
(or, with --json, the run) and exits 0 once the run is queued.`,
		Example: `  baton run --env 7 --user alice sample-tests/test_success.py
  baton run --env 7 --wait sample-tests/test_success.py sample-tests/test_failure.py
  baton run --pool staging --wait sample-tests/test_success.py`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usagef("name at least one test file")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, files []string) error {
			envSet, poolSet := cmd.Flags().Changed("env"), pool != ""
			switch {
			case envSet == poolSet:
				return usagef("give exactly one of --env N and --pool NAME")
			case envSet && (env < 1 || env > 100):
				return usagef("--env %d: environments are 1 to 100", env)
			case user == "":
				return usagef("--user is required (or set BATON_USER)")
			}
			api, err := a.api()
			if err != nil {
				return err
			}
			req := client.CreateRunRequest{RequestedBy: user}
			if envSet {
				req.EnvironmentId = &env
			} else {
				req.Pool = &pool
			}
			// FILE::test names one test (a node id); anything else a file.
			var whole, tests []string
			for _, f := range files {
				if strings.Contains(f, "::") {
					tests = append(tests, f)
				} else {
					whole = append(whole, f)
				}
			}
			if len(whole) > 0 {
				req.TestFiles = &whole
			}
			if len(tests) > 0 {
				req.Tests = &tests
			}
			if keyword != "" {
				req.Keyword = &keyword
			}
			if markers != "" {
				req.Markers = &markers
			}
			if cmd.Flags().Changed("timeout") {
				req.TimeoutSeconds = &timeout
			}
			res, err := api.CreateRunWithResponse(cmd.Context(), req)
			if err := a.check(res, err, 201); err != nil {
				return poolRefused(err, pool)
			}
			return a.started(cmd, api, res.JSON201, w)
		},
	}
	f := cmd.Flags()
	f.IntVarP(&env, "env", "e", 0, "the environment to run in, 1–100")
	f.StringVar(&pool, "pool", "", "run in the first free environment of this pool (needs a server with pools)")
	f.StringVarP(&user, "user", "u", envOr("BATON_USER", os.Getenv("USER")), "who asks for the run (env BATON_USER, else USER)")
	f.IntVar(&timeout, "timeout", 0, "kill the run after this many seconds (the server's default otherwise)")
	f.StringVarP(&keyword, "keyword", "k", "", "only tests matching this pytest -k expression")
	f.StringVarP(&markers, "markers", "m", "", "only tests matching this pytest -m expression")
	w.add(cmd)
	return cmd
}

// poolRefused explains a server older than pools, which refuses the
// member itself; a server with pools answers a bad pool with its reason.
func poolRefused(err error, pool string) error {
	var ae *apiError
	if pool != "" && errors.As(err, &ae) && ae.status == 400 && ae.fields["pool"] == "is not a known field" {
		return &Exit{Code: ExitUnreachable, Msg: fmt.Sprintf(
			"this Baton server does not support pools (it answered: pool %s); run in an environment with --env N instead of --pool %s",
			ae.fields["pool"], pool)}
	}
	return err
}

func (a *app) rerunCmd() *cobra.Command {
	var (
		user   string
		failed bool
		w      waitFlags
	)
	cmd := &cobra.Command{
		Use:   "rerun [--failed] RUN_ID",
		Short: "queue a run again: same environment and test files",
		Args:  oneID,
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseID(args[0])
			if err != nil {
				return err
			}
			api, err := a.api()
			if err != nil {
				return err
			}
			var body client.RerunRequest
			if user != "" {
				body.RequestedBy = &user
			}
			if failed {
				res, err := api.RerunFailedTestsWithResponse(cmd.Context(), id, body)
				if err := a.check(res, err, 201); err != nil {
					return err
				}
				return a.started(cmd, api, res.JSON201, w)
			}
			res, err := api.RerunRunWithResponse(cmd.Context(), id, body)
			if err := a.check(res, err, 201); err != nil {
				return err
			}
			return a.started(cmd, api, res.JSON201, w)
		},
	}
	cmd.Flags().StringVarP(&user, "user", "u", os.Getenv("BATON_USER"), "who asks for the rerun (default: the original run's user; env BATON_USER)")
	cmd.Flags().BoolVar(&failed, "failed", false, "rerun only the tests that failed or errored (409 when there are none)")
	w.add(cmd)
	return cmd
}

// runWhere is where a run runs: "env7", "env3 (staging)" for a pooled run
// that started, "pool staging" for one that has not.
func runWhere(run *client.Run) string {
	switch {
	case run.EnvironmentId != nil && run.Pool != nil:
		return fmt.Sprintf("env%d (%s)", *run.EnvironmentId, *run.Pool)
	case run.EnvironmentId != nil:
		return fmt.Sprintf("env%d", *run.EnvironmentId)
	case run.Pool != nil:
		return "pool " + *run.Pool
	}
	return "a pool"
}

// started reports a queued run and, with --wait, follows it to its end.
func (a *app) started(cmd *cobra.Command, api *client.ClientWithResponses, run *client.Run, w waitFlags) error {
	out, errOut := cmd.OutOrStdout(), cmd.ErrOrStderr()
	if w.junit != "" && !w.wait {
		return usagef("--junit needs --wait (or use `baton junit RUN_ID`)")
	}
	if !w.wait {
		if a.json {
			return printJSON(out, run)
		}
		fmt.Fprintln(out, run.Id)
		return nil
	}
	where := runWhere(run)
	queued := ""
	if run.QueuePosition != nil {
		queued = fmt.Sprintf(", position %d in its queue", *run.QueuePosition)
	}
	if run.WaitingFor != nil {
		queued += ", waiting for " + waitingForText(run.WaitingFor)
	}
	fmt.Fprintf(errOut, "baton: run %d queued in %s%s: %s\n", run.Id, where, queued, a.runURL(run.Id))
	logOut := out
	if a.json {
		logOut = errOut // stdout carries the final run only
	}
	ctx := cmd.Context()
	if err := a.follow(ctx, api, run.Id, logOut); err != nil {
		switch {
		case ctx.Err() != nil && !w.noCancel:
			return a.cancelOnInterrupt(api, run.Id, run.RequestedBy, errOut)
		case ctx.Err() != nil:
			return &Exit{Code: ExitInterrupted, Msg: fmt.Sprintf("interrupted; run %d goes on: %s", run.Id, a.runURL(run.Id))}
		}
		return err
	}
	final, err := a.getRun(context.WithoutCancel(ctx), api, run.Id)
	if err != nil {
		return err
	}
	if a.json {
		if err := printJSON(out, final); err != nil {
			return err
		}
	}
	fmt.Fprintln(errOut, "baton: "+describe(final, a.runURL(final.Id)))
	if w.junit != "" {
		// A run pytest wrote no report for (a timeout, say) keeps its own
		// exit code; CI then has no report to publish, as it would by hand.
		if err := a.saveJUnit(context.WithoutCancel(ctx), api, final.Id, w.junit); err != nil {
			fmt.Fprintf(errOut, "baton: no JUnit report saved: %v\n", err)
		} else {
			fmt.Fprintf(errOut, "baton: JUnit report saved to %s\n", w.junit)
		}
	}
	return &Exit{Code: outcomeCode(final.Status)}
}

// cancelOnInterrupt cancels a followed run whose follower was interrupted,
// so a cancelled CI job frees its environment; the run's own user, who
// started it, is who cancels it.
func (a *app) cancelOnInterrupt(api *client.ClientWithResponses, id int64, user string, errOut io.Writer) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := api.CancelRunWithResponse(ctx, id, cancelBody(user))
	if err := a.check(res, err, 200); err != nil {
		var ae *apiError
		if errors.As(err, &ae) && ae.status == 409 {
			fmt.Fprintf(errOut, "baton: interrupted; run %d had already ended\n", id)
			return &Exit{Code: ExitCancelled}
		}
		return &Exit{Code: ExitUnreachable, Msg: fmt.Sprintf("interrupted, and could not cancel run %d: %v", id, err)}
	}
	fmt.Fprintf(errOut, "baton: interrupted; cancelled run %d\n", id)
	return &Exit{Code: ExitCancelled}
}

// saveJUnit writes run id's JUnit report to path.
func (a *app) saveJUnit(ctx context.Context, api *client.ClientWithResponses, id int64, path string) error {
	res, err := api.DownloadRunJUnitWithResponse(ctx, id)
	if err := a.check(res, err, 200); err != nil {
		return err
	}
	return os.WriteFile(path, res.Body, 0o644)
}

// outcomeCode maps a final status to the documented exit code.
func outcomeCode(s client.RunStatus) int {
	switch s {
	case client.RunStatusSuccess:
		return ExitSuccess
	case client.RunStatusFailed:
		return ExitFailed
	case client.RunStatusCancelled:
		return ExitCancelled
	default:
		return ExitError
	}
}

// describe is one line about an ended run.
func describe(r *client.Run, url string) string {
	s := fmt.Sprintf("run %d %s", r.Id, r.Status)
	if r.Reason != nil {
		s += " (" + strings.ReplaceAll(string(*r.Reason), "_", " ") + ")"
	}
	if r.Status == client.RunStatusCancelled && r.CancelledBy != nil {
		s += " by " + *r.CancelledBy
	}
	if r.Summary != nil {
		s += fmt.Sprintf(": %d passed, %d failed, %d errors, %d skipped", r.Summary.Passed, r.Summary.Failed, r.Summary.Errors, r.Summary.Skipped)
	}
	if r.DurationMs != nil {
		s += fmt.Sprintf(" in %s", (time.Duration(*r.DurationMs) * time.Millisecond).Round(100*time.Millisecond))
	}
	return s + " — " + url
}

// runURL is the run's page in the web UI.
func (a *app) runURL(id int64) string {
	return fmt.Sprintf("%s/runs/%d", strings.TrimRight(a.url, "/"), id)
}

func (a *app) getRun(ctx context.Context, api *client.ClientWithResponses, id int64) (*client.Run, error) {
	res, err := api.GetRunWithResponse(ctx, id)
	if err := a.check(res, err, 200); err != nil {
		return nil, err
	}
	return res.JSON200, nil
}

// follow copies run id's log to w as it grows, until the run has ended and
// all of it was written. An unreachable server is retried for a.patience,
// so a server restart does not fail a pipeline.
func (a *app) follow(ctx context.Context, api *client.ClientWithResponses, id int64, w io.Writer) error {
	return a.readLog(ctx, api, id, w, true, true)
}

// readLog writes run id's log to w: what there is now, or (follow) all of
// it as the run writes it. A follower retries a server that stops
// answering once reached (here, or before: reached).
func (a *app) readLog(ctx context.Context, api *client.ClientWithResponses, id int64, w io.Writer, follow, reached bool) error {
	var offset int64
	var failingSince time.Time
	for {
		res, err := api.GetRunLogWithResponse(ctx, id, &client.GetRunLogParams{Offset: &offset})
		if err := a.check(res, err, 200); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			var ee *Exit
			transient := errors.As(err, &ee) || (res != nil && res.StatusCode() == 503)
			if !follow || !transient || !reached {
				return err
			}
			if failingSince.IsZero() {
				failingSince = time.Now()
			} else if time.Since(failingSince) > a.patience {
				return err
			}
			if !sleep(ctx, a.pollInterval) {
				return ctx.Err()
			}
			continue
		}
		failingSince, reached = time.Time{}, true
		page := res.JSON200
		if _, err := io.WriteString(w, page.Text); err != nil {
			return err
		}
		offset = page.NextOffset
		switch {
		case page.Complete:
			return nil
		case page.Text != "":
			continue // more may be there already
		case !follow:
			return nil
		}
		if !sleep(ctx, a.pollInterval) {
			return ctx.Err()
		}
	}
}

// sleep waits for d, or reports false when ctx ends first.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// waitingForText says what a queued run waits for, in a few words.
func waitingForText(w *client.WaitingFor) string {
	switch w.Kind {
	case client.WaitKindRun:
		if w.RunId != nil {
			return fmt.Sprintf("run %d", *w.RunId)
		}
	case client.WaitKindHold:
		if w.HeldBy != nil {
			return "a hold by " + *w.HeldBy
		}
	case client.WaitKindCapacity:
		return "a free worker slot"
	case client.WaitKindPool:
		if w.Pool != nil {
			return "a free environment of pool " + *w.Pool
		}
	}
	return string(w.Kind)
}
