#!/usr/bin/env bash
# Instructions per operation of the pool's hot paths (see instructions.ts),
# counted by valgrind on Node (--predictable and fixed seeds: one thread, no
# concurrent GC or JIT, a fixed GC schedule, so the count repeats within a few
# instructions). Prints one line per case, from the medians of RUNS (5) runs.
#   bash bench/instructions.sh [case ...]
set -euo pipefail
cd "$(dirname "$0")/.."
node=${NODE:-node_modules/.bin/node}
cases=${*:-uncontended tasks100 wait wait-timeout use use-async proxy-read proxy-call keyed-map keyed keyed-total}
small=${SMALL:-20000}
large=${LARGE:-220000}
count() { # case, iterations → instructions
  local out
  out=$(setarch "$(uname -m)" -R valgrind --tool=callgrind --callgrind-out-file=/dev/null \
    "$(readlink -f "$node")" --predictable --predictable-gc-schedule --random-seed=42 --hash-seed=42 \
    bench/instructions.ts "$1" "$2" 2>&1 >/dev/null)
  echo "$out" | sed -n 's/.*Collected : \([0-9]*\).*/\1/p' | tail -1
}
median() { printf '%s\n' "$@" | sort -n | sed -n "$((($# + 1) / 2))p"; }
runs=${RUNS:-5}
for c in $cases; do
  # medians of each count over several runs, then the difference: an
  # occasional run that tiers up differently moves one count, not the median
  as=() bs=()
  for _ in $(seq "$runs"); do
    as+=("$(count "$c" "$small")")
    bs+=("$(count "$c" "$large")")
  done
  a=$(median "${as[@]}")
  b=$(median "${bs[@]}")
  lo=$(( ($(median "${bs[@]}") - $(printf '%s\n' "${as[@]}" | sort -n | tail -1)) / (large - small) ))
  hi=$(( ($(median "${bs[@]}") - $(printf '%s\n' "${as[@]}" | sort -n | head -1)) / (large - small) ))
  echo "$c $(((b - a) / (large - small))) instructions/op (range $lo-$hi over the small runs)"
done
