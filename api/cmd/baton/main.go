// Command baton is Baton's single binary, a tree of subcommands: `serve`
// runs the HTTP API (and, by default, a worker), `worker` runs only a
// worker, for more hosts, and `migrate` applies the database migrations;
// the client commands of package cli (run, runs, logs, ...) talk to a
// running server.
//
// This file assembles the tree and maps errors to exit codes; each
// subcommand lives in its own file and only wires packages together.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	// Time zone names (insights' tz) are known even where the host has no
	// zone database, as in slim container images.
	_ "time/tzdata"

	"github.com/spf13/cobra"

	"github.com/baton-ci/baton/api/cli"
	"github.com/baton-ci/baton/api/config"
	"github.com/baton-ci/baton/api/runner"
)

// Exit codes shared by every subcommand; a subcommand with its own
// meanings (the CLI's run outcomes) returns an exitCoder.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

// serverGroup is the help group of serve, worker and migrate.
const serverGroup = "server"

func main() {
	// A run's supervisor (runner/supervisor.go) is this binary re-executed
	// by the worker; it must start fast and do nothing else, so it is
	// recognised before the command tree is even built. It is not a cobra
	// command: nobody should type it.
	if runner.IsSupervisor() {
		os.Exit(runner.SupervisorMain())
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := execute(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// execute runs the command line args and returns the process's exit code.
func execute(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRootCmd(stderr)
	root.SetOut(stdout)
	root.SetErr(stderr)
	// cobra reads os.Args when given nil.
	root.SetArgs(append([]string{}, args...))
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return exitOK
	}
	var usage cli.UsageError
	if errors.As(err, &usage) {
		fmt.Fprintf(stderr, "baton: %v\n\n%s", usage.Err, cmd.UsageString())
		return exitUsage
	}
	code := exitError
	var coder exitCoder
	if errors.As(err, &coder) {
		code = coder.ExitCode()
	}
	if msg := err.Error(); msg != "" { // "": already reported
		fmt.Fprintf(stderr, "baton: %s\n", msg)
	}
	return code
}

// newRootCmd assembles the command tree. Logs go to logOut.
func newRootCmd(logOut io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "baton",
		Short: "Baton runs pytest test runs on shared test environments",
		Long: `Baton runs pytest test runs on shared test environments, one run per
environment at a time.

Configuration comes from environment variables; see README.md.`,
		// Errors are printed once, by execute, with the right exit code.
		SilenceErrors: true,
		SilenceUsage:  true,
		Args:          unknownCommand,
		// Runnable so that unknownCommand runs (cobra prints help for a
		// command that cannot run) and "no command" is a usage error.
		RunE: func(*cobra.Command, []string) error {
			return cli.UsageError{Err: errors.New("a command is required")}
		},
		CompletionOptions: cobra.CompletionOptions{HiddenDefaultCmd: true},
	}
	// The root runs only to reject what is not a command: its usage shows
	// "baton [command]" alone, not "baton [flags]".
	root.SetUsageTemplate(strings.Replace(root.UsageTemplate(), "{{if .Runnable}}", "{{if and .Runnable (not .HasAvailableSubCommands)}}", 1))
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return cli.UsageError{Err: err} })
	root.AddGroup(
		&cobra.Group{ID: serverGroup, Title: "Server commands (configured by environment variables):"},
		&cobra.Group{ID: cli.GroupID, Title: "Client commands (talk to a Baton server at --url or $BATON_URL):"},
	)
	// BATON_LOG_LEVEL is known only once a server command has read its
	// configuration (loadConfig); until then, Info. The format
	// (BATON_LOG_FORMAT) is read before a server command runs, so even a
	// configuration error is logged in it.
	level := new(slog.LevelVar)
	log := newLogger(logOut, level, config.Logging{})
	setUpLog := func(*cobra.Command, []string) error {
		logging, err := config.LoadLogging()
		if err != nil {
			return err
		}
		*log = *newLogger(logOut, level, logging)
		return nil
	}
	for _, c := range []*cobra.Command{serveCmd(log, level), workerCmd(log, level), migrateCmd(log, level)} {
		c.GroupID = serverGroup
		c.PreRunE = setUpLog
		root.AddCommand(c)
	}
	root.AddCommand(cli.Commands()...)
	return root
}

// newLogger is the server processes' structured logger, at level: slog's
// text handler, or its JSON handler (BATON_LOG_FORMAT=json) for log shippers.
func newLogger(w io.Writer, level slog.Leveler, l config.Logging) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	if l.JSON {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// unknownCommand rejects positional arguments of the root command: they
// are commands that do not exist.
func unknownCommand(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	msg := fmt.Sprintf("unknown command %q", args[0])
	if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
		msg += fmt.Sprintf(" (did you mean %q?)", s[0])
	}
	return cli.UsageError{Err: errors.New(msg)}
}

// exitCoder is an error that chooses the process's exit code.
type exitCoder interface {
	error
	ExitCode() int
}
