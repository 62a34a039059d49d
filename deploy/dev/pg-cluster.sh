#!/usr/bin/env bash
# Starts (or reuses) a private PostgreSQL cluster from the local PostgreSQL
# binaries and prints its DATABASE_URL. Usage: pg-cluster.sh DATA_DIR PORT
# As root, the cluster runs as the "postgres" user, since initdb refuses root.
set -euo pipefail
data=$(realpath -m "${1:?usage: pg-cluster.sh DATA_DIR PORT}")
port=${2:?usage: pg-cluster.sh DATA_DIR PORT}
bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
  echo "pg-cluster: no PostgreSQL binaries under /usr/lib/postgresql; install PostgreSQL (apt-get install postgresql) or set DATABASE_URL" >&2
  exit 1
fi
as=()
if [ "$(id -u)" = 0 ]; then
  id postgres >/dev/null 2>&1 || useradd --system --home-dir "$data" postgres
  as=(runuser -u postgres --)
fi
mkdir -p "$data"
[ "$(id -u)" = 0 ] && chown postgres "$data"
if [ ! -f "$data/PG_VERSION" ]; then
  "${as[@]}" "$bindir/initdb" -D "$data" -U postgres --auth=trust -E UTF8 >/dev/null
fi
if ! "${as[@]}" "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1; then
  "${as[@]}" "$bindir/pg_ctl" -D "$data" -w -t 60 -l "$data/server.log" \
    -o "-p $port -k $data -c listen_addresses=127.0.0.1 -c max_connections=300" start >/dev/null
fi
if ! "$bindir/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'baton'" | grep -q 1; then
  "$bindir/createdb" -h 127.0.0.1 -p "$port" -U postgres baton
fi
echo "postgres://postgres@127.0.0.1:$port/baton?sslmode=disable"
