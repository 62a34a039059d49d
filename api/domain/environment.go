package domain

import "strconv"

// EnvironmentState tells whether an environment is executing a run.
type EnvironmentState string

// The environment states.
const (
	EnvIdle EnvironmentState = "idle"
	EnvBusy EnvironmentState = "busy"
)

// Environment is a shared test environment; at most one run executes in it.
type Environment struct {
	ID           int
	Name         string
	State        EnvironmentState
	RunningRunID *int64
	// QueuedRunIDs are the waiting runs in the order they will start.
	QueuedRunIDs []int64
}

// EnvironmentName returns the conventional name of environment id.
func EnvironmentName(id int) string { return "env" + strconv.Itoa(id) }
