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
import { shutdownOn } from "./_track.ts";

describe("Pool: the original README example", () => {
  it("lends two objects, times out on the third, takes them back", async () => {
    const pool = new Pool({
      fun: (n) => `expensive object ${n}`,
      minSize: 2,
      maxSize: 2,
      timeout: 20,
    });
    const a = await pool.get();
    const b = await pool.get();
    assert.notEqual(a, b);
    await assert.rejects(pool.get(), TimeoutError);
    pool.ret(a);
    pool.ret(b);
    assert.equal(pool.stats().navail, 2);
    await pool.shutdown();
  });
});

describe("Pool: creation", () => {
  it("creates minSize objects at start, numbered from 0", () => {
    const numbers: number[] = [];
    const pool = new Pool({ fun: (n) => (numbers.push(n), { n }), minSize: 3 });
    assert.deepEqual(numbers, [0, 1, 2]);
    const s = pool.stats();
    assert.equal(s.nobjs, 3);
    assert.equal(s.navail, 3);
    assert.equal(s.ncreated, 3);
    assert.equal(s.ncreating, 3);
    return pool.shutdown();
  });

  it("defaults to minSize 1 and unlimited maxSize", async () => {
    const pool = new Pool({ fun: (n) => ({ n }) });
    assert.equal(pool.stats().nobjs, 1);
    const objs = await Promise.all(
      Array.from({ length: 20 }, () => pool.get()),
    );
    assert.equal(new Set(objs).size, 20);
    assert.equal(pool.stats().nobjs, 20);
    assert.equal(pool.stats().config.maxSize, 0);
    for (const o of objs) pool.ret(o);
    await pool.shutdown();
  });

  it("creates on demand when none is idle and fewer than maxSize exist", async () => {
    const b = new Backend();
    const pool = new Pool({ fun: b.fun, minSize: 0, maxSize: 2 });
    assert.equal(pool.stats().nobjs, 0);
    const x = await pool.get();
    assert.equal(x.n, 0);
    pool.ret(x);
    const y = await pool.get();
    assert.equal(y, x, "an idle object is reused before creating");
    const z = await pool.get();
    assert.equal(z.n, 1);
    assert.equal(b.calls, 2);
    pool.ret(y);
    pool.ret(z);
    await pool.shutdown();
  });

  it("accepts an async fun and async hooks", async () => {
    const events: string[] = [];
    const pool = new Pool<Conn>({
      fun: async (n) => {
        await flush();
        return { n, closed: 0, alive: true };
      },
      minSize: 0,
      opener: async (c) => void events.push(`open ${c.n}`),
      getter: async (c) => void events.push(`get ${c.n}`),
      retter: async (c) => void events.push(`ret ${c.n}`),
      closer: async (c) => void events.push(`close ${c.n}`),
    });
    const c = await pool.get();
    await pool.ret(c);
    await pool.shutdown();
    assert.deepEqual(events, ["open 0", "get 0", "ret 0", "close 0"]);
  });

  it("refills to minSize after objects are removed", async () => {
    const b = new Backend();
    const pool = new Pool({ fun: b.fun, minSize: 2, closer: b.closer });
    const c = await pool.get();
    pool.ret(c, { broken: true });
    assert.equal(c.closed, 1);
    assert.equal(pool.stats().nobjs, 2);
    assert.equal(b.calls, 3);
    await pool.shutdown();
  });

  it("rejects a get with CreationError (cause = fun's error) and frees the slot", async () => {
    let fail = true;
    const pool = new Pool({
      fun: (n) => {
        if (fail) throw new Error("no backend");
        return { n };
      },
      minSize: 0,
      maxSize: 1,
      logLevel: "off",
    });
    const err = await pool.get().catch((e) => e);
    assert.ok(err instanceof CreationError);
    assert.ok(err instanceof PoolError);
    assert.equal((err.cause as Error).message, "no backend");
    assert.match(err.message, /no backend/);
    fail = false;
    const o = await pool.get();
    assert.equal(
      pool.stats().nobjs,
      1,
      "the failed creation did not keep the slot",
    );
    pool.ret(o);
    await pool.shutdown();
  });

  it("rejects an async creation failure the same way", async () => {
    const pool = new Pool({
      fun: () => Promise.reject(new Error("refused")),
      minSize: 0,
      logLevel: "off",
    });
    const err = await pool.get().catch((e) => e);
    assert.ok(err instanceof CreationError);
    assert.equal((err.cause as Error).message, "refused");
    await pool.shutdown();
  });

  it("treats fun returning null, undefined or a held object as a creation error", async () => {
    const same = { same: true };
    for (const value of [null, undefined]) {
      const pool = new Pool<object>({
        fun: () => value as unknown as object,
        minSize: 0,
        logLevel: "off",
      });
      await assert.rejects(pool.get(), CreationError);
      await pool.shutdown();
    }
    const pool = new Pool({ fun: () => same, minSize: 0, logLevel: "off" });
    const a = await pool.get();
    await assert.rejects(pool.get(), /already holds/);
    pool.ret(a);
    await pool.shutdown();
  });

  it("logs a creation error while filling to minSize and keeps running", async () => {
    const log = recordingLogger();
    const pool = new Pool({
      fun: () => {
        throw new Error("down");
      },
      minSize: 2,
      logger: log,
    });
    assert.equal(pool.stats().nobjs, 0);
    // one warning for the outage, naming the error and what the pool does
    assert.equal(log.at("warn").length, 1);
    assert.match(
      log.at("warn")[0],
      /cannot create objects: object #0 failed: fun threw: down; retrying in the background/,
    );
    await pool.shutdown();
  });
});

