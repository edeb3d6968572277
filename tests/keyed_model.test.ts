// Model-based property test of the KeyedPool under maxTotal (issue 20), in
// the spirit of pool_model.test.ts, smaller: random interleavings of gets
// (with and without timeout or abort), returns (normal, broken), use()
// callbacks, evictions, backends of single keys going down and coming
// back, sync and async creations and closers, keys going idle, under
// virtual time.
//
// The keyed pool is watched from the outside, against a simple reference
// the test keeps: every object made by `fun` (for which key, lent to whom,
// closed or being closed) and every call of `fun` in flight. After every
// step:
// - objects alive (made, closer not ended) plus creations in flight never
//   exceed maxTotal, nor a key's maxSize its own;
// - no object is lent to two borrowers, nor to a get of another key, nor
//   when closed; none is closed while lent;
// - every get with a deadline settled once virtual time reached it, an
//   aborted get settled, and each the way its kind allows;
// - across keys, no get waits for nothing: when a key's backend has been
//   up for a while, its pool is below its maxSize and has no creation
//   under way, and no closer runs, then while room is free, or another key
//   with no one waiting has an idle object, no get of that key still waits;
// - stats agree: the objects counted under the limit are the reference's.
// At the end, every get settles once every object is back, and shutdown
// closes every object made exactly once.
//
// A failure prints fast-check's seed and path; FC_SEED=<seed>
// FC_PATH=<path> replays it, FC_RUNS=<n> sets the number of runs.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { CreationError, KeyedPool, PoolError, TimeoutError } from "../mod.ts";
import { type Clock, fakeClock, prng } from "./_helpers.ts";

interface Config {
  keys: number;
  maxTotal: number;
  maxSize: number;
  minSize: number;
  timeout: number | undefined;
  /** 0: sync `fun`; else ms each creation takes. */
  funMs: number;
  /** 0: sync closer; else ms each closer takes. */
  closerMs: number;
  keyIdleTimeout: number;
}

type Op =
  | { k: "get"; key: number; timeout: number | undefined; abortable: boolean }
  | { k: "ret"; i: number; broken: boolean }
  | { k: "use"; key: number; ms: number }
  | { k: "abort"; i: number }
  | { k: "evict"; i: number }
  | { k: "tick"; ms: number }
  | { k: "down"; key: number }
  | { k: "up"; key: number };

interface Case {
  cfg: Config;
  ops: Op[];
  seed: number;
}

