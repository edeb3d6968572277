/**
 * Per-request objects that give themselves back: run each request (or task)
 * with {@linkcode withContext}, and inside it, and in everything it awaits,
 * a context-scoped {@linkcode Proxy} forwards to that context's own object,
 * taken from the proxy's pool at the start or on first `_getObj()`, and
 * given back automatically when the work settles.
 *
 * Built on `AsyncLocalStorage` (Deno, Bun, Node, and Cloudflare workerd with
 * `nodejs_compat`); importing this module installs it as the context store
 * of every proxy. Where it does not exist (browsers), do not import this
 * module: a context-scoped proxy then lends objects only through
 * `proxy._withObj(fn)`, an object of its own for each call (outside any
 * context, one object would be shared by every caller, and given back by
 * the first to finish while the others still use it).
 *
 * **When the objects go back.** A context's objects go back to their pools
 * when its function settles: for an HTTP handler, as soon as it returns its
 * `Response` (or throws), before the server has sent that response. Hence:
 * - a body streamed after the handler returned (a `ReadableStream` that
 *   still queries the connection in `pull`) runs after the context ended:
 *   through the proxy it gets a `ProxyError` (its first chunk may still see
 *   the object or not, depending on the runtime's scheduling).
 *   Finish the work before returning (build the body, then return it), or
 *   let the stream take an object of its own from the proxy's `_pool` and
 *   give it back when it closes or is cancelled (see the example of
 *   {@linkcode withContext});
 * - a method taken off the proxy (`const query = db.query`, or `db.query`
 *   passed as a callback) stays bound to the object it was read from, the
 *   context's object of that moment. Called after the context ended, it
 *   still uses that object, which went back to the pool and may be lent to
 *   another context by now. Read methods off the proxy where they are
 *   called, inside the context.
 *
 * @example An HTTP handler with its own connection per request
 * ```ts
 * import assert from "node:assert/strict";
 * import { Proxy } from "./mod.ts";
 * import { withContext } from "./context.ts";
 *
 * const db = new Proxy<{ id: number }>({ fun: (n) => ({ id: n }), maxSize: 10 });
 *
 * async function handler(_req: Request): Promise<Response> {
 *   return await withContext(async () => {
 *     await Promise.resolve(); // whatever the handler awaits...
 *     return new Response(`connection ${db.id}`); // ...db is this request's
 *   }, { take: [db] });
 * }
 *
 * const res = await handler(new Request("http://localhost/"));
 * assert((await res.text()) === "connection 0");
 * assert(db._pool!.stats().nusing === 0); // given back
 * await db._shutdown();
 * ```
 *
 * @module
 */

import { AsyncLocalStorage } from "node:async_hooks";
import { type GetOptions, resolveWaitOptions } from "./options.ts";
import { checkOptionsObject, show } from "./_validate.ts";
import {
  type ContextStore,
  ProxyContext,
  runInContext,
  setDefaultContextStore,
} from "./_slots.ts";

/**
 * The `AsyncLocalStorage` that tells proxies which context is current. It is
 * installed as the default for every proxy when this module is imported;
 * pass it as the `context` option to be explicit.
 *
 * @example Be explicit about the store
 * ```ts
 * import { Proxy } from "./mod.ts";
 * import { contextStore } from "./context.ts";
 *
 * const db = new Proxy<object>({ fun: () => ({}), context: contextStore });
 * await db._shutdown();
 * ```
 */
export const contextStore: ContextStore = new AsyncLocalStorage<ProxyContext>();
setDefaultContextStore(contextStore);

/**
 * Something whose object a context takes at its start.
 *
 * @example Take objects of several proxies at the start
 * ```ts
 * import { Proxy } from "./mod.ts";
 * import { withContext } from "./context.ts";
 *
 * const db = new Proxy<{ id: number }>({ fun: (id) => ({ id }) });
 * const cache = new Proxy<{ id: number }>({ fun: (id) => ({ id }) });
 * await withContext(() => db.id + cache.id, { take: [db, cache] });
 * await db._shutdown();
 * await cache._shutdown();
 * ```
 */
export interface Takeable {
  /** Takes the current context's object. */
  _getObj(options?: GetOptions): Promise<unknown>;
}

