/**
 * The {@linkcode Proxy}: a reference that exists before its object. Export
 * it at start-up, import it anywhere, set it later; from then on every
 * property access and method call is forwarded to the wrapped object, or to
 * the current task's own object taken from a pool.
 *
 * @module
 */

import { ProxyError } from "./errors.ts";
import type { Lease } from "./lease.ts";
import type { GetOptions, PoolOptions, RetOptions } from "./options.ts";
import {
  POOL_OPTION_NAMES,
  resolvePoolOptions,
  resolveRetOptions,
  resolveWaitOptions,
} from "./options.ts";
import { Pool } from "./pool.ts";
import { checkKnownKeys, isThenable, show } from "./_validate.ts";
import { given } from "./_methods.ts";
import {
  addSlot,
  type ContextStore,
  FAILED,
  findSlot,
  ProxyContext,
  retSlot,
  runInContext,
  Slot,
  storeOf,
} from "./_slots.ts";

export {
  type ContextStore,
  endContext,
  ProxyContext,
  setDefaultContextStore,
} from "./_slots.ts";

/**
 * Creates one object, called with its creation number; may be async.
 *
 * @example A factory of per-request connections
 * ```ts
 * import { type ObjectFactory, Proxy } from "./mod.ts";
 *
 * const connect: ObjectFactory<{ id: number }> = async (n) => ({ id: n });
 * const db = new Proxy<{ id: number }>();
 * db.setFun(connect);
 * await db._shutdown();
 * ```
 */
export type ObjectFactory<T> = (n: number) => T | PromiseLike<T>;

/**
 * How objects are shared:
 * - `"shared"`: one object for everyone (it must be safe to share), set with
 *   `obj`, or made by `fun` on first use (a sync `fun` on the first access, an
 *   async one by the first `await proxy._getObj()`) and kept;
 * - `"context"`: each async context (request, task) has its own object,
 *   made by `fun`, from a pool unless `maxSize` is `null`; `obj` is refused;
 * - `"auto"`: `"shared"` with `obj`, `"context"` with `fun`;
 * - `"thread"` and `"versatile"`: the original module's names, taken as
 *   `"context"` (an async context is this runtime's thread).
 *
 * @example One shared object, whatever it was set with
 * ```ts
 * import { Proxy } from "./mod.ts";
 *
 * const config = new Proxy<{ debug: boolean }>({ scope: "shared" });
 * config.setObj({ debug: true });
 * ```
 *
 * @example One shared client, made when first needed
 * ```ts
 * import assert from "node:assert/strict";
 * import { Proxy } from "./mod.ts";
 *
 * const made: number[] = [];
 * const client = new Proxy<{ id: number }>({ scope: "shared" });
 * client.setFun((n) => (made.push(n), { id: n }));
 * assert.equal(made.length, 0); // nothing made yet
 * assert.equal(client.id, 0);
 * assert.equal(client.id, 0);
 * assert.equal(made.length, 1); // made once, then shared
 * ```
 */
export type ProxyScope =
  | "auto"
  | "shared"
  | "context"
  | "thread"
  | "versatile";

/**
 * Pool options a {@linkcode Proxy} passes through to its pool.
 *
 * @example Pool options through a proxy
 * ```ts
 * import { Proxy, type ProxyPoolOptions } from "./mod.ts";
 *
 * const pooling: ProxyPoolOptions<object> = { maxSize: 10, timeout: 5000 };
 * const db = new Proxy<object>(pooling);
 * db._setPool({ minSize: 2 }); // before setFun builds the pool
 * db.setFun(() => ({}));
 * await db._shutdown();
 * ```
 */
export type ProxyPoolOptions<T> = Omit<PoolOptions<T>, "fun" | "maxSize"> & {
  /**
   * Pool size limit (`0` for no limit), or `null` for no pool at all: `fun`
   * is then called each time a context needs an object, and the object is
   * dropped when the context ends. With `null`, the other pool options
   * (`closer`, `health`, `timeout`…) have nothing to act on and are refused
   * with a {@linkcode ProxyError}; `_retObj()` keeps the context's object
   * (as the original module ignores `_ret_obj` without a pool), unless it is
   * returned as `broken`.
   * @default {0}
   */
  maxSize?: number | null;
};

/**
 * Options of {@linkcode Proxy}: what it wraps, how it is set, and the
 * options of its pool.
 *
 * @typeParam T The type of the wrapped object.
 * @typeParam S The name of the setter (`setName`).
 *
 * @example A proxy renamed to avoid a clash with the wrapped Map's set
 * ```ts
 * import assert from "node:assert/strict";
 * import { Proxy, type ProxyOptions } from "./mod.ts";
 *
 * const options: ProxyOptions<Map<string, number>, "setMap"> = { setName: "setMap" };
 * const cache = new Proxy<Map<string, number>, "setMap">(options);
 * cache.setMapObj(new Map());
 * cache.set("a", 1); // the Map's own set
 * assert.equal(cache.get("a"), 1);
 * ```
 */
