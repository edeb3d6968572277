// Heap bytes per idle object and per waiting task (issue 5), measured around
// a large batch, and a check that the heap comes back once the waiters are
// served or cancelled:
//
//   deno run -A --v8-flags=--expose-gc bench/memory.ts
//   node --expose-gc bench/memory.ts
//   bun bench/memory.ts
//
// Without an exposed GC the figures are rougher (a warning says so). The
// figures are the pool's own cost: the pooled objects, the AbortControllers
// and the tasks' own code exist before the first reading. A waiting task's
// figure includes the promise that `get` returns, which the task holds.
// The floors give the least any pool can use (an array slot per idle
// object; a pending promise and its resolver in an array per waiter).

import { type GetOptions, Pool } from "../mod.ts";

const N = 100_000;

interface Runtime {
  name: string;
  heapUsed(): number;
  gc: (() => void) | undefined;
}

const runtime: Runtime = (() => {
  const g = globalThis as {
    Deno?: { version: { deno: string }; memoryUsage(): { heapUsed: number } };
    Bun?: { version: string; gc(force: boolean): void };
    process?: { version: string; memoryUsage(): { heapUsed: number } };
    gc?: () => void;
  };
  if (g.Deno !== undefined) {
    const deno = g.Deno;
    return {
      name: `Deno ${deno.version.deno}`,
      heapUsed: () => deno.memoryUsage().heapUsed,
      gc: g.gc,
    };
  }
  const proc = g.process!;
  if (g.Bun !== undefined) {
    const bun = g.Bun;
    return {
      name: `Bun ${bun.version}`,
      heapUsed: () => proc.memoryUsage().heapUsed,
      gc: () => bun.gc(true),
    };
  }
  return {
    name: `Node ${proc.version}`,
    heapUsed: () => proc.memoryUsage().heapUsed,
    gc: g.gc,
  };
})();

if (runtime.gc === undefined) {
  console.warn(
    "no GC exposed: run with --v8-flags=--expose-gc (Deno) or --expose-gc (Node) for exact figures",
  );
}

/** Collects garbage, letting pending callbacks run first. */
async function heap(): Promise<number> {
  for (let i = 0; i < 4; i++) {
    await new Promise((resolve) => setTimeout(resolve, 0));
    runtime.gc?.();
  }
  return runtime.heapUsed();
}

/** Collects garbage now, without letting anything else run. */
function heapNow(): number {
  runtime.gc?.();
  runtime.gc?.();
  return runtime.heapUsed();
}

interface Row {
  what: string;
  floor: boolean;
  perItem: number;
  retained: number | undefined;
}

const rows: Row[] = [];

/**
 * `before`: the heap before the batch; `during`: with the batch alive;
 * `after`: once it is served or cancelled and let go, with whatever existed
 * at `before` (pooled objects, signals) still alive.
 */
function record(
  what: string,
  before: number,
  during: number,
  after?: number,
): void {
  rows.push({
    what,
    floor: what.includes("floor"),
    perItem: (during - before) / N,
    retained: after === undefined ? undefined : (after - before) / N,
  });
}

type Obj = { n: number };

function newPool(fun: (n: number) => Obj, size: number): Pool<Obj> {
  return new Pool<Obj>({
    fun,
    minSize: size,
    maxSize: size,
    logLevel: "error",
  });
}

// ------------------------------------------------------------ idle objects

{
  const objs: Obj[] = Array.from({ length: N }, (_, n) => ({ n }));
  let slots: Obj[] | undefined;
  const before = await heap();
  slots = objs.slice();
  const during = heapNow();
  slots = undefined;
  const after = await heap();
  record("idle object: floor (an array slot)", before, during, after);
  void slots;

  const before2 = await heap();
  let pool: Pool<Obj> | undefined = newPool((n) => objs[n], N);
  await pool.ready();
  const during2 = heapNow();
  await pool.shutdown();
  pool = undefined;
  void pool;
  const after2 = await heap();
  record("idle object: pool", before2, during2, after2);
}

// --------------------------------------------------------- waiting tasks

{
  // floor: a pending promise and its resolver queued in an array
  const queue: ((obj: Obj) => void)[] = [];
  let waiting: Promise<Obj>[] = new Array(N);
  const before = await heap();
  for (let i = 0; i < N; i++) {
    waiting[i] = new Promise<Obj>((resolve) => queue.push(resolve));
  }
  const during = heapNow();
  for (let i = 0; i < N; i++) queue[i]({ n: i });
  queue.length = 0;
  waiting = new Array(N);
  const after = await heap();
  record("waiting task: floor (promise + resolver)", before, during, after);
}

/**
 * N waiters on a pool whose only object is held, then served in turn. What
 * `context` makes (signals) exists from before to during, and is let go
 * before after: the heap must come back to where it was without it.
 */
