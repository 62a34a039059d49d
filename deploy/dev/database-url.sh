#!/usr/bin/env bash
# Prints the DATABASE_URL `make run` uses, once it knows the database is
# there, so that a wrong one stops `make run` before anything is built:
#   - $DATABASE_URL if set, after connecting to it with psql; when that fails,
#     it stops with the error the server would give (the same "connect to
#     PostgreSQL: ... (check DATABASE_URL)", with PostgreSQL's own reason);
#   - else the PostgreSQL on localhost:5432 (database "baton", created if
#     missing);
#   - else a private cluster under .data/pg started from the local PostgreSQL
#     binaries;
#   - else it stops with a message saying what to do.
# A URL that psql cannot read (pgx-only parameters such as pool_max_conns) is
# left for the server to check.
set -euo pipefail

psql=$(command -v psql || ls /usr/lib/postgresql/*/bin/psql 2>/dev/null | sort -V | tail -n 1 || true)

# check URL: connects with psql, within 5 seconds; on a connection failure
# prints the server's message for it and fails.
check() {
  local out reason
  if [ -z "$psql" ]; then
    echo "database-url: psql not found, so DATABASE_URL is checked by the server after the build" >&2
    return 0
  fi
  if out=$(PGCONNECT_TIMEOUT=${PGCONNECT_TIMEOUT:-5} "$psql" -X -q -t -A -w -d "$1" -c 'SELECT 1' 2>&1 >/dev/null); then
    return 0
  fi
  # psql: error: connection to server at "127.0.0.1", port 5432 failed: FATAL:  database "x" does not exist
  reason=$(printf '%s\n' "$out" | sed 's/^psql: error: //' |
    awk 'NR > 1 { printf ". " } { sub(/^[ \t]+/, ""); gsub(/  +/, " "); printf "%s", $0 }')
  case $reason in
    "connection to server"* | "could not translate host name"* | *"timeout expired"*)
      echo "connect to PostgreSQL: $reason (check DATABASE_URL)" >&2
      return 1
      ;;
  esac
  echo "database-url: psql cannot check this DATABASE_URL ($reason); the server checks it after the build" >&2
}

if [ -n "${DATABASE_URL:-}" ]; then
  check "$DATABASE_URL"
  echo "$DATABASE_URL"
  exit 0
fi
if [ -n "$psql" ] && "$psql" -X -w -h 127.0.0.1 -U postgres -d postgres -tAc 'SELECT 1' >/dev/null 2>&1; then
  if ! "$psql" -X -w -h 127.0.0.1 -U postgres -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'baton'" | grep -q 1; then
    # Another make run may create it at the same moment: then it exists.
    if "$psql" -X -w -h 127.0.0.1 -U postgres -d postgres -qc 'CREATE DATABASE baton' >/dev/null 2>&1; then
      echo "database-url: created database baton on 127.0.0.1:5432" >&2
    fi
  fi
  echo "postgres://postgres@127.0.0.1:5432/baton?sslmode=disable"
  exit 0
fi
exec "$(dirname "$0")/pg-cluster.sh" .data/pg 55432
