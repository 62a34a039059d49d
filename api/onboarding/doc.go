// Package onboarding tests a newcomer's first ten minutes with Baton, from
// the outside, the way a newcomer meets it:
//
//   - every shell example in README.md runs, as written and in order, against
//     a `baton serve` the test starts, and its stated result is checked (the
//     convention is in README.md, "Examples in this README are tested");
//   - `make help` lists every target of the Makefile, in readable words;
//   - the helper scripts behind `make run` (deploy/dev) stop with the same
//     message as the `baton` binary for a wrong DATABASE_URL or BATON_PYTHON,
//     and rebuild the web UI exactly when its inputs changed;
//   - TestFreshClone clones the repository, times `make run` there twice (the
//     second must reach a healthy server in under 10 s) and checks that a bad
//     DATABASE_URL stops it in seconds. It is slow and timed, so it runs alone
//     in `make test-fresh-clone` (part of `make test`) and skips itself
//     elsewhere unless BATON_TEST_FRESH_CLONE=1.
//
// The package has no code besides its tests.
package onboarding
