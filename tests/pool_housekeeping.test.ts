// Housekeeping and the issue-6 options, all on the virtual clock:
// recycling, held-too-long warnings and kills, health rounds, maxLifetime
// with jitter, check on borrow, reset on return, resize() and ready().
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { CreationError, Pool, PoolError, TimeoutError } from "../mod.ts";
import {
  Backend,
  type Conn,
  flush,
  recordingLogger,
  withClock,
} from "./_helpers.ts";
import { shutdownOn, track } from "./_track.ts";

/** Replaces Math.random by `values` (then 0) while `fn` runs. */
function withRandom<R>(values: number[], fn: () => R): R {
  const real = Math.random;
  let i = 0;
  Math.random = () => (i < values.length ? values[i++] : 0);
  try {
    return fn();
  } finally {
    Math.random = real;
  }
}

describe("Housekeeping: recycling idle objects (maxAvailDelay)", () => {
  it("closes objects idle for maxAvailDelay, down to minSize only", async () => {
    await withClock(async (clock) => {
      const b = new Backend();
      const pool = new Pool({
        fun: b.fun,
        closer: b.closer,
        minSize: 1,
        maxAvailDelay: 1000,
        logLevel: "off",
      });
      try {
        assert.equal(pool.stats().config.delay, 500);
        const objs = await Promise.all([pool.get(), pool.get(), pool.get()]);
        for (const o of objs) pool.ret(o);
        assert.equal(pool.stats().nobjs, 3);
        await clock.tickAsync(999);
        assert.equal(pool.stats().nrecycled, 0, "not idle long enough yet");
        await clock.tickAsync(1);
        let s = pool.stats();
        assert.equal(s.nrecycled, 2);
        assert.equal(s.closedBy.recycled, 2);
        assert.equal(s.nobjs, 1, "kept minSize");
        assert.equal(b.created.filter((c) => c.closed === 1).length, 2);
        await clock.tickAsync(60_000);
        s = pool.stats();
        assert.equal(s.nobjs, 1, "never below minSize");
        assert.equal(s.nrecycled, 2);
        assert.equal(b.calls, 3, "no churn");
      } finally {
        await shutdownOn(clock, pool);
      }
    });
  });

  it("recycles the objects idle longest, keeping a recently returned one", async () => {
    await withClock(async (clock) => {
      const b = new Backend();
      const pool = new Pool({
        fun: b.fun,
        closer: b.closer,
        minSize: 0,
        maxAvailDelay: 1000,
      });
      try {
        const [x, y, z] = await Promise.all([
          pool.get(),
          pool.get(),
          pool.get(),
        ]);
        pool.ret(x);
        pool.ret(y);
        pool.ret(z);
        await clock.tickAsync(600);
        const again = await pool.get();
        assert.equal(again, z, "idle objects are reused last-in first-out");
        await clock.tickAsync(100);
        pool.ret(again);
        await clock.tickAsync(300); // round at 1000
        assert.deepEqual([x.closed, y.closed, z.closed], [1, 1, 0]);
        await clock.tickAsync(700); // z idle for 1000 at 1700
        assert.equal(z.closed, 0, "the round at 1500 saw it idle 800 ms");
        await clock.tickAsync(300); // round at 2000
        assert.equal(z.closed, 1);
        assert.equal(pool.stats().nobjs, 0);
      } finally {
        await shutdownOn(clock, pool);
      }
    });
  });

  it("never recycles objects in use", async () => {
    await withClock(async (clock) => {
      const b = new Backend();
      const pool = new Pool({
        fun: b.fun,
        closer: b.closer,
        minSize: 0,
        maxAvailDelay: 100,
      });
      try {
        const held = await Promise.all([pool.get(), pool.get()]);
        await clock.tickAsync(10_000);
        assert.deepEqual(held.map((c) => c.closed), [0, 0]);
        assert.equal(pool.stats().nusing, 2);
        for (const o of held) pool.ret(o);
        await clock.tickAsync(150);
        assert.deepEqual(held.map((c) => c.closed), [1, 1]);
      } finally {
        await shutdownOn(clock, pool);
      }
    });
  });
});

describe("Housekeeping: long delays", () => {
  it("a computed delay beyond what a timer holds is capped, not a busy loop", async () => {
    await withClock(async (clock) => {
      const pool = new Pool({
        fun: (n) => ({ n }),
        maxAvailDelay: 60 * 86_400_000, // 60 days: half is over 2^31 - 1 ms
        logLevel: "off",
      });
      try {
        assert.equal(pool.stats().config.delay, 2 ** 31 - 1);
        await clock.tickAsync(1000);
        assert.equal(pool.stats().hkRounds, 0);
        await clock.tickAsync(2 ** 31 - 1000);
        assert.equal(pool.stats().hkRounds, 1);
      } finally {
        await shutdownOn(clock, pool);
      }
    });
  });
});

