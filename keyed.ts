/**
 * The {@linkcode KeyedPool}: one {@linkcode Pool} per key (a tenant's
 * database, a host, a user identity), made on first use, closed once idle,
 * all under one limit on objects across keys.
 *
 * For whoever changes it: each key has a `KeyState` holding its `Pool`,
 * whose options are the keyed pool's, then what `optionsFor(key)` says,
 * with every hook wrapped to receive the key. Lending is the key's pool's
 * own (`get` is a Map lookup, then the pool's `get`); the keyed pool adds
 * what no single pool can know: which key an object belongs to (a record
 * per object, made when `fun` returns it, dropped by the closer), the
 * limit across keys (`_limit.ts`, which each key's pool asks before a
 * creation), and when a key has been idle long enough to go (one sweep for
 * every key, every `keyIdleTimeout / 2`).
 *
 * @module
 */

import { CreationError, PoolError } from "./errors.ts";
import { filterLogger, type Logger } from "./logger.ts";
import type { Lease } from "./lease.ts";
import {
  checkConstructorOptions,
  type GetOptions,
  HOOKS,
  type JsonValue,
  POOL_OPTION_NAMES,
  type PoolOptions,
  resolvePoolOptions,
  resolveRetOptions,
  resolveShutdownOptions,
  type RetOptions,
  type ShutdownOptions,
} from "./options.ts";
import { Pool } from "./pool.ts";
import type { ClosedByReason, PoolStats } from "./stats.ts";
import { internals, type Limiter } from "./_internals.ts";
import { SharedLimit } from "./_limit.ts";
import { noneClosed } from "./_stats.ts";
import { backgroundInterval, MAX_TIMER_DELAY } from "./_timers.ts";
import {
  checkCount,
  checkDelay,
  checkFunction,
  checkKnownKeys,
  checkOptionsObject,
  isThenable,
  show,
} from "./_validate.ts";

/**
 * A hook of a {@linkcode KeyedPool}: as a pool's {@linkcode Hook}, with the
 * key of the object's pool. It receives a signal (aborted when the pool
 * gives up on it) only if it declares a third parameter: the others cost
 * nothing more.
 *
 * @typeParam K The type of the keys.
 * @typeParam T The type of the pooled objects.
 *
 * @example A closer that logs which tenant's connection it closes
 * ```ts
 * import { type KeyedHook, KeyedPool } from "./mod.ts";
 *
 * const closer: KeyedHook<string, { close(): void }> = (conn, tenant) => {
 *   conn.close();
 *   console.debug(`closed a connection of ${tenant}`);
 * };
 * const pool = new KeyedPool({ fun: () => ({ close() {} }), closer });
 * await pool.shutdown();
 * ```
 */
export type KeyedHook<K, T> = (
  obj: T,
  key: K,
  signal: AbortSignal,
) => void | PromiseLike<void>;

/**
 * A check of a {@linkcode KeyedPool} (`health`, `check`): as a pool's
 * {@linkcode CheckHook}, with the key of the object's pool.
 *
 * @typeParam K The type of the keys.
 * @typeParam T The type of the pooled objects.
 *
 * @example A health check per host
 * ```ts
 * import { type KeyedCheckHook, KeyedPool } from "./mod.ts";
 *
 * const health: KeyedCheckHook<string, { ok: boolean }> = (conn, host) =>
 *   conn.ok && host !== "retired.example";
 * const pool = new KeyedPool({ fun: () => ({ ok: true }), health });
 * await pool.shutdown();
 * ```
 */
export type KeyedCheckHook<K, T> = (
  obj: T,
  key: K,
  signal: AbortSignal,
) => boolean | void | PromiseLike<boolean | void>;

/** The options that are hooks, or the pool's name: not per-key overrides. */
const NOT_PER_KEY = [...HOOKS, "name"] as const;

/**
 * What `optionsFor(key)` may set for one key's pool: every option of a
 * {@linkcode Pool} but `fun`, the hooks (given once, to the keyed pool,
 * they receive the key) and `name` (a key's pool is named after its key).
 *
 * @example A bigger pool for one tenant
 * ```ts
 * import { type KeyOptions, KeyedPool } from "./mod.ts";
 *
 * const optionsFor = (tenant: string): KeyOptions | undefined =>
 *   tenant === "big-customer" ? { maxSize: 20 } : undefined;
 * const pool = new KeyedPool({ fun: () => ({}), maxSize: 4, optionsFor });
 * await pool.shutdown();
 * ```
 */
export type KeyOptions = Omit<
  PoolOptions<unknown>,
  | "fun"
  | "opener"
  | "getter"
  | "retter"
  | "closer"
  | "health"
  | "check"
  | "reset"
  | "stats"
  | "tracer"
  | "isBroken"
  | "name"
>;

/** The option names `optionsFor` may return. */
const KEY_OPTION_NAMES: ReadonlySet<string> = new Set(
  [...POOL_OPTION_NAMES].filter((k) =>
    !(NOT_PER_KEY as readonly string[]).includes(k)
  ),
);

/** The options only a keyed pool has. */
const KEYED_ONLY = ["maxTotal", "keyIdleTimeout", "optionsFor"] as const;

/** The option names a `KeyedPool` accepts. */
const KEYED_OPTION_NAMES: ReadonlySet<string> = new Set([
  ...POOL_OPTION_NAMES,
  ...KEYED_ONLY,
]);

