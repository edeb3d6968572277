// Turns the JSON of one or more benchmark runs into the table of time per
// operation, with ratios to each group's baseline. With several runs, each
// case gets the median of its runs (the machine's noise moves single runs by
// tens of percent; a median of 3 or 5 holds still).
//
//   deno bench -A --json bench/pool_bench.ts > /tmp/d1.json   # a few times
//   node bench/mitata.ts --json=/tmp/n1.json                  # Node, Bun too
//   deno run -A bench/report.ts /tmp/d*.json
//
// Each file is either `deno bench --json` output or what `mitata.ts --json`
// writes; give the runs of one runtime at a time. With no file, the JSON of
// one run is read from standard input.

import genericPool from "generic-pool";
import tarn from "tarn";
import { type Case, poolCases } from "./_cases.ts";
import { proxyCases } from "./_proxy_cases.ts";
import { type Measured, table } from "./_table.ts";

interface DenoBenchJson {
  runtime: string;
  benches: {
    group: string | null;
    name: string;
    results: { ok?: { avg: number } }[];
  }[];
}

/** What `mitata.ts --json` writes. */
interface MitataJson {
  runtime: string;
  rows: { group: string; name: string; nsPerIter: number }[];
}

const texts = Deno.args.length === 0
  ? [await new Response(Deno.stdin.readable).text()]
  : await Promise.all(Deno.args.map((path) => Deno.readTextFile(path)));

const known = new Map<string, Case>();
for (const c of [...poolCases({ genericPool, tarn }), ...proxyCases()]) {
  known.set(`${c.group}\u0000${c.name}`, c);
}

let runtime = "";
/** Per case, its time per iteration in each run (undefined where missing). */
const samples = new Map<Case, (number | undefined)[]>();
texts.forEach((text, run) => {
  const json = JSON.parse(text) as DenoBenchJson | MitataJson;
  const add = (group: string | null, name: string, ns: number | undefined) => {
    const c = known.get(`${group}\u0000${name}`);
    if (c === undefined || ns === undefined) return;
    let list = samples.get(c);
    if (list === undefined) samples.set(c, list = []);
    list[run] = ns;
  };
  if ("benches" in json) {
    runtime = json.runtime.split(" ")[0].replace("/", " ");
    for (const b of json.benches) add(b.group, b.name, b.results[0]?.ok?.avg);
  } else {
    runtime = json.runtime;
    for (const r of json.rows) add(r.group, r.name, r.nsPerIter);
  }
});

const median = (values: number[]): number => {
  const sorted = values.toSorted((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? sorted[mid]
    : (sorted[mid - 1] + sorted[mid]) / 2;
};
const present = (values: (number | undefined)[]): number[] =>
  values.filter((v): v is number => v !== undefined);
// ratios within each run (the machine's speed drifts between runs), then
// their median
const baselines = new Map<string, (number | undefined)[]>();
for (const [c, ns] of samples) {
  if (c.baseline) baselines.set(c.group, ns.map((v) => v && v / c.ops));
}
const rows: Measured[] = [...samples].map(([c, ns]) => {
  const base = baselines.get(c.group);
  const ratios = base === undefined ? [] : present(
    ns.map((v, run) =>
      v === undefined || base[run] === undefined
        ? undefined
        : v / c.ops / base[run]!
    ),
  );
  return {
    c,
    nsPerIter: median(present(ns)),
    ratio: ratios.length === 0 ? undefined : median(ratios),
  };
});
const runs = texts.length === 1 ? "one run" : `median of ${texts.length} runs`;
console.log(`Time per operation, ${runtime} (${runs}):\n`);
console.log(table(runtime, rows));