describe("Housekeeping: objects held too long", () => {
  it("warns once past maxUsingDelay, with the stack of the taker, and logs the return", async () => {
    await withClock(async (clock) => {
      const log = recordingLogger();
      const pool = new Pool({
        fun: (n) => ({ n }),
        maxUsingDelay: 1000,
        logger: log,
        tracer: (o) => `conn-${o.n}`,
      });
      try {
        const o = await pool.get();
        await clock.tickAsync(999);
        assert.equal(log.at("warn").length, 0);
        await clock.tickAsync(1);
        const warnings = log.at("warn");
        assert.equal(warnings.length, 1);
        assert.match(warnings[0], /conn-0/);
        assert.match(warnings[0], /held for 1000 ms/);
        assert.match(warnings[0], /maxUsingDelay/);
        assert.match(warnings[0], /taken at/);
        assert.match(warnings[0], /pool_housekeeping/, "the taker's file");
        await clock.tickAsync(5000);
        assert.equal(log.at("warn").length, 1, "warned once");
        assert.equal(o.n, 0, "still held, not killed");
        pool.ret(o);
        const back = log.at("warn");
        assert.equal(back.length, 2);
        assert.match(back[1], /conn-0.*came back after 6000 ms/);
        assert.equal(pool.stats().navail, 1);
      } finally {
        await shutdownOn(clock, pool);
      }
    });
  });

  it("warns again for a new borrowing of the same object", async () => {
    await withClock(async (clock) => {
      const log = recordingLogger();
      const pool = new Pool({
        fun: (n) => ({ n }),
        maxUsingDelay: 100,
        logger: log,
      });
      try {
        const o = await pool.get();
        await clock.tickAsync(100);
        pool.ret(o);
        const p = await pool.get();
        assert.equal(p, o);
        await clock.tickAsync(100);
        const held = log.at("warn").filter((l) => /held for/.test(l));
        assert.equal(held.length, 2);
        pool.ret(p);
      } finally {
        await shutdownOn(clock, pool);
      }
    });
  });

  it("captures no stack when captureStacks is false", async () => {
    await withClock(async (clock) => {
      const log = recordingLogger();
      const pool = new Pool({
        fun: (n) => ({ n }),
        maxUsingDelay: 100,
        captureStacks: false,
        logger: log,
      });
      try {
        const o = await pool.get();
        await clock.tickAsync(100);
        const warnings = log.at("warn");
        assert.equal(warnings.length, 1);
        assert.doesNotMatch(warnings[0], /taken at/);
        pool.ret(o);
      } finally {
        await shutdownOn(clock, pool);
      }
    });
  });

  it("shows the stack of a waiter that was served later", async () => {
    await withClock(async (clock) => {
      const log = recordingLogger();
      const pool = new Pool({
        fun: (n) => ({ n }),
        maxSize: 1,
        maxUsingDelay: 1000,
        logger: log,
      });
      try {
        const first = await pool.get();
        const waited = pool.get();
        pool.ret(first);
        const o = await waited;
        await clock.tickAsync(1000);
        const w = log.at("warn");
        assert.equal(w.length, 1);
        assert.match(w[0], /taken at[\s\S]*pool_housekeeping/);
        pool.ret(o);
      } finally {
        await shutdownOn(clock, pool);
      }
    });
  });

  it("kills an object held past maxUsingDelayKill, ignores its later return, refills", async () => {
    await withClock(async (clock) => {
      const b = new Backend();
      const log = recordingLogger();
      const pool = new Pool({
        fun: b.fun,
        closer: b.closer,
        maxUsingDelayKill: 1000,
        logger: log,
        tracer: (c) => `conn-${c.n}`,
      });
      try {
        const c = await pool.get();
        await clock.tickAsync(999);
        assert.equal(c.closed, 0);
        await clock.tickAsync(1);
        assert.equal(c.closed, 1, "closed while the borrower still holds it");
        let s = pool.stats();
        assert.equal(s.nkilled, 1);
        assert.equal(s.closedBy.killed, 1);
        assert.equal(s.nusing, 0);
        assert.equal(s.nobjs, 1, "refilled to minSize");
        assert.equal(s.navail, 1);
        assert.match(
          log.at("warn")[0],
          /killing object #0 \(conn-0\).*maxUsingDelayKill/,
        );
        pool.ret(c);
        const warnings = log.at("warn");
        assert.equal(warnings.length, 2);
        assert.match(warnings[1], /conn-0/);
        assert.match(warnings[1], /does not hold/);
        s = pool.stats();
        assert.equal(c.closed, 1, "not closed twice");
        assert.equal(s.navail, 1);
        assert.equal(s.nobjs, 1);
        const next = await pool.get();
        assert.notEqual(next, c, "a killed object is never lent again");
        pool.ret(next);
      } finally {
        await shutdownOn(clock, pool);
      }
    });
  });

  it("warns first, then kills, with both delays", async () => {
    await withClock(async (clock) => {
      const b = new Backend();
      const log = recordingLogger();
      const pool = new Pool({
        fun: b.fun,
        closer: b.closer,
        maxUsingDelay: 200,
        maxUsingDelayKill: 1000,
        logger: log,
      });
      try {
        assert.equal(pool.stats().config.delay, 100);
        const c = await pool.get();
        await clock.tickAsync(200);
        assert.equal(log.at("warn").length, 1);
        assert.equal(c.closed, 0);
        await clock.tickAsync(800);
        assert.equal(c.closed, 1);
        assert.match(log.at("warn")[1], /killing[\s\S]*taken at/);
      } finally {
        await shutdownOn(clock, pool);
      }
    });
  });
});

