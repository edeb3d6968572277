import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { IncomingMessage, ServerResponse } from "node:http";
import { inspect } from "node:util";
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

  it("has no object outside withContext: one there would be shared by every caller", async () => {
    const db = new Proxy<Conn>({ fun: (n) => ({ n }) });
    await assert.rejects(db._getObj(), /no context is current/);
    assert.throws(() => db.n, /no context is current/);
    const inside = await withContext(() => db._getObj());
    assert.equal(inside.n, 0);
    assert.equal(db._pool!.stats().nusing, 0);
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

  it("refuses wrong options, naming them, before taking anything", async () => {
    const db = new Proxy<Conn>({ fun: (n) => ({ n }) });
    let ran = 0;
    const work = () => void ran++;
    await assert.rejects(
      withContext(work, { takes: [db] } as never),
      /'takes' is not a known option: did you mean 'take'\?/,
    );
    await assert.rejects(
      withContext(work, { take: db } as never),
      /'take' must be a list of proxies: .*write take: \[proxy\]/,
    );
    await assert.rejects(
      withContext(work, { take: [{}] } as never),
      /'take\[0\]' must be a proxy \(with _getObj\): current value is \{\}/,
    );
    await assert.rejects(
      withContext(work, { take: [db], timeout: -5 }),
      RangeError,
    );
    await assert.rejects(
      withContext(work, { timout: 5 } as never),
      /did you mean 'timeout'/,
    );
    assert.equal(ran, 0, "the work never ran");
    assert.equal(db._pool!.stats().nuses, 0, "nothing taken");
    // inContext refuses them when it wraps, at once
    assert.throws(
      () => inContext(work, { take: db } as never),
      /Cannot wrap in a context as 'take' must be a list of proxies/,
    );
    assert.throws(() => inContext(42 as never), /'fn' must be a function/);
    await db._shutdown();
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

describe("withContext: without a pool (maxSize: null)", () => {
  it("makes one object per context, kept through _retObj() until the context ends", async () => {
    const made: number[] = [];
    const db = new Proxy<Conn>({
      fun: (n) => (made.push(n), { n }),
      maxSize: null,
    });
    const seen = await Promise.all([0, 1].map(() =>
      withContext(async () => {
        const first = db.n;
        await db._retObj(); // no pool: the original ignores it, and so do we
        assert.equal(db._hasObj(), true);
        await flush();
        return [first, db.n, (await db._getObj()).n];
      })
    ));
    assert.deepEqual(seen, [[0, 0, 0], [1, 1, 1]]);
    assert.deepEqual(made, [0, 1], "one object per context, no more");
    // the next context makes a new one: the ended contexts dropped theirs
    assert.equal(await withContext(() => db.n), 2);
    await db._shutdown();
  });
});

describe("withContext: inspection", () => {
  it("shows the context's object inside, and no object outside or after the end", async () => {
    const db = new Proxy<Conn>({ fun: (n) => ({ n: 100 + n }), maxSize: 2 });
    let late: Promise<string> | undefined;
    const inside = await withContext(async () => {
      late = new Promise((resolve) =>
        setTimeout(() => resolve(inspect(db)), 1)
      );
      return inspect(db);
    }, { take: [db] });
    assert.equal(inside, `Proxy(${inspect({ n: 100 })})`);
    assert.match(inspect(db), /^Proxy\(no context/);
    assert.match(await late!, /^Proxy\(context ended/);
    assert.equal(db._pool!.stats().nusing, 0, "inspection took nothing");
    await db._shutdown();
  });
});

describe("withContext: what the docs say about late use", () => {
  it("a streamed body read after the handler returned cannot use the context's object", async () => {
    const db = new Proxy<{ id: number; row(): string }>({
      fun: (id) => ({ id, row: () => `row from ${id}\n` }),
      maxSize: 2,
    });
    const handler = inContext((_req: Request) => {
      let pulls = 0;
      return new Response(
        new ReadableStream<string>({
          pull(controller) {
            // the first pull may still run before the end, or not
            try {
              controller.enqueue(db.row());
            } catch (err) {
              assert.ok(err instanceof ProxyError);
              controller.enqueue("ProxyError\n");
            }
            if (++pulls === 3) controller.close();
          },
        }).pipeThrough(new TextEncoderStream()),
      );
    }, { take: [db] });
    const res = await handler(new Request("http://localhost/"));
    assert.equal(db._pool!.stats().nusing, 0, "back when the handler settled");
    const lines = (await res.text()).trim().split("\n");
    assert.equal(lines.length, 3);
    assert.equal(lines.at(-1), "ProxyError");
    await db._shutdown();
  });

  it("a method taken off a context proxy stays bound to the object it came from", async () => {
    class Who {
      readonly id: number;
      constructor(id: number) {
        this.id = id;
      }
      who(): number {
        return this.id;
      }
    }
    const db = new Proxy<Who>({ fun: (id) => new Who(id), maxSize: 1 });
    let who: (() => number) | undefined;
    await withContext(() => {
      who = db.who; // bound to this context's object
    }, { take: [db] });
    const next = await withContext(() => db.id, { take: [db] });
    assert.equal(who!(), next, "the same object, now lent to another context");
    await db._shutdown();
  });
});

describe("examples/http/node.ts", () => {
  /** A ServerResponse stand-in that records what is written. */
  function response() {
    const out = {
      status: 0,
      body: "",
      headersSent: false,
      destroyed: false,
      writeHead(status: number) {
        out.status = status;
        out.headersSent = true;
        return out;
      },
      end(body: string) {
        out.body = body;
      },
      destroy() {
        out.destroyed = true;
      },
    };
    return out;
  }
  const request = (host: string, url = "/") =>
    ({ headers: { host }, url, method: "GET" }) as unknown as IncomingMessage;

  it("answers 500 to a malformed Host header, never rejects, and goes on serving", async () => {
    const { listener } = await import("../examples/http/node.ts");
    const { conn } = await import("../examples/http/handler.ts");
    const logged: unknown[] = [];
    const error = console.error;
    console.error = (...args: unknown[]) => void logged.push(args);
    try {
      const bad = response();
      // before the fix, this rejected: an unhandled rejection ends Node
      await listener(request("a b"), bad as unknown as ServerResponse);
      assert.equal(bad.status, 500);
      assert.match(bad.body, /Internal Server Error/);
      assert.equal(logged.length, 1, "the error is logged");
      const good = response();
      await listener(request("localhost"), good as unknown as ServerResponse);
      assert.equal(good.status, 200);
      assert.match(good.body, /^SELECT 1 on connection \d+/);
      assert.equal(conn._pool!.stats().nusing, 0);
    } finally {
      console.error = error;
      await conn._shutdown();
    }
  });
});