/**
 * Options of {@linkcode withContext}.
 *
 * @example Give up when the client goes away
 * ```ts
 * import { Proxy } from "./mod.ts";
 * import { withContext } from "./context.ts";
 *
 * const db = new Proxy<{ id: number }>({ fun: (id) => ({ id }), maxSize: 1 });
 * const client = new AbortController();
 * await withContext(() => db.id, { take: [db], timeout: 1000, signal: client.signal });
 * await db._shutdown();
 * ```
 */
export interface WithContextOptions {
  /**
   * Proxies whose objects are taken when the context starts, so that the
   * work can use them synchronously at once. Others take theirs on
   * `await proxy._getObj()`.
   * @default {[]}
   */
  take?: readonly Takeable[];
  /** Longest wait for the objects taken at the start. */
  timeout?: number;
  /** Aborts the wait for the objects taken at the start. */
  signal?: AbortSignal;
}

/**
 * Runs `fn` in an async context of its own. Context-scoped proxies used
 * inside it (and in everything it awaits) forward to this context's
 * objects; when `fn` settles (returns, throws, or rejects because it was
 * aborted) every object the context took goes back to its pool, as suspect
 * if `fn` threw (it goes through `health` before reuse). Two concurrent
 * contexts never see each other's objects.
 *
 * The objects go back when `fn` settles, not when what it returned has been
 * used: a `Response` whose body is streamed afterwards must not use them
 * through the proxy (it gets a `ProxyError`); build the body first, or let
 * the stream take an object of its own (second example). A
 * method read off the proxy (`const query = db.query`) stays bound to the
 * object it came from: do not keep it past the context, whose object may be
 * another context's by then.
 *
 * @typeParam R What `fn` returns.
 * @param fn The work: a request handler, a job…
 * @param options Proxies to take objects for at the start, and how long to
 * wait for them.
 * @returns What `fn` returns.
 * @throws What `fn` throws, or what taking the objects throws
 * (`TimeoutError`, the signal's reason…).
 * @throws {TypeError} `fn` is not a function, or `options` is not an
 * object, has an unknown key, a `take` that is not a list of proxies, or a
 * `timeout` or `signal` of the wrong type (the promise rejects; nothing
 * runs).
 * @throws {RangeError} A negative or NaN `timeout`.
 *
 * @example Two concurrent requests, two objects
 * ```ts
 * import assert from "node:assert/strict";
 * import { Proxy } from "./mod.ts";
 * import { withContext } from "./context.ts";
 *
 * const conn = new Proxy<{ id: number }>({ fun: (n) => ({ id: n }) });
 * const ids = await Promise.all([1, 2].map(() =>
 *   withContext(async () => {
 *     await conn._getObj();
 *     await new Promise((r) => setTimeout(r, 1));
 *     return conn.id;
 *   })
 * ));
 * assert(ids[0] !== ids[1]);
 * await conn._shutdown();
 * ```
 *
 * @example A streamed body takes an object of its own
 * ```ts
 * import assert from "node:assert/strict";
 * import { Proxy } from "./mod.ts";
 * import { inContext } from "./context.ts";
 *
 * const db = new Proxy<{ id: number }>({ fun: (n) => ({ id: n }), maxSize: 2 });
 * const pool = db._pool!;
 * const handler = inContext((_req: Request) => {
 *   // the body is read after the handler returned, when this context's
 *   // object has gone back: the stream takes one for as long as it runs
 *   let conn: { id: number } | undefined;
 *   let rows = 0;
 *   const body = new ReadableStream<string>({
 *     async start() {
 *       conn = await pool.get();
 *     },
 *     pull(controller) {
 *       controller.enqueue(`row ${rows} on ${conn!.id}\n`);
 *       if (++rows === 2) {
 *         controller.close();
 *         pool.ret(conn!);
 *       }
 *     },
 *     cancel() {
 *       if (conn !== undefined) pool.ret(conn);
 *     },
 *   });
 *   return new Response(body.pipeThrough(new TextEncoderStream()));
 * });
 * const res = await handler(new Request("http://localhost/"));
 * assert.equal(await res.text(), "row 0 on 0\nrow 1 on 0\n");
 * assert.equal(pool.stats().nusing, 0); // the stream gave it back
 * await db._shutdown();
 * ```
 */
