package main

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestCommandLine(t *testing.T) {
	// Config errors fail before anything connects, so these need no database.
	t.Setenv("BATON_MAX_RUNS", "many")
	for _, tc := range []struct {
		name      string
		args      []string
		code      int
		stdout    []string
		stderr    []string
		notStdout []string
		notStderr []string
	}{
		{name: "no command", args: nil, code: exitUsage, stderr: []string{"a command is required", "Usage:", "serve", "worker", "migrate"}},
		{name: "unknown command", args: []string{"nope"}, code: exitUsage, stderr: []string{`unknown command "nope"`, "Usage:"}},
		{name: "suggestion", args: []string{"serv"}, code: exitUsage, stderr: []string{`did you mean "serve"`}},
		{name: "extra argument", args: []string{"serve", "now"}, code: exitUsage, stderr: []string{"takes no arguments", "baton serve [flags]"}},
		{name: "unknown flag", args: []string{"migrate", "--fast"}, code: exitUsage, stderr: []string{"unknown flag: --fast"}},
		{name: "help", args: []string{"--help"}, code: exitOK, stdout: []string{"Usage:", "serve", "worker", "migrate", "README.md"}, notStdout: []string{"baton [flags]"}},
		{name: "help command", args: []string{"help", "worker"}, code: exitOK, stdout: []string{"baton worker"}},
		{name: "bad config", args: []string{"migrate"}, code: exitError, stderr: []string{"level=ERROR", "BATON_MAX_RUNS"}, notStderr: []string{"Usage:"}},
		{name: "bad config serve", args: []string{"serve"}, code: exitError, stderr: []string{"BATON_MAX_RUNS"}},
		{name: "bad config worker", args: []string{"worker"}, code: exitError, stderr: []string{"BATON_MAX_RUNS"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := execute(context.Background(), tc.args, &stdout, &stderr)
			assert.Equal(t, tc.code, code, "stdout:\n%s\nstderr:\n%s", &stdout, &stderr)
			for _, s := range tc.stdout {
				assert.Contains(t, stdout.String(), s)
			}
			for _, s := range tc.stderr {
				assert.Contains(t, stderr.String(), s)
			}
			for _, s := range tc.notStdout {
				assert.NotContains(t, stdout.String(), s)
			}
			for _, s := range tc.notStderr {
				assert.NotContains(t, stderr.String(), s)
			}
		})
	}
}
