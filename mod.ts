/**
 * ProxyPatternPool: a fast, dependable resource {@linkcode Pool}, and a
 * {@linkcode Proxy} for shared objects that exist before they are
 * initialised.
 *
 * - {@linkcode Pool} keeps expensive-to-create objects (database
 *   connections, clients, workers) and lends them to concurrent tasks: first
 *   come, first served, with timeouts and `AbortSignal`, `maxSize`,
 *   `minSize`, health checks, recycling, retirement after `maxUse` uses,
 *   held-too-long warnings and kills, creation back-off that rides out
 *   backend outages, and nine hooks. Zero dependencies, Web-standard APIs
 *   only: Deno, Bun, Node, browsers and edge runtimes.
 * - {@linkcode KeyedPool} keeps one pool per key (a tenant's database, a
 *   host), made on first use and closed once idle, under one limit on
 *   objects across keys.
 * - {@linkcode Proxy} is a reference you can export at start-up and set
 *   later; every property access and call is forwarded to the object set
 *   then, or to a per-task object taken from a pool.
 *
 * @example A pool with two objects
 * ```ts
 * import assert from "node:assert/strict";
 * import { Pool, TimeoutError } from "./mod.ts";
 *
 * const pool = new Pool({
 *   fun: (n) => `expensive object ${n}`,
 *   minSize: 2,
 *   maxSize: 2,
 *   timeout: 500,
 * });
 * const a = await pool.get();
 * const b = await pool.get(); // maxSize reached
 * await pool.get().catch((err) => assert(err instanceof TimeoutError));
 * pool.ret(a);
 * pool.ret(b);
 * await pool.shutdown();
 * ```
 *
 * @module
 */

export {
  CreationError,
  OverloadError,
  PoolError,
  ProxyError,
  ProxyPatternPoolError,
  TimeoutError,
} from "./errors.ts";
export type { Logger, LogLevel } from "./logger.ts";
export {
  type KeyedCheckHook,
  type KeyedHook,
  KeyedPool,
  type KeyedPoolOptions,
  type KeyedPoolStats,
  type KeyedPoolTotals,
  type KeyOptions,
  type KeyStats,
} from "./keyed.ts";
export { Lease } from "./lease.ts";
export {
  type CheckHook,
  type GetOptions,
  type Hook,
  type JsonValue,
  POOL_OPTION_NAMES,
  type PoolOptions,
  type ReadyOptions,
  type ResizeOptions,
  type RetOptions,
  type ShutdownOptions,
} from "./options.ts";
export { Pool } from "./pool.ts";
export type {
  ClosedByReason,
  ObjectStats,
  PoolConfigStats,
  PoolStats,
} from "./stats.ts";
export {
  type ContextStore,
  type ObjectFactory,
  Proxy,
  type ProxyConstructor,
  ProxyContext,
  type ProxyControls,
  type ProxyOptions,
  type ProxyPoolOptions,
  type ProxyScope,
} from "./proxy.ts";
