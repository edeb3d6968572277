// The objects of context-scoped proxies: each async context (a request, a
// task) holds one slot per proxy it used, and gives every object back when
// it ends. Which context is current is a `ContextStore`'s business (the
// `./context` module installs an AsyncLocalStorage); without one, or
// outside any context, a context-scoped proxy has no object.

import { type Lease, releaseAs } from "./lease.ts";
import type { GetOptions } from "./options.ts";

/**
 * Tells which async context is current. `AsyncLocalStorage` from
 * `node:async_hooks` fits (see the `./context` module, which installs one
 * for every proxy). Outside any context (or without a store) a
 * context-scoped proxy has no object: `_withObj(fn)` lends one for `fn`'s
 * duration, and anything else is refused with a {@linkcode ProxyError}.
 *
 * @example Use your own AsyncLocalStorage
 * ```ts
 * import { AsyncLocalStorage } from "node:async_hooks";
 * import { type ContextStore, Proxy, type ProxyContext } from "./mod.ts";
 *
 * const store: ContextStore = new AsyncLocalStorage<ProxyContext>();
 * const db = new Proxy<object>({ fun: () => ({}), context: store });
 * await db._shutdown();
 * ```
 */
export interface ContextStore {
  /** The current context, or `undefined` outside any. */
  getStore(): ProxyContext | undefined;
  /** Runs `fn` with `store` as the current context. */
  run<R>(store: ProxyContext, fn: () => R): R;
}

/** A function read from the wrapped object, and what the proxy gave for it. */
export interface Method {
  fn: unknown;
  given: unknown;
}

/** A context's object for one proxy (or the shared object), and what the
 * proxy gave for its functions. */
export class Slot<T> {
  obj: T | undefined = undefined;
  has = false;
  /** The lend it came with from the pool, to give back that lend only. */
  lease: Lease<T> | undefined = undefined;
  /** A `_getObj` in progress, so that concurrent calls share it. */
  pending: Promise<T> | undefined = undefined;
  /**
   * Methods of `obj` bound to it, by name, with the function each was bound
   * from: a property is always read afresh, and its bound copy reused only
   * while it is still the same function.
   */
  readonly cache = new Map<PropertyKey, Method>();
  /** The name and function read last, and what the proxy gave for it. */
  lastKey: PropertyKey | undefined = undefined;
  lastFn: unknown = undefined;
  lastGiven: unknown = undefined;
  /** `toJSON` for an object without one: serialises the object itself. */
  toJSON: (() => unknown) | undefined = undefined;
}

// A context's slots, one per proxy (keyed by the proxy's state); set by
// ProxyContext's static block, which alone sees its private fields.
export let findSlot: (
  ctx: ProxyContext,
  key: object,
) => Slot<unknown> | undefined;
export let addSlot: (
  ctx: ProxyContext,
  key: object,
  slot: Slot<unknown>,
) => void;
export let takeSlots: (ctx: ProxyContext) => Slot<unknown>[];

/**
 * One async context (a request, a task): it holds the objects that
 * context-scoped proxies took for it, and gives them all back when it ends.
 * Made by `withContext` in the `./context` module.
 *
 * @example A context by hand (`withContext` does this for you)
 * ```ts
 * import { AsyncLocalStorage } from "node:async_hooks";
 * import assert from "node:assert/strict";
 * import { Proxy, ProxyContext } from "./mod.ts";
 *
 * const store = new AsyncLocalStorage<ProxyContext>();
 * const db = new Proxy<{ n: number }>({ fun: (n) => ({ n }), context: store });
 * const ctx = new ProxyContext();
 * await store.run(ctx, () => db._getObj());
 * assert.equal(db._pool!.stats().nusing, 1);
 * await ctx.close(false); // gives back what the context took
 * assert.equal(db._pool!.stats().nusing, 0);
 * await db._shutdown();
 * ```
 */
export class ProxyContext {
  #closed = false;
  // Most contexts serve one proxy: its slot sits in two fields, and a map
  // is made only for a second proxy.
  #firstKey: object | undefined = undefined;
  #firstSlot: Slot<unknown> | undefined = undefined;
  #more: Map<object, Slot<unknown>> | undefined = undefined;

