// Misuse is never silent: every options object on every call is checked as
// strictly as the constructor's, the pool's own helpers (use(), a lease)
// never give back a lend that already ended, and errors and logs say what
// really happened.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  CreationError,
  Pool,
  PoolError,
  type PoolOptions,
  TimeoutError,
} from "../mod.ts";
import {
  Backend,
  type Conn,
  flush,
  recordingLogger,
  withClock,
} from "./_helpers.ts";
import { shutdownOn } from "./_track.ts";

function make(
  options: Partial<PoolOptions<Conn>> = {},
): { pool: Pool<Conn>; b: Backend; log: ReturnType<typeof recordingLogger> } {
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

/** A TypeError naming `key`, and suggesting `meant` when given. */
function unknownKey(key: string, meant?: string): (err: unknown) => boolean {
  return (err) => {
    assert.ok(err instanceof TypeError, `not a TypeError: ${err}`);
    assert.match(err.message, new RegExp(`'${key}' is not a known option`));
    if (meant !== undefined) {
      assert.match(err.message, new RegExp(`did you mean '${meant}'\\?`));
    }
    return true;
  };
}

describe("Misuse: unknown and ill-typed options on every call", () => {
  it("get() refuses a misspelt key, whether an object is idle or not", async () => {
    const { pool } = make({ maxSize: 1 });
    // an idle object: the fast path must not take it
    await assert.rejects(
      pool.get({ timout: 100 } as never),
      unknownKey("timout", "timeout"),
    );
    assert.equal(pool.stats().nusing, 0, "nothing lent");
    const held = await pool.get();
    // nothing idle: it must not wait forever either
    await assert.rejects(
      pool.get({ timout: 100 } as never),
      unknownKey("timout", "timeout"),
    );
    assert.equal(pool.stats().nwaiting, 0);
    pool.ret(held);
    await pool.shutdown();
  });

  it("get(), use() and lease() name a wrong type or value and the key", async () => {
    const { pool } = make();
    await assert.rejects(
      pool.get({ timeout: "5s" } as never),
      /'timeout' must be a non-negative number of milliseconds: current value is "5s"/,
    );
    await assert.rejects(pool.get({ timeout: -1 }), RangeError);
    await assert.rejects(
      pool.use(() => 1, { signal: {} } as never),
      /'signal' must be an AbortSignal/,
    );
    await assert.rejects(
      pool.lease({ timout: 10 } as never),
      unknownKey("timout", "timeout"),
    );
    await assert.rejects(pool.use(() => 1, null as never), TypeError);
    assert.equal(pool.stats().nusing, 0);
    await pool.shutdown();
  });

  it("ret() refuses a misspelt or ill-typed option and leaves the object lent; a corrected ret works", async () => {
    const { pool, b } = make();
    const c = await pool.get();
    assert.throws(
      () => pool.ret(c, { brokne: true } as never),
      unknownKey("brokne", "broken"),
    );
    assert.throws(
      () => pool.ret(c, { broken: "yes" } as never),
      /'broken' must be a boolean: current value is "yes"/,
    );
    assert.throws(
      () => pool.ret(c, { suspect: 1 } as never),
      /'suspect' must be a boolean: current value is 1/,
    );
    assert.equal(pool.stats().nusing, 1, "still lent to its caller");
    pool.ret(c, { broken: true });
    assert.equal(b.created[0].closed, 1, "the broken one is closed");
    const next = await pool.get();
    assert.notEqual(next, c, "never lent again");
    pool.ret(next);
    await pool.shutdown();
  });

  it("ready(), resize() and shutdown() refuse unknown keys with a suggestion", async () => {
    const { pool } = make({ maxSize: 2 });
    await assert.rejects(
      pool.ready({ timout: 100 } as never),
      unknownKey("timout", "timeout"),
    );
    assert.throws(
      () => pool.resize({ maxsize: 5 } as never),
      unknownKey("maxsize", "maxSize"),
    );
    assert.equal(pool.stats().config.maxSize, 2, "changed nothing");
    await assert.rejects(
      pool.shutdown({ timout: 100 } as never),
      unknownKey("timout", "timeout"),
    );
    assert.equal(pool.stats().shutdown, false, "not shut down");
    const done = pool.shutdown();
    // checked on every call, also once shutdown began
    await assert.rejects(
      pool.shutdown({ timeout: -1 }),
      (err) => err instanceof RangeError && /'timeout'/.test(err.message),
    );
    await done;
  });

  it("an unknown key without a near one lists the known keys", async () => {
    const { pool } = make();
    await assert.rejects(
      pool.get({ deadline: 5 } as never),
      /'deadline' is not a known option; the known options are timeout, signal/,
    );
    await pool.shutdown();
  });
});

describe("Misuse: use() and a lease give back only the lend they made", () => {
  it("use() whose callback gave the object back does not give it back again", async () => {
    const { pool, log } = make({ maxSize: 1 });
    let other: Conn | undefined;
    const result = await pool.use(async (o) => {
      pool.ret(o);
      other = await pool.get(); // the same object, lent again
      return o === other;
    });
    assert.equal(result, true, "the same object was lent again");
    // other is still held: use() must not have returned it
    assert.equal(pool.stats().nusing, 1);
    assert.equal(pool.stats().navail, 0);
    assert.match(
      log.at("warn").join("\n"),
      /use\(\) did not give back object #0: it was given back already \(by ret\(\)\) and is now lent to another borrower/,
    );
    const third = pool.get({ timeout: 5 });
    await assert.rejects(third, TimeoutError, "not lent to a second borrower");
    pool.ret(other!);
    assert.equal(pool.stats().navail, 1);
    await pool.shutdown();
  });

  it("use() whose callback threw after giving the object back gives back nothing", async () => {
    const { pool, log } = make({ health: () => true });
    await assert.rejects(
      pool.use((o) => {
        pool.ret(o);
        throw new Error("work failed");
      }),
      /work failed/,
    );
    assert.equal(pool.stats().navail, 1);
    assert.equal(pool.stats().nhealth, 0, "not checked as suspect: not ours");
    assert.match(log.at("warn").join("\n"), /given back already/);
    await pool.shutdown();
  });

  it("a lease released after pool.ret(lease.obj) does not give the object back twice", async () => {
    const { pool, log } = make({ maxSize: 1 });
    const lease = await pool.lease();
    pool.ret(lease.obj);
    const again = await pool.get();
    assert.equal(again, lease.obj);
    await lease.release();
    assert.equal(pool.stats().nusing, 1, "still lent to its second borrower");
    assert.match(log.at("warn").join("\n"), /a lease did not give back/);
    pool.ret(again);
    await pool.shutdown();
  });

  it("use() after its object was killed for being held too long says so", async () => {
    await withClock(async (clock) => {
      const { pool, log } = make({ maxUsingDelayKill: 100, delay: 10 });
      try {
        const done = pool.use(() => clock.tickAsync(200));
        await clock.tickAsync(250);
        await done;
        assert.equal(pool.stats().closedBy.killed, 1);
        assert.match(
          log.at("warn").join("\n"),
          /use\(\) did not give back object #0: it was closed meanwhile \(killed/,
        );
      } finally {
        await shutdownOn(clock, pool);
      }
    });
  });
});

describe("Misuse: errors and logs tell the truth", () => {
  it("a TimeoutError while a creation hangs says so, not 'give objects back'", async () => {
    await withClock(async (clock) => {
      const pool = new Pool({
        fun: () => new Promise<never>(() => {}),
        logLevel: "off",
      });
      try {
        const t = pool.get({ timeout: 100 }).catch((e) => e);
        await clock.tickAsync(100);
        const err = await t;
        assert.ok(err instanceof TimeoutError);
        assert.match(err.message, /a creation has been under way for 100 ms/);
        assert.doesNotMatch(err.message, /give objects back/);
        assert.equal(err.cause, undefined);
      } finally {
        await shutdownOn(clock, pool);
      }
    });
  });

  it("a TimeoutError while objects are lent says to give them back sooner", async () => {
    const { pool } = make({ maxSize: 1 });
    const held = await pool.get();
    const err = await pool.get({ timeout: 5 }).catch((e) => e);
    assert.ok(err instanceof TimeoutError);
    assert.match(
      err.message,
      /objects are lent \(1 alive, 1 in use, maxSize 1\); give objects back sooner/,
    );
    pool.ret(held);
    await pool.shutdown();
  });

  it("a TimeoutError while creations fail carries the last error, and says so", async () => {
    await withClock(async (clock) => {
      const { pool, b, log } = make({ minSize: 0 });
      b.down = true;
      try {
        const t = pool.get({ timeout: 200 }).catch((e) => e);
        await clock.tickAsync(200);
        const err = await t;
        assert.ok(err instanceof TimeoutError);
        assert.equal(err.cause, b.error);
        assert.match(err.message, /cannot create objects .*connection refused/);
        // one warning, naming the pool once (the logger's prefix)
        const warns = log.at("warn");
        assert.equal(warns.length, 1, warns.join("\n"));
        assert.equal(warns[0].split(pool.id).length - 1, 1);
      } finally {
        await shutdownOn(clock, pool);
      }
    });
  });

  it("ret() after shutdown says the pool is shut down", async () => {
    const { pool, log } = make();
    const c = await pool.get();
    await pool.shutdown({ timeout: 0 });
    pool.ret(c);
    assert.match(log.at("warn").at(-1)!, /the pool is shut down/);
  });

  it("resize() after shutdown throws PoolError", async () => {
    const { pool } = make();
    await pool.shutdown();
    assert.throws(() => pool.resize({ maxSize: 3 }), PoolError);
  });
});

describe("Misuse: start-up", () => {
  it("a get() right after construction waits for the minSize creation under way", async () => {
    await withClock(async (clock) => {
      // the constructor starts creating #0 (minSize 1), which takes 50 ms
      const slow = new Backend();
      slow.latency = 50;
      const p = new Pool({ fun: slow.fun, logLevel: "off" });
      try {
        const got = p.get();
        await clock.tickAsync(50);
        const o = await got;
        assert.equal(slow.calls, 1, "one creation, not two");
        assert.equal(o.n, 0);
        p.ret(o);
      } finally {
        await shutdownOn(clock, p);
      }
    });
  });

  it("and still rejects at once with CreationError when that creation fails", async () => {
    await withClock(async (clock) => {
      const b = new Backend();
      b.latency = 50;
      b.down = true;
      const pool = new Pool({ fun: b.fun, logLevel: "off" });
      try {
        const got = pool.get().catch((e) => e);
        await clock.tickAsync(50);
        const err = await got;
        assert.ok(err instanceof CreationError);
        assert.equal(err.cause, b.error);
        assert.equal(b.calls, 1);
      } finally {
        await shutdownOn(clock, pool);
      }
    });
  });

  it("an opener that throws fails the creation; a get with a timeout rides it out", async () => {
    await withClock(async (clock) => {
      let failing = 2;
      const closed: number[] = [];
      const pool = new Pool({
        fun: (n) => ({ n }),
        minSize: 0,
        logLevel: "off",
        opener: () => {
          if (failing-- > 0) throw new Error("handshake failed");
        },
        closer: (o) => void closed.push(o.n),
      });
      try {
        const got = pool.get({ timeout: 1000 });
        await clock.tickAsync(100);
        const o = await got;
        assert.equal(o.n, 2, "the first two failed and were closed");
        assert.deepEqual(closed, [0, 1]);
        assert.equal(pool.stats().closedBy.opener, 2);
        pool.ret(o);
      } finally {
        await shutdownOn(clock, pool);
      }
    });
  });
});

describe("Misuse: shutdown of many idle objects", () => {
  it("closes 100,000 idle objects, each exactly once", async () => {
    let closed = 0;
    const pool = new Pool({
      fun: (n) => ({ n }),
      minSize: 100_000,
      closer: () => void closed++,
      logLevel: "off",
    });
    assert.equal(pool.stats().navail, 100_000);
    await pool.shutdown();
    await flush();
    assert.equal(closed, 100_000);
    assert.equal(pool.stats().nobjs, 0);
  });
});
