// Model-based property tests: random interleavings of gets (with and without
// timeout or abort), returns (normal, double, foreign, broken, suspect),
// use() callbacks that succeed or throw, creation failures (sync throw,
// async reject, slow creation), hook failures, health flips, housekeeping
// rounds under virtual time, and shutdown. After every step the pool is
// checked against a simple model; at the end every waiter has settled and
// every created object was closed exactly once.
//
// A failure prints fast-check's seed and path; replay it with
// FC_SEED=<seed> FC_PATH=<path> (and the same runtime).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  CreationError,
  OverloadError,
  Pool,
  PoolError,
  TimeoutError,
} from "../mod.ts";
import { type Clock, fakeClock, flush } from "./_helpers.ts";

interface Obj {
  n: number;
  closed: number;
  healthy: boolean;
}

type Op =
  | { k: "get"; timeout: number | undefined; abortable: boolean }
  | { k: "ret"; i: number; how: "normal" | "broken" | "suspect" }
  | { k: "double"; i: number }
  | { k: "foreign" }
  | { k: "abort"; i: number }
  | { k: "use"; outcome: "ok" | "throw" | "async-throw"; ms: number }
  | { k: "tick"; ms: number }
  | { k: "backend"; mode: "up" | "throw" | "reject" | "slow" }
  | { k: "sick"; i: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      k: fc.constant("get" as const),
      timeout: fc.option(fc.integer({ min: 0, max: 60 }), { nil: undefined }),
      abortable: fc.boolean(),
    }),
  },
  {
    weight: 5,
    arbitrary: fc.record({
      k: fc.constant("ret" as const),
      i: fc.nat(),
      how: fc.constantFrom(
        "normal",
        "normal",
        "broken",
        "suspect",
      ) as fc.Arbitrary<
        "normal" | "broken" | "suspect"
      >,
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ k: fc.constant("double" as const), i: fc.nat() }),
  },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("foreign" as const) }) },
  {
    weight: 2,
    arbitrary: fc.record({ k: fc.constant("abort" as const), i: fc.nat() }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      k: fc.constant("use" as const),
      outcome: fc.constantFrom("ok", "throw", "async-throw") as fc.Arbitrary<
        "ok" | "throw" | "async-throw"
      >,
      ms: fc.integer({ min: 0, max: 30 }),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      k: fc.constant("tick" as const),
      ms: fc.integer({ min: 0, max: 80 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      k: fc.constant("backend" as const),
      mode: fc.constantFrom(
        "up",
        "up",
        "throw",
        "reject",
        "slow",
      ) as fc.Arbitrary<
        "up" | "throw" | "reject" | "slow"
      >,
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ k: fc.constant("sick" as const), i: fc.nat() }),
  },
);

interface Config {
  maxSize: number;
  minSize: number;
  timeout: number | undefined;
  maxUse: number;
  health: boolean;
  maxAvailDelay: number;
  maxWaiting: number;
  hookFailures: boolean;
  maxCreating: number;
}

const configArb: fc.Arbitrary<Config> = fc.record({
  maxSize: fc.integer({ min: 0, max: 4 }),
  minSize: fc.integer({ min: 0, max: 2 }),
  timeout: fc.option(fc.integer({ min: 1, max: 100 }), { nil: undefined }),
  maxUse: fc.constantFrom(0, 0, 1, 3),
  health: fc.boolean(),
  maxAvailDelay: fc.constantFrom(0, 0, 30),
  maxWaiting: fc.constantFrom(0, 0, 3),
  hookFailures: fc.boolean(),
  maxCreating: fc.integer({ min: 1, max: 3 }),
}).map((c) => ({
  ...c,
  minSize: c.maxSize > 0 ? Math.min(c.minSize, c.maxSize) : c.minSize,
}));

/** One get in flight or settled, as the model sees it. */
interface Waiting {
  seq: number;
  controller: AbortController | undefined;
  settled: boolean;
  obj: Obj | undefined;
  error: unknown;
}

const quiet = { debug() {}, info() {}, warn() {}, error() {} };

