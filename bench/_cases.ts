// The Pool benchmark cases (issue 5), shared by the runners: `deno bench`
// (pool_bench.ts) and mitata on Bun and Node (mitata.ts). A case is set up
// once, then its `run` is timed many times; `ops` says how many operations
// one `run` does, so that any runner can report time per operation.
//
// Each implementation (pool, floors, peers) gets its own copy of the loop
// code, never a shared helper called with different pools: a shared call site
// would turn megamorphic and slow every contender down alike, hiding the
// differences the benchmarks are there to show.
//
// The peers are passed in, as the runtimes import them differently (Deno with
// `npm:` specifiers, Bun and Node by bare name).

import { KeyedPool, Pool } from "../mod.ts";
import {
  abortFloor,
  ContendedFloor,
  timeoutFloor,
  uncontendedFloor,
} from "./_floors.ts";

/** A case once set up. */
export interface Running {
  /** One timed iteration: `ops` operations. */
  run(): Promise<unknown>;
  /** Frees what `setup` made. */
  close(): Promise<void>;
}

/** One benchmark. */
export interface Case {
  /** Cases of a group are compared with its baseline. */
  group: string;
  name: string;
  baseline?: boolean;
  /** Operations per `run`, for time per operation. */
  ops: number;
  /** A heavy case: few iterations are enough. */
  heavy?: boolean;
  setup(): Promise<Running>;
}

/** What the cases use of a generic-pool 3.9 pool. */
export interface GenericPool<T> {
  acquire(): Promise<T>;
  release(obj: T): Promise<void>;
  ready(): Promise<void>;
  drain(): Promise<void>;
  clear(): Promise<void>;
}

/** What the cases use of generic-pool 3.9. */
export interface GenericPoolModule {
  createPool<T>(
    factory: { create(): Promise<T>; destroy(obj: T): Promise<void> },
    options: { min: number; max: number },
  ): GenericPool<T>;
}

/** What the cases use of a tarn 3.1 pool. */
export interface TarnPool<T> {
  acquire(): { promise: Promise<T> };
  release(obj: T): boolean;
  destroy(): Promise<unknown>;
}

/** What the cases use of tarn 3.1. */
export interface TarnModule {
  Pool: new <T>(options: {
    create: () => Promise<T>;
    destroy: (obj: T) => void;
    min: number;
    max: number;
  }) => TarnPool<T>;
}

/** The peers to compare with. */
export interface Peers {
  genericPool: GenericPoolModule;
  tarn: TarnModule;
}

/** A pooled object. */
interface Obj {
  n: number;
}

/** Sequential borrows per `run` of the uncontended cases. */
export const SEQUENTIAL = 100;
/** Objects in the contended cases. */
export const OBJECTS = 10;
/** Hand-overs per `run` of the scale cases. */
export const HANDOFFS = 1000;

const LONG = 60_000;

// ------------------------------------------------------------------ helpers

/** Counts finished tasks; the last one ends the round. */
class Round {
  left = 0;
  resolve: () => void = noop;
  reject: (err: unknown) => void = noop;

  start(n: number): Promise<void> {
    this.left = n;
    return new Promise<void>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }

  done(): void {
    if (--this.left === 0) this.resolve();
  }

  fail(err: unknown): void {
    this.reject(err);
  }
}

function noop(): void {}

/** Keeps results observable so that no work is optimised away. */
export let sink = 0;

