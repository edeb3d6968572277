// A caller never waits for the pool's own work on the object it gives back
// (use(), a lease's disposal, the end of a context), and a hook that hangs
// can be cut short: its signal aborts when the pool gives up on it.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Pool, Proxy } from "../mod.ts";
import { withContext } from "../context.ts";
import {
  Backend,
  type Conn,
  flush,
  recordingLogger,
  withClock,
} from "./_helpers.ts";
import { shutdownOn, track } from "./_track.ts";

/** A hook that never settles, and records the signal it was given. */
function hanging() {
  const signals: AbortSignal[] = [];
  const hook = (_c: Conn, signal: AbortSignal) => {
    signals.push(signal);
    return new Promise<never>(() => {});
  };
  return { hook, signals };
}

describe("Give-back: the caller does not wait for the pool's work", () => {
  it("a failing use() rethrows at once while its health check hangs; the object waits, then is closed at healthTimeout", async () => {
    await withClock(async (clock) => {
      const b = new Backend();
      const health = hanging();
      const pool = new Pool<Conn>({
        fun: b.fun,
        closer: b.closer,
        maxSize: 1,
        health: health.hook,
        healthTimeout: 500,
        logLevel: "off",
      });
      try {
        const failing = track(
          pool.use(() => {
            throw new Error("query timed out");
          }),
        );
        const next = track(pool.get({ timeout: 5000 }));
        await clock.tickAsync(0);
        assert.ok(failing.rejected, "rethrown at once");
        assert.match(String(failing.error), /query timed out/);
        await clock.tickAsync(499);
        assert.equal(next.settled, false, "not lent while its check runs");
        assert.equal(pool.stats().nbusy, 1, "busy, not counted twice");
        assert.equal(pool.stats().nobjs, 1);
        assert.equal(health.signals[0].aborted, false);
        await clock.tickAsync(1);
        assert.equal(b.created[0].closed, 1, "closed: its check timed out");
        const reason = health.signals[0].reason as DOMException;
        assert.equal(health.signals[0].aborted, true, "its signal aborted");
        assert.equal(reason.name, "TimeoutError");
        assert.match(reason.message, /healthTimeout/);
        await clock.tickAsync(0);
        assert.equal((next.value as Conn).n, 1, "a new object instead");
        pool.ret(next.value as Conn);
      } finally {
        await shutdownOn(clock, pool);
      }
    });
  });

  it("a successful use() returns at once while a slow reset runs; the next borrower gets the object after it", async () => {
    await withClock(async (clock) => {
      const b = new Backend();
      let resets = 0;
      const pool = new Pool<Conn>({
        fun: b.fun,
        maxSize: 1,
        reset: () =>
          new Promise<void>((r) =>
            setTimeout(() => {
              resets++;
              r();
            }, 200)
          ),
        logLevel: "off",
      });
      try {
        const used = track(pool.use((c) => c.n + 10));
        const next = track(pool.get());
        await clock.tickAsync(0);
        assert.equal(used.value, 10, "use() returned fn's result at once");
        assert.equal(resets, 0);
        await clock.tickAsync(199);
        assert.equal(next.settled, false, "held back while reset runs");
        await clock.tickAsync(1);
        assert.equal(resets, 1);
        assert.equal((next.value as Conn).n, 0, "then lent, the same object");
        // ret() still returns a promise for those who want to wait
        const back = pool.ret(next.value as Conn);
        assert.ok(back instanceof Promise);
        const waited = track(back);
        await clock.tickAsync(199);
        assert.equal(waited.settled, false);
        await clock.tickAsync(1);
        assert.equal(waited.settled, true, "ret() waits for reset");
      } finally {
        await shutdownOn(clock, pool);
      }
    });
  });

  it("a lease's disposal does not wait for the retter; release() does", async () => {
    await withClock(async (clock) => {
      let retters = 0;
      const pool = new Pool<Conn>({
        fun: new Backend().fun,
        maxSize: 1,
        retter: () =>
          new Promise<void>((r) => setTimeout(() => (retters++, r()), 100)),
        logLevel: "off",
      });
      try {
        const lease = await pool.lease();
        const disposed = track(lease[Symbol.asyncDispose]());
        await flush();
        assert.equal(disposed.settled, true, "disposal ends at once");
        assert.equal(retters, 0);
        await clock.tickAsync(100);
        assert.equal(retters, 1);
        const second = await pool.lease();
        const released = track(second.release());
        await clock.tickAsync(99);
        assert.equal(released.settled, false, "release() waits");
        await clock.tickAsync(1);
        assert.equal(released.settled, true);
      } finally {
        await shutdownOn(clock, pool);
      }
    });
  });

  it("a context ends at once; its object is lent again after its reset", async () => {
    await withClock(async (clock) => {
      let resets = 0;
      const db = new Proxy<Conn>({
        fun: new Backend().fun,
        maxSize: 1,
        reset: () =>
          new Promise<void>((r) => setTimeout(() => (resets++, r()), 100)),
        logLevel: "off",
      });
      try {
        const first = track(withContext(() => db.n, { take: [db] }));
        await clock.tickAsync(0);
        assert.equal(first.value, 0, "the context ended with its result");
        assert.equal(resets, 0, "before the reset ran");
        const second = track(withContext(() => db.n, { take: [db] }));
        await clock.tickAsync(99);
        assert.equal(second.settled, false, "waits for the reset");
        await clock.tickAsync(1);
        assert.equal(second.value, 0);
        assert.equal(resets, 1);
        await clock.tickAsync(100);
        assert.equal(resets, 2, "the second context's reset ran too");
      } finally {
        await shutdownOn(clock, db._pool!);
      }
    });
  });
});

