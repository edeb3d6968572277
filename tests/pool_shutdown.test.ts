// shutdown(): refuses waiters and later gets, closes every object exactly
// once (idle, lent, being created), awaits closers within its limit, and
// leaves no timer behind. With `await using`: tests/await_using.test.ts.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Pool, PoolError, TimeoutError } from "../mod.ts";
import { Backend, flush, recordingLogger, withClock } from "./_helpers.ts";
import { shutdownOn, spiedSignal, track } from "./_track.ts";

describe("Shutdown: waiters and later gets", () => {
  it("rejects pending waiters with PoolError, timed or not, and removes their listeners", async () => {
    await withClock(async (clock) => {
      const pool = new Pool({ fun: (n) => ({ n }), maxSize: 1, name: "db" });
      const held = await pool.get();
      const spy = spiedSignal();
      const ws = [
        track(pool.get()),
        track(pool.get({ timeout: 10_000 })),
        track(pool.get({ signal: spy.signal })),
      ];
      assert.equal(clock.countTimers(), 1);
      const done = track(pool.shutdown());
      await flush();
      for (const w of ws) {
        assert.ok(w.error instanceof PoolError, String(w.error));
        assert.ok(!(w.error instanceof TimeoutError));
        assert.match((w.error as Error).message, /db was shut down/);
      }
      assert.equal(spy.removed, 1);
      assert.equal(pool.stats().nwaiting, 0);
      assert.equal(done.settled, false, "waits for the lent object");
      pool.ret(held);
      await flush();
      assert.equal(done.settled, true);
      assert.equal(clock.countTimers(), 0);
    });
  });

  it("refuses later gets, use() and lease() with PoolError, even during shutdown", async () => {
    const pool = new Pool({ fun: (n) => ({ n }), minSize: 2 });
    const held = await pool.get();
    const stopping = pool.shutdown();
    const err = await pool.get().catch((e) => e);
    assert.ok(err instanceof PoolError);
    assert.match(err.message, /shut down/);
    await assert.rejects(pool.get({ timeout: 5 }), PoolError);
    await assert.rejects(pool.use(() => 1), PoolError);
    await assert.rejects(pool.lease(), PoolError);
    pool.ret(held);
    await stopping;
    await assert.rejects(pool.get(), PoolError);
    assert.equal(pool.stats().shutdown, true);
  });
});

