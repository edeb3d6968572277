// Pool benchmarks for `deno bench` (issue 5): the pool against the floors,
// generic-pool and tarn, in one run, so every run prints the ratios.
//
//   deno task bench                      # every *_bench.ts in bench/
//   deno bench -A bench/pool_bench.ts    # these only
//
// The time shown is per iteration; an iteration does the number of
// operations in its group's name (see bench/README.md). The cases are in
// _cases.ts, shared with the mitata runner for Bun and Node.

// generic-pool 3.9.0 and tarn 3.1.2, pinned in package.json (npm install)
import genericPool from "generic-pool";
import tarn from "tarn";
import { type Case, poolCases, type Running } from "./_cases.ts";

const cases = poolCases({ genericPool, tarn });

// A case is set up at its first iteration, outside the timed part, and
// closed when the next case starts, so that only one case's objects (up to
// 100,000 waiting tasks) are alive at a time. The last case holds nothing
// between iterations (no timer, no waiter), so nothing outlives the run.
let current: { c: Case; running: Running } | undefined;

async function enter(c: Case): Promise<Running> {
  if (current !== undefined) {
    if (current.c === c) return current.running;
    const previous = current;
    current = undefined;
    await previous.running.close();
  }
  const running = await c.setup();
  current = { c, running };
  return running;
}

for (const c of cases) {
  Deno.bench({
    name: c.name,
    group: c.group,
    baseline: c.baseline ?? false,
    ...(c.heavy ? { n: 20, warmup: 3 } : {}),
    async fn(b) {
      const running = current?.c === c ? current.running : await enter(c);
      b.start();
      await running.run();
      b.end();
    },
  });
}