describe("Pool: creation with an async opener", () => {
  it("one get with a sync fun and an async opener creates one object, not maxSize", async () => {
    let made = 0;
    let open!: () => void;
    const pool = new Pool({
      fun: (n) => {
        made++;
        return { n };
      },
      opener: () => new Promise<void>((r) => (open = r)),
      maxSize: 20,
      minSize: 0,
    });
    const t = pool.get();
    await flush();
    assert.equal(made, 1);
    assert.equal(pool.stats().nobjs, 1);
    open();
    const obj = await t;
    assert.equal(obj.n, 0);
    assert.equal(made, 1);
    pool.ret(obj);
    await pool.shutdown();
  });

  it("an unlimited pool with an async opener stops at what is asked for", async () => {
    let made = 0;
    const opens: (() => void)[] = [];
    const pool = new Pool({
      fun: (n) => {
        made++;
        return { n };
      },
      opener: () => new Promise<void>((r) => void opens.push(r)),
      minSize: 0,
    });
    const ts = [pool.get(), pool.get(), pool.get()];
    await flush();
    // maxCreating (2) counts objects being opened too
    assert.equal(made, 2);
    for (const open of opens.splice(0)) open();
    await flush();
    assert.equal(made, 3);
    for (const open of opens.splice(0)) open();
    const objs = await Promise.all(ts);
    assert.deepEqual(objs.map((o) => o.n).sort(), [0, 1, 2]);
    for (const o of objs) pool.ret(o);
    await pool.shutdown();
  });

  it("an opener that hangs past createTimeout fails that creation, and frees its slot", async () => {
    await withClock(async (clock) => {
      let opens = 0;
      const closed: number[] = [];
      const log = recordingLogger();
      const pool = new Pool({
        fun: (n) => ({ n }),
        // the first two hang, as a connect() to a black-holed host
        opener: () => (opens++ < 2 ? new Promise<void>(() => {}) : undefined),
        closer: (o) => void closed.push(o.n),
        minSize: 0,
        createTimeout: 100,
        logger: log,
      });
      try {
        const ts = [pool.get({ timeout: 1000 }), pool.get({ timeout: 1000 })];
        await clock.tickAsync(99);
        assert.equal(pool.stats().ncreated, 2, "maxCreating: both slots held");
        await clock.tickAsync(1);
        assert.deepEqual(closed.sort(), [0, 1], "closed, never lent");
        assert.equal(pool.stats().closedBy.opener, 2);
        assert.ok(pool.stats().ncreateErrors >= 1);
        assert.match(log.at("warn").join("\n"), /opener did not settle/);
        await clock.tickAsync(100); // after the back-off pause
        const objs = await Promise.all(ts);
        assert.deepEqual(objs.map((o) => o.n).sort(), [2, 3]);
        for (const o of objs) pool.ret(o);
      } finally {
        await shutdownOn(clock, pool);
      }
    });
  });

  it("ready() waits for the opener of the minSize-th object", async () => {
    let open!: () => void;
    const pool = new Pool({
      fun: (n) => ({ n }),
      opener: () => new Promise<void>((r) => (open = r)),
      minSize: 1,
    });
    let ready = false;
    const r = pool.ready().then(() => (ready = true));
    await flush();
    assert.equal(ready, false);
    open();
    await r;
    assert.equal(pool.stats().navail, 1);
    await pool.shutdown();
  });

  it("a thenable whose then throws is a creation error, not a throw from get", async () => {
    const pool = new Pool<object>({
      fun: () =>
        ({
          then() {
            throw new Error("broken thenable");
          },
        }) as unknown as Promise<object>,
      minSize: 0,
      logLevel: "off",
    });
    await assert.rejects(pool.get(), (err: Error) => {
      assert.equal(err.name, "CreationError");
      assert.match((err.cause as Error).message, /broken thenable/);
      return true;
    });
    assert.equal(pool.stats().creating, 0);
    await pool.shutdown();
  });
});