describe("Shutdown: closing objects", () => {
  it("closes idle objects at once, lent ones when they come back, each exactly once", async () => {
    const b = new Backend();
    const log = recordingLogger();
    const pool = new Pool({
      fun: b.fun,
      closer: b.closer,
      minSize: 3,
      logger: log,
    });
    const lent = await pool.get();
    const t = track(pool.shutdown());
    await flush();
    assert.deepEqual(b.created.map((c) => c.closed), [1, 1, 0]);
    assert.equal(t.settled, false);
    pool.ret(lent);
    await flush();
    assert.equal(t.settled, true);
    assert.deepEqual(b.created.map((c) => c.closed), [1, 1, 1]);
    assert.equal(pool.stats().closedBy.shutdown, 3);
    assert.equal(pool.stats().ndestroys, 3);
    assert.equal(pool.stats().nobjs, 0);
    pool.ret(lent); // too late: ignored, not closed again
    assert.equal(lent.closed, 1);
    assert.match(log.at("warn").join("\n"), /the pool is shut down/);
  });

  it("an object given back during shutdown leaves nusing at 0", async () => {
    const b = new Backend();
    const pool = new Pool({ fun: b.fun, closer: b.closer, minSize: 1 });
    const a = await pool.get();
    const done = pool.shutdown({ timeout: 1000 });
    pool.ret(a);
    await done;
    const s = pool.stats();
    assert.equal(s.nusing, 0);
    assert.equal(s.nbusy, 0);
    assert.equal(a.closed, 1);
  });

  it("closes objects not given back within the timeout anyway, with a warning", async () => {
    await withClock(async (clock) => {
      const b = new Backend();
      const log = recordingLogger();
      const pool = new Pool({
        fun: b.fun,
        closer: b.closer,
        minSize: 0,
        shutdownTimeout: 1000,
        tracer: (c) => `conn-${c.n}`,
        logger: log,
      });
      const [x, y] = await Promise.all([pool.get(), pool.get()]);
      const t = track(pool.shutdown());
      await clock.tickAsync(999);
      assert.equal(t.settled, false);
      assert.equal(x.closed + y.closed, 0);
      await clock.tickAsync(1);
      assert.equal(t.settled, true);
      assert.deepEqual([x.closed, y.closed], [1, 1]);
      const w = log.at("warn").join("\n");
      assert.match(w, /2 objects not given back within 1000 ms/);
      assert.match(w, /conn-0/);
      assert.match(w, /conn-1/);
      pool.ret(x);
      assert.equal(x.closed, 1, "a late return does not close again");
      assert.equal(clock.countTimers(), 0);
    });
  });

  it("a shutdown timeout beyond what a timer holds still waits for lent objects", async () => {
    await withClock(async (clock) => {
      const b = new Backend();
      const pool = new Pool({ fun: b.fun, closer: b.closer, minSize: 0 });
      const lent = await pool.get();
      const t = track(pool.shutdown({ timeout: 30 * 86_400_000 }));
      await clock.tickAsync(50);
      assert.equal(t.settled, false);
      assert.equal(lent.closed, 0, "not force-closed");
      pool.ret(lent);
      await clock.tickAsync(0);
      assert.equal(t.settled, true);
      assert.equal(lent.closed, 1);
    });
  });

  it("shutdown({ timeout }) overrides shutdownTimeout", async () => {
    await withClock(async (clock) => {
      const pool = new Pool({ fun: (n) => ({ n }), logLevel: "off" });
      const held = await pool.get();
      const t = track(pool.shutdown({ timeout: 50 }));
      await clock.tickAsync(50);
      assert.equal(t.settled, true);
      pool.ret(held);
    });
  });

  it("closes creations in flight when they land, and waits for them", async () => {
    await withClock(async (clock) => {
      const b = new Backend();
      b.latency = 300;
      const pool = new Pool({
        fun: b.fun,
        closer: b.closer,
        minSize: 2,
        logLevel: "off",
      });
      assert.equal(pool.stats().creating, 2);
      const t = track(pool.shutdown());
      await clock.tickAsync(299);
      assert.equal(t.settled, false);
      await clock.tickAsync(1);
      assert.equal(t.settled, true);
      assert.equal(b.created.length, 2);
      assert.deepEqual(b.created.map((c) => c.closed), [1, 1]);
      const s = pool.stats();
      assert.equal(s.closedBy.late, 2);
      assert.equal(s.nobjs, 0);
      assert.equal(s.creating, 0);
      assert.equal(clock.countTimers(), 0);
    });
  });

  it("closes a creation that lands after the shutdown timeout", async () => {
    await withClock(async (clock) => {
      const b = new Backend();
      b.latency = 5000;
      const log = recordingLogger();
      const pool = new Pool({
        fun: b.fun,
        closer: b.closer,
        minSize: 1,
        shutdownTimeout: 100,
        logger: log,
      });
      const t = track(pool.shutdown());
      await clock.tickAsync(100);
      assert.equal(t.settled, true);
      assert.match(log.at("warn").join("\n"), /1 creations still running/);
      await clock.tickAsync(4900);
      assert.equal(b.created.length, 1);
      assert.equal(b.created[0].closed, 1, "closed when it landed");
      assert.equal(pool.stats().closedBy.late, 1);
    });
  });

  it("awaits async closers", async () => {
    await withClock(async (clock) => {
      const closed: number[] = [];
      const pool = new Pool({
        fun: (n) => ({ n }),
        minSize: 3,
        closer: (o) =>
          new Promise<void>((r) =>
            setTimeout(() => {
              closed.push(o.n);
              r();
            }, 100 * (o.n + 1))
          ),
      });
      const t = track(pool.shutdown());
      await clock.tickAsync(299);
      assert.equal(t.settled, false);
      assert.deepEqual(closed, [0, 1]);
      await clock.tickAsync(1);
      assert.equal(t.settled, true);
      assert.deepEqual(closed, [0, 1, 2]);
      assert.equal(clock.countTimers(), 0);
    });
  });

  it("awaits closers of objects destroyed before shutdown", async () => {
    await withClock(async (clock) => {
      let closing = 0;
      const pool = new Pool({
        fun: (n) => ({ n }),
        closer: () =>
          new Promise<void>((r) => {
            closing++;
            setTimeout(() => {
              closing--;
              r();
            }, 500);
          }),
      });
      pool.ret(await pool.get(), { broken: true });
      assert.equal(closing, 1);
      const t = track(pool.shutdown());
      await clock.tickAsync(499);
      assert.equal(t.settled, false);
      await clock.tickAsync(1);
      assert.equal(t.settled, true);
      assert.equal(closing, 0);
    });
  });

  it("a hanging closer: shutdown still ends within its limits and logs it", async () => {
    await withClock(async (clock) => {
      const log = recordingLogger();
      const pool = new Pool({
        fun: (n) => ({ n }),
        minSize: 2,
        closer: (o) => (o.n === 0 ? new Promise<void>(() => {}) : undefined),
        shutdownTimeout: 1000,
        logger: log,
      });
      const t = track(pool.shutdown());
      await clock.tickAsync(999);
      assert.equal(t.settled, false);
      await clock.tickAsync(1);
      assert.equal(t.settled, true);
      assert.equal(t.rejected, false);
      assert.match(
        log.at("warn").join("\n"),
        /abandoned 1 of 1 closers still running after 1000 ms/,
      );
      assert.equal(clock.countTimers(), 0);
    });
  });

  it("with lent objects and hanging closers, ends by twice its timeout", async () => {
    await withClock(async (clock) => {
      const pool = new Pool({
        fun: (n) => ({ n }),
        closer: () => new Promise<void>(() => {}),
        logLevel: "off",
      });
      const held = await pool.get();
      const t = track(pool.shutdown({ timeout: 300 }));
      await clock.tickAsync(600);
      assert.equal(t.settled, true);
      pool.ret(held);
    });
  });

  it("logs a closer that throws and goes on closing the others", async () => {
    const log = recordingLogger();
    const closed: number[] = [];
    const pool = new Pool({
      fun: (n) => ({ n }),
      minSize: 3,
      closer: (o) => {
        if (o.n === 1) throw new Error("close failed");
        closed.push(o.n);
      },
      logger: log,
    });
    await pool.shutdown();
    assert.deepEqual(closed.toSorted(), [0, 2]);
    assert.match(log.at("error").join("\n"), /closer threw.*close failed/);
    assert.equal(pool.stats().ndestroys, 3);
  });

  it("an object under a health check at shutdown is closed once, when the check ends", async () => {
    await withClock(async (clock) => {
      const b = new Backend();
      const pool = new Pool({
        fun: b.fun,
        closer: b.closer,
        delay: 100,
        health: () =>
          new Promise<boolean>((r) => setTimeout(() => r(true), 50)),
      });
      await clock.tickAsync(100);
      assert.equal(pool.stats().nbusy, 1);
      const t = track(pool.shutdown());
      await clock.tickAsync(49);
      assert.equal(t.settled, false);
      await clock.tickAsync(1);
      assert.equal(t.settled, true);
      assert.equal(b.created.length, 1);
      assert.equal(b.created[0].closed, 1);
      assert.equal(pool.stats().closedBy.shutdown, 1);
      assert.equal(clock.countTimers(), 0);
    });
  });
});

