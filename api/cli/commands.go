package cli

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/baton-ci/baton/api/client"
)

func oneID(_ *cobra.Command, args []string) error {
	if len(args) != 1 {
		return usagef("give one run id")
	}
	return nil
}

func parseID(s string) (int64, error) {
	id, err := strconv.ParseInt(strings.TrimPrefix(s, "#"), 10, 64)
	if err != nil || id < 1 {
		return 0, usagef("%q is not a run id (a positive number)", s)
	}
	return id, nil
}

func (a *app) logsCmd() *cobra.Command {
	var follow bool
	cmd := &cobra.Command{
		Use:   "logs [-f] RUN_ID",
		Short: "print a run's log (with -f, follow it until the run ends)",
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
			return a.readLog(cmd.Context(), api, id, cmd.OutOrStdout(), follow, false)
		},
	}
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing new text until the run has ended")
	return cmd
}

func (a *app) junitCmd() *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "junit [-o FILE] RUN_ID",
		Short: "print (or save) pytest's JUnit XML report of an ended run",
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
			if output != "" {
				return a.saveJUnit(cmd.Context(), api, id, output)
			}
			res, err := api.DownloadRunJUnitWithResponse(cmd.Context(), id)
			if err := a.check(res, err, 200); err != nil {
				return err
			}
			_, err = cmd.OutOrStdout().Write(res.Body)
			return err
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "write the report to this file instead of stdout")
	return cmd
}

// cancelBody names who cancels; a blank name is left out (no one named).
func cancelBody(user string) client.CancelRequest {
	var body client.CancelRequest
	if user = strings.TrimSpace(user); user != "" {
		body.CancelledBy = &user
	}
	return body
}

func (a *app) cancelCmd() *cobra.Command {
	var user string
	cmd := &cobra.Command{
		Use:   "cancel [--user NAME] RUN_ID",
		Short: "cancel a queued or running run (recorded as cancelled by --user)",
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
			res, err := api.CancelRunWithResponse(cmd.Context(), id, cancelBody(user))
			if err := a.check(res, err, 200); err != nil {
				return err
			}
			run := res.JSON200
			if a.json {
				return printJSON(cmd.OutOrStdout(), run)
			}
			by := ""
			if run.CancelledBy != nil {
				by = " by " + *run.CancelledBy
			}
			if run.Status == client.RunStatusRunning {
				fmt.Fprintf(cmd.OutOrStdout(), "run %d: cancel requested%s; its processes are being stopped\n", id, by)
			} else {
				fmt.Fprintf(cmd.OutOrStdout(), "run %d: %s%s\n", id, run.Status, by)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&user, "user", "u", envOr("BATON_USER", os.Getenv("USER")), "who cancels the run (env BATON_USER, else USER)")
	return cmd
}

func (a *app) runsCmd() *cobra.Command {
	var (
		status, user string
		env, limit   int
	)
	cmd := &cobra.Command{
		Use:   "runs",
		Short: "list runs, newest first",
		Args:  NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			api, err := a.api()
			if err != nil {
				return err
			}
			p := client.ListRunsParams{Limit: &limit}
			if status != "" {
				s := client.RunStatus(status)
				if !s.Valid() {
					return usagef("--status %q: want queued, running, success, failed, error or cancelled", status)
				}
				p.Status = &[]client.RunStatus{s}
			}
			if env != 0 {
				p.EnvironmentId = &env
			}
			if user != "" {
				p.RequestedBy = &user
			}
			res, err := api.ListRunsWithResponse(cmd.Context(), &p)
			if err := a.check(res, err, 200); err != nil {
				return err
			}
			if a.json {
				return printJSON(cmd.OutOrStdout(), res.JSON200)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tSTATUS\tENV\tUSER\tCREATED\tDURATION\tFILES")
			for _, r := range res.JSON200.Items {
				dur := "-"
				if r.DurationMs != nil {
					dur = (time.Duration(*r.DurationMs) * time.Millisecond).Round(100 * time.Millisecond).String()
				}
				status := string(r.Status)
				if r.Status == client.RunStatusCancelled && r.CancelledBy != nil {
					status += " by " + *r.CancelledBy
				}
				if r.RerunOf != nil {
					status += fmt.Sprintf(" (rerun of %d)", *r.RerunOf)
				}
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Id, status, runWhere(&r), r.RequestedBy,
					r.CreatedAt.Local().Format("2006-01-02 15:04:05"), dur, strings.Join(r.TestFiles, " "))
			}
			return tw.Flush()
		},
	}
	f := cmd.Flags()
	f.StringVar(&status, "status", "", "only runs in this status")
	f.IntVarP(&env, "env", "e", 0, "only runs in this environment")
	f.StringVarP(&user, "user", "u", "", "only runs of this user")
	f.IntVarP(&limit, "limit", "n", 20, "at most this many runs (1–200)")
	return cmd
}

func (a *app) envsCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "envs",
		Short: "list the environments: what runs and waits in each",
		Args:  NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			api, err := a.api()
			if err != nil {
				return err
			}
			res, err := api.ListEnvironmentsWithResponse(cmd.Context())
			if err := a.check(res, err, 200); err != nil {
				return err
			}
			if a.json {
				return printJSON(cmd.OutOrStdout(), res.JSON200)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tSTATE\tRUNNING\tQUEUED")
			for _, e := range res.JSON200.Items {
				running := "-"
				if e.RunningRunId != nil {
					running = strconv.FormatInt(*e.RunningRunId, 10)
				}
				queued := make([]string, len(e.QueuedRunIds))
				for i, q := range e.QueuedRunIds {
					queued[i] = strconv.FormatInt(q, 10)
				}
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", e.Id, e.Name, e.State, running, strings.Join(queued, " "))
			}
			return tw.Flush()
		},
	}
}

// NoArgs is cobra.NoArgs as a UsageError.
func NoArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usagef("%s takes no arguments, got %q", cmd.CommandPath(), args)
	}
	return nil
}
