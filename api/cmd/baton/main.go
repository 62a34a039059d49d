// Command baton is Baton's single binary, a tree of subcommands: `serve`
// runs the HTTP API (and, by default, a worker), `worker` runs only a
// worker, for more hosts, and `migrate` applies the database migrations.
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

	"github.com/spf13/cobra"
)

// Exit codes shared by every subcommand; a subcommand with its own
// meanings (the CLI's run outcomes) returns an exitCoder.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

func main() {
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
	var usage usageError
	if errors.As(err, &usage) {
		fmt.Fprintf(stderr, "baton: %v\n\n%s", usage.err, cmd.UsageString())
		return exitUsage
	}
	code := exitError
	var coder exitCoder
	if errors.As(err, &coder) {
		code = coder.ExitCode()
	}
	var silent silentError
	if !errors.As(err, &silent) {
		fmt.Fprintf(stderr, "baton: %v\n", err)
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
			return usageError{errors.New("a command is required")}
		},
		CompletionOptions: cobra.CompletionOptions{HiddenDefaultCmd: true},
	}
	// The root runs only to reject what is not a command: its usage shows
	// "baton [command]" alone, not "baton [flags]".
	root.SetUsageTemplate(strings.Replace(root.UsageTemplate(), "{{if .Runnable}}", "{{if and .Runnable (not .HasAvailableSubCommands)}}", 1))
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	log := newLogger(logOut)
	root.AddCommand(
		serveCmd(log),
		workerCmd(log),
		migrateCmd(log),
	)
	return root
}

// newLogger is the server processes' structured logger.
func newLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo}))
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
	return usageError{errors.New(msg)}
}

// noArgs is cobra.NoArgs as a usage error.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usageError{fmt.Errorf("%s takes no arguments, got %q", cmd.CommandPath(), args)}
	}
	return nil
}

// usageError is a command line the program cannot act on: it exits 2
// with the command's usage.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// exitCoder is an error that chooses the process's exit code.
type exitCoder interface {
	error
	ExitCode() int
}

// silentError is an error already reported (logged) by the command; execute
// only exits with its code.
type silentError struct{ code int }

func (e silentError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// ExitCode is the process's exit code.
func (e silentError) ExitCode() int { return e.code }