export function withContext<R>(
  fn: () => R | PromiseLike<R>,
  options?: WithContextOptions,
): Promise<R> {
  let start: Start;
  try {
    start = checkContextArgs("Cannot run in a context", fn, options);
  } catch (err) {
    return Promise.reject(err);
  }
  const ctx = new ProxyContext();
  return contextStore.run(
    ctx,
    () => runInContext(ctx, fn, start.take, start.get),
  );
}

/** What a context takes when it starts, checked. */
interface Start {
  take: readonly Takeable[] | undefined;
  get: GetOptions | undefined;
}

const CONTEXT_KEYS: ReadonlySet<string> = new Set([
  "take",
  "timeout",
  "signal",
]);

/**
 * Checks the arguments of {@linkcode withContext} and
 * {@linkcode inContext} as strictly as the pool checks its own: `fn` a
 * function, options an object with known keys, `take` a list of proxies.
 */
function checkContextArgs(
  what: string,
  fn: unknown,
  options: WithContextOptions | undefined,
): Start {
  if (typeof fn !== "function") {
    throw new TypeError(
      `${what} as 'fn' must be a function: current value is ${show(fn)}`,
    );
  }
  if (options === undefined) return { take: undefined, get: undefined };
  checkOptionsObject(what, options, CONTEXT_KEYS);
  const { take, timeout, signal } = options;
  // the wait's own options, checked as get() checks them
  resolveWaitOptions(what, { timeout, signal }, Infinity);
  if (take !== undefined) {
    if (!Array.isArray(take)) {
      throw new TypeError(
        `${what} as 'take' must be a list of proxies: current value is ${
          show(take)
        }; write take: [proxy]`,
      );
    }
    take.forEach((proxy: unknown, i) => {
      if (
        typeof proxy !== "object" || proxy === null ||
        typeof (proxy as Takeable)._getObj !== "function"
      ) {
        throw new TypeError(
          `${what} as 'take[${i}]' must be a proxy (with _getObj): current value is ${
            show(proxy)
          }`,
        );
      }
    });
  }
  return {
    take,
    get: timeout === undefined && signal === undefined
      ? undefined
      : { timeout, signal },
  };
}

/**
 * Wraps a function so that each call runs in its own context (see
 * {@linkcode withContext}): handy for HTTP handlers.
 *
 * @typeParam A The arguments of `fn`.
 * @typeParam R What `fn` returns.
 * @param fn The handler.
 * @param options As for {@linkcode withContext}.
 * @returns A function with the same arguments that returns a promise.
 * @throws {TypeError} At once, when wrapping: `fn` is not a function, or
 * `options` are wrong (as for {@linkcode withContext}).
 * @throws {RangeError} At once, when wrapping: a negative or NaN `timeout`.
 *
 * @example Wrap a handler for `Deno.serve`, `Bun.serve` or `node:http`
 * ```ts
 * import assert from "node:assert/strict";
 * import { Proxy } from "./mod.ts";
 * import { inContext } from "./context.ts";
 *
 * const db = new Proxy<{ id: number }>({ fun: (n) => ({ id: n }) });
 * const handler = inContext((req: Request) => new Response(`${req.method} ${db.id}`), {
 *   take: [db],
 * });
 * const res = await handler(new Request("http://localhost/"));
 * assert((await res.text()) === "GET 0");
 * await db._shutdown();
 * ```
 */
export function inContext<A extends unknown[], R>(
  fn: (...args: A) => R | PromiseLike<R>,
  options?: WithContextOptions,
): (...args: A) => Promise<R> {
  // refused when the handler is wrapped, not at its first request
  const start = checkContextArgs("Cannot wrap in a context", fn, options);
  const wrapped = (...args: A) => {
    const ctx = new ProxyContext();
    return contextStore.run(
      ctx,
      () => runInContext(ctx, () => fn(...args), start.take, start.get),
    );
  };
  // Deno.serve skips building the Request for a handler that declares no
  // parameters: keep the wrapped function's arity.
  Object.defineProperty(wrapped, "length", { value: fn.length });
  return wrapped;
}
