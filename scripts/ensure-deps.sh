#!/usr/bin/env bash
# Installs the pinned toolchain (deno, bun, node 24) and test libraries from
# package-lock.json when node_modules is missing or older than the lockfile.
set -euo pipefail
cd "$(dirname "$0")/.."
stamp=node_modules/.package-lock.json
if [ ! -x node_modules/.bin/deno ] || [ ! -x node_modules/.bin/bun ] ||
  [ ! -x node_modules/.bin/node ] || [ ! -f "$stamp" ] ||
  [ package-lock.json -nt "$stamp" ]; then
  echo "== installing the pinned toolchain (npm ci)"
  npm ci --no-audit --no-fund
fi
