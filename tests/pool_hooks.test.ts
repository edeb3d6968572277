// Hooks that hang, throw or race with shutdown and with the waiter giving
// up: the pool closes every object once, frees every slot, and settles
// every get, whatever the hooks do.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { CreationError, Pool, PoolError, TimeoutError } from "../mod.ts";
import { Backend, type Conn, recordingLogger, withClock } from "./_helpers.ts";
import { shutdownOn, track } from "./_track.ts";

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

describe("Hooks that never settle", () => {
  it("a hung getter closes its object after hookTimeout; the get goes on with another", async () => {
    await withClock(async (clock) => {
      const b = new Backend();
      const log = recordingLogger();
      const pool = new Pool({
        fun: b.fun,
        closer: b.closer,
        // the first object's getter hangs, the others' are quick
        getter: (c) => c.n === 0 ? new Promise<void>(() => {}) : undefined,
        minSize: 1,
        maxSize: 1,
        hookTimeout: 1000,
        logger: log,
      });
      try {
        await pool.ready();
        const t = track(pool.get());
        await clock.tickAsync(999);
        assert.equal(t.settled, false);
        await clock.tickAsync(1);
        assert.equal(b.created[0].closed, 1, "the hung object is closed");
        assert.equal((t.value as Conn).n, 1, "served with a new one");
        const s = pool.stats();
        assert.equal(s.closedBy.hook, 1);
        assert.equal(s.nuses, 1, "the hung hand-over was no use");
        assert.match(log.at("error").join("\n"), /getter.*hookTimeout/);
        pool.ret(t.value as Conn);
      } finally {
        await shutdownOn(clock, pool);
      }
    });
  });

  for (const hook of ["retter", "reset"] as const) {
    it(`a hung ${hook} closes its object after hookTimeout and frees its slot`, async () => {
      await withClock(async (clock) => {
        const b = new Backend();
        const pool = new Pool({
          fun: b.fun,
          closer: b.closer,
          [hook]: () => new Promise<void>(() => {}),
          minSize: 0,
          maxSize: 1,
          hookTimeout: 1000,
          logLevel: "off",
        });
        try {
          const used = track(pool.use((c) => c.n));
          const next = track(pool.get({ timeout: 5000 }));
          await clock.tickAsync(0);
          // use() ends with fn's result at once: the hook runs on without it
          assert.equal(used.value, 0, "use() ends with fn's result");
          await clock.tickAsync(999);
          assert.equal(next.settled, false, "the object is held by its hook");
          assert.equal(b.created[0].closed, 0);
          await clock.tickAsync(1);
          assert.equal(b.created[0].closed, 1);
          await clock.tickAsync(0);
          assert.equal((next.value as Conn).n, 1, "the slot was freed");
          const s = pool.stats();
          assert.equal(s.closedBy[hook === "reset" ? "reset" : "hook"], 1);
          assert.equal(s.nbusy, 0);
          pool.ret(next.value as Conn);
        } finally {
          await shutdownOn(clock, pool);
        }
      });
    });
  }

  it("shutdown refuses a get whose getter hangs, at once", async () => {
    await withClock(async (clock) => {
      const b = new Backend();
      const pool = new Pool({
        fun: b.fun,
        closer: b.closer,
        getter: () => new Promise<void>(() => {}),
        minSize: 1,
        logLevel: "off",
      });
      await pool.ready();
      const t = track(pool.get());
      await clock.tickAsync(10);
      const done = track(pool.shutdown({ timeout: 100 }));
      await clock.tickAsync(0);
      assert.ok(t.error instanceof PoolError, `got ${t.error ?? t.value}`);
      await clock.tickAsync(100);
      assert.ok(done.settled);
      assert.equal(b.created[0].closed, 1);
      assert.equal(clock.countTimers(), 0, "no timer left");
    });
  });
});

describe("Shutdown racing with hooks", () => {
  it("closes an object once when shutdown gives up while its retter runs", async () => {
    await withClock(async (clock) => {
      const b = new Backend();
      const pool = new Pool({
        fun: b.fun,
        closer: b.closer,
        retter: () => sleep(100),
        minSize: 1,
        logLevel: "off",
      });
      const o = await pool.get();
      void pool.ret(o);
      const done = track(pool.shutdown({ timeout: 20 }));
      await clock.tickAsync(20);
      assert.ok(done.settled);
      assert.equal(o.closed, 1);
      await clock.tickAsync(200); // the retter ends
      assert.equal(o.closed, 1, "closed once, not again");
      const s = pool.stats();
      assert.equal(s.ndestroys, 1);
      assert.equal(s.closedBy.shutdown, 1);
    });
  });

  it("does not run health on an object closed by shutdown", async () => {
    await withClock(async (clock) => {
      const b = new Backend();
      const healthOn: number[] = [];
      const pool = new Pool({
        fun: b.fun,
        closer: b.closer,
        retter: () => sleep(100),
        health: (c) => void healthOn.push(c.closed),
        minSize: 1,
        logLevel: "off",
      });
      const used = track(pool.use(() => {
        throw new Error("query failed");
      }));
      await clock.tickAsync(0);
      const done = track(pool.shutdown({ timeout: 20 }));
      await clock.tickAsync(300);
      assert.ok(done.settled);
      assert.ok(used.rejected);
      assert.deepEqual(healthOn, [], "health never ran on a closed object");
      assert.equal(b.created[0].closed, 1);
      assert.equal(clock.countTimers(), 0);
    });
  });
});

