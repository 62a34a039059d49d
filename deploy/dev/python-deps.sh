#!/usr/bin/env bash
# Makes sure the Python that Baton will run tests with can import pytest,
# before anything is built, and stops with the message `baton` itself would
# give otherwise:
#   - BATON_PYTHON, if set, must import pytest (nothing is installed for it);
#   - else the first of python3 on PATH, /usr/bin/python3, /usr/local/bin/python3
#     that imports pytest (the order `baton` tries them in); when none does and
#     apt is there and we are root, Debian's python3-pytest (and
#     python3-requests, for uploaded tests) is installed and tried again.
# The candidates and messages mirror api/runner (DetectPython, CheckPython);
# api/onboarding checks that they still agree.
set -euo pipefail

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
  if reason=$(why "$py"); then exit 0; fi
  case $reason in
    "("*) echo "BATON_PYTHON=$py $reason" >&2 ;;
    *) echo "BATON_PYTHON=$py: $reason" >&2 ;;
  esac
  exit 1
fi

detect() {
  local py reason tried=()
  for py in python3 /usr/bin/python3 /usr/local/bin/python3; do
    if reason=$(why "$py"); then return 0; fi
    case $reason in
      "("*) tried+=("$py $reason") ;;
      *) tried+=("$py: $reason") ;;
    esac
  done
  local IFS=';'
  tried_text=$(printf '%s; ' "${tried[@]}")
  tried_text=${tried_text%; }
  return 1
}

detect && exit 0
if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  echo "installing Debian's python3-pytest ..." >&2
  (apt-get install -y -qq python3-pytest python3-requests >/dev/null 2>&1) ||
    (apt-get update -qq && apt-get install -y -qq python3-pytest python3-requests >/dev/null) || true
  detect && exit 0
fi
echo "no python3 with pytest found; tried $tried_text; set BATON_PYTHON or install pytest (Debian: apt-get install python3-pytest)" >&2
exit 1
