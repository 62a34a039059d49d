#!/usr/bin/env bash
# End-to-end test of the multi-process topology (the one docker-compose.yml
# runs): deploy/dev/cluster.sh starts one API and two workers on a free port
# with a fresh database; then this script checks, through the HTTP API, that
#   - /api/health is ok and the SPA is served at / (if it is built);
#   - a test uploaded with POST /api/test-files lands in the shared data
#     directory and runs;
#   - 6 runs queued over 2 environments all succeed, never overlap within an
#     environment, start in FIFO (id) order, and were executed by both
#     workers (runs.worker_id in the database);
#   - deploy/nginx.conf, rendered for this host, serves the SPA and proxies
#     /api (only if nginx is installed).
# Processes, database and temporary files are cleaned up however it ends.
# Needs bin/baton (make build), curl, psql and python3 with pytest.
# KEEP=1 keeps the temporary directory (logs) for inspection.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
# Debian's python3 first: it has pytest, and version-manager shims are slow.
python=${PYTHON:-$(command -v /usr/bin/python3 || command -v python3)}

say() { printf '\n== %s\n' "$*"; }
ok() { printf '   ok: %s\n' "$*"; }
skip() { printf '   SKIP: %s\n' "$*"; }
fail() {
  printf '   FAIL: %s\n' "$*" >&2
  exit 1
}

[ -x bin/baton ] || go build -o bin/baton ./api/cmd/baton

tmp=$(mktemp -d "${TMPDIR:-/tmp}/baton-cluster-e2e.XXXXXX")
run_dir=$tmp/cluster
record=$tmp/record
mkdir -p "$record"
cluster_pid=
nginx_pid=