export type ProxyOptions<T, S extends string = "set"> = ProxyPoolOptions<T> & {
  /** The object to share (shared scope). */
  obj?: T;
  /** Creates one object per async context (context scope). */
  fun?: ObjectFactory<T>;
  /**
   * Name of the setter; the others are `<setName>Obj` and `<setName>Fun`.
   * Change it when the wrapped object has a member called `set`.
   * @default {"set"}
   */
  setName?: S;
  /**
   * How objects are shared.
   * @default {"auto"}
   */
  scope?: ProxyScope;
  /**
   * Where the current async context is found; by default the one installed
   * by the `./context` module, if imported, else none (then only
   * `_withObj(fn)` lends objects: see {@linkcode ContextStore}).
   */
  context?: ContextStore;
};

/**
 * The methods of a proxy itself, beside those of the wrapped object. Their
 * names start with `_` (or with `setName`) so that they do not collide with
 * the wrapped object's members.
 *
 * @typeParam T The type of the wrapped object.
 * @typeParam S The name of the setter.
 *
 * @example The proxy's own methods
 * ```ts
 * import assert from "node:assert/strict";
 * import { Proxy } from "./mod.ts";
 *
 * import { withContext } from "./context.ts";
 *
 * const db = new Proxy<{ id: number }>({ fun: (id) => ({ id }) });
 * await withContext(async () => {
 *   assert.equal(db._hasObj(), false);
 *   const conn = await db._getObj(); // this context's object
 *   assert.equal(db.id, conn.id);
 *   await db._retObj(); // back to the pool before the context ends
 * });
 * // outside a context: an object of its own for the callback's duration
 * assert.equal(await db._withObj((conn) => conn.id), 0);
 * await db._shutdown();
 * ```
 */
export type ProxyControls<T, S extends string = "set"> =
  & {
    /**
     * The current object: the shared one, or the current context's one,
     * taken from the pool (or made by `fun`) if it has none yet.
     */
    _getObj(options?: GetOptions): Promise<T>;
    /**
     * Gives the current context's object back to the pool (no-op for a
     * shared object); `{ broken: true }` closes it. Without a pool
     * (`maxSize: null`) the object has nowhere to go and is kept, as in the
     * original module, unless `broken`: then it is dropped and the next use
     * makes a new one.
     */
    _retObj(options?: RetOptions): Promise<void>;
    /** Whether the current context (or the shared scope) has an object. */
    _hasObj(): boolean;
    /**
     * Merges pool options; refused once the pool exists, and when they
     * would be ignored (`maxSize: null`, scope `"shared"`).
     */
    _setPool(options: ProxyPoolOptions<T>): void;
    /**
     * Runs `fn` with the current object and gives it back afterwards (as
     * suspect if `fn` throws).
     */
    _withObj<R>(
      fn: (obj: T) => R | PromiseLike<R>,
      options?: GetOptions,
    ): Promise<R>;
    /** The pool behind a context-scoped proxy, if any. */
    readonly _pool: Pool<T> | undefined;
    /** Gives back every object, shuts the pool down. */
    _shutdown(): Promise<void>;
  }
  & { [K in S]: (obj?: T, fun?: ObjectFactory<T>) => Proxy<T, S> }
  & { [K in `${S}Obj`]: (obj: T) => Proxy<T, S> }
  & { [K in `${S}Fun`]: (fun: ObjectFactory<T>) => Proxy<T, S> };

/**
 * A proxy to a `T`: the wrapped object's members plus the proxy's
 * {@linkcode ProxyControls}.
 *
 * @typeParam T The type of the wrapped object.
 * @typeParam S The name of the setter.
 *
 * @example Type a module-level proxy
 * ```ts
 * import assert from "node:assert/strict";
 * import { Proxy } from "./mod.ts";
 *
 * interface Db {
 *   query(sql: string): string;
 * }
 * export const db: Proxy<Db> = new Proxy<Db>();
 * db.setObj({ query: (sql) => `rows of ${sql}` });
 * assert.equal(db.query("SELECT 1"), "rows of SELECT 1");
 * ```
 */
export type Proxy<T, S extends string = "set"> = T & ProxyControls<T, S>;

/**
 * The constructor of {@linkcode Proxy}.
 *
 * @example Empty now, set later
 * ```ts
 * import assert from "node:assert/strict";
 * import { Proxy } from "./mod.ts";
 *
 * const db = new Proxy<{ name: string }>();
 * db.setObj({ name: "main" });
 * assert.equal(db.name, "main");
 * assert.ok(db instanceof Proxy);
 * ```
 */
