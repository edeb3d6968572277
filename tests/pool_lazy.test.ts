// Where background timers cannot start (Cloudflare workerd's global scope)
// or stop between requests, housekeeping and back-off still work: gets and
// returns run an overdue round, and a pause after failures ends lazily.
// Also: a long outage does not leave a waiter without retries.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { CreationError, Pool, TimeoutError } from "../mod.ts";
import { Backend, flush, withClock } from "./_helpers.ts";
import { shutdownOn, track } from "./_track.ts";

/** Runs `fn` where setInterval and setTimeout throw, as at workerd's top level. */
function withoutTimers<R>(fn: () => R): R {
  const g = globalThis as unknown as Record<string, unknown>;
  const saved = [g.setInterval, g.setTimeout];
  const refuse = () => {
    throw new Error("Disallowed operation called within global scope");
  };
  g.setInterval = refuse;
  g.setTimeout = refuse;
  try {
    return fn();
  } finally {
    [g.setInterval, g.setTimeout] = saved;
  }
}

describe("Pool: lazy housekeeping", () => {
  it("a return runs an overdue round, which recycles an idle object", async () => {
    await withClock(async (clock) => {
      const b = new Backend();
      const pool = withoutTimers(() =>
        new Pool({
          fun: b.fun,
          closer: b.closer,
          minSize: 0,
          maxAvailDelay: 100,
          logLevel: "off",
        })
      );
      try {
        const [x, y] = [await pool.get(), await pool.get()];
        pool.ret(x);
        await clock.tickAsync(300); // no timer runs a round meanwhile
        assert.equal(x.closed, 0);
        pool.ret(y); // no get since: the return runs the round
        assert.equal(x.closed, 1, "idle too long, recycled by the return");
        assert.equal(pool.stats().hkRounds, 1);
      } finally {
        await shutdownOn(clock, pool);
      }
    });
  });

  it("a get on a full pool runs an overdue round, which kills an object held too long", async () => {
    await withClock(async (clock) => {
      const b = new Backend();
      const pool = withoutTimers(() =>
        new Pool({
          fun: b.fun,
          closer: b.closer,
          minSize: 1,
          maxSize: 1,
          maxUsingDelayKill: 50,
          logLevel: "off",
        })
      );
      try {
        const leaked = await pool.get();
        await clock.tickAsync(200); // no timer runs a round meanwhile
        assert.equal(leaked.closed, 0);
        const t = track(pool.get({ timeout: 300 }));
        await flush();
        assert.equal(leaked.closed, 1, "the leak was killed by the get");
        assert.equal(t.value?.n, 1);
        pool.ret(t.value!);
      } finally {
        await shutdownOn(clock, pool);
      }
    });
  });

  it("can be created where timers are refused, and housekeeps on gets and returns", async () => {
    await withClock(async (clock) => {
      const b = new Backend();
      const pool = withoutTimers(() =>
        new Pool({
          fun: b.fun,
          closer: b.closer,
          minSize: 1,
          maxAvailDelay: 100,
          logLevel: "off",
        })
      );
      try {
        const objs = await Promise.all([pool.get(), pool.get(), pool.get()]);
        for (const o of objs) pool.ret(o);
        assert.equal(pool.stats().nobjs, 3);
        // no timer runs rounds: time passes, nothing happens by itself
        await clock.tickAsync(1000);
        assert.equal(pool.stats().hkRounds, 0);
        // the next get finds a round overdue and runs it
        const o = await pool.get();
        assert.equal(pool.stats().hkRounds, 1);
        assert.equal(
          pool.stats().nrecycled,
          2,
          "idle objects above minSize recycled",
        );
        pool.ret(o);
        assert.equal(pool.stats().nobjs, 1);
      } finally {
        await shutdownOn(clock, pool);
      }
    });
  });

  it("runs an overdue round when its timer stopped firing", async () => {
    await withClock(async (clock) => {
      const b = new Backend();
      const pool = new Pool({
        fun: b.fun,
        minSize: 0,
        maxAvailDelay: 100,
        delay: 50,
      });
      try {
        const o = await pool.get();
        pool.ret(o);
        // the interval is gone (as when workerd ends the creating request)
        clock.reset();
        clock.setSystemTime(0);
        await clock.tickAsync(500);
        assert.equal(pool.stats().hkRounds, 0);
        const p = await pool.get();
        pool.ret(p);
        assert.ok(pool.stats().hkRounds >= 1);
      } finally {
        await shutdownOn(clock, pool);
      }
    });
  });

  it("ends a pause after failures lazily when no timer could be set", async () => {
    await withClock(async (clock) => {
      const b = new Backend();
      b.down = true;
      const pool = withoutTimers(() =>
        new Pool({ fun: b.fun, minSize: 1, logLevel: "off" })
      );
      try {
        assert.equal(pool.stats().ncreateErrors, 1);
        await clock.tickAsync(10_000);
        assert.equal(b.calls, 1, "no busy loop without a timer");
        b.down = false;
        const o = await pool.get({ timeout: 100 });
        assert.equal(o.n, 1);
        pool.ret(o);
      } finally {
        await shutdownOn(clock, pool);
      }
    });
  });
});

describe("Pool: retries during a long outage", () => {
  it("serves a waiter that arrives after the pause grew long, once the backend is back", async () => {
    await withClock(async (clock) => {
      const b = new Backend();
      b.down = true;
      const pool = new Pool({ fun: b.fun, minSize: 1, logLevel: "off" });
      try {
        await clock.tickAsync(60_000); // the pause grows to backoffMax (5 s)
        const callsDuringOutage = b.calls;
        assert.ok(
          callsDuringOutage < 40,
          `${callsDuringOutage} attempts in 60 s`,
        );
        b.down = false;
        const t0 = Date.now();
        const got = track(pool.get({ timeout: 1000 }));
        await clock.tickAsync(1000);
        assert.ok(
          got.settled && !got.rejected,
          "served before its 1 s timeout",
        );
        assert.ok(Date.now() - t0 <= 1000);
        pool.ret(got.value!);
      } finally {
        await shutdownOn(clock, pool);
      }
    });
  });

  it("times out with the cause after a few retries when the backend stays down", async () => {
    await withClock(async (clock) => {
      const b = new Backend();
      b.down = true;
      const pool = new Pool({ fun: b.fun, minSize: 0, logLevel: "off" });
      try {
        const got = track(pool.get({ timeout: 2000 }));
        await clock.tickAsync(2000);
        assert.ok(got.rejected);
        assert.ok(got.error instanceof TimeoutError);
        assert.equal((got.error as TimeoutError).cause, b.error);
        assert.ok(b.calls >= 3 && b.calls <= 20, `${b.calls} attempts`);
      } finally {
        await shutdownOn(clock, pool);
      }
    });
  });
});

describe("Pool: edge arguments", () => {
  it("refuses ret(obj, null), leaving the object lent; a plain ret then works", async () => {
    const pool = new Pool({ fun: (n: number) => ({ n }) });
    const o = await pool.get();
    assert.throws(() => pool.ret(o, null as never), TypeError);
    assert.equal(pool.stats().nusing, 1);
    pool.ret(o);
    assert.equal(pool.stats().navail, 1);
    await pool.shutdown();
  });

  it("rejects ready() without timeout at once while creations fail", async () => {
    const b = new Backend();
    b.down = true;
    const pool = new Pool({ fun: b.fun, minSize: 2, logLevel: "off" });
    const err = await pool.ready().catch((e) => e);
    assert.ok(err instanceof CreationError);
    assert.equal(err.cause, b.error);
    await flush();
    await pool.shutdown();
  });
});