async function runScenario(cfg: Config, ops: Op[]): Promise<void> {
  const clock: Clock = fakeClock();
  const created: Obj[] = [];
  let mode: "up" | "throw" | "reject" | "slow" = "up";
  const boom = () => {
    if (cfg.hookFailures) throw new Error("hook failure");
  };
  const pool = new Pool<Obj>({
    fun: (n) => {
      if (mode === "throw") throw new Error("down (sync)");
      if (mode === "reject") return Promise.reject(new Error("down (async)"));
      const make = () => {
        const o = { n, closed: 0, healthy: true };
        created.push(o);
        return o;
      };
      if (mode === "slow") {
        return new Promise<Obj>((resolve) =>
          setTimeout(() => resolve(make()), 25)
        );
      }
      return make();
    },
    maxSize: cfg.maxSize,
    minSize: cfg.minSize,
    timeout: cfg.timeout,
    maxUse: cfg.maxUse,
    maxAvailDelay: cfg.maxAvailDelay,
    maxWaiting: cfg.maxWaiting,
    maxCreating: cfg.maxCreating,
    backoffInitial: 5,
    backoffMax: 40,
    delay: 20,
    health: cfg.health ? (o) => o.healthy : undefined,
    opener: boom,
    getter: cfg.hookFailures ? undefined : undefined,
    retter: boom,
    closer: (o) => {
      o.closed++;
      boom();
    },
    logger: quiet,
  });

  const gets: Waiting[] = [];
  const held: Obj[] = []; // lent to a get and not given back yet
  const returned: Obj[] = []; // given back at least once (for double returns)
  let seq = 0;
  const usedByCallbacks = new Set<Obj>(); // lent to use() callbacks

  const check = (where: string) => {
    const s = pool.stats();
    const ctx = `${where}: ${
      JSON.stringify({
        cfg,
        s: { ...s, avail: undefined, using: undefined, busy: undefined },
      })
    }`;
    if (cfg.maxSize > 0) {
      assert.ok(s.nobjs + s.creating <= cfg.maxSize, `maxSize exceeded ${ctx}`);
    }
    assert.equal(s.nobjs, s.navail + s.nusing + s.nbusy, `counts ${ctx}`);
    assert.equal(
      s.ncreated - s.ndestroys,
      s.nobjs,
      `ncreated - ndestroys != nobjs ${ctx}`,
    );
    assert.equal(
      new Set(held).size,
      held.length,
      `an object is held twice ${ctx}`,
    );
    for (const o of held) {
      assert.equal(o.closed, 0, `a held object was closed ${ctx}`);
    }
    // objects held by the user are exactly those the pool counts as lent
    // (use() callbacks in flight hold theirs too)
    assert.equal(
      s.nusing,
      held.length + usedByCallbacks.size,
      `nusing != held ${ctx}`,
    );
    for (const o of created) assert.ok(o.closed <= 1, `closed twice ${ctx}`);
  };

  // violations seen in callbacks, reported by the next check
  const problems: string[] = [];
  const settleOf = (w: Waiting) => (value: Obj) => {
    w.settled = true;
    w.obj = value;
    // FIFO: no older get may still wait when a newer one is served
    for (const other of gets) {
      if (other.seq < w.seq && !other.settled) {
        problems.push(`get #${w.seq} served before older get #${other.seq}`);
      }
    }
    if (held.includes(value)) problems.push("an object lent to two gets");
    if (value.closed !== 0) problems.push("a closed object was lent");
    held.push(value);
  };
  const failOf = (w: Waiting) => (err: unknown) => {
    w.settled = true;
    w.error = err;
    const ok = err instanceof TimeoutError || err instanceof CreationError ||
      err instanceof OverloadError || err instanceof PoolError ||
      (w.controller !== undefined && err === w.controller.signal.reason);
    if (!ok) problems.push(`unexpected rejection: ${String(err)}`);
  };

  try {
    check("start");
    for (const op of ops) {
      switch (op.k) {
        case "get": {
          const controller = op.abortable ? new AbortController() : undefined;
          const w: Waiting = {
            seq: seq++,
            controller,
            settled: false,
            obj: undefined,
            error: undefined,
          };
          gets.push(w);
          pool.get({ timeout: op.timeout, signal: controller?.signal }).then(
            settleOf(w),
            failOf(w),
          );
          break;
        }
        case "ret": {
          if (held.length === 0) break;
          const [o] = held.splice(op.i % held.length, 1);
          returned.push(o);
          await pool.ret(o, {
            broken: op.how === "broken",
            suspect: op.how === "suspect",
          });
          break;
        }
        case "double": {
          if (returned.length === 0) break;
          const o = returned[op.i % returned.length];
          // lent again meanwhile: that would not be a double return
          if (held.includes(o) || usedByCallbacks.has(o)) break;
          await pool.ret(o);
          break;
        }
        case "foreign":
          await pool.ret({ n: -1, closed: 0, healthy: true });
          break;
        case "abort": {
          const pending = gets.filter((w) => !w.settled && w.controller);
          if (pending.length === 0) break;
          pending[op.i % pending.length].controller!.abort(
            new Error("aborted by test"),
          );
          break;
        }
        case "use": {
          void pool.use(async (o) => {
            assert.ok(
              !usedByCallbacks.has(o) && !held.includes(o),
              "use() got a lent object",
            );
            usedByCallbacks.add(o);
            try {
              assert.equal(o.closed, 0, "use() got a closed object");
              if (op.ms > 0) await new Promise((r) => setTimeout(r, op.ms));
              if (op.outcome === "throw") throw new Error("callback failed");
              if (op.outcome === "async-throw") {
                await Promise.reject(new Error("callback rejected"));
              }
            } finally {
              usedByCallbacks.delete(o);
            }
          }, { timeout: 50 }).catch(() => {});
          break;
        }
        case "tick":
          await clock.tickAsync(op.ms);
          break;
        case "backend":
          mode = op.mode;
          break;
        case "sick": {
          const alive = created.filter((o) => o.closed === 0);
          if (alive.length !== 0) alive[op.i % alive.length].healthy = false;
          break;
        }
      }
      await flush();
      check(op.k);
    }
    // let everything due happen, then give every object back
    mode = "up";
    await clock.tickAsync(200);
    while (held.length !== 0) await pool.ret(held.pop()!);
    await clock.tickAsync(200);
    check("end");
  } finally {
    let finished = false;
    const done = pool.shutdown().then(() => finished = true);
    for (let t = 0; t < 20_000 && !finished; t += 100) {
      await clock.tickAsync(100);
    }
    await done;
    clock.uninstall();
  }
  // every waiter settled, none waits forever
  for (const w of gets) assert.ok(w.settled, `get #${w.seq} never settled`);
  // every created object closed exactly once
  for (const o of created) {
    assert.equal(o.closed, 1, `object #${o.n} closed ${o.closed} times`);
  }
  const s = pool.stats();
  assert.equal(s.nobjs, 0);
  assert.equal(s.ndestroys, s.ncreated);
  assert.equal(s.nwaiting, 0);
}

const runs = Number(
  (globalThis as { process?: { env: Record<string, string | undefined> } })
    .process?.env
    .FC_RUNS ?? 300,
);
const seedEnv =
  (globalThis as { process?: { env: Record<string, string | undefined> } })
    .process?.env;
const params: fc.Parameters<[Config, Op[]]> = {
  numRuns: runs,
  ...(seedEnv?.FC_SEED
    ? { seed: Number(seedEnv.FC_SEED), path: seedEnv.FC_PATH }
    : {}),
};

describe("Pool model", () => {
  it(`keeps its invariants under random interleavings (${runs} runs)`, async () => {
    await fc.assert(
      fc.asyncProperty(
        configArb,
        fc.array(opArb, { maxLength: 60 }),
        runScenario,
      ),
      params,
    );
  });

  it(`keeps them with a bounded pool under churn (${runs} runs)`, async () => {
    await fc.assert(
      fc.asyncProperty(
        configArb.map((c) => ({ ...c, maxSize: 2, minSize: 1 })),
        fc.array(opArb, { minLength: 30, maxLength: 80 }),
        runScenario,
      ),
      params,
    );
  });
});
