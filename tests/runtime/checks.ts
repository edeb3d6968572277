// The reach checks: the same list runs in workerd (tests/runtime/workerd/)
// and in a Chromium page (tests/runtime/browser/), on a bundle of mod.ts
// made by tests/runtime/bundle.ts. Everything happens inside one call of
// runChecks(), which in workerd is one request: timers fire only there, and
// the clock only advances across I/O (timers count as I/O).
//
// Web-standard APIs only: no node:*, no Deno, no DOM.

import {
  CreationError,
  KeyedPool,
  Pool,
  PoolError,
  Proxy,
  ProxyError,
  ProxyPatternPoolError,
  TimeoutError,
} from "../../mod.ts";

/** The outcome of one check. */
export interface CheckResult {
  name: string;
  ok: boolean;
  error: string | null;
  /** What was observed, when worth reporting (e.g. which code path ran). */
  detail?: string;
}

/** What the worker returns and the page publishes. */
export interface Report {
  runtime: string;
  userAgent: string;
  passed: number;
  failed: number;
  ms: number;
  results: CheckResult[];
}

type Check = (note: (detail: string) => void) => void | Promise<void>;

/** A logger that keeps quiet: the checks provoke warnings on purpose. */
const quiet = {
  debug() {},
  info() {},
  warn() {},
  error() {},
};

function assert(cond: unknown, what: string): asserts cond {
  if (!cond) throw new Error(`assertion failed: ${what}`);
}

function equal(actual: unknown, expected: unknown, what: string): void {
  if (!Object.is(actual, expected)) {
    throw new Error(
      `${what}: expected ${JSON.stringify(expected)}, got ${
        JSON.stringify(actual)
      }`,
    );
  }
}

/** Resolves with what `promise` rejects with; throws if it fulfils. */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error("expected a rejection, got a value");
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    return `${err.name}: ${err.message}${
      err.stack ? `\n${err.stack.split("\n").slice(1, 4).join("\n")}` : ""
    }`;
  }
  return String(err);
}

