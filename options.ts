/**
 * Options of `Pool` and of its methods, and the hook types.
 *
 * @module
 */

import { LOG_LEVELS, type Logger, type LogLevel } from "./logger.ts";
import { MAX_TIMER_DELAY } from "./_timers.ts";
import {
  checkBoolean,
  checkCount,
  checkDelay,
  checkFunction,
  checkKnownKeys,
  checkOneOf,
  checkOptionsObject,
  checkPositiveCount,
  checkRatio,
  checkSignal,
  checkTimeout,
  show,
} from "./_validate.ts";
// deno-lint-ignore no-unused-vars -- for {@linkcode} in docs
import type { CreationError, OverloadError } from "./errors.ts";

/**
 * A JSON-compatible value, as returned by the `stats` hook.
 *
 * @example Describe each object in stats()
 * ```ts
 * import assert from "node:assert/strict";
 * import { type JsonValue, Pool } from "./mod.ts";
 *
 * const describe = (conn: { id: number }): JsonValue => ({ id: conn.id });
 * const pool = new Pool({ fun: (id) => ({ id }), stats: describe });
 * assert.deepEqual(pool.stats().avail[0].stats, { id: 0 });
 * await pool.shutdown();
 * ```
 */
export type JsonValue =
  | null
  | boolean
  | number
  | string
  | JsonValue[]
  | { [key: string]: JsonValue };

/**
 * A hook called with one object. It may be sync or async; what it returns is
 * ignored, and if it throws or rejects the error is logged and the pool goes
 * on (an `opener` or `reset` that fails closes its object).
 *
 * A hook that declares a second parameter receives an `AbortSignal` that
 * aborts when the pool gives up on it: its time limit passed (`reason` is a
 * `DOMException` named `"TimeoutError"`), or shutdown stopped waiting for
 * it (`"AbortError"`; for a closer, after `shutdownTimeout`). A hook that
 * hangs on the network (a `client.end()` whose goodbye gets no answer) can
 * then destroy its socket. The signal is made only for hooks that declare
 * it: the others cost nothing more.
 *
 * @typeParam T The type of the pooled objects.
 *
 * @example An async closer
 * ```ts
 * import { type Hook, Pool } from "./mod.ts";
 *
 * const closer: Hook<{ close(): Promise<void> }> = (conn) => conn.close();
 * const pool = new Pool({ fun: () => ({ close: async () => {} }), closer });
 * await pool.shutdown(); // awaits the closer
 * ```
 *
 * @example A closer that gives up when the pool does
 * ```ts
 * import assert from "node:assert/strict";
 * import { type Hook, Pool } from "./mod.ts";
 *
 * interface Conn {
 *   end(): Promise<void>;
 *   destroy(): void;
 *   destroyed: boolean;
 * }
 * const conn: Conn = {
 *   end: () => new Promise<void>(() => {}), // the network went dark
 *   destroy() {
 *     this.destroyed = true;
 *   },
 *   destroyed: false,
 * };
 * const closer: Hook<Conn> = (c, signal) =>
 *   new Promise<void>((resolve) => {
 *     signal.addEventListener("abort", () => {
 *       c.destroy(); // the pool gave up: end it here, now
 *       resolve();
 *     });
 *     c.end().then(resolve);
 *   });
 * const pool = new Pool<Conn>({ fun: () => conn, closer, shutdownTimeout: 10 });
 * await pool.shutdown(); // ends after 10 ms, the socket destroyed
 * assert(conn.destroyed);
 * ```
 */
export type Hook<T> = (
  obj: T,
  signal: AbortSignal,
) => void | PromiseLike<void>;

/**
 * A check on one object: it is good unless this returns `false`, throws,
 * rejects, or takes longer than `healthTimeout`. Like a {@linkcode Hook},
 * it receives a signal if it declares a second parameter.
 *
 * @typeParam T The type of the pooled objects.
 *
 * @example A health check that throws when the connection is dead
 * ```ts
 * import { type CheckHook, Pool } from "./mod.ts";
 *
 * const health: CheckHook<{ ping(): Promise<void> }> = async (conn) => {
 *   await conn.ping(); // a throw, a rejection or `false` means bad
 * };
 * const pool = new Pool({ fun: () => ({ ping: async () => {} }), health });
 * await pool.shutdown();
 * ```
 */
