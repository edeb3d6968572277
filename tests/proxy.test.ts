import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { inspect } from "node:util";
import { Pool, Proxy, ProxyError, TimeoutError } from "../mod.ts";
import { contextStore, withContext } from "../context.ts";
import { setDefaultContextStore } from "../proxy.ts";
import { flush, recordingLogger } from "./_helpers.ts";

class Client {
  #url: string;
  calls = 0;
  readonly tags = ["a", "b"];
  constructor(url: string) {
    this.#url = url;
  }
  get url(): string {
    return this.#url;
  }
  query(sql: string): string {
    this.calls++;
    return `${this.#url} ${sql}`;
  }
  toString(): string {
    return `Client(${this.#url})`;
  }
  toJSON(): { url: string } {
    return { url: this.#url };
  }
  *[Symbol.iterator](): Generator<string> {
    yield* this.tags;
  }
}

describe("Proxy: delayed initialisation", () => {
  it("can be created empty and set later with setObj", () => {
    const db = new Proxy<Client>();
    assert.equal(db._hasObj(), false);
    db.setObj(new Client("pg://a"));
    assert.equal(db._hasObj(), true);
    assert.equal(db.query("SELECT 1"), "pg://a SELECT 1");
  });

  it("can be set with set(obj) and set(undefined, fun)", async () => {
    const a = new Proxy<Client>();
    assert.equal(a.set(new Client("x")), a, "setters return the proxy");
    assert.equal(a.url, "x");
    const b = new Proxy<Client>({ maxSize: null });
    b.set(undefined, () => new Client("y"));
    await withContext(() => assert.equal(b.url, "y"));
    await b._shutdown();
  });

  it("throws ProxyError naming the setter when nothing is set", () => {
    const db = new Proxy<Client>();
    assert.throws(() => db.query("x"), (err: Error) => {
      assert.ok(err instanceof ProxyError);
      assert.match(err.message, /setObj\(obj\)/);
      return true;
    });
    assert.throws(() => String(db), ProxyError);
    const named = new Proxy<Client, "setDb">({ setName: "setDb" });
    assert.throws(() => named.url, /setDbObj\(obj\) or setDbFun\(fun\)/);
  });

  it("is not a thenable while empty, so it can be returned from async code", async () => {
    const db = new Proxy<Client>();
    const f = async () => db;
    assert.equal(await f(), db);
    assert.equal("query" in db, false);
  });

  it("rejects obj with fun, and setters called with nothing", () => {
    assert.throws(
      () =>
        new Proxy<Client>({ obj: new Client("x"), fun: () => new Client("y") }),
      ProxyError,
    );
    const db = new Proxy<Client>();
    assert.throws(
      () => db.set(new Client("x"), () => new Client("y")),
      ProxyError,
    );
    assert.throws(() => db.set(), ProxyError);
    // @ts-expect-error: setObj needs an object
    assert.throws(() => db.setObj(), ProxyError);
    // @ts-expect-error: setFun needs a function
    assert.throws(() => db.setFun(), ProxyError);
    // @ts-expect-error: setFun needs a function
    assert.throws(() => db.setFun(42), TypeError);
  });

  it("takes null as nothing: set(null) and setObj(null) throw ProxyError naming the setter", async () => {
    const db = new Proxy<Client>();
    const nothing = (setter: RegExp) => (err: Error) =>
      err instanceof ProxyError && setter.test(err.message) &&
      /null/.test(err.message);
    assert.throws(() => db.set(null as never), nothing(/set\(obj\)/));
    assert.throws(() => db.set(null as never, null as never), ProxyError);
    assert.throws(() => db.setObj(null as never), nothing(/setObj\(\)/));
    assert.throws(() => db.setFun(null as never), nothing(/setFun\(\)/));
    const named = new Proxy<Client, "setDb">({ setName: "setDb" });
    assert.throws(() => named.setDbObj(null as never), nothing(/setDbObj/));
    // nothing was set: still empty, with the usual message
    assert.equal(db._hasObj(), false);
    assert.throws(() => db.url, /call set\(obj\), setObj\(obj\)/);
    // set(null, fun) is set(undefined, fun)
    db.set(null as never, () => new Client("f"));
    assert.ok(db._pool instanceof Pool);
    await withContext(async () => {
      await db._getObj();
      assert.equal(db.url, "f");
    });
    // a set proxy stays set after a refused setObj(null)
    const kept = new Proxy<Client>({ obj: new Client("k") });
    assert.throws(() => kept.setObj(null as never), ProxyError);
    assert.equal(kept.url, "k");
    // in the constructor, obj: null is no object
    const empty = new Proxy<Client>({ obj: null as never });
    assert.throws(() => empty.url, ProxyError);
    const made = new Proxy<Client>({
      obj: null as never,
      fun: () => new Client("m"),
      maxSize: null,
    });
    await withContext(() => assert.equal(made.url, "m"));
    await db._shutdown();
  });

  it("refuses pool options with maxSize: null, which has no pool to use them", async () => {
    const ignored = (names: RegExp) => (err: Error) =>
      err instanceof ProxyError && names.test(err.message) &&
      /maxSize: null/.test(err.message);
    assert.throws(
      () =>
        new Proxy<Client>({
          maxSize: null,
          closer: () => {},
          health: () => true,
        }),
      ignored(/\(closer, health\)/),
    );
    assert.throws(
      () =>
        new Proxy<Client>({
          fun: () => new Client("x"),
          maxSize: null,
          timeout: 50,
        }),
      ignored(/\(timeout\)/),
    );
    // left undefined (a spread config) is not given
    new Proxy<Client>({ maxSize: null, timeout: undefined });
    const a = new Proxy<Client>({ maxSize: null });
    assert.throws(() => a._setPool({ minSize: 2 }), ignored(/\(minSize\)/));
    const b = new Proxy<Client>({ timeout: 50 });
    assert.throws(() => b._setPool({ maxSize: null }), ignored(/\(timeout\)/));
    // a refused _setPool changes nothing
    b._setPool({ maxSize: 3 });
    b.setFun(() => new Client("b"));
    assert.equal(b._pool!.stats().config.maxSize, 3);
    assert.equal(b._pool!.stats().config.timeout, 50);
    await b._shutdown();
  });

  it("rejects bad options with TypeError naming them", () => {
    assert.throws(
      () => new Proxy({ maxsize: 3 } as never),
      /'maxsize'.*did you mean 'maxSize'/,
    );
    assert.throws(() => new Proxy({ scope: "process" } as never), /'scope'/);
    assert.throws(() => new Proxy({ setName: "" }), /'setName'/);
    // pool options are checked at once, not when setFun builds the pool
    assert.throws(() => new Proxy({ maxSize: -1 }), RangeError);
    assert.throws(() => new Proxy({ minSize: 3, maxSize: 2 }), /'minSize'/);
    assert.throws(() => new Proxy({ timeout: "1s" as never }), /'timeout'/);
    const p = new Proxy<object>({ minSize: 5 });
    assert.throws(() => p._setPool({ healthFreq: 0 }), /'healthFreq'/);
  });
});

describe("Proxy: forwarding", () => {
  const db = new Proxy<Client>({ obj: new Client("pg://b") });

  it("forwards property reads, getters and methods with the real this", () => {
    assert.equal(db.url, "pg://b"); // a getter reading a #private field
    assert.equal(db.query("q"), "pg://b q"); // a method reading a #private field
    assert.deepEqual(db.tags, ["a", "b"]);
  });

  it("forwards writes to the wrapped object", () => {
    db.calls = 10;
    db.query("x");
    assert.equal(db.calls, 11);
  });

  it("supports in, String, template literals, JSON and iteration", () => {
    assert.ok("query" in db);
    assert.ok("_getObj" in db);
    assert.ok(!("nothing" in db));
    assert.equal(String(db), "Client(pg://b)");
    assert.equal(`${db}`, "Client(pg://b)");
    assert.equal(JSON.stringify(db), '{"url":"pg://b"}');
    assert.deepEqual([...db], ["a", "b"]);
  });

  it("serialises and lists keys of a plain object", () => {
    const p = new Proxy<{ a: number; b: string }>({ obj: { a: 1, b: "x" } });
    assert.equal(JSON.stringify(p), '{"a":1,"b":"x"}');
    assert.deepEqual(Object.keys(p), ["a", "b"]);
    assert.deepEqual({ ...p }, { a: 1, b: "x" });
  });

  it("is awaitable as the wrapped object is", async () => {
    assert.equal(await db, db);
    const thenable = new Proxy<PromiseLike<number>>({
      obj: Promise.resolve(7),
    });
    assert.equal(await thenable, 7);
  });

  it("keeps instanceof of the wrapped class, and of Proxy", () => {
    assert.ok(db instanceof Client);
    assert.ok(db instanceof Proxy);
    assert.ok(!({} instanceof Proxy));
  });

  it("caches bound methods, and follows a method replaced through it", () => {
    const obj = {
      n: 1,
      f(): number {
        return this.n;
      },
    };
    const p = new Proxy<typeof obj>({ obj });
    assert.equal(p.f, p.f);
    assert.equal(p.f(), 1);
    p.f = function () {
      return this.n + 1;
    };
    assert.equal(obj.f(), 2, "the write reached the wrapped object");
    assert.equal(p.f(), 2);
    delete (p as { f?: unknown }).f;
    assert.equal("f" in obj, false);
  });

  it("alternates methods and properties, including names starting like the controls", () => {
    class Counter {
      #n = 0;
      size = 7;
      _private = "p";
      inc(): number {
        return ++this.#n;
      }
      settle(): number {
        return this.#n * 10;
      }
      get value(): number {
        return this.#n;
      }
    }
    const p = new Proxy<Counter>({ obj: new Counter() });
    for (let i = 1; i <= 3; i++) {
      assert.equal(p.inc(), i);
      assert.equal(p.settle(), i * 10);
      assert.equal(p.value, i);
      assert.equal(p.size, 7);
      assert.equal(p._private, "p");
    }
    assert.equal(typeof p.set, "function", "the control wins over nothing");
  });

  it("reads data properties afresh, and binds a property that became a function", () => {
    const obj: { v: unknown } = { v: 1 };
    const p = new Proxy<typeof obj>({ obj });
    assert.equal(p.v, 1);
    obj.v = 2;
    assert.equal(p.v, 2);
    obj.v = function (this: unknown) {
      return this;
    };
    const detached = p.v as () => unknown;
    assert.equal(detached(), obj, "a detached call still has the object");
  });

  it("an own alias of a #private method works, whatever was read before", () => {
    class Logger {
      #prefix = "app";
      log: (m: string) => string;
      constructor() {
        this.log = this.info;
      }
      info(m: string): string {
        return `${this.#prefix}: ${m}`;
      }
    }
    const p = new Proxy<Logger>({ obj: new Logger() });
    assert.equal(typeof p.log, "function");
    assert.equal(p.info("b"), "app: b");
    assert.equal(p.log("c"), "app: c");
  });

  it("a function with properties of its own (a stub) keeps them, and gets the object as this", () => {
    const obj = { n: 7, calls: 0, get: () => 0 };
    const stub = Object.assign(function (this: typeof obj) {
      stub.calls++;
      return this.n;
    }, { calls: 0 });
    obj.get = stub;
    const p = new Proxy<typeof obj>({ obj });
    assert.equal(p.get(), 7);
    assert.equal((p.get as typeof stub).calls, 1);
    const detached = p.get;
    assert.equal(detached(), 7);
  });

  it("sees a method replaced on the object, even after calls through the proxy", () => {
    const obj = {
      handle(): string {
        return "v1";
      },
    };
    const p = new Proxy<typeof obj>({ obj });
    assert.equal(p.handle(), "v1");
    assert.equal(p.handle(), "v1");
    obj.handle = () => "v2";
    assert.equal(p.handle(), "v2");
    (obj as Record<string, unknown>).handle = "data";
    assert.equal((p as unknown as { handle: string }).handle, "data");
  });

  it("sees a method patched on the prototype, and keeps #private methods working", () => {
    class Db {
      #n = 1;
      q(): string {
        return `real ${this.#n}`;
      }
    }
    const original = Db.prototype.q;
    const d = new Proxy<Db>({ obj: new Db() });
    try {
      assert.equal(d.q(), "real 1");
      assert.equal(d.q(), "real 1");
      Db.prototype.q = function (this: Db) {
        return `patched ${original.call(this)}`;
      };
      assert.equal(d.q(), "patched real 1");
    } finally {
      Db.prototype.q = original;
    }
  });

  it("follows a getter that gives a different function each time", () => {
    const state = {
      on: false,
      get act(): () => string {
        return this.on ? () => "on" : () => "off";
      },
    };
    const q = new Proxy<typeof state>({ obj: state });
    assert.equal(q.act(), "off");
    state.on = true;
    assert.equal(q.act(), "on");
  });

  it("reads a property once per access, whatever it gives (getters, ES proxies, a method become data)", () => {
    // a getter giving a new function each time: every access after the
    // first is a miss of the fast path for the name called last
    let getterReads = 0;
    const lazy = {
      get fresh(): () => number {
        const n = ++getterReads;
        return () => n;
      },
    };
    const p = new Proxy<typeof lazy>({ obj: lazy });
    for (let i = 1; i <= 5; i++) {
      assert.equal(p.fresh(), i);
      assert.equal(
        getterReads,
        i,
        `getter read ${getterReads} times for ${i} accesses`,
      );
    }

    // the wrapped object is an ES Proxy: its get trap counts the reads
    const reads = new Map<PropertyKey, number>();
    const counted = <O extends object>(target: O, fresh = false): O =>
      new globalThis.Proxy(target, {
        get(t, key, receiver) {
          reads.set(key, (reads.get(key) ?? 0) + 1);
          const value = Reflect.get(t, key, receiver);
          // fresh: a new function on every read
          return fresh && typeof value === "function"
            ? (...args: unknown[]) => value.apply(t, args)
            : value;
        },
      });
    const same = new Proxy<{ m(): number }>({
      obj: counted({ m: () => 1 }),
    });
    for (let i = 1; i <= 4; i++) {
      assert.equal(same.m(), 1);
      assert.equal(reads.get("m"), i, "same function: one read per access");
    }
    reads.clear();
    const dynamic = new Proxy<{ m(): number }>({
      obj: counted({ m: () => 2 }, true),
    });
    for (let i = 1; i <= 4; i++) {
      assert.equal(dynamic.m(), 2);
      assert.equal(reads.get("m"), i, "new function: one read per access");
    }

    // a method that became data, then a function again, through an ES proxy
    reads.clear();
    const call = (f: unknown) => (f as () => string)();
    const raw: { h: unknown } = { h: () => "f" };
    const changing = new Proxy<{ h: unknown }>({ obj: counted(raw) });
    assert.equal(call(changing.h), "f");
    assert.equal(call(changing.h), "f");
    assert.equal(reads.get("h"), 2);
    raw.h = 5;
    assert.equal(changing.h, 5);
    assert.equal(reads.get("h"), 3, "became data: read once");
    raw.h = () => "g";
    assert.equal(call(changing.h), "g");
    assert.equal(reads.get("h"), 4, "a function again: read once");

    // a method that became a getter of data
    let dataReads = 0;
    const obj: { k: unknown } = { k: () => "m" };
    const q = new Proxy<{ k: unknown }>({ obj });
    assert.equal(call(q.k), "m");
    Object.defineProperty(obj, "k", {
      get: () => (++dataReads, "data"),
      configurable: true,
    });
    assert.equal(q.k, "data");
    assert.equal(dataReads, 1, "a getter of data read once");
  });

  it("keeps the identity and properties of classes and functions kept on the object", () => {
    class Row {
      static from(): Row {
        return new Row();
      }
    }
    const log = Object.assign((m: string) => m, { level: "info" });
    const lib = { Row, log };
    const p = new Proxy<typeof lib>({ obj: lib });
    assert.equal(p.Row, Row);
    assert.ok(p.Row.from() instanceof Row);
    assert.equal(p.Row.name, "Row");
    assert.equal(p.log.level, "info");
    assert.ok(new p.Row() instanceof Row);
  });

  it("JSON.stringify serialises the object, an array as an array", () => {
    const list = new Proxy<number[]>();
    list.setObj([1, 2, 3]);
    assert.equal(JSON.stringify(list), "[1,2,3]");
    assert.equal(JSON.stringify({ list }), '{"list":[1,2,3]}');
    const withOwn = new Proxy<{ toJSON(): string }>({
      obj: { toJSON: () => "own" },
    });
    assert.equal(JSON.stringify(withOwn), '"own"');
  });

  it("switches to a new object on setObj", () => {
    const p = new Proxy<Client>({ obj: new Client("one") });
    const before = p.query;
    p.setObj(new Client("two"));
    assert.equal(p.query("q"), "two q");
    assert.notEqual(p.query, before);
  });

  it("refuses to overwrite its own methods", () => {
    assert.throws(() => {
      (db as unknown as Record<string, unknown>)._getObj = 1;
    }, ProxyError);
  });
});

describe("Proxy: inspection (console.log)", () => {
  // the runtimes' own inspectors, where they exist, beside node:util's
  const runtimes = globalThis as {
    Deno?: { inspect(value: unknown): string };
    Bun?: { inspect(value: unknown): string };
  };
  type Show = (value: unknown) => string;
  const nodeShow: Show = (value) => inspect(value);
  // [name, inspector, how it shows what the proxy wraps]: Bun hands the
  // hook node:util's inspect, so the object inside is shown as node:util does
  const inspectors: [string, Show, Show][] = [
    ["node:util", nodeShow, nodeShow],
  ];
  if (runtimes.Deno) {
    const show = runtimes.Deno.inspect;
    inspectors.push(["Deno", show, show]);
  }
  if (runtimes.Bun) inspectors.push(["Bun", runtimes.Bun.inspect, nodeShow]);

  for (const [name, show, showInner] of inspectors) {
    it(`shows an empty proxy as empty, naming the setters (${name})`, () => {
      assert.match(show(new Proxy<Client>()), /^Proxy\(empty: .*setObj\(obj\)/);
      const named = new Proxy<Client, "setDb">({ setName: "setDb" });
      assert.match(show(named), /setDbObj\(obj\) or setDbFun\(fun\)/);
      assert.match(show([new Proxy<Client>()]), /Proxy\(empty/);
    });

    it(`shows a set proxy as Proxy(<the wrapped object>) (${name})`, () => {
      const obj = { url: "pg://a", rows: [1, 2], nested: { a: { b: 1 } } };
      const p = new Proxy<typeof obj>({ obj });
      assert.equal(show(p), `Proxy(${showInner(obj)})`);
      assert.match(show({ p }), /p: Proxy\(\{/);
      const list = new Proxy<number[]>({ obj: [1, 2, 3] });
      assert.equal(show(list), `Proxy(${showInner([1, 2, 3])})`);
      const client = new Client("pg://c");
      assert.equal(
        show(new Proxy<Client>({ obj: client })),
        `Proxy(${showInner(client)})`,
      );
    });

    it(`nested, shows its object to the depth left there (${name})`, () => {
      const obj = { a: { b: { c: { d: { e: 1 } } } } };
      const p = new Proxy<typeof obj>({ obj });
      // as if the object were in the proxy's place: as deep, no deeper
      const depth = (text: string) => (text.match(/\{/g) ?? []).length;
      for (const d of [0, 1, 2, 3]) {
        const options = { depth: d };
        assert.equal(
          depth(inspect({ x: { p } }, options)),
          depth(inspect({ x: { p: obj } }, options)),
          `depth ${d}`,
        );
      }
      assert.equal(
        depth(show({ x: { p } })),
        depth(show({ x: { p: obj } })),
      );
    });

    it(`shows a proxy that wraps itself without looping (${name})`, () => {
      const obj: { name: string; self?: unknown } = { name: "loop" };
      const p = new Proxy<typeof obj>({ obj });
      obj.self = p;
      assert.match(show(p), /^Proxy\(.*loop.*Proxy\(\[Circular\]\)/s);
      assert.match(inspect(p, { depth: Infinity }), /Proxy\(\[Circular\]\)/);
    });

    it(`shows what a proxy with fun has, and makes nothing (${name})`, async () => {
      let made = 0;
      const shared = new Proxy<{ n: number }>({
        scope: "shared",
        fun: (n) => (made++, { n }),
      });
      assert.match(show(shared), /not made yet/);
      const pooled = new Proxy<{ n: number }>({ fun: (n) => (made++, { n }) });
      assert.match(show(pooled), /no context: an object per context/);
      const unpooled = new Proxy<{ n: number }>({
        fun: (n) => (made++, { n }),
        maxSize: null,
      });
      await withContext(async () => {
        assert.match(show(pooled), /no object in this context/);
        assert.match(show(unpooled), /no object in this context/);
        assert.equal(made, 1, "only the pool's minSize object was made");
        await pooled._getObj();
        assert.equal(show(pooled), `Proxy(${showInner({ n: 0 })})`);
      });
      await pooled._shutdown();
    });
  }
});

describe("Proxy: scope", () => {
  it("takes the original's thread and versatile as context", async () => {
    for (const scope of ["thread", "versatile"] as const) {
      const p = new Proxy<{ n: number }>({ scope, fun: (n) => ({ n }) });
      await withContext(async () => {
        await p._getObj();
        assert.equal(p.n, 0);
        await p._retObj();
        assert.equal(p._hasObj(), false);
      });
      await p._shutdown();
    }
  });
});

describe("Proxy: scope shared with fun", () => {
  it("makes one object on first use and shares it, with no pool", async () => {
    let made = 0;
    const p = new Proxy<{ n: number }>({
      scope: "shared",
      fun: (n) => (made++, { n }),
    });
    assert.equal(made, 0, "nothing made before first use");
    assert.equal(p.n, 0);
    assert.equal(p.n, 0);
    assert.equal(p._pool, undefined);
    assert.equal((await p._getObj()).n, 0);
    await p._retObj(); // a shared object is kept
    assert.equal(p._hasObj(), true);
    assert.equal(made, 1);
    await p._shutdown();
  });

  it("an async fun is made once by concurrent _getObj calls", async () => {
    let made = 0;
    const p = new Proxy<{ n: number }>({ scope: "shared" });
    p.setFun(async (n) => (made++, { n }));
    const [a, b] = await Promise.all([p._getObj(), p._getObj()]);
    assert.equal(a, b);
    assert.equal(made, 1);
  });

  it("takes pool options left undefined (a spread config) as not given", () => {
    const p = new Proxy<{ n: number }>({
      scope: "shared",
      maxSize: undefined,
      fun: (n) => ({ n }),
    });
    assert.equal(p.n, 0);
  });

  it("refuses pool options with scope shared, and obj with scope context", () => {
    assert.throws(
      () => new Proxy<object>({ scope: "shared", maxSize: 4 }),
      (err: Error) => err instanceof ProxyError && /maxSize/.test(err.message),
    );
    assert.throws(
      () => new Proxy<object>({ scope: "shared" })._setPool({ maxSize: 4 }),
      ProxyError,
    );
    assert.throws(
      () => new Proxy<object>({ scope: "context", obj: {} }),
      (err: Error) => err instanceof ProxyError && /setFun/.test(err.message),
    );
  });
});

describe("Proxy: setName", () => {
  it("renames the three setters", () => {
    const m = new Proxy<Map<string, number>, "setMap">({ setName: "setMap" });
    m.setMapObj(new Map());
    m.set("a", 1); // the Map's own set, not the proxy's
    assert.equal(m.get("a"), 1);
    assert.equal(typeof m.setMap, "function");
    assert.equal(typeof m.setMapFun, "function");
  });
});

describe("Proxy: with fun and a pool", () => {
  it("builds a pool from its options, and gives objects per context", async () => {
    const p = new Proxy<{ n: number }>({
      fun: (n) => ({ n }),
      maxSize: 2,
      minSize: 0,
    });
    const pool = p._pool!;
    assert.ok(pool instanceof Pool);
    assert.equal(pool.stats().config.maxSize, 2);
    await withContext(async () => {
      assert.equal(p._hasObj(), false);
      assert.throws(() => p.n, /_getObj/);
      const obj = await p._getObj();
      assert.equal(p._hasObj(), true);
      assert.equal(p.n, obj.n);
      assert.equal(await p._getObj(), obj, "same object while held");
      assert.equal(pool.stats().nusing, 1);
      await p._retObj();
      assert.equal(p._hasObj(), false);
      assert.equal(pool.stats().nusing, 0);
    });
    await p._shutdown();
  });

  it("passes timeout to the pool", async () => {
    const p = new Proxy<{ n: number }>({ fun: (n) => ({ n }), maxSize: 1 });
    const held = await p._pool!.get();
    await assert.rejects(
      withContext(() => p._getObj({ timeout: 5 })),
      TimeoutError,
    );
    p._pool!.ret(held);
    await p._shutdown();
  });

  it("shares one pending _getObj between concurrent calls", async () => {
    const p = new Proxy<{ n: number }>({
      fun: async (n) => ({ n }),
      minSize: 0,
    });
    await withContext(async () => {
      const [a, b] = await Promise.all([p._getObj(), p._getObj()]);
      assert.equal(a, b);
      assert.equal(p._pool!.stats().nusing, 1);
      await p._retObj();
    });
    await p._shutdown();
  });

  it("calls fun directly when maxSize is null; _retObj() keeps the object, as the original", async () => {
    let made = 0;
    const p = new Proxy<{ n: number }>({
      fun: (n) => (made++, { n }),
      maxSize: null,
    });
    assert.equal(p._pool, undefined);
    await withContext(async () => {
      assert.equal(p.n, 0, "a sync fun makes the object on first use");
      await p._retObj(); // no pool to give it back to: kept
      assert.equal(p._hasObj(), true);
      assert.equal(p.n, 0);
      assert.equal((await p._getObj()).n, 0);
      assert.equal(await p._withObj((o) => o.n), 0);
      assert.equal(p._hasObj(), true, "_withObj keeps it too");
      assert.equal(made, 1);
      // returned as broken, it is dropped: the next use makes a new one
      await p._retObj({ broken: true });
      assert.equal(p._hasObj(), false);
      assert.equal(p.n, 1);
      assert.equal(made, 2);
    });
    await p._shutdown();
  });

  it("with no pool and an async fun, _retObj() during the making keeps what it makes", async () => {
    const p = new Proxy<{ n: number }>({
      fun: async (n) => ({ n }),
      maxSize: null,
    });
    await withContext(async () => {
      const getting = p._getObj();
      await p._retObj();
      assert.equal((await getting).n, 0);
      assert.equal(p._hasObj(), true);
      assert.equal(p.n, 0);
    });
    await p._shutdown();
  });

  it("with an async fun and no pool, a synchronous access makes one object, kept for _getObj", async () => {
    let made = 0;
    const p = new Proxy<{ n: number }>({
      fun: (n) => (made++, Promise.resolve({ n })),
      maxSize: null,
    });
    await withContext(async () => {
      assert.throws(() => p.n, /_getObj/);
      assert.throws(() => p.n, /still being made/);
      assert.throws(() => "n" in p, ProxyError);
      assert.equal((await p._getObj()).n, 0);
      assert.equal(p.n, 0);
      assert.equal(made, 1, "not one per failed access");
    });
    await p._shutdown();
  });

  it("_shutdown() refuses a _getObj waiting in a context, and ends", async () => {
    const p = new Proxy<{ n: number }>({
      fun: (n) => ({ n }),
      maxSize: 1,
      shutdownTimeout: 50,
      logLevel: "off",
    });
    const held = await p._pool!.get();
    const waiting = withContext(() => p._getObj()).then(
      () => "served",
      (err: Error) => err.name,
    );
    const done = p._shutdown();
    assert.equal(await waiting, "PoolError");
    p._pool!.ret(held);
    await done;
    assert.equal(p._pool!.stats().shutdown, true);
  });

  it("setFun() again: a context's object goes back to the old pool, which closes it", async () => {
    const closed: number[] = [];
    const p = new Proxy<{ n: number }>({
      fun: (n) => ({ n }),
      closer: (o) => void closed.push(o.n),
    });
    const old = p._pool!;
    await withContext(async () => {
      await p._getObj();
      p.setFun((n) => ({ n: 100 + n }));
      await flush();
      assert.deepEqual(closed, [], "still held by this context");
      assert.equal(old.stats().nusing, 1);
    });
    await flush();
    assert.deepEqual(closed, [0], "closed when the context gave it back");
    assert.equal(old.stats().nusing, 0);
    assert.equal(await withContext(async () => (await p._getObj()).n), 100);
    await p._shutdown();
  });

  it("merges _setPool options, and refuses them once the pool exists", async () => {
    const p = new Proxy<{ n: number }>({ maxSize: 3 });
    p._setPool({ minSize: 2, timeout: 100 });
    p.setFun((n) => ({ n }));
    const s = p._pool!.stats();
    assert.equal(s.config.maxSize, 3);
    assert.equal(s.config.minSize, 2);
    assert.equal(s.config.timeout, 100);
    assert.throws(() => p._setPool({ maxSize: 5 }), ProxyError);
    await p._shutdown();
  });

  it("_withObj lends and takes back, as suspect on error", async () => {
    let checks = 0;
    const p = new Proxy<{ n: number }>({
      fun: (n) => ({ n }),
      health: () => (checks++, false),
      logger: recordingLogger(),
    });
    assert.equal(await p._withObj((o) => o.n), 0);
    assert.equal(checks, 0, "a successful callback costs no health check");
    await assert.rejects(
      p._withObj(() => {
        throw new Error("boom");
      }),
      /boom/,
    );
    assert.equal(checks, 1);
    assert.equal(p._pool!.stats().closedBy.health, 1);
    await p._shutdown();
  });

  it("closes an object returned as broken", async () => {
    const p = new Proxy<{ n: number }>({ fun: (n) => ({ n }) });
    await withContext(async () => {
      await p._getObj();
      await p._retObj({ broken: true });
    });
    assert.equal(p._pool!.stats().closedBy.broken, 1);
    await p._shutdown();
  });

  it("shuts the old pool down when set again", async () => {
    const p = new Proxy<{ n: number }>({ fun: (n) => ({ n }) });
    const old = p._pool!;
    p.setObj({ n: 99 });
    assert.equal(p.n, 99);
    assert.equal(p._pool, undefined);
    await old.shutdown();
    assert.equal(old.stats().shutdown, true);
  });
});

describe("Proxy: the production pool options pass through", () => {
  it("gives maxLifetime, maxWaiting, maxCreating, check, reset and the time limits to its pool", async () => {
    let resets = 0;
    let checks = 0;
    const p = new Proxy<{ n: number }>({
      fun: (n) => ({ n }),
      maxSize: 2,
      maxLifetime: 60_000,
      maxLifetimeJitter: 0.01,
      maxWaiting: 1,
      maxCreating: 1,
      check: () => void checks++,
      checkBypass: 0,
      reset: () => void resets++,
      hookTimeout: 1000,
      createTimeout: 2000,
      backoffInitial: 5,
      backoffMax: 50,
      logLevel: "off",
    });
    const first = await withContext(async () => {
      const obj = await p._getObj();
      await p._retObj();
      return obj;
    });
    const pool = p._pool!;
    const c = pool.stats().config;
    assert.equal(c.maxLifetime, 60_000);
    assert.equal(c.maxWaiting, 1);
    assert.equal(c.maxCreating, 1);
    assert.equal(resets, 1, "reset ran on the proxy's return");
    const again = await withContext(() => p._getObj());
    assert.equal(again, first);
    assert.equal(checks, 2, "check ran before each lending of an idle object");
    // maxWaiting: with both objects lent, one waits, the next is refused
    const a = await pool.get();
    const b = await pool.get();
    const waiting = pool.get();
    await assert.rejects(
      pool.get(),
      (err: Error) => err.name === "OverloadError",
    );
    pool.ret(a);
    pool.ret(b);
    pool.ret(await waiting);
    await p._shutdown();
  });
});

describe("Proxy: outside any context", () => {
  it("refuses _getObj, _retObj and synchronous use, saying to use withContext", async () => {
    const p = new Proxy<{ n: number }>({ fun: (n) => ({ n }) });
    const outside = (err: unknown) =>
      err instanceof ProxyError &&
      /withContext\(fn, \{ take: \[proxy\] \}\)/.test(err.message) &&
      /_withObj\(fn\)/.test(err.message);
    await assert.rejects(p._getObj(), outside);
    await assert.rejects(p._retObj(), outside);
    assert.throws(() => p.n, outside);
    assert.equal(p._hasObj(), false);
    assert.equal(p._pool!.stats().nusing, 0, "nothing taken");
    await p._shutdown();
  });

  it("lends each _withObj call an object of its own for its duration, the proxy forwarding to it", async () => {
    const p = new Proxy<{ n: number }>({ fun: (n) => ({ n }), maxSize: 2 });
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const seen: number[] = [];
    const first = p._withObj(async (o) => {
      seen.push(o.n);
      await gate;
      assert.equal(p.n, o.n, "the proxy forwards to this call's object");
      return o.n;
    });
    await flush();
    const second = p._withObj((o) => {
      seen.push(o.n);
      return o.n;
    });
    const b = await second; // ends while the first still holds its own
    assert.equal(p._pool!.stats().nusing, 1, "the first still holds one");
    release();
    const a = await first;
    assert.notEqual(a, b, "two concurrent calls, two objects");
    assert.equal(p._pool!.stats().nusing, 0);
    await p._shutdown();
  });

  it("without any context store, _withObj still lends an object of its own", async () => {
    setDefaultContextStore(undefined);
    try {
      const p = new Proxy<{ n: number }>({ fun: (n) => ({ n }), maxSize: 2 });
      const [a, b] = await Promise.all([
        p._withObj(async (o) => {
          await flush();
          return o.n;
        }),
        p._withObj(async (o) => {
          await flush();
          return o.n;
        }),
      ]);
      assert.notEqual(a, b);
      assert.equal(p._pool!.stats().nusing, 0);
      // there is no context to forward in: the error says how to get one
      await assert.rejects(
        p._withObj(() => p.n),
        (err: Error) =>
          err instanceof ProxyError && /import it/.test(err.message),
      );
      await p._shutdown();
    } finally {
      setDefaultContextStore(contextStore);
    }
  });
});

describe("Proxy: strict arguments on every call", () => {
  it("_getObj, _retObj and _withObj refuse unknown keys and wrong types", async () => {
    const p = new Proxy<{ n: number }>({ fun: (n) => ({ n }) });
    await withContext(async () => {
      await p._getObj();
      // checked even when the context has its object already
      await assert.rejects(
        p._getObj({ timout: 5 } as never),
        /'timout' is not a known option: did you mean 'timeout'\?/,
      );
      await assert.rejects(
        p._retObj({ brokne: true } as never),
        /'brokne' is not a known option: did you mean 'broken'\?/,
      );
      await assert.rejects(
        p._retObj({ broken: "yes" } as never),
        /'broken' must be a boolean/,
      );
      assert.equal(p._hasObj(), true, "a refused _retObj gives nothing back");
      await assert.rejects(
        p._withObj((o) => o.n, { timout: 5 } as never),
        /did you mean 'timeout'/,
      );
      await assert.rejects(
        p._withObj("fn" as never),
        /'fn' must be a function/,
      );
    });
    assert.throws(
      () => new Proxy<object>({ maxSize: 3 })._setPool({ maxsize: 4 } as never),
      /'maxsize' is not a known option: did you mean 'maxSize'\?/,
    );
    await p._shutdown();
  });

  it("a context gives back only the lend it made", async () => {
    const log = recordingLogger();
    const p = new Proxy<{ n: number }>({
      fun: (n) => ({ n }),
      maxSize: 1,
      logger: log,
    });
    let other: { n: number } | undefined;
    await withContext(async () => {
      const mine = await p._getObj();
      p._pool!.ret(mine); // given back by hand...
      other = await p._pool!.get(); // ...and lent to someone else
    });
    assert.equal(p._pool!.stats().nusing, 1, "still lent to the other");
    assert.match(log.at("warn").join("\n"), /a lease did not give back/);
    p._pool!.ret(other!);
    await p._shutdown();
  });
});