describe("Shutdown: waiters in the middle of being served", () => {
  it("rejects a waiter whose object was failing its check when shutdown began", async () => {
    await withClock(async (clock) => {
      const b = new Backend();
      const pool = new Pool({
        fun: b.fun,
        closer: b.closer,
        maxSize: 1,
        checkBypass: 0,
        check: () =>
          new Promise<boolean>((r) => setTimeout(() => r(false), 100)),
        logLevel: "off",
      });
      await pool.ready();
      const t = track(pool.get());
      await clock.tickAsync(50);
      const done = track(pool.shutdown());
      await clock.tickAsync(50);
      assert.ok(t.error instanceof PoolError, `got ${t.error ?? t.value}`);
      assert.equal(done.settled, true);
      assert.equal(b.created.length, 1, "nothing created after shutdown");
      assert.equal(b.created[0].closed, 1);
      assert.equal(clock.countTimers(), 0);
    });
  });

  it("a waiter whose object passes its check after shutdown began gets PoolError, and the object is closed", async () => {
    await withClock(async (clock) => {
      const b = new Backend();
      const pool = new Pool({
        fun: b.fun,
        closer: b.closer,
        checkBypass: 0,
        check: () =>
          new Promise<boolean>((r) => setTimeout(() => r(true), 100)),
      });
      await pool.ready();
      const t = track(pool.get({ timeout: 10_000 }));
      await clock.tickAsync(50);
      const done = track(pool.shutdown());
      await clock.tickAsync(50);
      assert.ok(t.error instanceof PoolError, `got ${t.error ?? t.value}`);
      assert.equal(done.settled, true);
      assert.equal(b.created[0].closed, 1);
      assert.equal(clock.countTimers(), 0);
    });
  });

  it("a waiter whose async getter is running when the object is closed at shutdown is rejected", async () => {
    await withClock(async (clock) => {
      const b = new Backend();
      const pool = new Pool({
        fun: b.fun,
        closer: b.closer,
        getter: () => new Promise<void>((r) => setTimeout(r, 1000)),
        shutdownTimeout: 100,
        logLevel: "off",
      });
      await pool.ready();
      const t = track(pool.get());
      await clock.tickAsync(10);
      const done = track(pool.shutdown());
      await clock.tickAsync(100);
      assert.equal(done.settled, true);
      assert.equal(b.created[0].closed, 1);
      await clock.tickAsync(1000);
      assert.ok(t.error instanceof PoolError, `got ${t.error ?? t.value}`);
      assert.equal(clock.countTimers(), 0);
    });
  });
});