describe("Hooks that hang are told when the pool gives up on them", () => {
  it("a closer that listens to its signal is aborted at shutdownTimeout, and shutdown ends then", async () => {
    await withClock(async (clock) => {
      const destroyed: number[] = [];
      const reasons: string[] = [];
      const pool = new Pool<Conn>({
        fun: new Backend().fun,
        minSize: 4,
        // end() behind a black hole: its goodbye never gets an answer
        closer: (c, signal) =>
          new Promise<void>((resolve) => {
            signal.addEventListener("abort", () => {
              reasons.push((signal.reason as DOMException).name);
              destroyed.push(c.n); // say, socket.destroy()
              resolve();
            });
          }),
        shutdownTimeout: 1000,
        logLevel: "off",
      });
      const done = track(pool.shutdown());
      await clock.tickAsync(999);
      assert.equal(done.settled, false);
      assert.deepEqual(destroyed, []);
      await clock.tickAsync(1);
      await clock.tickAsync(0);
      assert.deepEqual(destroyed.sort(), [0, 1, 2, 3]);
      assert.deepEqual([...new Set(reasons)], ["AbortError"]);
      assert.equal(done.settled, true, "shutdown ended at its limit");
      assert.equal(clock.countTimers(), 0);
    });
  });

  it("a closer that does not listen is left behind, with a warning", async () => {
    await withClock(async (clock) => {
      const log = recordingLogger();
      const pool = new Pool<Conn>({
        fun: new Backend().fun,
        minSize: 2,
        closer: () => new Promise<void>(() => {}),
        shutdownTimeout: 1000,
        logger: log,
      });
      const done = track(pool.shutdown());
      await clock.tickAsync(1000);
      await clock.tickAsync(0);
      assert.equal(done.settled, true);
      assert.match(
        log.at("warn").join("\n"),
        /abandoned 2 of 2 closers still running after 1000 ms/,
      );
    });
  });

  it("retter, reset, getter and check get a signal that aborts at their time limit", async () => {
    for (const name of ["retter", "reset", "getter", "check"] as const) {
      await withClock(async (clock) => {
        const h = hanging();
        const pool = new Pool<Conn>({
          fun: new Backend().fun,
          [name]: h.hook,
          hookTimeout: 300,
          healthTimeout: 300,
          checkBypass: 0,
          logLevel: "off",
        });
        try {
          const ignore = () => {};
          // the idle object is checked (checkBypass 0), then its getter runs
          if (name === "getter" || name === "check") {
            pool.get().then(ignore, ignore);
          } else void pool.ret(await pool.get());
          await clock.tickAsync(0);
          assert.equal(h.signals.length, 1, name);
          assert.equal(h.signals[0].aborted, false, name);
          await clock.tickAsync(300);
          assert.equal(h.signals[0].aborted, true, name);
          assert.equal(
            (h.signals[0].reason as DOMException).name,
            "TimeoutError",
          );
        } finally {
          await shutdownOn(clock, pool);
        }
      });
    }
  });

  it("an opener gets the creation's signal, aborted at createTimeout", async () => {
    await withClock(async (clock) => {
      const h = hanging();
      const pool = new Pool<Conn>({
        fun: new Backend().fun,
        opener: h.hook,
        createTimeout: 200,
        logLevel: "off",
      });
      try {
        await clock.tickAsync(199);
        assert.equal(h.signals[0].aborted, false);
        await clock.tickAsync(1);
        assert.equal(h.signals[0].aborted, true);
        assert.match(String(h.signals[0].reason), /createTimeout/);
      } finally {
        await shutdownOn(clock, pool);
      }
    });
  });

  it("a hook that declares no signal gets none (nothing is made for it)", async () => {
    const seen: unknown[] = [];
    const pool = new Pool<Conn>({
      fun: new Backend().fun,
      retter: function (this: unknown, _c: Conn) {
        seen.push(arguments[1]);
      },
    });
    pool.ret(await pool.get());
    assert.deepEqual(seen, [undefined]);
    await pool.shutdown();
  });
});