export type CheckHook<T> = (
  obj: T,
  signal: AbortSignal,
) => boolean | void | PromiseLike<boolean | void>;

/**
 * Options of `Pool`. Times are in milliseconds; for the delays,
 * `0` means "off".
 *
 * @typeParam T The type of the pooled objects.
 *
 * @example A pool of database connections
 * ```ts
 * import { Pool, type PoolOptions } from "./mod.ts";
 *
 * interface Conn {
 *   query(sql: string): Promise<unknown>;
 *   close(): Promise<void>;
 * }
 * const options: PoolOptions<Conn> = {
 *   fun: async () => ({ query: async (sql) => sql, close: async () => {} }),
 *   closer: (conn) => conn.close(),
 *   health: async (conn) => void (await conn.query("SELECT 1")),
 *   minSize: 2,
 *   maxSize: 10,
 *   timeout: 5000,
 *   maxAvailDelay: 60_000,
 * };
 * const pool = new Pool(options);
 * await pool.shutdown();
 * ```
 */
export interface PoolOptions<T> {
  /**
   * Creates one object. Called with the creation number (0, 1, 2, …) and a
   * signal that aborts when the pool gives the attempt up (`createTimeout`,
   * `shutdown()`), which a slow connect may listen to; may be async. If it
   * throws or rejects, see {@linkcode CreationError}. An attempt given up
   * still counts toward `maxSize` until it settles (what it makes then is
   * closed), so that `maxSize` holds whatever `fun` does.
   */
  fun: (n: number, signal: AbortSignal) => T | PromiseLike<T>;
  /**
   * Most objects alive at once, in use or not, counting those being created;
   * `0` for no limit.
   * @default {0}
   */
  maxSize?: number;
  /**
   * Objects created in advance and kept; the pool refills to this size after
   * removals.
   * @default {1}
   */
  minSize?: number;
  /**
   * Longest wait in `get` for an object, unless `get` says otherwise;
   * `Infinity` (or leaving it out) waits forever. While it waits with a
   * timeout, a `get` rides out creation failures (the pool retries).
   * @default {Infinity}
   */
  timeout?: number;
  /**
   * Retire an object after this many uses; `0` for never.
   * @default {0}
   */
  maxUse?: number;
  /**
   * Close an object idle this long, while more than `minSize` exist.
   * @default {0}
   */
  maxAvailDelay?: number;
  /**
   * Warn about an object held (borrowed) longer than this. The warning shows
   * where it was taken when `captureStacks` is on.
   * @default {0}
   */
  maxUsingDelay?: number;
  /**
   * Take back and close an object held longer than this; a later return of
   * it is ignored with a warning.
   * @default {0}
   */
  maxUsingDelayKill?: number;
  /**
   * Run `health` every this many housekeeping rounds.
   * @default {1}
   */
  healthFreq?: number;
  /**
   * Housekeeping period. By default: half the smallest of `maxAvailDelay`,
   * `maxUsingDelay`, `maxUsingDelayKill` and `maxLifetime` that is set, else
   * 60 s when `health` is set, else no housekeeping.
   */
  delay?: number;
  /**
   * Called after an object is created, within `createTimeout` (with the
   * creation's signal); if it throws, rejects or hangs, the creation fails
   * and the object is closed.
   */
  opener?: Hook<T>;
  /** Called when an object is handed out, within `hookTimeout`. */
  getter?: Hook<T>;
  /** Called when an object is given back, within `hookTimeout`. */
  retter?: Hook<T>;
  /**
   * Called when an object is destroyed; awaited by `shutdown` up to
   * `shutdownTimeout`, when its signal aborts.
   */
  closer?: Hook<T>;
  /**
   * Is this object still good? Run on idle objects by housekeeping, and on
   * an object whose `use()` callback threw before anyone else gets it. An
   * object is bad when this returns `false`, throws, rejects or exceeds
   * `healthTimeout`; bad objects are closed.
   */
  health?: CheckHook<T>;
  /**
   * A JSON-compatible description of one object, for `stats()`. A value
   * JSON cannot hold (a BigInt, a cycle) is logged as an error and shown as
   * such for that object, so that `String(pool)` still works.
   */
  stats?: (obj: T) => JsonValue;
  /** A short debug string for one object, for logs and `stats()`. */
  tracer?: (obj: T) => string;
  /**
   * How much the pool logs.
   * @default {"warn"}
   */
  logLevel?: LogLevel;
  /**
   * Where the pool logs.
   * @default {console}
   */
  logger?: Logger;
  /**
   * A name for this pool in logs and stats.
   * @default {"pool-<n>"}
   */
  name?: string;
  /**
   * Longest time `fun` may take, and then the `opener`; after it the
   * creation counts as failed, its signal aborts, and its object, if it ever
   * comes, is closed. `Infinity` for no limit.
   * @default {Infinity}
   */
  createTimeout?: number;
  /**
   * Longest time `health` and `check` may take; a slower answer counts as
   * bad health.
   * @default {5000}
   */
  healthTimeout?: number;
  /**
   * Longest time `getter`, `retter` and `reset` may take. One that does not
   * settle in time leaves its object in an unknown state: the object is
   * closed (and a waiting `get` goes on with another one), so that a hung
   * hook never holds a slot or a borrower for ever.
   * @default {5000}
   */
  hookTimeout?: number;
  /**
   * Longest time `shutdown()` waits for borrowed objects to come back, and
   * then again for closers to finish.
   * @default {5000}
   */
  shutdownTimeout?: number;
  /**
   * Most creations running at once, so that a burst of requests does not
   * open a storm of connections.
   * @default {2}
   */
  maxCreating?: number;
  /**
   * Pause after the first failed creation before retrying; it doubles (with
   * jitter) on each further failure, up to `backoffMax`.
   * @default {10}
   */
  backoffInitial?: number;
  /**
   * Longest pause between retries of failed creations.
   * @default {5000}
   */
  backoffMax?: number;
  /**
   * Most tasks allowed to wait in `get`; beyond it `get` rejects at once with
   * {@linkcode OverloadError}. `0` for no limit.
   * @default {0}
   */
  maxWaiting?: number;
  /**
   * Retire an object this long after its creation: when idle, or when it
   * comes back (never while in use). `0` for never.
   * @default {0}
   */
  maxLifetime?: number;
  /**
   * Each object's lifetime is shortened by a random part up to this ratio,
   * so that objects created together do not expire together.
   * @default {0.05}
   */
  maxLifetimeJitter?: number;
  /**
   * Checked before an idle object is handed out, when it was idle longer
   * than `checkBypass`; a bad object is closed and the `get` goes on with
   * another one, transparently.
   */
  check?: CheckHook<T>;
  /**
   * `check` is skipped for objects given back less than this long ago.
   * @default {500}
   */
  checkBypass?: number;
  /**
   * Called when an object is given back, e.g. to roll back an open
   * transaction; if it throws or rejects, the object is closed rather than
   * lent again.
   */
  reset?: Hook<T>;
  /**
   * Says what an error thrown by work with an object means for the object,
   * when a `use()` callback (or the work of a proxy's context) throws:
   * `true`, the object is gone (a reset connection): it is closed at once,
   * without a health check; `false`, the error was the work's (a SQL error):
   * the object is lent again as it is, without a health check; `undefined`
   * (or no classifier), unknown: the object goes through `health` before
   * anyone else gets it. It must be synchronous; if it throws, or returns
   * anything else, the object is treated as unknown (and that is logged).
   */
  isBroken?: (err: unknown, obj: T) => boolean | undefined;
  /**
   * Record where each object is taken, to show it when the object is held
   * past `maxUsingDelay`. Costs a stack trace per `get`.
   * @default {true when maxUsingDelay is set}
   */
  captureStacks?: boolean;
  /**
   * Measure how long `get` calls wait, for `waitTime` and `waitMax` in
   * `pool.stats()` (`null` when off; `nwaits` and the other
   * counts are kept either way). Costs two clock reads per wait, about
   * 0.1-0.5 µs (Deno's clock is the slowest), as much as a hand-over or more.
   * @default {false}
   */
  timeWaits?: boolean;
}

