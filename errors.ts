/**
 * Error classes thrown by {@linkcode Pool} and {@linkcode Proxy}.
 *
 * All of them extend {@linkcode ProxyPatternPoolError}, so one `instanceof`
 * check catches everything this library throws on purpose. Errors that wrap
 * another one (a failed creation, a timeout while the backend was down) carry
 * it as `cause`.
 *
 * @module
 */

/**
 * Common base class of every error this library throws on purpose.
 *
 * @example Catch anything thrown by the library
 * ```ts
 * import assert from "node:assert/strict";
 * import { Pool, ProxyPatternPoolError } from "./mod.ts";
 *
 * const pool = new Pool({ fun: () => ({}), minSize: 0 });
 * await pool.shutdown();
 * try {
 *   await pool.get();
 * } catch (err) {
 *   assert(err instanceof ProxyPatternPoolError);
 * }
 * ```
 */
export class ProxyPatternPoolError extends Error {
  /**
   * Builds an error; `options.cause` keeps the error this one wraps.
   *
   * @param message What went wrong and what to do about it.
   * @param options Standard error options (`cause`).
   */
  constructor(message?: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ProxyPatternPoolError";
  }
}

/**
 * A pool operation failed: the pool is shut down, a creation failed, an
 * option is inconsistent at run time…
 *
 * @example A pool refuses to lend after shutdown
 * ```ts
 * import assert from "node:assert/strict";
 * import { Pool, PoolError } from "./mod.ts";
 *
 * const pool = new Pool({ fun: () => ({}), minSize: 0 });
 * await pool.shutdown();
 * await pool.get().catch((err) => assert(err instanceof PoolError));
 * ```
 */
export class PoolError extends ProxyPatternPoolError {
  /**
   * Builds a pool error.
   *
   * @param message What went wrong and what to do about it.
   * @param options Standard error options (`cause`).
   */
  constructor(message?: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "PoolError";
  }
}

/**
 * Waiting for an object took longer than the `timeout` (of the pool or of the
 * `get` call). Its `name` is `"TimeoutError"`, as for the `DOMException` of
 * `AbortSignal.timeout()`, so code that checks `err.name === "TimeoutError"`
 * handles both. When the pool could not create objects while the caller
 * waited, `cause` is the last creation error ("connection refused"…).
 *
 * @example Tell a timeout from other errors
 * ```ts
 * import assert from "node:assert/strict";
 * import { Pool, TimeoutError } from "./mod.ts";
 *
 * const pool = new Pool({ fun: (n) => `object ${n}`, maxSize: 1 });
 * const a = await pool.get();
 * try {
 *   await pool.get({ timeout: 10 });
 * } catch (err) {
 *   assert(err instanceof TimeoutError && err.name === "TimeoutError");
 * }
 * pool.ret(a);
 * await pool.shutdown();
 * ```
 */
export class TimeoutError extends PoolError {
  /**
   * Builds a timeout error.
   *
   * @param message How long the caller waited and what to do about it.
   * @param options Standard error options; `cause` is the last creation error.
   */
  constructor(message?: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "TimeoutError";
  }
}

/**
 * The pool could not create an object: `fun` threw or rejected (its error is
 * the `cause`), returned nothing, or did not settle within `createTimeout`.
 * A `get` without timeout receives this error at once; a `get` with a
 * timeout keeps waiting while the pool retries.
 *
 * @example Read the backend's own error
 * ```ts
 * import assert from "node:assert/strict";
 * import { CreationError, Pool } from "./mod.ts";
 *
 * const pool = new Pool({
 *   fun: () => {
 *     throw new Error("connection refused");
 *   },
 *   minSize: 0,
 *   logLevel: "off",
 * });
 * try {
 *   await pool.get();
 * } catch (err) {
 *   assert(err instanceof CreationError);
 *   assert((err as Error).cause instanceof Error);
 * }
 * await pool.shutdown();
 * ```
 */
export class CreationError extends PoolError {
  /**
   * Builds a creation error.
   *
   * @param message What failed and what to do about it.
   * @param options Standard error options; `cause` is the error of `fun`.
   */
  constructor(message?: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "CreationError";
  }
}

/**
 * `get` was refused at once because `maxWaiting` tasks already wait: the
 * pool sheds load instead of queueing without bound. Answer the request with
 * "503 Service Unavailable" or retry later.
 *
 * @example Shed load
 * ```ts
 * import assert from "node:assert/strict";
 * import { OverloadError, Pool } from "./mod.ts";
 *
 * const pool = new Pool({ fun: () => ({}), maxSize: 1, maxWaiting: 1 });
 * const held = await pool.get();
 * const waiting = pool.get();
 * await pool.get().catch((err) => assert(err instanceof OverloadError));
 * pool.ret(held);
 * pool.ret(await waiting);
 * await pool.shutdown();
 * ```
 */
export class OverloadError extends PoolError {
  /**
   * Builds an overload error.
   *
   * @param message How many tasks wait and what to do about it.
   * @param options Standard error options.
   */
  constructor(message?: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "OverloadError";
  }
}

/**
 * A {@linkcode Proxy} was misused: used before anything was set, set with
 * both or neither of `obj` and `fun`, reconfigured after its pool exists…
 * The message names the setter or option to use.
 *
 * @example Using a proxy too early
 * ```ts
 * import assert from "node:assert/strict";
 * import { Proxy, ProxyError } from "./mod.ts";
 *
 * const db = new Proxy<{ query(sql: string): string }>();
 * try {
 *   db.query("SELECT 1");
 * } catch (err) {
 *   assert(err instanceof ProxyError);
 * }
 * ```
 */
export class ProxyError extends ProxyPatternPoolError {
  /**
   * Builds a proxy error.
   *
   * @param message What was misused and what to call instead.
   * @param options Standard error options (`cause`).
   */
  constructor(message?: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ProxyError";
  }
}