describe("Shutdown: waiters whose getter runs at shutdown", () => {
  function slowGetterPool(b: Backend) {
    return new Pool({
      fun: b.fun,
      closer: b.closer,
      getter: () => new Promise<void>((r) => setTimeout(r, 100)),
      logLevel: "off",
    });
  }

  it("refuses the waiter at once when shutdown begins during its getter", async () => {
    await withClock(async (clock) => {
      const b = new Backend();
      const pool = slowGetterPool(b);
      await pool.ready();
      const t = track(pool.get());
      await clock.tickAsync(10);
      const done = track(pool.shutdown());
      await clock.tickAsync(0);
      // refused at once, as the queued waiters are, without waiting for the
      // getter; shutdown itself waits for the object
      assert.ok(t.error instanceof PoolError, `got ${t.error ?? t.value}`);
      await clock.tickAsync(89);
      assert.equal(done.settled, false);
      await clock.tickAsync(1);
      assert.equal(done.settled, true);
      assert.equal(b.created[0].closed, 1);
      const s = pool.stats();
      assert.equal(s.nusing, 0);
      assert.equal(s.nobjs, 0);
      assert.equal(s.closedBy.shutdown, 1);
    });
  });

  it("keeps the counts right when the waiter also aborted meanwhile", async () => {
    await withClock(async (clock) => {
      const b = new Backend();
      const pool = slowGetterPool(b);
      await pool.ready();
      const c = new AbortController();
      const t = track(pool.get({ signal: c.signal }));
      await clock.tickAsync(10);
      c.abort(new Error("gone"));
      const done = track(pool.shutdown());
      await clock.tickAsync(90);
      assert.equal((t.error as Error).message, "gone");
      assert.equal(done.settled, true);
      assert.equal(b.created[0].closed, 1);
      const s = pool.stats();
      assert.equal(s.nusing, 0, "not counted out twice");
      assert.equal(s.ndestroys, 1);
    });
  });
});