class Database {
  #url: string;
  queries = 0;
  constructor(url: string) {
    this.#url = url;
  }
  get url(): string {
    return this.#url;
  }
  query(sql: string): string {
    this.queries++;
    return `${this.#url}: ${sql}`;
  }
  toString(): string {
    return `Database(${this.#url})`;
  }
  toJSON(): { url: string } {
    return { url: this.#url };
  }
}

interface Conn {
  n: number;
  closed: boolean;
}

const checks: [string, Check][] = [
  ["pool get/ret", async () => {
    const pool = new Pool({
      fun: (n) => `object ${n}`,
      minSize: 2,
      maxSize: 2,
    });
    const a = await pool.get();
    const b = await pool.get();
    assert(a !== b, "two distinct objects");
    equal(pool.stats().nusing, 2, "nusing");
    pool.ret(a);
    pool.ret(b);
    equal(pool.stats().navail, 2, "navail after ret");
    const again = await pool.get();
    assert(again === a || again === b, "an idle object is reused");
    pool.ret(again);
    equal(pool.stats().ncreated, 2, "ncreated");
    await pool.shutdown();
  }],

  ["async fun and hooks", async () => {
    const events: string[] = [];
    const pool = new Pool<Conn>({
      fun: async (n) => {
        await Promise.resolve();
        return { n, closed: false };
      },
      minSize: 0,
      opener: async (c) => void events.push(`open ${c.n}`),
      getter: (c) => void events.push(`get ${c.n}`),
      retter: async (c) => void events.push(`ret ${c.n}`),
      closer: (c) => {
        c.closed = true;
        events.push(`close ${c.n}`);
      },
    });
    const c = await pool.get();
    await pool.ret(c);
    await pool.shutdown();
    equal(events.join(", "), "open 0, get 0, ret 0, close 0", "hook order");
    assert(c.closed, "closed by the closer");
  }],

  ["get timeout on a full pool rejects with TimeoutError", async () => {
    const pool = new Pool({ fun: (n) => ({ n }), maxSize: 1 });
    const a = await pool.get();
    const started = Date.now();
    const err = await rejection(pool.get({ timeout: 30 }));
    assert(err instanceof TimeoutError, `TimeoutError, got ${describe(err)}`);
    assert(err instanceof PoolError, "a TimeoutError is a PoolError");
    equal(err.name, "TimeoutError", "name");
    assert(Date.now() - started >= 25, "waited about the timeout");
    const s = pool.stats();
    equal(s.nwaiting, 0, "the waiter left the queue");
    equal(s.ntimeouts, 1, "ntimeouts");
    pool.ret(a);
    await pool.shutdown();
  }],

  ["pool timeout option rejects with TimeoutError", async () => {
    const pool = new Pool({ fun: (n) => ({ n }), maxSize: 1, timeout: 20 });
    const a = await pool.get();
    const err = await rejection(pool.get());
    assert(err instanceof TimeoutError, `TimeoutError, got ${describe(err)}`);
    pool.ret(a);
    await pool.shutdown();
  }],

  ["AbortSignal.timeout ends a wait", async (note) => {
    const pool = new Pool({ fun: (n) => ({ n }), maxSize: 1 });
    const a = await pool.get();
    const signal = AbortSignal.timeout(20);
    const err = await rejection(pool.get({ signal }));
    assert(signal.aborted, "the signal aborted");
    equal(err, signal.reason, "rejects with the signal's reason");
    equal((err as Error).name, "TimeoutError", "reason name");
    note(`reason: ${(err as Error).constructor.name} ${(err as Error).name}`);
    equal(pool.stats().nwaiting, 0, "the waiter left the queue");
    pool.ret(a);
    equal(pool.stats().navail, 1, "returned object is idle, not handed out");
    await pool.shutdown();
  }],

  ["AbortController aborted during a wait", async () => {
    const pool = new Pool({ fun: (n) => ({ n }), maxSize: 1 });
    const a = await pool.get();
    const controller = new AbortController();
    const waiting = rejection(pool.get({ signal: controller.signal }));
    await sleep(5);
    equal(pool.stats().nwaiting, 1, "one waiter queued");
    const reason = new Error("client went away");
    controller.abort(reason);
    equal(await waiting, reason, "rejects with the abort reason");
    equal(pool.stats().nwaiting, 0, "the waiter left the queue at once");
    const already = await rejection(pool.get({ signal: controller.signal }));
    equal(already, reason, "an aborted signal rejects at once");
    pool.ret(a);
    await pool.shutdown();
  }],

  ["waiters are served first come, first served", async () => {
    const pool = new Pool({ fun: (n) => ({ n }), maxSize: 1 });
    const a = await pool.get();
    const order: string[] = [];
    const first = pool.get({ timeout: 5000 }).then((o) => {
      order.push("first");
      return o;
    });
    const second = pool.get({ timeout: 5000 }).then((o) => {
      order.push("second");
      return o;
    });
    await sleep(1);
    pool.ret(a);
    pool.ret(await first);
    pool.ret(await second);
    equal(order.join(","), "first,second", "order");
    await pool.shutdown();
  }],

  ["creation error reaches get as CreationError", async () => {
    const pool = new Pool({
      fun: (): object => {
        throw new Error("connection refused");
      },
      minSize: 0,
      logger: quiet,
    });
    const err = await rejection(pool.get());
    assert(err instanceof CreationError, `CreationError, got ${describe(err)}`);
    equal((err.cause as Error).message, "connection refused", "cause");
    await pool.shutdown();
  }],

  ["use() lends and always gives back", async () => {
    const pool = new Pool({ fun: (n) => ({ n, hits: 0 }), maxSize: 1 });
    const sync = await pool.use((o) => ++o.hits);
    equal(sync, 1, "sync fn result");
    const asyncResult = await pool.use(async (o) => {
      await sleep(1);
      return ++o.hits;
    });
    equal(asyncResult, 2, "async fn result");
    const boom = new Error("boom");
    const err = await rejection(pool.use(() => {
      throw boom;
    }));
    equal(err, boom, "fn's error propagates");
    const s = pool.stats();
    equal(s.nusing, 0, "nothing held");
    equal(s.nuses, 3, "nuses");
    await pool.shutdown();
  }],

  ["lease with await using", async (note) => {
    const pool = new Pool({ fun: (n) => ({ n }), maxSize: 1 });
    const native = typeof Symbol.asyncDispose === "symbol";
    if (native) {
      {
        await using lease = await pool.lease();
        equal(lease.obj.n, 0, "leased object");
        equal(pool.stats().nusing, 1, "held in the scope");
      }
      note("await using (native Symbol.asyncDispose)");
    } else {
      const lease = await pool.lease();
      equal(pool.stats().nusing, 1, "held");
      await lease.release();
      note("manual release (no Symbol.asyncDispose)");
    }
    equal(pool.stats().nusing, 0, "given back at the end of the scope");
    equal(pool.stats().navail, 1, "idle again");
    const broken = await pool.lease();
    broken.markBroken();
    await broken.release();
    await broken.release();
    equal(pool.stats().closedBy.broken, 1, "a broken lease closes its object");
    await pool.shutdown();
  }],

  ["pool is AsyncDisposable", async () => {
    let closed = 0;
    let ref: Pool<object> | undefined;
    if (typeof Symbol.asyncDispose === "symbol") {
      await using pool = new Pool({
        fun: () => ({}),
        closer: () => void closed++,
      });
      ref = pool;
    } else {
      ref = new Pool({ fun: () => ({}), closer: () => void closed++ });
      await ref.shutdown();
    }
    equal(closed, 1, "closed at the end of the scope");
    equal(ref.stats().shutdown, true, "shut down");
  }],

  ["stats() is JSON and String(pool) is its text", async () => {
    const pool = new Pool({
      fun: (n) => ({ n }),
      minSize: 2,
      maxSize: 3,
      name: "reach",
      stats: (o) => ({ n: o.n }),
    });
    const a = await pool.get();
    const s = pool.stats();
    equal(s.id, "reach", "id");
    equal(s.navail, 1, "navail");
    equal(s.nusing, 1, "nusing");
    equal(s.nobjs, 2, "nobjs");
    equal(s.config.maxSize, 3, "config.maxSize");
    for (
      const key of [
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
      ] as const
    ) equal(typeof s[key], "number", `counter ${key}`);
    const json = JSON.stringify(s);
    equal(JSON.stringify(JSON.parse(json)), json, "JSON round trip");
    const text = JSON.parse(String(pool));
    equal(text.id, "reach", "String(pool) is the stats' JSON");
    equal(text.using[0].stats.n, a.n, "per-object stats hook");
    equal(JSON.parse(JSON.stringify({ pool })).pool.nobjs, 2, "toJSON");
    pool.ret(a);
    await pool.shutdown();
  }],

  ["shutdown rejects waiters and later gets with PoolError", async () => {
    const closed: number[] = [];
    const pool = new Pool({
      fun: (n) => ({ n }),
      minSize: 2,
      maxSize: 2,
      closer: async (o) => {
        await sleep(1);
        closed.push(o.n);
      },
      shutdownTimeout: 1000,
      logger: quiet,
    });
    const a = await pool.get();
    const b = await pool.get();
    const waiting = rejection(pool.get());
    await sleep(1);
    const done = pool.shutdown();
    equal(pool.shutdown(), done, "shutdown is idempotent");
    const waiterErr = await waiting;
    assert(
      waiterErr instanceof PoolError,
      `pending waiter: PoolError, got ${describe(waiterErr)}`,
    );
    // lent objects are awaited, then closed
    pool.ret(a);
    pool.ret(b);
    await done;
    const err = await rejection(pool.get());
    assert(err instanceof PoolError, `PoolError, got ${describe(err)}`);
    assert(!(err instanceof TimeoutError), "not a TimeoutError");
    equal(closed.sort().join(","), "0,1", "every object closed once");
    equal(pool.stats().shutdown, true, "stats().shutdown");
  }],

  ["housekeeping (maxAvailDelay) inside a request", async (note) => {
    const pool = new Pool({
      fun: (n) => ({ n }),
      minSize: 1,
      maxAvailDelay: 20,
      logger: quiet,
    });
    const objs = await Promise.all([pool.get(), pool.get(), pool.get()]);
    for (const o of objs) pool.ret(o);
    equal(pool.stats().nobjs, 3, "three objects after the burst");
    // idle past maxAvailDelay, with housekeeping every 10 ms (delay default)
    for (let i = 0; i < 30 && pool.stats().nobjs > 1; i++) await sleep(10);
    const o = await pool.get();
    pool.ret(o);
    const s = pool.stats();
    note(
      `delay ${s.config.delay} ms, hkRounds ${s.hkRounds}, nrecycled ${s.nrecycled}, nobjs ${s.nobjs}`,
    );
    equal(s.nobjs, 1, "idle objects above minSize recycled");
    equal(s.hkErrors, 0, "hkErrors");
    await pool.shutdown();
  }],

  ["keyed pool: maxTotal across keys, a line, keys that go", async (note) => {
    const closed: string[] = [];
    const pool = new KeyedPool({
      fun: (key: string, n) => ({ key, n }),
      closer: (o) => void closed.push(o.key),
      maxTotal: 1,
      keyIdleTimeout: 40,
    });
    equal(await pool.use("a", (o) => o.key), "a", "key a's object");
    // key b: a's idle object is closed to make room
    const b = await pool.get("b");
    equal(b.key, "b", "key b's object");
    equal(closed.join(","), "a", "a's idle object made room");
    // key c: nothing idle, it waits in line, and gets b's room when back
    const waiting = pool.get("c", { timeout: 5000 });
    const timedOut = rejection(pool.get("d", { timeout: 20 }));
    await sleep(5);
    equal(pool.stats().nqueued, 2, "two requests in line");
    const err = await timedOut;
    assert(err instanceof TimeoutError, `TimeoutError, got ${describe(err)}`);
    assert(
      /maxTotal \(1\)/.test((err as Error).message),
      `says why: ${(err as Error).message}`,
    );
    pool.ret(b);
    const c = await waiting;
    equal(c.key, "c", "the line is served");
    pool.ret(c);
    equal(pool.stats().ntotal, 1, "never more than maxTotal");
    // idle keys go within 1.5 × keyIdleTimeout, their objects closed
    const since = Date.now();
    for (let i = 0; i < 100 && pool.stats().nkeys > 0; i++) await sleep(10);
    note(`keys gone after ${Date.now() - since} ms (keyIdleTimeout 40)`);
    equal(pool.stats().nkeys, 0, "idle keys went");
    equal(closed.sort().join(","), "a,b,c", "every object closed once");
    await pool.shutdown();
  }],

  ["error classes share one base", () => {
    for (const E of [PoolError, TimeoutError, ProxyError, CreationError]) {
      const err = new E("x");
      assert(err instanceof ProxyPatternPoolError, `${E.name} extends base`);
      assert(err instanceof Error, `${E.name} is an Error`);
    }
  }],

  ["shared Proxy forwards to its object", () => {
    const db = new Proxy<Database>();
    equal(db._hasObj(), false, "empty at first");
    db.setObj(new Database("pg://a"));
    equal(db._hasObj(), true, "set");
    equal(db.url, "pg://a", "getter reading a #private field");
    equal(db.query("SELECT 1"), "pg://a: SELECT 1", "method with #private");
    const { query } = db;
    equal(query("SELECT 2"), "pg://a: SELECT 2", "detached method is bound");
    equal(db.queries, 2, "property");
    db.queries = 10;
    equal(db.queries, 10, "assignment is forwarded");
    equal(String(db), "Database(pg://a)", "String(proxy)");
    equal(`${db}`, "Database(pg://a)", "template literal");
    equal(JSON.stringify(db), '{"url":"pg://a"}', "JSON.stringify(proxy)");
    assert("query" in db, "'in' operator");
    assert(db instanceof Database, "instanceof the wrapped class");
    db.setObj(new Database("pg://b"));
    equal(db.query("SELECT 3"), "pg://b: SELECT 3", "re-set object");
  }],

  ["shared Proxy with a plain object and a renamed setter", () => {
    const conf = new Proxy<{ set: number; list: number[] }, "init">({
      setName: "init",
    });
    conf.initObj({ set: 1, list: [1, 2, 3] });
    equal(conf.set, 1, "member named like the default setter");
    equal(JSON.stringify(conf), '{"set":1,"list":[1,2,3]}', "JSON");
    equal(Object.keys(conf).join(","), "set,list", "Object.keys");
    equal(conf.list.length, 3, "nested");
  }],

  ["empty Proxy throws ProxyError", async () => {
    const db = new Proxy<Database>();
    let err: unknown;
    try {
      db.query("SELECT 1");
    } catch (e) {
      err = e;
    }
    assert(err instanceof ProxyError, `ProxyError, got ${describe(err)}`);
    assert(err instanceof ProxyPatternPoolError, "base class");
    assert(
      /setObj|setFun/.test((err as Error).message),
      `message says what to do: ${(err as Error).message}`,
    );
    // `await proxy` must not throw nor hang: it is not a thenable
    const awaited = await db;
    equal(awaited, db, "await an empty proxy");
  }],

  [
    "context Proxy lends per call outside a context, never one object to two callers",
    async () => {
      const conn = new Proxy<Conn>({
        fun: (n) => ({ n, closed: false }),
        maxSize: 2,
        closer: (c) => void (c.closed = true),
      });
      let refused: unknown;
      try {
        await conn._getObj();
      } catch (e) {
        refused = e;
      }
      assert(
        refused instanceof ProxyError && /withContext/.test(refused.message),
        `_getObj outside a context refused, got ${describe(refused)}`,
      );
      let first: Conn | undefined;
      const [a, b] = await Promise.all([
        conn._withObj(async (c) => {
          first = c;
          await new Promise((r) => setTimeout(r, 1));
          return c.n;
        }),
        conn._withObj(async (c) => {
          await new Promise((r) => setTimeout(r, 1));
          return c.n;
        }),
      ]);
      assert(a !== b, `two concurrent _withObj, two objects (${a}, ${b})`);
      equal(conn._pool?.stats().nusing, 0, "both given back");
      await conn._shutdown();
      assert(first!.closed, "closed at shutdown");
    },
  ],
];

/** Longest time one check may take. */
const CHECK_LIMIT = 10_000;

/**
 * Runs every check in order and reports them all; never throws.
 *
 * @param runtime The name to report ("workerd", "chromium").
 * @param only Runs only the checks whose name contains this text.
 */
export async function runChecks(
  runtime: string,
  only?: string,
): Promise<Report> {
  const started = Date.now();
  const results: CheckResult[] = [];
  for (const [name, check] of checks) {
    if (only !== undefined && !name.includes(only)) continue;
    let detail: string | undefined;
    const note = (d: string) => void (detail = d);
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      // a check that hangs fails alone instead of stalling the report
      await Promise.race([
        check(note),
        new Promise((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`did not settle within ${CHECK_LIMIT} ms`)),
            CHECK_LIMIT,
          );
        }),
      ]);
      results.push({ name, ok: true, error: null, detail });
    } catch (err) {
      results.push({ name, ok: false, error: describe(err), detail });
    } finally {
      clearTimeout(timer);
    }
  }
  const passed = results.filter((r) => r.ok).length;
  return {
    runtime,
    userAgent: typeof navigator === "object" && navigator !== null
      ? String(navigator.userAgent)
      : "unknown",
    passed,
    failed: results.length - passed,
    ms: Date.now() - started,
    results,
  };
}
