// Waiting in get(): timeouts, abort signals, FIFO order, creations that land
// after their waiter left, maxSize and maxCreating, maxWaiting, large
// queues, and the fast path that creates no timer and no listener.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  OverloadError,
  Pool,
  PoolError,
  ProxyPatternPoolError,
  TimeoutError,
} from "../mod.ts";
import {
  Backend,
  type Conn,
  flush,
  recordingLogger,
  withClock,
} from "./_helpers.ts";
import { shutdownOn, spiedSignal, track } from "./_track.ts";

const fun = (n: number) => ({ n });

describe("Pool wait: timeouts", () => {
  it("rejects at the pool's timeout with TimeoutError, not before", async () => {
    await withClock(async (clock) => {
      const pool = new Pool({ fun, maxSize: 1, timeout: 100, name: "tp" });
      try {
        const held = await pool.get();
        const t = track(pool.get());
        await clock.tickAsync(99);
        assert.equal(t.settled, false);
        assert.equal(pool.stats().nwaiting, 1);
        await clock.tickAsync(1);
        assert.ok(t.rejected);
        const err = t.error as Error;
        assert.ok(err instanceof TimeoutError);
        assert.ok(err instanceof PoolError);
        assert.ok(err instanceof ProxyPatternPoolError);
        assert.equal(err.name, "TimeoutError");
        assert.equal(err.cause, undefined, "no creation failed");
        assert.match(err.message, /100 ms/);
        assert.match(err.message, /pool tp/);
        const s = pool.stats();
        assert.equal(s.nwaiting, 0);
        assert.equal(s.ntimeouts, 1);
        pool.ret(held);
      } finally {
        await shutdownOn(clock, pool);
      }
    });
  });

  it("lets get's own timeout override the pool's, shorter or longer", async () => {
    await withClock(async (clock) => {
      const pool = new Pool({ fun, maxSize: 1, timeout: 100 });
      try {
        const held = await pool.get();
        const short = track(pool.get({ timeout: 30 }));
        const long = track(pool.get({ timeout: 1000 }));
        const forever = track(pool.get({ timeout: Infinity }));
        await clock.tickAsync(30);
        assert.ok(short.error instanceof TimeoutError);
        assert.equal(long.settled, false);
        await clock.tickAsync(970);
        assert.ok(long.error instanceof TimeoutError);
        assert.equal(forever.settled, false);
        await clock.tickAsync(100_000);
        assert.equal(forever.settled, false, "Infinity waits forever");
        pool.ret(held);
        await flush();
        assert.equal(forever.value, held);
        pool.ret(held);
      } finally {
        await shutdownOn(clock, pool);
      }
    });
  });

  it("a timeout of 0 gives up at once when nothing is idle, and lends an idle object", async () => {
    await withClock(async (clock) => {
      const pool = new Pool({ fun, maxSize: 1 });
      try {
        const held = await pool.get({ timeout: 0 });
        const t = track(pool.get({ timeout: 0 }));
        await clock.tickAsync(0);
        assert.ok(t.error instanceof TimeoutError);
        pool.ret(held);
      } finally {
        await shutdownOn(clock, pool);
      }
    });
  });

  it("a timed-out waiter never receives an object later; the object stays in the pool", async () => {
    await withClock(async (clock) => {
      const pool = new Pool({ fun, maxSize: 1 });
      try {
        const held = await pool.get();
        const t = track(pool.get({ timeout: 50 }));
        await clock.tickAsync(50);
        assert.ok(t.rejected);
        pool.ret(held);
        await flush();
        const s = pool.stats();
        assert.equal(s.navail, 1);
        assert.equal(s.nusing, 0);
        assert.equal(s.nuses, 1);
        assert.equal(await pool.get(), held);
        pool.ret(held);
      } finally {
        await shutdownOn(clock, pool);
      }
    });
  });

  it("clears the timer of a waiter that is served", async () => {
    await withClock(async (clock) => {
      const pool = new Pool({ fun, maxSize: 1 });
      try {
        const held = await pool.get();
        assert.equal(clock.countTimers(), 0);
        const p = pool.get({ timeout: 1000 });
        assert.equal(clock.countTimers(), 1);
        pool.ret(held);
        assert.equal(await p, held);
        assert.equal(clock.countTimers(), 0);
        await clock.tickAsync(2000);
        assert.equal(pool.stats().ntimeouts, 0);
        pool.ret(held);
      } finally {
        await shutdownOn(clock, pool);
      }
    });
  });

  it("counts waits, and times them with timeWaits, on the virtual clock", async () => {
    await withClock(async (clock) => {
      const pool = new Pool({ fun, maxSize: 1, timeWaits: true });
      try {
        const held = await pool.get();
        const p = pool.get();
        await clock.tickAsync(300);
        pool.ret(held);
        await p;
        const s = pool.stats();
        assert.equal(s.nwaits, 1);
        assert.equal(s.waitMax, 300);
        assert.equal(s.waitTime, 300);
        pool.ret(held);
      } finally {
        await shutdownOn(clock, pool);
      }
    });
  });

  it("counts waits but leaves wait times null without timeWaits", async () => {
    await withClock(async (clock) => {
      const pool = new Pool({ fun, maxSize: 1 });
      try {
        const held = await pool.get();
        const p = pool.get({ timeout: 1000 });
        await clock.tickAsync(300);
        pool.ret(held);
        pool.ret(await p);
        const s = pool.stats();
        assert.equal(s.nwaits, 1);
        assert.equal(s.waitTime, null);
        assert.equal(s.waitMax, null);
        assert.equal(JSON.parse(String(pool)).waitMax, null);
      } finally {
        await shutdownOn(clock, pool);
      }
    });
  });
});

