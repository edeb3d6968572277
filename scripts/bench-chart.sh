#!/usr/bin/env bash
# Draws bench/chart.svg, the pool against its peers and the floors: runs the
# comparison cases (uncontended; 100 and 10,000 tasks over 10 objects; the
# floor, this pool, generic-pool and tarn) RUNS times (3) on Deno, Node and
# Bun with mitata, then bench/report.ts --svg takes the medians, prints the
# tables and writes the chart. Keep the machine otherwise idle.
#   npm run bench:chart        (RUNS=5, OUT=/tmp/chart.svg to change them)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
export PATH="$PWD/node_modules/.bin:$PATH" NO_COLOR=1
runs=${RUNS:-3}
out=${OUT:-bench/chart.svg}
filter='^(uncontended get/ret|100 tasks over|10,000 tasks over)[^:]*: (uncontended floor|contended floor|pool|generic-pool|tarn)$'
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for i in $(seq "$runs"); do
  for rt in deno node bun; do
    echo "== run $i of $runs: $rt"
    case $rt in
    deno) deno run -A bench/mitata.ts "$filter" --json="$tmp/deno$i.json" >/dev/null ;;
    node) node --expose-gc bench/mitata.ts "$filter" --json="$tmp/node$i.json" >/dev/null ;;
    bun) bun bench/mitata.ts "$filter" --json="$tmp/bun$i.json" >/dev/null ;;
    esac
  done
done
deno run -A bench/report.ts --svg="$out" "$tmp"/deno*.json "$tmp"/node*.json "$tmp"/bun*.json