/**
 * Options of {@linkcode KeyedPool}: every option of a {@linkcode Pool},
 * applied to each key's pool (the hooks receive the key), and the options
 * of the keys together. Times are in milliseconds.
 *
 * @typeParam K The type of the keys.
 * @typeParam T The type of the pooled objects.
 *
 * @example A connection pool per tenant, 50 connections in all
 * ```ts
 * import { KeyedPool, type KeyedPoolOptions } from "./mod.ts";
 *
 * interface Conn {
 *   tenant: string;
 *   close(): Promise<void>;
 * }
 * const options: KeyedPoolOptions<string, Conn> = {
 *   fun: async (tenant) => ({ tenant, close: async () => {} }),
 *   closer: (conn) => conn.close(),
 *   maxSize: 10, // per tenant
 *   maxTotal: 50, // across tenants
 *   keyIdleTimeout: 5 * 60_000,
 *   timeout: 5000,
 * };
 * const pool = new KeyedPool(options);
 * await pool.shutdown();
 * ```
 */
export interface KeyedPoolOptions<K, T> extends KeyOptions {
  /**
   * Creates one object for `key`: called with the key, the creation number
   * in its pool (0, 1, 2, …) and a signal that aborts when the pool gives
   * the attempt up; may be async.
   */
  fun: (key: K, n: number, signal: AbortSignal) => T | PromiseLike<T>;
  /**
   * Objects created in advance and kept, per key, while the key lives.
   * Under `maxTotal` they take only free room.
   * @default {0}
   */
  minSize?: number;
  /** Called after an object is created (see {@linkcode PoolOptions.opener}). */
  opener?: KeyedHook<K, T>;
  /** Called when an object is handed out. */
  getter?: KeyedHook<K, T>;
  /** Called when an object is given back. */
  retter?: KeyedHook<K, T>;
  /**
   * Called when an object is destroyed. Under `maxTotal`, an object whose
   * async closer runs still counts, until the closer settles or for the
   * key's `shutdownTimeout` at most.
   */
  closer?: KeyedHook<K, T>;
  /** Is this object still good? (see {@linkcode PoolOptions.health}) */
  health?: KeyedCheckHook<K, T>;
  /** Checked before an idle object is handed out. */
  check?: KeyedCheckHook<K, T>;
  /** Called when an object is given back; if it fails, the object is closed. */
  reset?: KeyedHook<K, T>;
  /** A JSON-compatible description of one object, for `stats()`. */
  stats?: (obj: T, key: K) => JsonValue;
  /** A short debug string for one object, for logs and `stats()`. */
  tracer?: (obj: T, key: K) => string;
  /** What an error of work with an object means for it. */
  isBroken?: (err: unknown, obj: T, key: K) => boolean | undefined;
  /**
   * A name for this keyed pool in logs and stats; a key's pool is named
   * `<name>[<key>]`.
   * @default {"keyed-<n>"}
   */
  name?: string;
  /**
   * Most objects across all keys, counting those being created and those
   * whose closer still runs; `0` for no limit. When it is reached and a key
   * with no idle object needs one, the oldest idle object of another key is
   * closed to make room; when none is idle, the request waits in one line
   * across keys, first come, first served, within its timeout and signal
   * (a key holding no object at all goes first, and an object coming back
   * to a busy key that holds more than one is closed for it). A key's
   * returned objects otherwise serve its own waiters.
   * @default {0}
   */
  maxTotal?: number;
  /**
   * A key whose pool lent nothing, had no one waiting and no `get` for this
   * long goes: its objects are closed and its state freed (it comes back at
   * its next use). It goes between this and 1.5 times this after its last
   * activity. `0` keeps keys until shutdown.
   * @default {60000}
   */
  keyIdleTimeout?: number;
  /**
   * Options of one key's pool, over the ones above, asked once each time
   * the key's pool is made (its first use, or its first use after it went
   * idle); `undefined` for none. They are checked as strictly as the
   * constructor's: a get for the key rejects with the error.
   */
  optionsFor?: (key: K) => KeyOptions | undefined;
}

/**
 * One key in {@linkcode KeyedPoolStats}: its pool's stats, and the key.
 *
 * @example The stats of each key
 * ```ts
 * import assert from "node:assert/strict";
 * import { KeyedPool } from "./mod.ts";
 *
 * const pool = new KeyedPool({ fun: (host: string) => ({ host }) });
 * await pool.use("a.example", () => {});
 * const [a] = pool.stats().keys;
 * assert.equal(a.key, "a.example");
 * assert.equal(a.nuses, 1);
 * await pool.shutdown();
 * ```
 */
export interface KeyStats extends PoolStats {
  /** The key: itself if a string, else as shown in messages. */
  key: string;
}

/**
 * The sums over every key in {@linkcode KeyedPoolStats}: counts now over
 * the keys now, counters over every key ever opened. Each field is the one
 * of {@linkcode PoolStats} of the same name, summed.
 *
 * @example Objects lent across keys
 * ```ts
 * import assert from "node:assert/strict";
 * import { KeyedPool } from "./mod.ts";
 *
 * const pool = new KeyedPool({ fun: (key: string) => ({ key }) });
 * const a = await pool.get("a");
 * const b = await pool.get("b");
 * assert.equal(pool.stats().total.nusing, 2);
 * pool.ret(a);
 * pool.ret(b);
 * await pool.shutdown();
 * ```
 */
export interface KeyedPoolTotals extends
  Pick<
    PoolStats,
    | "navail"
    | "nusing"
    | "nbusy"
    | "nobjs"
    | "creating"
    | "nwaiting"
    | "ncreated"
    | "ncreateErrors"
    | "nuses"
    | "ndestroys"
    | "nwaits"
    | "ntimeouts"
    | "naborts"
    | "noverloads"
  > {
  /** Objects closed, by reason (`evicted` counts those closed for room). */
  closedBy: ClosedByReason;
}

