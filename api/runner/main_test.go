package runner

import (
	"os"
	"testing"
)

// TestMain lets the test binary serve as the runs' supervisor: Runner
// re-executes its own binary with SupervisorCommand.
func TestMain(m *testing.M) {
	if IsSupervisor() {
		os.Exit(SupervisorMain())
	}
	os.Exit(m.Run())
}
