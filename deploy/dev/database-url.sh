#!/usr/bin/env bash
# Prints the DATABASE_URL `make run` uses: $DATABASE_URL if set; else the
# PostgreSQL on localhost:5432 (database "baton", created if missing); else a
# private cluster under .data/pg started from the local PostgreSQL binaries;
# else it stops with a message saying what to do.
set -euo pipefail
if [ -n "${DATABASE_URL:-}" ]; then
  echo "$DATABASE_URL"
  exit 0
fi
if command -v pg_isready >/dev/null && pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null &&
  psql -h 127.0.0.1 -U postgres -d postgres -tAc 'SELECT 1' >/dev/null 2>&1; then
  if ! psql -h 127.0.0.1 -U postgres -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'baton'" | grep -q 1; then
    createdb -h 127.0.0.1 -U postgres baton
  fi
  echo "postgres://postgres@127.0.0.1:5432/baton?sslmode=disable"
  exit 0
fi
exec "$(dirname "$0")/pg-cluster.sh" .data/pg 55432
