// What the OpenTelemetry metrics (otel.ts) cost a pool per borrow: a plain
// pool against the same pool instrumented, with the real SDK MeterProvider
// (@opentelemetry/sdk-metrics, its InMemoryMetricExporter behind a
// PeriodicExportingMetricReader), uncontended and with 100 tasks over 10
// objects; with the histograms (the default) and with `timings: false`.
//
//   deno bench -A bench/otel_bench.ts
//
// The time shown is per iteration; an iteration does the number of
// operations in its group's name. The plain pool is each group's baseline.

import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from "@opentelemetry/sdk-metrics";
import { Pool } from "../mod.ts";
import { instrument } from "../otel.ts";

interface Obj {
  n: number;
}

const K = 100;
const OBJECTS = 10;
const TASKS = 100;
let sink = 0;

// One provider for every case, exporting to memory every 10 s: collections
// happen while the cases run, as they would in a service.
const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
const provider = new MeterProvider({
  readers: [
    new PeriodicExportingMetricReader({
      exporter,
      exportIntervalMillis: 10_000,
    }),
  ],
});
const meter = provider.getMeter("bench");

type Kind = "plain" | "instrumented" | "counts only";

async function newPool(kind: Kind, name: string): Promise<Pool<Obj>> {
  const pool = new Pool<Obj>({
    fun: (n) => ({ n }),
    minSize: OBJECTS,
    maxSize: OBJECTS,
    logLevel: "error",
    name,
  });
  await pool.ready();
  if (kind === "instrumented") instrument(pool, meter);
  if (kind === "counts only") instrument(pool, meter, { timings: false });
  return pool;
}

async function sequential(pool: Pool<Obj>): Promise<void> {
  for (let i = 0; i < K; i++) {
    const obj = await pool.get();
    sink = obj.n;
    pool.ret(obj);
  }
}

let left = 0;
let finished: () => void = () => {};

async function task(pool: Pool<Obj>): Promise<void> {
  const obj = await pool.get();
  await null; // the task's work
  sink = obj.n;
  pool.ret(obj);
  if (--left === 0) finished();
}

function contended(pool: Pool<Obj>): Promise<void> {
  left = TASKS;
  const done = new Promise<void>((resolve) => finished = resolve);
  for (let i = 0; i < TASKS; i++) void task(pool);
  return done;
}

const kinds: Kind[] = ["plain", "instrumented", "counts only"];
const pools = new Map<string, Pool<Obj>>();
for (const kind of kinds) {
  pools.set(`u ${kind}`, await newPool(kind, `uncontended-${kind}`));
  pools.set(`c ${kind}`, await newPool(kind, `contended-${kind}`));
}

for (const kind of kinds) {
  const pool = pools.get(`u ${kind}`)!;
  Deno.bench({
    name: `pool, ${kind}`,
    group: `uncontended get/ret (×${K})`,
    baseline: kind === "plain",
    async fn() {
      await sequential(pool);
    },
  });
}
for (const kind of kinds) {
  const pool = pools.get(`c ${kind}`)!;
  Deno.bench({
    name: `pool, ${kind}`,
    group: `${TASKS} tasks over ${OBJECTS} objects`,
    baseline: kind === "plain",
    async fn() {
      await contended(pool);
    },
  });
}

// after the last case: nothing left running
globalThis.addEventListener("unload", () => {
  void sink;
  for (const pool of pools.values()) void pool.shutdown();
  void provider.shutdown();
});
