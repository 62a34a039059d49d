#!/usr/bin/env bash
# Installs the web UI's npm packages and builds it, each only when its inputs
# changed since the last time it succeeded, so `make run` with nothing changed
# does neither.
#
# usage: deploy/dev/frontend.sh deps    npm ci, unless node_modules was installed
#                                       from this package-lock.json (and Node)
#        deploy/dev/frontend.sh build   deps, then npm run build, unless dist/ was
#                                       built from these sources
#        FORCE=1 ...                    do it anyway
#
# "Changed" is by content, not by time stamps: a checkout, a rebase or a fresh
# clone that leaves the bytes alone triggers nothing, and an edit is never
# missed because of a clock. Each stamp holds the SHA-256 of its inputs and is
# written only after the step succeeded, inside the directory the step fills
# (node_modules/, dist/), so deleting that directory (make clean) forces the
# step. Build inputs are every file under frontend/ that git does not ignore
# (tracked or not: a new source file counts), plus openapi.yaml, which the
# build turns into the typed client; outside a git checkout the build always
# runs.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root/frontend"

lock_stamp=node_modules/.baton-installed
build_stamp=dist/.baton-built

# hash_files: one SHA-256 over the names and contents of the files named on
# stdin, one per line, skipping names that no longer exist.
hash_files() {
  local f
  while IFS= read -r f; do
    [ -f "$f" ] && printf '%s\0' "$f"
  done | xargs -0 -r sha256sum | sha256sum | cut -d' ' -f1
}

# deps_hash: what node_modules is installed from (npm ci's only input
# besides the Node version, whose native packages can differ).
deps_hash() {
  printf '%s %s\n' "$(echo package-lock.json | hash_files)" "$(node --version)"
}

# build_hash prints nothing when the inputs cannot be listed (not a git
# checkout): then no stamp matches and the build runs. The generated client
# (src/api/schema.d.ts) is left out: the build writes it from openapi.yaml,
# which is in.
build_hash() {
  local list
  list=$(cd "$root" && git ls-files --cached --others --exclude-standard -- frontend openapi.yaml 2>/dev/null |
    grep -vx 'frontend/src/api/schema.d.ts' | sort -u) || return 0
  [ -n "$list" ] || return 0
  (cd "$root" && hash_files <<<"$list")
}

up_to_date() { # STAMP HASH
  [ "${FORCE:-0}" != 1 ] && [ -n "$2" ] && [ -f "$1" ] && [ "$(cat "$1")" = "$2" ]
}

deps() {
  local h
  h=$(deps_hash)
  if up_to_date "$lock_stamp" "$h"; then
    return 0
  fi
  echo "frontend: npm ci (node_modules was not installed from this package-lock.json) ..."
  # --prefer-offline: the lock file pins every version and its integrity
  # hash, so packages already in npm's cache need no round trip.
  npm ci --prefer-offline --no-audit --no-fund --loglevel=error
  printf '%s\n' "$h" >"$lock_stamp"
}

build() {
  deps
  local h
  h=$(build_hash)
  if up_to_date "$build_stamp" "$h"; then
    echo "frontend: dist/ is up to date"
    return 0
  fi
  echo "frontend: building the web UI into frontend/dist ..."
  npm run --silent build
  # The hash of the sources as they were before the build: an edit made
  # while it ran gets built next time.
  [ -d dist ] && printf '%s\n' "$h" >"$build_stamp"
}

case ${1:-} in
  deps) deps ;;
  build) build ;;
  *) echo "usage: $0 deps|build" >&2; exit 2 ;;
esac
