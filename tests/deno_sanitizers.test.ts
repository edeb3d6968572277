// After shutdown() nothing is left pending (issue 4), checked by Deno's op
// and resource sanitizers: they apply to `Deno.test` cases only (not to
// node:test ones, which Deno runs without them), so each case here is a
// `Deno.test`, with real timers (a few tens of milliseconds), that drives a
// pool through what sets timers and listeners: housekeeping, health checks
// (one that hangs, bounded by healthTimeout), back-off after failed
// creations, timed and aborted waiters, createTimeout, a shutdown that
// gives up on a lent object and on a hung closer, a Proxy with a pool, and a
// context scope. A timer or listener left behind fails the case.
//
// Under Bun and Node this file registers one skipped test: the sanitizers
// are Deno's.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Pool, PoolError, Proxy, TimeoutError } from "../mod.ts";
import { withContext } from "../context.ts";

interface DenoTest {
  test(def: {
    name: string;
    sanitizeOps: boolean;
    sanitizeResources: boolean;
    fn: () => Promise<void>;
  }): void;
}

const deno = (globalThis as { Deno?: DenoTest }).Deno;
const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Registers a case with both sanitizers on. */
function sanitized(name: string, fn: () => Promise<void>): void {
  deno!.test({ name, sanitizeOps: true, sanitizeResources: true, fn });
}