describe("Pool: lending and returning", () => {
  it("never lends one object to two borrowers", async () => {
    const pool = new Pool({ fun: (n) => ({ n }), maxSize: 3 });
    const held = new Set<object>();
    await Promise.all(Array.from({ length: 50 }, async () => {
      for (let i = 0; i < 20; i++) {
        const o = await pool.get();
        assert.ok(!held.has(o), "object lent twice");
        held.add(o);
        await flush(i % 3);
        held.delete(o);
        pool.ret(o);
      }
    }));
    assert.equal(pool.stats().nuses, 1000);
    assert.ok(pool.stats().nobjs <= 3);
    await pool.shutdown();
  });

  it("serves waiters first come, first served", async () => {
    const pool = new Pool({ fun: (n) => ({ n }), maxSize: 1 });
    const first = await pool.get();
    const order: number[] = [];
    const waits = [0, 1, 2, 3, 4].map((i) =>
      pool.get().then((o) => {
        order.push(i);
        pool.ret(o);
      })
    );
    pool.ret(first);
    await Promise.all(waits);
    assert.deepEqual(order, [0, 1, 2, 3, 4]);
    await pool.shutdown();
  });

  it("ignores a double return with a warning naming the object", async () => {
    const log = recordingLogger();
    const pool = new Pool({
      fun: (n) => ({ n }),
      logger: log,
      tracer: (o) => `conn-${o.n}`,
    });
    const o = await pool.get();
    pool.ret(o);
    pool.ret(o);
    assert.equal(pool.stats().navail, 1);
    const warnings = log.at("warn");
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /conn-0/);
    assert.match(warnings[0], /returned twice/);
    await pool.shutdown();
  });

  it("ignores a foreign return with a warning", async () => {
    const log = recordingLogger();
    const pool = new Pool<{ n: number }>({ fun: (n) => ({ n }), logger: log });
    pool.ret({ n: 42 });
    assert.equal(pool.stats().navail, 1);
    assert.match(log.at("warn")[0], /does not hold/);
    await pool.shutdown();
  });

  it("lends through use() and gives back even when fn throws", async () => {
    const pool = new Pool({ fun: (n) => ({ n }) });
    assert.equal(await pool.use((o) => o.n + 1), 1);
    assert.equal(await pool.use(async (o) => o.n + 2), 2);
    await assert.rejects(
      pool.use(() => {
        throw new Error("boom");
      }),
      /boom/,
    );
    const s = pool.stats();
    assert.equal(s.navail, 1);
    assert.equal(s.nusing, 0);
    assert.equal(s.nuses, 3);
    await pool.shutdown();
  });

  it("retires an object after maxUse uses", async () => {
    const b = new Backend();
    const pool = new Pool({ fun: b.fun, maxUse: 2, closer: b.closer });
    const o = await pool.get();
    pool.ret(o);
    assert.equal(await pool.get(), o);
    pool.ret(o);
    assert.equal(o.closed, 1);
    assert.equal(pool.stats().nwornout, 1);
    const p = await pool.get();
    assert.notEqual(p, o);
    pool.ret(p);
    await pool.shutdown();
  });

  it("releases a lease once, even if disposed twice", async () => {
    const log = recordingLogger();
    const pool = new Pool({ fun: (n) => ({ n }), logger: log });
    const lease = await pool.lease();
    await lease.release();
    await lease[Symbol.asyncDispose]();
    lease[Symbol.dispose]();
    assert.equal(log.at("warn").length, 0);
    assert.equal(pool.stats().navail, 1);
    await pool.shutdown();
  });
});