const configArb: fc.Arbitrary<Config> = fc.record({
  keys: fc.integer({ min: 2, max: 6 }),
  maxTotal: fc.integer({ min: 1, max: 5 }),
  maxSize: fc.constantFrom(0, 0, 1, 2, 3),
  minSize: fc.constantFrom(0, 0, 0, 1),
  timeout: fc.option(fc.integer({ min: 5, max: 80 }), { nil: undefined }),
  funMs: fc.constantFrom(0, 0, 3, 10),
  closerMs: fc.constantFrom(0, 0, 4),
  keyIdleTimeout: fc.constantFrom(0, 100, 60_000),
}).map((c) => ({
  ...c,
  minSize: c.maxSize > 0 ? Math.min(c.minSize, c.maxSize) : c.minSize,
}));

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      k: fc.constant("get" as const),
      key: fc.nat(5),
      timeout: fc.option(fc.integer({ min: 0, max: 60 }), { nil: undefined }),
      abortable: fc.boolean(),
    }),
  },
  {
    weight: 7,
    arbitrary: fc.record({
      k: fc.constant("ret" as const),
      i: fc.nat(),
      broken: fc.constantFrom(false, false, false, true),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      k: fc.constant("use" as const),
      key: fc.nat(5),
      ms: fc.integer({ min: 0, max: 20 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ k: fc.constant("abort" as const), i: fc.nat() }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ k: fc.constant("evict" as const), i: fc.nat() }),
  },
  {
    weight: 6,
    arbitrary: fc.record({
      k: fc.constant("tick" as const),
      ms: fc.integer({ min: 0, max: 60 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ k: fc.constant("down" as const), key: fc.nat(5) }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ k: fc.constant("up" as const), key: fc.nat(5) }),
  },
);

const env = (globalThis as {
  process?: { env: Record<string, string | undefined> };
}).process?.env ?? {};

const realSetImmediate = globalThis.setImmediate;
/** One turn of the real event loop: every pending promise callback runs. */
function flush(): Promise<void> {
  return new Promise((resolve) => realSetImmediate(() => resolve()));
}

const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const BACKOFF_MAX = 40;

interface Obj {
  readonly id: number;
  readonly key: string;
  /** Closer calls; `closing`: an async closer still runs. */
  closed: number;
  closing: boolean;
  holder: Get | undefined;
  toString(): string;
}

interface Get {
  seq: number;
  key: string;
  kind: "get" | "use";
  due: number;
  controller: AbortController | undefined;
  aborted: boolean;
  settled: boolean;
  obj: Obj | undefined;
}

async function runScenario(c: Case): Promise<void> {
  const { cfg, ops } = c;
  const realRandom = Math.random;
  Math.random = prng(c.seed);
  const clock: Clock = fakeClock();
  const now = () => clock.now;
  const problems: string[] = [];
  const problem = (s: string) => problems.push(`${s} (t=${now()})`);
  const keyName = (k: number) => `k${k % cfg.keys}`;

  const made: Obj[] = [];
  let inFlight = 0;
  const inFlightOf = new Map<string, number>();
  const down = new Set<string>();
  /** When each key's backend last failed a creation. */
  const lastFail = new Map<string, number>();
  const gets: Get[] = [];
  const held: Obj[] = [];
  let seq = 0;
  let closersRunning = 0;

  const alive = () => made.filter((o) => o.closed === 0 || o.closing).length;
  // a key's maxSize counts objects until closed (a pool's own rule); the
  // limit across keys, until their closer ends
  const aliveOf = (key: string) =>
    made.filter((o) => o.key === key && o.closed === 0).length;
  const checkLimit = (where: string) => {
    const n = alive() + inFlight;
    if (n > cfg.maxTotal) {
      problem(
        `${where}: ${alive()} alive + ${inFlight} being created > maxTotal ${cfg.maxTotal}`,
      );
    }
  };

  const pool = new KeyedPool<string, Obj>({
    fun: (key, _n) => {
      inFlight++;
      inFlightOf.set(key, (inFlightOf.get(key) ?? 0) + 1);
      checkLimit(`creation for ${key}`);
      if (
        cfg.maxSize > 0 && aliveOf(key) + inFlightOf.get(key)! > cfg.maxSize
      ) problem(`creation for ${key} beyond its maxSize ${cfg.maxSize}`);
      const end = () => {
        inFlight--;
        inFlightOf.set(key, inFlightOf.get(key)! - 1);
      };
      const make = (): Obj => {
        end();
        if (down.has(key)) {
          lastFail.set(key, now());
          throw new Error(`${key} is down`);
        }
        const id = made.length;
        const o: Obj = {
          id,
          key,
          closed: 0,
          closing: false,
          holder: undefined,
          toString: () => `#${id}`,
        };
        made.push(o);
        return o;
      };
      if (cfg.funMs === 0) return make();
      return new Promise<Obj>((resolve, reject) =>
        setTimeout(() => {
          try {
            resolve(make());
          } catch (err) {
            reject(err);
          }
        }, cfg.funMs)
      );
    },
    closer: (o) => {
      o.closed++;
      if (o.closed > 1) problem(`${o} closed ${o.closed} times`);
      if (o.holder !== undefined) {
        problem(`${o} closed while lent to get #${o.holder.seq}`);
      }
      if (cfg.closerMs === 0) return;
      o.closing = true;
      closersRunning++;
      return new Promise<void>((resolve) =>
        setTimeout(() => {
          o.closing = false;
          closersRunning--;
          resolve();
        }, cfg.closerMs)
      );
    },
    maxTotal: cfg.maxTotal,
    maxSize: cfg.maxSize,
    minSize: cfg.minSize,
    timeout: cfg.timeout,
    keyIdleTimeout: cfg.keyIdleTimeout,
    backoffInitial: 5,
    backoffMax: BACKOFF_MAX,
    shutdownTimeout: 1000,
    logger: quiet,
  });

  const served = (g: Get, o: Obj) => {
    g.settled = true;
    g.obj = o;
    if (o.key !== g.key) {
      problem(`get #${g.seq} of ${g.key} got ${o} of ${o.key}`);
    }
    if (o.closed !== 0) problem(`get #${g.seq} got ${o}, closed`);
    if (o.holder !== undefined) {
      problem(`get #${g.seq} got ${o}, lent to get #${o.holder.seq}`);
    }
    if (now() > g.due) problem(`get #${g.seq} served after its deadline`);
    if (g.aborted) problem(`get #${g.seq} served after its abort`);
    o.holder = g;
  };
  const failed = (g: Get, err: unknown) => {
    g.settled = true;
    if (g.controller !== undefined && err === g.controller.signal.reason) {
      if (!g.aborted) problem(`get #${g.seq}: abort reason, never aborted`);
    } else if (err instanceof TimeoutError) {
      if (g.due === Infinity) {
        problem(`get #${g.seq} timed out without timeout`);
      } else if (now() < g.due) problem(`get #${g.seq} timed out early`);
    } else if (err instanceof CreationError) {
      if (g.due !== Infinity) {
        problem(`get #${g.seq}: CreationError with a timeout: ${err.message}`);
      }
    } else if (!(err instanceof PoolError)) {
      problem(`get #${g.seq} rejected: ${String(err)}`);
    }
  };
  const newGet = (
    key: string,
    kind: "get" | "use",
    timeout: number | undefined,
    controller: AbortController | undefined,
  ): Get => {
    const t = timeout ?? cfg.timeout ?? Infinity;
    const g: Get = {
      seq: seq++,
      key,
      kind,
      due: now() + t,
      controller,
      aborted: false,
      settled: false,
      obj: undefined,
    };
    gets.push(g);
    return g;
  };

  const check = (where: string) => {
    const fail = (msg: string) =>
      assert.fail(
        `${msg}\n  at ${where}, t=${now()}\n  ${
          JSON.stringify({ seed: c.seed, cfg })
        }`,
      );
    if (problems.length !== 0) fail(problems.join("\n  "));
    checkLimit(where);
    if (problems.length !== 0) fail(problems.join("\n  "));
    const s = pool.stats();
    if (s.ntotal !== alive() + inFlight) {
      fail(`ntotal ${s.ntotal}, but ${alive()} alive + ${inFlight} in flight`);
    }
    for (const g of gets) {
      if (g.settled) continue;
      if (g.aborted) fail(`get #${g.seq} pending after its abort`);
      if (g.due <= now() - 1) fail(`get #${g.seq} pending past its deadline`);
    }
    // no get waits for nothing (see the top)
    if (closersRunning !== 0 || inFlight !== 0) return;
    const idleOf = new Map<string, number>();
    for (const o of made) {
      if (o.closed === 0 && o.holder === undefined) {
        idleOf.set(o.key, (idleOf.get(o.key) ?? 0) + 1);
      }
    }
    const waitingKeys = new Set(
      gets.filter((g) => !g.settled).map((g) => g.key),
    );
    const idleElsewhere = (key: string) =>
      [...idleOf].some(([k, n]) => k !== key && n > 0 && !waitingKeys.has(k));
    for (const key of waitingKeys) {
      if (down.has(key)) continue;
      if (now() - (lastFail.get(key) ?? -Infinity) < 2 * BACKOFF_MAX) continue;
      if (cfg.maxSize > 0 && aliveOf(key) >= cfg.maxSize) continue;
      if (alive() < cfg.maxTotal || idleElsewhere(key)) {
        fail(
          `a get of ${key} waits with ${alive()} of maxTotal ${cfg.maxTotal} alive, idle: ${
            JSON.stringify([...idleOf])
          }`,
        );
      }
    }
  };

  const tick = async (ms: number) => {
    await clock.tickAsync(ms);
    await flush();
  };

  const step = async (op: Op) => {
    switch (op.k) {
      case "get": {
        const key = keyName(op.key);
        const controller = op.abortable ? new AbortController() : undefined;
        const g = newGet(key, "get", op.timeout, controller);
        pool.get(key, { timeout: op.timeout, signal: controller?.signal })
          .then((o) => {
            served(g, o);
            held.push(o);
          }, (err) => failed(g, err));
        break;
      }
      case "ret": {
        if (held.length === 0) break;
        const o = held.splice(op.i % held.length, 1)[0];
        o.holder = undefined;
        pool.ret(o, op.broken ? { broken: true } : undefined);
        break;
      }
      case "use": {
        const key = keyName(op.key);
        const g = newGet(key, "use", undefined, undefined);
        let started = false;
        pool.use(key, async (o) => {
          started = true;
          served(g, o);
          try {
            if (op.ms > 0) await new Promise((r) => setTimeout(r, op.ms));
          } finally {
            o.holder = undefined;
          }
        }).then(undefined, (err) => {
          if (started) problem(`use() rejected after its callback: ${err}`);
          else failed(g, err);
        });
        break;
      }
      case "abort": {
        const pending = gets.filter((g) => !g.settled && g.controller);
        if (pending.length === 0) break;
        const g = pending[op.i % pending.length];
        g.aborted = true;
        g.controller!.abort(new Error(`get #${g.seq} aborted`));
        break;
      }
      case "evict": {
        const live = made.filter((o) => o.closed === 0);
        if (live.length === 0) break;
        pool.evict(live[op.i % live.length]);
        break;
      }
      case "tick":
        await tick(op.ms);
        break;
      case "down":
        down.add(keyName(op.key));
        break;
      case "up":
        down.delete(keyName(op.key));
        break;
    }
    await flush();
  };

  try {
    await flush();
    for (const [i, op] of ops.entries()) {
      await step(op);
      check(`${i} ${op.k}`);
    }
    // every backend up, every object back: every get settles
    down.clear();
    for (let round = 0; round < 200; round++) {
      for (const o of held.splice(0)) {
        o.holder = undefined;
        pool.ret(o);
      }
      await tick(20);
      check(`settling ${round}`);
      if (held.length === 0 && gets.every((g) => g.settled)) break;
    }
    for (const g of gets) {
      assert.ok(
        g.settled,
        `get #${g.seq} of ${g.key} never settled\n  ${
          JSON.stringify({ seed: c.seed, cfg, s: pool.stats().total })
        }`,
      );
    }
    let done = false;
    void pool.shutdown().then(() => done = true);
    for (let t = 0; !done && t < 5000; t += 10) await tick(10);
    assert.ok(done, "shutdown never ended");
    await tick(100);
    check("end");
    assert.equal(inFlight, 0);
    for (const o of made) assert.equal(o.closed, 1, `${o} closed ${o.closed}`);
    const s = pool.stats();
    assert.equal(s.ntotal, 0);
    assert.equal(s.total.nobjs, 0);
    assert.equal(s.total.ncreated, made.length);
    assert.equal(s.total.ndestroys, made.length);
  } finally {
    try {
      let done = false;
      void pool.shutdown().then(() => done = true, () => done = true);
      for (let t = 0; !done && t < 5000; t += 10) await clock.tickAsync(10);
    } finally {
      clock.uninstall();
      Math.random = realRandom;
    }
  }
}

const runs = Number(env.FC_RUNS ?? 300);
const params: fc.Parameters<[Case]> = {
  numRuns: runs,
  ...(env.FC_SEED !== undefined
    ? { seed: Number(env.FC_SEED), path: env.FC_PATH }
    : {}),
};

describe("KeyedPool model", () => {
  it(
    `never exceeds maxTotal, and lets no get wait for nothing (${runs} runs)`,
    { timeout: 300_000 },
    async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.record({
            cfg: configArb,
            ops: fc.array(opArb, { maxLength: 60, size: "max" }),
            seed: fc.nat(),
          }),
          (c) => runScenario(c),
        ),
        params,
      );
    },
  );
});