export interface ProxyConstructor {
  /**
   * Creates a proxy, empty or set at once with `obj` or `fun`.
   *
   * @typeParam T The type of the wrapped object.
   * @typeParam S The name of the setter; pass it as a type argument too
   * when you give `setName` and `T` explicitly: `new Proxy<Db, "setDb">`.
   * @param options What to wrap and how.
   * @throws {ProxyError} Both `obj` and `fun` are given (`null` counts as
   * not given), or pool options with `maxSize: null` or scope `"shared"`,
   * where no pool would use them.
   * @throws {TypeError} An option has the wrong type.
   */
  new <T, S extends string = "set">(options?: ProxyOptions<T, S>): Proxy<T, S>;
  /** Proxies are recognised with `instanceof`. */
  [Symbol.hasInstance](value: unknown): boolean;
}

const WHAT = "Cannot create proxy";

const SCOPES = new Set<string>([
  "auto",
  "shared",
  "context",
  "thread",
  "versatile",
]);
const PROXY_KEYS = new Set(["obj", "fun", "setName", "scope", "context"]);
const KNOWN_KEYS = new Set([...PROXY_KEYS, ...POOL_OPTION_NAMES]);
/** Node's and Bun's inspection hook: `(depth, options, inspect)`. */
const NODE_INSPECT = Symbol.for("nodejs.util.inspect.custom");
/** Deno's inspection hook: `(inspect, options)`. */
const DENO_INSPECT = Symbol.for("Deno.customInspect");
const INSPECT: readonly PropertyKey[] = [NODE_INSPECT, DENO_INSPECT];
const proxies = new WeakSet<object>();

/** The state behind one proxy; the ES Proxy's traps read it. */
class ProxyState<T> {
  readonly setName: string;
  scope: ProxyScope;
  /** The scope asked for: "auto" follows the setter used. */
  readonly declared: ProxyScope;
  readonly store: ContextStore | undefined;
  /** Shared scope: the object, and its bound methods. */
  shared = new Slot<T>();
  fun: ObjectFactory<T> | undefined = undefined;
  pool: Pool<T> | undefined = undefined;
  poolOptions: ProxyPoolOptions<T>;
  /** Creation numbers when there is no pool. */
  made = 0;
  readonly controls = new Map<PropertyKey, unknown>();
  self: Proxy<T, string> | undefined = undefined;
  /** The ES proxy's target: empty, the inspection hooks on its prototype. */
  readonly target: Record<symbol, unknown> = {};

  constructor(options: ProxyOptions<T, string>) {
    const {
      obj: givenObj,
      fun: givenFun,
      setName = "set",
      scope = "auto",
      context,
      ...pool
    } = options;
    // null is nothing, as undefined is
    const obj = givenObj ?? undefined;
    const fun = givenFun ?? undefined;
    if (typeof setName !== "string" || setName === "") {
      throw new TypeError(
        `${WHAT} as 'setName' must be a non-empty string: current value is ${
          show(setName)
        }`,
      );
    }
    if (!SCOPES.has(scope as string)) {
      throw new TypeError(
        `${WHAT} as 'scope' must be one of "auto", "shared", "context" (or the original's "thread", "versatile"): current value is ${
          show(scope)
        }`,
      );
    }
    if (
      context !== undefined &&
      (typeof context?.getStore !== "function" ||
        typeof context?.run !== "function")
    ) {
      throw new TypeError(
        `${WHAT} as 'context' must have getStore() and run() (e.g. an AsyncLocalStorage): current value is ${
          show(context)
        }`,
      );
    }
    this.setName = setName;
    this.scope = this.declared = scope === "thread" || scope === "versatile"
      ? "context"
      : scope;
    this.store = context;
    checkPoolOptions(WHAT, pool);
    const given = Object.keys(pool).filter((k) =>
      (pool as Record<string, unknown>)[k] !== undefined
    );
    if (this.declared === "shared" && given.length !== 0) {
      throw new ProxyError(
        `${WHAT} with scope "shared" and pool options (${
          given.join(", ")
        }): a shared object is not pooled; use scope "context" or "auto" with fun for pooled objects`,
      );
    }
    refuseUnpooled(WHAT, pool);
    this.poolOptions = pool;
    this.#installControls();
    if (obj !== undefined && fun !== undefined) {
      throw new ProxyError(
        `${WHAT} with both 'obj' and 'fun': give 'obj' to share one object, or 'fun' to make one per context`,
      );
    }
    this.initial = { obj, fun };
  }

  /** What the constructor was given, applied once the ES proxy exists. */
  initial: { obj: T | undefined; fun: ObjectFactory<T> | undefined };