/**
 * A JSON-compatible snapshot of a {@linkcode KeyedPool}, from `stats()`.
 *
 * @example Watch the limit across keys
 * ```ts
 * import assert from "node:assert/strict";
 * import { KeyedPool } from "./mod.ts";
 *
 * const pool = new KeyedPool({ fun: (key: string) => ({ key }), maxTotal: 1 });
 * await pool.use("a", () => {});
 * await pool.use("b", () => {}); // a's idle object is closed to make room
 * const s = pool.stats();
 * assert.equal(s.ntotal, 1);
 * assert.equal(s.nmadeRoom, 1);
 * await pool.shutdown();
 * ```
 */
export interface KeyedPoolStats {
  /** The keyed pool's id (its `name`). */
  id: string;
  /** When it was created (ISO 8601). */
  started: string;
  /** Milliseconds since it was created. */
  running: number;
  /** Whether `shutdown()` was called. */
  shutdown: boolean;
  /** The options of the keys together. */
  config: {
    /** See {@linkcode KeyedPoolOptions.maxTotal} (`0`: no limit). */
    maxTotal: number;
    /** See {@linkcode KeyedPoolOptions.keyIdleTimeout} (`0`: never). */
    keyIdleTimeout: number;
  };
  /** Now: keys with a pool. */
  nkeys: number;
  /** Keys' pools made (a key that went idle and came back counts again). */
  nkeysOpened: number;
  /** Keys closed after `keyIdleTimeout`. */
  nkeysExpired: number;
  /**
   * Now: objects across keys as `maxTotal` counts them (alive, being
   * created, or being closed).
   */
  ntotal: number;
  /** Now: requests waiting in line for room under `maxTotal`. */
  nqueued: number;
  /** Idle objects closed to make room for another key. */
  nmadeRoom: number;
  /** Sums over the keys. */
  total: KeyedPoolTotals;
  /** Each key now. */
  keys: KeyStats[];
}

/** What the keyed pool knows of one object: its key, when it went idle. */
interface Rec<K, T> {
  readonly state: KeyState<K, T>;
  stamp: number;
}

/**
 * One key: its pool, its share of the limit, how long it has been quiet.
 * It is the limiter its pool asks (see `_limit.ts`).
 */
class KeyState<K, T> implements Limiter {
  readonly key: K;
  readonly label: string;
  pool!: Pool<T>;
  /** Slots and places in line under the limit (see `_limit.ts`). */
  slots = 0;
  tickets = 0;
  /** Sweeps in a row that found it idle with no get between them. */
  quiet = 0;
  /** The limit across keys (its pool asks only when there is one). */
  readonly #limit: SharedLimit<KeyState<K, T>> | undefined;
  readonly #records: Map<T, Rec<K, T>>;

  constructor(
    key: K,
    label: string,
    limit: SharedLimit<KeyState<K, T>> | undefined,
    records: Map<T, Rec<K, T>>,
  ) {
    this.key = key;
    this.label = label;
    this.#limit = limit;
    this.#records = records;
  }

  take(): boolean {
    return this.#limit!.take(this);
  }

  free(): void {
    this.#limit!.free(this);
  }

  idle(obj: unknown): void {
    const r = this.#records.get(obj as T);
    if (r !== undefined) r.stamp = this.#limit!.stamp();
    this.#limit!.idle();
  }

  yields(): boolean {
    return this.#limit!.yields(this);
  }

  blocked(): string | undefined {
    return this.#limit!.blocked();
  }
}

/** The hooks as given to the keyed pool. */
interface KeyedHooks<K, T> {
  fun: KeyedPoolOptions<K, T>["fun"];
  opener?: KeyedHook<K, T>;
  getter?: KeyedHook<K, T>;
  retter?: KeyedHook<K, T>;
  closer?: KeyedHook<K, T>;
  reset?: KeyedHook<K, T>;
  health?: KeyedCheckHook<K, T>;
  check?: KeyedCheckHook<K, T>;
  stats?: (obj: T, key: K) => JsonValue;
  tracer?: (obj: T, key: K) => string;
  isBroken?: (err: unknown, obj: T, key: K) => boolean | undefined;
}

/** A hook that receives no signal never reads it. */
const NO_SIGNAL = undefined as unknown as AbortSignal;

/**
 * A keyed hook as a pool's: the key added, and a second parameter declared
 * only when the hook declares its signal (the pool makes one only then).
 */
function withKey<K, T, R>(
  hook: (obj: T, key: K, signal: AbortSignal) => R,
  key: K,
): (obj: T, signal: AbortSignal) => R {
  return hook.length >= 3
    ? (obj, signal) => hook(obj, key, signal)
    : (obj) => hook(obj, key, NO_SIGNAL);
}

/** How a key is named in ids and messages. */
function labelOf(key: unknown): string {
  return typeof key === "string" ? key : show(key);
}

/** A period that never exceeds what a timer honours. */
function sweepPeriod(keyIdleTimeout: number): number {
  return Math.min(MAX_TIMER_DELAY, Math.max(1, keyIdleTimeout / 2));
}

/** Sweeps a key must pass quiet before it goes (see `#sweep`). */
const QUIET_SWEEPS = 3;

const WHAT = "Cannot create keyed pool";
let keyedCount = 0;

