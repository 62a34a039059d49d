#!/usr/bin/env bash
# Baton's benchmarks: bench/run.sh [name...] runs the named ones (default: all)
# from the repository root, each against its own `bin/baton serve`, port,
# fresh database and data directory. See bench/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."

ALL=(overhead handoff parallel apiload loglatency memory insights)
names=("$@")
[ ${#names[@]} -eq 0 ] && names=("${ALL[@]}")
for n in "${names[@]}"; do
  [ -d "bench/$n" ] || { echo "unknown bench '$n'; choose from: ${ALL[*]}" >&2; exit 2; }
done

export BENCH_PG_URL="${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432/}"
export BENCH_PYTHON="${BENCH_PYTHON:-/usr/bin/python3}"
"$BENCH_PYTHON" -c 'import pytest' 2>/dev/null || { echo "need $BENCH_PYTHON with pytest (make deps-python)" >&2; exit 1; }

GO="${GO:-go}"
echo "building bin/baton and bin/bench/* ..."
"$GO" build -o bin/baton ./api/cmd/baton
mkdir -p bin/bench
"$GO" build -o bin/bench/ ./bench/overhead ./bench/handoff ./bench/parallel ./bench/apiload ./bench/loglatency ./bench/memory ./bench/insights

rev="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
dirty="$(git status --porcelain -- api go.mod go.sum 2>/dev/null | wc -l | tr -d ' ')"
echo "baton at $rev ($dirty changed files under api/, go.mod, go.sum)"
status=0
for n in "${names[@]}"; do
  echo
  start=$(date +%s)
  if ! "./bin/bench/$n"; then
    echo "bench $n FAILED" >&2
    status=1
  fi
  echo "   ($n took $(( $(date +%s) - start ))s)"
done
exit $status