describe("Pool wait: abort signals", () => {
  it("rejects with the signal's reason and leaves the queue at once", async () => {
    const pool = new Pool({ fun, maxSize: 1 });
    const held = await pool.get();
    const c = new AbortController();
    const t = track(pool.get({ signal: c.signal }));
    assert.equal(pool.stats().nwaiting, 1);
    const reason = new Error("client went away");
    c.abort(reason);
    assert.equal(pool.stats().nwaiting, 0, "left the queue synchronously");
    await flush();
    assert.equal(t.error, reason);
    assert.equal(pool.stats().naborts, 1);
    pool.ret(held);
    assert.equal(pool.stats().navail, 1, "the aborted waiter got nothing");
    assert.equal(pool.stats().nuses, 1);
    await pool.shutdown();
  });

  it("rejects with the default AbortError when abort() has no reason", async () => {
    const pool = new Pool({ fun, maxSize: 1 });
    const held = await pool.get();
    const c = new AbortController();
    const p = pool.get({ signal: c.signal });
    c.abort();
    await assert.rejects(p, (err: Error) => err.name === "AbortError");
    pool.ret(held);
    await pool.shutdown();
  });

  it("passes an AbortSignal.timeout-like reason through untouched", async () => {
    const pool = new Pool({ fun, maxSize: 1 });
    const held = await pool.get();
    const c = new AbortController();
    const reason = new DOMException("signal timed out", "TimeoutError");
    const p = pool.get({ signal: c.signal, timeout: 60_000 });
    c.abort(reason);
    const err = await p.catch((e) => e);
    assert.equal(err, reason);
    assert.ok(!(err instanceof TimeoutError), "not the pool's own timeout");
    assert.equal(pool.stats().naborts, 1);
    assert.equal(pool.stats().ntimeouts, 0);
    pool.ret(held);
    await pool.shutdown();
  });

  it("works with a real AbortSignal.timeout", async () => {
    const pool = new Pool({ fun, maxSize: 1 });
    const held = await pool.get();
    const err = await pool.get({ signal: AbortSignal.timeout(1) }).catch((
      e,
    ) => e);
    assert.equal(err.name, "TimeoutError");
    assert.equal(pool.stats().nwaiting, 0);
    pool.ret(held);
    await pool.shutdown();
  });

  it("rejects at once for an already aborted signal, even with an idle object", async () => {
    const pool = new Pool({ fun, minSize: 1 });
    const reason = new Error("too late");
    const err = await pool.get({ signal: AbortSignal.abort(reason) }).catch((
      e,
    ) => e);
    assert.equal(err, reason);
    const s = pool.stats();
    assert.equal(s.navail, 1, "no object consumed");
    assert.equal(s.nuses, 0);
    assert.equal(s.naborts, 1);
    await pool.shutdown();
  });

  it("removes its listener when served, and a later abort changes nothing", async () => {
    const pool = new Pool({ fun, maxSize: 1 });
    const held = await pool.get();
    const spy = spiedSignal();
    const p = pool.get({ signal: spy.signal });
    assert.equal(spy.added, 1);
    pool.ret(held);
    assert.equal(await p, held);
    assert.equal(spy.removed, 1);
    spy.controller.abort();
    assert.equal(pool.stats().nusing, 1);
    assert.equal(pool.stats().naborts, 0);
    pool.ret(held);
    await pool.shutdown();
  });

  it("removes its listener when timed out; a later abort is not counted", async () => {
    await withClock(async (clock) => {
      const pool = new Pool({ fun, maxSize: 1 });
      try {
        const held = await pool.get();
        const spy = spiedSignal();
        const t = track(pool.get({ signal: spy.signal, timeout: 10 }));
        await clock.tickAsync(10);
        assert.ok(t.error instanceof TimeoutError);
        assert.equal(spy.removed, 1);
        spy.controller.abort();
        const s = pool.stats();
        assert.equal(s.naborts, 0);
        assert.equal(s.ntimeouts, 1);
        pool.ret(held);
      } finally {
        await shutdownOn(clock, pool);
      }
    });
  });

  it("an abort clears the waiter's timer", async () => {
    await withClock(async (clock) => {
      const pool = new Pool({ fun, maxSize: 1 });
      try {
        const held = await pool.get();
        const c = new AbortController();
        const t = track(pool.get({ signal: c.signal, timeout: 1000 }));
        assert.equal(clock.countTimers(), 1);
        c.abort();
        assert.equal(clock.countTimers(), 0);
        await flush();
        assert.equal(t.rejected, true);
        pool.ret(held);
      } finally {
        await shutdownOn(clock, pool);
      }
    });
  });

  it("an abort during an async getter gives the object back to the pool", async () => {
    await withClock(async (clock) => {
      const pool = new Pool({
        fun,
        getter: () => new Promise<void>((r) => setTimeout(r, 100)),
      });
      try {
        await pool.ready();
        const c = new AbortController();
        const t = track(pool.get({ signal: c.signal }));
        await clock.tickAsync(50);
        c.abort(new Error("gone"));
        await flush();
        assert.equal((t.error as Error).message, "gone");
        await clock.tickAsync(50);
        const s = pool.stats();
        assert.equal(s.navail, 1);
        assert.equal(s.nusing, 0);
        assert.equal(s.nobjs, 1);
      } finally {
        await shutdownOn(clock, pool);
      }
    });
  });

  it("an abort during a check gives the object back to the pool", async () => {
    await withClock(async (clock) => {
      let checks = 0;
      const pool = new Pool({
        fun,
        checkBypass: 0,
        check: () => {
          checks++;
          return new Promise<boolean>((r) => setTimeout(() => r(true), 100));
        },
      });
      try {
        const c = new AbortController();
        const t = track(pool.get({ signal: c.signal }));
        await clock.tickAsync(50);
        c.abort();
        await clock.tickAsync(50);
        assert.ok(t.rejected);
        assert.equal(checks, 1);
        const s = pool.stats();
        assert.equal(s.navail, 1);
        assert.equal(s.nusing, 0);
        assert.equal(s.ndestroys, 0);
      } finally {
        await shutdownOn(clock, pool);
      }
    });
  });
});