describe("A waiter that gives up while its getter runs", () => {
  it("counts no use, and the object goes back through the retter", async () => {
    await withClock(async (clock) => {
      const b = new Backend();
      let retters = 0;
      const pool = new Pool({
        fun: b.fun,
        closer: b.closer,
        getter: () => sleep(50),
        retter: () => void retters++,
        maxUse: 1,
        minSize: 1,
        logLevel: "off",
      });
      try {
        await pool.ready();
        const c = new AbortController();
        const t = track(pool.get({ signal: c.signal }));
        await clock.tickAsync(10);
        c.abort(new Error("client went away"));
        await clock.tickAsync(50);
        assert.equal((t.error as Error).message, "client went away");
        const s = pool.stats();
        assert.equal(s.nuses, 0);
        assert.equal(s.nwornout, 0, "not worn out by a use that never was");
        assert.equal(retters, 1);
        assert.equal(s.navail, 1);
      } finally {
        await shutdownOn(clock, pool);
      }
    });
  });

  it("a signal aborted during a sync check is seen before lending", async () => {
    await withClock(async (clock) => {
      const c = new AbortController();
      const pool = new Pool({
        fun: (n) => ({ n }),
        check: () => {
          c.abort(new Error("gone"));
          return true;
        },
        checkBypass: 0,
        logLevel: "off",
      });
      try {
        await pool.ready();
        await clock.tickAsync(1);
        const t = track(pool.get({ signal: c.signal }));
        await clock.tickAsync(0);
        assert.equal((t.error as Error).message, "gone");
        assert.equal(pool.stats().navail, 1);
        assert.equal(pool.stats().nuses, 0);
      } finally {
        await shutdownOn(clock, pool);
      }
    });
  });
});

describe("Creations", () => {
  it("a fun whose result has a throwing `then` getter fails the get, not the caller", async () => {
    const thenable = {};
    Object.defineProperty(thenable, "then", {
      get() {
        throw new Error("then getter throws");
      },
    });
    let calls = 0;
    const pool = new Pool<{ n: number }>({
      fun: (n) => (calls++ === 0 ? thenable : { n }) as { n: number },
      minSize: 0,
      maxSize: 1,
      logLevel: "off",
    });
    let first: Promise<unknown> | undefined;
    assert.doesNotThrow(() => {
      first = pool.get();
    });
    await assert.rejects(first!, CreationError);
    assert.equal(pool.stats().creating, 0, "the slot is free");
    const obj = await pool.get();
    assert.deepEqual(obj, { n: 1 });
    pool.ret(obj);
    await pool.shutdown();
  });

  it("a get without timeout waiting for a return is not given another's creation error", async () => {
    await withClock(async (clock) => {
      const b = new Backend();
      b.latency = 100;
      const pool = new Pool({
        fun: b.fun,
        closer: b.closer,
        minSize: 0,
        maxSize: 2,
        logLevel: "off",
      });
      try {
        const held = track(pool.get());
        await clock.tickAsync(100);
        const first = held.value!;
        b.down = true;
        const timed = track(pool.get({ timeout: 5000 })); // starts #1
        const untimed = track(pool.get()); // no room: waits for a return
        await clock.tickAsync(100); // #1 fails: timed keeps waiting
        assert.equal(untimed.settled, false, "not its creation");
        assert.equal(timed.settled, false);
        b.down = false;
        pool.ret(first);
        await clock.tickAsync(0);
        assert.equal(
          (timed.value as Conn).n,
          0,
          "the return serves the oldest",
        );
        await clock.tickAsync(1000);
        assert.ok(untimed.settled && !untimed.rejected, "served by a retry");
        pool.ret(timed.value!);
        pool.ret(untimed.value!);
      } finally {
        await shutdownOn(clock, pool);
      }
    });
  });

  it("a check that always fails makes no creation loop (checkBypass 0)", async () => {
    await withClock(async (clock) => {
      const b = new Backend();
      const pool = new Pool({
        fun: b.fun,
        closer: b.closer,
        check: () => false,
        checkBypass: 0,
        minSize: 2,
        logLevel: "off",
      });
      try {
        await pool.ready();
        const t = track(pool.get({ timeout: 1000 }));
        await clock.tickAsync(0);
        // the two idle objects fail, the new one is lent unchecked
        assert.equal((t.value as Conn).n, 2);
        assert.ok(b.calls <= 4, `${b.calls} creations`);
        pool.ret(t.value!);
      } finally {
        await shutdownOn(clock, pool);
      }
    });
  });
});