describe("Housekeeping: health rounds", () => {
  it("checks idle objects every healthFreq rounds, counting them", async () => {
    await withClock(async (clock) => {
      const seen: number[] = [];
      const pool = new Pool({
        fun: (n) => ({ n }),
        minSize: 2,
        delay: 100,
        healthFreq: 3,
        health: (o) => void seen.push(o.n),
      });
      try {
        await clock.tickAsync(299);
        assert.equal(pool.stats().hkRounds, 2);
        assert.equal(pool.stats().hcRounds, 0);
        assert.equal(seen.length, 0);
        await clock.tickAsync(1);
        await clock.tickAsync(600);
        const s = pool.stats();
        assert.equal(s.hkRounds, 9);
        assert.equal(s.hcRounds, 3);
        assert.equal(s.nhealth, 6);
        assert.equal(s.nborrows, 6);
        assert.equal(s.nreturns, 6);
        assert.equal(s.badHealth, 0);
        assert.equal(s.hcErrors, 0);
        assert.deepEqual(seen.toSorted(), [0, 0, 0, 1, 1, 1]);
        assert.equal(s.nobjs, 2);
        assert.equal(s.navail, 2, "good objects went back");
      } finally {
        await shutdownOn(clock, pool);
      }
    });
  });

  it("runs by default every 60 s when health is the only timed option", async () => {
    await withClock(async (clock) => {
      let calls = 0;
      const pool = new Pool({
        fun: (n) => ({ n }),
        health: () => void calls++,
      });
      try {
        await clock.tickAsync(59_999);
        assert.equal(calls, 0);
        await clock.tickAsync(1);
        assert.equal(calls, 1);
      } finally {
        await shutdownOn(clock, pool);
      }
    });
  });

  const bad: [string, (c: Conn) => boolean | Promise<boolean>, boolean][] = [
    ["returns false", () => false, false],
    ["resolves false", () => Promise.resolve(false), false],
    [
      "throws",
      () => {
        throw new Error("health boom");
      },
      true,
    ],
    ["rejects", () => Promise.reject(new Error("health boom")), true],
  ];
  for (const [label, health, isError] of bad) {
    it(`closes and replaces an object whose health ${label}`, async () => {
      await withClock(async (clock) => {
        const b = new Backend();
        const log = recordingLogger();
        const pool = new Pool({
          fun: b.fun,
          closer: b.closer,
          minSize: 1,
          delay: 100,
          health: (c) => (c.n === 0 ? health(c) : true),
          logger: log,
        });
        try {
          await clock.tickAsync(100);
          const s = pool.stats();
          assert.equal(b.created[0].closed, 1);
          assert.equal(s.badHealth, 1);
          assert.equal(s.closedBy.health, 1);
          assert.equal(s.nhealth, 1);
          assert.equal(s.nborrows, 1);
          assert.equal(s.nreturns, 1);
          assert.equal(s.hcErrors, isError ? 1 : 0);
          assert.equal(s.nobjs, 1, "refilled to minSize");
          assert.equal(b.created[1].closed, 0);
          const lines = log.lines.join("\n");
          assert.match(lines, isError ? /health boom/ : /health says/);
          const c = await pool.get();
          assert.equal(c.n, 1, "the bad object is never lent");
          pool.ret(c);
        } finally {
          await shutdownOn(clock, pool);
        }
      });
    });
  }

  it("counts a health check slower than healthTimeout as bad, and skips rounds meanwhile", async () => {
    await withClock(async (clock) => {
      const b = new Backend();
      const log = recordingLogger();
      let calls = 0;
      const pool = new Pool({
        fun: b.fun,
        closer: b.closer,
        minSize: 1,
        delay: 100,
        healthTimeout: 1000,
        // the first object hangs for ever; the others answer at once
        health: (c) => {
          calls++;
          return c.n === 0 ? new Promise<boolean>(() => {}) : true;
        },
        logger: log,
      });
      try {
        await clock.tickAsync(100);
        let s = pool.stats();
        assert.equal(s.nbusy, 1, "under check");
        assert.equal(s.navail, 0);
        const c = await pool.get(); // no idle object: a new one is made
        assert.equal(c.n, 1);
        pool.ret(c);
        await clock.tickAsync(999);
        s = pool.stats();
        assert.equal(s.hkRounds, 1, "rounds are skipped while one runs");
        assert.equal(b.created[0].closed, 0);
        await clock.tickAsync(1);
        s = pool.stats();
        assert.equal(b.created[0].closed, 1);
        assert.equal(s.hcErrors, 1);
        assert.equal(s.badHealth, 1);
        assert.match(log.at("error").join("\n"), /healthTimeout/);
        await clock.tickAsync(100);
        // rounds resume, each checking the one idle object
        s = pool.stats();
        assert.ok(s.hkRounds >= 2);
        assert.equal(calls, s.hkRounds);
        assert.equal(s.nobjs, 1);
      } finally {
        await shutdownOn(clock, pool);
      }
    });
  });

  it("never checks objects in use", async () => {
    await withClock(async (clock) => {
      const checked = new Set<number>();
      const pool = new Pool({
        fun: (n) => ({ n }),
        minSize: 2,
        delay: 100,
        health: (o) => void checked.add(o.n),
      });
      try {
        const held = await pool.get();
        await clock.tickAsync(1000);
        assert.equal(checked.has(held.n), false);
        assert.equal(checked.size, 1);
        assert.equal(pool.stats().nhealth, 10);
        pool.ret(held);
        await clock.tickAsync(100);
        assert.equal(checked.has(held.n), true);
      } finally {
        await shutdownOn(clock, pool);
      }
    });
  });

  it("does not lend an object while its health check runs", async () => {
    await withClock(async (clock) => {
      const pool = new Pool({
        fun: (n) => ({ n }),
        minSize: 1,
        maxSize: 1,
        delay: 100,
        health: () =>
          new Promise<boolean>((r) => setTimeout(() => r(true), 50)),
      });
      try {
        await clock.tickAsync(100);
        const t = track(pool.get());
        await clock.tickAsync(49);
        assert.equal(t.settled, false, "busy under check");
        await clock.tickAsync(1);
        assert.deepEqual(t.value, { n: 0 });
        pool.ret(t.value!);
      } finally {
        await shutdownOn(clock, pool);
      }
    });
  });

  it("refills to minSize on rounds after removals", async () => {
    await withClock(async (clock) => {
      const b = new Backend();
      const pool = new Pool({
        fun: b.fun,
        closer: b.closer,
        minSize: 3,
        delay: 100,
        health: () => false,
        logLevel: "off",
      });
      try {
        assert.equal(pool.stats().nobjs, 3);
        await clock.tickAsync(100);
        let s = pool.stats();
        assert.equal(s.badHealth, 3);
        assert.equal(s.nobjs, 3);
        assert.deepEqual(b.created.map((c) => c.closed), [1, 1, 1, 0, 0, 0]);
        await clock.tickAsync(100);
        s = pool.stats();
        assert.equal(s.badHealth, 6);
        assert.equal(s.nobjs, 3);
        assert.equal(b.calls, 9);
        assert.equal(s.hkLast, 0, "a round just ran");
      } finally {
        await shutdownOn(clock, pool);
      }
    });
  });

  it("reports housekeeping timings in stats", async () => {
    await withClock(async (clock) => {
      const pool = new Pool({
        fun: (n) => ({ n }),
        delay: 100,
        health: () => true,
      });
      try {
        assert.equal(pool.stats().hkLast, null);
        await clock.tickAsync(130);
        const s = pool.stats();
        assert.equal(s.hkLast, 30);
        assert.equal(s.hkTime, 0, "the virtual clock did not move in it");
        assert.equal(s.hkErrors, 0);
      } finally {
        await shutdownOn(clock, pool);
      }
    });
  });
});