describe("Pool wait: first come, first served", () => {
  it("serves timed and untimed waiters in arrival order", async () => {
    await withClock(async (clock) => {
      const pool = new Pool({ fun, maxSize: 1 });
      try {
        const held = await pool.get();
        const order: string[] = [];
        const plan: [string, number | undefined][] = [
          ["a", undefined],
          ["b", 1000],
          ["c", undefined],
          ["d", 5000],
          ["e", 2000],
          ["f", undefined],
        ];
        const all = plan.map(([id, timeout]) =>
          pool.get(timeout === undefined ? undefined : { timeout }).then(
            (o) => {
              order.push(id);
              setTimeout(() => pool.ret(o), 10);
            },
          )
        );
        pool.ret(held);
        await clock.tickAsync(100);
        await Promise.all(all);
        assert.deepEqual(order, ["a", "b", "c", "d", "e", "f"]);
      } finally {
        await shutdownOn(clock, pool);
      }
    });
  });

  it("keeps the order of those left when some time out or abort", async () => {
    await withClock(async (clock) => {
      const pool = new Pool({ fun, maxSize: 1, timeout: 10_000 });
      try {
        const held = await pool.get();
        const order: string[] = [];
        const c = new AbortController();
        const w = (id: string, options?: Parameters<typeof pool.get>[0]) =>
          track(
            pool.get(options).then((o) => {
              order.push(id);
              pool.ret(o);
            }),
          );
        const a = w("a", { timeout: Infinity });
        const b = w("b", { timeout: 500 });
        const cc = w("c", { signal: c.signal });
        const d = w("d");
        const e = w("e", { timeout: Infinity });
        await clock.tickAsync(500);
        assert.ok(b.rejected);
        c.abort();
        assert.equal(pool.stats().nwaiting, 3);
        pool.ret(held);
        await flush();
        assert.deepEqual(order, ["a", "d", "e"]);
        assert.ok(a.settled && !a.rejected && d.settled && e.settled);
        assert.ok(cc.rejected);
      } finally {
        await shutdownOn(clock, pool);
      }
    });
  });

  it("serves a new object to the oldest waiter", async () => {
    await withClock(async (clock) => {
      const b = new Backend();
      b.latency = 100;
      const pool = new Pool({ fun: b.fun, minSize: 0, maxSize: 3 });
      try {
        const got: [string, number][] = [];
        const ws = ["a", "b", "c"].map((id) =>
          pool.get().then((c) => void got.push([id, c.n]))
        );
        await clock.tickAsync(100); // two creations at once (maxCreating)
        assert.deepEqual(got, [["a", 0], ["b", 1]]);
        await clock.tickAsync(100);
        await Promise.all(ws);
        assert.deepEqual(got, [["a", 0], ["b", 1], ["c", 2]]);
      } finally {
        await shutdownOn(clock, pool);
      }
    });
  });
});

