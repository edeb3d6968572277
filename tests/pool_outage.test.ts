// Issue 9: riding out backend outages (creation errors, back-off, waiters
// with and without timeout, createTimeout), and never lending a broken
// object twice (suspect objects after a failed use(), broken returns).
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

/** A backend that records when each creation was attempted. */
class TimedBackend extends Backend {
  times: number[] = [];
  override fun = (n: number): Conn | Promise<Conn> => {
    this.times.push(Date.now());
    this.calls++;
    return this.make(n);
  };

  /** Pauses between attempts, in ms. */
  gaps(): number[] {
    return this.times.slice(1).map((t, i) => t - this.times[i]);
  }
}

describe("Outage: a get without timeout", () => {
  it("gets CreationError at once (cause = fun's error) and frees the slot", async () => {
    await withClock(async (clock) => {
      const b = new Backend();
      b.down = true;
      const pool = new Pool({
        fun: b.fun,
        minSize: 0,
        maxSize: 1,
        logLevel: "off",
      });
      try {
        const t = track(pool.get());
        await flush();
        assert.ok(t.error instanceof CreationError);
        assert.ok(t.error instanceof PoolError);
        assert.equal((t.error as Error).cause, b.error);
        assert.match((t.error as Error).message, /connection refused/);
        let s = pool.stats();
        assert.equal(s.creating, 0);
        assert.equal(s.nobjs, 0);
        assert.equal(s.ncreateErrors, 1);
        // the backend is back: the next get is served at once, back-off or not
        b.down = false;
        const c = await pool.get();
        assert.equal(c.n, 1);
        s = pool.stats();
        assert.equal(s.nobjs, 1, "the failed creation kept no slot");
        pool.ret(c);
      } finally {
        await shutdownOn(clock, pool);
      }
    });
  });

  it("each get without timeout gets its own creation's error", async () => {
    await withClock(async (clock) => {
      let calls = 0;
      const pool = new Pool({
        fun: () => {
          throw new Error(`refused ${++calls}`);
        },
        minSize: 0,
        logLevel: "off",
      });
      try {
        const errs = await Promise.all(
          [1, 2, 3].map(() => pool.get().catch((e) => e)),
        );
        assert.ok(errs.every((e) => e instanceof CreationError));
        assert.deepEqual(
          errs.map((e) => (e.cause as Error).message).toSorted(),
          ["refused 1", "refused 2", "refused 3"],
        );
        assert.equal(calls, 3, "one attempt each, no retry for them");
        assert.equal(pool.stats().nwaiting, 0);
      } finally {
        await shutdownOn(clock, pool);
      }
    });
  });

  it("is owed the error even behind a waiter with timeout, which keeps waiting", async () => {
    await withClock(async (clock) => {
      const b = new Backend();
      b.down = true;
      const pool = new Pool({ fun: b.fun, minSize: 0, logLevel: "off" });
      try {
        const timed = track(pool.get({ timeout: 5000 }));
        const untimed = track(pool.get());
        await clock.tickAsync(0);
        assert.ok(untimed.error instanceof CreationError);
        assert.equal(timed.settled, false);
        b.down = false;
        await clock.tickAsync(5000);
        assert.equal(timed.rejected, false);
        assert.ok(timed.settled);
        pool.ret(timed.value!);
      } finally {
        await shutdownOn(clock, pool);
      }
    });
  });
});

