// The hot paths in instructions, not seconds: `bench/instructions.sh` runs
// this file under valgrind (callgrind) twice per case, with two iteration
// counts, and divides the difference by the extra operations, so that start-up
// and compilation cancel out. Instructions are repeatable whatever else the
// machine does; time on a shared 2-vCPU VM is not.
//
//   node --predictable bench/instructions.ts <case> <iterations>
//
// Cases (one operation each):
// - uncontended: `await pool.get(); pool.ret(obj)` on a pool of 10;
// - tasks100: one task of a round of 100 tasks over 10 objects (get, one
//   await, ret);
// - wait: a `get()` that must wait, served by the `ret` of the holder;
// - wait-timeout: the same with `get({ timeout })`;
// - use, use-async: `await pool.use(fn)` on a pool of 10, with a sync and
//   an async callback;
// - proxy-read, proxy-call: a property read and a method call through a
//   Proxy set with an object;
// - keyed, keyed-total, keyed-map: `await get(key); ret(obj)` over 10 keys
//   with an idle object each (round robin): a KeyedPool, the same with
//   maxTotal 10, and a hand-made Map of pools (the caller keeps the pool).
import { KeyedPool, Pool, Proxy } from "../mod.ts";

interface Obj {
  n: number;
}

let sink = 0;

async function newPool(size: number): Promise<Pool<Obj>> {
  const pool = new Pool<Obj>({
    fun: (n) => ({ n }),
    minSize: size,
    maxSize: size,
    logLevel: "error",
  });
  await pool.ready();
  return pool;
}

async function uncontended(pool: Pool<Obj>, k: number): Promise<void> {
  for (let i = 0; i < k; i++) {
    const obj = await pool.get();
    sink += obj.n;
    pool.ret(obj);
  }
}

async function task(pool: Pool<Obj>): Promise<void> {
  const obj = await pool.get();
  await null;
  sink += obj.n;
  pool.ret(obj);
}

async function tasks100(pool: Pool<Obj>, rounds: number): Promise<void> {
  const all: Promise<void>[] = new Array(100);
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < 100; i++) all[i] = task(pool);
    await Promise.all(all);
  }
}

async function use(pool: Pool<Obj>, k: number, async: boolean): Promise<void> {
  const sync = (obj: Obj) => {
    sink += obj.n;
  };
  const later = async (obj: Obj) => {
    sink += obj.n;
  };
  const fn = async ? later : sync;
  for (let i = 0; i < k; i++) await pool.use(fn);
}

const TIMEOUT = { timeout: 60_000 };

async function wait(
  pool: Pool<Obj>,
  k: number,
  timed: boolean,
): Promise<void> {
  let held = await pool.get();
  for (let i = 0; i < k; i++) {
    const next = timed ? pool.get(TIMEOUT) : pool.get();
    pool.ret(held);
    held = await next;
    sink += held.n;
  }
  pool.ret(held);
}

class Target {
  n = 1;
  inc(k: number): number {
    return this.n + k;
  }
}

function proxyRead(k: number): void {
  const p = new Proxy<Target>({ obj: new Target() });
  for (let i = 0; i < k; i++) sink += p.n;
}

function proxyCall(k: number): void {
  const p = new Proxy<Target>({ obj: new Target() });
  for (let i = 0; i < k; i++) sink += p.inc(i);
}

const KEYS = Array.from({ length: 10 }, (_, i) => `tenant-${i}`);

async function keyed(maxTotal: number, k: number): Promise<void> {
  const pool = new KeyedPool<string, Obj>({
    fun: (_key, n) => ({ n }),
    maxTotal,
    logLevel: "error",
  });
  for (const key of KEYS) pool.ret(await pool.get(key));
  for (let i = 0; i < k; i++) {
    const obj = await pool.get(KEYS[i % 10]);
    sink += obj.n;
    pool.ret(obj);
  }
  await pool.shutdown();
}

async function keyedMap(k: number): Promise<void> {
  const pools = new Map<string, Pool<Obj>>();
  for (const key of KEYS) pools.set(key, await newPool(1));
  for (let i = 0; i < k; i++) {
    const p = pools.get(KEYS[i % 10])!;
    const obj = await p.get();
    sink += obj.n;
    p.ret(obj);
  }
  for (const p of pools.values()) await p.shutdown();
}

const [name, count] = [process.argv[2], Number(process.argv[3] ?? "1000")];
const pool = await newPool(name === "wait" || name === "wait-timeout" ? 1 : 10);
switch (name) {
  case "proxy-read":
    proxyRead(count);
    break;
  case "proxy-call":
    proxyCall(count);
    break;
  case "uncontended":
    await uncontended(pool, count);
    break;
  case "use":
    await use(pool, count, false);
    break;
  case "use-async":
    await use(pool, count, true);
    break;
  case "tasks100":
    await tasks100(pool, count / 100);
    break;
  case "wait":
    await wait(pool, count, false);
    break;
  case "wait-timeout":
    await wait(pool, count, true);
    break;
  case "keyed":
    await keyed(0, count);
    break;
  case "keyed-total":
    await keyed(10, count);
    break;
  case "keyed-map":
    await keyedMap(count);
    break;
  default:
    throw new Error(`unknown case ${name}`);
}
await pool.shutdown();
if (sink < 0) console.log(sink);