/**
 * Options of `pool.get()`.
 *
 * @example Wait at most one second, or until the request is aborted
 * ```ts
 * import { Pool } from "./mod.ts";
 *
 * const pool = new Pool({ fun: () => ({}) });
 * const request = new AbortController();
 * const obj = await pool.get({ timeout: 1000, signal: request.signal });
 * pool.ret(obj);
 * await pool.shutdown();
 * ```
 */
export interface GetOptions {
  /**
   * Longest wait in milliseconds; overrides the pool's `timeout`.
   * `Infinity` waits forever.
   */
  timeout?: number;
  /** Gives up waiting when aborted; the `get` rejects with its reason. */
  signal?: AbortSignal;
}

/**
 * Options of `pool.ret()`.
 *
 * @example Give back a connection that failed
 * ```ts
 * import { Pool } from "./mod.ts";
 *
 * const pool = new Pool({ fun: () => ({}), health: () => true });
 * const conn = await pool.get();
 * pool.ret(conn, { suspect: true }); // checked by health before reuse
 * const other = await pool.get();
 * pool.ret(other, { broken: true }); // closed, never lent again
 * await pool.shutdown();
 * ```
 */
export interface RetOptions {
  /**
   * The object is broken (its connection died…): close it instead of
   * lending it again. The pool refills to `minSize`.
   * @default {false}
   */
  broken?: boolean;
  /**
   * The borrower hit an error and the object may be broken: it goes through
   * `health` (when set) before anyone else gets it, and is closed if that
   * fails. This is what `pool.use()` does when its
   * callback throws.
   * @default {false}
   */
  suspect?: boolean;
}