/**
 * One {@linkcode Pool} per key, made on first use, under one limit on
 * objects across keys (`maxTotal`), each key closed once it has been idle
 * for `keyIdleTimeout`: a pool of database connections per tenant, of
 * sockets per host, of clients per user identity.
 *
 * Each key's pool is a `Pool` with the keyed pool's options (and what
 * `optionsFor(key)` changes), so everything a pool promises holds per key:
 * waiters first come, first served, timeouts and signals, riding out an
 * outage (of that key's backend, while the others are served), health,
 * broken returns, strict options on every call; the hooks receive the key.
 * Under `maxTotal`, a key with no idle object that needs one closes the
 * oldest idle object of another key to make room; when none is idle, its
 * request waits in one line across keys, first come, first served, except
 * that a key holding no object at all goes first: an object coming back to
 * a busy key that holds more than one is then closed to make room for it,
 * so that no key starves while a few busy ones hold every slot. Otherwise
 * a key's returned objects serve its own waiters (no close and reopen).
 *
 * @typeParam K The type of the keys (compared as `Map` keys are).
 * @typeParam T The type of the pooled objects.
 *
 * @example A connection per tenant, 2 in all
 * ```ts
 * import assert from "node:assert/strict";
 * import { KeyedPool } from "./mod.ts";
 *
 * const closed: string[] = [];
 * const pool = new KeyedPool({
 *   fun: (tenant: string, n) => ({ tenant, n }),
 *   closer: (conn) => void closed.push(conn.tenant),
 *   maxTotal: 2,
 * });
 * assert.equal(await pool.use("acme", (db) => db.tenant), "acme");
 * assert.equal(await pool.use("globex", (db) => db.tenant), "globex");
 * // a third tenant: acme's idle connection, the oldest, makes room
 * assert.equal(await pool.use("initech", (db) => db.tenant), "initech");
 * assert.deepEqual(closed, ["acme"]);
 * await pool.shutdown();
 * ```
 */
export class KeyedPool<K, T> implements AsyncDisposable {
  /** This keyed pool's id, for logs and stats. */
  readonly id: string;
  readonly #states = new Map<K, KeyState<K, T>>();
  /** Each object's key, and when it went idle: made by fun, dropped by the closer. */
  readonly #records = new Map<T, Rec<K, T>>();
  /** The options every key's pool starts from: checked, no hook, no name. */
  readonly #base: Record<string, unknown>;
  readonly #hooks: KeyedHooks<K, T>;
  readonly #optionsFor: ((key: K) => KeyOptions | undefined) | undefined;
  /** The limit across keys, or `undefined` without `maxTotal`. */
  readonly #limit: SharedLimit<KeyState<K, T>> | undefined;
  readonly #maxTotal: number;
  readonly #keyIdleTimeout: number;
  readonly #shutdownTimeout: number;
  readonly #log: Logger;
  #sweeper: ReturnType<typeof setInterval> | undefined = undefined;
  #lastSweep: number;
  /** Keys gone idle whose pools still shut down. */
  readonly #retiring = new Map<KeyState<K, T>, Promise<void>>();
  /** The counters of keys gone, for `stats().total`. */
  readonly #past: KeyedPoolTotals = emptyTotals();
  #nkeysOpened = 0;
  #nkeysExpired = 0;
  #closed = false;
  #shutdownPromise: Promise<void> | undefined = undefined;
  readonly #started = Date.now();
  readonly #startedPerf = performance.now();

