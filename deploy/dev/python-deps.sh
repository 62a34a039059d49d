#!/usr/bin/env bash
# Makes sure the Python that Baton will run tests with can import pytest,
# before anything is built, and stops with the message `baton` itself would
# give otherwise:
#   - BATON_PYTHON, if set, must import pytest (nothing is installed for it);
#   - else the first of python3 on PATH, /usr/bin/python3, /usr/local/bin/python3
#     that imports pytest (the order `baton` tries them in); when none does and
#     apt is there and we are root, Debian's python3-pytest (and
#     python3-requests, for uploaded tests) is installed and tried again.
# The candidates mirror api/runner's DetectPython, and the messages what
# `baton` says; api/onboarding checks that they still agree.
# With --print it prints the interpreter it found, which make run hands to
# `baton serve` as BATON_PYTHON so that the server need not look again.
set -euo pipefail
print=0
[ "${1:-}" = --print ] && print=1
found() { [ "$print" = 1 ] && printf '%s\n' "$1"; exit 0; }

# why PY: prints why PY cannot import pytest and fails, or succeeds quietly.
why() {
  local path out rc=0
  if ! path=$(command -v "$1"); then
    echo "not found"
    return 1
  fi
  out=$(timeout 30 "$path" -c 'import pytest' 2>&1) || rc=$?
  [ "$rc" = 0 ] && return 0
  out=$(printf '%s\n' "$out" | sed '/^[[:space:]]*$/d' | tail -n 1)
  [ -n "$out" ] || out="exit status $rc"
  printf '(%s): cannot import pytest: %s\n' "$path" "$out"
  return 1
}

if [ -n "${BATON_PYTHON:-}" ]; then
  py=$(printf '%s' "$BATON_PYTHON" | sed 's/^[[:space:]]*//; s/[[:space:]]*$//')
  if reason=$(why "$py"); then found "$py"; fi
  case $reason in
    "("*) echo "BATON_PYTHON=$py $reason" >&2 ;;
    *) echo "BATON_PYTHON=$py: $reason" >&2 ;;
  esac
  exit 1
fi

detect() {
  local py reason tried=()
  for py in python3 /usr/bin/python3 /usr/local/bin/python3; do
    if reason=$(why "$py"); then
      python=$(command -v "$py")
      return 0
    fi
    case $reason in
      "("*) tried+=("$py $reason") ;;
      *) tried+=("$py: $reason") ;;
    esac
  done
  tried_text=$(printf '%s; ' "${tried[@]}")
  tried_text=${tried_text%; }
  return 1
}

detect && found "$python"
if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  echo "installing Debian's python3-pytest ..." >&2
  (apt-get install -y -qq python3-pytest python3-requests >/dev/null 2>&1) ||
    (apt-get update -qq && apt-get install -y -qq python3-pytest python3-requests >/dev/null) || true
  detect && found "$python"
fi
echo "no python3 with pytest found; tried $tried_text; set BATON_PYTHON or install pytest (Debian: apt-get install python3-pytest)" >&2
exit 1
