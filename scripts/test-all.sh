#!/usr/bin/env bash
# Runs the whole test suite on deno, bun and node (24, from node_modules),
# then on Node 22 LTS (node22: the files it can parse, see NODE22_SKIP), and
# the reach checks in workerd and headless Chromium (scripts/test-reach.ts),
# prints one line per runtime with its pass count, and fails if any fails.
# For a runtime that fails, it shows its first failure once (message and
# stack, without the runtime's own frames), the names of its failing tests
# and its own counts: the full logs are long and each runtime repeats itself.
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
    report "$name" "$logs/$name.log"
    summary+=("$(printf '%-9s FAIL  %s (%ss, exit %s)' "$name" "$counts" "$secs" "$rc")")
  fi
}

report() { # name, log: its first failure, once, then its failing tests and counts
  local first names totals
  first=$(first_failure "$1" "$2")
  [ -n "$first" ] || first=$(first_marked "$2")
  case $1 in
  deno)
    names=$(awk '/^ FAILURES $/ {on = 1} on && / => / {print}' "$2")
    totals=$(grep -E '^(ok|FAILED) \|' "$2" | tail -1) ;;
  bun)
    names=$(grep -E '^\(fail\) |^# Unhandled error' "$2" | awk '!seen[$0]++')
    totals=$(grep -E '^ *[0-9]+ (pass|fail|error|skip|todo)$|^Ran [0-9]+ tests' "$2" |
      tail -6) ;;
  node)
    names=$(awk '/^✖ failing tests:$/ {on = 1} on && prev ~ /^test at / {print} {prev = $0}' "$2")
    totals=$(grep -E '^ℹ (tests|pass|fail|cancelled|skipped|todo) ' "$2" | tail -6) ;;
  *) names='' totals='' ;;
  esac
  echo "-- $1: the first failure"
  if [ -n "$first" ]; then
    # runtime-internal stack frames say nothing about our code
    echo "$first" | grep -vE '^ +at .*(node:internal|node:test|node:async_hooks|ext:deno_|ext:core)' |
      head -n 60
  else
    tail -n 40 "$2"
  fi
  if [ -n "$names" ]; then
    echo "-- $1: failing ($(echo "$names" | wc -l)):"
    echo "$names" | head -n 10
    [ "$(echo "$names" | wc -l)" -le 10 ] || echo "…"
  fi
  if [ -n "$totals" ]; then
    echo "-- $1: its counts:"
    echo "$totals"
  fi
}

first_failure() { # name, log → the first failure's block, as the runtime wrote it
  case $1 in
  deno) # the ERRORS section lists each failure once: "name => where", error, stack
    awk '/^ ERRORS $/ {on = 1; next}
      on && (/^ FAILURES $/ || (prev == "" && / => / && seen++)) {exit}
      on && (seen || NF) {print} {prev = $0}' "$2" ;;
  bun) # bun prints a failure's message BEFORE its "(fail) name" line
    awk '/^# Unhandled error between tests/ {on = 1}
      on {print} on && /^-----+$/ && dashes++ {exit}
      on {next}
      /^\((pass|skip|todo)\) |^[^ ].*\.[jt]sx?:$/ {n = 0; next}
      n || NF {block[n++] = $0}
      /^\(fail\) / {for (i = (n > 50 ? n - 50 : 0); i < n; i++) print block[i]; exit}' "$2" ;;
  node) # the "failing tests" section at the end
    awk '/^✖ failing tests:$/ {on = 1; next}
      on && /^test at / && seen++ {exit}
      on && seen {print}' "$2" ;;
  esac
}

first_marked() { # log → 40 lines from its first failure marker (workerd, chromium,
  # or a runtime that failed before it could list its failures)
  local at
  at=$(grep -nE '^ *(✖|not ok|FAIL|\(fail\)|error:)|\[ERROR\]|: FAIL ' "$1" |
    head -1 | cut -d: -f1)
  [ -n "$at" ] && sed -n "${at},$((at + 40))p" "$1"
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
