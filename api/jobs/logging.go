package jobs

import (
	"context"
	"log/slog"
	"strings"
)

// riverLogger is the logger River gets. River reports its housekeeping at
// Info: every producer's job counts every few seconds, each maintenance
// pass, the client starting and stopping (the worker logs its own start).
// A person reading the log at Info needs none of it, so those records become
// Debug (BATON_LOG_LEVEL=debug shows them). River's Info records about a
// problem stay Info, and Warn and Error pass as they are.
func riverLogger(l *slog.Logger) *slog.Logger {
	return slog.New(riverHandler{l.Handler()})
}

// riverProblems are words of River's Info messages worth a person's eye: a
// job that failed or was stuck, a degraded notifier, a hard stop.
var riverProblems = []string{"errored", "panicked", "unstuck", "unhealthy", "poll only mode", "Hard stop", "shutdown; retrying"}

// riverHandler is the slog.Handler behind riverLogger.
type riverHandler struct{ h slog.Handler }

// Enabled is the wrapped handler's: a demoted record is checked again in Handle.
func (r riverHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return r.h.Enabled(ctx, level)
}

// Handle demotes River's housekeeping to Debug, or drops it below Debug.
func (r riverHandler) Handle(ctx context.Context, rec slog.Record) error {
	if rec.Level == slog.LevelInfo && !isRiverProblem(rec.Message) {
		if !r.h.Enabled(ctx, slog.LevelDebug) {
			return nil
		}
		rec.Level = slog.LevelDebug
	}
	return r.h.Handle(ctx, rec)
}

// WithAttrs keeps the demotion on a logger with attributes.
func (r riverHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return riverHandler{r.h.WithAttrs(attrs)}
}

// WithGroup keeps the demotion on a logger with a group.
func (r riverHandler) WithGroup(name string) slog.Handler { return riverHandler{r.h.WithGroup(name)} }

func isRiverProblem(msg string) bool {
	for _, w := range riverProblems {
		if strings.Contains(msg, w) {
			return true
		}
	}
	return false
}
