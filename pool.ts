/**
 * The {@linkcode Pool}: a pool of expensive-to-create objects (database
 * connections, clients, workers) shared safely between concurrent tasks.
 *
 * This file reads in the order of the object life cycle: options, creation,
 * lending, returning, retiring, housekeeping, stats, shutdown.
 *
 * @module
 */

import {
  CreationError,
  OverloadError,
  PoolError,
  TimeoutError,
} from "./errors.ts";
import { filterLogger, type Logger } from "./logger.ts";
import { Lease } from "./lease.ts";
import {
  type CheckHook,
  type GetOptions,
  type Hook,
  type JsonValue,
  type PoolOptions,
  type ReadyOptions,
  type ResizeOptions,
  resolvePoolOptions,
  type RetOptions,
  type ShutdownOptions,
} from "./options.ts";
import type { ClosedByReason, ObjectStats, PoolStats } from "./stats.ts";
import {
  Deadlines,
  rejectVia,
  type Resolve,
  Waiter,
  WaiterQueue,
  WatchedWaiter,
} from "./_waiters.ts";
import {
  backgroundInterval,
  backgroundTimeout,
  MAX_TIMER_DELAY,
  settleWithin,
} from "./_timers.ts";
import {
  checkCount,
  checkOptionsObject,
  checkSignal,
  checkTimeout,
  show,
} from "./_validate.ts";

// Entry states
const IDLE = 0;
const USING = 1;
const BUSY = 2; // under the pool's own work: hooks, checks
const DEAD = 3;

/** What the pool knows of one object. */
class Entry<T> {
  readonly obj: T;
  readonly n: number;
  readonly created: number;
  /** When it must be retired (maxLifetime with jitter), or Infinity. */
  readonly expires: number;
  state: number = BUSY;
  uses = 0;
  lastGet: number;
  lastRet: number;
  /** Held past maxUsingDelay and warned about. */
  warned = false;
  /** Where it was last taken (captureStacks). */
  stack: string | undefined = undefined;
  /**
   * A promise of `obj`, made at its first lending and reused by every `get`
   * that finds it idle: awaiting an already resolved promise is cheaper than
   * making one, or even than awaiting a plain value.
   */
  lent: Promise<T> | undefined = undefined;

  constructor(obj: T, n: number, now: number, expires: number) {
    this.obj = obj;
    this.n = n;
    this.created = now;
    this.lastGet = now;
    this.lastRet = now;
    this.expires = expires;
  }
}

/** A pending `ready()`. */
interface ReadyWaiter {
  resolve: () => void;
  reject: (err: unknown) => void;
  timed: boolean;
  timeout: number;
  timer: ReturnType<typeof setTimeout> | undefined;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

const WHAT = "Cannot create pool";
const READY_KEYS: ReadonlySet<string> = new Set(["timeout", "signal"]);
const RESIZE_KEYS: ReadonlySet<string> = new Set(["minSize", "maxSize"]);
let poolCount = 0;

/** A signal not aborted, as far as the fast path of `get` need know. */
function isLiveSignal(signal: AbortSignal): boolean {
  return typeof signal === "object" && signal !== null &&
    signal.aborted === false &&
    typeof signal.addEventListener === "function";
}

/**
 * Whether this is Cloudflare's workerd (Workers, wrangler dev, Miniflare 3+).
 * `navigator.userAgent` is "Cloudflare-Workers" there since the
 * `global_navigator` flag (default from compatibility date 2022-03-21);
 * `WebSocketPair`, a global of workerd alone, covers `no_global_navigator`.
 */
function inWorkerd(): boolean {
  const g = globalThis as {
    navigator?: { userAgent?: unknown };
    WebSocketPair?: unknown;
  };
  return g.navigator?.userAgent === "Cloudflare-Workers" ||
    typeof g.WebSocketPair === "function";
}

/**
 * In workerd, how often a waiter's own timer fires while it waits without a
 * nearer deadline: it keeps the request alive, and runs in that live request
 * what timers of ended requests no longer run (see `#onOwnTimer`).
 */
const OWN_TIMER_PERIOD = 1000;

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null &&
    (typeof value === "object" || typeof value === "function") &&
    typeof (value as PromiseLike<unknown>).then === "function";
}

function message(err: unknown): string {
  if (err instanceof Error) return err.message || err.name;
  return show(err);
}

function ms(value: number): string {
  return `${Math.round(value * 1000) / 1000} ms`;
}

/**
 * A pool of expensive-to-create objects, shared safely between concurrent
 * tasks: objects are created on demand by `fun` up to `maxSize`, lent by
 * {@linkcode Pool.prototype.get} (or {@linkcode Pool.prototype.use}, or
 * {@linkcode Pool.prototype.lease} with `await using`) and given back by
 * {@linkcode Pool.prototype.ret}. Waiters are served first come, first
 * served; housekeeping recycles, health-checks and refills in the background
 * without keeping the process alive.
 *
 * @typeParam T The type of the pooled objects.
 *
 * @example The original README's example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Pool, TimeoutError } from "./mod.ts";
 *
 * // a pool with 2 resources created by "fun"
 * const pool = new Pool({
 *   fun: (n) => `expensive object ${n}`,
 *   minSize: 2,
 *   maxSize: 2,
 *   timeout: 500,
 * });
 *
 * const a = await pool.get();
 * const b = await pool.get(); // maxSize reached
 * try {
 *   await pool.get(); // times out after 0.5 seconds
 *   throw new Error("unreachable");
 * } catch (err) {
 *   assert(err instanceof TimeoutError);
 * }
 * pool.ret(a);
 * pool.ret(b);
 * await pool.shutdown();
 * ```
 *
 * @example Lend an object to a function, which always gives it back
 * ```ts
 * import assert from "node:assert/strict";
 * import { Pool } from "./mod.ts";
 *
 * await using pool = new Pool({ fun: (n) => ({ n, query: (q: string) => q }) });
 * const answer = await pool.use((db) => db.query("SELECT 1"));
 * assert(answer === "SELECT 1");
 * ```
 */
export class Pool<T> implements AsyncDisposable {
  /** This pool's id, for telling pools apart in logs and stats. */
  readonly id: string;

  // configuration
  readonly #fun: (n: number, signal: AbortSignal) => T | PromiseLike<T>;
  #minSize: number;
  #maxSize: number;
  readonly #timeout: number;
  readonly #maxUse: number;
  readonly #maxAvailDelay: number;
  readonly #maxUsingDelay: number;
  readonly #maxUsingDelayKill: number;
  readonly #healthFreq: number;
  readonly #delay: number;
  readonly #opener: Hook<T> | undefined;
  readonly #getter: Hook<T> | undefined;
  readonly #retter: Hook<T> | undefined;
  readonly #closer: Hook<T> | undefined;
  readonly #health: CheckHook<T> | undefined;
  readonly #statsHook: ((obj: T) => JsonValue) | undefined;
  readonly #tracer: ((obj: T) => string) | undefined;
  readonly #log: Logger;
  readonly #createTimeout: number;
  readonly #healthTimeout: number;
  readonly #hookTimeout: number;
  readonly #shutdownTimeout: number;
  readonly #maxCreating: number;
  readonly #backoffInitial: number;
  readonly #backoffMax: number;
  readonly #maxWaiting: number;
  readonly #maxLifetime: number;
  readonly #maxLifetimeJitter: number;
  readonly #check: CheckHook<T> | undefined;
  readonly #checkBypass: number;
  readonly #reset: Hook<T> | undefined;
  readonly #captureStacks: boolean;
  readonly #timeWaits: boolean;
  /** `get` may hand an idle object out synchronously (no getter, no check). */
  readonly #plainGet: boolean;
  /** `ret` may put an object back synchronously (no retter, no reset). */
  readonly #plainRet: boolean;
  /**
   * A `get` without timeout or signal waits as a bare resolve function:
   * lending is plain and there is nothing to record (stack, wait time).
   */
  readonly #bareWaits: boolean;
  /** Lending needs nothing beyond counters (no clock, no stack). */
  readonly #plainLend: boolean;
  /**
   * A return needs nothing beyond counters: no hook, no clock, no lifetime,
   * not shut down, not above maxSize after a resize.
   */
  #plainReturn = false;
  /** Record last get/ret times (a timing feature needs them). */
  readonly #timed: boolean;
  /**
   * Every waiter keeps its request alive and its deadline with a timer of
   * its own, set in its own request: Cloudflare workerd only (see
   * `#setOwnTimer`); elsewhere the pool's one deadline timer serves them all.
   */
  readonly #ownTimers = inWorkerd();

  // state
  readonly #entries = new Map<T, Entry<T>>();
  /** Idle objects, most recently returned last (LIFO keeps them warm). */
  readonly #idle: Entry<T>[] = [];
  readonly #waiters = new WaiterQueue<T>();
  /** Timed waiters by timeout value, each list in deadline order. */
  readonly #deadlines = new Deadlines<T>();
  /** The one timer for every timed waiter, and the deadline it is set for. */
  #deadlineTimer: ReturnType<typeof setTimeout> | undefined = undefined;
  #armedFor = Infinity;
  /** The entry lent last: `ret` checks it before the map (a hint). */
  #lastLent: Entry<T> | undefined = undefined;
  #readyWaiters: ReadyWaiter[] = [];
  #nusing = 0;
  #creating = 0;
  /** Creations given up after createTimeout whose `fun` still runs. */
  #abandoned = 0;
  /** Creations running for waiters without deadline (owed their error). */
  #owed = 0;
  /** Waiters being handed an object (through check, getter). */
  readonly #handing = new Set<Waiter<T>>();
  /** Async creations running, each with the controller of its signal. */
  readonly #attempts = new Set<AbortController>();
  /** Created objects whose async `opener` still runs: not lendable yet. */
  #opening = 0;
  #pumping = false;
  #closed = false;
  #shutdownPromise: Promise<void> | undefined = undefined;
  #drained: (() => void) | undefined = undefined;
  readonly #closing = new Set<Promise<unknown>>();
  /**
   * Ends a wait still running on a timer (a health check or check under
   * healthTimeout, a creation under createTimeout): shutdown calls them all
   * so that no timer outlives it.
   */
  readonly #stoppers = new Set<() => void>();
  #failures = 0;
  #lastCreateError: unknown = undefined;
  /** When the current pause after failed creations ends (0: none). */
  #backoffUntil = 0;
  #backoffTimer: ReturnType<typeof setTimeout> | undefined = undefined;
  /**
   * When the next housekeeping round is due. Rounds normally run on a
   * background timer; where timers stop between requests (Cloudflare
   * workerd), or cannot start (its global scope), gets and returns run an
   * overdue round themselves.
   */
  #hkDue = Infinity;
  #hkTimer: ReturnType<typeof setTimeout> | undefined = undefined;
  #hkRunning = false;
  readonly #started = Date.now();
  readonly #startedPerf = performance.now();