cleanup() {
  local rc=$?
  trap '' INT TERM
  if [ -n "$nginx_pid" ]; then kill -TERM "$nginx_pid" 2>/dev/null || true; fi
  if [ -n "$cluster_pid" ] && kill -0 "$cluster_pid" 2>/dev/null; then
    kill -TERM "$cluster_pid" 2>/dev/null || true
    for _ in $(seq 1 300); do kill -0 "$cluster_pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$cluster_pid" 2>/dev/null || true
  fi
  # If cluster.sh could not clean up (killed, crashed), do it here.
  if [ -f "$run_dir/cluster.env" ]; then
    # shellcheck disable=SC1091
    (
      . "$run_dir/cluster.env"
      for pid in $CLUSTER_PIDS; do kill -KILL "$pid" 2>/dev/null || true; done
      if [ -n "$CLUSTER_DB_CREATED" ]; then
        psql "$CLUSTER_ADMIN_URL" -qc "DROP DATABASE IF EXISTS \"$CLUSTER_DB_CREATED\" WITH (FORCE)" >/dev/null 2>&1 || true
      fi
    )
  fi
  if [ "$rc" != 0 ] && [ -d "$run_dir/logs" ]; then
    for f in "$run_dir"/logs/*.log "$tmp"/cluster.out "$tmp"/nginx/error.log; do
      [ -f "$f" ] || continue
      printf '\n--- last lines of %s\n' "${f#"$tmp"/}" >&2
      tail -n 25 "$f" >&2
    done
  fi
  if [ "${KEEP:-0}" = 1 ]; then
    echo "kept $tmp" >&2
  else
    rm -rf "$tmp"
  fi
  if [ "$rc" = 0 ]; then echo; echo "cluster e2e: PASS"; else echo; echo "cluster e2e: FAIL" >&2; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
  "$python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# json EXPR: evaluates a Python expression over the JSON document on stdin (j).
json() { "$python" -c 'import json, sys; j = json.load(sys.stdin); v = eval(sys.argv[1]); print(v if isinstance(v, str) else json.dumps(v))' "$1"; }

# has TEXT REGEX: whether TEXT has a line matching REGEX (case-insensitive).
# (Not `producer | grep -q`: grep's early exit fails the pipeline under pipefail.)
has() { grep -qiE -- "$2" <<<"$1"; }

# The cluster runs with an API token, as production should.
export BATON_API_TOKEN="e2e-$RANDOM$RANDOM$RANDOM"
auth=(-H "Authorization: Bearer $BATON_API_TOKEN")

# api METHOD PATH [curl args]: prints the body; fails on an HTTP error.
api() {
  local method=$1 path=$2
  shift 2
  curl -sS --max-time 30 --fail-with-body -X "$method" "${auth[@]}" "$BATON_URL$path" "$@" ||
    fail "$method $path failed"
}

say "starting the cluster: 1 API + 2 workers, fresh database"
port=$(free_port)
# One run per worker process at a time: with two environments busy at once,
# both workers must take part.
BATON_MAX_RUNS=1 deploy/dev/cluster.sh --port "$port" --host 127.0.0.1 --dir "$run_dir" \
  --workers 2 --fresh-db >"$tmp/cluster.out" 2>&1 &
cluster_pid=$!
for _ in $(seq 1 600); do
  [ -f "$run_dir/ready" ] && break
  kill -0 "$cluster_pid" 2>/dev/null || { cat "$tmp/cluster.out" >&2; fail "cluster.sh exited during start-up"; }
  sleep 0.2
done
[ -f "$run_dir/ready" ] || fail "cluster not ready after 120s"
# shellcheck disable=SC1091
. "$run_dir/cluster.env"
read -r -a worker_ids <<<"$CLUSTER_WORKER_IDS"
[ "${#worker_ids[@]}" = 2 ] || fail "want 2 workers, got: ${worker_ids[*]}"
ok "up at $BATON_URL, workers ${worker_ids[*]}, database $CLUSTER_DB_CREATED"
code=$(curl -sS -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' -d '{}' "$BATON_URL/api/runs")
[ "$code" = 401 ] || fail "POST /api/runs without the token got HTTP $code, want 401"
ok "the API requires its token (401 without it)"
[ "$(echo "$CLUSTER_PIDS" | wc -w)" = 3 ] || fail "want 3 processes, got pids: $CLUSTER_PIDS"

say "health and web UI"
[ "$(api GET /api/health | json 'j["status"]')" = ok ] || fail "/api/health is not ok"
ok "/api/health: ok"
web_dir=${BATON_WEB_DIR:-$root/frontend/dist}
if [ -f "$web_dir/index.html" ]; then
  curl -fsS "$BATON_URL/" | cmp -s - "$web_dir/index.html" || fail "/ is not $web_dir/index.html"
  curl -fsS "$BATON_URL/runs/12345" | cmp -s - "$web_dir/index.html" || fail "/runs/12345 does not fall back to index.html"
  ok "/ and the client route /runs/12345 serve index.html"
else
  skip "$web_dir/index.html missing (make frontend builds it): SPA check skipped"
fi

say "upload a test into uploads/cluster/e2e and run it"
cat >"$tmp/test_e2e_hello.py" <<'EOF'
import os


def test_hello():
    print("hello from", os.environ["TEST_ENV_NAME"], "run", os.environ["TEST_RUN_ID"])
    assert os.environ["BATON_API_URL"].startswith("http://")
    assert "BATON_API_TOKEN" not in os.environ, "tests must not see the API token"
EOF
cat >"$tmp/test_e2e_timing.py" <<EOF
import json
import os
import time

RECORD_DIR = $("$python" -c 'import json, sys; print(json.dumps(sys.argv[1]))' "$record")


def test_takes_a_second():
    start = time.time()
    time.sleep(1.0)
    end = time.time()
    run = int(os.environ["TEST_RUN_ID"])
    rec = {"run": run, "env": int(os.environ["TEST_ENV_ID"]), "start": start, "end": end,
           "worker": os.environ.get("BATON_WORKER_ID", "")}
    path = os.path.join(RECORD_DIR, "run-%d.json" % run)
    with open(path + ".tmp", "w") as f:
        json.dump(rec, f)
    os.replace(path + ".tmp", path)
EOF
for f in test_e2e_hello.py test_e2e_timing.py; do
  got=$(api POST /api/test-files -F "file=@$tmp/$f" -F directory=uploads/cluster/e2e | json 'j["path"]')
  [ "$got" = "uploads/cluster/e2e/$f" ] || fail "upload of $f returned path $got"
  cmp -s "$tmp/$f" "$BATON_DATA_DIR/uploads/cluster/e2e/$f" || fail "$f is not in the shared $BATON_DATA_DIR/uploads"
done
has "$(api GET /api/test-files | json '[f["path"] for f in j["items"]]')" 'uploads/cluster/e2e/test_e2e_timing.py' ||
  fail "uploaded files are not in GET /api/test-files"
ok "uploaded, stored in the shared data directory and listed"

# wait_runs ID...: polls until every run has ended (90 s at most).
wait_runs() {
  local csv pending
  csv=$(IFS=,; echo "$*")
  for _ in $(seq 1 450); do
    pending=$(api GET "/api/runs?requested_by=cluster-e2e&limit=200" |
      json "sum(1 for r in j['items'] if r['id'] in [$csv] and r['status'] in ('queued', 'running'))")
    [ "$pending" = 0 ] && return 0
    sleep 0.2
  done
  fail "runs $* did not finish within 90s"
}

new_run() { # ENV FILE -> run id
  api POST /api/runs -H 'Content-Type: application/json' \
    -d "{\"requested_by\":\"cluster-e2e\",\"environment_id\":$1,\"test_files\":[\"$2\"]}" | json 'j["id"]'
}

hello=$(new_run 1 uploads/cluster/e2e/test_e2e_hello.py)
wait_runs "$hello"
[ "$(api GET "/api/runs/$hello" | json 'j["status"]')" = success ] || {
  api GET "/api/runs/$hello/log" | json 'j["text"]' >&2
  fail "run $hello of the uploaded test did not succeed"
}
has "$(api GET "/api/runs/$hello/log" | json 'j["text"]')" "hello from env1 run $hello" ||
  fail "run $hello's log lacks the test's output"
ok "run $hello of the uploaded test: success, output in its log"

say "6 runs over environments 7 and 8"
ids=()
for env in 7 8 7 8 7 8; do
  ids+=("$(new_run "$env" uploads/cluster/e2e/test_e2e_timing.py)")
done
ok "queued runs ${ids[*]}"
wait_runs "${ids[@]}"
for id in "${ids[@]}"; do api GET "/api/runs/$id"; echo; done >"$tmp/runs.jsonl"
psql "$DATABASE_URL" -tAc "SELECT id, worker_id FROM runs WHERE id IN ($(IFS=,; echo "${ids[*]}"))" >"$tmp/workers.txt" ||
  fail "cannot query the database"
psql "$DATABASE_URL" -tAc "SELECT DISTINCT worker_id FROM runs WHERE worker_id IS NOT NULL ORDER BY 1" >"$tmp/distinct-workers.txt"

"$python" - "$tmp/runs.jsonl" "$record" "$tmp/workers.txt" "$tmp/distinct-workers.txt" "${worker_ids[@]}" <<'PY'
import json, os, sys
from datetime import datetime

runs_file, record_dir, workers_file, distinct_file, *worker_ids = sys.argv[1:]
runs = [json.loads(l) for l in open(runs_file) if l.strip()]
db_worker = dict(l.strip().split("|", 1) for l in open(workers_file) if l.strip())
distinct = {l.strip() for l in open(distinct_file) if l.strip()}
problems = []

def ts(s):
    return datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()

for r in runs:
    if r["status"] != "success":
        problems.append("run %d ended %s (%s)" % (r["id"], r["status"], r.get("reason")))
    if not os.path.exists(os.path.join(record_dir, "run-%d.json" % r["id"])):
        problems.append("run %d left no record: the test did not execute" % r["id"])
if problems:
    sys.exit("   FAIL: " + "; ".join(problems))

rec = {r["id"]: json.load(open(os.path.join(record_dir, "run-%d.json" % r["id"]))) for r in runs}
for env in sorted({r["environment_id"] for r in runs}):
    mine = sorted((r for r in runs if r["environment_id"] == env), key=lambda r: r["id"])
    ids = [r["id"] for r in mine]
    # FIFO: in id order, each run started after the one before it (API and
    # in-test clocks), and no two ran at once.
    for a, b in zip(mine, mine[1:]):
        if not ts(b["started_at"]) >= ts(a["finished_at"]):
            problems.append("env %d: run %d started at %s before run %d finished at %s"
                            % (env, b["id"], b["started_at"], a["id"], a["finished_at"]))
        ra, rb = rec[a["id"]], rec[b["id"]]
        if not rb["start"] >= ra["end"]:
            problems.append("env %d: tests of runs %d and %d overlapped (%.3f < %.3f)"
                            % (env, a["id"], b["id"], rb["start"], ra["end"]))
    by_start = [r["id"] for r in sorted(mine, key=lambda r: ts(r["started_at"]))]
    if by_start != ids:
        problems.append("env %d: runs started in order %s, want id order %s" % (env, by_start, ids))
    for r in mine:
        if rec[r["id"]]["env"] != env:
            problems.append("run %d ran with TEST_ENV_ID=%s" % (r["id"], rec[r["id"]]["env"]))
    print("   ok: environment %d: runs %s ran one at a time, in id order" % (env, ids))

for r in runs:
    w = db_worker.get(str(r["id"]))
    if w not in worker_ids:
        problems.append("run %d: worker_id %r is none of %s" % (r["id"], w, worker_ids))
    elif rec[r["id"]]["worker"] != w:
        problems.append("run %d: database says worker %s, the test saw BATON_WORKER_ID=%s"
                        % (r["id"], w, rec[r["id"]]["worker"]))
missing = set(worker_ids) - distinct
if missing:
    problems.append("workers %s executed no run (distinct runs.worker_id: %s)" % (sorted(missing), sorted(distinct)))
if problems:
    sys.exit("   FAIL: " + "\n   FAIL: ".join(problems))
per = {w: sum(1 for r in runs if db_worker.get(str(r["id"])) == w) for w in worker_ids}
print("   ok: both workers executed runs: %s" % ", ".join("%s=%d" % kv for kv in sorted(per.items())))
PY

for id in $CLUSTER_PIDS; do kill -0 "$id" 2>/dev/null || fail "process $id of the cluster died"; done
ok "all 3 processes still running"

say "nginx front door (deploy/nginx.conf)"
nginx_bin=$(command -v nginx || ls /usr/sbin/nginx 2>/dev/null || true)
if [ -z "$nginx_bin" ]; then
  skip "nginx is not installed: deploy/nginx.conf not exercised"
else
  ng=$tmp/nginx
  mkdir -p "$ng/html"
  if [ -f "$web_dir/index.html" ]; then cp -r "$web_dir/." "$ng/html/"; else
    printf '<!doctype html><title>stand-in</title>\n' >"$ng/html/index.html"
  fi
  mkdir -p "$ng/html/assets"
  head -c 4000 /dev/zero | tr '\0' 'a' >"$ng/html/assets/e2e-stand-in.js"
  nport=$(free_port)
  # What the nginx image's entrypoint does to the template, plus this host's
  # paths and port instead of the container's.
  BATON_API_UPSTREAM="127.0.0.1:$port" BATON_CLIENT_MAX_BODY_SIZE=2m NGINX_LOCAL_RESOLVERS=127.0.0.1 \
    perl -pe 's|\$\{(BATON_API_UPSTREAM\|BATON_CLIENT_MAX_BODY_SIZE\|NGINX_LOCAL_RESOLVERS)\}|$ENV{$1}|g' \
    deploy/nginx.conf |
    sed -e "s|listen 80 default_server;|listen 127.0.0.1:$nport default_server;|" \
      -e "s|root /usr/share/nginx/html;|root $ng/html;|" >"$ng/site.conf"
  cat >"$ng/nginx.conf" <<EOF
daemon off;
worker_processes 1;
pid $ng/nginx.pid;
error_log $ng/error.log warn;
$([ "$(id -u)" = 0 ] && echo "user root;")
events { worker_connections 64; }
http {
  include /etc/nginx/mime.types;
  default_type application/octet-stream;
  access_log off;
  client_body_temp_path $ng/body;
  proxy_temp_path $ng/proxy;
  fastcgi_temp_path $ng/fastcgi;
  uwsgi_temp_path $ng/uwsgi;
  scgi_temp_path $ng/scgi;
  include $ng/site.conf;
}
EOF
  "$nginx_bin" -t -q -p "$ng" -c "$ng/nginx.conf" 2>"$ng/error.log" || { cat "$ng/error.log" >&2; fail "nginx rejects deploy/nginx.conf"; }
  "$nginx_bin" -p "$ng" -c "$ng/nginx.conf" 2>>"$ng/error.log" &
  nginx_pid=$!
  front=http://127.0.0.1:$nport
  for _ in $(seq 1 50); do curl -fsS -o /dev/null "$front/" 2>/dev/null && break; sleep 0.1; done
  [ "$(curl -fsS "$front/api/health" | json 'j["status"]')" = ok ] || fail "/api/health through nginx"
  curl -fsS "$front/runs/42" | cmp -s - "$ng/html/index.html" || fail "nginx: /runs/42 does not fall back to index.html"
  has "$(curl -fsSI "$front/")" '^cache-control: no-cache' || fail "nginx: index.html is cacheable"
  has "$(curl -fsSI "$front/assets/e2e-stand-in.js")" 'cache-control:.*immutable' || fail "nginx: /assets/ lacks long caching"
  has "$(curl -sSI "$front/assets/missing.js")" '^HTTP/[0-9.]* 404' || fail "nginx: a missing asset is not a 404"
  has "$(curl -fsS -H 'Accept-Encoding: gzip' -D - -o /dev/null "$front/assets/e2e-stand-in.js")" '^content-encoding: gzip' ||
    fail "nginx: no gzip"
  [ "$(curl -sS "$front/api/runs/$hello" | json 'j["status"]')" = success ] || fail "nginx: GET /api/runs/$hello"
  cp "$tmp/test_e2e_hello.py" "$tmp/test_e2e_via_nginx.py"
  [ "$(curl -fsS "${auth[@]}" -F "file=@$tmp/test_e2e_via_nginx.py" -F directory=uploads/cluster/e2e "$front/api/test-files" | json 'j["path"]')" = \
    uploads/cluster/e2e/test_e2e_via_nginx.py ] || fail "nginx: upload through /api/test-files"
  head -c $((1024 * 1024 - 100)) /dev/zero | tr '\0' '#' >"$tmp/test_e2e_big.py"
  code=$(curl -sS -o "$tmp/big.out" -w '%{http_code}' "${auth[@]}" -F "file=@$tmp/test_e2e_big.py" -F directory=uploads/cluster/e2e "$front/api/test-files")
  [ "$code" = 201 ] || { cat "$tmp/big.out" >&2; fail "nginx: a 1 MiB upload got HTTP $code (client_max_body_size too small?)"; }
  head -c $((3 * 1024 * 1024)) /dev/zero >"$tmp/test_e2e_huge.py"
  code=$(curl -sS -o /dev/null -w '%{http_code}' "${auth[@]}" -F "file=@$tmp/test_e2e_huge.py" -F directory=uploads/cluster/e2e "$front/api/test-files")
  [ "$code" = 413 ] || fail "nginx: a 3 MiB upload got HTTP $code, want 413"
  ok "nginx: SPA fallback, no-cache index, immutable /assets/, gzip, /api proxied, 1 MiB upload passes, 3 MiB gets 413"
fi