describe("Shutdown: idempotence, disposal, timers", () => {
  it("returns the same promise when called twice", async () => {
    const pool = new Pool({ fun: (n) => ({ n }) });
    const a = pool.shutdown();
    const b = pool.shutdown();
    const c = pool[Symbol.asyncDispose]();
    assert.equal(a, b);
    assert.equal(a, c);
    await a;
    assert.equal(pool.shutdown(), a);
  });

  it("closes each object once even when shutdown is called again", async () => {
    const b = new Backend();
    const pool = new Pool({ fun: b.fun, closer: b.closer, minSize: 2 });
    await Promise.all([pool.shutdown(), pool.shutdown()]);
    await pool.shutdown();
    assert.deepEqual(b.created.map((c) => c.closed), [1, 1]);
  });

  it("leaves no timer behind: housekeeping, waiters, ready, back-off, creations", async () => {
    await withClock(async (clock) => {
      const b = new Backend();
      b.latency = 200;
      const pool = new Pool({
        fun: b.fun,
        closer: b.closer,
        minSize: 2,
        maxSize: 3,
        maxAvailDelay: 1000,
        maxUsingDelayKill: 5000,
        createTimeout: 1000,
        health: () => true,
        logLevel: "off",
      });
      const ready = track(pool.ready({ timeout: 10_000 }));
      const ws = [track(pool.get({ timeout: 5000 })), track(pool.get())];
      assert.ok(clock.countTimers() >= 5, String(clock.countTimers()));
      await clock.tickAsync(10);
      await shutdownOn(clock, pool);
      assert.equal(clock.countTimers(), 0);
      assert.ok(ready.error instanceof PoolError);
      for (const w of ws) assert.ok(w.error instanceof PoolError);
      assert.equal(b.open, 0, "every created object was closed");
    });
  });

  it("leaves no timer behind while the backend is down (back-off)", async () => {
    await withClock(async (clock) => {
      const b = new Backend();
      b.down = true;
      const pool = new Pool({
        fun: b.fun,
        minSize: 2,
        delay: 1000,
        logLevel: "off",
      });
      const w = track(pool.get({ timeout: 60_000 }));
      await clock.tickAsync(3000);
      assert.ok(b.calls > 1, "retried");
      assert.ok(clock.countTimers() >= 3);
      await pool.shutdown();
      assert.equal(clock.countTimers(), 0);
      const calls = b.calls;
      await clock.tickAsync(60_000);
      assert.equal(b.calls, calls, "no retry after shutdown");
      assert.ok(w.error instanceof PoolError);
    });
  });

  it("leaves no timer behind when a health check hangs past the shutdown timeout", async () => {
    await withClock(async (clock) => {
      const b = new Backend();
      const pool = new Pool({
        fun: b.fun,
        closer: b.closer,
        delay: 100,
        healthTimeout: 10_000,
        shutdownTimeout: 200,
        health: () => new Promise<boolean>(() => {}),
        logLevel: "off",
      });
      await clock.tickAsync(100);
      await shutdownOn(clock, pool);
      assert.equal(b.created[0].closed, 1);
      assert.equal(clock.countTimers(), 0);
    });
  });

  it("leaves no timer behind when a creation hangs past the shutdown timeout", async () => {
    await withClock(async (clock) => {
      const pool = new Pool({
        fun: () => new Promise<{ n: number }>(() => {}),
        createTimeout: 10_000,
        shutdownTimeout: 200,
        logLevel: "off",
      });
      await shutdownOn(clock, pool);
      assert.equal(clock.countTimers(), 0);
    });
  });
});