describe("Pool wait: creations and waiters", () => {
  it("a creation landing after its waiter timed out puts the object in the pool", async () => {
    await withClock(async (clock) => {
      const b = new Backend();
      b.latency = 100;
      const pool = new Pool({ fun: b.fun, minSize: 0, closer: b.closer });
      try {
        const t = track(pool.get({ timeout: 50 }));
        await clock.tickAsync(50);
        assert.ok(t.error instanceof TimeoutError);
        assert.equal(pool.stats().creating, 1);
        await clock.tickAsync(50);
        const s = pool.stats();
        assert.equal(s.creating, 0);
        assert.equal(s.navail, 1, "the late object is kept, not leaked");
        assert.equal(b.calls, 1);
        const c = await pool.get();
        assert.equal(c, b.created[0]);
        assert.equal(b.calls, 1, "no new creation");
        pool.ret(c);
      } finally {
        await shutdownOn(clock, pool);
      }
      assert.equal(b.open, 0);
    });
  });

  it("a creation landing after its waiter aborted puts the object in the pool", async () => {
    await withClock(async (clock) => {
      const b = new Backend();
      b.latency = 100;
      const pool = new Pool({ fun: b.fun, minSize: 0, closer: b.closer });
      try {
        const c = new AbortController();
        const t = track(pool.get({ signal: c.signal }));
        await clock.tickAsync(10);
        c.abort();
        await clock.tickAsync(90);
        assert.ok(t.rejected);
        assert.equal(pool.stats().navail, 1);
        assert.equal(pool.stats().nobjs, 1);
      } finally {
        await shutdownOn(clock, pool);
      }
      assert.equal(b.created.length, 1);
      assert.equal(b.created[0].closed, 1);
    });
  });

  it("never exceeds maxSize, counting creations in flight", async () => {
    await withClock(async (clock) => {
      const b = new Backend();
      b.latency = 100;
      const pool = new Pool({
        fun: b.fun,
        minSize: 0,
        maxSize: 3,
        maxCreating: 10,
      });
      try {
        let peak = 0;
        const watch = () => {
          const s = pool.stats();
          peak = Math.max(peak, s.nobjs + s.creating);
        };
        const tasks = Array.from(
          { length: 20 },
          () =>
            pool.use(async () => {
              watch();
              await new Promise((r) => setTimeout(r, 30));
              watch();
            }),
        );
        watch();
        assert.equal(pool.stats().creating, 3);
        assert.equal(b.calls, 3);
        for (let i = 0; i < 40; i++) {
          await clock.tickAsync(10);
          watch();
        }
        await Promise.all(tasks);
        assert.equal(peak, 3);
        assert.equal(b.calls, 3);
        assert.equal(pool.stats().nuses, 20);
      } finally {
        await shutdownOn(clock, pool);
      }
    });
  });

  it("runs at most maxCreating creations at once", async () => {
    await withClock(async (clock) => {
      const b = new Backend();
      b.latency = 100;
      const pool = new Pool({ fun: b.fun, minSize: 0, maxCreating: 2 });
      try {
        const ws = Array.from({ length: 10 }, () => pool.get());
        assert.equal(pool.stats().creating, 2);
        await clock.tickAsync(100);
        assert.ok(pool.stats().creating <= 2);
        await clock.tickAsync(1000);
        const objs = await Promise.all(ws);
        assert.equal(new Set(objs).size, 10);
        for (const o of objs) pool.ret(o);
      } finally {
        await shutdownOn(clock, pool);
      }
    });
  });
});