  #installControls(): void {
    const c = this.controls;
    const name = this.setName;
    c.set(name, (obj?: T, fun?: ObjectFactory<T>) => this.set(obj, fun));
    c.set(`${name}Obj`, (obj: T) => this.setObj(obj));
    c.set(`${name}Fun`, (fun: ObjectFactory<T>) => this.setFun(fun));
    c.set("_getObj", (options?: GetOptions) => this.getObj(options));
    c.set("_retObj", (options?: RetOptions) => this.retObj(options));
    c.set("_hasObj", () => this.hasObj());
    c.set("_setPool", (options: ProxyPoolOptions<T>) => this.setPool(options));
    c.set(
      "_withObj",
      <R>(fn: (obj: T) => R | PromiseLike<R>, options?: GetOptions) =>
        this.withObj(fn, options),
    );
    c.set("_shutdown", () => this.shutdown());
  }

  // ---------------------------------------------------------------- setters

  set(obj?: T | null, fun?: ObjectFactory<T> | null): Proxy<T, string> {
    // null is nothing, as undefined is
    if (obj != null && fun != null) {
      throw new ProxyError(
        `Cannot ${this.setName}() both an object and a function: call ${this.setName}(obj) to share one object, or ${this.setName}(undefined, fun) to make one per context`,
      );
    }
    if (obj != null) return this.setObj(obj);
    if (fun != null) return this.setFun(fun);
    throw new ProxyError(
      `Cannot ${this.setName}() nothing${
        obj === null ? " (null)" : ""
      }: call ${this.setName}(obj) to share one object, or ${this.setName}(undefined, fun) to make one per context`,
    );
  }

  setObj(obj: T): Proxy<T, string> {
    if (obj == null) {
      // a proxy to null or undefined could only throw on every use
      throw new ProxyError(
        `Cannot ${this.setName}Obj() nothing${
          obj === null ? " (null)" : ""
        }: pass the object to share`,
      );
    }
    if (this.declared === "context") {
      throw new ProxyError(
        `Cannot ${this.setName}Obj() on a proxy with scope "context", which makes one object per context: call ${this.setName}Fun(fun), or create the proxy with scope "shared" or "auto"`,
      );
    }
    this.#dropPool();
    this.scope = "shared";
    this.fun = undefined;
    const slot = new Slot<T>();
    slot.obj = obj;
    slot.has = true;
    this.shared = slot;
    return this.self!;
  }

  setFun(fun: ObjectFactory<T>): Proxy<T, string> {
    if (fun == null) {
      throw new ProxyError(
        `Cannot ${this.setName}Fun() nothing${
          fun === null ? " (null)" : ""
        }: pass the function that makes one object`,
      );
    }
    if (typeof fun !== "function") {
      throw new TypeError(
        `Cannot ${this.setName}Fun() as 'fun' must be a function: current value is ${
          show(fun)
        }`,
      );
    }
    this.#dropPool();
    this.shared = new Slot<T>();
    this.fun = fun;
    this.made = 0;
    if (this.declared === "shared") {
      // one object for everyone, made on first use, no pool
      this.scope = "shared";
      return this.self!;
    }
    this.scope = "context";
    const { maxSize = 0, ...rest } = this.poolOptions;
    if (maxSize !== null) {
      this.pool = new Pool<T>({ ...rest, maxSize, fun });
    }
    return this.self!;
  }

  setPool(options: ProxyPoolOptions<T>): void {
    if (this.pool !== undefined) {
      throw new ProxyError(
        `Cannot change pool options once the pool exists: call _setPool() before ${this.setName}Fun()`,
      );
    }
    if (typeof options !== "object" || options === null) {
      throw new TypeError(
        `Cannot set pool options as 'options' must be an object: current value is ${
          show(options)
        }`,
      );
    }
    checkKnownKeys("Cannot set pool options", options, POOL_OPTION_NAMES);
    if (this.declared === "shared") {
      throw new ProxyError(
        `Cannot set pool options on a proxy with scope "shared": a shared object is not pooled; create the proxy with scope "context" or "auto"`,
      );
    }
    if ("fun" in options) {
      throw new ProxyError(
        `Cannot pass 'fun' to _setPool(): call ${this.setName}Fun(fun)`,
      );
    }
    const merged = { ...this.poolOptions, ...options };
    checkPoolOptions("Cannot set pool options", merged);
    refuseUnpooled("Cannot set pool options", merged);
    this.poolOptions = merged;
  }

  #dropPool(): void {
    const pool = this.pool;
    this.pool = undefined;
    // objects still held in contexts go back to the old pool, which closes
    // them; nothing is leaked
    if (pool !== undefined) void pool.shutdown();
  }

  // ---------------------------------------------------------------- objects

  /**
   * The slot of the current context for this proxy. Outside any context a
   * context-scoped proxy has none: one object there would be shared by
   * every task that runs outside a context, and given back by the first
   * that ends while the others still use it.
   */
  slot(): Slot<T> {
    if (this.scope !== "context") return this.shared;
    const store = storeOf(this.store);
    const ctx = store?.getStore();
    if (ctx === undefined) throw this.#outside(store !== undefined);
    let slot = findSlot(ctx, this) as Slot<T> | undefined;
    if (slot === undefined) {
      if (ctx.closed) {
        throw new ProxyError(
          "This context has ended: its objects went back to the pool; do not keep using the proxy after withContext() settled",
        );
      }
      slot = new Slot<T>();
      addSlot(ctx, this, slot as Slot<unknown>);
    }
    return slot;
  }

  /** The error for a context-scoped proxy used outside any context. */
  #outside(hasStore: boolean): ProxyError {
    return new ProxyError(
      `This proxy has one object per async context, and no context is current: run the work in withContext(fn, { take: [proxy] }) from the ./context module${
        hasStore ? "" : " (import it: it installs the context store)"
      }, or use proxy._withObj(fn), which lends fn an object of its own for its duration`,
    );
  }

  /** The current object, for synchronous access through the proxy. */
  current(): Slot<T> {
    const slot = this.slot();
    if (slot.has) return slot;
    if (this.fun === undefined) {
      throw new ProxyError(
        `This proxy has nothing to forward to yet: call ${this.setName}(obj), ${this.setName}Obj(obj) or ${this.setName}Fun(fun) first`,
      );
    }
    if (this.pool === undefined) {
      if (slot.pending !== undefined) {
        throw new ProxyError(
          "This context's object is still being made: `await proxy._getObj()` first",
        );
      }
      // no pool: make one now, as the original does per thread
      const made = this.fun(this.made++);
      if (!isThenable(made)) {
        slot.obj = made;
        slot.has = true;
        return slot;
      }
      // kept for the next _getObj() here, neither dropped nor made twice
      this.#adopt(slot, Promise.resolve(made), false).catch(() => {});
      throw new ProxyError(
        "This proxy's fun is async, so its object cannot be made on first use: `await proxy._getObj()` first in this context",
      );
    }
    throw new ProxyError(
      "No object in this context yet: `await proxy._getObj()` first, or take it when the context starts: withContext(fn, { take: [proxy] })",
    );
  }

  getObj(options?: GetOptions): Promise<T> {
    let slot: Slot<T>;
    try {
      // checked even when the object is there already: on every call
      resolveWaitOptions("Cannot get the proxy's object", options, Infinity);
      slot = this.slot();
    } catch (err) {
      return Promise.reject(err);
    }
    if (slot.has) return Promise.resolve(slot.obj as T);
    if (slot.pending !== undefined) return slot.pending;
    if (this.fun === undefined) {
      return Promise.reject(
        new ProxyError(
          `This proxy has nothing to give yet: call ${this.setName}(obj), ${this.setName}Obj(obj) or ${this.setName}Fun(fun) first`,
        ),
      );
    }
    const pool = this.pool;
    const fun = this.fun;
    if (pool !== undefined) return this.#adopt(slot, pool.lease(options), true);
    return this.#adopt(
      slot,
      Promise.resolve().then(() => fun(this.made++)),
      false,
    );
  }

  /**
   * Makes `taking` (a lease from the pool, or an object made by `fun`) the
   * slot's pending object, and its object once there.
   */
  #adopt(
    slot: Slot<T>,
    taking: Promise<T | Lease<T>>,
    leased: boolean,
  ): Promise<T> {
    return slot.pending = taking.then(
      (got) => {
        slot.pending = undefined;
        if (leased) {
          slot.lease = got as Lease<T>;
          slot.obj = slot.lease.obj;
        } else slot.obj = got as T;
        slot.has = true;
        return slot.obj as T;
      },
      (err) => {
        slot.pending = undefined;
        throw err;
      },
    );
  }

  retObj(options?: RetOptions): Promise<void> {
    let how: 0 | 1 | 2;
    let slot: Slot<T>;
    try {
      how = resolveRetOptions(options);
      // a shared object is kept, as the original keeps it
      if (this.scope !== "context") return Promise.resolve();
      slot = this.slot();
    } catch (err) {
      return Promise.reject(err);
    }
    return Promise.resolve(retSlot(slot, how));
  }

  hasObj(): boolean {
    try {
      return this.slot().has;
    } catch {
      return false;
    }
  }

  withObj<R>(
    fn: (obj: T) => R | PromiseLike<R>,
    options?: GetOptions,
  ): Promise<R> {
    try {
      if (typeof fn !== "function") {
        throw new TypeError(
          `Cannot lend the proxy's object as 'fn' must be a function: current value is ${
            show(fn)
          }`,
        );
      }
      resolveWaitOptions("Cannot lend the proxy's object", options, Infinity);
    } catch (err) {
      return Promise.reject(err);
    }
    if (this.scope === "context") {
      const store = storeOf(this.store);
      if (store?.getStore() === undefined) {
        return this.#withOwnObj(store, fn, options);
      }
    }
    return this.#withCurrentObj(fn, options);
  }

  /** `_withObj` in a context, or with a shared object: the current one. */
  async #withCurrentObj<R>(
    fn: (obj: T) => R | PromiseLike<R>,
    options?: GetOptions,
  ): Promise<R> {
    const obj = await this.getObj(options);
    let result: R;
    try {
      result = await fn(obj);
    } catch (err) {
      // as use(): the caller does not wait for the pool's work on it, and
      // the pool's isBroken says what the error means for the object
      if (this.scope === "context") {
        try {
          void retSlot(this.slot(), FAILED, err);
        } catch {
          // the context ended meanwhile: its objects went back with it
        }
      }
      throw err;
    }
    void this.retObj();
    return result;
  }

  /**
   * `_withObj` outside any context: `fn` gets an object of its own for its
   * duration, never one shared with another caller. With a context store,
   * `fn` runs in a context of its own, so that the proxy forwards to that
   * object inside it too; without one, `fn` uses the object it is given.
   */
  async #withOwnObj<R>(
    store: ContextStore | undefined,
    fn: (obj: T) => R | PromiseLike<R>,
    options?: GetOptions,
  ): Promise<R> {
    if (store !== undefined) {
      // whatever else the work takes in this context goes back with it
      const ctx = new ProxyContext();
      return await store.run(
        ctx,
        () => runInContext(ctx, () => this.#withCurrentObj(fn, options)),
      );
    }
    if (this.fun === undefined) {
      throw new ProxyError(
        `This proxy has nothing to lend yet: call ${this.setName}Fun(fun) first`,
      );
    }
    if (this.pool !== undefined) return await this.pool.use(fn, options);
    return await fn(await this.fun(this.made++));
  }

  async shutdown(): Promise<void> {
    await this.pool?.shutdown();
  }

  /** Set while the object is being shown, to stop on a cycle. */
  #inspecting = false;

  /**
   * What `console.log(proxy)` shows: `Proxy(...)` around the current
   * object as `show` shows it, else what is missing. Never throws, never
   * makes nor takes an object.
   */
  inspect(show: (obj: unknown) => string): string {
    if (this.#inspecting) return "Proxy([Circular])";
    let slot: Slot<T>;
    try {
      slot = this.slot();
    } catch {
      const store = storeOf(this.store);
      return store?.getStore() === undefined
        ? "Proxy(no context: an object per context, none outside)"
        : "Proxy(context ended: its object went back)";
    }
    if (!slot.has) return `Proxy(${this.#missing(slot)})`;
    this.#inspecting = true;
    try {
      return `Proxy(${show(slot.obj)})`;
    } catch {
      return "Proxy([object])";
    } finally {
      this.#inspecting = false;
    }
  }

  #missing(slot: Slot<T>): string {
    const name = this.setName;
    if (this.fun === undefined) {
      return `empty: call ${name}(obj), ${name}Obj(obj) or ${name}Fun(fun)`;
    }
    if (slot.pending !== undefined) return "object being made";
    if (this.scope === "shared") return "not made yet: made on first use";
    return "no object in this context";
  }

  /** The inspection hooks of Node/Bun and of Deno, for the ES proxy's target. */
  inspectors(): Record<symbol, unknown> {
    return {
      [NODE_INSPECT]: (
        depth: unknown,
        options: Record<string, unknown> | undefined,
        inspect: unknown,
      ) =>
        this.inspect((obj) => {
          if (typeof inspect !== "function") {
            return Object.prototype.toString.call(obj);
          }
          // the proxy is transparent: its object gets the depth left here
          const opts = typeof depth === "number" || depth === null
            ? { ...options, depth }
            : options;
          return String(inspect(obj, opts));
        }),
      [DENO_INSPECT]: (
        inspect: unknown,
        options: Record<string, unknown> | undefined,
      ) =>
        this.inspect((obj) => {
          if (typeof inspect !== "function") {
            return Object.prototype.toString.call(obj);
          }
          const depth = options?.depth;
          const current = options?.currentDepth;
          const opts = typeof depth === "number" && typeof current === "number"
            ? { ...options, depth: depth - current }
            : options;
          return String(inspect(obj, opts));
        }),
    };
  }
}