describe("Pool: hooks", () => {
  it("calls opener, getter, retter, closer in order", async () => {
    const events: string[] = [];
    const pool = new Pool({
      fun: (n) => ({ n }),
      minSize: 0,
      opener: (o) => void events.push(`open ${o.n}`),
      getter: (o) => void events.push(`get ${o.n}`),
      retter: (o) => void events.push(`ret ${o.n}`),
      closer: (o) => void events.push(`close ${o.n}`),
    });
    const o = await pool.get();
    await pool.ret(o);
    await pool.shutdown();
    assert.deepEqual(events, ["open 0", "get 0", "ret 0", "close 0"]);
  });

  it("logs a hook that throws or rejects and goes on", async () => {
    const log = recordingLogger();
    const boom = () => {
      throw new Error("hook boom");
    };
    const reject = () => Promise.reject(new Error("hook reject"));
    const pool = new Pool({
      fun: (n) => ({ n }),
      minSize: 0,
      logger: log,
      getter: reject,
      retter: boom,
      closer: reject,
    });
    const o = await pool.get();
    assert.equal(o.n, 0);
    await pool.ret(o);
    assert.equal(pool.stats().navail, 1);
    await pool.shutdown();
    const errors = log.at("error").join("\n");
    for (const name of ["getter", "retter", "closer"]) {
      assert.match(errors, new RegExp(`${name} threw`));
    }
  });

  it("an opener that throws or rejects fails the creation: its object is closed, never lent", async () => {
    for (const opener of ["sync", "async"] as const) {
      const closed: number[] = [];
      const boom = new Error("handshake failed");
      let fail = true;
      const pool = new Pool({
        fun: (n) => ({ n }),
        minSize: 0,
        logLevel: "off",
        opener: () => {
          if (!fail) return;
          if (opener === "sync") throw boom;
          return Promise.reject(boom);
        },
        closer: (o) => void closed.push(o.n),
      });
      // a get without timeout gets the opener's error, as for fun's
      const err = await pool.get().catch((e) => e);
      assert.ok(err instanceof CreationError, `${opener}: ${err}`);
      assert.equal(err.cause, boom);
      assert.match(err.message, /opener threw: handshake failed/);
      assert.deepEqual(closed, [0], "the unopened object is closed");
      const s = pool.stats();
      assert.equal(s.closedBy.opener, 1);
      assert.equal(s.nobjs, 0);
      assert.equal(s.ncreateErrors, 1);
      fail = false;
      const o = await pool.get();
      assert.equal(o.n, 1, "the next creation is lent");
      pool.ret(o);
      await pool.shutdown();
    }
  });

  it("describes objects in stats through stats, tracer, or String", async () => {
    const withStats = new Pool({
      fun: (n) => ({ n }),
      stats: (o) => ({ id: o.n }),
    });
    assert.deepEqual(withStats.stats().avail[0].stats, { id: 0 });
    const withTracer = new Pool({
      fun: (n) => ({ n }),
      tracer: (o) => `#${o.n}`,
    });
    assert.equal(withTracer.stats().avail[0].trace, "#0");
    const plain = new Pool({ fun: (n) => `s${n}` });
    assert.equal(plain.stats().avail[0].str, "s0");
    await Promise.all([
      withStats.shutdown(),
      withTracer.shutdown(),
      plain.shutdown(),
    ]);
  });

  it("keeps String(pool) working when a stats hook gives what JSON cannot hold", async () => {
    const log = recordingLogger();
    const pool = new Pool({
      fun: (n) => ({ n }),
      logger: log,
      // a JavaScript caller is not held by the JsonValue type
      stats: ((o: { n: number }) => ({ big: BigInt(o.n) })) as never,
    });
    const parsed = JSON.parse(String(pool));
    assert.equal(parsed.avail[0].stats, undefined);
    assert.match(parsed.avail[0].str, /^stats hook threw: .*BigInt/i);
    assert.match(log.at("error").join("\n"), /stats hook threw on object #0/);
    assert.equal(JSON.parse(JSON.stringify({ pool })).pool.nobjs, 1);
    await pool.shutdown();
  });
});

describe("Pool: stats", () => {
  it("records each object's last get and return with housekeeping, null without a clock", async () => {
    await withClock(async (clock) => {
      const timed = new Pool({ fun: (n) => ({ n }), delay: 60_000 });
      const plain = new Pool({ fun: (n) => ({ n }) });
      for (const pool of [timed, plain]) {
        const o = await pool.get();
        await clock.tickAsync(30);
        pool.ret(o);
        await clock.tickAsync(20);
      }
      // timed: lent at 0, back at 30; now is 100
      const [t] = timed.stats().avail;
      assert.equal(t.lastGet, 100);
      assert.equal(t.lastRet, 70);
      const [u] = plain.stats().avail;
      assert.equal(u.lastGet, null);
      assert.equal(u.lastRet, null);
      await Promise.all([timed.shutdown(), plain.shutdown()]);
    });
  });

  it("is JSON-compatible and String(pool) is its JSON", async () => {
    const pool = new Pool({ fun: (n) => ({ n }), minSize: 2, name: "db" });
    const o = await pool.get();
    const s = pool.stats();
    assert.deepEqual(JSON.parse(JSON.stringify(s)), s);
    const parsed = JSON.parse(String(pool));
    assert.equal(parsed.id, "db");
    assert.equal(parsed.nusing, 1);
    assert.equal(parsed.navail, 1);
    for (
      const key of [
        "navail",
        "nusing",
        "nobjs",
        "ncreating",
        "ncreated",
        "nuses",
        "nkilled",
        "nrecycled",
        "nwornout",
        "nborrows",
        "nreturns",
        "ndestroys",
        "nhealth",
        "badHealth",
        "hkRounds",
        "hkErrors",
        "hcRounds",
        "hcErrors",
      ]
    ) assert.equal(typeof parsed[key], "number", key);
    assert.equal(s.nobjs, s.navail + s.nusing + s.nbusy);
    pool.ret(o);
    await pool.shutdown();
  });

  it("gives each pool its own id", async () => {
    const a = new Pool({ fun: () => ({}) });
    const b = new Pool({ fun: () => ({}) });
    assert.notEqual(a.id, b.id);
    await Promise.all([a.shutdown(), b.shutdown()]);
  });
});