  // counters
  #ncreating = 0;
  #ncreated = 0;
  #ncreateErrors = 0;
  #nuses = 0;
  #nkilled = 0;
  #nrecycled = 0;
  #nwornout = 0;
  #nborrows = 0;
  #nreturns = 0;
  #ndestroys = 0;
  #nhealth = 0;
  #badHealth = 0;
  #hkRounds = 0;
  #hkErrors = 0;
  #hcRounds = 0;
  #hcErrors = 0;
  #hkTime = 0;
  #hkLast = NaN;
  #nwaits = 0;
  #waitTime = 0;
  #waitMax = 0;
  #ntimeouts = 0;
  #naborts = 0;
  #noverloads = 0;
  readonly #closedBy: ClosedByReason = {
    health: 0,
    check: 0,
    recycled: 0,
    killed: 0,
    wornout: 0,
    lifetime: 0,
    broken: 0,
    reset: 0,
    hook: 0,
    resized: 0,
    late: 0,
    shutdown: 0,
  };

  /**
   * Creates a pool and starts creating `minSize` objects in the background
   * (see {@linkcode Pool.prototype.ready} to wait for them).
   *
   * @param options What to pool and how; only `fun` is required.
   * @throws {TypeError} An option has the wrong type, or is unknown.
   * @throws {RangeError} An option has a wrong value (negative size,
   * `minSize > maxSize`, non-finite delay…).
   */
  constructor(options: PoolOptions<T>) {
    const {
      fun,
      maxSize,
      minSize,
      timeout,
      maxUse,
      maxAvailDelay,
      maxUsingDelay,
      maxUsingDelayKill,
      healthFreq,
      delay,
      logLevel,
      logger,
      name = `pool-${++poolCount}`,
      createTimeout,
      healthTimeout,
      hookTimeout,
      shutdownTimeout,
      maxCreating,
      backoffInitial,
      backoffMax,
      maxWaiting,
      maxLifetime,
      maxLifetimeJitter,
      checkBypass,
      captureStacks,
      timeWaits,
    } = resolvePoolOptions(options, WHAT);

    this.id = name;
    this.#fun = fun;
    this.#maxSize = maxSize;
    this.#minSize = minSize;
    this.#timeout = timeout;
    this.#maxUse = maxUse;
    this.#maxAvailDelay = maxAvailDelay;
    this.#maxUsingDelay = maxUsingDelay;
    this.#maxUsingDelayKill = maxUsingDelayKill;
    this.#healthFreq = healthFreq;
    this.#opener = options.opener;
    this.#getter = options.getter;
    this.#retter = options.retter;
    this.#closer = options.closer;
    this.#health = options.health;
    this.#statsHook = options.stats;
    this.#tracer = options.tracer;
    this.#check = options.check;
    this.#reset = options.reset;
    this.#createTimeout = createTimeout;
    this.#healthTimeout = healthTimeout;
    this.#hookTimeout = hookTimeout;
    this.#shutdownTimeout = shutdownTimeout;
    this.#maxCreating = maxCreating;
    this.#backoffInitial = backoffInitial;
    this.#backoffMax = backoffMax;
    this.#maxWaiting = maxWaiting;
    this.#maxLifetime = maxLifetime;
    this.#maxLifetimeJitter = maxLifetimeJitter;
    this.#checkBypass = checkBypass;
    this.#captureStacks = captureStacks;
    this.#timeWaits = timeWaits;
    this.#log = filterLogger(logger, logLevel, `[${name}] `);
    this.#plainGet = !this.#getter && !this.#check && maxLifetime === 0;
    this.#plainRet = !this.#retter && !this.#reset;
    // in workerd every wait needs a timer of its own (see #watchOwn)
    this.#bareWaits = this.#plainGet && !timeWaits && !captureStacks &&
      !this.#ownTimers;

    if (
      maxUsingDelay > 0 && maxUsingDelayKill > 0 &&
      maxUsingDelay > maxUsingDelayKill
    ) {
      this.#log.warn(
        `maxUsingDelay (${maxUsingDelay}) exceeds maxUsingDelayKill (${maxUsingDelayKill}): objects are killed before any warning`,
      );
    }
    // the seed's default period: half the shortest delay to watch
    const watched = [
      maxAvailDelay,
      maxUsingDelay,
      maxUsingDelayKill,
      maxLifetime,
    ]
      .filter((d) => d > 0);
    this.#delay = delay ??
      (watched.length > 0
        ? Math.min(MAX_TIMER_DELAY, Math.max(1, Math.min(...watched) / 2))
        : this.#health
        ? 60_000
        : 0);
    this.#timed = maxAvailDelay > 0 || maxUsingDelay > 0 ||
      maxUsingDelayKill > 0 || (this.#check !== undefined && checkBypass > 0) ||
      this.#delay > 0;
    this.#plainLend = !this.#timed && !captureStacks;
    this.#updatePlainReturn();
    if (this.#delay > 0) {
      this.#hkDue = performance.now() + this.#delay;
      this.#hkTimer = backgroundInterval(this.#onHousekeepingTick, this.#delay);
      this.#log.info(
        this.#hkTimer !== undefined
          ? `housekeeping every ${ms(this.#delay)}`
          : `no timer here: housekeeping runs when gets and returns find a round overdue (every ${
            ms(this.#delay)
          })`,
      );
    }
    this.#pump();
  }

  // ---------------------------------------------------------------- lending

  /**
   * Lends an object: an idle one at once, else a new one if fewer than
   * `maxSize` exist, else the first one given back (first come, first
   * served). Give it back with {@linkcode Pool.prototype.ret}.
   *
   * @param options `timeout` (overrides the pool's) and `signal`.
   * @returns The object, now yours until you give it back. (An idle object
   * comes in an already settled promise, the same each time it is lent.)
   * @throws {TimeoutError} Nothing came within the timeout; `cause` is the
   * last creation error if the pool could not create objects meanwhile.
   * @throws {CreationError} Without timeout, a creation failed (its error is
   * the `cause`).
   * @throws {OverloadError} `maxWaiting` tasks already wait.
   * @throws {PoolError} The pool is shut down.
   * @throws The signal's `reason` when it aborts.
   *
   * @example Get and give back
   * ```ts
   * import assert from "node:assert/strict";
   * import { Pool } from "./mod.ts";
   *
   * const pool = new Pool({ fun: (n) => ({ n }) });
   * const obj = await pool.get({ timeout: 1000 });
   * try {
   *   assert(obj.n === 0);
   * } finally {
   *   pool.ret(obj);
   * }
   * await pool.shutdown();
   * ```
   */
  get(options?: GetOptions): Promise<T> {
    const idle = this.#idle;
    // Fast path: an idle object and nothing to run before lending it. No
    // timer, no listener, one promise. Options that are not a plain object
    // take the slow path, which rejects them (and `null` must not throw
    // synchronously here).
    if (
      idle.length !== 0 && this.#plainGet &&
      (options === undefined ||
        (typeof options === "object" && options !== null &&
          (options.signal === undefined || isLiveSignal(options.signal)) &&
          (options.timeout === undefined ||
            (typeof options.timeout === "number" && options.timeout >= 0))))
    ) {
      // (plainGet means no maxLifetime: no object here can have expired)
      const e = idle.pop()!;
      if (this.#plainLend) {
        e.state = USING;
        e.uses++;
        this.#nusing++;
        this.#nuses++;
        this.#lastLent = e;
      } else {
        this.#lend(
          e,
          this.#captureStacks ? new Error("taken here").stack : undefined,
        );
      }
      return e.lent ??= Promise.resolve(e.obj);
    }
    return this.#getSlow(options);
  }

  #getSlow(options: GetOptions | undefined): Promise<T> {
    let timeout = this.#timeout;
    let signal: AbortSignal | undefined;
    if (options !== undefined) {
      try {
        // no check of unknown keys: the fast path cannot afford one, and a
        // get must not fail only when it has to wait
        checkOptionsObject("Cannot get an object", options);
        if (options.timeout !== undefined) {
          checkTimeout("Cannot get an object", "timeout", options.timeout);
          timeout = options.timeout;
        }
        if (options.signal !== undefined) {
          checkSignal("Cannot get an object", "signal", options.signal);
          signal = options.signal;
        }
      } catch (err) {
        return Promise.reject(err);
      }
    }
    if (this.#closed) {
      return Promise.reject(
        new PoolError(
          `Pool ${this.id} is shut down: it lends nothing more; create a new pool if you still need objects`,
        ),
      );
    }
    if (signal !== undefined && signal.aborted) {
      this.#naborts++;
      return Promise.reject(signal.reason);
    }
    if (
      this.#maxWaiting !== 0 && this.#idle.length === 0 &&
      this.#waiters.size >= this.#maxWaiting
    ) {
      this.#noverloads++;
      return Promise.reject(
        new OverloadError(
          `Pool ${this.id} is overloaded: ${this.#waiters.size} tasks already wait (maxWaiting ${this.#maxWaiting}); answer "busy" and retry later, or raise maxSize or maxWaiting`,
        ),
      );
    }
    if (this.#timed && performance.now() >= this.#hkDue) {
      // a round overdue (no background timer here, as in workerd) may free
      // an object held too long: run it before queueing
      this.#overdueRound();
    }
    if (timeout === Infinity && signal === undefined && this.#bareWaits) {
      // the common wait: nothing to watch or record, a bare resolve function
      const promise = new Promise<T>((resolve) => {
        this.#waiters.pushBare(resolve);
      });
      this.#nwaits++;
      if (this.#mayDispatch()) this.#dispatch();
      return promise;
    }
    let resolve!: (value: T) => void;
    const promise = new Promise<T>((r) => {
      resolve = r;
    });
    const w = timeout === Infinity && signal === undefined && !this.#ownTimers
      ? new Waiter<T>(resolve)
      : new WatchedWaiter<T>(resolve, timeout, signal, this.#onAbort);
    if (this.#timeWaits || w.watched) w.since = performance.now();
    if (this.#captureStacks) w.stack = new Error("taken here").stack;
    if (this.#idle.length !== 0 && this.#waiters.size === 0) {
      // An idle object, but a getter or check must run first: hand it over
      // at once, watching the deadline and signal only if that has to wait
      // (an async hook) or fails (then the waiter queues, in its place).
      const e = this.#popIdle();
      if (e !== undefined) {
        this.#waiters.number(w);
        this.#handTo(e, w);
        return promise;
      }
    }
    if (w.watched && !this.#watch(w as WatchedWaiter<T>)) return promise;
    w.waited = true;
    this.#nwaits++;
    this.#waiters.push(w);
    if (this.#mayDispatch()) this.#dispatch();
    return promise;
  }

  /** Whether a new waiter may be served now: an object idle, or room. */
  #mayDispatch(): boolean {
    return this.#idle.length !== 0 || this.#maxSize === 0 ||
      this.#entries.size + this.#creating + this.#abandoned < this.#maxSize;
  }

  /**
   * Starts watching a waiter's deadline and signal. Returns `false` when it
   * settled instead: its signal aborted, its deadline passed, or no timer
   * can be set here (workerd's global scope).
   */
  #watch(w: WatchedWaiter<T>): boolean {
    if (this.#ownTimers) {
      if (!this.#watchOwn(w)) return false;
    } else if (w.timed) {
      // one timer for all timed waiters, not one each
      w.deadline = w.since + w.timeout;
      this.#deadlines.add(w);
      if (w.deadline < this.#armedFor) {
        try {
          this.#arm(w.deadline, performance.now());
        } catch (err) {
          // no timers here: a deadline cannot be kept
          this.#deadlines.remove(w);
          w.settled = true;
          w.reject(err);
          return false;
        }
      }
      if (this.#backoffUntil !== 0) {
        // creations pause after failures: make sure this waiter sees retries
        this.#capPause(w.timeout);
      }
    }
    const signal = w.signal;
    if (signal !== undefined && !w.settled) {
      if (signal.aborted) {
        this.#onAbort(w);
        return false;
      }
      w.listening = true;
      signal.addEventListener("abort", w);
    }
    return !w.settled;
  }

  /**
   * workerd only: a waiter keeps its deadline, and its request alive, with
   * a timer of its own, set in the request that waits. workerd cancels, as
   * hung, a request waiting with nothing pending of its own (a promise that
   * another request will resolve does not count), and a timer lives only as
   * long as the request that set it: the pool's one deadline timer, set in
   * some request, would die with it. Returns `false` when no timer can be
   * set here (workerd's global scope) and the waiter has a deadline: it is
   * rejected, as elsewhere.
   */
  #watchOwn(w: WatchedWaiter<T>): boolean {
    if (w.timed) w.deadline = w.since + w.timeout;
    try {
      this.#setOwnTimer(w, performance.now());
    } catch (err) {
      // no timers here: a deadline cannot be kept (a wait without one may
      // still be served, by a ret() here)
      if (w.timed) {
        w.settled = true;
        w.reject(err);
        return false;
      }
    }
    if (w.timed && this.#backoffUntil !== 0) this.#capPause(w.timeout);
    return true;
  }

  /** Sets a waiter's own timer: its deadline or `OWN_TIMER_PERIOD`. */
  #setOwnTimer(w: WatchedWaiter<T>, now: number): void {
    w.timer = globalThis.setTimeout(
      this.#onOwnTimer,
      Math.max(0, Math.min(w.deadline - now, OWN_TIMER_PERIOD)),
      w,
    );
  }

  /**
   * A waiter's own timer fired, in its own request, which is therefore
   * alive: time it out when due, else run what timers of ended requests
   * could not (an overdue housekeeping round, the end of a creation pause),
   * and set the timer again. A waiter served from another request, whose
   * clearTimeout cannot reach this timer, merely stops here.
   */
  readonly #onOwnTimer = (w: WatchedWaiter<T>): void => {
    w.timer = undefined;
    if (w.settled || this.#closed) return;
    const now = performance.now();
    if (now >= w.deadline) return this.#onTimeout(w);
    if (this.#timed && now >= this.#hkDue) this.#overdueRound();
    this.#pump();
    if (!w.settled) this.#setOwnTimer(w, now);
  };

  /**
   * Lends an object for the time of `fn`, and always gives it back, even when
   * `fn` throws. When `fn` throws or rejects, the object is suspect: it goes
   * through `health` (when set) before anyone else gets it, and is closed if
   * it fails.
   *
   * @typeParam R What `fn` returns.
   * @param fn Receives the object; may be async.
   * @param options As for {@linkcode Pool.prototype.get}.
   * @returns What `fn` returns.
   * @throws What `get` throws, or what `fn` throws.
   *
   * @example Run a query
   * ```ts
   * import assert from "node:assert/strict";
   * import { Pool } from "./mod.ts";
   *
   * const pool = new Pool({ fun: () => ({ query: async (q: string) => [q] }) });
   * const rows = await pool.use((db) => db.query("SELECT 1"), { timeout: 1000 });
   * assert(rows[0] === "SELECT 1");
   * await pool.shutdown();
   * ```
   */
  async use<R>(
    fn: (obj: T) => R | PromiseLike<R>,
    options?: GetOptions,
  ): Promise<R> {
    if (typeof fn !== "function") {
      throw new TypeError(
        `Cannot use an object as 'fn' must be a function: current value is ${
          show(fn)
        }`,
      );
    }
    const obj = await this.get(options);
    let result: R | PromiseLike<R>;
    try {
      // a sync fn, and a sync return, cost no extra turn
      result = fn(obj);
      if (isThenable(result)) result = await result;
    } catch (err) {
      const back = this.#giveBack(
        obj,
        this.#health === undefined ? NORMAL : SUSPECT,
      );
      if (back !== undefined) await back;
      throw err;
    }
    const back = this.#giveBack(obj, NORMAL);
    if (back !== undefined) await back;
    return result as R;
  }

  /**
   * Lends an object as a {@linkcode Lease} that gives it back when disposed,
   * for `await using`. A disposer cannot see whether its scope threw: call
   * {@linkcode Lease.prototype.markBroken} to have the object closed instead.
   *
   * @param options As for {@linkcode Pool.prototype.get}.
   * @returns A lease holding the object in `obj`.
   * @throws What `get` throws.
   *
   * @example Scope-bound borrowing
   * ```ts
   * import assert from "node:assert/strict";
   * import { Pool } from "./mod.ts";
   *
   * const pool = new Pool({ fun: (n) => ({ n }) });
   * {
   *   await using lease = await pool.lease();
   *   assert(lease.obj.n === 0);
   * } // given back here
   * assert(pool.stats().navail === 1);
   * await pool.shutdown();
   * ```
   */
  async lease(options?: GetOptions): Promise<Lease<T>> {
    return new Lease(this, await this.get(options));
  }

  /** Whether `ret` may take its fast path (see #plainReturn). */
  #updatePlainReturn(): void {
    this.#plainReturn = this.#plainRet && !this.#timed &&
      this.#maxLifetime === 0 && !this.#closed &&
      (this.#maxSize === 0 || this.#entries.size <= this.#maxSize);
  }

  /**
   * Marks an idle entry as lent, then runs a housekeeping round if one is
   * overdue (unless `late`: its borrower does not have it yet, and a round
   * serving newer waiters must wait until it has, for first come, first
   * served; the caller runs it then).
   */
  #lend(e: Entry<T>, stack: string | undefined, late = false): void {
    this.#lastLent = e;
    e.state = USING;
    e.uses++;
    this.#nusing++;
    this.#nuses++;
    e.stack = stack;
    if (this.#timed) {
      const now = performance.now();
      e.lastGet = now;
      e.warned = false;
      if (!late && now >= this.#hkDue) this.#overdueRound();
    }
  }

  /** Runs a housekeeping round that its timer did not run in time. */
  #overdueRound(): void {
    if (!this.#hkRunning && !this.#closed) void this.#housekeep();
  }

  /** Serves waiters from idle objects, then starts the creations needed. */
  #dispatch(): void {
    while (this.#waiters.size !== 0) {
      const e = this.#popIdle();
      if (e === undefined) break;
      this.#handTo(e, this.#waiters.shift()!);
    }
    this.#pump();
  }

  /** Takes the idle object lent next, retiring expired ones on the way. */
  #popIdle(): Entry<T> | undefined {
    const e = this.#idle.pop();
    if (
      e === undefined || this.#maxLifetime === 0 ||
      performance.now() < e.expires
    ) return e;
    return this.#retireExpired(e);
  }

  /**
   * Retires `e`, just taken from the idle stack and past its lifetime, and
   * the next idle ones as long as they are too; returns the first one still
   * good, taken from the stack too, if any.
   */
  #retireExpired(e: Entry<T>): Entry<T> | undefined {
    const now = performance.now();
    let next: Entry<T> | undefined = e;
    while (next !== undefined && now >= next.expires) {
      next.state = BUSY; // off the idle stack already
      this.#destroy(next, "lifetime");
      next = this.#idle.pop();
    }
    this.#pump();
    return next;
  }

  /**
   * Gives an available entry to a waiter that just left the queue; `fresh`:
   * the entry comes straight from its creation.
   */
  #handTo(e: Entry<T>, w: Waiter<T> | Resolve<T>, fresh = false): void {
    if (typeof w === "function") {
      // a bare waiter: lending is plain, there is nothing to detach
      w(e.obj);
      this.#lend(e, undefined);
      return;
    }
    if (this.#plainGet) {
      this.#settle(w);
      // resolved before #lend, which may run an overdue housekeeping round
      // that serves newer waiters: their promises must not settle first
      w.resolve(e.obj);
      this.#lend(e, w.stack);
      return;
    }
    e.state = BUSY;
    void this.#handToSlow(e, w, fresh);
  }

  /**
   * Hands an entry over through `check` (unless `fresh` from its creation)
   * and `getter`. A waiter served at once, not watched yet, starts watching
   * its deadline and signal only if a hook has to be awaited.
   */
  async #handToSlow(e: Entry<T>, w: Waiter<T>, fresh: boolean): Promise<void> {
    this.#handing.add(w);
    // an object straight from its creation is not checked: fun and opener
    // just vouched for it (and a check that always fails makes no loop)
    if (this.#check !== undefined && !fresh) {
      const now = performance.now();
      if (now - e.lastRet >= this.#checkBypass) {
        let good = this.#isGood(e, this.#check, "check");
        if (typeof good !== "boolean") {
          this.#watchLate(w);
          good = await good;
        }
        if (!good) {
          this.#handing.delete(w);
          this.#destroy(e, "check"); // unless shutdown closed it meanwhile
          return this.#requeue(w);
        }
      }
    }
    // The check may have taken a while: a waiter that gave up meanwhile
    // takes nothing, and after shutdown began nothing is lent (the waiter is
    // refused like those still queued, the object closed).
    if (this.#gaveUp(w) || e.state === DEAD) {
      this.#handing.delete(w);
      if (e.state === DEAD) return this.#requeue(w);
      return this.#makeAvailable(e);
    }
    this.#lend(e, w.stack, true);
    if (this.#getter !== undefined) {
      let done = this.#boundHook("getter", this.#getter, e, false);
      if (typeof done !== "number") {
        this.#watchLate(w);
        done = await done;
      }
      // killed, or closed by shutdown, meanwhile: the waiter needs another
      if (e.state !== USING) {
        this.#handing.delete(w);
        return this.#requeue(w);
      }
      if (done === HUNG) {
        this.#handing.delete(w);
        this.#unlend(e);
        this.#destroy(e, "hook");
        return this.#requeue(w);
      }
      if (this.#gaveUp(w)) {
        // the waiter gave up (or shutdown began) meanwhile: that was no
        // use, and the object goes back through retter and reset
        this.#handing.delete(w);
        this.#unlend(e);
        return this.#giveBackSlow(e, NORMAL);
      }
    }
    this.#handing.delete(w);
    this.#settle(w);
    w.resolve(e.obj);
    // the round #lend left for now, the waiter being served
    if (this.#timed && performance.now() >= this.#hkDue) this.#overdueRound();
  }

  /**
   * Whether a waiter being handed an object no longer wants it: it timed
   * out or was aborted (then it is settled), or its signal aborted while it
   * was not listening yet, or the pool shut down (then it is refused).
   */
  #gaveUp(w: Waiter<T>): boolean {
    if (w.settled) return true;
    if (this.#closed) {
      this.#refuse(w);
      return true;
    }
    if (w.watched) {
      const f = w as WatchedWaiter<T>;
      if (f.signal !== undefined && f.signal.aborted) {
        this.#onAbort(f);
        return true;
      }
    }
    return false;
  }

  /** Undoes `#lend` for an entry its waiter never got. */
  #unlend(e: Entry<T>): void {
    e.state = BUSY;
    e.uses--;
    this.#nusing--;
    this.#nuses--;
  }

  /** Counts in `nwaits` a waiter served at once that has to wait after all. */
  #countWait(w: Waiter<T>): void {
    if (!w.waited) {
      w.waited = true;
      this.#nwaits++;
    }
  }

  /** Starts watching a waiter served at once whose hand-over must wait. */
  #watchLate(w: Waiter<T>): void {
    this.#countWait(w);
    if (!w.watched || w.settled) return;
    const f = w as WatchedWaiter<T>;
    if (f.dlist === null && !f.listening && f.timer === undefined) {
      this.#watch(f);
    }
  }

  /** Puts back in its place a waiter whose object turned out bad. */
  #requeue(w: Waiter<T>): void {
    if (!w.settled) {
      // off the queue while its object was checked, so shutdown did not
      // see it: refuse it now rather than leave it pending for ever
      if (this.#closed) this.#refuse(w);
      else if (!w.watched || this.#watchRequeued(w as WatchedWaiter<T>)) {
        this.#countWait(w);
        this.#waiters.putBack(w);
      }
    }
    this.#dispatch();
  }

  /** A requeued waiter watches its deadline and signal; false if it ended. */
  #watchRequeued(w: WatchedWaiter<T>): boolean {
    if (w.dlist !== null || w.listening || w.timer !== undefined) return true;
    return this.#watch(w);
  }

  /** Rejects a waiter because the pool is shut down. */
  #refuse(w: Waiter<T>): void {
    this.#settle(w);
    w.reject(
      new PoolError(
        `Pool ${this.id} was shut down while this task waited for an object`,
      ),
    );
  }

  /** Sets the pool's deadline timer for `deadline`. */
  #arm(deadline: number, now: number): void {
    if (this.#deadlineTimer !== undefined) {
      globalThis.clearTimeout(this.#deadlineTimer);
      this.#deadlineTimer = undefined;
    }
    this.#armedFor = deadline;
    // a deadline beyond what a timer holds is set again when it fires
    const id = globalThis.setTimeout(
      this.#onDeadline,
      Math.min(MAX_TIMER_DELAY, Math.max(0, deadline - now)),
    );
    // Deno may run pending microtasks inside its first setTimeout call: if
    // they ended the last timed waiter, or the pool, no timer may outlive it
    if (this.#deadlines.empty || this.#closed) {
      globalThis.clearTimeout(id);
      this.#armedFor = Infinity;
    } else this.#deadlineTimer = id;
  }

  /** Times out every waiter whose deadline passed, then sets the timer again. */
  readonly #onDeadline = (): void => {
    this.#deadlineTimer = undefined;
    this.#armedFor = Infinity;
    // a timer that fired early by this clock is simply set again
    const now = performance.now();
    if (this.#timed && now >= this.#hkDue) this.#overdueRound();
    const deadlines = this.#deadlines;
    for (
      let w = deadlines.first();
      w !== null && w.deadline <= now;
      w = deadlines.first()
    ) this.#onTimeout(w);
    const next = deadlines.earliest();
    if (next !== Infinity && !this.#closed) this.#arm(next, now);
  };

  /** Takes a waiter off its deadline list; the last one stops the timer. */
  #unlinkDeadline(w: WatchedWaiter<T>): void {
    this.#deadlines.remove(w);
    if (this.#deadlines.empty && this.#deadlineTimer !== undefined) {
      globalThis.clearTimeout(this.#deadlineTimer);
      this.#deadlineTimer = undefined;
      this.#armedFor = Infinity;
    }
  }

  /** Detaches a waiter from its deadline and signal before settling it. */
  #settle(w: Waiter<T>): void {
    w.settled = true;
    if (w.watched) {
      const f = w as WatchedWaiter<T>;
      if (f.dlist !== null) this.#unlinkDeadline(f);
      if (f.timer !== undefined) {
        // a no-op from another request than the waiter's (workerd): the
        // timer then finds the waiter settled, and stops
        globalThis.clearTimeout(f.timer);
        f.timer = undefined;
      }
      if (f.listening) {
        f.listening = false;
        f.signal!.removeEventListener("abort", f);
      }
    }
    if (this.#timeWaits) {
      const waited = performance.now() - w.since;
      this.#waitTime += waited;
      if (waited > this.#waitMax) this.#waitMax = waited;
    }
  }

  readonly #onTimeout = (w: WatchedWaiter<T>): void => {
    if (w.settled) return;
    this.#waiters.remove(w);
    this.#settle(w);
    this.#ntimeouts++;
    const cause = this.#failures > 0 ? this.#lastCreateError : undefined;
    // Made in a timer callback, its stack would show only the pool's own
    // frames: skip capturing it, most of an error's cost (1-4 µs on V8).
    const E = Error as { stackTraceLimit?: number };
    const limit = E.stackTraceLimit;
    E.stackTraceLimit = 0;
    let error: TimeoutError;
    try {
      error = new TimeoutError(
        `Timed out after ${
          ms(w.timeout)
        } waiting for an object of pool ${this.id} (${this.#entries.size} alive, ${this.#nusing} in use, maxSize ${
          this.#maxSize || "unlimited"
        })${
          cause !== undefined
            ? `; the last creation failed: ${message(cause)}`
            : "; give objects back sooner, or raise maxSize or the timeout"
        }`,
        cause !== undefined ? { cause } : undefined,
      );
    } finally {
      E.stackTraceLimit = limit;
    }
    w.reject(error);
    this.#pump();
  };

  readonly #onAbort = (w: WatchedWaiter<T>): void => {
    if (w.settled) return;
    this.#waiters.remove(w);
    this.#settle(w);
    this.#naborts++;
    w.reject(w.signal!.reason);
  };

  // -------------------------------------------------------------- returning

  /**
   * Gives back an object lent by {@linkcode Pool.prototype.get}. A second
   * return of the same object, or of one the pool does not hold (killed for
   * being held too long, or foreign), is ignored with a warning naming it.
   *
   * @param obj The object to give back.
   * @param options `broken: true` closes it instead of lending it again.
   * @returns Nothing, or a promise when `retter` or `reset` must run first;
   * it never rejects.
   *
   * @example Give back a broken connection
   * ```ts
   * import assert from "node:assert/strict";
   * import { Pool } from "./mod.ts";
   *
   * const pool = new Pool({ fun: (n) => ({ n, alive: true }) });
   * const conn = await pool.get();
   * conn.alive = false; // say the server hung up
   * pool.ret(conn, { broken: true }); // closed, never lent again
   * assert((await pool.get()).n === 1);
   * await pool.shutdown();
   * ```
   */
  ret(obj: T, options?: RetOptions): void | Promise<void> {
    // Fast path: no hook, no clock, nothing due. The object goes straight to
    // the oldest waiter, still lent, or back on the idle stack.
    if (options === undefined && this.#plainReturn) {
      let e = this.#lastLent;
      // the object lent last is most often the one given back: no lookup
      if (e === undefined || e.obj !== obj) e = this.#entries.get(obj);
      if (
        e !== undefined && e.state === USING &&
        (this.#maxUse === 0 || e.uses < this.#maxUse)
      ) {
        const w = this.#waiters.shift();
        if (w === undefined) {
          this.#nusing--;
          e.state = IDLE;
          this.#idle.push(e);
        } else if (typeof w === "function") {
          // a bare waiter (lending is plain): one more use, no return
          w(obj);
          e.uses++;
          this.#nuses++;
          this.#lastLent = e;
        } else {
          this.#nusing--;
          this.#handTo(e, w);
        }
        return;
      }
    }
    return this.#giveBack(
      obj,
      options === undefined || options === null
        ? NORMAL
        : options.broken === true
        ? BROKEN
        : options.suspect === true && this.#health !== undefined
        ? SUSPECT
        : NORMAL,
    );
  }

  #giveBack(obj: T, how: number): void | Promise<void> {
    let now = 0;
    if (this.#timed) {
      now = performance.now();
      // before the lookup: a round that kills this object makes it foreign
      if (now >= this.#hkDue) this.#overdueRound();
    }
    // the object lent last is most often the one given back: no lookup
    let e = this.#lastLent;
    if (e === undefined || e.obj !== obj || e.state !== USING) {
      e = this.#entries.get(obj);
      if (e === undefined || e.state !== USING) return this.#badReturn(obj, e);
    }
    this.#nusing--;
    if (this.#timed) {
      e.lastRet = now;
      if (e.warned) {
        this.#log.warn(
          `${this.#trace(e)} came back after ${ms(e.lastRet - e.lastGet)}`,
        );
      }
    }
    if (how === BROKEN) {
      e.state = BUSY;
      this.#destroy(e, "broken");
      this.#pump();
      return;
    }
    if (this.#plainRet && how === NORMAL) return this.#makeAvailable(e);
    e.state = BUSY;
    return this.#giveBackSlow(e, how);
  }

  async #giveBackSlow(e: Entry<T>, how: number): Promise<void> {
    if (this.#retter !== undefined) {
      let done = this.#boundHook("retter", this.#retter, e, false);
      if (typeof done !== "number") done = await done;
      // closed meanwhile (shutdown gave up waiting for it): nothing to do
      if (e.state === DEAD) return;
      if (done === HUNG) {
        this.#destroy(e, "hook");
        return this.#pump();
      }
    }
    if (this.#reset !== undefined) {
      let done = this.#boundHook("reset", this.#reset, e, true);
      if (typeof done !== "number") done = await done;
      if (e.state === DEAD) return;
      if (done !== OK) {
        this.#destroy(e, "reset");
        return this.#pump();
      }
    }
    if (how === SUSPECT && this.#health !== undefined && !this.#closed) {
      let good = this.#isGood(e, this.#health, "health");
      if (typeof good !== "boolean") good = await good;
      if (e.state === DEAD) return;
      if (!good) {
        this.#destroy(e, "health");
        return this.#pump();
      }
    }
    this.#makeAvailable(e);
  }

  #badReturn(obj: T, e: Entry<T> | undefined): void {
    let what: string;
    try {
      what = this.#tracer !== undefined
        ? String(this.#tracer(obj))
        : e !== undefined
        ? this.#trace(e)
        : show(obj);
    } catch (err) {
      what = `an object (tracer threw: ${message(err)})`;
    }
    this.#log.warn(
      e === undefined
        ? `ignoring the return of ${what}: this pool does not hold it (returned twice, killed for being held too long, or from another pool)`
        : `ignoring the return of ${what}: it is not lent out (returned twice?)`,
    );
  }

  /**
   * An entry is available again: retire it if due, else hand it to the
   * oldest waiter, else keep it idle.
   */
  #makeAvailable(e: Entry<T>, fresh = false): void {
    // closed meanwhile (shutdown gave up waiting for it): closed once only
    if (e.state === DEAD) return;
    if (this.#closed) {
      // BUSY: a returned entry was already counted out of nusing
      e.state = BUSY;
      this.#destroy(e, "shutdown");
      return;
    }
    if (this.#maxUse !== 0 && e.uses >= this.#maxUse) {
      e.state = BUSY;
      this.#destroy(e, "wornout");
      return this.#pump();
    }
    if (this.#maxSize !== 0 && this.#entries.size > this.#maxSize) {
      e.state = BUSY;
      this.#destroy(e, "resized");
      this.#updatePlainReturn();
      return this.#pump();
    }
    if (this.#maxLifetime !== 0 && performance.now() >= e.expires) {
      e.state = BUSY;
      this.#destroy(e, "lifetime");
      return this.#pump();
    }
    const w = this.#waiters.shift();
    if (w !== undefined) return this.#handTo(e, w, fresh);
    e.state = IDLE;
    this.#idle.push(e);
  }

  // ---------------------------------------------------------------- creating

  /** Starts the creations that demand (waiters, minSize) calls for. */
  #pump(): void {
    if (this.#pumping || this.#closed) return;
    this.#pumping = true;
    try {
      for (;;) {
        // creations given up after createTimeout but still running keep
        // their place, so that maxSize holds whatever they do
        const total = this.#entries.size + this.#creating + this.#abandoned;
        // an object still being opened is still being created
        const coming = this.#creating + this.#opening;
        if (coming >= this.#maxCreating) break;
        if (this.#maxSize !== 0 && total >= this.#maxSize) break;
        // A waiter without deadline is owed one attempt at a time, pause or
        // not (the original's rule: its creation error reaches it at once);
        // the others wait for the retry after a pause.
        const untimed = this.#waiters.untimedSize;
        const owed = this.#owed < untimed;
        const wanted = owed ||
          (!this.#pausing() &&
            (total < this.#minSize || this.#waiters.size > coming));
        if (!wanted) break;
        this.#create(owed);
      }
    } finally {
      this.#pumping = false;
    }
    this.#checkReady();
  }

  /**
   * Calls `fun` once. `owed`: started for a waiter without deadline, which
   * gets the error if it fails.
   */
  #create(owed: boolean): void {
    this.#creating++;
    if (owed) this.#owed++;
    const n = this.#ncreating++;
    // aborted at createTimeout and at shutdown: a fun that listens can end
    // its attempt (say, destroy a half-open socket) and free its slot
    const attempt = new AbortController();
    let result: T | PromiseLike<T>;
    let pending: Promise<T> | undefined;
    try {
      result = this.#fun(n, attempt.signal);
      // in the try: a `then` getter may throw too; a thenable is adopted as
      // a promise, so that a `then` that throws rejects it instead
      if (isThenable(result)) pending = Promise.resolve(result);
    } catch (err) {
      this.#createFailed(n, err, owed);
      return;
    }
    if (pending === undefined) {
      this.#created(n, result as T, owed);
      return;
    }
    this.#attempts.add(attempt);
    const ended = () => void this.#attempts.delete(attempt);
    if (this.#createTimeout === Infinity) {
      pending.then(
        (obj) => {
          ended();
          this.#created(n, obj, owed);
        },
        (err) => {
          ended();
          this.#createFailed(n, err, owed);
        },
      );
      return;
    }
    let late = false;
    // after shutdown, a creation that lands is closed anyway (#created):
    // its timer may go
    const stop = () => globalThis.clearTimeout(timer);
    this.#stoppers.add(stop);
    const timer = backgroundTimeout(
      () => {
        late = true;
        this.#stoppers.delete(stop);
        // given up, but still running: it keeps its place toward maxSize
        // until it ends, as its object may still come
        this.#abandoned++;
        const error = new CreationError(
          `fun did not settle within createTimeout (${
            ms(this.#createTimeout)
          })`,
        );
        attempt.abort(error);
        this.#createFailed(n, error, owed);
      },
      this.#createTimeout,
      undefined,
    );
    const lateEnd = () => {
      this.#abandoned--;
      this.#pump();
    };
    pending.then(
      (obj) => {
        ended();
        if (!late) {
          globalThis.clearTimeout(timer);
          this.#stoppers.delete(stop);
          return this.#created(n, obj, owed);
        }
        // the slot was given up: close what arrived, never leak it
        this.#ncreated++;
        this.#log.warn(
          `object #${n} arrived after createTimeout; closing it`,
        );
        this.#closeLoose(obj, n, "late");
        lateEnd();
      },
      (err) => {
        ended();
        if (!late) {
          globalThis.clearTimeout(timer);
          this.#stoppers.delete(stop);
          return this.#createFailed(n, err, owed);
        }
        lateEnd();
      },
    );
  }

  #created(n: number, obj: T, owed: boolean): void {
    this.#creating--;
    if (obj === undefined || obj === null) {
      return this.#createFailed(
        n,
        new CreationError(
          `fun returned ${obj}: it must return the object to pool`,
        ),
        owed,
        true,
      );
    }
    if (this.#entries.has(obj)) {
      return this.#createFailed(
        n,
        new CreationError(
          `fun returned an object this pool already holds (${
            this.#trace(this.#entries.get(obj)!)
          }): it must return a new object each time`,
        ),
        owed,
        true,
      );
    }
    this.#ncreated++;
    if (this.#closed) {
      if (owed) this.#owed--;
      this.#closeLoose(obj, n, "late");
      return this.#checkDrained();
    }
    this.#failures = 0;
    this.#lastCreateError = undefined;
    this.#endPause();
    const now = performance.now();
    const expires = this.#maxLifetime === 0
      ? Infinity
      : now + this.#maxLifetime * (1 - Math.random() * this.#maxLifetimeJitter);
    const e = new Entry(obj, n, now, expires);
    this.#entries.set(obj, e);
    this.#log.debug(`created ${this.#trace(e)}`);
    const opened = this.#opener === undefined
      ? undefined
      : this.#callHook("opener", this.#opener, obj);
    if (opened === undefined) {
      if (owed) this.#owed--;
      this.#makeAvailable(e, true);
      return this.#pump();
    }
    this.#opening++;
    // createTimeout covers the opener too: one that hangs (a connect() to a
    // black-holed host) must not hold a creation slot for ever
    void settleWithin(opened, this.#createTimeout, true, this.#stoppers).then(
      (r) => {
        this.#opening--;
        if (e.state === DEAD) {
          if (owed) this.#owed--;
          return this.#pump();
        }
        if (r.ok) {
          if (owed) this.#owed--;
          this.#makeAvailable(e, true);
          return this.#pump();
        }
        e.state = BUSY;
        this.#destroy(e, "late");
        this.#createFailed(
          n,
          new CreationError(
            `opener did not settle within createTimeout (${
              ms(this.#createTimeout)
            })`,
          ),
          owed,
          true,
        );
      },
    );
  }

  /**
   * A creation failed. `owed`: it was started for a waiter without
   * deadline. `counted`: `#creating` was already decremented.
   */
  #createFailed(
    n: number,
    err: unknown,
    owed: boolean,
    counted = false,
  ): void {
    if (!counted) this.#creating--;
    if (owed) this.#owed--;
    this.#ncreateErrors++;
    const cause = err instanceof CreationError && err.cause !== undefined
      ? err.cause
      : err;
    this.#lastCreateError = cause;
    if (this.#closed) return this.#checkDrained();
    const error = err instanceof CreationError
      ? new CreationError(
        `Cannot create object #${n} for pool ${this.id}: ${err.message}`,
        { cause: err },
      )
      : new CreationError(
        `Cannot create object #${n} for pool ${this.id}: ${
          message(err)
        }; is the backend up? The pool retries in the background; pass a timeout to get() to wait for it`,
        { cause: err },
      );
    // The oldest waiter without deadline is owed this error if the creation
    // was made for it (the original's rule); waiters with a deadline keep
    // waiting for the retry.
    const w = owed ? this.#waiters.shiftUntimed() : undefined;
    if (typeof w === "function") rejectVia(w, error);
    else if (w !== undefined) {
      this.#settle(w);
      w.reject(error);
    } else {
      this.#log.error(error.message);
    }
    this.#failReady(error);
    this.#backOff();
    this.#pump();
  }

  /**
   * Pauses creations after a failure. One pause per round of retries:
   * creations that fail together (up to maxCreating run at once) lengthen it
   * once, not once each, and the pause already running is kept.
   */
  #backOff(): void {
    if (this.#pausing()) return;
    this.#failures++;
    const base = Math.min(
      this.#backoffMax,
      this.#backoffInitial * 2 ** Math.min(this.#failures - 1, 30),
    );
    let pause = base / 2 + (Math.random() * base) / 2;
    // a waiter with a deadline sees a few retries before it times out
    const head = this.#waiters.peekTimed();
    if (head !== undefined) {
      pause = Math.min(pause, this.#retryCap(head.timeout));
    }
    for (const r of this.#readyWaiters) {
      if (r.timed) pause = Math.min(pause, this.#retryCap(r.timeout));
    }
    this.#pauseFor(pause);
  }

  /**
   * The longest pause a wait with this timeout should sit through: it sees
   * a few retries (about 8), not thousands, and is served soon after the
   * backend is back.
   */
  #retryCap(timeout: number): number {
    return Math.max(this.#backoffInitial, timeout / 8);
  }

  /** Shortens the current pause for a new wait with this timeout. */
  #capPause(timeout: number): void {
    const cap = this.#retryCap(timeout);
    if (
      this.#backoffUntil !== 0 && this.#backoffUntil - performance.now() > cap
    ) this.#pauseFor(cap);
  }

  /** Whether creations pause after failures (lazily ends an overdue pause). */
  #pausing(): boolean {
    if (this.#backoffUntil === 0) return false;
    if (performance.now() < this.#backoffUntil) return true;
    this.#endPause();
    return false;
  }

  #pauseFor(pause: number): void {
    if (this.#backoffTimer !== undefined) {
      globalThis.clearTimeout(this.#backoffTimer);
    }
    pause = Math.min(pause, MAX_TIMER_DELAY);
    this.#backoffUntil = performance.now() + pause;
    // without a timer (workerd's global scope) the pause ends lazily
    this.#backoffTimer = backgroundTimeout(this.#onPauseEnd, pause, undefined);
  }

  #endPause(): void {
    this.#backoffUntil = 0;
    if (this.#backoffTimer !== undefined) {
      globalThis.clearTimeout(this.#backoffTimer);
      this.#backoffTimer = undefined;
    }
  }

  readonly #onPauseEnd = (): void => {
    this.#backoffTimer = undefined;
    this.#backoffUntil = 0;
    this.#pump();
  };

  // ---------------------------------------------------------------- retiring

  /** Removes an entry from the pool and closes its object. */
  #destroy(e: Entry<T>, reason: keyof ClosedByReason): void {
    if (e.state === DEAD) return;
    if (e.state === IDLE) {
      const i = this.#idle.lastIndexOf(e);
      if (i !== -1) this.#idle.splice(i, 1);
    } else if (e.state === USING) {
      this.#nusing--;
    }
    e.state = DEAD;
    this.#entries.delete(e.obj);
    this.#log.debug(`closing ${this.#trace(e)} (${reason})`);
    this.#closeLoose(e.obj, e.n, reason);
    this.#checkDrained();
  }

  /** Calls the closer on an object that is no longer in the pool. */
  #closeLoose(obj: T, n: number, reason: keyof ClosedByReason): void {
    this.#ndestroys++;
    this.#closedBy[reason]++;
    if (reason === "wornout") this.#nwornout++;
    else if (reason === "recycled") this.#nrecycled++;
    else if (reason === "killed") this.#nkilled++;
    else if (reason === "health") this.#badHealth++;
    if (this.#closer === undefined) return;
    const done = this.#callHook("closer", this.#closer, obj, n);
    if (done !== undefined) {
      this.#closing.add(done);
      void done.then(() => this.#closing.delete(done));
    }
  }

  /**
   * Calls a hook; logs what it throws. Returns a promise only when the hook
   * returned one, so that sync hooks stay sync.
   */
  #callHook(
    name: string,
    hook: Hook<T>,
    obj: T,
    n?: number,
  ): Promise<void> | undefined {
    const failed = (err: unknown) => {
      this.#log.error(
        `${name} threw on ${
          n !== undefined ? `object #${n}` : this.#traceObj(obj)
        }: ${message(err)}`,
      );
    };
    try {
      const r = hook(obj);
      if (isThenable(r)) return Promise.resolve(r).then(() => {}, failed);
    } catch (err) {
      failed(err);
    }
    return undefined;
  }

  /**
   * Runs `getter`, `retter` or `reset` on an entry under the pool's own
   * work, within `hookTimeout`: `OK`, `THREW` (logged) or `HUNG`; a promise
   * of it only when the hook returned one, so that sync hooks stay sync.
   */
  #boundHook(
    name: "getter" | "retter" | "reset",
    hook: Hook<T>,
    e: Entry<T>,
    fatal: boolean,
  ): number | Promise<number> {
    const threw = (err: unknown): number => {
      this.#log.error(
        fatal
          ? `${name} failed on ${this.#trace(e)}, closing it: ${message(err)}`
          : `${name} threw on ${this.#trace(e)}: ${message(err)}`,
      );
      return THREW;
    };
    let r: void | PromiseLike<void>;
    try {
      r = hook(e.obj);
      if (!isThenable(r)) return OK;
    } catch (err) {
      return threw(err);
    }
    return settleWithin(r, this.#hookTimeout, true, this.#stoppers).then(
      (settled) => {
        if (settled.ok) return OK;
        if (!this.#closed) {
          this.#log.error(
            `${name} of ${this.#trace(e)} did not settle within hookTimeout (${
              ms(this.#hookTimeout)
            }); closing it`,
          );
        }
        return HUNG;
      },
      threw,
    );
  }

  /**
   * Runs `health` or `check` on an entry under the pool's own work: good
   * unless it says `false`, throws, rejects or exceeds `healthTimeout`. A
   * promise only when the hook returned one.
   */
  #isGood(
    e: Entry<T>,
    hook: CheckHook<T>,
    name: "health" | "check",
  ): boolean | Promise<boolean> {
    if (name === "health") this.#nhealth++;
    const failed = (err: unknown): boolean => {
      if (name === "health") this.#hcErrors++;
      this.#log.error(`${name} threw on ${this.#trace(e)}: ${message(err)}`);
      return false;
    };
    const judge = (value: boolean | void): boolean => {
      if (value !== false) return true;
      this.#log.warn(`${name} says ${this.#trace(e)} is bad`);
      return false;
    };
    let r: boolean | void | PromiseLike<boolean | void>;
    try {
      r = hook(e.obj);
      if (!isThenable(r)) return judge(r);
    } catch (err) {
      return failed(err);
    }
    return settleWithin(r, this.#healthTimeout, true, this.#stoppers).then(
      (settled) => {
        if (settled.ok) return judge(settled.value);
        if (this.#closed) return false; // cut short by shutdown
        if (name === "health") this.#hcErrors++;
        this.#log.error(
          `${name} of ${this.#trace(e)} took longer than healthTimeout (${
            ms(this.#healthTimeout)
          }); counting it as bad`,
        );
        return false;
      },
      failed,
    );
  }

  // ------------------------------------------------------------ housekeeping

  readonly #onHousekeepingTick = (): void => {
    if (!this.#hkRunning) void this.#housekeep();
  };

  /**
   * One housekeeping round: warn about or kill objects held too long,
   * recycle idle ones above `minSize`, retire old ones, check health every
   * `healthFreq` rounds, refill to `minSize`.
   */
  async #housekeep(): Promise<void> {
    this.#hkRunning = true;
    const start = performance.now();
    this.#hkDue = start + this.#delay;
    this.#hkLast = start;
    this.#hkRounds++;
    try {
      this.#watchUsing(start);
      this.#retireIdle(start);
      if (
        this.#health !== undefined && this.#hkRounds % this.#healthFreq === 0
      ) {
        await this.#healthRound();
      }
    } catch (err) {
      this.#hkErrors++;
      this.#log.error(`housekeeping round failed: ${message(err)}`);
    } finally {
      this.#hkTime += performance.now() - start;
      this.#hkRunning = false;
      this.#pump();
    }
  }

  #watchUsing(now: number): void {
    const warn = this.#maxUsingDelay;
    const kill = this.#maxUsingDelayKill;
    if (warn === 0 && kill === 0) return;
    for (const e of [...this.#entries.values()]) {
      if (e.state !== USING) continue;
      const held = now - e.lastGet;
      if (kill !== 0 && held >= kill) {
        this.#log.warn(
          `killing ${this.#trace(e)}: held for ${
            ms(held)
          }, over maxUsingDelayKill (${
            ms(kill)
          }); a later return of it will be ignored${
            e.stack !== undefined ? `; it was taken at:\n${e.stack}` : ""
          }`,
        );
        this.#destroy(e, "killed");
      } else if (warn !== 0 && held >= warn && !e.warned) {
        e.warned = true;
        this.#log.warn(
          `${this.#trace(e)} held for ${ms(held)}, over maxUsingDelay (${
            ms(warn)
          })${e.stack !== undefined ? `; it was taken at:\n${e.stack}` : ""}`,
        );
      }
    }
  }

  #retireIdle(now: number): void {
    if (this.#maxLifetime !== 0) {
      for (const e of [...this.#idle]) {
        if (now >= e.expires) this.#destroy(e, "lifetime");
      }
    }
    if (this.#maxAvailDelay !== 0) {
      // oldest idle first: the idle stack's bottom
      for (const e of [...this.#idle]) {
        if (this.#entries.size <= this.#minSize) break;
        if (now - e.lastRet >= this.#maxAvailDelay) {
          this.#destroy(e, "recycled");
        }
      }
    }
  }

  async #healthRound(): Promise<void> {
    this.#hcRounds++;
    for (const e of [...this.#idle]) {
      if (this.#closed) break;
      if (e.state !== IDLE) continue; // lent meanwhile
      this.#idle.splice(this.#idle.indexOf(e), 1);
      e.state = BUSY;
      this.#nborrows++;
      const good = await this.#isGood(e, this.#health!, "health");
      this.#nreturns++;
      if (good) this.#makeAvailable(e);
      else this.#destroy(e, "health");
    }
  }

  // ------------------------------------------------------------------ sizing

  /**
   * Resolves once `minSize` objects exist, for services that should not
   * accept work before their backend is reachable. Without timeout it fails
   * at the first creation error; with one, it rides out failures until then.
   *
   * @param options `timeout` and `signal`.
   * @returns Resolves when `minSize` objects exist.
   * @throws {CreationError} Without timeout: a creation failed.
   * @throws {TimeoutError} Not ready in time; `cause` is the last creation
   * error.
   * @throws {PoolError} The pool was shut down.
   *
   * @example Wait for the backend at start-up
   * ```ts
   * import assert from "node:assert/strict";
   * import { Pool } from "./mod.ts";
   *
   * const pool = new Pool({ fun: async (n) => ({ n }), minSize: 2 });
   * await pool.ready({ timeout: 5000 });
   * assert(pool.stats().nobjs === 2);
   * await pool.shutdown();
   * ```
   */
  ready(options?: ReadyOptions): Promise<void> {
    let timeout = Infinity;
    let signal: AbortSignal | undefined;
    if (options !== undefined) {
      try {
        checkOptionsObject("Cannot wait for the pool", options, READY_KEYS);
        if (options.timeout !== undefined) {
          checkTimeout("Cannot wait for the pool", "timeout", options.timeout);
          timeout = options.timeout;
        }
        if (options.signal !== undefined) {
          checkSignal("Cannot wait for the pool", "signal", options.signal);
          signal = options.signal;
        }
      } catch (err) {
        return Promise.reject(err);
      }
    }
    if (this.#closed) {
      return Promise.reject(new PoolError(`Pool ${this.id} is shut down`));
    }
    if (this.#entries.size - this.#opening >= this.#minSize) {
      return Promise.resolve();
    }
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (timeout === Infinity && this.#failures > 0) {
      // the backend is failing now: without a timeout, say so at once
      return Promise.reject(
        new CreationError(
          `Pool ${this.id} not ready: ${
            this.#entries.size - this.#opening
          } of minSize ${this.#minSize} objects exist and the last creation failed: ${
            message(this.#lastCreateError)
          }; pass a timeout to ready() to wait for the backend`,
          { cause: this.#lastCreateError },
        ),
      );
    }
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    const r: ReadyWaiter = {
      resolve,
      reject,
      timed: timeout !== Infinity,
      timeout,
      timer: undefined,
      signal,
      onAbort: undefined,
    };
    this.#readyWaiters.push(r);
    if (r.timed) {
      const deadline = performance.now() + timeout;
      const onTimer = () => {
        // a timeout beyond what a timer holds takes several
        const left = deadline - performance.now();
        if (left > 0) {
          r.timer = globalThis.setTimeout(
            onTimer,
            Math.min(left, MAX_TIMER_DELAY),
          );
          return;
        }
        const cause = this.#failures > 0 ? this.#lastCreateError : undefined;
        this.#endReady(
          r,
          new TimeoutError(
            `Pool ${this.id} not ready after ${ms(timeout)}: ${
              this.#entries.size - this.#opening
            } of minSize ${this.#minSize} objects exist${
              cause !== undefined
                ? `; the last creation failed: ${message(cause)}`
                : ""
            }`,
            cause !== undefined ? { cause } : undefined,
          ),
        );
      };
      try {
        r.timer = globalThis.setTimeout(
          onTimer,
          Math.min(timeout, MAX_TIMER_DELAY),
        );
      } catch (err) {
        // no timers here (workerd's global scope): a deadline cannot be kept
        this.#endReady(r, err);
        return promise;
      }
      // as in get(): microtasks run inside setTimeout may have ended it
      if (!this.#readyWaiters.includes(r)) {
        globalThis.clearTimeout(r.timer);
        return promise;
      }
      // creations pause after failures: as for a get, see a few retries
      this.#capPause(timeout);
    }
    if (signal !== undefined) {
      r.onAbort = () => this.#endReady(r, signal.reason);
      signal.addEventListener("abort", r.onAbort);
    }
    return promise;
  }

  #endReady(r: ReadyWaiter, error?: unknown): void {
    const i = this.#readyWaiters.indexOf(r);
    if (i === -1) return;
    this.#readyWaiters.splice(i, 1);
    if (r.timer !== undefined) globalThis.clearTimeout(r.timer);
    if (r.onAbort !== undefined) {
      r.signal!.removeEventListener("abort", r.onAbort);
    }
    if (error === undefined) r.resolve();
    else r.reject(error);
  }

  #checkReady(): void {
    if (
      this.#readyWaiters.length !== 0 &&
      this.#entries.size - this.#opening >= this.#minSize
    ) {
      for (const r of [...this.#readyWaiters]) this.#endReady(r);
    }
  }

  #failReady(error: unknown): void {
    for (const r of [...this.#readyWaiters]) {
      if (!r.timed) this.#endReady(r, error);
    }
  }

  /**
   * Changes `minSize` and `maxSize` of a live pool. Growing serves waiters
   * at once; shrinking closes idle objects above the new `maxSize` now, and
   * lent ones as they come back.
   *
   * @param options The new sizes; those left out stay.
   * @throws {TypeError} A size is not a number.
   * @throws {RangeError} A size is negative or `minSize > maxSize`.
   *
   * @example Grow for a busy hour
   * ```ts
   * import assert from "node:assert/strict";
   * import { Pool } from "./mod.ts";
   *
   * const pool = new Pool({ fun: (n) => ({ n }), maxSize: 2 });
   * pool.resize({ maxSize: 10, minSize: 4 });
   * assert(pool.stats().config.maxSize === 10);
   * await pool.shutdown();
   * ```
   */
  resize(options: ResizeOptions): void {
    const what = "Cannot resize pool";
    checkOptionsObject(what, options, RESIZE_KEYS);
    const { minSize = this.#minSize, maxSize = this.#maxSize } = options;
    checkCount(what, "minSize", minSize);
    checkCount(what, "maxSize", maxSize);
    if (maxSize > 0 && minSize > maxSize) {
      throw new RangeError(
        `${what} as 'minSize' must not exceed 'maxSize' (${maxSize}): current value is ${minSize}`,
      );
    }
    this.#minSize = minSize;
    this.#maxSize = maxSize;
    if (this.#closed) return;
    if (maxSize !== 0) {
      // oldest idle first
      for (const e of [...this.#idle]) {
        if (this.#entries.size <= maxSize) break;
        this.#destroy(e, "resized");
      }
    }
    // still above maxSize: returns take the slow path that retires them
    this.#updatePlainReturn();
    this.#dispatch();
  }

  // ------------------------------------------------------------------- stats

  /** A debug name for an entry: its tracer, or its creation number. */
  #trace(e: Entry<T>): string {
    if (this.#tracer === undefined) return `object #${e.n}`;
    return `object #${e.n} (${this.#traceObj(e.obj)})`;
  }

  #traceObj(obj: T): string {
    if (this.#tracer === undefined) return show(obj);
    try {
      return String(this.#tracer(obj));
    } catch (err) {
      this.#log.error(`tracer threw: ${message(err)}`);
      return `tracer threw: ${message(err)}`;
    }
  }

  #objectStats(e: Entry<T>, now: number): ObjectStats {
    const data: ObjectStats = {
      n: e.n,
      uses: e.uses,
      age: now - e.created,
      lastGet: this.#timed && e.uses > 0 ? now - e.lastGet : null,
      lastRet: this.#timed ? now - e.lastRet : null,
    };
    const hook = this.#statsHook !== undefined
      ? "stats"
      : this.#tracer !== undefined
      ? "tracer"
      : undefined;
    try {
      if (this.#statsHook !== undefined) {
        const value = this.#statsHook(e.obj);
        // what JSON cannot hold (a BigInt, a cycle) would make String(pool)
        // and JSON.stringify(pool) throw: it is caught here, once per object
        JSON.stringify(value);
        data.stats = value;
      } else if (this.#tracer !== undefined) {
        data.trace = String(this.#tracer(e.obj));
      } else data.str = String(e.obj);
    } catch (err) {
      const what = hook === undefined ? "String()" : `${hook} hook`;
      this.#log.error(`${what} threw on object #${e.n}: ${message(err)}`);
      data.str = `${what} threw: ${message(err)}`;
    }
    return data;
  }

  /**
   * A JSON-compatible snapshot: configuration, current counts, cumulative
   * counters, housekeeping timings and per-object details (through the
   * `stats` or `tracer` hook). `String(pool)` is its JSON.
   *
   * @returns The snapshot.
   *
   * @example Monitor a pool
   * ```ts
   * import assert from "node:assert/strict";
   * import { Pool } from "./mod.ts";
   *
   * const pool = new Pool({ fun: (n) => ({ n }), minSize: 2 });
   * const s = pool.stats();
   * assert(s.nobjs === 2 && s.navail === 2 && s.ncreated === 2);
   * assert(JSON.parse(String(pool)).id === pool.id);
   * await pool.shutdown();
   * ```
   */
  stats(): PoolStats {
    const now = performance.now();
    const avail: ObjectStats[] = [];
    const using: ObjectStats[] = [];
    const busy: ObjectStats[] = [];
    for (const e of this.#entries.values()) {
      (e.state === IDLE ? avail : e.state === USING ? using : busy).push(
        this.#objectStats(e, now),
      );
    }
    return {
      id: this.id,
      started: new Date(this.#started).toISOString(),
      running: now - this.#startedPerf,
      shutdown: this.#closed,
      config: {
        minSize: this.#minSize,
        maxSize: this.#maxSize,
        timeout: this.#timeout === Infinity ? null : this.#timeout,
        maxUse: this.#maxUse,
        maxAvailDelay: this.#maxAvailDelay,
        maxUsingDelay: this.#maxUsingDelay,
        maxUsingDelayKill: this.#maxUsingDelayKill,
        healthFreq: this.#healthFreq,
        delay: this.#delay,
        maxCreating: this.#maxCreating,
        maxWaiting: this.#maxWaiting,
        maxLifetime: this.#maxLifetime,
      },
      navail: this.#idle.length,
      nusing: this.#nusing,
      nbusy: this.#entries.size - this.#idle.length - this.#nusing,
      nobjs: this.#entries.size,
      creating: this.#creating,
      nwaiting: this.#waiters.size,
      ncreating: this.#ncreating,
      ncreated: this.#ncreated,
      ncreateErrors: this.#ncreateErrors,
      nuses: this.#nuses,
      nkilled: this.#nkilled,
      nrecycled: this.#nrecycled,
      nwornout: this.#nwornout,
      nborrows: this.#nborrows,
      nreturns: this.#nreturns,
      ndestroys: this.#ndestroys,
      nhealth: this.#nhealth,
      badHealth: this.#badHealth,
      hkRounds: this.#hkRounds,
      hkErrors: this.#hkErrors,
      hcRounds: this.#hcRounds,
      hcErrors: this.#hcErrors,
      hkTime: this.#hkTime,
      hkLast: Number.isNaN(this.#hkLast) ? null : now - this.#hkLast,
      nwaits: this.#nwaits,
      waitTime: this.#timeWaits ? this.#waitTime : null,
      waitMax: this.#timeWaits ? this.#waitMax : null,
      ntimeouts: this.#ntimeouts,
      naborts: this.#naborts,
      noverloads: this.#noverloads,
      closedBy: { ...this.#closedBy },
      avail,
      using,
      busy,
    };
  }

  /**
   * The JSON of {@linkcode Pool.prototype.stats}.
   *
   * @returns JSON text.
   *
   * @example Log a pool
   * ```ts
   * import assert from "node:assert/strict";
   * import { Pool } from "./mod.ts";
   *
   * const pool = new Pool({ fun: () => ({}) });
   * assert(String(pool).startsWith("{"));
   * await pool.shutdown();
   * ```
   */
  toString(): string {
    return JSON.stringify(this.stats());
  }

  /**
   * `JSON.stringify(pool)` gives the stats.
   *
   * @returns The same as {@linkcode Pool.prototype.stats}.
   *
   * @example Embed a pool in a health endpoint
   * ```ts
   * import assert from "node:assert/strict";
   * import { Pool } from "./mod.ts";
   *
   * const pool = new Pool({ fun: () => ({}) });
   * assert(JSON.parse(JSON.stringify({ pool })).pool.nobjs === 1);
   * await pool.shutdown();
   * ```
   */
  toJSON(): PoolStats {
    return this.stats();
  }

  // ---------------------------------------------------------------- shutdown

  /**
   * Shuts the pool down: stops housekeeping, rejects pending and later `get`s
   * with {@linkcode PoolError}, closes idle objects, waits up to the timeout
   * for lent objects to come back (then closes them anyway), and waits again
   * up to the timeout for closers; what is abandoned is logged. Calling it
   * again returns the same promise. Every object is closed exactly once and
   * no timer is left behind.
   *
   * @param options `timeout` overrides the pool's `shutdownTimeout`.
   * @returns Resolves when done; never rejects.
   *
   * @example Shut down at exit
   * ```ts
   * import assert from "node:assert/strict";
   * import { Pool } from "./mod.ts";
   *
   * const closed: number[] = [];
   * const pool = new Pool({
   *   fun: (n) => ({ n }),
   *   minSize: 2,
   *   closer: (o) => void closed.push(o.n),
   * });
   * await pool.shutdown();
   * assert(closed.length === 2);
   * ```
   */
  shutdown(options?: ShutdownOptions): Promise<void> {
    if (this.#shutdownPromise !== undefined) return this.#shutdownPromise;
    let limit = this.#shutdownTimeout;
    if (options?.timeout !== undefined) {
      try {
        checkTimeout("Cannot shut down", "timeout", options.timeout);
      } catch (err) {
        return Promise.reject(err);
      }
      limit = options.timeout;
    }
    this.#shutdownPromise = this.#shutdown(limit);
    return this.#shutdownPromise;
  }

  async #shutdown(limit: number): Promise<void> {
    this.#closed = true;
    this.#updatePlainReturn();
    if (this.#hkTimer !== undefined) {
      globalThis.clearInterval(this.#hkTimer);
      this.#hkTimer = undefined;
    }
    this.#endPause();
    if (this.#deadlineTimer !== undefined) {
      globalThis.clearTimeout(this.#deadlineTimer);
      this.#deadlineTimer = undefined;
      this.#armedFor = Infinity;
    }
    const refused = () =>
      new PoolError(
        `Pool ${this.id} was shut down while this task waited for an object`,
      );
    for (const w of this.#waiters.drain()) {
      if (typeof w === "function") rejectVia(w, refused());
      else {
        this.#settle(w);
        w.reject(refused());
      }
    }
    // those being handed an object (a check or getter still runs) too
    for (const w of [...this.#handing]) {
      if (!w.settled) this.#refuse(w);
    }
    // creations still running are told to stop (what lands is closed)
    for (const attempt of [...this.#attempts]) {
      attempt.abort(
        new PoolError(`Pool ${this.id} was shut down during this creation`),
      );
    }
    for (const r of [...this.#readyWaiters]) this.#endReady(r, refused());
    for (const e of [...this.#idle]) this.#destroy(e, "shutdown");
    if (this.#entries.size !== 0 || this.#creating !== 0) {
      const drained = new Promise<void>((resolve) => this.#drained = resolve);
      const done = await settleWithin(drained, limit, false);
      this.#drained = undefined;
      if (!done.ok) {
        const left = [...this.#entries.values()];
        this.#log.warn(
          `shutdown: ${left.length} objects not given back within ${
            ms(limit)
          }, closing them anyway: ${
            left.map((e) => this.#trace(e)).join(", ")
          }${
            this.#creating !== 0
              ? `; ${this.#creating} creations still running will be closed when they end`
              : ""
          }`,
        );
        for (const e of left) this.#destroy(e, "shutdown");
      }
    }
    // checks and creations still running lose their timers (their objects
    // are closed already, or will be when they land)
    for (const stop of [...this.#stoppers]) stop();
    if (this.#closing.size !== 0) {
      const pending = this.#closing.size;
      const done = await settleWithin(
        Promise.all(this.#closing),
        limit,
        false,
      );
      if (!done.ok) {
        this.#log.warn(
          `shutdown: abandoned ${this.#closing.size} of ${pending} closers still running after ${
            ms(limit)
          }`,
        );
      }
    }
    this.#log.info("shut down");
  }

  #checkDrained(): void {
    if (
      this.#drained !== undefined && this.#entries.size === 0 &&
      this.#creating === 0
    ) this.#drained();
  }

  /**
   * Same as {@linkcode Pool.prototype.shutdown}, for `await using`.
   *
   * @returns Resolves when the pool is shut down.
   *
   * @example A pool bound to a scope
   * ```ts
   * import { Pool } from "./mod.ts";
   *
   * {
   *   await using pool = new Pool({ fun: () => ({}) });
   *   await pool.use(() => {});
   * } // shut down here
   * ```
   */
  [Symbol.asyncDispose](): Promise<void> {
    return this.shutdown();
  }
}

// how a hook under a time limit ended
const OK = 0;
const THREW = 1;
const HUNG = 2;

// how an object comes back
const NORMAL = 0;
const SUSPECT = 1; // a use() callback threw: check health before lending
const BROKEN = 2; // the borrower says it is broken: close it