/**
 * Options of `pool.shutdown()`.
 *
 * @example Shut down without waiting long for lent objects
 * ```ts
 * import { Pool } from "./mod.ts";
 *
 * const pool = new Pool({ fun: () => ({}) });
 * await pool.shutdown({ timeout: 100 });
 * ```
 */
export interface ShutdownOptions {
  /**
   * Longest wait for borrowed objects to come back, and then for closers;
   * overrides the pool's `shutdownTimeout`.
   */
  timeout?: number;
}

/**
 * Options of `pool.ready()`.
 *
 * @example Refuse to start when the backend is unreachable
 * ```ts
 * import { Pool } from "./mod.ts";
 *
 * const pool = new Pool({ fun: async (n) => ({ n }), minSize: 2 });
 * await pool.ready({ timeout: 5000 }); // throws TimeoutError with the cause
 * await pool.shutdown();
 * ```
 */
export interface ReadyOptions {
  /** Longest wait in milliseconds; `Infinity` (default) waits forever. */
  timeout?: number;
  /** Gives up waiting when aborted. */
  signal?: AbortSignal;
}

/**
 * Options of `pool.resize()`.
 *
 * @example Shrink at night
 * ```ts
 * import assert from "node:assert/strict";
 * import { Pool } from "./mod.ts";
 *
 * const pool = new Pool({ fun: () => ({}), minSize: 4, maxSize: 20 });
 * pool.resize({ minSize: 1, maxSize: 5 });
 * assert.equal(pool.stats().config.maxSize, 5);
 * await pool.shutdown();
 * ```
 */
export interface ResizeOptions {
  /** New `minSize`. */
  minSize?: number;
  /** New `maxSize` (`0` for no limit). */
  maxSize?: number;
}

/**
 * The options that are hooks: functions, checked as such.
 * @internal
 */
export const HOOKS = [
  "fun",
  "opener",
  "getter",
  "retter",
  "closer",
  "health",
  "stats",
  "tracer",
  "check",
  "reset",
  "isBroken",
] as const;

/** The defaults of {@linkcode PoolOptions}, in this one place. */
const DEFAULTS = {
  maxSize: 0,
  minSize: 1,
  timeout: Infinity,
  maxUse: 0,
  maxAvailDelay: 0,
  maxUsingDelay: 0,
  maxUsingDelayKill: 0,
  healthFreq: 1,
  logLevel: "warn",
  logger: console,
  createTimeout: Infinity,
  healthTimeout: 5000,
  hookTimeout: 5000,
  shutdownTimeout: 5000,
  maxCreating: 2,
  backoffInitial: 10,
  backoffMax: 5000,
  maxWaiting: 0,
  maxLifetime: 0,
  maxLifetimeJitter: 0.05,
  checkBypass: 500,
  timeWaits: false,
} as const;

/**
 * The option names a `Pool` accepts.
 *
 * @example Check options coming from a configuration file
 * ```ts
 * import assert from "node:assert/strict";
 * import { POOL_OPTION_NAMES } from "./mod.ts";
 *
 * const config = { maxSize: 10, timeout: 5000 };
 * assert.ok(Object.keys(config).every((key) => POOL_OPTION_NAMES.has(key)));
 * ```
 */
