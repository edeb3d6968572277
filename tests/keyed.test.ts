// KeyedPool (issue 20): one pool per key under one limit across keys. Each
// key's pool is a Pool, so what a Pool promises is tested in its own files;
// here, what the keyed pool adds: keys made on first use and closed once
// idle, the limit across keys (oldest idle object of another key closed to
// make room, one line across keys, first come first served), hooks that
// receive the key, strict options on every call, a per-key outage ridden
// out while other keys are served, and a shutdown that closes every object
// of every key once.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  CreationError,
  KeyedPool,
  type KeyedPoolOptions,
  PoolError,
  TimeoutError,
} from "../mod.ts";
import { flush, recordingLogger, withClock } from "./_helpers.ts";
import { shutdownOn, track } from "./_track.ts";

/** An object of the fake backend: its key, its number, closer calls. */
interface Obj {
  key: string;
  n: number;
  closed: number;
}

/** A backend per key: each can go down; counts objects alive per key. */
class Backends {
  readonly made: Obj[] = [];
  readonly down = new Set<string>();
  /** Most objects alive (made, not closed) seen at once, across keys. */
  peak = 0;
  /** Milliseconds each creation takes (0: synchronous). */
  latency = 0;
  readonly error = new Error("connection refused");

  fun = (key: string, n: number): Obj | Promise<Obj> => {
    const make = () => {
      if (this.down.has(key)) throw this.error;
      const o = { key, n, closed: 0 };
      this.made.push(o);
      this.peak = Math.max(this.peak, this.alive());
      return o;
    };
    if (this.latency === 0) return make();
    return new Promise((resolve, reject) =>
      setTimeout(() => {
        try {
          resolve(make());
        } catch (err) {
          reject(err);
        }
      }, this.latency)
    );
  };

  closer = (o: Obj): void => {
    o.closed++;
  };

  alive(key?: string): number {
    return this.made.filter((o) =>
      o.closed === 0 && (key === undefined || o.key === key)
    ).length;
  }
}