describe("Pool wait: maxWaiting", () => {
  it("rejects at once with OverloadError beyond maxWaiting waiters", async () => {
    const pool = new Pool({ fun, maxSize: 1, maxWaiting: 2, name: "busy" });
    const held = await pool.get();
    const w1 = pool.get();
    const w2 = pool.get();
    const err = await pool.get().catch((e) => e);
    assert.ok(err instanceof OverloadError);
    assert.ok(err instanceof PoolError);
    assert.equal(err.name, "OverloadError");
    assert.match(err.message, /maxWaiting 2/);
    let s = pool.stats();
    assert.equal(s.noverloads, 1);
    assert.equal(s.nwaiting, 2);
    pool.ret(held);
    const o1 = await w1;
    // one left the queue: there is room for one more
    const w3 = pool.get();
    await assert.rejects(pool.get(), OverloadError);
    pool.ret(o1);
    pool.ret(await w2);
    pool.ret(await w3);
    s = pool.stats();
    assert.equal(s.noverloads, 2);
    assert.equal(s.nuses, 4);
    await pool.shutdown();
  });

  it("never refuses when an object is idle", async () => {
    const pool = new Pool({ fun, minSize: 1, maxSize: 1, maxWaiting: 0 });
    const o = await pool.get();
    pool.ret(o);
    const strict = new Pool({ fun, minSize: 1, maxSize: 1, maxWaiting: 1 });
    const a = await strict.get();
    strict.ret(a);
    assert.equal(await strict.get(), a);
    strict.ret(a);
    await Promise.all([pool.shutdown(), strict.shutdown()]);
  });

  it("is unlimited with maxWaiting 0", async () => {
    const pool = new Pool({ fun, maxSize: 1 });
    const held = await pool.get();
    const ws = Array.from({ length: 1000 }, () => pool.get());
    assert.equal(pool.stats().nwaiting, 1000);
    pool.ret(held);
    for (const w of ws) pool.ret(await w);
    assert.equal(pool.stats().noverloads, 0);
    await pool.shutdown();
  });
});

