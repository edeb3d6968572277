#!/usr/bin/env bash
# Runs the whole test suite on deno, bun and node (24, from node_modules),
# and the reach checks in workerd and headless Chromium (scripts/test-reach.ts),
# prints one line per runtime with its pass count, and fails if any fails.
# RUNTIMES="deno node" runs a subset.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh || exit 1
export PATH="$PWD/node_modules/.bin:$PATH" NO_COLOR=1 FORCE_COLOR=0
logs=$(mktemp -d)
status=0
summary=()

run() { # name, command…
  local name=$1
  shift
  echo "== $name: $*"
  local start=$SECONDS
  "$@" >"$logs/$name.log" 2>&1
  local rc=$?
  local secs=$((SECONDS - start))
  local counts
  counts=$(count "$name" "$logs/$name.log")
  if [ $rc -eq 0 ]; then
    summary+=("$(printf '%-9s ok    %s (%ss)' "$name" "$counts" "$secs")")
  else
    status=1
    # the first failure (its cause may be far from the end), then the end
    local first
    first=$(grep -nE '^ *(✖|not ok|FAIL|\(fail\)|error:)|failing tests' \
      "$logs/$name.log" | head -1 | cut -d: -f1)
    if [ -n "$first" ]; then
      echo "-- from the first failure (line $first):"
      sed -n "${first},$((first + 80))p" "$logs/$name.log"
      echo "-- the end:"
    fi
    tail -n 60 "$logs/$name.log"
    summary+=("$(printf '%-9s FAIL  %s (%ss, exit %s)' "$name" "$counts" "$secs" "$rc")")
  fi
}

count() { # name, log → "N passed, M failed"
  # some runtimes colour their output whatever NO_COLOR says: strip it
  sed -i -E 's/\x1b\[[0-9;]*[a-zA-Z]//g' "$2"
  case $1 in
  deno)
    grep -E '^(ok|FAILED) \|' "$2" | tail -1 |
      sed -E 's/^(ok|FAILED) \| //; s/ \| / /g' ;;
  bun)
    local p f
    p=$(grep -E '^ *[0-9]+ pass$' "$2" | tail -1 | tr -dc 0-9)
    f=$(grep -E '^ *[0-9]+ fail$' "$2" | tail -1 | tr -dc 0-9)
    echo "${p:-0} passed ${f:-?} failed" ;;
  node)
    local p f
    p=$(grep -E '^ℹ pass [0-9]+' "$2" | tail -1 | tr -dc 0-9)
    f=$(grep -E '^ℹ fail [0-9]+' "$2" | tail -1 | tr -dc 0-9)
    echo "${p:-0} passed ${f:-?} failed" ;;
  workerd | chromium)
    local line
    line=$(grep -E "^$1 +(ok|FAIL|skip) " "$2" | tail -1 |
      grep -oE '[0-9]+ passed [0-9]+ failed( +\(.*\))?')
    echo "${line:-0 passed ? failed}" ;;
  *) tail -1 "$2" ;;
  esac
}

only=${RUNTIMES:-deno bun node workerd chromium}
for rt in $only; do
  case $rt in
  deno) run deno deno test -A --sanitize-ops --sanitize-resources --doc tests/ *.ts ;;
  bun) run bun bun test --timeout 60000 tests/ ;;
  node) run node node --test --test-timeout=60000 "tests/**/*.test.ts" ;;
  workerd) run workerd node scripts/test-reach.ts workerd ;;
  chromium) run chromium node scripts/test-reach.ts chromium ;;
  esac
done

echo
echo "== summary"
printf '%s\n' "${summary[@]}"
rm -rf "$logs"
exit $status