export const POOL_OPTION_NAMES: ReadonlySet<string> = new Set([
  ...Object.keys(DEFAULTS),
  ...HOOKS,
  "delay",
  "name",
  "captureStacks",
]);

/** The options that have no default. */
type Optional = typeof HOOKS[number] | "delay" | "name" | "captureStacks";

/**
 * The options of a pool with their defaults applied, checked: what a pool
 * reads its configuration from.
 * @internal
 */
export type ResolvedPoolOptions<T> =
  & Required<Omit<PoolOptions<T>, Optional>>
  & Pick<PoolOptions<T>, Exclude<Optional, "captureStacks">>
  & { fun: PoolOptions<T>["fun"]; captureStacks: boolean };

/**
 * Checks that a constructor's options (a pool's, a keyed pool's) are an
 * object with only `known` keys: a misspelt option would silently do
 * nothing. (`fun`, which both require, is checked as a function after.)
 *
 * @param WHAT The start of error messages ("Cannot create pool").
 * @param options The options as given.
 * @param known The names of the options.
 * @throws {TypeError} Not an object, or an unknown key.
 * @internal
 */
export function checkConstructorOptions(
  WHAT: string,
  options: unknown,
  known: ReadonlySet<string>,
): void {
  if (typeof options !== "object" || options === null) {
    throw new TypeError(
      `${WHAT} as 'options' must be an object with at least 'fun': current value is ${
        show(options)
      }`,
    );
  }
  checkKnownKeys(WHAT, options, known);
}

/**
 * Applies the defaults of {@linkcode PoolOptions} and checks every option;
 * a proxy uses it to refuse bad pool options when it is created, before its
 * pool exists. An option left `undefined` (a spread config) takes its
 * default.
 *
 * @param options The options as given.
 * @param WHAT The start of error messages ("Cannot create pool").
 * @returns The options with defaults applied.
 * @throws {TypeError} An option has the wrong type, or is unknown.
 * @throws {RangeError} An option has a wrong value.
 * @internal
 */
export function resolvePoolOptions<T>(
  options: PoolOptions<T>,
  WHAT: string,
): ResolvedPoolOptions<T> {
  checkConstructorOptions(WHAT, options, POOL_OPTION_NAMES);
  for (const hook of HOOKS) {
    if (hook === "fun" || options[hook] !== undefined) {
      checkFunction(WHAT, hook, options[hook]);
    }
  }
  const o = { ...DEFAULTS } as unknown as ResolvedPoolOptions<T>;
  for (const [key, value] of Object.entries(options)) {
    if (value !== undefined) {
      (o as unknown as Record<string, unknown>)[key] = value;
    }
  }
  o.captureStacks ??= o.maxUsingDelay > 0;
  checkCount(WHAT, "maxSize", o.maxSize);
  checkCount(WHAT, "minSize", o.minSize);
  if (o.maxSize > 0 && o.minSize > o.maxSize) {
    throw new RangeError(
      `${WHAT} as 'minSize' must not exceed 'maxSize' (${o.maxSize}): current value is ${o.minSize}`,
    );
  }
  for (
    const key of [
      "timeout",
      "createTimeout",
      "healthTimeout",
      "hookTimeout",
      "shutdownTimeout",
    ] as const
  ) {
    const value = o[key];
    checkTimeout(WHAT, key, value);
    if (value !== Infinity && value > MAX_TIMER_DELAY) {
      throw new RangeError(
        `${WHAT} as '${key}' must be at most ${MAX_TIMER_DELAY} ms or Infinity: current value is ${value}`,
      );
    }
    // a limit of 0 would fail every async creation, check or hook: refuse
    // it rather than let the pool fail at run time
    if (value === 0 && key !== "timeout" && key !== "shutdownTimeout") {
      throw new RangeError(
        `${WHAT} as '${key}' must be positive (Infinity for no limit): current value is 0`,
      );
    }
  }
  checkCount(WHAT, "maxUse", o.maxUse);
  for (
    const key of [
      "maxAvailDelay",
      "maxUsingDelay",
      "maxUsingDelayKill",
      "backoffInitial",
      "backoffMax",
      "maxLifetime",
      "checkBypass",
    ] as const
  ) checkDelay(WHAT, key, o[key]);
  if (o.delay !== undefined) {
    checkDelay(WHAT, "delay", o.delay);
    if (o.delay === 0 || o.delay > MAX_TIMER_DELAY) {
      throw new RangeError(
        `${WHAT} as 'delay' must be a positive number of milliseconds up to ${MAX_TIMER_DELAY}: current value is ${o.delay}`,
      );
    }
  }
  if (o.backoffInitial === 0) {
    throw new RangeError(
      `${WHAT} as 'backoffInitial' must be positive: current value is 0`,
    );
  }
  if (o.backoffMax < o.backoffInitial) {
    throw new RangeError(
      `${WHAT} as 'backoffMax' must be at least 'backoffInitial' (${o.backoffInitial}): current value is ${o.backoffMax}`,
    );
  }
  checkPositiveCount(WHAT, "healthFreq", o.healthFreq);
  checkPositiveCount(WHAT, "maxCreating", o.maxCreating);
  checkCount(WHAT, "maxWaiting", o.maxWaiting);
  checkRatio(WHAT, "maxLifetimeJitter", o.maxLifetimeJitter);
  checkBoolean(WHAT, "captureStacks", o.captureStacks);
  checkBoolean(WHAT, "timeWaits", o.timeWaits);
  checkOneOf(WHAT, "logLevel", o.logLevel, LOG_LEVELS);
  if (o.name !== undefined && (typeof o.name !== "string" || o.name === "")) {
    throw new TypeError(
      `${WHAT} as 'name' must be a non-empty string: current value is ${
        show(o.name)
      }`,
    );
  }
  const logger = o.logger;
  if (
    typeof logger !== "object" || logger === null ||
    !(["debug", "info", "warn", "error"] as const).every((m) =>
      typeof logger[m] === "function"
    )
  ) {
    throw new TypeError(
      `${WHAT} as 'logger' must have debug, info, warn and error methods: current value is ${
        show(logger)
      }`,
    );
  }
  return o;
}