describe("Pool wait: 100,000 waiters", () => {
  const N = 100_000;

  it("serves 100,000 waiters in order", async () => {
    const pool = new Pool({ fun, maxSize: 1 });
    const held = await pool.get();
    let next = 0;
    let outOfOrder = 0;
    const all = Array.from({ length: N }, (_, i) =>
      pool.get().then((o) => {
        if (i !== next++) outOfOrder++;
        pool.ret(o);
      }));
    assert.equal(pool.stats().nwaiting, N);
    pool.ret(held);
    await Promise.all(all);
    assert.equal(outOfOrder, 0);
    assert.equal(next, N);
    const s = pool.stats();
    assert.equal(s.nuses, N + 1);
    assert.equal(s.nwaiting, 0);
    assert.equal(s.navail, 1);
    await pool.shutdown();
  });

  it("aborts 100,000 waiters, each leaving the queue", async () => {
    const pool = new Pool({ fun, maxSize: 1 });
    const held = await pool.get();
    const controllers = Array.from({ length: N }, () => new AbortController());
    let rejected = 0;
    const reason = new Error("gone");
    const all = controllers.map((c) =>
      pool.get({ signal: c.signal, timeout: Infinity }).then(
        () => assert.fail("an aborted waiter was served"),
        (err) => {
          assert.equal(err, reason);
          rejected++;
        },
      )
    );
    // abort in a scattered order
    for (let k = 0, j = 0; k < N; k++, j = (j + 7919) % N) {
      controllers[j].abort(reason);
    }
    assert.equal(pool.stats().nwaiting, 0);
    await Promise.all(all);
    assert.equal(rejected, N);
    pool.ret(held);
    const s = pool.stats();
    assert.equal(s.navail, 1);
    assert.equal(s.naborts, N);
    assert.equal(s.nuses, 1);
    await pool.shutdown();
  });

  it("times out 2,000 waiters on the virtual clock, serving the others", async () => {
    await withClock(async (clock) => {
      const pool = new Pool({ fun, maxSize: 1 });
      try {
        const held = await pool.get();
        const ts = Array.from(
          { length: 4000 },
          (_, i) =>
            track(
              pool.get(i % 2 === 0 ? { timeout: 100 } : undefined).then((o) => {
                pool.ret(o);
                return i;
              }),
            ),
        );
        await clock.tickAsync(100);
        assert.equal(pool.stats().nwaiting, 2000);
        assert.equal(pool.stats().ntimeouts, 2000);
        pool.ret(held);
        await flush();
        for (const [i, t] of ts.entries()) {
          assert.equal(t.rejected, i % 2 === 0, String(i));
        }
      } finally {
        await shutdownOn(clock, pool);
      }
    });
  });
});

