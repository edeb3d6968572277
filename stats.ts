/**
 * The shape of `pool.stats()`: a JSON-compatible snapshot.
 *
 * @module
 */

// deno-lint-ignore no-unused-vars -- PoolOptions: for {@linkcode} in docs
import type { JsonValue, PoolOptions } from "./options.ts";

/**
 * Why objects were closed, for {@linkcode PoolStats}.
 *
 * @example Why connections were closed
 * ```ts
 * import assert from "node:assert/strict";
 * import { Pool } from "./mod.ts";
 *
 * const pool = new Pool({ fun: () => ({}) });
 * pool.ret(await pool.get(), { broken: true });
 * assert.equal(pool.stats().closedBy.broken, 1);
 * await pool.shutdown();
 * ```
 */
export interface ClosedByReason {
  /** `health` (housekeeping, or after a failed `use()`) said bad. */
  health: number;
  /** `check` said bad before lending. */
  check: number;
  /** Idle longer than `maxAvailDelay` above `minSize`. */
  recycled: number;
  /** Held longer than `maxUsingDelayKill`. */
  killed: number;
  /** Used `maxUse` times. */
  wornout: number;
  /** Older than `maxLifetime`. */
  lifetime: number;
  /** Given back as broken. */
  broken: number;
  /** `reset` threw, or did not settle within `hookTimeout`. */
  reset: number;
  /** `getter` or `retter` did not settle within `hookTimeout`. */
  hook: number;
  /** Above `maxSize` after `resize()`. */
  resized: number;
  /** Arrived after `createTimeout` or after shutdown began. */
  late: number;
  /**
   * Its `opener` threw, rejected, or did not settle within `createTimeout`:
   * the creation failed.
   */
  opener: number;
  /**
   * Reported dead with `evict()` (at once if idle, else when back), or
   * closed to make room for another key under a keyed pool's `maxTotal`.
   */
  evicted: number;
  /** Closed by `shutdown()`. */
  shutdown: number;
}

/**
 * Details of one object in {@linkcode PoolStats}.
 *
 * @example How often each object was used
 * ```ts
 * import assert from "node:assert/strict";
 * import { Pool } from "./mod.ts";
 *
 * const pool = new Pool({ fun: (n) => `conn ${n}` });
 * pool.ret(await pool.get());
 * const [first] = pool.stats().avail;
 * assert.equal(first.uses, 1);
 * assert.equal(first.str, "conn 0");
 * await pool.shutdown();
 * ```
 */
export interface ObjectStats {
  /** Its creation number. */
  n: number;
  /** How many times it was lent. */
  uses: number;
  /** Milliseconds since it was created. */
  age: number;
  /** Milliseconds since it was last lent (`null` when not tracked). */
  lastGet: number | null;
  /** Milliseconds since it last came back (`null` when not tracked). */
  lastRet: number | null;
  /** What the `stats` hook said, when set. */
  stats?: JsonValue;
  /** What the `tracer` hook said, when set and `stats` is not. */
  trace?: string;
  /** `String(obj)`, when neither hook is set. */
  str?: string;
}

/**
 * The configuration part of {@linkcode PoolStats}.
 *
 * @example The configuration in effect
 * ```ts
 * import assert from "node:assert/strict";
 * import { Pool } from "./mod.ts";
 *
 * const pool = new Pool({ fun: () => ({}), maxAvailDelay: 60_000 });
 * assert.equal(pool.stats().config.delay, 30_000); // computed housekeeping period
 * await pool.shutdown();
 * ```
 */