describe("maxLifetime with jitter", () => {
  it("retires an idle object at its jittered lifetime, on get or on a round", async () => {
    await withClock(async (clock) => {
      const b = new Backend();
      const pool = withRandom([0.5], () =>
        new Pool({
          fun: b.fun,
          closer: b.closer,
          maxLifetime: 10_000,
          maxLifetimeJitter: 0.1,
          delay: 100_000, // rounds out of the way: retired by get()
        }));
      try {
        // expires at 10000 * (1 - 0.5 * 0.1) = 9500
        await clock.tickAsync(9499);
        const first = await pool.get();
        assert.equal(first, b.created[0]);
        pool.ret(first);
        await clock.tickAsync(1);
        const second = await pool.get();
        assert.notEqual(second, first);
        assert.equal(first.closed, 1);
        const s = pool.stats();
        assert.equal(s.closedBy.lifetime, 1);
        assert.equal(s.nobjs, 1);
        pool.ret(second);
      } finally {
        await shutdownOn(clock, pool);
      }
    });
  });

  it("spreads the expiry of objects created together", async () => {
    await withClock(async (clock) => {
      const b = new Backend();
      // jitter shortens each lifetime by random * 5 %
      const pool = withRandom([0, 0.2, 0.4, 0.6, 0.8], () =>
        new Pool({
          fun: b.fun,
          closer: b.closer,
          minSize: 5,
          maxLifetime: 10_000,
          delay: 10,
        }));
      try {
        const closedAt = (t: number) =>
          b.created.slice(0, 5).filter((c) => c.closed).length + ` @${t}`;
        await clock.tickAsync(9590);
        assert.equal(closedAt(9590), "0 @9590");
        await clock.tickAsync(10); // 9600: the 0.8 one
        assert.equal(closedAt(9600), "1 @9600");
        await clock.tickAsync(100); // 9700: the 0.6 one
        assert.equal(closedAt(9700), "2 @9700");
        await clock.tickAsync(100);
        assert.equal(closedAt(9800), "3 @9800");
        await clock.tickAsync(100);
        assert.equal(closedAt(9900), "4 @9900");
        await clock.tickAsync(90);
        assert.equal(closedAt(9990), "4 @9990");
        await clock.tickAsync(10);
        assert.equal(closedAt(10000), "5 @10000");
        const s = pool.stats();
        assert.equal(s.closedBy.lifetime, 5);
        assert.equal(s.nobjs, 5, "replaced to minSize");
      } finally {
        await shutdownOn(clock, pool);
      }
    });
  });

  it("retires every object within [maxLifetime * (1 - jitter), maxLifetime]", async () => {
    await withClock(async (clock) => {
      const b = new Backend();
      const pool = new Pool({
        fun: b.fun,
        closer: b.closer,
        minSize: 50,
        maxLifetime: 10_000,
        delay: 50,
      });
      try {
        await clock.tickAsync(9450);
        assert.equal(pool.stats().closedBy.lifetime, 0);
        await clock.tickAsync(550);
        assert.equal(pool.stats().closedBy.lifetime, 50);
        assert.ok(b.created.slice(0, 50).every((c) => c.closed === 1));
      } finally {
        await shutdownOn(clock, pool);
      }
    });
  });

  it("never retires an object in use; retires it when it comes back", async () => {
    await withClock(async (clock) => {
      const b = new Backend();
      const pool = withRandom([0], () =>
        new Pool({
          fun: b.fun,
          closer: b.closer,
          maxSize: 1,
          maxLifetime: 1000,
        }));
      try {
        const c = await pool.get();
        const waiter = track(pool.get());
        await clock.tickAsync(5000);
        assert.equal(c.closed, 0, "in use: kept");
        assert.equal(waiter.settled, false);
        pool.ret(c);
        assert.equal(c.closed, 1, "retired on return");
        assert.equal(pool.stats().closedBy.lifetime, 1);
        await flush();
        assert.equal((waiter.value as Conn).n, 1, "the waiter got a new one");
        pool.ret(waiter.value as Conn);
      } finally {
        await shutdownOn(clock, pool);
      }
    });
  });
});