describe("Hooks that describe objects", () => {
  it("logs a stats or tracer hook that throws, and says which", async () => {
    for (const hook of ["stats", "tracer"] as const) {
      const log = recordingLogger();
      const pool = new Pool({
        fun: (n) => ({ n }),
        [hook]: () => {
          throw new Error(`${hook} boom`);
        },
        logger: log,
      });
      const s = pool.stats();
      assert.equal(s.avail[0].str, `${hook} hook threw: ${hook} boom`);
      assert.ok(
        log.at("error").some((l) => l.includes(`${hook} boom`)),
        log.lines.join("\n"),
      );
      await pool.shutdown();
    }
  });
});

describe("Timeouts", () => {
  it("times out waiters with all different timeouts, each at its own deadline", async () => {
    await withClock(async (clock) => {
      const pool = new Pool({
        fun: (n) => ({ n }),
        minSize: 1,
        maxSize: 1,
        logLevel: "off",
      });
      try {
        const held = await pool.get();
        const N = 500;
        const timeouts = Array.from({ length: N }, (_, i) => (i * 37) % N + 1);
        const ended: number[] = [];
        const gets = timeouts.map((timeout) =>
          pool.get({ timeout }).catch((err) => {
            assert.ok(err instanceof TimeoutError);
            ended.push(timeout);
          })
        );
        for (let ms = 1; ms <= N; ms++) {
          await clock.tickAsync(1);
          assert.equal(ended.length, ms, `at ${ms} ms`);
          assert.equal(ended[ms - 1], ms);
        }
        await Promise.all(gets);
        assert.equal(pool.stats().ntimeouts, N);
        assert.equal(clock.countTimers(), 0, "the deadline timer stopped");
        pool.ret(held);
      } finally {
        await shutdownOn(clock, pool);
      }
    });
  });
});

describe("Options with hooks", () => {
  it("a get of an idle object sets no timer with maxLifetime on", async () => {
    await withClock(async (clock) => {
      const pool = new Pool({
        fun: (n) => ({ n }),
        maxLifetime: 60_000,
        delay: 1e9, // housekeeping far away: only gets could set timers
        logLevel: "off",
      });
      try {
        await pool.ready();
        const before = clock.countTimers();
        for (let i = 0; i < 10; i++) {
          pool.ret(await pool.get({ timeout: 1000 }));
        }
        assert.equal(clock.countTimers(), before);
        assert.equal(pool.stats().nwaits, 0, "nothing waited");
      } finally {
        await shutdownOn(clock, pool);
      }
    });
  });

  it("a get of an idle object with a sync getter and check waits for nothing", async () => {
    await withClock(async (clock) => {
      const pool = new Pool({
        fun: (n) => ({ n }),
        getter: () => {},
        check: () => true,
        checkBypass: 0,
        logLevel: "off",
      });
      try {
        await pool.ready();
        await clock.tickAsync(1);
        const before = clock.countTimers();
        for (let i = 0; i < 10; i++) {
          pool.ret(await pool.get({ timeout: 1000 }));
        }
        assert.equal(clock.countTimers(), before);
        assert.equal(pool.stats().nwaits, 0);
      } finally {
        await shutdownOn(clock, pool);
      }
    });
  });

  it("a get whose async check outlasts its timeout times out", async () => {
    await withClock(async (clock) => {
      const pool = new Pool({
        fun: (n) => ({ n }),
        check: () => sleep(1000).then(() => true),
        checkBypass: 0,
        logLevel: "off",
      });
      try {
        await pool.ready();
        await clock.tickAsync(1);
        const t = track(pool.get({ timeout: 100 }));
        await clock.tickAsync(100);
        assert.ok(t.error instanceof TimeoutError);
        await clock.tickAsync(900);
        assert.equal(pool.stats().navail, 1, "the object went back");
        assert.equal(pool.stats().nwaits, 1);
      } finally {
        await shutdownOn(clock, pool);
      }
    });
  });
});

describe("First come, first served through the slow hand-over", () => {
  it("an overdue round run during a hand-over serves newer waiters after it", async () => {
    await withClock(async (clock) => {
      let slow = true;
      const pool = new Pool<{ n: number }>({
        fun: (n) => {
          if (!slow) return { n };
          slow = false;
          return new Promise((r) => setTimeout(() => r({ n }), 25));
        },
        minSize: 0,
        maxCreating: 1,
        maxAvailDelay: 30, // housekeeping every 15 ms, overdue at the hand-over
        getter: () => {}, // any getter or check takes the slow hand-over
        logLevel: "off",
      });
      try {
        await clock.tickAsync(50);
        const order: number[] = [];
        const a = pool.get().then((o) => (order.push(0), o));
        const b = pool.get().then((o) => (order.push(1), o));
        await clock.tickAsync(30);
        assert.deepEqual(order, [0, 1]);
        pool.ret(await a);
        pool.ret(await b);
      } finally {
        await shutdownOn(clock, pool);
      }
    });
  });
});