/**
 * Refuses pool options with `maxSize: null` (no pool), where they would be
 * silently ignored.
 */
function refuseUnpooled<T>(what: string, options: ProxyPoolOptions<T>): void {
  if (options.maxSize !== null) return;
  const ignored = Object.keys(options).filter((k) =>
    k !== "maxSize" &&
    (options as Record<string, unknown>)[k] !== undefined
  );
  if (ignored.length === 0) return;
  throw new ProxyError(
    `${what} with maxSize: null and pool options (${
      ignored.join(", ")
    }): maxSize: null means no pool, so they would be ignored; drop them, or give maxSize a number (0 for no limit) to pool the objects`,
  );
}

/**
 * Refuses bad pool options when they are given, not later when the pool is
 * built by a setter.
 */
function checkPoolOptions<T>(what: string, options: ProxyPoolOptions<T>): void {
  const { maxSize, ...rest } = options;
  resolvePoolOptions<T>({
    ...rest,
    maxSize: maxSize === null ? undefined : maxSize,
    fun: () => undefined as T,
  }, what);
}

const NOT_SPECIAL = Symbol("not special");

/**
 * Property reads that must not throw, nor make an object, when the current
 * context has none: `await proxy` and `return proxy` from an async function
 * look up `then`; debuggers look up inspection hooks.
 */