describe("maxLifetime: retired when it comes back", () => {
  it("closes an object returned past its lifetime with no one waiting, and refills", async () => {
    await withClock(async (clock) => {
      const b = new Backend();
      const pool = withRandom([0], () =>
        new Pool({
          fun: b.fun,
          closer: b.closer,
          minSize: 1,
          maxLifetime: 1000,
          delay: 100_000, // rounds out of the way: retired by ret()
          logLevel: "off",
        }));
      try {
        const obj = await pool.get();
        await clock.tickAsync(1500); // in use past its lifetime: kept
        assert.equal(obj.closed, 0, "never retired while in use");
        pool.ret(obj);
        assert.equal(obj.closed, 1, "retired as it came back");
        const s = pool.stats();
        assert.equal(s.closedBy.lifetime, 1);
        assert.equal(s.nobjs, 1, "refilled to minSize");
        assert.notEqual(pool.stats().avail[0].n, obj.n);
      } finally {
        await shutdownOn(clock, pool);
      }
    });
  });
});

describe("Creation back-off: jitter", () => {
  it("each pause is between half and all of its step, drawn at random", async () => {
    const callsWith = async (random: number) =>
      await withClock(async (clock) => {
        const b = new Backend();
        b.down = true;
        const real = Math.random;
        Math.random = () => random;
        try {
          const pool = new Pool({
            fun: b.fun,
            minSize: 1,
            backoffInitial: 100,
            backoffMax: 100, // every step 100 ms: pauses of 50 to 100 ms
            logLevel: "off",
          });
          await clock.tickAsync(1000);
          await shutdownOn(clock, pool);
          return b.calls;
        } finally {
          Math.random = real;
        }
      });
    const short = await callsWith(0); // 50 ms pauses
    const long = await callsWith(0.999); // ~100 ms pauses
    assert.ok(short >= 19 && short <= 22, `pauses of 50 ms: ${short} calls`);
    assert.ok(long >= 10 && long <= 12, `pauses of 100 ms: ${long} calls`);
  });
});