/**
 * The housekeeping period of a pool: its `delay` when set, else half the
 * shortest delay it watches (`maxAvailDelay`, `maxUsingDelay`,
 * `maxUsingDelayKill`, `maxLifetime`), else a minute when it has a
 * `health` check, else none (0).
 *
 * @param o The options, resolved.
 * @returns The period in milliseconds.
 * @internal
 */
export function housekeepingDelay<T>(o: ResolvedPoolOptions<T>): number {
  const watched = [
    o.maxAvailDelay,
    o.maxUsingDelay,
    o.maxUsingDelayKill,
    o.maxLifetime,
  ].filter((d) => d > 0);
  return o.delay ??
    (watched.length > 0
      ? Math.min(MAX_TIMER_DELAY, Math.max(1, Math.min(...watched) / 2))
      : o.health
      ? 60_000
      : 0);
}

/**
 * What valid options ask that is likely a mistake, for the pool to log.
 *
 * @param o The options, resolved.
 * @returns A warning for each.
 * @internal
 */
export function optionWarnings<T>(o: ResolvedPoolOptions<T>): string[] {
  const warnings: string[] = [];
  if (
    o.maxUsingDelay > 0 && o.maxUsingDelayKill > 0 &&
    o.maxUsingDelay > o.maxUsingDelayKill
  ) {
    warnings.push(
      `maxUsingDelay (${o.maxUsingDelay}) exceeds maxUsingDelayKill (${o.maxUsingDelayKill}): objects are killed before any warning`,
    );
  }
  return warnings;
}

// ------------------------------------------------ options of each call

const WAIT_KEYS: ReadonlySet<string> = new Set(["timeout", "signal"]);
const RET_KEYS: ReadonlySet<string> = new Set(["broken", "suspect"]);
const RESIZE_KEYS: ReadonlySet<string> = new Set(["minSize", "maxSize"]);
const SHUTDOWN_KEYS: ReadonlySet<string> = new Set(["timeout"]);

/**
 * What a wait (`get`, `ready`, a context's `take`) is limited by.
 * @internal
 */
export interface WaitLimits {
  timeout: number;
  signal: AbortSignal | undefined;
}

/**
 * Checks the options of a wait ({@linkcode GetOptions}, {@linkcode
 * ReadyOptions}): an object with only `timeout` and `signal`, each of its
 * type, as strictly as the constructor's.
 *
 * @param what The start of error messages ("Cannot get an object").
 * @param options The options as given (`undefined` for none).
 * @param timeout The timeout when the options give none.
 * @returns The limits of the wait.
 * @throws {TypeError} Not an object, an unknown key, or a wrong type.
 * @throws {RangeError} A negative or NaN timeout.
 * @internal
 */