function emptyValue<T>(state: ProxyState<T>, prop: PropertyKey): unknown {
  if (prop === "then") return undefined;
  if (prop === Symbol.toStringTag) return "Proxy";
  if (INSPECT.includes(prop)) return state.target[prop as symbol];
  return NOT_SPECIAL;
}

function hasObject<T>(state: ProxyState<T>): boolean {
  return state.fun !== undefined || state.shared.has;
}

function makeProxy<T>(state: ProxyState<T>): Proxy<T, string> {
  const controls = state.controls;
  const setChar = state.setName.charCodeAt(0);
  const traps: ProxyHandler<object> = {
    get(_target, prop) {
      let slot = state.shared;
      if (!slot.has) {
        // context scope, or nothing made yet: the controls come first
        const control = controls.get(prop);
        if (control !== undefined) return control;
        if (prop === "_pool") return state.pool;
        if (state.scope === "context") {
          try {
            slot = state.slot();
          } catch (err) {
            // an ended context: still inspectable, and not a thenable
            const special = emptyValue(state, prop);
            if (special !== NOT_SPECIAL) return special;
            throw err;
          }
        }
        if (!slot.has) {
          const special = emptyValue(state, prop);
          if (special !== NOT_SPECIAL) return special;
          slot = state.current();
        }
      } else if (prop === slot.lastKey) {
        // the method called last, still the same function: given at once
        // (a read of its own, so that this load stays monomorphic). On a
        // miss (a getter or an ES Proxy giving a new function each time, a
        // property that became data) the value read is used as it is: one
        // read per access, never two
        const fn = (slot.obj as Record<PropertyKey, unknown>)[prop];
        if (fn === slot.lastFn) return slot.lastGiven;
        return given(slot, prop, fn);
      } else if (typeof prop === "string") {
        const first = prop.charCodeAt(0);
        if (first !== 95 && first !== setChar) {
          // not a control's name: a data property is given as it is
          const value = (slot.obj as Record<PropertyKey, unknown>)[prop];
          if (typeof value !== "function" && prop !== "toJSON") return value;
          return given(slot, prop, value);
        }
        // a name that may be one of the controls ("_..." or the setters)
        const control = controls.get(prop);
        if (control !== undefined) return control;
        if (prop === "_pool") return state.pool;
      }
      // always read afresh: what the object holds now is what it gives
      return given(
        slot,
        prop,
        (slot.obj as Record<PropertyKey, unknown>)[prop],
      );
    },
    set(_target, prop, value) {
      if (controls.has(prop) || prop === "_pool") {
        throw new ProxyError(
          `Cannot assign '${String(prop)}': it is a method of the proxy itself`,
        );
      }
      const obj = state.current().obj as object;
      return Reflect.set(obj, prop, value, obj);
    },
    has(_target, prop) {
      if (controls.has(prop) || prop === "_pool") return true;
      if (!hasObject(state)) return false;
      return Reflect.has(state.current().obj as object, prop);
    },
    deleteProperty(_target, prop) {
      return Reflect.deleteProperty(state.current().obj as object, prop);
    },
    ownKeys(_target) {
      if (!hasObject(state)) return [];
      return Reflect.ownKeys(state.current().obj as object);
    },
    getOwnPropertyDescriptor(_target, prop) {
      if (!hasObject(state)) return undefined;
      const d = Reflect.getOwnPropertyDescriptor(
        state.current().obj as object,
        prop,
      );
      // the target holds nothing, so descriptors must be configurable
      if (d !== undefined) d.configurable = true;
      return d;
    },
    defineProperty(_target, prop, descriptor) {
      return Reflect.defineProperty(
        state.current().obj as object,
        prop,
        descriptor,
      );
    },
    getPrototypeOf(_target) {
      if (!hasObject(state)) return ProxyImpl.prototype;
      const obj = state.current().obj;
      return obj !== null && typeof obj === "object"
        ? Reflect.getPrototypeOf(obj)
        : Object.getPrototypeOf(Object(obj));
    },
  };
  // runtimes inspect an ES proxy's target, not through its traps: the
  // target inherits the inspection hooks. They sit on its prototype, not on
  // the target: after each trap V8 looks the key up among the target's own
  // properties (the proxy invariants), and an empty target keeps that
  // lookup as cheap as it gets (about 20 instructions per read on Node)
  const target = state.target;
  const hooks = state.inspectors();
  const proto = Object.create(null);
  for (const key of INSPECT) {
    Object.defineProperty(proto, key, {
      value: hooks[key as symbol],
      configurable: true,
      writable: true,
    });
  }
  Object.setPrototypeOf(target, proto);
  // only `get` is the handler's own: V8 looks the trap up on every access,
  // and on a handler of one property that costs next to nothing (with all
  // nine own, about 25 instructions more per read on Node). The other traps,
  // rarely called, are found on its prototype
  const { get, ...rare } = traps;
  const handler: ProxyHandler<object> = Object.assign(Object.create(rare), {
    get,
  });
  const proxy = new globalThis.Proxy(target, handler) as Proxy<T, string>;
  proxies.add(proxy);
  state.self = proxy;
  const { obj, fun } = state.initial;
  if (obj !== undefined) state.setObj(obj);
  else if (fun !== undefined) state.setFun(fun);
  return proxy;
}