describe("check on borrow", () => {
  it("skips the check for objects returned less than checkBypass ago", async () => {
    await withClock(async (clock) => {
      let checks = 0;
      const pool = new Pool({
        fun: (n) => ({ n }),
        check: () => void checks++,
        checkBypass: 500,
      });
      try {
        const o = await pool.get(); // created just now
        assert.equal(checks, 0);
        pool.ret(o);
        await clock.tickAsync(499);
        pool.ret(await pool.get());
        assert.equal(checks, 0);
        await clock.tickAsync(500);
        pool.ret(await pool.get());
        assert.equal(checks, 1);
      } finally {
        await shutdownOn(clock, pool);
      }
    });
  });

  it("checks every borrowing with checkBypass 0", async () => {
    let checks = 0;
    const pool = new Pool({
      fun: (n) => ({ n }),
      check: () => void checks++,
      checkBypass: 0,
    });
    for (let i = 0; i < 5; i++) pool.ret(await pool.get());
    assert.equal(checks, 5);
    await pool.shutdown();
  });

  const failing: [string, (c: Conn) => unknown][] = [
    ["returns false", () => false],
    [
      "throws",
      () => {
        throw new Error("check boom");
      },
    ],
    ["rejects", () => Promise.reject(new Error("check boom"))],
  ];
  for (const [label, check] of failing) {
    it(`discards an object whose check ${label}; get goes on transparently`, async () => {
      await withClock(async (clock) => {
        const b = new Backend();
        const pool = new Pool({
          fun: b.fun,
          closer: b.closer,
          minSize: 2,
          checkBypass: 0,
          check: (c) => (c.n < 2 ? check(c) : true) as boolean,
          logLevel: "off",
        });
        try {
          const c = await pool.get();
          assert.equal(c.n, 2, "both bad idle objects were skipped");
          // two replacements: one for this get, one for minSize
          assert.deepEqual(b.created.map((x) => x.closed), [1, 1, 0, 0]);
          const s = pool.stats();
          assert.equal(s.nobjs, 2);
          assert.equal(s.closedBy.check, 2);
          assert.equal(s.nuses, 1);
          assert.equal(s.nhealth, 0, "check is not counted as health");
          pool.ret(c);
        } finally {
          await shutdownOn(clock, pool);
        }
      });
    });
  }

  it("counts a check slower than healthTimeout as failed", async () => {
    await withClock(async (clock) => {
      const b = new Backend();
      const pool = new Pool({
        fun: b.fun,
        closer: b.closer,
        checkBypass: 0,
        healthTimeout: 300,
        check: (c) => (c.n === 0 ? new Promise<boolean>(() => {}) : true),
        logLevel: "off",
      });
      try {
        const t = track(pool.get());
        await clock.tickAsync(299);
        assert.equal(t.settled, false);
        await clock.tickAsync(1);
        assert.equal((t.value as Conn).n, 1);
        assert.equal(b.created[0].closed, 1);
        pool.ret(t.value as Conn);
      } finally {
        await shutdownOn(clock, pool);
      }
    });
  });

  it("a waiter whose object failed the check keeps its place in line", async () => {
    await withClock(async (clock) => {
      const b = new Backend();
      let bad = true;
      const pool = new Pool({
        fun: b.fun,
        closer: b.closer,
        maxSize: 1,
        checkBypass: 0,
        check: () => !bad,
        logLevel: "off",
      });
      try {
        bad = false;
        const held = await pool.get();
        const order: number[] = [];
        const ws = [0, 1, 2].map((i) =>
          pool.get().then((c) => {
            order.push(i);
            pool.ret(c);
          })
        );
        bad = true; // the returned object fails: waiter 0 gets a new one
        pool.ret(held);
        bad = false;
        await clock.tickAsync(10);
        await Promise.all(ws);
        assert.deepEqual(order, [0, 1, 2]);
        assert.equal(held.closed, 1);
      } finally {
        await shutdownOn(clock, pool);
      }
    });
  });

  it("two waiters whose checks fail in the reverse order are served in arrival order", async () => {
    await withClock(async (clock) => {
      const b = new Backend();
      let old = true;
      const pool = new Pool({
        fun: b.fun,
        closer: b.closer,
        minSize: 2,
        maxSize: 2,
        checkBypass: 0,
        // W1 takes n 1 (popped first), whose check fails first: W1 goes
        // back in line, then W2 must go back behind it, not in front
        check: async (c) => {
          if (!old) return true;
          await new Promise((r) => setTimeout(r, c.n === 1 ? 10 : 30));
          return false;
        },
        logLevel: "off",
      });
      try {
        await clock.tickAsync(0);
        b.latency = 100;
        const order: string[] = [];
        const w1 = pool.get().then((c) => void order.push(`W1 #${c.n}`));
        const w2 = pool.get().then((c) => void order.push(`W2 #${c.n}`));
        await clock.tickAsync(35);
        old = false;
        await clock.tickAsync(200);
        await Promise.all([w1, w2]);
        assert.deepEqual(order, ["W1 #2", "W2 #3"]);
      } finally {
        await shutdownOn(clock, pool);
      }
    });
  });
});

