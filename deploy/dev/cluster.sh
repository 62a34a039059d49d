#!/usr/bin/env bash
# Runs Baton the way docker-compose.yml does, without Docker: one API process
# (`baton serve` with BATON_EMBEDDED_WORKER=false) and separate `baton worker`
# processes, all sharing one database and one BATON_DATA_DIR (uploads).
#
# usage: deploy/dev/cluster.sh [--port N] [--host H] [--workers N] [--dir DIR]
#                              [--fresh-db] [--keep-db]
#   --port N     API port (default: $BATON_PORT, else 8080)
#   --host H     listen address (default: all interfaces)
#   --workers N  worker processes (default: 2)
#   --dir DIR    run directory: logs/, data/ (uploads), cluster.env
#                (default: .data/cluster)
#   --fresh-db   always use a new, empty database, even when DATABASE_URL is
#                set (then on that server, which must allow CREATE DATABASE)
#   --keep-db    do not drop the database this script created when it stops
#
# Database: $DATABASE_URL as is, if set (and no --fresh-db); else a new
# database on the PostgreSQL at 127.0.0.1:5432; else a new database in the
# private cluster of deploy/dev/pg-cluster.sh (.data/pg, port 55432). A
# database created here is dropped on exit unless --keep-db.
#
# Other BATON_* variables (BATON_MAX_RUNS, BATON_PYTHON, ...) reach every
# process. Runs in the foreground until Ctrl-C or SIGTERM, then stops all
# processes (workers get BATON_SHUTDOWN_GRACE to finish their runs). When
# everything is up it writes DIR/cluster.env (URL, DATABASE_URL, pids, worker
# ids) and then DIR/ready, which scripts can wait for.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"

port=${BATON_PORT:-8080}
host=
workers=2
dir=.data/cluster
fresh=0
keep_db=0
while [ $# -gt 0 ]; do
  case $1 in
    --port) port=${2:?--port needs a value}; shift 2 ;;
    --host) host=${2?--host needs a value}; shift 2 ;;
    --workers) workers=${2:?--workers needs a value}; shift 2 ;;
    --dir) dir=${2:?--dir needs a value}; shift 2 ;;
    --fresh-db) fresh=1; shift ;;
    --keep-db) keep_db=1; shift ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "cluster: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
case $port in '' | *[!0-9]*) echo "cluster: --port must be a number" >&2; exit 2 ;; esac
case $workers in '' | *[!0-9]* | 0) echo "cluster: --workers must be 1 or more" >&2; exit 2 ;; esac

bin=$root/bin/baton
if [ ! -x "$bin" ]; then
  echo "cluster: $bin is missing; run make build (or make cluster)" >&2
  exit 1
