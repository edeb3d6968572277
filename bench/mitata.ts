// The Pool benchmarks on Bun and Node (and Deno), with mitata over the same
// cases as pool_bench.ts (see _cases.ts):
//
//   bun bench/mitata.ts [filter] [--json=out.json]
//   node bench/mitata.ts [filter]             # add --expose-gc for a GC
//                                             # between cases
//   deno run -A bench/mitata.ts [filter]
//
// --json writes the measured rows for report.ts, which gives the median of
// several runs.
//
// `filter` is a regular expression matched against "group: name". After
// mitata's own report (time per iteration), a table gives the time per
// operation and the ratio to each group's baseline.
//
// The Proxy cases (direct vs proxied read and call, per-context scope) come
// from _proxy_cases.ts.

import { bench, group, run, summary } from "mitata";
import genericPool from "generic-pool";
import tarn from "tarn";
import { type Case, poolCases } from "./_cases.ts";
import { proxyCases, proxySink } from "./_proxy_cases.ts";
import { type Measured, table } from "./_table.ts";

const suites: Case[][] = [
  poolCases({ genericPool, tarn }),
  proxyCases(),
];

const runtime = (() => {
  const g = globalThis as {
    Deno?: { version: { deno: string } };
    Bun?: { version: string };
    process?: { version: string };
  };
  if (g.Deno !== undefined) return `Deno ${g.Deno.version.deno}`;
  if (g.Bun !== undefined) return `Bun ${g.Bun.version}`;
  return `Node ${g.process?.version}`;
})();

const args = (globalThis as { process?: { argv: string[] } }).process?.argv ??
  [];
const pattern = args.slice(2).find((a) => !a.startsWith("-"));
const filter = pattern === undefined ? undefined : new RegExp(pattern, "i");

const cases = suites.flat().filter((c) =>
  filter === undefined || filter.test(`${c.group}: ${c.name}`)
);

// mitata reports in registration order; the i-th trial is cases[i]
const groups = new Map<string, Case[]>();
for (const c of cases) {
  const list = groups.get(c.group);
  if (list === undefined) groups.set(c.group, [c]);
  else list.push(c);
}
const ordered: Case[] = [];
for (const [name, list] of groups) {
  group(name, () => {
    summary(() => {
      for (const c of list) {
        ordered.push(c);
        const b = bench(c.name, async function* () {
          const running = await c.setup();
          yield () => running.run();
          await running.close();
        });
        if (c.baseline) b.baseline(true);
      }
    });
  });
}

const { benchmarks } = await run();

const rows: Measured[] = [];
benchmarks.forEach((trial, i) => {
  const stats = trial.runs[0]?.stats;
  if (stats !== undefined) rows.push({ c: ordered[i], nsPerIter: stats.avg });
  else console.error(`${trial.alias}: ${String(trial.runs[0]?.error)}`);
});
console.log(`\nTime per operation, ${runtime}:\n`);
console.log(table(runtime, rows));

// --json=<path>: the rows for report.ts, which takes the median of runs
const json = args.find((a) => a.startsWith("--json="))?.slice(7);
if (json !== undefined) {
  const { writeFileSync } = await import("node:fs");
  writeFileSync(
    json,
    JSON.stringify({
      runtime,
      rows: rows.map((r) => ({
        group: r.c.group,
        name: r.c.name,
        nsPerIter: r.nsPerIter,
      })),
    }),
  );
}
if (proxySink() === -1) console.log("unreachable");