describe("reset on return", () => {
  it("runs reset on each return and lends the object again", async () => {
    const resets: number[] = [];
    const pool = new Pool({
      fun: (n) => ({ n }),
      reset: async (o) => {
        await flush();
        resets.push(o.n);
      },
    });
    const o = await pool.get();
    const done = pool.ret(o);
    assert.ok(done instanceof Promise, "ret waits for reset");
    assert.equal(pool.stats().navail, 0, "not available during reset");
    await done;
    assert.deepEqual(resets, [0]);
    assert.equal(await pool.get(), o);
    await pool.ret(o);
    await pool.shutdown();
  });

  for (
    const [label, reset] of [
      ["throws", () => {
        throw new Error("rollback failed");
      }],
      ["rejects", () => Promise.reject(new Error("rollback failed"))],
    ] as const
  ) {
    it(`closes an object whose reset ${label}`, async () => {
      const b = new Backend();
      const log = recordingLogger();
      const pool = new Pool({
        fun: b.fun,
        closer: b.closer,
        reset,
        logger: log,
      });
      const c = await pool.get();
      await pool.ret(c);
      assert.equal(c.closed, 1);
      const s = pool.stats();
      assert.equal(s.closedBy.reset, 1);
      assert.equal(s.nobjs, 1, "refilled to minSize");
      assert.match(log.at("error").join("\n"), /reset failed.*rollback failed/);
      const next = await pool.get();
      assert.notEqual(next, c);
      await pool.ret(next);
      await pool.shutdown();
    });
  }

  it("hands a waiter the object only after reset finished", async () => {
    await withClock(async (clock) => {
      const pool = new Pool({
        fun: (n) => ({ n, dirty: false }),
        maxSize: 1,
        reset: (o) =>
          new Promise<void>((r) =>
            setTimeout(() => {
              o.dirty = false;
              r();
            }, 100)
          ),
      });
      try {
        const o = await pool.get();
        o.dirty = true;
        const t = track(pool.get());
        void pool.ret(o);
        await clock.tickAsync(99);
        assert.equal(t.settled, false);
        await clock.tickAsync(1);
        assert.equal(t.value, o);
        assert.equal(o.dirty, false);
        void pool.ret(o);
        await clock.tickAsync(100);
      } finally {
        await shutdownOn(clock, pool);
      }
    });
  });
});

describe("resize()", () => {
  it("growing maxSize serves waiters at once", async () => {
    await withClock(async (clock) => {
      const pool = new Pool({ fun: (n) => ({ n }), maxSize: 1 });
      try {
        const held = await pool.get();
        const ts = [track(pool.get()), track(pool.get()), track(pool.get())];
        await flush();
        assert.ok(ts.every((t) => !t.settled));
        pool.resize({ maxSize: 4 });
        await flush();
        assert.ok(ts.every((t) => t.settled && !t.rejected));
        const s = pool.stats();
        assert.equal(s.nobjs, 4);
        assert.equal(s.config.maxSize, 4);
        pool.ret(held);
        for (const t of ts) pool.ret(t.value!);
      } finally {
        await shutdownOn(clock, pool);
      }
    });
  });

  it("growing minSize creates objects in advance", async () => {
    const pool = new Pool({ fun: (n) => ({ n }), minSize: 1 });
    pool.resize({ minSize: 4 });
    await flush();
    assert.equal(pool.stats().nobjs, 4);
    assert.equal(pool.stats().navail, 4);
    await pool.shutdown();
  });

  it("shrinking retires idle objects at once, then returned ones", async () => {
    await withClock(async (clock) => {
      const b = new Backend();
      const pool = new Pool({
        fun: b.fun,
        closer: b.closer,
        minSize: 0,
        maxSize: 4,
      });
      try {
        const objs = await Promise.all([1, 2, 3, 4].map(() => pool.get()));
        pool.ret(objs[0]);
        pool.ret(objs[1]);
        pool.resize({ maxSize: 1 });
        let s = pool.stats();
        assert.equal(s.navail, 0, "idle ones closed at once");
        assert.equal(s.nobjs, 2);
        assert.equal(s.closedBy.resized, 2);
        pool.ret(objs[2]);
        assert.equal(objs[2].closed, 1, "closed on return: still above");
        pool.ret(objs[3]);
        assert.equal(objs[3].closed, 0, "kept: within the new maxSize");
        s = pool.stats();
        assert.equal(s.nobjs, 1);
        assert.equal(s.navail, 1);
        assert.equal(s.closedBy.resized, 3);
        assert.equal(b.calls, 4);
      } finally {
        await shutdownOn(clock, pool);
      }
    });
  });

  it("shrinking then waiting: new creations respect the new maxSize", async () => {
    await withClock(async (clock) => {
      const b = new Backend();
      const pool = new Pool({ fun: b.fun, minSize: 0, maxSize: 3 });
      try {
        const objs = await Promise.all([1, 2, 3].map(() => pool.get()));
        pool.resize({ maxSize: 2 });
        const t = track(pool.get());
        pool.ret(objs[0]); // closed: 3 alive > 2
        await flush();
        assert.equal(t.settled, false);
        assert.equal(b.calls, 3, "no creation above maxSize");
        pool.ret(objs[1]);
        await flush();
        assert.equal(t.value, objs[1]);
        pool.ret(objs[1]);
        pool.ret(objs[2]);
      } finally {
        await shutdownOn(clock, pool);
      }
    });
  });

  it("after shutdown is refused with PoolError, and changes nothing", async () => {
    const b = new Backend();
    const pool = new Pool({ fun: b.fun, minSize: 1 });
    await pool.shutdown();
    assert.throws(
      () => pool.resize({ minSize: 5 }),
      (err) => err instanceof PoolError && /shut down/.test(err.message),
    );
    assert.equal(pool.stats().config.minSize, 1);
    assert.equal(b.calls, 1, "nothing created");
  });
});

