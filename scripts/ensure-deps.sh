#!/usr/bin/env bash
# Installs the pinned toolchain (deno, bun, node 24, node 22) and test
# libraries from package-lock.json when node_modules is missing or older than
# the lockfile.
set -euo pipefail
cd "$(dirname "$0")/.."
stamp=node_modules/.package-lock.json
if [ ! -x node_modules/.bin/deno ] || [ ! -x node_modules/.bin/bun ] ||
  [ ! -x node_modules/.bin/node ] || [ ! -x node_modules/node22/bin/node ] ||
  [ ! -f "$stamp" ] ||
  [ package-lock.json -nt "$stamp" ]; then
  echo "== installing the pinned toolchain (npm ci)"
  npm ci --no-audit --no-fund
fi

# node22 is an alias of the `node` package, so it declares a `node` command
# too: npm links the first one it meets, which an incremental `npm install`
# may make Node 22. `node` must be Node 24 (the version pinned as `node`).
want=$(sed -n 's/^ *"version": "\(.*\)",$/\1/p' node_modules/node/package.json | head -1)
if [ "$(node_modules/.bin/node --version)" != "v$want" ]; then
  echo "== node_modules/.bin/node was not Node $want: linking it again"
  ln -sf ../node/bin/node node_modules/.bin/node
fi