async function served(
  what: string,
  context: () => (i: number) => GetOptions | undefined,
): Promise<void> {
  const pool = newPool((n) => ({ n }), 1);
  let held = await pool.get();
  const waiting: (Promise<Obj> | undefined)[] = new Array(N).fill(undefined);
  const base = await heap();
  let options: ((i: number) => GetOptions | undefined) | undefined = context();
  const before = await heap();
  for (let i = 0; i < N; i++) waiting[i] = pool.get(options(i));
  const during = heapNow();
  for (let i = 0; i < N; i++) {
    pool.ret(held);
    held = await waiting[i]!;
  }
  waiting.fill(undefined);
  options = undefined;
  const after = await heap();
  rows.push({
    what,
    floor: false,
    perItem: (during - before) / N,
    retained: (after - base) / N,
  });
  pool.ret(held);
  await pool.shutdown();
}

await served("waiting task: pool, get()", () => () => undefined);
const long = { timeout: 60_000 };
await served("waiting task: pool, get({ timeout })", () => () => long);

{
  // the runtime's part: a listener added to each of N signals
  const controllers = Array.from({ length: N }, () => new AbortController());
  const listeners = Array.from({ length: N }, () => ({ handleEvent() {} }));
  const before = await heap();
  for (let i = 0; i < N; i++) {
    controllers[i].signal.addEventListener("abort", listeners[i]);
  }
  const during = heapNow();
  for (let i = 0; i < N; i++) {
    controllers[i].signal.removeEventListener("abort", listeners[i]);
  }
  rows.push({
    what: "signal listener: floor (runtime only)",
    floor: true,
    perItem: (during - before) / N,
    retained: undefined,
  });
}

// long-lived signals, one per task
await served("waiting task: pool, get({ signal })", () => {
  const signals = Array.from(
    { length: N },
    () => ({ signal: new AbortController().signal }),
  );
  return (i) => signals[i];
});

// ---------------------------------------------- cancelled waiting tasks

{
  const pool = newPool((n) => ({ n }), 1);
  const held = await pool.get();
  const waiting: Promise<unknown>[] = [];
  const reason = new Error("cancelled");
  const base = await heap();
  let controllers = Array.from({ length: N }, () => new AbortController());
  const before = await heap();
  for (let i = 0; i < N; i++) {
    waiting.push(pool.get({ signal: controllers[i].signal }).catch(() => {}));
  }
  const during = heapNow();
  for (let i = N - 1; i >= 0; i--) controllers[i].abort(reason);
  await Promise.all(waiting);
  waiting.length = 0;
  controllers = [];
  const after = await heap();
  rows.push({
    what: "aborted task: pool, get({ signal })",
    floor: false,
    perItem: (during - before) / N,
    retained: (after - base) / N,
  });
  pool.ret(held);
  await pool.shutdown();
}

{
  const pool = newPool((n) => ({ n }), 1);
  const held = await pool.get();
  let waiting: Promise<unknown>[] = new Array(N);
  const options = { timeout: 1000 };
  const before = await heap();
  for (let i = 0; i < N; i++) {
    waiting[i] = pool.get(options).catch(() => {});
  }
  const during = heapNow();
  await Promise.all(waiting);
  waiting = new Array(N);
  const after = await heap();
  record("timed-out task: pool, get({ timeout })", before, during, after);
  pool.ret(held);
  await pool.shutdown();
}

// ------------------------------------------------------------------ report

console.log(
  `Heap bytes per item, ${N.toLocaleString("en")} items, ${runtime.name}${
    runtime.gc === undefined ? " (no GC exposed: rough)" : ""
  }:\n`,
);
console.log("| what | bytes each | left after (bytes each) |");
console.log("| --- | ---: | ---: |");
for (const r of rows) {
  console.log(
    `| ${r.what} | ${r.perItem.toFixed(0)} | ${
      r.retained === undefined ? "" : r.retained.toFixed(1)
    } |`,
  );
}
// A leak keeps about all of an item (a whole waiter, a whole entry): flag a
// pool row that keeps over a quarter of its cost, beyond what the runtime
// itself leaves behind after a floor batch (a conservative GC's leftovers on
// Bun, some 60 bytes an item).
const noise = Math.max(
  0,
  ...rows.filter((r) => r.floor && r.retained !== undefined).map((r) =>
    r.retained!
  ),
);
const leaks = rows.filter((r) =>
  !r.floor && r.retained !== undefined &&
  r.retained > Math.max(16, r.perItem / 4) + noise
);
if (leaks.length !== 0) {
  console.log(`\nNOT BACK: ${leaks.map((r) => r.what).join("; ")}`);
  const g = globalThis as {
    Deno?: { exitCode: number };
    process?: { exitCode?: number };
  };
  if (g.Deno !== undefined) g.Deno.exitCode = 1;
  else if (g.process !== undefined) g.process.exitCode = 1;
} else console.log("\nThe heap came back after every batch.");
