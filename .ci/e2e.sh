#!/usr/bin/env bash
# Browser end-to-end tests: a real `baton serve` (API + worker + built SPA)
# on a fresh database, driven by Playwright in Debian's Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f frontend/package.json ] || { echo "e2e: no frontend yet, skipped"; exit 0; }

admin=${BATON_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}
db="baton_e2e_$$"
# A free port unless E2E_PORT names one: a fixed default collides with any other server (or
# another e2e run) on the machine. The kernel picks it; the server binds it a moment later.
port=${E2E_PORT:-$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')}
work=$(mktemp -d)
pid=""
cleanup() {
  # The offline test stops the server and starts it again: the pid file names the live one.
  [ -s "$work/server.pid" ] && kill "$(cat "$work/server.pid")" 2>/dev/null || true
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  psql "$admin" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
psql "$admin" -qc "CREATE DATABASE $db" >/dev/null
url=$(python3 -c 'import sys,urllib.parse as u; p=u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path="/"+sys.argv[2])))' "$admin" "$db")

# serve.sh starts the server the same way every time, so the offline test can stop it and
# start it again (E2E_SERVE, E2E_SERVER_PIDFILE); it records the live server's pid.
{
  echo '#!/usr/bin/env bash'
  printf 'cd %q && echo $$ >%q\n' "$PWD" "$work/server.pid"
  printf 'DATABASE_URL=%q BATON_ADDR=%q BATON_DATA_DIR=%q BATON_MAX_RUNS=8 exec ./bin/baton serve >>%q 2>&1\n' \
    "$url" "127.0.0.1:$port" "$work/data" "$work/server.log"
} >"$work/serve.sh"
chmod +x "$work/serve.sh"
"$work/serve.sh" &
pid=$!
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$port/api/health" >/dev/null 2>&1 && break
  kill -0 "$pid" 2>/dev/null || { cat "$work/server.log"; echo "e2e: server exited"; exit 1; }
  sleep 0.2
done
status=0
(cd frontend && BATON_URL="http://127.0.0.1:$port" E2E_SERVE="$work/serve.sh" E2E_SERVER_PIDFILE="$work/server.pid" \
  npm run --silent e2e) || status=$?
if [ "$status" != 0 ]; then
  echo "---- server log (last 80 lines) ----"; tail -n 80 "$work/server.log"
fi
exit "$status"