export interface PoolConfigStats {
  /** See {@linkcode PoolOptions.minSize}. */
  minSize: number;
  /** See {@linkcode PoolOptions.maxSize}. */
  maxSize: number;
  /** See {@linkcode PoolOptions.timeout}; `null` for no timeout. */
  timeout: number | null;
  /** See {@linkcode PoolOptions.maxUse}. */
  maxUse: number;
  /** See {@linkcode PoolOptions.maxAvailDelay}. */
  maxAvailDelay: number;
  /** See {@linkcode PoolOptions.maxUsingDelay}. */
  maxUsingDelay: number;
  /** See {@linkcode PoolOptions.maxUsingDelayKill}. */
  maxUsingDelayKill: number;
  /** See {@linkcode PoolOptions.healthFreq}. */
  healthFreq: number;
  /** The housekeeping period in effect; `0` when there is none. */
  delay: number;
  /** See {@linkcode PoolOptions.maxCreating}. */
  maxCreating: number;
  /** See {@linkcode PoolOptions.maxWaiting}. */
  maxWaiting: number;
  /** See {@linkcode PoolOptions.maxLifetime}. */
  maxLifetime: number;
}

/**
 * A JSON-compatible snapshot of a pool, from `pool.stats()`.
 * Counters whose name starts with `n` are cumulative unless said otherwise.
 *
 * @example Expose the pool on a health endpoint
 * ```ts
 * import assert from "node:assert/strict";
 * import { Pool, type PoolStats } from "./mod.ts";
 *
 * const pool = new Pool({ fun: () => ({}), minSize: 2 });
 * const stats: PoolStats = pool.stats();
 * assert.equal(stats.nobjs, stats.navail + stats.nusing + stats.nbusy);
 * const body = JSON.stringify(stats); // what a /health route would answer
 * assert.ok(body.includes('"nobjs":2'));
 * await pool.shutdown();
 * ```
 */
export interface PoolStats {
  /** The pool's id (its `name`). */
  id: string;
  /** When the pool was created (ISO 8601). */
  started: string;
  /** Milliseconds since the pool was created. */
  running: number;
  /** Whether `shutdown()` was called. */
  shutdown: boolean;
  /** The configuration. */
  config: PoolConfigStats;
  /** Now: idle objects, ready to lend. */
  navail: number;
  /** Now: objects lent out. */
  nusing: number;
  /** Now: objects under the pool's own work (hooks, checks). */
  nbusy: number;
  /** Now: objects alive (`navail + nusing + nbusy`). */
  nobjs: number;
  /** Now: creations in flight. */
  creating: number;
  /** Now: tasks waiting in `get`. */
  nwaiting: number;
  /** Creations attempted (the next creation number). */
  ncreating: number;
  /** Creations that succeeded. */
  ncreated: number;
  /** Creations that failed. */
  ncreateErrors: number;
  /** Objects handed out by `get`. */
  nuses: number;
  /** Objects taken back for being held too long. */
  nkilled: number;
  /** Objects closed for being idle too long above `minSize`. */
  nrecycled: number;
  /** Objects closed for reaching `maxUse`. */
  nwornout: number;
  /** Objects borrowed by housekeeping for a health check. */
  nborrows: number;
  /** Objects given back by housekeeping after a health check. */
  nreturns: number;
  /** Objects closed (closer called), for any reason. */
  ndestroys: number;
  /** Calls to `health`. */
  nhealth: number;
  /** Health checks that said bad. */
  badHealth: number;
  /** Housekeeping rounds. */
  hkRounds: number;
  /** Housekeeping rounds that failed. */
  hkErrors: number;
  /** Health check rounds. */
  hcRounds: number;
  /** Health checks that threw or timed out. */
  hcErrors: number;
  /** Total milliseconds spent in housekeeping. */
  hkTime: number;
  /** Milliseconds since the last housekeeping round began (`null`: none). */
  hkLast: number | null;
  /** `get` calls that had to wait. */
  nwaits: number;
  /** Total milliseconds waited by those calls (`null` unless `timeWaits`). */
  waitTime: number | null;
  /** Longest wait in milliseconds (`null` unless `timeWaits`). */
  waitMax: number | null;
  /** `get` calls that timed out. */
  ntimeouts: number;
  /** `get` calls aborted by their signal. */
  naborts: number;
  /** `get` calls refused by `maxWaiting`. */
  noverloads: number;
  /** Objects closed, by reason. */
  closedBy: ClosedByReason;
  /** Idle objects. */
  avail: ObjectStats[];
  /** Lent objects. */
  using: ObjectStats[];
  /** Objects under the pool's own work. */
  busy: ObjectStats[];
}