function make(
  options: Partial<KeyedPoolOptions<string, Obj>> = {},
): {
  pool: KeyedPool<string, Obj>;
  b: Backends;
  log: ReturnType<typeof recordingLogger>;
} {
  const b = new Backends();
  const log = recordingLogger();
  const pool = new KeyedPool<string, Obj>({
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

describe("KeyedPool: keys and lending", () => {
  it("makes a key's pool on first use, and lends each key its own objects", async () => {
    const { pool, b } = make();
    assert.equal(pool.stats().nkeys, 0, "no key before first use");
    const a = await pool.get("a");
    const b0 = await pool.get("b");
    const a2 = await pool.get("a");
    assert.deepEqual([a.key, a.n, b0.key, b0.n, a2.key, a2.n], [
      "a",
      0,
      "b",
      0,
      "a",
      1,
    ]);
    pool.ret(a);
    assert.equal(await pool.get("a"), a, "an idle object of its key");
    pool.ret(a);
    pool.ret(a2);
    pool.ret(b0);
    const s = pool.stats();
    assert.equal(s.nkeys, 2);
    assert.equal(s.nkeysOpened, 2);
    assert.equal(s.total.nobjs, 3);
    assert.equal(s.total.navail, 3);
    assert.equal(s.total.nuses, 4);
    assert.deepEqual(s.keys.map((k) => [k.key, k.nobjs]), [["a", 2], [
      "b",
      1,
    ]]);
    assert.match(s.keys[0].id, /\[a\]$/, "a key's pool is named after it");
    assert.equal(b.made.length, 3);
    await pool.shutdown();
  });

  it("use() and lease() lend from the key's pool and give back", async () => {
    const { pool } = make();
    assert.equal(await pool.use("x", (o) => o.key), "x");
    const lease = await pool.lease("y");
    assert.equal(lease.obj.key, "y");
    assert.equal(pool.stats().total.nusing, 1);
    await lease.release();
    await assert.rejects(
      pool.use("x", () => {
        throw new Error("query failed");
      }),
      /query failed/,
    );
    const s = pool.stats();
    assert.equal(s.total.nusing, 0);
    assert.equal(s.total.nuses, 3);
    await pool.shutdown();
  });

  it("keys are compared as Map keys: objects by identity, numbers by value", async () => {
    const seen: unknown[] = [];
    const pool = new KeyedPool<unknown, { k: unknown }>({
      fun: (k) => {
        seen.push(k);
        return { k };
      },
    });
    const host = { host: "a.example" };
    await pool.use(host, () => {});
    await pool.use(host, () => {});
    await pool.use({ host: "a.example" }, () => {});
    await pool.use(1, () => {});
    await pool.use(1, () => {});
    assert.equal(seen.length, 3);
    assert.deepEqual(pool.stats().keys.map((k) => k.key), [
      '{"host":"a.example"}',
      '{"host":"a.example"}',
      "1",
    ]);
    await pool.shutdown();
  });

  it("evict() closes an idle object of any key at once, and a lent one when back", async () => {
    const { pool, b } = make();
    const a = await pool.get("a");
    const c = await pool.get("c");
    pool.ret(a);
    assert.equal(pool.evict(a), true);
    assert.equal(a.closed, 1);
    assert.equal(pool.evict(c), true);
    assert.equal(c.closed, 0, "lent: closed when back");
    pool.ret(c);
    assert.equal(c.closed, 1);
    assert.equal(pool.evict(a), false, "closed already");
    assert.equal(pool.evict({ key: "z", n: 0, closed: 0 }), false, "foreign");
    assert.equal(pool.stats().total.closedBy.evicted, 2);
    assert.equal(b.alive(), 0);
    await pool.shutdown();
  });

  it("ignores, with a warning, the return of an object no key holds", async () => {
    const { pool, log } = make();
    const a = await pool.get("a");
    pool.ret(a, { broken: true });
    pool.ret(a);
    pool.ret({ key: "z", n: 9, closed: 0 });
    assert.equal(log.at("warn").length, 2);
    assert.match(log.at("warn")[0], /no key's pool holds it/);
    await pool.shutdown();
  });

  it("refuses an object that fun returns for two keys", async () => {
    const shared = { key: "shared", n: 0, closed: 0 };
    const log = recordingLogger();
    const pool = new KeyedPool<string, Obj>({
      fun: () => shared,
      logger: log,
    });
    assert.equal(await pool.get("a"), shared);
    const err = await pool.get("b").catch((e) => e);
    assert.ok(err instanceof CreationError, String(err));
    assert.match(
      String(err.cause ?? err.message),
      /fun returned an object the pool of key "a" holds/,
    );
    pool.ret(shared);
    await pool.shutdown();
  });
});

describe("KeyedPool: hooks receive the key", () => {
  it("passes the key to fun and to every hook, the signal only when declared", async () => {
    const calls: string[] = [];
    const signals: Record<string, string> = {};
    const note = (hook: string) => (o: Obj, key: string) =>
      void calls.push(`${hook} ${key} ${o.key}${o.n}`);
    const withSignal = (hook: string) =>
    (
      o: Obj,
      key: string,
      signal: AbortSignal,
    ) => {
      signals[hook] = typeof signal?.aborted;
      calls.push(`${hook} ${key} ${o.key}${o.n}`);
    };
    let funSignal = "";
    const pool = new KeyedPool<string, Obj>({
      fun: (key, n, signal) => {
        funSignal = typeof signal?.aborted;
        return { key, n, closed: 0 };
      },
      opener: note("opener"),
      getter: withSignal("getter"),
      retter: note("retter"),
      reset: note("reset"),
      health: (o, key) => {
        calls.push(`health ${key} ${o.key}${o.n}`);
        return true;
      },
      check: (o, key, signal) => {
        signals.check = typeof signal?.aborted;
        calls.push(`check ${key} ${o.key}${o.n}`);
        return true;
      },
      checkBypass: 0,
      closer: withSignal("closer"),
      tracer: (o, key) => `${key}/${o.n}`,
      stats: (o, key) => ({ key, n: o.n }),
      isBroken: (err, o, key) => {
        calls.push(`isBroken ${key} ${o.key}${o.n} ${(err as Error).message}`);
        return undefined;
      },
    });
    const o = await pool.get("t1");
    assert.deepEqual(pool.stats().keys[0].using[0].stats, { key: "t1", n: 0 });
    await pool.ret(o);
    await pool.use("t1", () => {
      throw new Error("boom");
    }).catch(() => {});
    await flush();
    await pool.shutdown();
    assert.equal(funSignal, "boolean", "fun always receives the signal");
    assert.deepEqual(signals, {
      getter: "boolean",
      check: "boolean",
      closer: "boolean",
    });
    assert.deepEqual(calls, [
      "opener t1 t10",
      "getter t1 t10",
      "retter t1 t10",
      "reset t1 t10",
      "check t1 t10",
      "getter t1 t10",
      "isBroken t1 t10 boom",
      "retter t1 t10",
      "reset t1 t10",
      "health t1 t10",
      "closer t1 t10",
    ]);
  });

  it("a hook that does not declare the signal costs no AbortController", async () => {
    const made: string[] = [];
    const Real = globalThis.AbortController;
    class Counting extends Real {
      constructor() {
        super();
        made.push(new Error().stack ?? "");
      }
    }
    const pool = new KeyedPool<string, Obj>({
      fun: (key, n) => ({ key, n, closed: 0 }),
      getter: (_o, _key) => {},
      retter: (_o, _key) => {},
      closer: (_o, _key) => {},
    });
    const o = await pool.get("k"); // fun's creation makes one (its signal)
    globalThis.AbortController = Counting;
    try {
      pool.ret(o);
      pool.ret(await pool.get("k"));
      await pool.shutdown();
    } finally {
      globalThis.AbortController = Real;
    }
    assert.equal(made.length, 0, made.join("\n---\n"));
  });
});

describe("KeyedPool: strict options on every call", () => {
  it("refuses unknown and ill-typed constructor options, naming them", () => {
    const fun = (k: string) => ({ k });
    assert.throws(
      () => new KeyedPool({ fun, maxTotl: 3 } as never),
      unknownKey("maxTotl", "maxTotal"),
    );
    assert.throws(
      () => new KeyedPool({ fun, keyIdleTimout: 3 } as never),
      unknownKey("keyIdleTimout", "keyIdleTimeout"),
    );
    assert.throws(
      () => new KeyedPool({ fun, maxsize: 3 } as never),
      unknownKey("maxsize", "maxSize"),
    );
    assert.throws(
      () => new KeyedPool({ fun, maxTotal: -1 }),
      /'maxTotal' must be a non-negative integer: current value is -1/,
    );
    assert.throws(
      () => new KeyedPool({ fun, maxTotal: "20" as never }),
      TypeError,
    );
    assert.throws(
      () => new KeyedPool({ fun, keyIdleTimeout: -5 }),
      /'keyIdleTimeout' must be a finite non-negative number/,
    );
    assert.throws(
      () => new KeyedPool({ fun, optionsFor: 3 as never }),
      /'optionsFor' must be a function/,
    );
    assert.throws(
      () => new KeyedPool({ fun, minSize: 3, maxSize: 2 }),
      /'minSize' must not exceed 'maxSize'/,
    );
    assert.throws(
      () => new KeyedPool({ fun: undefined as never }),
      /'fun' must be a function/,
    );
    assert.throws(() => new KeyedPool(null as never), /'options' must be/);
    assert.throws(
      () => new KeyedPool({ fun, closer: "no" as never }),
      /'closer' must be a function/,
    );
  });

  it("get, ret, use, lease and shutdown refuse a misspelt key, whatever the key", async () => {
    const { pool } = make();
    await assert.rejects(
      pool.get("a", { timout: 5 } as never),
      unknownKey("timout", "timeout"),
    );
    const a = await pool.get("a");
    assert.throws(
      () => pool.ret(a, { brokn: true } as never),
      unknownKey("brokn", "broken"),
    );
    assert.equal(pool.stats().total.nusing, 1, "a refused ret leaves it lent");
    pool.ret(a);
    assert.throws(
      () => pool.ret({ key: "?", n: 0, closed: 0 }, { suspekt: true } as never),
      unknownKey("suspekt", "suspect"),
      "checked for a foreign object too",
    );
    await assert.rejects(
      pool.use("b", () => 1, { sginal: undefined } as never),
      unknownKey("sginal", "signal"),
    );
    await assert.rejects(
      pool.lease("c", { timeot: 1 } as never),
      unknownKey("timeot", "timeout"),
    );
    await assert.rejects(
      pool.shutdown({ timout: 1 } as never),
      unknownKey("timout", "timeout"),
    );
    await pool.shutdown();
    await assert.rejects(
      pool.shutdown({ timout: 1 } as never),
      unknownKey("timout", "timeout"),
      "checked on every call, after the first too",
    );
  });

  it("checks what optionsFor gives, on every opening of a key", async () => {
    const given: Record<string, unknown> = {
      good: { maxSize: 2, timeout: 50 },
      misspelt: { maxsize: 2 },
      hook: { closer: () => {} },
      named: { name: "x" },
      wrong: { maxSize: -1 },
      notObject: 5,
      none: undefined,
      throws: "throw",
    };
    const { pool } = make({
      optionsFor: (key) => {
        if (given[key] === "throw") throw new Error("no such tenant");
        return given[key] as never;
      },
    });
    const g = await pool.get("good");
    const s = pool.stats().keys[0];
    assert.equal(s.config.maxSize, 2);
    assert.equal(s.config.timeout, 50);
    pool.ret(g);
    await assert.rejects(pool.get("misspelt"), (err: Error) => {
      unknownKey("maxsize", "maxSize")(err);
      assert.match(err.message, /key "misspelt"/);
      return true;
    });
    await assert.rejects(
      pool.get("hook"),
      /'closer' cannot be set per key: give hooks to the KeyedPool/,
    );
    await assert.rejects(pool.get("named"), /'name' cannot be set per key/);
    await assert.rejects(
      pool.use("wrong", () => {}),
      (err: Error) =>
        err instanceof RangeError &&
        /key "wrong".*'maxSize' must be a non-negative integer/.test(
          err.message,
        ),
    );
    await assert.rejects(
      pool.lease("notObject"),
      /'options' must be an object: current value is 5/,
    );
    await assert.rejects(pool.get("throws"), /no such tenant/);
    assert.equal(await pool.use("none", (o) => o.key), "none");
    assert.deepEqual(pool.stats().keys.map((k) => k.key), ["good", "none"]);
    // asked again the next time: fixed, the key opens
    given.misspelt = { maxSize: 2 };
    assert.equal(await pool.use("misspelt", (o) => o.key), "misspelt");
    await pool.shutdown();
  });

  it("after shutdown, gets of any key are refused with PoolError", async () => {
    const { pool } = make();
    await pool.use("a", () => {});
    await pool.shutdown();
    await assert.rejects(pool.get("a"), PoolError);
    await assert.rejects(pool.get("new"), (err: Error) => {
      assert.ok(err instanceof PoolError);
      assert.match(err.message, /is shut down/);
      return true;
    });
    await assert.rejects(pool.use("new", () => {}), PoolError);
    await assert.rejects(pool.lease("new"), PoolError);
  });
});

describe("KeyedPool: maxTotal", () => {
  it("closes the oldest idle object of another key to make room (oldest by its return)", async () => {
    const { pool, b } = make({ maxTotal: 3 });
    const a = await pool.get("a");
    const c = await pool.get("c");
    const d = await pool.get("d");
    // returned in the order d, a, c: d is the oldest idle, though made last
    pool.ret(d);
    pool.ret(a);
    pool.ret(c);
    const e = await pool.get("e");
    assert.equal(d.closed, 1, "d, idle the longest, made room");
    assert.equal(a.closed + c.closed, 0);
    const f = await pool.get("f");
    assert.equal(a.closed, 1, "then a");
    // an object used again is young again
    pool.ret(e);
    pool.ret(f);
    pool.ret(await pool.get("c"));
    await pool.use("g", () => {});
    assert.equal(e.closed, 1, "e, back before c was used again");
    assert.equal(c.closed, 0, "c was used after e and f came back");
    assert.equal(b.alive(), 3);
    assert.equal(b.peak, 3, "never more than maxTotal alive");
    const s = pool.stats();
    assert.equal(s.nmadeRoom, 3);
    assert.equal(s.ntotal, 3);
    assert.equal(s.total.closedBy.evicted, 3);
    await pool.shutdown();
  });

  it("never closes an object of the key that needs one, nor a lent one", async () => {
    const { pool, b } = make({ maxTotal: 2 });
    const a1 = await pool.get("a");
    const a2 = await pool.get("a");
    pool.ret(a1);
    // key a has an idle object: it lends it, nothing to make room for
    assert.equal(await pool.get("a"), a1);
    // key b: nothing idle anywhere, it waits
    const t = track(pool.get("b"));
    await flush();
    assert.equal(t.settled, false);
    assert.equal(pool.stats().nqueued, 1);
    assert.equal(b.alive(), 2);
    pool.ret(a2); // idle: closed for b
    await flush();
    assert.equal(a2.closed, 1);
    assert.equal((t.value as Obj).key, "b");
    pool.ret(a1);
    pool.ret(t.value as Obj);
    await pool.shutdown();
  });

  it("serves the line across keys first come, first served", async () => {
    const { pool, b } = make({ maxTotal: 2 });
    const a1 = await pool.get("a");
    const a2 = await pool.get("a");
    const order: string[] = [];
    const got = (name: string) => (o: Obj) => {
      order.push(name);
      return o;
    };
    const waits = [
      pool.get("b").then(got("b1")),
      pool.get("c").then(got("c1")),
      pool.get("b").then(got("b2")),
      pool.get("d").then(got("d1")),
    ];
    await flush();
    assert.equal(pool.stats().nqueued, 4);
    // each object of a that comes back makes room for the head of the line
    pool.ret(a1);
    await flush();
    assert.deepEqual(order, ["b1"]);
    pool.ret(a2);
    await flush();
    assert.deepEqual(order, ["b1", "c1"]);
    // b1 comes back: b's own waiter (b2) gets it, nothing is closed
    const b1 = await waits[0];
    pool.ret(b1);
    await flush();
    assert.deepEqual(order, ["b1", "c1", "b2"]);
    assert.equal(b1.closed, 0);
    pool.ret(await waits[1]); // c's: closed for d
    await flush();
    assert.deepEqual(order, ["b1", "c1", "b2", "d1"]);
    for (const w of waits.slice(2)) pool.ret(await w);
    assert.equal(b.peak, 2);
    await pool.shutdown();
  });

  it("a busy key at its maxSize yields a returned object to a key that holds nothing", async () => {
    const { pool, b } = make({ maxTotal: 2, maxSize: 2 });
    const a1 = await pool.get("a");
    let release!: () => void;
    const working = pool.use("a", () => new Promise<void>((r) => release = r));
    await flush();
    // a's own waiters: a is at its maxSize, they wait for its objects
    const mine = [track(pool.get("a")), track(pool.get("a"))];
    const other = track(pool.get("b"));
    await flush();
    assert.equal(pool.stats().nqueued, 1, "b waits in line");
    // a1 comes back: b holds nothing, so a1 is closed for b's sake
    pool.ret(a1);
    await flush();
    assert.equal(a1.closed, 1);
    assert.equal((other.value as Obj).key, "b", "b served");
    assert.equal(
      mine[0].settled,
      false,
      "a's waiter waits for a's other object",
    );
    // the end of a use() gives way too? no: no one starves now, so a's
    // object serves a's own waiter
    release();
    await working;
    await flush();
    assert.equal((mine[0].value as Obj).key, "a");
    pool.ret(other.value as Obj); // b has no waiter: idle, closed for a
    await flush();
    assert.equal((mine[1].value as Obj).key, "a");
    pool.ret(mine[0].value as Obj);
    pool.ret(mine[1].value as Obj);
    assert.equal(b.peak, 2);
    await pool.shutdown();
  });

  it("a use() that ends gives its object's room to a key that holds nothing", async () => {
    const { pool } = make({ maxTotal: 2 });
    const release: (() => void)[] = [];
    const working = [0, 1].map(() =>
      pool.use("a", () => new Promise<void>((r) => release.push(r)))
    );
    await flush();
    const mine = track(pool.get("a"));
    const other = track(pool.get("b"));
    await flush();
    // a's waiter came first: a's place in line is ahead of b's
    release[0]();
    await working[0];
    await flush();
    assert.equal((mine.value as Obj).key, "a", "a's waiter, first in line");
    assert.equal(other.settled, false);
    // now b starves, and a's next waiter came after it
    const again = track(pool.get("a"));
    await flush();
    release[1]();
    await working[1];
    await flush();
    assert.equal((other.value as Obj).key, "b", "b, ahead of a's later waiter");
    assert.equal(again.settled, false);
    // a keeps its last object: it serves a's own waiter, b holding one now
    pool.ret(mine.value as Obj);
    await flush();
    assert.equal((again.value as Obj).key, "a");
    pool.ret(again.value as Obj);
    pool.ret(other.value as Obj);
    assert.equal(pool.stats().nmadeRoom, 1);
    await pool.shutdown();
  });

  it("a busy key keeps its last object (more busy keys than room: no reconnection per request)", async () => {
    const { pool, b } = make({ maxTotal: 1 });
    const held = await pool.get("a");
    const mine = track(pool.get("a"));
    const other = track(pool.get("b"));
    await flush();
    pool.ret(held);
    await flush();
    assert.equal(mine.value, held, "a's own waiter gets a's only object");
    assert.equal(other.settled, false);
    pool.ret(held); // a has no waiter now: idle, closed for b
    await flush();
    assert.equal((other.value as Obj).key, "b");
    assert.equal(held.closed, 1);
    pool.ret(other.value as Obj);
    assert.equal(b.made.length, 2);
    await pool.shutdown();
  });

  it("a request in line ends at its timeout, or its signal, and leaves the line", async () => {
    await withClock(async (clock) => {
      const { pool } = make({ maxTotal: 1 });
      try {
        const a = await pool.get("a");
        const timed = track(pool.get("b", { timeout: 100 }));
        const controller = new AbortController();
        const aborted = track(pool.get("c", { signal: controller.signal }));
        const third = track(pool.get("d"));
        await clock.tickAsync(50);
        controller.abort(new Error("client went away"));
        await clock.tickAsync(50);
        assert.ok(timed.error instanceof TimeoutError);
        assert.match(
          (timed.error as Error).message,
          /maxTotal \(1\) is reached across keys/,
        );
        assert.match(String(aborted.error), /client went away/);
        assert.equal(third.settled, false);
        pool.ret(a);
        await clock.tickAsync(0);
        assert.equal((third.value as Obj).key, "d", "the next one in line");
        pool.ret(third.value as Obj);
        const s = pool.stats();
        assert.equal(s.nqueued, 0);
        assert.equal(s.total.ntimeouts, 1);
        assert.equal(s.total.naborts, 1);
      } finally {
        await shutdownOn(clock, pool);
      }
    });
  });

  it("counts an object whose async closer runs until the closer ends", async () => {
    await withClock(async (clock) => {
      let alive = 0;
      let peak = 0;
      const pool = new KeyedPool<string, Obj>({
        fun: (key, n) => {
          peak = Math.max(peak, ++alive);
          return { key, n, closed: 0 };
        },
        closer: (o) =>
          new Promise<void>((resolve) =>
            setTimeout(() => {
              o.closed++;
              alive--;
              resolve();
            }, 30)
          ),
        maxTotal: 2,
      });
      try {
        await pool.use("a", () => {});
        await pool.use("b", () => {});
        const c = track(pool.get("c"));
        await clock.tickAsync(0);
        assert.equal(c.settled, false, "waits for the closer of a's object");
        assert.equal(pool.stats().ntotal, 2);
        await clock.tickAsync(30);
        assert.equal((c.value as Obj).key, "c");
        assert.equal(peak, 2, "never 3 connections at once");
        pool.ret(c.value as Obj);
      } finally {
        await shutdownOn(clock, pool);
      }
    });
  });

  it("a closer that hangs holds its slot for the key's shutdownTimeout at most", async () => {
    await withClock(async (clock) => {
      const pool = new KeyedPool<string, Obj>({
        fun: (key, n) => ({ key, n, closed: 0 }),
        closer: () => new Promise<void>(() => {}),
        maxTotal: 1,
        shutdownTimeout: 200,
        logger: recordingLogger(),
      });
      try {
        await pool.use("a", () => {});
        const b = track(pool.get("b"));
        await clock.tickAsync(199);
        assert.equal(b.settled, false);
        await clock.tickAsync(1);
        assert.equal((b.value as Obj).key, "b");
        pool.ret(b.value as Obj);
      } finally {
        await shutdownOn(clock, pool);
      }
    });
  });

  it("keys filling to minSize take free room only: they never close another key's object", async () => {
    const { pool, b } = make({ maxTotal: 2, minSize: 1 });
    await pool.use("a", () => {});
    await pool.use("b", () => {});
    assert.equal(b.alive(), 2);
    // c's get closes an idle object (a's); a's pool, below its minSize,
    // does not close another to refill
    await pool.use("c", () => {});
    await flush();
    assert.equal(b.alive(), 2);
    assert.equal(b.alive("a"), 0);
    assert.equal(pool.stats().nmadeRoom, 1);
    assert.equal(b.peak, 2);
    await pool.shutdown();
  });

  it("a key whose backend is down rides its outage out while the other keys are served", async () => {
    await withClock(async (clock) => {
      const { pool, b } = make({
        maxTotal: 2,
        timeout: 5000,
        backoffInitial: 10,
        backoffMax: 100,
      });
      try {
        b.down.add("x");
        const x = track(pool.get("x"));
        // y and z are served all along, by the room x cannot use
        for (let i = 0; i < 20; i++) {
          await pool.use(i % 2 === 0 ? "y" : "z", () => {});
          await clock.tickAsync(50);
        }
        assert.equal(x.settled, false, "x waits for its backend");
        // each retry of x, at most, closed an idle object of y or z
        const s = pool.stats();
        assert.ok(s.nmadeRoom <= s.keys[0].ncreateErrors, JSON.stringify(s));
        b.down.delete("x");
        await clock.tickAsync(200);
        assert.equal(
          (x.value as Obj).key,
          "x",
          "served once its backend is back",
        );
        pool.ret(x.value as Obj);
        assert.equal(b.peak, 2);
        assert.ok(pool.stats().total.ncreateErrors > 0);
      } finally {
        await shutdownOn(clock, pool);
      }
    });
  });

  it("never exceeds maxTotal under a burst over many keys, and serves every request", async () => {
    await withClock(async (clock) => {
      const { pool, b } = make({ maxTotal: 5, maxSize: 2, timeout: 10_000 });
      b.latency = 3;
      try {
        const done: Promise<unknown>[] = [];
        for (let i = 0; i < 200; i++) {
          done.push(
            pool.use(`k${(i * 7) % 23}`, async (o) => {
              await new Promise((r) => setTimeout(r, 1 + (i % 5)));
              return o.key;
            }),
          );
        }
        const all = track(Promise.all(done));
        for (let t = 0; t < 5000 && !all.settled; t += 5) {
          await clock.tickAsync(5);
          assert.ok(pool.stats().ntotal <= 5);
        }
        assert.ok(all.settled && !all.rejected, String(all.error));
        assert.equal(b.peak, 5);
      } finally {
        await shutdownOn(clock, pool);
      }
      assert.equal(b.alive(), 0);
    });
  });
});

describe("KeyedPool: keys that come and go", () => {
  it("closes a key idle for keyIdleTimeout (within 1.5 times it), and it comes back", async () => {
    await withClock(async (clock) => {
      const { pool, b } = make({ keyIdleTimeout: 1000, minSize: 1 });
      try {
        await pool.use("a", () => {});
        await pool.use("b", () => {});
        assert.equal(b.alive(), 2);
        await clock.tickAsync(600);
        await pool.use("b", () => {}); // b is busy again
        await clock.tickAsync(400);
        assert.equal(pool.stats().nkeys, 2, "not before keyIdleTimeout");
        await clock.tickAsync(500);
        let s = pool.stats();
        assert.deepEqual(s.keys.map((k) => k.key), ["b"], "a went");
        assert.equal(s.nkeysExpired, 1);
        assert.equal(b.alive("a"), 0, "its objects closed");
        await clock.tickAsync(1500);
        s = pool.stats();
        assert.equal(s.nkeys, 0);
        assert.equal(b.alive(), 0);
        // counters of keys gone stay in the totals
        assert.equal(s.total.nuses, 3);
        assert.equal(s.total.ncreated, 2);
        assert.equal(s.total.ndestroys, 2);
        // a key comes back at its next use, with a new pool
        assert.equal(await pool.use("a", (o) => o.n), 0);
        s = pool.stats();
        assert.equal(s.nkeys, 1);
        assert.equal(s.nkeysOpened, 3);
      } finally {
        await shutdownOn(clock, pool);
      }
    });
  });

  it("never closes a key with an object lent or a get waiting", async () => {
    await withClock(async (clock) => {
      const { pool } = make({ keyIdleTimeout: 100, maxSize: 1 });
      try {
        const held = await pool.get("a");
        const waiting = track(pool.get("a"));
        await clock.tickAsync(1000);
        assert.equal(pool.stats().nkeys, 1);
        pool.ret(held);
        await clock.tickAsync(0);
        pool.ret(waiting.value as Obj);
        await clock.tickAsync(100);
        assert.equal(pool.stats().nkeys, 1, "not yet");
        await clock.tickAsync(100);
        assert.equal(pool.stats().nkeys, 0);
      } finally {
        await shutdownOn(clock, pool);
      }
    });
  });

  it("frees everything of many keys seen once", async () => {
    await withClock(async (clock) => {
      const { pool, b } = make({ keyIdleTimeout: 1000, maxTotal: 100 });
      try {
        const N = 5000;
        for (let i = 0; i < N; i++) {
          pool.ret(await pool.get(`tenant-${i}`));
        }
        let s = pool.stats();
        assert.equal(
          s.nkeys,
          N,
          "every key has a pool (its objects closed for room)",
        );
        assert.equal(s.ntotal, 100);
        await clock.tickAsync(1500);
        s = pool.stats();
        assert.equal(s.nkeys, 0);
        assert.equal(s.nkeysExpired, N);
        assert.equal(s.ntotal, 0);
        assert.equal(s.keys.length, 0);
        assert.equal(b.alive(), 0);
        assert.equal(s.total.ncreated, N);
        assert.equal(s.total.ndestroys, N);
      } finally {
        await shutdownOn(clock, pool);
      }
    });
  });

  it("keyIdleTimeout 0 keeps keys until shutdown", async () => {
    await withClock(async (clock) => {
      const { pool } = make({ keyIdleTimeout: 0 });
      try {
        await pool.use("a", () => {});
        await clock.tickAsync(10 * 60_000);
        assert.equal(pool.stats().nkeys, 1);
      } finally {
        await shutdownOn(clock, pool);
      }
    });
  });
});

describe("KeyedPool: examples", () => {
  it("examples/keyed/hosts.ts: sockets per host, never more than maxTotal", async () => {
    const { main } = await import("../examples/keyed/hosts.ts");
    const figures = await main(30);
    assert.equal(figures.answered, 30);
    assert.ok(
      figures.peakSocketsAcrossHosts <= 4,
      `${figures.peakSocketsAcrossHosts} sockets at once`,
    );
  });
});

describe("KeyedPool: shutdown", () => {
  it("closes every object of every key exactly once, waiting for lent ones", async () => {
    await withClock(async (clock) => {
      const { pool, b } = make({
        keyIdleTimeout: 500,
        minSize: 2,
        maxSize: 2,
      });
      const held = [await pool.get("a"), await pool.get("a")];
      await pool.use("b", () => {});
      await pool.use("c", () => {});
      await clock.tickAsync(800); // b and c went (a is lent)
      assert.equal(pool.stats().nkeysExpired, 2);
      await pool.use("d", () => {});
      const waiting = track(pool.get("a"));
      const done = track(pool.shutdown());
      assert.equal(pool.shutdown(), done.promise, "the same promise again");
      await clock.tickAsync(0);
      assert.ok(waiting.error instanceof PoolError, "a waiter is refused");
      assert.equal(done.settled, false, "waits for a's lent objects");
      for (const o of held) pool.ret(o);
      await clock.tickAsync(0);
      assert.ok(done.settled && !done.rejected, String(done.error));
      for (const o of b.made) {
        assert.equal(o.closed, 1, `${o.key}${o.n} closed ${o.closed} times`);
      }
      assert.equal(b.made.length, 8);
      const s = pool.stats();
      assert.equal(s.shutdown, true);
      assert.equal(s.total.nobjs, 0);
      assert.equal(s.total.ndestroys, 8);
    });
  });
});