fi
python=${PYTHON:-$(command -v /usr/bin/python3 || command -v python3)}
psql=$(command -v psql || ls /usr/lib/postgresql/*/bin/psql 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$psql" ]; then
  echo "cluster: psql not found; install postgresql-client" >&2
  exit 1
fi

mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
logs=$dir/logs
data=$dir/data
mkdir -p "$logs" "$data"
rm -f "$dir/ready" "$dir/cluster.env"

log() { printf 'cluster: %s\n' "$*" >&2; }

# --- database ----------------------------------------------------------------
# url_with_db URL NAME prints URL with its database name replaced by NAME.
url_with_db() {
  "$python" - "$1" "$2" <<'PY'
import sys
from urllib.parse import urlsplit, urlunsplit, quote
u = urlsplit(sys.argv[1])
print(urlunsplit((u.scheme, u.netloc, "/" + quote(sys.argv[2]), u.query, u.fragment)))
PY
}

created_db=
admin_url=
if [ -n "${DATABASE_URL:-}" ] && [ "$fresh" = 0 ]; then
  db_url=$DATABASE_URL
  log "database: \$DATABASE_URL"
else
  if [ -n "${DATABASE_URL:-}" ]; then
    server_url=$DATABASE_URL
  elif pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null &&
    "$psql" -h 127.0.0.1 -p 5432 -U postgres -d postgres -tAc 'SELECT 1' >/dev/null 2>&1; then
    server_url="postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
  else
    log "no PostgreSQL at 127.0.0.1:5432; starting the private cluster in .data/pg"
    server_url=$(deploy/dev/pg-cluster.sh .data/pg 55432)
  fi
  admin_url=$(url_with_db "$server_url" postgres)
  name="baton_cluster_$(date +%Y%m%d_%H%M%S)_$$"
  "$psql" "$admin_url" -v ON_ERROR_STOP=1 -qc "CREATE DATABASE \"$name\"" >/dev/null
  created_db=$name
  db_url=$(url_with_db "$server_url" "$name")
  log "database: created $name$([ "$keep_db" = 1 ] && echo ' (kept at exit)' || echo ' (dropped at exit)')"
fi

# --- processes -----------------------------------------------------------------
pids=()
names=()
stopping=0

stop_all() {
  [ "$stopping" = 1 ] && return
  stopping=1
  trap '' INT TERM
  local pid i alive deadline
  if [ ${#pids[@]} -gt 0 ]; then
    log "stopping ${names[*]}"
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    # Workers let running tests finish for BATON_SHUTDOWN_GRACE (30s default).
    deadline=$((SECONDS + ${BATON_CLUSTER_STOP_TIMEOUT:-45}))
    while :; do
      alive=0
      for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
      [ "$alive" = 0 ] && break
      if [ "$SECONDS" -ge "$deadline" ]; then
        log "still running after ${BATON_CLUSTER_STOP_TIMEOUT:-45}s; killing"
        for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
        break
      fi
      sleep 0.2
    done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  fi
  rm -f "$dir/ready"
  if [ -n "$created_db" ] && [ "$keep_db" = 0 ]; then
    if "$psql" "$admin_url" -qc "DROP DATABASE IF EXISTS \"$created_db\" WITH (FORCE)" >/dev/null 2>&1; then
      log "dropped database $created_db"
    else
      log "could not drop database $created_db"
    fi
  fi
}
trap 'stop_all' EXIT
trap 'stop_all; exit 130' INT
trap 'stop_all; exit 143' TERM

# start NAME LOGFILE ENV... -- ARGS...: runs bin/baton in the background;
# ENV are arguments of env(1): NAME=VALUE, or -u NAME to drop one.
start() {
  local name=$1 logfile=$2
  shift 2
  local envs=()
  while [ "$1" != -- ]; do envs+=("$1"); shift; done
  shift
  env "${envs[@]}" "$bin" "$@" >>"$logfile" 2>&1 &
  pids+=($!)
  names+=("$name")
}

common=(
  "DATABASE_URL=$db_url"
  "BATON_DATA_DIR=$data"
  "BATON_SAMPLE_TESTS_DIR=${BATON_SAMPLE_TESTS_DIR:-$root/sample-tests}"
  "BATON_WEB_DIR=${BATON_WEB_DIR:-$root/frontend/dist}"
)
check_host=${host:-127.0.0.1}
case $check_host in 0.0.0.0 | '::' | '[::]') check_host=127.0.0.1 ;; esac
url="http://$check_host:$port"

log "migrating"
env "${common[@]}" "$bin" migrate >>"$logs/migrate.log" 2>&1 || {
  log "migration failed:"; tail -n 20 "$logs/migrate.log" >&2; exit 1
}

start api "$logs/api.log" "${common[@]}" \
  "BATON_ADDR=$host:$port" BATON_EMBEDDED_WORKER=false "BATON_API_URL=$url" -- serve
worker_ids=()
for i in $(seq 1 "$workers"); do
  id="cluster-$port-w$i"
  worker_ids+=("$id")
  # Like docker-compose.yml: the API token stays with the API, out of tests.
  start "worker-$i" "$logs/worker-$i.log" -u BATON_API_TOKEN "${common[@]}" \
    "BATON_WORKER_ID=$id" "BATON_API_URL=$url" -- worker
done

# died prints the index of a process that exited, if any.
died() {
  local i
  for i in "${!pids[@]}"; do
    if ! kill -0 "${pids[$i]}" 2>/dev/null; then echo "$i"; return 0; fi
  done
  return 1
}

# up: the API answers /api/health and every worker has logged its start.
up() {
  local i
  curl -fsS --max-time 2 "$url/api/health" >/dev/null 2>&1 || return 1
  for i in $(seq 1 "$workers"); do
    grep -q 'worker started' "$logs/worker-$i.log" 2>/dev/null || return 1
  done
}

deadline=$((SECONDS + ${BATON_CLUSTER_START_TIMEOUT:-60}))
until up; do
  if dead=$(died); then
    log "${names[$dead]} exited during start-up; its log:"
    tail -n 30 "$logs/${names[$dead]}.log" >&2
    exit 1
  fi
  if [ "$SECONDS" -ge "$deadline" ]; then
    log "not up after ${BATON_CLUSTER_START_TIMEOUT:-60}s; see $logs"
    exit 1
  fi
  sleep 0.2
done

{
  printf 'BATON_URL=%q\n' "$url"
  printf 'DATABASE_URL=%q\n' "$db_url"
  printf 'BATON_DATA_DIR=%q\n' "$data"
  printf 'CLUSTER_LOGS=%q\n' "$logs"
  printf 'CLUSTER_DB_CREATED=%q\n' "$created_db"
  printf 'CLUSTER_ADMIN_URL=%q\n' "$admin_url"
  printf 'CLUSTER_PIDS=%q\n' "${pids[*]}"
  printf 'CLUSTER_WORKER_IDS=%q\n' "${worker_ids[*]}"
} >"$dir/cluster.env"
touch "$dir/ready"

web="frontend/dist"
[ -f "${BATON_WEB_DIR:-$root/frontend/dist}/index.html" ] || web="not built (make frontend), so / shows a placeholder"
cat >&2 <<EOF
cluster: up: 1 API + $workers workers
  URL       $url   (web UI: $web)
  workers   ${worker_ids[*]}
  uploads   $data/uploads
  logs      $logs/{api,worker-N,migrate}.log
  Ctrl-C stops everything.
EOF

# Run until a signal arrives or a process exits on its own.
while :; do
  set +e
  wait -n "${pids[@]}"
  set -e
  if dead=$(died); then
    set +e
    wait "${pids[$dead]}"
    rc=$?
    set -e
    if [ "$rc" = 0 ]; then
      # Baton exits 0 only after SIGINT/SIGTERM: someone stopped it (e.g. a
      # Ctrl-C that reached the whole process group first). Stop the rest.
      log "${names[$dead]} stopped"
      exit 0
    fi
    log "${names[$dead]} exited with status $rc; last lines of its log:"
    tail -n 20 "$logs/${names[$dead]}.log" >&2
    exit 1
  fi
done
