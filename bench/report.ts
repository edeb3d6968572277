// Turns the JSON of one or more benchmark runs into the table of time per
// operation, with ratios to each group's baseline, and optionally into an
// SVG chart of the pool against its peers and the floors. With several runs,
// each case gets the median of its runs (the machine's noise moves single
// runs by tens of percent; a median of 3 or 5 holds still).
//
//   deno bench -A --json bench/pool_bench.ts > /tmp/d1.json   # a few times
//   node bench/mitata.ts --json=/tmp/n1.json                  # Node, Bun too
//   deno run -A bench/report.ts /tmp/d*.json
//   deno run -A bench/report.ts --svg=bench/chart.svg /tmp/*.json
//
// Each file is either `deno bench --json` output or what `mitata.ts --json`
// writes; runs of several runtimes may be given together: each runtime gets
// its table (and its column in the chart). With no file, the JSON of one run
// is read from standard input. `npm run bench:chart` runs the benchmarks on
// the three runtimes and writes bench/chart.svg (scripts/bench-chart.sh).

import genericPool from "generic-pool";
import tarn from "tarn";
import { type Case, poolCases } from "./_cases.ts";
import { proxyCases } from "./_proxy_cases.ts";
import { type Measured, table } from "./_table.ts";
import { chart } from "./_chart.ts";

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

const svg = Deno.args.find((a) => a.startsWith("--svg="))?.slice(6);
const paths = Deno.args.filter((a) => !a.startsWith("--"));
const texts = paths.length === 0
  ? [await new Response(Deno.stdin.readable).text()]
  : await Promise.all(paths.map((path) => Deno.readTextFile(path)));

const known = new Map<string, Case>();
for (const c of [...poolCases({ genericPool, tarn }), ...proxyCases()]) {
  known.set(`${c.group}\u0000${c.name}`, c);
}

/** One runtime's runs: per case, its time per iteration in each run. */
interface Runs {
  count: number;
  samples: Map<Case, (number | undefined)[]>;
}
const byRuntime = new Map<string, Runs>();
for (const text of texts) {
  const json = JSON.parse(text) as DenoBenchJson | MitataJson;
  const runtime = "benches" in json
    ? json.runtime.split(" ")[0].replace("/", " ").replace(/^deno/, "Deno")
    : json.runtime;
  let runs = byRuntime.get(runtime);
  if (runs === undefined) {
    byRuntime.set(runtime, runs = { count: 0, samples: new Map() });
  }
  const run = runs.count++;
  const add = (group: string | null, name: string, ns: number | undefined) => {
    const c = known.get(`${group}\u0000${name}`);
    if (c === undefined || ns === undefined) return;
    let list = runs.samples.get(c);
    if (list === undefined) runs.samples.set(c, list = []);
    list[run] = ns;
  };
  if ("benches" in json) {
    for (const b of json.benches) add(b.group, b.name, b.results[0]?.ok?.avg);
  } else {
    for (const r of json.rows) add(r.group, r.name, r.nsPerIter);
  }
}

const median = (values: number[]): number => {
  const sorted = values.toSorted((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? sorted[mid]
    : (sorted[mid - 1] + sorted[mid]) / 2;
};
const present = (values: (number | undefined)[]): number[] =>
  values.filter((v): v is number => v !== undefined);

/** A runtime's rows: medians, and medians of the ratios within each run. */
function measure(samples: Runs["samples"]): Measured[] {
  // ratios within each run (the machine's speed drifts between runs), then
  // their median
  const baselines = new Map<string, (number | undefined)[]>();
  for (const [c, ns] of samples) {
    if (c.baseline) baselines.set(c.group, ns.map((v) => v && v / c.ops));
  }
  return [...samples].map(([c, ns]) => {
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
}

const panels: { runtime: string; runs: number; rows: Measured[] }[] = [];
for (const [runtime, runs] of byRuntime) {
  const rows = measure(runs.samples);
  panels.push({ runtime, runs: runs.count, rows });
  const count = runs.count === 1 ? "one run" : `median of ${runs.count} runs`;
  console.log(`Time per operation, ${runtime} (${count}):\n`);
  console.log(table(runtime, rows));
  console.log();
}

if (svg !== undefined) {
  await Deno.writeTextFile(svg, chart(panels));
  console.log(`wrote ${svg}`);
}
