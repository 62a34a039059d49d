#!/usr/bin/env bash
# End-to-end test of the multi-process topology (docker-compose.yml without
# Docker). The test itself is Go: TestCluster in api/systemtest/cluster_test.go
# starts one API and two workers as separate `baton` processes on a fresh
# database and checks the token, the web UI, an upload and its run, FIFO per
# environment on both workers, and deploy/nginx.conf in front (with nginx).
# `make test` runs it with the other system tests; this launcher runs it
# alone, verbosely, for people. Extra arguments go to `go test`.
# Needs PostgreSQL on 127.0.0.1:5432 (or BATON_TEST_DATABASE_URL) and a
# python3 with pytest (make deps-python).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
exec go test -count=1 -v -run '^TestCluster$' "$@" ./api/systemtest/
