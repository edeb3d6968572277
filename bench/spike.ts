// The spike test of issue 6 (after HikariCP's): 50 tasks arrive at once at
// an empty pool whose creation takes 150 ms and whose work takes 2 ms. How
// many objects does each pool open? Fewer is better: every one is a
// connection the database must accept.
//
// Run: deno run -A bench/spike.ts (or node / bun bench/spike.ts)
import genericPool from "generic-pool";
import { Pool } from "../mod.ts";

const TASKS = 50;
const CREATE_MS = 150;
const WORK_MS = 2;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function ours(): Promise<{ opened: number; ms: number }> {
  let opened = 0;
  const pool = new Pool<object>({
    fun: async () => {
      opened++;
      await sleep(CREATE_MS);
      return {};
    },
    minSize: 0,
    maxSize: TASKS,
  });
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: TASKS }, () => pool.use(() => sleep(WORK_MS))),
  );
  const ms = performance.now() - t0;
  await pool.shutdown();
  return { opened, ms };
}

async function generic(): Promise<{ opened: number; ms: number }> {
  let opened = 0;
  const pool = genericPool.createPool<object>({
    create: async () => {
      opened++;
      await sleep(CREATE_MS);
      return {};
    },
    destroy: async () => {},
  }, { min: 0, max: TASKS });
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: TASKS }, async () => {
      const obj = await pool.acquire();
      await sleep(WORK_MS);
      await pool.release(obj);
    }),
  );
  const ms = performance.now() - t0;
  await pool.drain();
  await pool.clear();
  return { opened, ms };
}

const a = await ours();
const b = await generic();
console.log(
  JSON.stringify({
    tasks: TASKS,
    createMs: CREATE_MS,
    workMs: WORK_MS,
    proxyPatternPool: { opened: a.opened, ms: Math.round(a.ms) },
    genericPool: { opened: b.opened, ms: Math.round(b.ms) },
  }),
);