/** A fixed pseudo-random permutation of 0..n-1 (same on every runtime). */
function shuffled(n: number): Uint32Array {
  const a = new Uint32Array(n);
  for (let i = 0; i < n; i++) a[i] = i;
  let seed = 0x9e3779b9;
  for (let i = n - 1; i > 0; i--) {
    seed = (Math.imul(seed ^ (seed >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    const j = seed % (i + 1);
    const t = a[i];
    a[i] = a[j];
    a[j] = t;
  }
  return a;
}

function objects(n: number): Obj[] {
  return Array.from({ length: n }, (_, i) => ({ n: i }));
}

interface PoolFeatures {
  maxUse?: number;
  timeWaits?: boolean;
}

async function newPool(
  size: number,
  features: PoolFeatures = {},
): Promise<Pool<Obj>> {
  const pool = new Pool<Obj>({
    fun: (n) => ({ n }),
    minSize: size,
    maxSize: size,
    logLevel: "error",
    ...features,
  });
  await pool.ready();
  return pool;
}

function newGenericPool(
  peers: Peers,
  size: number,
): GenericPool<Obj> {
  let n = 0;
  return peers.genericPool.createPool<Obj>({
    create: () => Promise.resolve({ n: n++ }),
    destroy: () => Promise.resolve(),
  }, { min: size, max: size });
}

function newTarn(
  peers: Peers,
  size: number,
): TarnPool<Obj> {
  let n = 0;
  return new peers.tarn.Pool<Obj>({
    create: () => Promise.resolve({ n: n++ }),
    destroy: noop,
    min: size,
    max: size,
  });
}

// ------------------------------------------------- uncontended get/ret (×K)

async function poolSequential(pool: Pool<Obj>, k: number): Promise<void> {
  for (let i = 0; i < k; i++) {
    const obj = await pool.get();
    sink = obj.n;
    pool.ret(obj);
  }
}

async function genericPoolSequential(
  pool: GenericPool<Obj>,
  k: number,
): Promise<void> {
  for (let i = 0; i < k; i++) {
    const obj = await pool.acquire();
    sink = obj.n;
    void pool.release(obj);
  }
}

async function tarnSequential(
  pool: TarnPool<Obj>,
  k: number,
): Promise<void> {
  for (let i = 0; i < k; i++) {
    const obj = await pool.acquire().promise;
    sink = obj.n;
    pool.release(obj);
  }
}

// ---------------------------------- `tasks` tasks over OBJECTS, one round

async function poolTask(pool: Pool<Obj>, round: Round): Promise<void> {
  try {
    const obj = await pool.get();
    await null; // the task's work
    sink = obj.n;
    pool.ret(obj);
    round.done();
  } catch (err) {
    round.fail(err);
  }
}

async function poolTaskTimeout(pool: Pool<Obj>, round: Round): Promise<void> {
  try {
    const obj = await pool.get(TIMEOUT_OPTIONS);
    await null;
    sink = obj.n;
    pool.ret(obj);
    round.done();
  } catch (err) {
    round.fail(err);
  }
}

async function poolTaskSignal(
  pool: Pool<Obj>,
  round: Round,
  options: { signal: AbortSignal },
): Promise<void> {
  try {
    const obj = await pool.get(options);
    await null;
    sink = obj.n;
    pool.ret(obj);
    round.done();
  } catch (err) {
    round.fail(err);
  }
}

async function floorTask(
  floor: ContendedFloor<Obj>,
  round: Round,
): Promise<void> {
  try {
    const obj = await floor.get();
    await null;
    sink = obj.n;
    floor.ret(obj);
    round.done();
  } catch (err) {
    round.fail(err);
  }
}

async function genericPoolTask(
  pool: GenericPool<Obj>,
  round: Round,
): Promise<void> {
  try {
    const obj = await pool.acquire();
    await null;
    sink = obj.n;
    void pool.release(obj);
    round.done();
  } catch (err) {
    round.fail(err);
  }
}

async function tarnTask(
  pool: TarnPool<Obj>,
  round: Round,
): Promise<void> {
  try {
    const obj = await pool.acquire().promise;
    await null;
    sink = obj.n;
    pool.release(obj);
    round.done();
  } catch (err) {
    round.fail(err);
  }
}

const TIMEOUT_OPTIONS = { timeout: LONG };

function contendedCases(
  peers: Peers,
  tasks: number,
  label: string,
): Case[] {
  const group = `${label} tasks over ${OBJECTS} objects`;
  return [
    {
      group,
      name: "contended floor",
      baseline: true,
      ops: tasks,
      setup() {
        const floor = new ContendedFloor(objects(OBJECTS));
        const round = new Round();
        return Promise.resolve({
          run() {
            const done = round.start(tasks);
            for (let i = 0; i < tasks; i++) void floorTask(floor, round);
            return done;
          },
          close: () => Promise.resolve(),
        });
      },
    },
    {
      group,
      name: "pool",
      ops: tasks,
      async setup() {
        const pool = await newPool(OBJECTS);
        const round = new Round();
        return {
          run() {
            const done = round.start(tasks);
            for (let i = 0; i < tasks; i++) void poolTask(pool, round);
            return done;
          },
          close: () => pool.shutdown(),
        };
      },
    },
    {
      group,
      name: "pool, maxUse: 1e9",
      ops: tasks,
      async setup() {
        const pool = await newPool(OBJECTS, { maxUse: 1e9 });
        const round = new Round();
        return {
          run() {
            const done = round.start(tasks);
            for (let i = 0; i < tasks; i++) void poolTask(pool, round);
            return done;
          },
          close: () => pool.shutdown(),
        };
      },
    },
    {
      group,
      name: "pool, timeWaits",
      ops: tasks,
      async setup() {
        const pool = await newPool(OBJECTS, { timeWaits: true });
        const round = new Round();
        return {
          run() {
            const done = round.start(tasks);
            for (let i = 0; i < tasks; i++) void poolTask(pool, round);
            return done;
          },
          close: () => pool.shutdown(),
        };
      },
    },
    {
      group,
      name: "generic-pool",
      ops: tasks,
      async setup() {
        const pool = newGenericPool(peers, OBJECTS);
        await pool.ready();
        const round = new Round();
        return {
          run() {
            const done = round.start(tasks);
            for (let i = 0; i < tasks; i++) void genericPoolTask(pool, round);
            return done;
          },
          close: () => pool.drain().then(() => pool.clear()),
        };
      },
    },
    {
      group,
      name: "tarn",
      ops: tasks,
      setup() {
        const pool = newTarn(peers, OBJECTS);
        const round = new Round();
        return Promise.resolve({
          run() {
            const done = round.start(tasks);
            for (let i = 0; i < tasks; i++) void tarnTask(pool, round);
            return done;
          },
          close: () => pool.destroy().then(noop),
        });
      },
    },
  ];
}

// -------------------------------------- scale: get/ret with N tasks waiting

// N tasks loop on get/ret over a single object, so N - 1 always wait: each
// hand-over is one `ret` serving the oldest waiter plus one `get` joining
// the end of the queue. A `run` lets HANDOFFS hand-overs happen; the task
// that takes the last one parks the object until the next `run`.

interface Rotation {
  budget: number;
  done: () => void;
  closed: boolean;
  held: Obj | undefined;
}

async function poolRotate(pool: Pool<Obj>, st: Rotation): Promise<void> {
  for (;;) {
    let obj: Obj;
    try {
      obj = await pool.get();
    } catch {
      return; // shut down
    }
    if (st.closed) {
      pool.ret(obj);
      return;
    }
    if (--st.budget === 0) {
      st.held = obj;
      st.done();
    } else pool.ret(obj);
  }
}

async function floorRotate(
  floor: ContendedFloor<Obj>,
  st: Rotation,
): Promise<void> {
  for (;;) {
    const obj = await floor.get();
    if (st.closed) {
      floor.ret(obj);
      return;
    }
    if (--st.budget === 0) {
      st.held = obj;
      st.done();
    } else floor.ret(obj);
  }
}

function rotation(): Rotation {
  return { budget: 0, done: noop, closed: false, held: undefined };
}

function startRotation(st: Rotation): Promise<void> {
  st.budget = HANDOFFS;
  return new Promise<void>((resolve) => st.done = resolve);
}

function scaleCases(): Case[] {
  const group = `scale: get/ret with N tasks waiting (×${HANDOFFS})`;
  const poolCase = (waiting: number, label: string): Case => ({
    group,
    name: `pool, ${label} waiting`,
    baseline: waiting === 10,
    ops: HANDOFFS,
    async setup() {
      const pool = await newPool(1);
      const st = rotation();
      st.held = await pool.get();
      for (let i = 0; i < waiting; i++) void poolRotate(pool, st);
      return {
        run() {
          const done = startRotation(st);
          const obj = st.held!;
          st.held = undefined;
          pool.ret(obj);
          return done;
        },
        async close() {
          st.closed = true;
          const closing = pool.shutdown();
          if (st.held !== undefined) pool.ret(st.held);
          await closing;
        },
      };
    },
  });
  const floorCase = (waiting: number, label: string): Case => ({
    group,
    name: `contended floor, ${label} waiting`,
    ops: HANDOFFS,
    setup() {
      const floor = new ContendedFloor(objects(1));
      const st = rotation();
      st.held = floor.get() as Obj;
      for (let i = 0; i < waiting; i++) void floorRotate(floor, st);
      return Promise.resolve({
        run() {
          const done = startRotation(st);
          const obj = st.held!;
          st.held = undefined;
          floor.ret(obj);
          return done;
        },
        close() {
          st.closed = true;
          if (st.held !== undefined) floor.ret(st.held);
          return new Promise<void>((resolve) => setTimeout(resolve, 0));
        },
      });
    },
  });
  return [
    poolCase(10, "10"),
    poolCase(1000, "1,000"),
    poolCase(100_000, "100,000"),
    floorCase(10, "10"),
    floorCase(100_000, "100,000"),
  ];
}

// ------------------------------------ scale: cancelling N waiting tasks

// The only object is held; N gets wait, then all are cancelled, in a
// shuffled order (abort) or at two interleaved deadlines (timeout), so
// waiters leave from the middle of the queue. Per operation: one get that
// waits, then gives up.

function unexpected(): void {
  throw new Error("a cancelled get received an object");
}

const REASON = new Error("cancelled");

function cancelAbortCases(): Case[] {
  const group = "scale: cancel N waiting tasks (abort)";
  const poolCase = (waiting: number, label: string): Case => ({
    group,
    name: `pool, ${label} aborted`,
    baseline: waiting === 1000,
    ops: waiting,
    heavy: waiting > 1000,
    async setup() {
      const pool = await newPool(1);
      const held = await pool.get();
      const order = shuffled(waiting);
      const controllers: AbortController[] = new Array(waiting);
      const round = new Round();
      const rejected = () => round.done();
      return {
        run() {
          const done = round.start(waiting);
          for (let i = 0; i < waiting; i++) {
            const c = new AbortController();
            controllers[i] = c;
            pool.get({ signal: c.signal }).then(unexpected, rejected);
          }
          // a reason made in advance: the runtime's default one, a
          // DOMException with its stack, would cost more than the rest
          for (let i = 0; i < waiting; i++) controllers[order[i]].abort(REASON);
          return done;
        },
        close() {
          pool.ret(held);
          return pool.shutdown();
        },
      };
    },
  });
  const floorCase = (waiting: number, label: string): Case => ({
    group,
    name: `abort floor (runtime only), ${label}`,
    ops: waiting,
    heavy: waiting > 1000,
    setup() {
      const order = shuffled(waiting);
      const round = new Round();
      const done = { handleEvent: () => round.done() };
      return Promise.resolve({
        run() {
          const finished = round.start(waiting);
          abortFloor(waiting, order, REASON, done);
          return finished;
        },
        close: () => Promise.resolve(),
      });
    },
  });
  return [
    poolCase(1000, "1,000"),
    poolCase(100_000, "100,000"),
    floorCase(1000, "1,000"),
    floorCase(100_000, "100,000"),
  ];
}

function cancelTimeoutCases(): Case[] {
  const group = "scale: cancel N waiting tasks (timeout)";
  // deadlines 1 and 2 ms interleaved at random: half the waiters leave from
  // the middle of the queue. The 1-2 ms of waiting are part of the time:
  // about 0.1-0.2 µs per operation at 10,000, a tenth of that at 100,000.
  const delays = (n: number) => Array.from(shuffled(n), (o) => 1 + (o & 1));
  const poolCase = (waiting: number, label: string): Case => ({
    group,
    name: `pool, ${label} timed out`,
    baseline: waiting === 10_000,
    ops: waiting,
    heavy: true,
    async setup() {
      const pool = await newPool(1);
      const held = await pool.get();
      const options = delays(waiting).map((timeout) => ({ timeout }));
      const round = new Round();
      const rejected = () => round.done();
      return {
        run() {
          const done = round.start(waiting);
          for (let i = 0; i < waiting; i++) {
            pool.get(options[i]).then(unexpected, rejected);
          }
          return done;
        },
        close() {
          pool.ret(held);
          return pool.shutdown();
        },
      };
    },
  });
  const floorCase = (waiting: number, label: string): Case => ({
    group,
    name: `timeout floor (runtime only), ${label}`,
    ops: waiting,
    heavy: true,
    setup() {
      const round = new Round();
      const done = () => round.done();
      const d = delays(waiting);
      return Promise.resolve({
        run() {
          const finished = round.start(waiting);
          timeoutFloor(d, done);
          return finished;
        },
        close: () => Promise.resolve(),
      });
    },
  });
  return [
    poolCase(10_000, "10,000"),
    poolCase(100_000, "100,000"),
    floorCase(10_000, "10,000"),
    floorCase(100_000, "100,000"),
  ];
}

// ----------------------------------- keyed: get/ret over KEYS keys (×K)

// Each key has an idle object: a get for key i (round robin) finds it. The
// keyed pool against a hand-made Map of pools (the caller keeps the pool to
// give the object back) and against one plain Pool (no key at all).

/** Keys in the keyed cases. */
export const KEYS = 10;
const KEY_NAMES = Array.from({ length: KEYS }, (_, i) => `tenant-${i}`);

async function keyedSequential(
  pool: KeyedPool<string, Obj>,
  k: number,
): Promise<void> {
  for (let i = 0; i < k; i++) {
    const obj = await pool.get(KEY_NAMES[i % KEYS]);
    sink = obj.n;
    pool.ret(obj);
  }
}

// (its own copy for the maxTotal case: see the top)
async function keyedTotalSequential(
  pool: KeyedPool<string, Obj>,
  k: number,
): Promise<void> {
  for (let i = 0; i < k; i++) {
    const obj = await pool.get(KEY_NAMES[i % KEYS]);
    sink = obj.n;
    pool.ret(obj);
  }
}

async function mapSequential(
  pools: Map<string, Pool<Obj>>,
  k: number,
): Promise<void> {
  for (let i = 0; i < k; i++) {
    const pool = pools.get(KEY_NAMES[i % KEYS])!;
    const obj = await pool.get();
    sink = obj.n;
    pool.ret(obj);
  }
}

async function plainSequential(pool: Pool<Obj>, k: number): Promise<void> {
  for (let i = 0; i < k; i++) {
    const obj = await pool.get();
    sink = obj.n;
    pool.ret(obj);
  }
}

async function newKeyed(maxTotal: number): Promise<KeyedPool<string, Obj>> {
  const pool = new KeyedPool<string, Obj>({
    fun: (_key, n) => ({ n }),
    maxTotal,
    logLevel: "error",
  });
  // an idle object per key
  for (const key of KEY_NAMES) pool.ret(await pool.get(key));
  return pool;
}

function keyedCases(k: number): Case[] {
  const group = `keyed get/ret, ${KEYS} keys, an idle object each (×${k})`;
  return [
    {
      group,
      name: "plain Pool (no key)",
      baseline: true,
      ops: k,
      async setup() {
        const pool = await newPool(KEYS);
        return {
          run: () => plainSequential(pool, k),
          close: () => pool.shutdown(),
        };
      },
    },
    {
      group,
      name: "Map of pools (by hand)",
      ops: k,
      async setup() {
        const pools = new Map<string, Pool<Obj>>();
        for (const key of KEY_NAMES) pools.set(key, await newPool(1));
        return {
          run: () => mapSequential(pools, k),
          close: () =>
            Promise.all([...pools.values()].map((p) => p.shutdown())).then(
              noop,
            ),
        };
      },
    },
    {
      group,
      name: "KeyedPool",
      ops: k,
      async setup() {
        const pool = await newKeyed(0);
        return {
          run: () => keyedSequential(pool, k),
          close: () => pool.shutdown(),
        };
      },
    },
    {
      group,
      name: `KeyedPool, maxTotal ${KEYS}`,
      ops: k,
      async setup() {
        const pool = await newKeyed(KEYS);
        return {
          run: () => keyedTotalSequential(pool, k),
          close: () => pool.shutdown(),
        };
      },
    },
  ];
}

// ---------------------------------------------------------------- the cases

/** Every Pool case, in running order. */
export function poolCases(peers: Peers): Case[] {
  const K = SEQUENTIAL;
  const uncontended = `uncontended get/ret (×${K})`;
  const features = `use, lease, get options; object free (×${K})`;
  const waiting = `get options; task must wait (100 tasks over ${OBJECTS})`;
  return [
    // -- uncontended: one task, K get/await/ret in a row
    {
      group: uncontended,
      name: "uncontended floor",
      baseline: true,
      ops: K,
      setup() {
        const free = objects(OBJECTS);
        return Promise.resolve({
          run: () => uncontendedFloor(free, K),
          close: () => Promise.resolve(),
        });
      },
    },
    {
      group: uncontended,
      name: "pool",
      ops: K,
      async setup() {
        const pool = await newPool(OBJECTS);
        return {
          run: () => poolSequential(pool, K),
          close: () => pool.shutdown(),
        };
      },
    },
    {
      group: uncontended,
      name: "pool, maxUse: 1e9",
      ops: K,
      async setup() {
        const pool = await newPool(OBJECTS, { maxUse: 1e9 });
        return {
          run: () => poolSequential(pool, K),
          close: () => pool.shutdown(),
        };
      },
    },
    {
      group: uncontended,
      name: "generic-pool",
      ops: K,
      async setup() {
        const pool = newGenericPool(peers, OBJECTS);
        await pool.ready();
        return {
          run: () => genericPoolSequential(pool, K),
          close: () => pool.drain().then(() => pool.clear()),
        };
      },
    },
    {
      group: uncontended,
      name: "tarn",
      ops: K,
      setup() {
        const pool = newTarn(peers, OBJECTS);
        return Promise.resolve({
          run: () => tarnSequential(pool, K),
          close: () => pool.destroy().then(noop),
        });
      },
    },

    // -- contended: one round of T tasks, each get/await/ret
    ...contendedCases(peers, 100, "100"),
    ...contendedCases(peers, 10_000, "10,000"),

    // -- the other ways to borrow, an object being free
    {
      group: features,
      name: "get/ret",
      baseline: true,
      ops: K,
      async setup() {
        const pool = await newPool(OBJECTS);
        return {
          run: () => poolSequential(pool, K),
          close: () => pool.shutdown(),
        };
      },
    },
    {
      group: features,
      name: "use(fn)",
      ops: K,
      async setup() {
        const pool = await newPool(OBJECTS);
        const fn = (obj: Obj) => obj.n;
        return {
          async run() {
            for (let i = 0; i < K; i++) sink = await pool.use(fn);
          },
          close: () => pool.shutdown(),
        };
      },
    },
    {
      group: features,
      name: "lease with await using",
      ops: K,
      async setup() {
        const pool = await newPool(OBJECTS);
        return {
          async run() {
            for (let i = 0; i < K; i++) {
              await using lease = await pool.lease();
              sink = lease.obj.n;
            }
          },
          close: () => pool.shutdown(),
        };
      },
    },
    {
      group: features,
      name: "get({ timeout })",
      ops: K,
      async setup() {
        const pool = await newPool(OBJECTS);
        return {
          async run() {
            for (let i = 0; i < K; i++) {
              const obj = await pool.get(TIMEOUT_OPTIONS);
              sink = obj.n;
              pool.ret(obj);
            }
          },
          close: () => pool.shutdown(),
        };
      },
    },
    {
      group: features,
      name: "get({ signal })",
      ops: K,
      async setup() {
        const pool = await newPool(OBJECTS);
        const options = { signal: new AbortController().signal };
        return {
          async run() {
            for (let i = 0; i < K; i++) {
              const obj = await pool.get(options);
              sink = obj.n;
              pool.ret(obj);
            }
          },
          close: () => pool.shutdown(),
        };
      },
    },

    // -- the same options when 90 of 100 tasks must wait
    {
      group: waiting,
      name: "get()",
      baseline: true,
      ops: 100,
      async setup() {
        const pool = await newPool(OBJECTS);
        const round = new Round();
        return {
          run() {
            const done = round.start(100);
            for (let i = 0; i < 100; i++) void poolTask(pool, round);
            return done;
          },
          close: () => pool.shutdown(),
        };
      },
    },
    {
      group: waiting,
      name: "get({ timeout })",
      ops: 100,
      async setup() {
        const pool = await newPool(OBJECTS);
        const round = new Round();
        return {
          run() {
            const done = round.start(100);
            for (let i = 0; i < 100; i++) void poolTaskTimeout(pool, round);
            return done;
          },
          close: () => pool.shutdown(),
        };
      },
    },
    {
      group: waiting,
      name: "get({ signal }), one signal per task",
      ops: 100,
      async setup() {
        const pool = await newPool(OBJECTS);
        const round = new Round();
        // long-lived signals, as a request's: the cost measured is the
        // pool's listener, not the making of controllers
        const options = Array.from(
          { length: 100 },
          () => ({ signal: new AbortController().signal }),
        );
        return {
          run() {
            const done = round.start(100);
            for (let i = 0; i < 100; i++) {
              void poolTaskSignal(pool, round, options[i]);
            }
            return done;
          },
          close: () => pool.shutdown(),
        };
      },
    },

    // -- keyed: a Map lookup more than a plain pool
    ...keyedCases(K),

    // -- scale
    ...scaleCases(),
    ...cancelAbortCases(),
    ...cancelTimeoutCases(),
  ];
}