  /**
   * Creates a keyed pool. No key's pool exists yet: each is made when its
   * key is first used.
   *
   * @param options `fun(key, n, signal)` is required; every option of a
   * `Pool` applies to each key's pool; `maxTotal`, `keyIdleTimeout` and
   * `optionsFor` are the keyed pool's own.
   * @throws {TypeError} An option has the wrong type, or is unknown.
   * @throws {RangeError} An option has a wrong value.
   */
  constructor(options: KeyedPoolOptions<K, T>) {
    checkConstructorOptions(WHAT, options, KEYED_OPTION_NAMES);
    checkFunction(WHAT, "fun", options.fun);
    const o = options as unknown as Record<string, unknown>;
    const base: Record<string, unknown> = {};
    const hooks: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(o)) {
      if (v === undefined || (KEYED_ONLY as readonly string[]).includes(k)) {
        continue;
      }
      if ((NOT_PER_KEY as readonly string[]).includes(k) && k !== "name") {
        hooks[k] = v;
      } else base[k] = v;
    }
    base.minSize ??= 0;
    // every pool option checked once, here, as a pool would (the hooks are
    // functions of other arities, checked as functions)
    const resolved = resolvePoolOptions<T>(
      { ...base, ...hooks } as unknown as PoolOptions<T>,
      WHAT,
    );
    const { maxTotal = 0, keyIdleTimeout = 60_000, optionsFor } = options;
    checkCount(WHAT, "maxTotal", maxTotal);
    checkDelay(WHAT, "keyIdleTimeout", keyIdleTimeout);
    if (keyIdleTimeout > MAX_TIMER_DELAY) {
      throw new RangeError(
        `${WHAT} as 'keyIdleTimeout' must be at most ${MAX_TIMER_DELAY} ms (0 keeps keys): current value is ${keyIdleTimeout}`,
      );
    }
    if (optionsFor !== undefined) {
      checkFunction(WHAT, "optionsFor", optionsFor);
    }
    this.id = resolved.name ?? `keyed-${++keyedCount}`;
    delete base.name;
    this.#base = base;
    this.#hooks = hooks as unknown as KeyedHooks<K, T>;
    this.#optionsFor = optionsFor;
    this.#maxTotal = maxTotal;
    this.#keyIdleTimeout = keyIdleTimeout;
    this.#shutdownTimeout = resolved.shutdownTimeout;
    this.#log = filterLogger(
      resolved.logger,
      resolved.logLevel,
      `[${this.id}] `,
    );
    this.#limit = maxTotal > 0
      ? new SharedLimit(
        maxTotal,
        (obj) => this.#records.get(obj as T)?.stamp ?? 0,
      )
      : undefined;
    this.#lastSweep = performance.now();
    if (keyIdleTimeout > 0) {
      this.#sweeper = backgroundInterval(
        this.#sweep,
        sweepPeriod(keyIdleTimeout),
      );
    }
  }

  // ---------------------------------------------------------------- lending

  /**
   * Lends an object of `key`'s pool (made now if the key has none): an idle
   * one at once, else a new one (under `maxTotal`: by closing the oldest
   * idle object of another key, or after waiting in line), else the first
   * one given back. Give it back with {@linkcode KeyedPool.prototype.ret}.
   *
   * @param key The key (a tenant, a host…).
   * @param options `timeout` (overrides the key's) and `signal`.
   * @returns The object, now yours until you give it back.
   * @throws {TimeoutError} Nothing came within the timeout.
   * @throws {CreationError} Without timeout, a creation failed.
   * @throws {OverloadError} `maxWaiting` tasks already wait for this key.
   * @throws {PoolError} The keyed pool is shut down.
   * @throws {TypeError} Bad options, or `optionsFor` gave bad ones.
   * @throws The signal's `reason` when it aborts.
   *
   * @example Get and give back
   * ```ts
   * import assert from "node:assert/strict";
   * import { KeyedPool } from "./mod.ts";
   *
   * const pool = new KeyedPool({ fun: (host: string) => ({ host }) });
   * const conn = await pool.get("db1.example", { timeout: 1000 });
   * try {
   *   assert.equal(conn.host, "db1.example");
   * } finally {
   *   pool.ret(conn);
   * }
   * await pool.shutdown();
   * ```
   */
  get(key: K, options?: GetOptions): Promise<T> {
    const s = this.#states.get(key);
    if (s !== undefined) {
      s.quiet = 0;
      return s.pool.get(options);
    }
    let t: KeyState<K, T>;
    try {
      t = this.#open(key);
    } catch (err) {
      return Promise.reject(err);
    }
    return t.pool.get(options);
  }

  /**
   * Gives back an object lent by {@linkcode KeyedPool.prototype.get}, to
   * its key's pool. An object this keyed pool does not hold (given back
   * twice after its pool closed it, or foreign) is ignored with a warning.
   *
   * @param obj The object to give back.
   * @param options `broken: true` closes it; `suspect: true` checks its
   * health first.
   * @returns Nothing, or a promise when `retter` or `reset` must run first;
   * it never rejects.
   * @throws {TypeError} Bad options (the object stays lent).
   *
   * @example Give back a broken connection
   * ```ts
   * import assert from "node:assert/strict";
   * import { KeyedPool } from "./mod.ts";
   *
   * const pool = new KeyedPool({ fun: (host: string, n) => ({ host, n }) });
   * const conn = await pool.get("a.example");
   * pool.ret(conn, { broken: true }); // closed, never lent again
   * const next = await pool.get("a.example");
   * assert.equal(next.n, 1);
   * pool.ret(next);
   * await pool.shutdown();
   * ```
   */
  ret(obj: T, options?: RetOptions): void | Promise<void> {
    const r = this.#records.get(obj);
    if (r === undefined) return this.#foreign(obj, options);
    const limit = this.#limit;
    if (limit === undefined) return r.state.pool.ret(obj, options);
    // when it went idle, for the choice of the oldest
    r.stamp = limit.stamp();
    if (limit.queued === 0) return r.state.pool.ret(obj, options);
    return this.#retInLine(r.state, obj, options, limit);
  }

  /**
   * A return while requests wait in line (under maxTotal): to its key's
   * next waiter, unless a key holding nothing takes its room (`yields`:
   * the pool asks it itself on every other way back, not on ret's fast
   * path); or idle, perhaps closed for the line.
   */
  #retInLine(
    s: KeyState<K, T>,
    obj: T,
    options: RetOptions | undefined,
    limit: SharedLimit<KeyState<K, T>>,
  ): void | Promise<void> {
    // refused before anything changes, as the pool's own ret
    const how = resolveRetOptions(options);
    if (
      how !== 2 && internals.counts(s.pool).waiting !== 0 && limit.yields(s)
    ) s.pool.evict(obj);
    const back = s.pool.ret(obj, options);
    limit.idle();
    return back;
  }

  /**
   * Lends an object of `key`'s pool for the time of `fn`, and always gives
   * it back (as the key's pool's {@linkcode Pool.prototype.use}).
   *
   * @typeParam R What `fn` returns.
   * @param key The key.
   * @param fn Receives the object; may be async.
   * @param options As for {@linkcode KeyedPool.prototype.get}.
   * @returns What `fn` returns.
   * @throws What `get` throws, or what `fn` throws.
   *
   * @example Run a query in a tenant's database
   * ```ts
   * import assert from "node:assert/strict";
   * import { KeyedPool } from "./mod.ts";
   *
   * const pool = new KeyedPool({
   *   fun: (tenant: string) => ({ query: async (q: string) => `${tenant}: ${q}` }),
   * });
   * assert.equal(await pool.use("acme", (db) => db.query("SELECT 1")), "acme: SELECT 1");
   * await pool.shutdown();
   * ```
   */
  use<R>(
    key: K,
    fn: (obj: T) => R | PromiseLike<R>,
    options?: GetOptions,
  ): Promise<R> {
    const s = this.#states.get(key);
    if (s !== undefined) {
      s.quiet = 0;
      return s.pool.use(fn, options);
    }
    let t: KeyState<K, T>;
    try {
      t = this.#open(key);
    } catch (err) {
      return Promise.reject(err);
    }
    return t.pool.use(fn, options);
  }

  /**
   * Lends an object of `key`'s pool as a {@linkcode Lease}, for
   * `await using`.
   *
   * @param key The key.
   * @param options As for {@linkcode KeyedPool.prototype.get}.
   * @returns A lease holding the object in `obj`.
   * @throws What `get` throws.
   *
   * @example Scope-bound borrowing
   * ```ts
   * import assert from "node:assert/strict";
   * import { KeyedPool } from "./mod.ts";
   *
   * const pool = new KeyedPool({ fun: (host: string) => ({ host }) });
   * {
   *   await using lease = await pool.lease("b.example");
   *   assert.equal(lease.obj.host, "b.example");
   * } // given back here
   * assert.equal(pool.stats().total.navail, 1);
   * await pool.shutdown();
   * ```
   */
  lease(key: K, options?: GetOptions): Promise<Lease<T>> {
    const s = this.#states.get(key);
    if (s !== undefined) {
      s.quiet = 0;
      return s.pool.lease(options);
    }
    let t: KeyState<K, T>;
    try {
      t = this.#open(key);
    } catch (err) {
      return Promise.reject(err);
    }
    return t.pool.lease(options);
  }

  /**
   * Reports that an object died on its own (as the key's pool's
   * {@linkcode Pool.prototype.evict}): idle, it is closed at once; lent, it
   * is closed when it comes back.
   *
   * @param obj The object that died.
   * @returns Whether a key's pool held it.
   *
   * @example A socket that closes reports it
   * ```ts
   * import assert from "node:assert/strict";
   * import { KeyedPool } from "./mod.ts";
   *
   * const pool = new KeyedPool({ fun: (host: string) => ({ host }) });
   * const conn = await pool.get("c.example");
   * pool.ret(conn);
   * assert.equal(pool.evict(conn), true); // its server hung up
   * assert.equal(pool.stats().total.closedBy.evicted, 1);
   * await pool.shutdown();
   * ```
   */
  evict(obj: T): boolean {
    const r = this.#records.get(obj);
    return r !== undefined && r.state.pool.evict(obj);
  }

  #foreign(obj: T, options: RetOptions | undefined): void {
    // refused before anything else, as a pool does
    resolveRetOptions(options);
    this.#log.warn(
      `ignoring the return of ${
        show(obj)
      }: no key's pool holds it (given back twice after its pool closed it, killed for being held too long, or from another pool)`,
    );
  }

  // ------------------------------------------------------------------- keys

  /** Makes `key`'s pool, with its options and hooks. */
  #open(key: K): KeyState<K, T> {
    if (this.#closed) {
      throw new PoolError(
        `Keyed pool ${this.id} is shut down: it lends nothing more; create a new one if you still need objects`,
      );
    }
    // where no background timer runs (workerd's global scope), keys are
    // swept when new ones come
    if (
      this.#sweeper === undefined && this.#keyIdleTimeout > 0 &&
      performance.now() - this.#lastSweep >= sweepPeriod(this.#keyIdleTimeout)
    ) this.#sweep();
    const label = labelOf(key);
    let options: Record<string, unknown> = this.#base;
    let shutdownTimeout = this.#shutdownTimeout;
    if (this.#optionsFor !== undefined) {
      const more = this.#optionsFor(key);
      if (more !== undefined) {
        const what = `Cannot open key ${
          show(key)
        } with the options of optionsFor`;
        checkOptionsObject(what, more);
        for (const k of Object.keys(more)) {
          if ((NOT_PER_KEY as readonly string[]).includes(k)) {
            throw new TypeError(
              `${what} as '${k}' cannot be set per key: ${
                k === "name"
                  ? "a key's pool is named after its key"
                  : "give hooks to the KeyedPool, where they receive the key"
              }`,
            );
          }
        }
        checkKnownKeys(what, more, KEY_OPTION_NAMES);
        options = { ...options };
        for (const [k, v] of Object.entries(more)) {
          if (v !== undefined) options[k] = v;
        }
        shutdownTimeout = resolvePoolOptions(
          { ...options, fun: this.#hooks.fun } as unknown as PoolOptions<T>,
          what,
        ).shutdownTimeout;
      }
    }
    const s = new KeyState<K, T>(key, label, this.#limit, this.#records);
    const minSize = options.minSize as number;
    s.pool = new Pool<T>({
      ...options,
      ...this.#hooksFor(s, shutdownTimeout),
      name: `${this.id}[${label}]`,
      // under a limit, no creation before the pool asks it
      minSize: this.#limit !== undefined ? 0 : minSize,
    } as PoolOptions<T>);
    if (this.#limit !== undefined) {
      internals.limit(s.pool, s);
      if (minSize > 0) s.pool.resize({ minSize });
    }
    this.#states.set(key, s);
    this.#nkeysOpened++;
    return s;
  }

  /** The pool options of a key's hooks: the key's own wrappers. */
  #hooksFor(
    s: KeyState<K, T>,
    shutdownTimeout: number,
  ): Partial<PoolOptions<T>> {
    const h = this.#hooks;
    const key = s.key;
    const o: Partial<PoolOptions<T>> = {
      fun: (n, signal) => this.#made(s, h.fun(key, n, signal)),
      closer: this.#closerFor(s, shutdownTimeout),
    };
    if (h.opener !== undefined) o.opener = withKey(h.opener, key);
    if (h.getter !== undefined) o.getter = withKey(h.getter, key);
    if (h.retter !== undefined) o.retter = withKey(h.retter, key);
    if (h.reset !== undefined) o.reset = withKey(h.reset, key);
    if (h.health !== undefined) o.health = withKey(h.health, key);
    if (h.check !== undefined) o.check = withKey(h.check, key);
    const { stats, tracer, isBroken } = h;
    if (stats !== undefined) o.stats = (obj) => stats(obj, key);
    if (tracer !== undefined) o.tracer = (obj) => tracer(obj, key);
    if (isBroken !== undefined) {
      o.isBroken = (err, obj) => isBroken(err, obj, key);
    }
    return o;
  }

  /** `fun` made an object for `s`: record its key. */
  #made(s: KeyState<K, T>, made: T | PromiseLike<T>): T | PromiseLike<T> {
    if (!isThenable(made)) return this.#record(s, made);
    return Promise.resolve(made).then((obj) => this.#record(s, obj));
  }

  #record(s: KeyState<K, T>, obj: T): T {
    // (the pool refuses undefined and null)
    if (obj === undefined || obj === null) return obj;
    const known = this.#records.get(obj);
    if (known === undefined) {
      this.#records.set(obj, {
        state: s,
        stamp: this.#limit?.stamp() ?? 0,
      });
    } else if (known.state !== s) {
      throw new CreationError(
        `fun returned an object the pool of key ${
          show(known.state.key)
        } holds: it must return a new object each time`,
      );
    }
    // (the same key's: its pool refuses it, naming it)
    return obj;
  }

  /**
   * A key's closer: it forgets the object's key, then calls the user's;
   * under `maxTotal`, an async closer keeps its object's slot until it
   * settles, or for `shutdownTimeout` at most.
   */
  #closerFor(
    s: KeyState<K, T>,
    shutdownTimeout: number,
  ): (obj: T, signal: AbortSignal) => void | PromiseLike<void> {
    const records = this.#records;
    const closer = this.#hooks.closer;
    const limit = this.#limit;
    const key = s.key;
    if (closer === undefined) return (obj) => void records.delete(obj);
    const held = (r: void | PromiseLike<void>) => {
      if (limit !== undefined && isThenable(r)) limit.hold(r, shutdownTimeout);
      return r;
    };
    if (closer.length >= 3) {
      return (obj, signal) => {
        records.delete(obj);
        return held(closer(obj, key, signal));
      };
    }
    return (obj) => {
      records.delete(obj);
      return held(closer(obj, key, NO_SIGNAL));
    };
  }

  /**
   * Every `keyIdleTimeout / 2`: a key that lent nothing and had no one
   * waiting at this sweep and the two before, with no get since the first
   * of them, goes. So a key goes between `keyIdleTimeout` and 1.5 times it
   * after its last get or the return of its last lent object.
   */
  readonly #sweep = (): void => {
    this.#lastSweep = performance.now();
    if (this.#closed) return;
    for (const [key, s] of this.#states) {
      const c = internals.counts(s.pool);
      if (c.using !== 0 || c.waiting !== 0) {
        s.quiet = 0;
      } else if (++s.quiet >= QUIET_SWEEPS) this.#expire(key, s);
    }
  };

  /** A key idle long enough: its pool shuts down, its state is freed. */
  #expire(key: K, s: KeyState<K, T>): void {
    this.#states.delete(key);
    this.#nkeysExpired++;
    this.#limit?.forget(s);
    this.#log.debug(
      `key ${
        show(key)
      } idle for keyIdleTimeout (${this.#keyIdleTimeout} ms): closing its pool`,
    );
    // (shutdown without options never rejects)
    const done = s.pool.shutdown().then(() => {
      this.#retiring.delete(s);
      addTotals(this.#past, s.pool.stats(), true);
    });
    this.#retiring.set(s, done);
  }

  // ------------------------------------------------------------------ stats

  /**
   * A JSON-compatible snapshot: the keyed pool's counts (keys, objects as
   * `maxTotal` counts them, requests in line), sums over the keys, and
   * each key's pool's stats. `String(pool)` is its JSON.
   *
   * @returns The snapshot.
   *
   * @example Per key and in all
   * ```ts
   * import assert from "node:assert/strict";
   * import { KeyedPool } from "./mod.ts";
   *
   * const pool = new KeyedPool({ fun: (key: string) => ({ key }), minSize: 1 });
   * await pool.use("a", () => {});
   * await pool.use("b", () => {});
   * const s = pool.stats();
   * assert.equal(s.nkeys, 2);
   * assert.equal(s.total.nobjs, 2);
   * assert.deepEqual(s.keys.map((k) => k.key), ["a", "b"]);
   * assert.equal(JSON.parse(String(pool)).nkeys, 2);
   * await pool.shutdown();
   * ```
   */
  stats(): KeyedPoolStats {
    const total = emptyTotals();
    addTotals(total, this.#past, false);
    const keys: KeyStats[] = [];
    for (const s of this.#states.values()) {
      const st = s.pool.stats();
      keys.push({ key: s.label, ...st });
      addTotals(total, st, false);
    }
    for (const s of this.#retiring.keys()) {
      addTotals(total, s.pool.stats(), false);
    }
    const limit = this.#limit;
    return {
      id: this.id,
      started: new Date(this.#started).toISOString(),
      running: performance.now() - this.#startedPerf,
      shutdown: this.#closed,
      config: {
        maxTotal: this.#maxTotal,
        keyIdleTimeout: this.#keyIdleTimeout,
      },
      nkeys: this.#states.size,
      nkeysOpened: this.#nkeysOpened,
      nkeysExpired: this.#nkeysExpired,
      ntotal: limit !== undefined ? limit.used : total.nobjs + total.creating,
      nqueued: limit?.queued ?? 0,
      nmadeRoom: limit?.madeRoom ?? 0,
      total,
      keys,
    };
  }

  /**
   * `String(pool)`: the whole keyed pool in one line of JSON, its totals and
   * every key's own stats, as {@linkcode KeyedPool.prototype.stats} gives
   * them; made for a log line.
   *
   * @returns That JSON text.
   *
   * @example One log line for every key
   * ```ts
   * import assert from "node:assert/strict";
   * import { KeyedPool } from "./mod.ts";
   *
   * const pool = new KeyedPool({ fun: (key: string) => ({ key }) });
   * await pool.use("tenant-a", () => {});
   * const line = String(pool);
   * assert.equal(JSON.parse(line).keys[0].key, "tenant-a");
   * await pool.shutdown();
   * ```
   */
  toString(): string {
    return JSON.stringify(this.stats());
  }

  /**
   * What `JSON.stringify` puts in place of the keyed pool, wherever it sits
   * in the value being serialised: its stats, keys included.
   *
   * @returns A fresh {@linkcode KeyedPool.prototype.stats} snapshot.
   *
   * @example A status document with the keyed pool in it
   * ```ts
   * import assert from "node:assert/strict";
   * import { KeyedPool } from "./mod.ts";
   *
   * const tenants = new KeyedPool({ fun: (key: string) => ({ key }) });
   * const status = JSON.parse(JSON.stringify({ ok: true, tenants }));
   * assert.equal(status.tenants.nkeys, 0);
   * await tenants.shutdown();
   * ```
   */
  toJSON(): KeyedPoolStats {
    return this.stats();
  }

  // --------------------------------------------------------------- shutdown

  /**
   * Ends the keyed pool: stops the sweep of idle keys, shuts down the pool
   * of every key still open, side by side (each as
   * {@linkcode Pool.prototype.shutdown} does), and waits for those of keys
   * already retiring. Afterwards no key's object is left unclosed (each
   * closed once) and no timer remains. A second call gets the first call's
   * promise.
   *
   * @param options `timeout` replaces, for every key, its `shutdownTimeout`.
   * @returns Settles once the last key's pool is down. Bad `options` (checked
   * on every call) are the only way it rejects.
   * @throws {TypeError} `options` is not an object, or has an unknown key.
   * @throws {RangeError} A negative or NaN `timeout`.
   *
   * @example Shut down at exit
   * ```ts
   * import assert from "node:assert/strict";
   * import { KeyedPool } from "./mod.ts";
   *
   * let closed = 0;
   * const pool = new KeyedPool({
   *   fun: (key: string) => ({ key }),
   *   closer: () => void closed++,
   * });
   * await pool.use("a", () => {});
   * await pool.use("b", () => {});
   * await pool.shutdown();
   * assert.equal(closed, 2);
   * ```
   */
  shutdown(options?: ShutdownOptions): Promise<void> {
    try {
      resolveShutdownOptions(options, this.#shutdownTimeout);
    } catch (err) {
      return Promise.reject(err);
    }
    if (this.#shutdownPromise !== undefined) return this.#shutdownPromise;
    this.#closed = true;
    if (this.#sweeper !== undefined) {
      globalThis.clearInterval(this.#sweeper);
      this.#sweeper = undefined;
    }
    const done: Promise<void>[] = [...this.#retiring.values()];
    for (const s of this.#states.values()) done.push(s.pool.shutdown(options));
    this.#shutdownPromise = Promise.all(done).then(() => {
      // closers that outlived their pools' shutdown hold no timer
      this.#limit?.stop();
      this.#log.info("shut down");
    });
    return this.#shutdownPromise;
  }

  /**
   * Same as {@linkcode KeyedPool.prototype.shutdown}, for `await using`.
   *
   * @returns Resolves when every key's pool is shut down.
   *
   * @example A keyed pool bound to a scope
   * ```ts
   * import { KeyedPool } from "./mod.ts";
   *
   * {
   *   await using pool = new KeyedPool({ fun: (host: string) => ({ host }) });
   *   await pool.use("a.example", () => {});
   * } // shut down here
   * ```
   */
  [Symbol.asyncDispose](): Promise<void> {
    return this.shutdown();
  }
}

function emptyTotals(): KeyedPoolTotals {
  return {
    navail: 0,
    nusing: 0,
    nbusy: 0,
    nobjs: 0,
    creating: 0,
    nwaiting: 0,
    ncreated: 0,
    ncreateErrors: 0,
    nuses: 0,
    ndestroys: 0,
    nwaits: 0,
    ntimeouts: 0,
    naborts: 0,
    noverloads: 0,
    closedBy: noneClosed(),
  };
}

/** Adds `s`'s counters (and its counts now, unless `countersOnly`) to `t`. */
function addTotals(
  t: KeyedPoolTotals,
  s: KeyedPoolTotals | PoolStats,
  countersOnly: boolean,
): void {
  if (!countersOnly) {
    t.navail += s.navail;
    t.nusing += s.nusing;
    t.nbusy += s.nbusy;
    t.nobjs += s.nobjs;
    t.creating += s.creating;
    t.nwaiting += s.nwaiting;
  }
  t.ncreated += s.ncreated;
  t.ncreateErrors += s.ncreateErrors;
  t.nuses += s.nuses;
  t.ndestroys += s.ndestroys;
  t.nwaits += s.nwaits;
  t.ntimeouts += s.ntimeouts;
  t.naborts += s.naborts;
  t.noverloads += s.noverloads;
  for (const k of Object.keys(t.closedBy) as (keyof ClosedByReason)[]) {
    t.closedBy[k] += s.closedBy[k];
  }
}
