// Objects that report their own death (evict), and a classifier of errors
// (isBroken) that says what a failed callback means for its object.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Pool, type PoolOptions, Proxy } from "../mod.ts";
import { withContext } from "../context.ts";
import {
  Backend,
  type Conn,
  flush,
  recordingLogger,
  withClock,
} from "./_helpers.ts";
import { shutdownOn, track } from "./_track.ts";

function make(options: Partial<PoolOptions<Conn>> = {}) {
  const b = new Backend();
  const log = recordingLogger();
  const pool = new Pool<Conn>({
    fun: b.fun,
    closer: b.closer,
    logger: log,
    ...options,
  });
  return { pool, b, log };
}

describe("evict(): an object reports its own death", () => {
  it("idle: closed and removed at once, and the pool refills to minSize", async () => {
    const { pool, b } = make({ minSize: 2 });
    const [c0] = b.created;
    assert.equal(pool.evict(c0), true);
    assert.equal(c0.closed, 1, "closed at once");
    const s = pool.stats();
    assert.equal(s.closedBy.evicted, 1);
    assert.equal(s.nobjs, 2, "refilled to minSize");
    assert.equal(b.created.length, 3);
    for (let i = 0; i < 2; i++) assert.notEqual(await pool.get(), c0);
    await pool.shutdown({ timeout: 0 });
  });

  it("lent: closed when it comes back, never lent again", async () => {
    const { pool } = make({ maxSize: 1 });
    const c = await pool.get();
    assert.equal(pool.evict(c), true);
    assert.equal(c.closed, 0, "its borrower still has it");
    pool.ret(c);
    assert.equal(c.closed, 1, "closed on return");
    assert.equal(pool.stats().closedBy.evicted, 1);
    const next = await pool.get();
    assert.notEqual(next, c);
    pool.ret(next);
    assert.equal(next.closed, 0, "later returns take their usual path");
    assert.equal(pool.stats().navail, 1);
    await pool.shutdown();
  });

  it("lent to use(): closed when the callback ends", async () => {
    const { pool } = make();
    let inside: Conn | undefined;
    await pool.use((c) => {
      inside = c;
      pool.evict(c); // say the client emitted 'error' meanwhile
    });
    assert.equal(inside!.closed, 1);
    assert.equal(pool.stats().nobjs, 1, "replaced");
    await pool.shutdown();
  });

  it("a waiter gets a new object when the evicted one comes back", async () => {
    const { pool } = make({ maxSize: 1 });
    const c = await pool.get();
    const waiting = track(pool.get());
    pool.evict(c);
    pool.ret(c);
    await flush();
    assert.ok(waiting.settled);
    assert.notEqual(waiting.value, c);
    pool.ret(waiting.value as Conn);
    await pool.shutdown();
  });

  it("under a health check: closed when the check ends, even if it passes", async () => {
    await withClock(async (clock) => {
      let release!: () => void;
      const { pool, b } = make({
        health: () => new Promise<boolean>((r) => (release = () => r(true))),
        delay: 100,
      });
      try {
        await clock.tickAsync(100); // a health round borrows the idle object
        assert.equal(pool.stats().nbusy, 1);
        assert.equal(pool.evict(b.created[0]), true);
        release();
        await clock.tickAsync(0);
        assert.equal(b.created[0].closed, 1);
        assert.equal(pool.stats().closedBy.evicted, 1);
      } finally {
        await shutdownOn(clock, pool);
      }
    });
  });

  it("during a getter: the waiter gets another object", async () => {
    await withClock(async (clock) => {
      const { pool, b } = make({
        getter: () => new Promise<void>((r) => setTimeout(r, 10)),
      });
      try {
        const got = track(pool.get());
        await clock.tickAsync(5);
        pool.evict(b.created[0]);
        await clock.tickAsync(20);
        assert.ok(got.settled);
        assert.equal((got.value as Conn).n, 1, "a new object");
        assert.equal(b.created[0].closed, 1);
        pool.ret(got.value as Conn);
      } finally {
        await shutdownOn(clock, pool);
      }
    });
  });

  it("unknown, or closed already: nothing happens", async () => {
    const { pool, b } = make();
    assert.equal(pool.evict({ n: 99, closed: 0, alive: true }), false);
    const c = await pool.get();
    pool.ret(c, { broken: true });
    assert.equal(pool.evict(c), false);
    assert.equal(c.closed, 1, "closed once");
    const s = pool.stats();
    assert.equal(s.closedBy.evicted, 0);
    assert.equal(s.ndestroys, 1);
    assert.equal(b.created.length, 2);
    await pool.shutdown();
  });

  it("twice, or during shutdown: each object is closed once", async () => {
    const { pool } = make();
    const c = await pool.get();
    pool.evict(c);
    pool.evict(c);
    const done = pool.shutdown();
    pool.evict(c);
    pool.ret(c);
    await done;
    assert.equal(c.closed, 1);
    assert.equal(pool.stats().closedBy.evicted, 1);
    assert.equal(pool.stats().ndestroys, 1);
  });
});

describe("isBroken: what a failed callback means for its object", () => {
  const boom = new Error("connection reset");

  for (
    const [verdict, closed, checked] of [
      [true, 1, 0],
      [false, 0, 0],
      [undefined, 0, 1],
    ] as const
  ) {
    it(
      `${verdict}: ${
        verdict === true
          ? "closed at once, no health check"
          : verdict === false
          ? "reused as it is, no health check"
          : "health decides (suspect)"
      }`,
      async () => {
        let checks = 0;
        const seen: unknown[] = [];
        const { pool, b } = make({
          health: () => (checks++, true),
          isBroken: (err, obj) => {
            seen.push(err, obj);
            return verdict;
          },
        });
        await assert.rejects(
          pool.use(() => {
            throw boom;
          }),
          boom,
        );
        assert.deepEqual(seen, [boom, b.created[0]]);
        assert.equal(b.created[0].closed, closed);
        assert.equal(checks, checked);
        assert.equal(pool.stats().closedBy.broken, closed);
        await pool.shutdown();
      },
    );
  }

  it("one that throws, or returns something else, leaves the object suspect, and is logged", async () => {
    for (
      const isBroken of [() => 42 as never, () => {
        throw new Error("classifier bug");
      }]
    ) {
      let checks = 0;
      const { pool, log } = make({ health: () => (checks++, true), isBroken });
      await assert.rejects(
        pool.use(() => {
          throw boom;
        }),
      );
      assert.equal(checks, 1, "suspect: checked");
      assert.match(log.at("error").join("\n"), /isBroken (threw|returned 42)/);
      await pool.shutdown();
    }
  });

  it("is asked about the error of a proxy's context and of _withObj", async () => {
    const seen: unknown[] = [];
    const db = new Proxy<Conn>({
      fun: new Backend().fun,
      isBroken: (err) => (seen.push(err), true),
    });
    const a = new Error("in a context");
    await assert.rejects(withContext(() => Promise.reject(a), { take: [db] }));
    const b = new Error("in _withObj");
    await assert.rejects(db._withObj(() => Promise.reject(b)));
    assert.deepEqual(seen, [a, b]);
    assert.equal(db._pool!.stats().closedBy.broken, 2);
    await db._shutdown();
  });
});
