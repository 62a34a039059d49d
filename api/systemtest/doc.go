// Package systemtest proves, with real processes and a real PostgreSQL, that
// Baton's runs survive the real world: a worker killed with SIGKILL, a
// database restarted under load, graceful shutdowns, cancels, timeouts, a
// flood of output, bytes that are not UTF-8, and a lost start job.
//
// The tests build the `baton` binary once (TestMain), start `baton serve`
// and `baton worker` as child processes on fresh databases, run the pytest
// files under testdata/sample-tests and talk to Baton over its REST API,
// reading the database directly only where the API cannot tell. The package
// has no code besides its tests.
package systemtest
