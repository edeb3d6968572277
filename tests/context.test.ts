import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Proxy, ProxyError } from "../mod.ts";
import { contextStore, inContext, withContext } from "../context.ts";
import { flush } from "./_helpers.ts";

interface Conn {
  n: number;
}

describe("withContext: per-async-context objects", () => {
  it("gives each of 1,000 concurrent contexts its own object from a pool of 10, and all come back", async () => {
    const db = new Proxy<Conn>({ fun: (n) => ({ n }), maxSize: 10 });
    const holders = new Map<Conn, number>();
    let overlaps = 0;
    const results = await Promise.all(
      Array.from({ length: 1000 }, (_, i) =>
        withContext(async () => {
          const mine = await db._getObj();
          if (holders.has(mine)) overlaps++;
          holders.set(mine, i);
          for (let k = 0; k < 3; k++) {
            await flush(1 + (i % 3));
            // everything it awaits still sees its own object
            assert.equal(db.n, mine.n);
            assert.equal(holders.get(mine), i);
          }
          holders.delete(mine);
          return db.n;
        })),
    );
    assert.equal(results.length, 1000);
    assert.equal(overlaps, 0, "no object shared by two contexts");
    const s = db._pool!.stats();
    assert.equal(s.nusing, 0, "every object back in the pool");
    assert.ok(s.nobjs <= 10);
    assert.equal(s.navail, s.nobjs);
    assert.equal(s.nuses, 1000);
    await db._shutdown();
  });

  it("takes objects at the start with take, and returns them when fn throws", async () => {
    let checked = 0;
    const db = new Proxy<Conn>({
      fun: (n) => ({ n }),
      health: () => (checked++, true),
    });
    const value = await withContext(() => db.n, { take: [db] });
    assert.equal(value, 0);
    await assert.rejects(
      withContext(() => {
        throw new Error("handler failed");
      }, { take: [db] }),
      /handler failed/,
    );
    assert.equal(
      checked,
      1,
      "the object of a failed context is health-checked",
    );
    assert.equal(db._pool!.stats().nusing, 0);
    await db._shutdown();
  });

  it("returns the object when the handler is aborted", async () => {
    const db = new Proxy<Conn>({ fun: (n) => ({ n }) });
    const ac = new AbortController();
    const run = withContext(async () => {
      await db._getObj();
      await new Promise((_, reject) =>
        ac.signal.addEventListener("abort", () => reject(ac.signal.reason))
      );
    });
    await flush();
    assert.equal(db._pool!.stats().nusing, 1);
    ac.abort();
    await assert.rejects(run);
    assert.equal(db._pool!.stats().nusing, 0);
    await db._shutdown();
  });

  it("refuses use of the proxy after the context ended", async () => {
    const db = new Proxy<Conn>({ fun: (n) => ({ n }) });
    let later: (() => number) | undefined;
    await withContext(async () => {
      await db._getObj();
      later = () => db.n;
    });
    assert.throws(() => later!(), ProxyError);
    await db._shutdown();
  });

  it("keeps the global context outside withContext", async () => {
    const db = new Proxy<Conn>({ fun: (n) => ({ n }) });
    const outside = await db._getObj();
    const inside = await withContext(() => db._getObj());
    assert.notEqual(inside, outside);
    assert.equal(db.n, outside.n);
    await db._retObj();
    await db._shutdown();
  });

  it("nests: an inner context has its own object", async () => {
    const db = new Proxy<Conn>({ fun: (n) => ({ n }) });
    await withContext(async () => {
      const outer = await db._getObj();
      const inner = await withContext(() => db._getObj());
      assert.notEqual(inner, outer);
      assert.equal(db.n, outer.n);
    });
    assert.equal(db._pool!.stats().nusing, 0);
    await db._shutdown();
  });

  it("wraps handlers with inContext", async () => {
    const db = new Proxy<Conn>({ fun: (n) => ({ n }), context: contextStore });
    const handler = inContext((x: number) => db.n + x, { take: [db] });
    assert.deepEqual(await Promise.all([handler(10), handler(20)]), [10, 21]);
    assert.equal(db._pool!.stats().nusing, 0);
    await db._shutdown();
  });

  it("keeps the handler's arity (Deno.serve passes no Request to a 0-ary handler)", () => {
    assert.equal(inContext((_req: Request, _info: unknown) => 1).length, 2);
  });

  it("rejects a non-function", async () => {
    // @ts-expect-error: not a function
    await assert.rejects(withContext(42), TypeError);
  });
});

describe("withContext: work that outlives its context", () => {
  it("a timer started inside that runs after the end gets ProxyError, and takes nothing", async () => {
    const db = new Proxy<Conn>({ fun: (n) => ({ n }), maxSize: 2 });
    let late: Promise<unknown> | undefined;
    await withContext(async () => {
      await db._getObj();
      late = new Promise((resolve) => setTimeout(resolve, 1)).then(() =>
        db._getObj()
      );
    });
    await assert.rejects(
      late!,
      (err: Error) => err instanceof ProxyError && /ended/.test(err.message),
    );
    assert.equal(db._pool!.stats().nusing, 0);
    await db._shutdown();
  });

  it("a proxy can still be inspected and awaited from an ended context", async () => {
    const db = new Proxy<Conn>({ fun: (n) => ({ n }), maxSize: 2 });
    let later: (() => unknown) | undefined;
    await withContext(async () => {
      await db._getObj();
      later = () => db;
    });
    const inspect = (db as unknown as Record<symbol, unknown>)[
      Symbol.for("nodejs.util.inspect.custom")
    ];
    assert.equal(typeof inspect, "function");
    assert.equal(await Promise.resolve(later!()), db, "not a thenable");
    assert.throws(() => db.n, ProxyError);
    await db._shutdown();
  });
});