describe("Outage: a get with a timeout", () => {
  for (const how of ["get's own", "the pool's"]) {
    it(`keeps waiting through failures and is served when the backend is back (${how} timeout)`, async () => {
      await withClock(async (clock) => {
        const b = new Backend();
        b.down = true;
        const log = recordingLogger();
        const pool = new Pool({
          fun: b.fun,
          closer: b.closer,
          minSize: 0,
          logger: log,
          timeout: how === "get's own" ? Infinity : 5000,
        });
        try {
          const t = track(
            how === "get's own" ? pool.get({ timeout: 5000 }) : pool.get(),
          );
          await clock.tickAsync(1000);
          assert.equal(t.settled, false);
          assert.ok(b.calls >= 3, `retried: ${b.calls}`);
          assert.ok(b.calls <= 15, `no busy loop: ${b.calls}`);
          // one warning when creations start failing, naming the error and
          // what the pool does; nothing per retry
          const warned = log.at("warn");
          assert.equal(warned.length, 1, warned.join("\n"));
          assert.match(
            warned[0],
            /cannot create objects: .*connection refused; retrying in the background/,
          );
          assert.doesNotMatch(warned[0], /pass a timeout/);
          assert.equal(log.at("error").length, 0);
          b.down = false;
          await clock.tickAsync(1500); // the pause is at most ~1.3 s here
          assert.equal(t.rejected, false);
          assert.ok(t.settled, "served once a creation succeeded");
          // and one when they succeed again, with how long and how often
          assert.equal(log.at("warn").length, 2);
          assert.match(
            log.at("warn")[1],
            /creations succeed again, after [\d.]+ ms and \d+ failed attempts/,
          );
          assert.equal((t.value as Conn).n, b.calls - 1);
          const s = pool.stats();
          assert.equal(s.nobjs, 1);
          assert.equal(s.ntimeouts, 0);
          pool.ret(t.value as Conn);
        } finally {
          await shutdownOn(clock, pool);
        }
      });
    });
  }

  it("a timeout longer than a timer can hold (30 days) still rides out failures, and ends on time", async () => {
    await withClock(async (clock) => {
      const b = new Backend();
      b.down = true;
      const pool = new Pool({
        fun: b.fun,
        closer: b.closer,
        minSize: 0,
        backoffMax: 2 ** 31 - 1, // a few dozen retries in 30 days
        logLevel: "off",
      });
      const DAY = 86_400_000;
      try {
        const t = track(pool.get({ timeout: 30 * DAY }));
        await clock.tickAsync(10_000);
        assert.equal(
          t.settled,
          false,
          "waits: a timed waiter, not an untimed one",
        );
        await clock.tickAsync(30 * DAY - 10_001);
        assert.equal(t.settled, false, "not timed out early");
        await clock.tickAsync(2);
        assert.ok(t.error instanceof TimeoutError);
        assert.equal((t.error as Error).cause, b.error);
      } finally {
        await shutdownOn(clock, pool);
      }
    });
  });

  it("is served by a returned object while creations fail", async () => {
    await withClock(async (clock) => {
      const b = new Backend();
      const pool = new Pool({ fun: b.fun, minSize: 0, logLevel: "off" });
      try {
        const held = await pool.get();
        b.down = true;
        const t = track(pool.get({ timeout: 5000 }));
        await clock.tickAsync(500);
        assert.equal(t.settled, false);
        pool.ret(held);
        await flush();
        assert.equal(t.value, held);
        pool.ret(held);
      } finally {
        await shutdownOn(clock, pool);
      }
    });
  });

  it("while the backend stays down, ends at its timeout with the last creation error as cause, after a few tries", async () => {
    await withClock(async (clock) => {
      let calls = 0;
      const pool = new Pool({
        fun: (): Conn => {
          throw new Error(`refused #${++calls}`);
        },
        minSize: 0,
        logLevel: "off",
      });
      try {
        const t = track(pool.get({ timeout: 5000 }));
        await clock.tickAsync(4999);
        assert.equal(t.settled, false, "not before its timeout");
        await clock.tickAsync(1);
        const err = t.error as Error;
        assert.ok(err instanceof TimeoutError);
        assert.equal(err.name, "TimeoutError");
        assert.ok(err.cause instanceof Error);
        assert.equal(
          (err.cause as Error).message,
          `refused #${calls}`,
          "the last error",
        );
        assert.match(err.message, /the last creation failed: refused #/);
        assert.ok(calls >= 3 && calls <= 30, `tried ${calls} times`);
        const s = pool.stats();
        assert.equal(s.ntimeouts, 1);
        assert.equal(s.ncreateErrors, calls);
        assert.equal(s.nwaiting, 0);
      } finally {
        await shutdownOn(clock, pool);
      }
    });
  });

  it("keeps waiters in order and none waits past its own timeout", async () => {
    await withClock(async (clock) => {
      const b = new Backend();
      b.down = true;
      const pool = new Pool({ fun: b.fun, minSize: 0, logLevel: "off" });
      try {
        const order: string[] = [];
        const mk = (id: string, timeout: number) => {
          const t = track(
            pool.get({ timeout }).then((c) => {
              order.push(id);
              return c;
            }),
          );
          return t;
        };
        const a = mk("a", 5000);
        const bb = mk("b", 1000);
        const c = mk("c", 5000);
        const d = mk("d", 1500);
        const e = mk("e", 5000);
        await clock.tickAsync(999);
        assert.equal(bb.settled, false);
        await clock.tickAsync(1);
        assert.ok(bb.error instanceof TimeoutError, "b: at 1000 exactly");
        assert.equal(
          ((bb.error as Error).cause as Error).message,
          "connection refused",
        );
        await clock.tickAsync(499);
        assert.equal(d.settled, false);
        await clock.tickAsync(1);
        assert.ok(d.error instanceof TimeoutError, "d: at 1500 exactly");
        assert.ok(!a.settled && !c.settled && !e.settled);
        b.down = false;
        await clock.tickAsync(3000);
        assert.deepEqual(order, ["a", "c", "e"]);
        for (const t of [a, c, e]) pool.ret(t.value!);
      } finally {
        await shutdownOn(clock, pool);
      }
    });
  });

  it("rides out failures in ready({ timeout }); ready() without timeout fails at once", async () => {
    await withClock(async (clock) => {
      const b = new Backend();
      b.down = true;
      const pool = new Pool({ fun: b.fun, minSize: 2, logLevel: "off" });
      try {
        const quick = track(pool.ready());
        const patient = track(pool.ready({ timeout: 10_000 }));
        const short = track(pool.ready({ timeout: 300 }));
        // the first failure came before ready() was called: the next one,
        // after the first pause, is reported
        await clock.tickAsync(10);
        assert.ok(quick.error instanceof CreationError);
        assert.equal((quick.error as Error).cause, b.error);
        await clock.tickAsync(300);
        assert.ok(short.error instanceof TimeoutError);
        assert.equal((short.error as Error).cause, b.error);
        assert.equal(patient.settled, false);
        b.down = false;
        await clock.tickAsync(5000);
        assert.equal(patient.settled, true);
        assert.equal(patient.rejected, false);
        assert.equal(pool.stats().nobjs, 2);
      } finally {
        await shutdownOn(clock, pool);
      }
    });
  });
});

describe("Outage: back-off", () => {
  it("refills to minSize in the background with growing pauses, no busy loop", async () => {
    await withClock(async (clock) => {
      const b = new TimedBackend();
      b.down = true;
      const log = recordingLogger();
      const pool = new Pool({
        fun: b.fun,
        minSize: 1,
        maxAvailDelay: 100, // housekeeping every 50 ms must not add tries
        logger: log,
      });
      try {
        await clock.tickAsync(60_000);
        assert.ok(b.calls >= 10, `retries in the background: ${b.calls}`);
        assert.ok(b.calls <= 40, `no busy loop: ${b.calls} calls in 60 s`);
        const gaps = b.gaps();
        assert.ok(gaps[0] <= 10, `first pause ${gaps[0]}`);
        assert.ok(gaps.every((g) => g <= 5000), `capped at backoffMax`);
        assert.ok(gaps.slice(-3).every((g) => g >= 2500), "reached the cap");
        // pauses grow (with jitter in [base/2, base]) until the cap
        for (let i = 1; i < gaps.length && gaps[i] < 2500; i++) {
          assert.ok(gaps[i] >= gaps[i - 1], `pauses ${gaps.join(", ")}`);
        }
        // one warning for the whole outage, not one per retry
        assert.equal(log.at("warn").length, 1, "one warning, not one per try");
        assert.equal(log.at("error").length, 0);
        assert.equal(
          log.at("debug").length,
          0,
          "retries are debug lines (logLevel warn)",
        );
        assert.equal(pool.stats().nobjs, 0);
        b.down = false;
        await clock.tickAsync(5000);
        assert.equal(pool.stats().nobjs, 1, "refilled when back");
        const calls = b.calls;
        await clock.tickAsync(60_000);
        assert.equal(b.calls, calls, "no more creations once filled");
      } finally {
        await shutdownOn(clock, pool);
      }
    });
  });

  it("honours backoffInitial and backoffMax", async () => {
    await withClock(async (clock) => {
      const b = new TimedBackend();
      b.down = true;
      const pool = new Pool({
        fun: b.fun,
        minSize: 1,
        backoffInitial: 200,
        backoffMax: 1000,
        logLevel: "off",
      });
      try {
        await clock.tickAsync(20_000);
        const gaps = b.gaps();
        assert.ok(gaps[0] >= 100 && gaps[0] <= 200, `first ${gaps[0]}`);
        assert.ok(gaps.every((g) => g >= 100 && g <= 1000), gaps.join(","));
        assert.ok(b.calls >= 20 && b.calls <= 45, `calls ${b.calls}`);
      } finally {
        await shutdownOn(clock, pool);
      }
    });
  });

  it("starts again from the initial pause after a success", async () => {
    await withClock(async (clock) => {
      const b = new TimedBackend();
      b.down = true;
      const pool = new Pool({
        fun: b.fun,
        closer: b.closer,
        minSize: 1,
        logLevel: "off",
      });
      try {
        await clock.tickAsync(30_000);
        b.down = false;
        await clock.tickAsync(5000);
        assert.equal(pool.stats().nobjs, 1);
        b.down = true;
        const before = b.times.length;
        pool.ret(await pool.get(), { broken: true }); // refill fails again
        await clock.tickAsync(100);
        const again = b.times.slice(before);
        assert.ok(again.length >= 3, `quick retries again: ${again.length}`);
        assert.ok(again[1] - again[0] <= 10);
      } finally {
        await shutdownOn(clock, pool);
      }
    });
  });

  it("a get without timeout during a pause tries at once", async () => {
    await withClock(async (clock) => {
      const b = new Backend();
      b.down = true;
      const pool = new Pool({ fun: b.fun, minSize: 1, logLevel: "off" });
      try {
        await clock.tickAsync(20_000); // pauses are long now
        b.down = false;
        const calls = b.calls;
        const c = await pool.get();
        assert.equal(b.calls, calls + 1);
        pool.ret(c);
      } finally {
        await shutdownOn(clock, pool);
      }
    });
  });
});

describe("Outage: createTimeout", () => {
  it("counts a hanging creation as failed after createTimeout", async () => {
    await withClock(async (clock) => {
      const pool = new Pool({
        fun: () => new Promise<Conn>(() => {}),
        minSize: 0,
        maxSize: 1,
        createTimeout: 1000,
        logLevel: "off",
      });
      try {
        const t = track(pool.get());
        await clock.tickAsync(999);
        assert.equal(t.settled, false);
        assert.equal(pool.stats().creating, 1);
        await clock.tickAsync(1);
        const err = t.error as Error;
        assert.ok(err instanceof CreationError);
        assert.match(err.message, /createTimeout/);
        assert.equal(pool.stats().creating, 0, "the slot is free again");
      } finally {
        await shutdownOn(clock, pool);
      }
    });
  });

  it("a get with timeout ends with TimeoutError whose cause names createTimeout", async () => {
    await withClock(async (clock) => {
      let calls = 0;
      const pool = new Pool({
        fun: () => (calls++, new Promise<Conn>(() => {})),
        minSize: 0,
        createTimeout: 1000,
        logLevel: "off",
      });
      try {
        const t = track(pool.get({ timeout: 3500 }));
        await clock.tickAsync(3500);
        const err = t.error as Error;
        assert.ok(err instanceof TimeoutError);
        assert.ok(err.cause instanceof CreationError);
        assert.match((err.cause as Error).message, /createTimeout/);
        assert.ok(calls >= 2 && calls <= 4, `calls ${calls}`);
      } finally {
        await shutdownOn(clock, pool);
      }
    });
  });

  it("closes an object that arrives after createTimeout, keeping its place toward maxSize until then", async () => {
    await withClock(async (clock) => {
      const b = new Backend();
      b.latency = 2000;
      const log = recordingLogger();
      const signals: AbortSignal[] = [];
      const pool = new Pool({
        fun: (n, signal) => {
          signals.push(signal);
          if (n === 1) b.latency = 10; // the retry is fast
          return b.fun(n);
        },
        closer: b.closer,
        minSize: 0,
        maxSize: 1,
        createTimeout: 1000,
        logger: log,
      });
      try {
        const t = track(pool.get({ timeout: 5000 }));
        await clock.tickAsync(1100);
        assert.ok(signals[0].aborted, "the attempt is told it was given up");
        assert.equal(t.settled, false);
        assert.equal(b.calls, 1, "no second creation while the first runs");
        await clock.tickAsync(910); // object #0 lands late, then the retry
        assert.equal(b.created.length, 2);
        const late = b.created.find((c) => c.n === 0)!;
        assert.equal(late.closed, 1, "the late object is closed");
        assert.ok(t.settled, "served by the retry");
        assert.equal((t.value as Conn).n, 1);
        assert.equal((t.value as Conn).closed, 0);
        assert.equal(signals[1].aborted, false);
        const s = pool.stats();
        assert.equal(s.closedBy.late, 1);
        assert.equal(s.nobjs, 1, "never above maxSize");
        assert.match(
          log.at("warn").join("\n"),
          /#0 arrived after createTimeout/,
        );
        pool.ret(t.value as Conn);
      } finally {
        await shutdownOn(clock, pool);
      }
    });
  });

  it("retries at once when fun listens to its signal and gives up", async () => {
    await withClock(async (clock) => {
      let calls = 0;
      const pool = new Pool<{ n: number }>({
        fun: (n, signal) => {
          calls++;
          if (n > 0) return { n };
          // a connect that hangs, but ends when told to
          return new Promise((_, reject) =>
            signal.addEventListener("abort", () => reject(signal.reason))
          );
        },
        minSize: 0,
        maxSize: 1,
        createTimeout: 1000,
        backoffInitial: 10,
        logLevel: "off",
      });
      try {
        const t = track(pool.get({ timeout: 5000 }));
        await clock.tickAsync(1050);
        assert.equal(calls, 2);
        assert.deepEqual(t.value, { n: 1 });
        pool.ret(t.value!);
      } finally {
        await shutdownOn(clock, pool);
      }
    });
  });

  it("aborts the signal of creations still running at shutdown", async () => {
    await withClock(async (clock) => {
      let signal: AbortSignal | undefined;
      const pool = new Pool<{ n: number }>({
        fun: (_, s) => {
          signal = s;
          return new Promise(() => {});
        },
        minSize: 1,
        logLevel: "off",
      });
      await clock.tickAsync(0);
      assert.equal(signal?.aborted, false);
      const done = pool.shutdown({ timeout: 100 });
      assert.equal(signal?.aborted, true);
      assert.ok(signal?.reason instanceof PoolError);
      await clock.tickAsync(100);
      await done;
    });
  });
});

describe("Broken objects: suspect after a failed use()", () => {
  for (
    const [label, verdict, isError] of [
      ["returns false", () => false, false],
      ["throws", () => {
        throw new Error("dead");
      }, true],
      ["rejects", () => Promise.reject(new Error("dead")), true],
    ] as const
  ) {
    it(`closes and replaces the object when health ${label}`, async () => {
      await withClock(async (clock) => {
        const b = new Backend();
        let healthCalls = 0;
        const pool = new Pool<Conn>({
          fun: b.fun,
          closer: b.closer,
          minSize: 1,
          maxSize: 1,
          health: (c) => {
            healthCalls++;
            return c.alive ? true : verdict();
          },
          logLevel: "off",
        });
        try {
          // use() takes the only object, the waiter waits for it
          const failing = pool.use((c) => {
            c.alive = false;
            throw new Error("query failed: connection reset");
          });
          const waiter = track(pool.get());
          await assert.rejects(failing, /connection reset/);
          await flush();
          assert.equal(healthCalls, 1);
          const first = b.created[0];
          assert.equal(first.closed, 1, "closed, never lent again");
          const s = pool.stats();
          assert.equal(s.closedBy.health, 1);
          assert.equal(s.badHealth, 1);
          assert.equal(s.hcErrors, isError ? 1 : 0);
          assert.equal((waiter.value as Conn).n, 1, "the waiter got a new one");
          pool.ret(waiter.value as Conn);
        } finally {
          await shutdownOn(clock, pool);
        }
      });
    });
  }

  it("lends the object again when health says it is good", async () => {
    const b = new Backend();
    let healthCalls = 0;
    const pool = new Pool({
      fun: b.fun,
      closer: b.closer,
      health: () => (healthCalls++, true),
    });
    await assert.rejects(
      pool.use(() => Promise.reject(new Error("bad query"))),
    );
    assert.equal(healthCalls, 1);
    const s = pool.stats();
    assert.equal(s.nhealth, 1);
    assert.equal(s.navail, 1);
    assert.equal(s.ndestroys, 0);
    assert.equal(await pool.use((c) => c.n), 0, "the same object");
    await pool.shutdown();
  });

  it("no one gets the suspect object before its health check ends", async () => {
    await withClock(async (clock) => {
      const b = new Backend();
      const pool = new Pool<Conn>({
        fun: b.fun,
        closer: b.closer,
        maxSize: 1,
        health: (c) =>
          new Promise<boolean>((r) => setTimeout(() => r(c.alive), 100)),
        logLevel: "off",
      });
      try {
        const failing = track(
          pool.use((c) => {
            c.alive = false;
            throw new Error("reset");
          }),
        );
        const waiter = track(pool.get());
        await clock.tickAsync(0);
        // use() rethrows at once; the check goes on without the caller
        assert.ok(failing.rejected, "use() does not wait for the check");
        await clock.tickAsync(99);
        assert.equal(waiter.settled, false, "held while suspect");
        assert.equal(pool.stats().nbusy, 1);
        await clock.tickAsync(1);
        assert.equal((waiter.value as Conn).n, 1);
        assert.equal(b.created[0].closed, 1);
        pool.ret(waiter.value as Conn);
      } finally {
        await shutdownOn(clock, pool);
      }
    });
  });

  it("objects whose callback succeeded pay nothing: health is not called", async () => {
    let healthCalls = 0;
    const pool = new Pool({
      fun: (n) => ({ n }),
      health: () => (healthCalls++, true),
    });
    for (let i = 0; i < 10; i++) assert.equal(await pool.use((o) => o.n), 0);
    const o = await pool.get();
    pool.ret(o);
    assert.equal(healthCalls, 0);
    assert.equal(pool.stats().nhealth, 0);
    await pool.shutdown();
  });

  it("without health, an object whose callback threw goes back as is", async () => {
    const b = new Backend();
    const pool = new Pool({ fun: b.fun, closer: b.closer });
    await assert.rejects(pool.use(() => {
      throw new Error("app bug");
    }));
    assert.equal(b.created[0].closed, 0);
    assert.equal(pool.stats().navail, 1);
    await pool.shutdown();
  });

  it("ret(obj, { suspect: true }) runs health before lending again", async () => {
    const b = new Backend();
    const pool = new Pool<Conn>({
      fun: b.fun,
      closer: b.closer,
      health: (c) => c.alive,
      logLevel: "off",
    });
    const good = await pool.get();
    await pool.ret(good, { suspect: true });
    assert.equal(good.closed, 0);
    const bad = await pool.get();
    assert.equal(bad, good);
    bad.alive = false;
    await pool.ret(bad, { suspect: true });
    assert.equal(bad.closed, 1);
    assert.equal(pool.stats().nhealth, 2);
    assert.equal(pool.stats().closedBy.health, 1);
    await pool.shutdown();
  });
});

describe("Broken objects: explicit broken returns", () => {
  it("ret(obj, { broken: true }) closes it and refills to minSize", async () => {
    const b = new Backend();
    const pool = new Pool({ fun: b.fun, closer: b.closer, minSize: 2 });
    const c = await pool.get();
    pool.ret(c, { broken: true });
    assert.equal(c.closed, 1);
    const s = pool.stats();
    assert.equal(s.closedBy.broken, 1);
    assert.equal(s.nobjs, 2);
    assert.equal(s.navail, 2);
    const all = [await pool.get(), await pool.get()];
    assert.ok(!all.includes(c), "never lent again");
    for (const x of all) pool.ret(x);
    await pool.shutdown();
  });

  it("a broken return serves a waiter with a new object", async () => {
    const b = new Backend();
    const pool = new Pool({ fun: b.fun, closer: b.closer, maxSize: 1 });
    const c = await pool.get();
    const waiter = pool.get();
    pool.ret(c, { broken: true });
    const next = await waiter;
    assert.notEqual(next, c);
    assert.equal(next.n, 1);
    pool.ret(next);
    await pool.shutdown();
  });

  it("skips retter and reset for a broken object, and ignores a second return", async () => {
    const b = new Backend();
    const log = recordingLogger();
    const calls: string[] = [];
    const pool = new Pool({
      fun: b.fun,
      closer: b.closer,
      retter: () => void calls.push("retter"),
      reset: () => void calls.push("reset"),
      logger: log,
    });
    const c = await pool.get();
    await pool.ret(c, { broken: true });
    await pool.ret(c, { broken: true });
    assert.deepEqual(calls, []);
    assert.equal(c.closed, 1, "closed once");
    assert.equal(log.at("warn").length, 1);
    await pool.shutdown();
  });

  it("refills with back-off when the backend is down", async () => {
    await withClock(async (clock) => {
      const b = new Backend();
      const pool = new Pool({
        fun: b.fun,
        closer: b.closer,
        minSize: 1,
        logLevel: "off",
      });
      try {
        const c = await pool.get();
        b.down = true;
        pool.ret(c, { broken: true });
        await clock.tickAsync(10_000);
        assert.equal(pool.stats().nobjs, 0);
        assert.ok(b.calls < 25, `calls ${b.calls}`);
        b.down = false;
        await clock.tickAsync(5000);
        assert.equal(pool.stats().nobjs, 1);
      } finally {
        await shutdownOn(clock, pool);
      }
    });
  });

  it("lease.markBroken() closes the object when the lease ends", async () => {
    const b = new Backend();
    const pool = new Pool({ fun: b.fun, closer: b.closer, minSize: 1 });
    const lease = await pool.lease();
    assert.equal(lease.isBroken, false);
    lease.markBroken();
    assert.equal(lease.isBroken, true);
    await lease.release();
    assert.equal(lease.released, true);
    assert.equal(lease.obj.closed, 1);
    assert.equal(pool.stats().closedBy.broken, 1);
    assert.equal(pool.stats().nobjs, 1, "refilled");
    await lease.release(); // once only
    assert.equal(lease.obj.closed, 1);
    await pool.shutdown();
  });
});