export function resolveWaitOptions(
  what: string,
  options: unknown,
  timeout: number,
): WaitLimits {
  if (options === undefined) return { timeout, signal: undefined };
  checkOptionsObject(what, options, WAIT_KEYS);
  const o = options as GetOptions;
  if (o.timeout !== undefined) {
    checkTimeout(what, "timeout", o.timeout);
    timeout = o.timeout;
  }
  if (o.signal !== undefined) checkSignal(what, "signal", o.signal);
  return { timeout, signal: o.signal };
}

/**
 * Whether the fast path of `get` may take these options as they are: an
 * object with nothing but a valid `timeout` and a live `signal`. Anything
 * else takes the slow path, where {@linkcode resolveWaitOptions} refuses
 * what is wrong with a message naming it (an unknown key, a wrong type,
 * `null`).
 *
 * @param options The options as given to `get`.
 * @returns Whether they are plain and valid.
 * @internal
 */
export function isPlainWait(options: GetOptions): boolean {
  if (typeof options !== "object" || options === null) return false;
  for (const key in options) {
    if (key !== "timeout" && key !== "signal") return false;
  }
  const { timeout, signal } = options;
  return (timeout === undefined ||
    (typeof timeout === "number" && timeout >= 0)) &&
    (signal === undefined ||
      (typeof signal === "object" && signal !== null &&
        signal.aborted === false &&
        typeof signal.addEventListener === "function"));
}

/**
 * How an object comes back, from {@linkcode RetOptions}: `0` normal, `1`
 * suspect (through `health` first), `2` broken (closed).
 *
 * @param options The options as given (`undefined` for none).
 * @returns 0, 1 or 2.
 * @throws {TypeError} Not an object, an unknown key, or not a boolean.
 * @internal
 */
export function resolveRetOptions(options: unknown): 0 | 1 | 2 {
  if (options === undefined) return 0;
  const what = "Cannot give the object back";
  checkOptionsObject(what, options, RET_KEYS);
  const { broken, suspect } = options as RetOptions;
  if (broken !== undefined) checkBoolean(what, "broken", broken);
  if (suspect !== undefined) checkBoolean(what, "suspect", suspect);
  return broken === true ? 2 : suspect === true ? 1 : 0;
}

/**
 * Checks {@linkcode ResizeOptions} and applies them to the current sizes.
 *
 * @param options The options as given.
 * @param minSize The current `minSize`.
 * @param maxSize The current `maxSize`.
 * @returns The new sizes.
 * @throws {TypeError} Not an object, an unknown key, or not a number.
 * @throws {RangeError} A negative size, or `minSize > maxSize`.
 * @internal
 */
export function resolveResizeOptions(
  options: unknown,
  minSize: number,
  maxSize: number,
): { minSize: number; maxSize: number } {
  const what = "Cannot resize pool";
  checkOptionsObject(what, options, RESIZE_KEYS);
  const o = options as ResizeOptions;
  if (o.minSize !== undefined) {
    checkCount(what, "minSize", o.minSize);
    minSize = o.minSize;
  }
  if (o.maxSize !== undefined) {
    checkCount(what, "maxSize", o.maxSize);
    maxSize = o.maxSize;
  }
  if (maxSize > 0 && minSize > maxSize) {
    throw new RangeError(
      `${what} as 'minSize' must not exceed 'maxSize' (${maxSize}): current value is ${minSize}`,
    );
  }
  return { minSize, maxSize };
}

/**
 * Checks {@linkcode ShutdownOptions}.
 *
 * @param options The options as given (`undefined` for none).
 * @param timeout The pool's `shutdownTimeout`.
 * @returns The time limit of the shutdown.
 * @throws {TypeError} Not an object, an unknown key, or not a number.
 * @throws {RangeError} A negative or NaN timeout.
 * @internal
 */
export function resolveShutdownOptions(
  options: unknown,
  timeout: number,
): number {
  if (options === undefined) return timeout;
  const what = "Cannot shut down";
  checkOptionsObject(what, options, SHUTDOWN_KEYS);
  const o = options as ShutdownOptions;
  if (o.timeout === undefined) return timeout;
  checkTimeout(what, "timeout", o.timeout);
  return o.timeout;
}
