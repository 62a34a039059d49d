#!/usr/bin/env bash
# Makes sure a python3 that can import pytest exists; installs Debian's
# python3-pytest (and python3-requests, for uploaded tests) when apt is there.
set -euo pipefail
for py in python3 /usr/bin/python3 /usr/local/bin/python3; do
  if command -v "$py" >/dev/null && "$py" -c 'import pytest' 2>/dev/null; then
    exit 0
  fi
done
if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  echo "installing Debian's python3-pytest ..." >&2
  (apt-get install -y -qq python3-pytest python3-requests >/dev/null 2>&1) ||
    (apt-get update -qq && apt-get install -y -qq python3-pytest python3-requests >/dev/null)
  exit 0
fi
echo "No python3 with pytest found. Install pytest (Debian: apt-get install python3-pytest) or set BATON_PYTHON." >&2
exit 1
