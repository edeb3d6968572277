#!/usr/bin/env bash
# Runs the whole test suite on deno, bun and node (24, from node_modules),
# then on Node 22 LTS (node22: the files it can parse, see NODE22_SKIP), and
# the reach checks in workerd and headless Chromium (scripts/test-reach.ts),
# prints one line per runtime with its pass count, and fails if any fails.
# RUNTIMES="deno node" runs a subset.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh || exit 1
export PATH="$PWD/node_modules/.bin:$PATH" NO_COLOR=1 FORCE_COLOR=0
logs=$(mktemp -d)

# Node 22's V8 (12.4) has no `await using` (explicit resource management
# came with V8 13.x, in Node 24): a file that uses it cannot even be parsed
# there, so the tests that need it live in their own file, left out of the
# node22 run and named in its log and summary line. (Node 22 strips types by
# default since 22.18: no flag.)
NODE22_SKIP=(
  tests/await_using.test.ts
)

# node --test on the Node 22 binary, over every test file but NODE22_SKIP.
# Node 22 applies --test-timeout to each file as a whole (Node 24: to each
# test), hence a limit of 10 minutes there.
node22() {
  local f files=()
  for f in tests/*.test.ts; do
    if [[ " ${NODE22_SKIP[*]} " == *" $f "* ]]; then
      echo "node22: skipping $f: it uses \`await using\`, which Node 22 cannot parse"
    else
      files+=("$f")
    fi
  done
  node_modules/node22/bin/node --version
  node_modules/node22/bin/node --test --test-reporter=spec \
    --test-timeout=600000 "${files[@]}"
}

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
  node | node22)
    local p f s
    p=$(grep -E '^ℹ pass [0-9]+' "$2" | tail -1 | tr -dc 0-9)
    f=$(grep -E '^ℹ fail [0-9]+' "$2" | tail -1 | tr -dc 0-9)
    s=$(grep -c '^node22: skipping ' "$2")
    if [ "$s" -gt 0 ]; then
      echo "${p:-0} passed ${f:-?} failed ($s file(s) skipped: await using)"
    else
      echo "${p:-0} passed ${f:-?} failed"
    fi ;;
  workerd | chromium)
    local line
    line=$(grep -E "^$1 +(ok|FAIL|skip) " "$2" | tail -1 |
      grep -oE '[0-9]+ passed [0-9]+ failed( +\(.*\))?')
    echo "${line:-0 passed ? failed}" ;;
  *) tail -1 "$2" ;;
  esac
}

only=${RUNTIMES:-deno bun node node22 workerd chromium}
for rt in $only; do
  case $rt in
  deno) run deno deno test -A --sanitize-ops --sanitize-resources --doc tests/ *.ts ;;
  bun) run bun bun test --timeout 60000 tests/ ;;
  node) run node node --test --test-timeout=60000 "tests/**/*.test.ts" ;;
  node22) run node22 node22 ;;
  workerd) run workerd node scripts/test-reach.ts workerd ;;
  chromium) run chromium node scripts/test-reach.ts chromium ;;
  esac
done

echo
echo "== summary"
printf '%s\n' "${summary[@]}"
rm -rf "$logs"
exit $status