describe("Pool wait: the fast path", () => {
  it("lends an idle object without a timer or an abort listener", async () => {
    await withClock(async (clock) => {
      const pool = new Pool({ fun, maxSize: 1 });
      try {
        await pool.ready();
        const spy = spiedSignal();
        assert.equal(clock.countTimers(), 0);
        const o = await pool.get({ timeout: 1000, signal: spy.signal });
        assert.equal(spy.added, 0, "no listener for an idle object");
        assert.equal(clock.countTimers(), 0, "no timer for an idle object");
        // the slow path does add them: the test can see the difference
        const p = pool.get({ timeout: 1000, signal: spy.signal });
        assert.equal(spy.added, 1);
        assert.equal(clock.countTimers(), 1);
        pool.ret(o);
        assert.equal(await p, o);
        assert.equal(spy.removed, 1);
        assert.equal(clock.countTimers(), 0);
        pool.ret(o);
      } finally {
        await shutdownOn(clock, pool);
      }
    });
  });

  it("hands an idle object out in the next microtask", async () => {
    const pool = new Pool({ fun });
    let got: unknown;
    void pool.get().then((o) => (got = o));
    await Promise.resolve();
    assert.deepEqual(got, { n: 0 });
    assert.equal(pool.stats().nusing, 1);
    pool.ret(got as { n: number });
    await pool.shutdown();
  });

  it("a hook-free get/ret cycle logs nothing", async () => {
    const log = recordingLogger();
    const pool = new Pool<Conn>({
      fun: new Backend().fun,
      logger: log,
      logLevel: "debug",
    });
    for (let i = 0; i < 100; i++) pool.ret(await pool.get());
    assert.deepEqual(
      log.lines.filter((l) => !/created|housekeeping/.test(l)),
      [],
    );
    await pool.shutdown();
  });
});

describe("Pool wait: a timer set while other work runs", () => {
  // Deno runs pending microtasks inside its first setTimeout call (it loads
  // its timers lazily), so a waiter may be settled while its timer is being
  // set. Simulated here by a setTimeout that does that work synchronously.
  function interceptSetTimeout(work: () => void): () => void {
    const real = globalThis.setTimeout;
    let done = false;
    globalThis.setTimeout = ((...args: Parameters<typeof setTimeout>) => {
      if (!done) {
        done = true;
        work();
      }
      return real(...args);
    }) as typeof setTimeout;
    return () => (globalThis.setTimeout = real);
  }

  it("a waiter served while its timer is set leaves no timer", async () => {
    await withClock(async (clock) => {
      const pool = new Pool({ fun, maxSize: 1 });
      try {
        const held = await pool.get();
        const spy = spiedSignal();
        const restore = interceptSetTimeout(() => pool.ret(held));
        let p: Promise<{ n: number }>;
        try {
          p = pool.get({ timeout: 1000, signal: spy.signal });
        } finally {
          restore();
        }
        assert.equal(await p, held);
        assert.equal(clock.countTimers(), 0);
        assert.equal(spy.added - spy.removed, 0, "no listener left");
        pool.ret(held);
      } finally {
        await shutdownOn(clock, pool);
      }
    });
  });

  it("a ready() fulfilled while its timer is set leaves no timer", async () => {
    await withClock(async (clock) => {
      let land: ((o: { n: number }) => void) | undefined;
      // a thenable whose fulfilment the test triggers synchronously
      const pending = {
        then(onFulfilled: (o: { n: number }) => void) {
          land = onFulfilled;
        },
      };
      const pool = new Pool({
        fun: () => pending as unknown as { n: number },
        minSize: 1,
      });
      try {
        await flush(); // the pool adopts the thenable: its then runs
        assert.ok(land !== undefined);
        const restore = interceptSetTimeout(() => land!({ n: 0 }));
        let p: Promise<void>;
        try {
          p = pool.ready({ timeout: 1000 });
        } finally {
          restore();
        }
        await p;
        assert.equal(pool.stats().nobjs, 1);
        assert.equal(clock.countTimers(), 0);
      } finally {
        await shutdownOn(clock, pool);
      }
    });
  });
});