/** The implementation behind the typed {@linkcode Proxy} constructor. */
class ProxyImpl {
  constructor(options?: ProxyOptions<unknown, string>) {
    if (options === undefined) options = {};
    if (typeof options !== "object" || options === null) {
      throw new TypeError(
        `${WHAT} as 'options' must be an object: current value is ${
          show(options)
        }`,
      );
    }
    checkKnownKeys(WHAT, options, KNOWN_KEYS);
    // a constructor may return another object: the ES proxy
    return makeProxy(new ProxyState<unknown>(options));
  }

  static [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === "object" && value !== null && proxies.has(value);
  }
}

/**
 * A reference to an object that may not exist yet (the proxy pattern):
 * export it at start-up, import it anywhere, set it later with `set(obj)`,
 * `setObj(obj)` or `setFun(fun)`. Every property read, method call, `in`,
 * `String()`, `JSON.stringify`, iteration and `await` then behaves as on
 * the wrapped object; methods run with the real object as `this`, so
 * classes with `#private` fields work.
 *
 * With `fun`, each async context (request, task) gets its own object from a
 * {@linkcode Pool} built with the proxy's pool options: take it with
 * `await proxy._getObj()` and give it back with `proxy._retObj()`, or run
 * the work in `withContext()` from the `./context` module, which gives it
 * back automatically when the work settles. Outside any context there is
 * no object to forward to (one there would be shared by every caller, and
 * given back by the first to finish): `proxy._withObj(fn)` lends `fn` an
 * object of its own for its duration, and the rest is refused with a
 * {@linkcode ProxyError} that says so.
 *
 * Using a proxy with nothing set throws {@linkcode ProxyError} naming the
 * setter to call; `null` counts as nothing, as `undefined` does.
 *
 * A method read off the proxy is bound to the object it was read from
 * (that is what lets `#private` fields and detached calls work): with a
 * per-context object, `const query = db.query` keeps that context's object,
 * even after the context ended and the object went back to the pool. Read
 * methods off the proxy where they are called. `console.log(proxy)` shows
 * `Proxy(<the current object>)`, or what the proxy is missing.
 *
 * @example Delayed initialisation (the original README's pattern)
 * ```ts
 * import assert from "node:assert/strict";
 * import { Proxy } from "./mod.ts";
 *
 * class Database {
 *   #url: string;
 *   constructor(url: string) {
 *     this.#url = url;
 *   }
 *   query(sql: string): string {
 *     return `${this.#url}: ${sql}`;
 *   }
 * }
 *
 * // database.ts: exported before anything is configured
 * export const db = new Proxy<Database>();
 *
 * // at start-up, once the configuration is known
 * db.setObj(new Database("postgres://localhost/app"));
 *
 * // anywhere else
 * assert(db.query("SELECT 1") === "postgres://localhost/app: SELECT 1");
 * ```
 *
 * @example A per-task object from a pool
 * ```ts
 * import assert from "node:assert/strict";
 * import { Proxy } from "./mod.ts";
 *
 * import { withContext } from "./context.ts";
 *
 * const conn = new Proxy<{ id: number }>({ fun: (n) => ({ id: n }), maxSize: 4 });
 * await withContext(async () => {
 *   await conn._getObj(); // this context's object
 *   assert(conn.id === 0);
 * }); // back to the pool
 * await conn._shutdown();
 * ```
 */
export const Proxy: ProxyConstructor = ProxyImpl as unknown as ProxyConstructor;