  static {
    findSlot = (ctx, key) =>
      ctx.#firstKey === key ? ctx.#firstSlot : ctx.#more?.get(key);
    addSlot = (ctx, key, slot) => {
      if (ctx.#firstKey === undefined) {
        ctx.#firstKey = key;
        ctx.#firstSlot = slot;
      } else (ctx.#more ??= new Map()).set(key, slot);
    };
    takeSlots = (ctx) => {
      // once its objects went back, the context takes no more
      ctx.#closed = true;
      const first = ctx.#firstSlot;
      const more = ctx.#more;
      ctx.#firstKey = ctx.#firstSlot = ctx.#more = undefined;
      if (first === undefined) return [];
      return more === undefined ? [first] : [first, ...more.values()];
    };
  }

  /** Whether {@linkcode ProxyContext.prototype.close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Gives back every object taken in this context; `suspect` when the
   * context's work threw (the objects go through `health` before reuse,
   * unless the pool's `isBroken` says otherwise; here it has no error to
   * classify).
   *
   * @param suspect The context ended with an error.
   * @returns A promise already settled: each object is back in its pool,
   * which may still run its own work on it (`retter`, `reset`, a health
   * check) before lending it again.
   *
   * @example Close a context
   * ```ts
   * import assert from "node:assert/strict";
   * import { ProxyContext } from "./mod.ts";
   *
   * const ctx = new ProxyContext();
   * await ctx.close(false);
   * assert(ctx.closed);
   * ```
   */
  close(suspect: boolean): Promise<void> {
    for (const slot of takeSlots(this)) {
      void giveBack(slot, suspect ? SUSPECT : NORMAL);
    }
    return Promise.resolve();
  }
}

/**
 * Gives back every object a context took (what a `_getObj` still running
 * brings, when it lands), without waiting for the pool's own work on them.
 */
export function endContext(
  ctx: ProxyContext,
  failed: boolean,
  err?: unknown,
): void {
  for (const slot of takeSlots(ctx)) {
    void giveBack(slot, failed ? FAILED : NORMAL, err);
  }
}

// how an object goes back (as for a lease)
export const NORMAL = 0;
export const SUSPECT = 1;
export const BROKEN = 2;
/** After work that threw: the pool's `isBroken` classifies the error. */
export const FAILED = 3;

/**
 * Gives a slot's object back, the lend it came with only (an object given
 * back meanwhile through the pool is not given back twice); a promise only
 * when that must wait.
 */
export function giveBack<T>(
  slot: Slot<T>,
  how: 0 | 1 | 2 | 3,
  err?: unknown,
): void | Promise<void> {
  if (slot.pending !== undefined) {
    // a _getObj still running: give back what it brings, if anything
    return slot.pending.then(() => giveBack(slot, how, err), () => {});
  }
  if (!slot.has) return;
  const lease = slot.lease;
  slot.obj = slot.lease = undefined;
  slot.has = false;
  slot.cache.clear();
  slot.lastKey =
    slot.lastFn =
    slot.lastGiven =
    slot.toJSON =
      undefined;
  if (lease !== undefined) return releaseAs(lease, how, err);
}

/**
 * `_retObj()`: gives a slot's object back to its pool. An object made by
 * `fun` without a pool (`maxSize: null`) has nowhere to go: it is kept, as
 * the original ignores `_ret_obj` without a pool, unless it is `broken`,
 * when it is dropped so that the next use makes a new one. Either way it
 * goes when its context ends.
 */
export function retSlot<T>(
  slot: Slot<T>,
  how: 0 | 1 | 2 | 3,
  err?: unknown,
): void | Promise<void> {
  if (slot.pending !== undefined) {
    return slot.pending.then(() => retSlot(slot, how, err), () => {});
  }
  if (!slot.has) return;
  if (slot.lease === undefined && how !== BROKEN) return;
  return giveBack(slot, how, err);
}

let defaultStore: ContextStore | undefined;

/**
 * Installs the context store used by proxies created without a `context`
 * option; the `./context` module calls it with its `AsyncLocalStorage`.
 *
 * @param store The store, or `undefined` for none.
 *
 * @example Install a store by hand
 * ```ts
 * import { AsyncLocalStorage } from "node:async_hooks";
 * import { type ProxyContext, setDefaultContextStore } from "./proxy.ts";
 *
 * setDefaultContextStore(new AsyncLocalStorage<ProxyContext>());
 * ```
 */
export function setDefaultContextStore(store: ContextStore | undefined): void {
  defaultStore = store;
}

/** The store a proxy uses: its own, else the default one, if any. */
export function storeOf(
  own: ContextStore | undefined,
): ContextStore | undefined {
  return own ?? defaultStore;
}

/**
 * Runs `fn` in `ctx` (already current), after taking the objects of `take`
 * (with the wait's options `get`), and gives back every object the context
 * took when `fn` settles: after a failure if it threw (the pool's
 * `isBroken` classifies the error). Used by `withContext` and
 * by `_withObj` outside any context.
 */
export async function runInContext<R>(
  ctx: ProxyContext,
  fn: () => R | PromiseLike<R>,
  take?: readonly { _getObj(options?: GetOptions): Promise<unknown> }[],
  get?: GetOptions,
): Promise<R> {
  let failed = false;
  let error: unknown;
  try {
    if (take !== undefined && take.length !== 0) {
      if (take.length === 1) await take[0]._getObj(get);
      else await Promise.all(take.map((proxy) => proxy._getObj(get)));
    }
    return await fn();
  } catch (err) {
    failed = true;
    error = err;
    throw err;
  } finally {
    // the objects go back; the pool's own work on them does not hold the
    // caller (it goes on in the background)
    endContext(ctx, failed, error);
  }
}
