// Turns the JSON of `deno bench` into the table of time per operation that
// mitata.ts prints for Bun and Node:
//
//   deno bench -A --json bench/pool_bench.ts > /tmp/bench.json
//   deno run -A bench/report.ts /tmp/bench.json
//
// (or pipe the JSON in: `... --json ... | deno run bench/report.ts`).

import genericPool from "generic-pool";
import tarn from "tarn";
import { type Case, poolCases } from "./_cases.ts";
import { type Measured, table } from "./_table.ts";

interface BenchJson {
  runtime: string;
  benches: {
    group: string | null;
    name: string;
    results: { ok?: { avg: number } }[];
  }[];
}

const path = Deno.args[0];
const text = path === undefined
  ? await new Response(Deno.stdin.readable).text()
  : await Deno.readTextFile(path);
const json = JSON.parse(text) as BenchJson;

const known = new Map<string, Case>();
for (const c of poolCases({ genericPool, tarn })) {
  known.set(`${c.group}\u0000${c.name}`, c);
}

const rows: Measured[] = [];
for (const b of json.benches) {
  const c = known.get(`${b.group}\u0000${b.name}`);
  const avg = b.results[0]?.ok?.avg;
  if (c !== undefined && avg !== undefined) rows.push({ c, nsPerIter: avg });
}
const runtime = json.runtime.split(" ")[0].replace("/", " ");
console.log(`Time per operation, ${runtime}:\n`);
console.log(table(runtime, rows));