describe("ready()", () => {
  it("without timeout, rejects when a creation fails while it waits", async () => {
    await withClock(async (clock) => {
      const b = new Backend();
      b.latency = 100;
      b.down = true;
      const pool = new Pool({ fun: b.fun, minSize: 2, logLevel: "off" });
      try {
        const r = track(pool.ready()); // before any failure
        await clock.tickAsync(0);
        assert.equal(r.settled, false);
        await clock.tickAsync(100);
        assert.ok(r.error instanceof CreationError, `got ${r.error}`);
        assert.equal((r.error as CreationError).cause, b.error);
      } finally {
        await shutdownOn(clock, pool);
      }
    });
  });

  it("keeps a timeout beyond what a timer holds", async () => {
    await withClock(async (clock) => {
      const b = new Backend();
      b.down = true;
      const pool = new Pool({
        fun: b.fun,
        minSize: 1,
        backoffMax: 2 ** 31 - 1,
        logLevel: "off",
      });
      try {
        const t = track(pool.ready({ timeout: 30 * 86_400_000 }));
        await clock.tickAsync(2 ** 31);
        assert.equal(t.settled, false, "not at the timer's limit");
        await clock.tickAsync(30 * 86_400_000 - 2 ** 31);
        assert.ok(t.error instanceof TimeoutError);
      } finally {
        await shutdownOn(clock, pool);
      }
    });
  });

  it("resolves once minSize objects exist", async () => {
    await withClock(async (clock) => {
      const b = new Backend();
      b.latency = 100;
      const pool = new Pool({ fun: b.fun, minSize: 3, maxCreating: 3 });
      try {
        const t = track(pool.ready());
        await clock.tickAsync(99);
        assert.equal(t.settled, false);
        await clock.tickAsync(1);
        assert.equal(t.settled, true);
        assert.equal(t.rejected, false);
        assert.equal(pool.stats().nobjs, 3);
        await pool.ready(); // at once now
      } finally {
        await shutdownOn(clock, pool);
      }
    });
  });

  it("resolves at once when minSize objects already exist", async () => {
    const pool = new Pool({ fun: (n) => ({ n }), minSize: 2 });
    let ok = false;
    void pool.ready().then(() => (ok = true));
    await Promise.resolve();
    assert.ok(ok);
    await pool.shutdown();
  });

  it("with a timeout, rejects with TimeoutError when not ready in time", async () => {
    await withClock(async (clock) => {
      const b = new Backend();
      b.latency = 1000;
      const pool = new Pool({ fun: b.fun, minSize: 2 });
      try {
        const t = track(pool.ready({ timeout: 500 }));
        await clock.tickAsync(499);
        assert.equal(t.settled, false);
        await clock.tickAsync(1);
        assert.ok(t.error instanceof TimeoutError);
        assert.equal((t.error as Error).cause, undefined);
        assert.match((t.error as Error).message, /0 of minSize 2/);
        await clock.tickAsync(500);
        await pool.ready({ timeout: 0 }); // ready now
      } finally {
        await shutdownOn(clock, pool);
      }
    });
  });

  it("rejects with the signal's reason when aborted", async () => {
    await withClock(async (clock) => {
      const b = new Backend();
      b.latency = 1000;
      const pool = new Pool({ fun: b.fun, minSize: 1 });
      try {
        const c = new AbortController();
        const t = track(pool.ready({ signal: c.signal, timeout: 5000 }));
        c.abort(new Error("stop"));
        await flush();
        assert.equal((t.error as Error).message, "stop");
        assert.equal(clock.countTimers(), 1, "only the creation's timer left");
        await assert.rejects(
          pool.ready({ signal: AbortSignal.abort(new Error("early")) }),
          /early/,
        );
      } finally {
        await shutdownOn(clock, pool);
      }
    });
  });

  it("rejects with PoolError after or during shutdown", async () => {
    await withClock(async (clock) => {
      const b = new Backend();
      b.latency = 100;
      const pool = new Pool({ fun: b.fun, minSize: 1 });
      const t = track(pool.ready());
      await shutdownOn(clock, pool);
      assert.ok(t.error instanceof PoolError);
      await assert.rejects(pool.ready(), PoolError);
    });
  });
});