if (deno === undefined) {
  test.skip("Deno's op and resource sanitizers find nothing after shutdown() (Deno only)", () => {});
} else {
  sanitized("sanitizers: housekeeping, health and recycling", async () => {
    let n = 0;
    const pool = new Pool({
      fun: async () => ({ n: n++ }),
      minSize: 2,
      maxSize: 4,
      delay: 5,
      maxAvailDelay: 10,
      maxUsingDelay: 15,
      maxUsingDelayKill: 30,
      maxLifetime: 40,
      health: async () => {
        await sleep(1);
        return true;
      },
      check: async () => true,
      checkBypass: 0,
      logger: quiet,
    });
    await pool.ready({ timeout: 1000 });
    const held = await Promise.all([pool.get(), pool.get(), pool.get()]);
    pool.ret(held[0]);
    await pool.use(() => sleep(5));
    await sleep(50); // rounds: recycle, lifetime, warn and kill held[1..2]
    const s = pool.stats();
    assert.ok(s.hkRounds >= 3, `housekeeping rounds: ${s.hkRounds}`);
    assert.ok(s.nhealth >= 1, `health checks: ${s.nhealth}`);
    assert.ok(s.nkilled >= 2, `killed: ${s.nkilled}`);
    await pool.shutdown();
  });

  sanitized("sanitizers: a health check that hangs", async () => {
    const pool = new Pool({
      fun: () => ({}),
      delay: 5,
      health: () => new Promise<boolean>(() => {}),
      healthTimeout: 10,
      logger: quiet,
    });
    await sleep(30); // a few hung checks, each cut at healthTimeout
    assert.ok(pool.stats().hcErrors >= 1);
    await sleep(7); // shut down while one hangs
    await pool.shutdown();
  });

  sanitized("sanitizers: back-off after failed creations", async () => {
    let down = 3;
    const pool = new Pool({
      fun: async () => {
        if (down-- > 0) throw new Error("connection refused");
        return {};
      },
      minSize: 1,
      backoffInitial: 5,
      backoffMax: 20,
      logger: quiet,
    });
    // a get with a timeout rides out the failures
    const obj = await pool.get({ timeout: 500 });
    pool.ret(obj);
    assert.ok(pool.stats().ncreateErrors >= 3);
    // and a pool shut down during a pause leaves no pause timer
    let fails = 0;
    const failing = new Pool({
      fun: () => {
        fails++;
        throw new Error("down");
      },
      minSize: 2,
      backoffInitial: 30,
      backoffMax: 60,
      logger: quiet,
    });
    await sleep(5);
    assert.ok(fails >= 1);
    await failing.shutdown();
    await pool.shutdown();
  });

  sanitized("sanitizers: timed, aborted and refused waiters", async () => {
    const pool = new Pool({ fun: () => ({}), maxSize: 1, logger: quiet });
    const obj = await pool.get();
    await assert.rejects(pool.get({ timeout: 10 }), TimeoutError);
    const controller = new AbortController();
    const aborted = pool.get({ signal: controller.signal, timeout: 1000 });
    setTimeout(() => controller.abort(new Error("gave up")), 5);
    await assert.rejects(aborted, /gave up/);
    // pending at shutdown: refused, their deadline timer gone
    const timed = pool.get({ timeout: 60_000 });
    const signalled = pool.get({ signal: new AbortController().signal });
    const plain = pool.get();
    await sleep(1);
    const done = pool.shutdown({ timeout: 20 }); // obj is never given back
    await assert.rejects(timed, PoolError);
    await assert.rejects(signalled, PoolError);
    await assert.rejects(plain, PoolError);
    await done;
    pool.ret(obj); // too late: ignored
  });

  sanitized(
    "sanitizers: createTimeout, late objects and hung closers",
    async () => {
      let closed = 0;
      let calls = 0;
      const late: Promise<void>[] = [];
      const pool = new Pool<{ n: number }>({
        fun: (n) => {
          calls++;
          if (n === 0) return new Promise(() => {}); // hangs for ever
          // lands after createTimeout: closed on arrival
          const { promise, resolve } = Promise.withResolvers<void>();
          late.push(promise);
          return new Promise((r) =>
            setTimeout(() => {
              r({ n });
              resolve();
            }, 25)
          );
        },
        minSize: 0,
        maxCreating: 2,
        createTimeout: 10,
        closer: () => {
          closed++;
          return new Promise<void>(() => {}); // a closer that hangs
        },
        shutdownTimeout: 15,
        logger: quiet,
      });
      await assert.rejects(pool.get({ timeout: 30 }), TimeoutError);
      assert.ok(calls >= 2, `creations: ${calls}`);
      await Promise.all(late); // our own timers end
      await sleep(1);
      assert.ok(closed >= 1, "a late object was closed");
      await pool.shutdown(); // abandons the hung closers after 15 ms
    },
  );

  sanitized(
    "sanitizers: shutdown cuts long createTimeout and healthTimeout short",
    async () => {
      let hang = false;
      const pool = new Pool<{ n: number }>({
        fun: (n) => hang ? new Promise(() => {}) : { n },
        minSize: 0,
        delay: 5,
        health: () => new Promise<boolean>(() => {}),
        createTimeout: 60_000,
        healthTimeout: 60_000,
        shutdownTimeout: 20,
        logger: quiet,
      });
      pool.ret(await pool.get());
      hang = true;
      await sleep(10); // the idle object is under a hung health check now
      // a creation hangs too, within its createTimeout
      await assert.rejects(pool.get({ timeout: 10 }), TimeoutError);
      assert.equal(pool.stats().creating, 1);
      // their 60 s timers must not outlive shutdown
      await pool.shutdown();
    },
  );

  sanitized(
    "sanitizers: a Proxy with a pool, and a context scope",
    async () => {
      let n = 0;
      const db = new Proxy<{ id: number; ping(): Promise<boolean> }>({
        fun: async () => ({ id: n++, ping: async () => true }),
        maxSize: 2,
        timeout: 100,
        delay: 5,
        health: (o) => o.ping(),
        logger: quiet,
      });
      const id = await withContext(async () => {
        const conn = await db._getObj();
        assert.equal(db.id, conn.id);
        await db._retObj();
        return conn.id;
      });
      assert.equal(await db._withObj((conn) => conn.id), id);
      const ids = await Promise.all(
        [0, 1, 2].map(() =>
          withContext(async () => {
            await sleep(2);
            return db.id;
          }, { take: [db] })
        ),
      );
      assert.equal(ids.length, 3);
      await sleep(15); // housekeeping rounds
      assert.equal(db._pool!.stats().nusing, 0);
      await db._shutdown();
    },
  );
}
