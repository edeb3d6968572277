/**
 * The {@linkcode Pool}: a pool of expensive-to-create objects (database
 * connections, clients, workers) shared safely between concurrent tasks.
 *
 * For whoever changes it (DESIGN.md says more): each object has an `Entry`
 * (`_entry.ts`) in one of four states, IDLE (on the idle stack), USING
 * (lent), BUSY (under the pool's own work: a hook, a check) and DEAD
 * (closed). This class holds the policy and that state machine; the
 * mechanisms with state of their own are beside it: the waiter queue, the
 * deadline timer and the watch on signals (`_waiters.ts`), the pending
 * `ready()` calls (`_ready.ts`), one creation (`_creation.ts`), the pause
 * after failures (`_backoff.ts`), running hooks within limits
 * (`_hooks.ts`), the housekeeping schedule (`_housekeeper.ts`); and so are
 * pure functions of what it hands them: an object's and the configuration's
 * part of `stats()` (`_stats.ts`), the TimeoutError that says why nothing
 * came (`_timeout.ts`). It reads top-down: state, lending (`get` and
 * `ret`, their fast paths together), waiting, creation, retirement, hooks,
 * housekeeping, `ready` and `resize`, stats, shutdown.
 *
 * @module
 */

import {
  CreationError,
  OverloadError,
  PoolError,
  type TimeoutError,
} from "./errors.ts";
import { filterLogger, type Logger } from "./logger.ts";
import { Lease } from "./lease.ts";
import {
  type GetOptions,
  housekeepingDelay,
  isPlainWait,
  optionWarnings,
  type PoolOptions,
  type ReadyOptions,
  type ResizeOptions,
  type ResolvedPoolOptions,
  resolvePoolOptions,
  resolveResizeOptions,
  resolveRetOptions,
  resolveShutdownOptions,
  resolveWaitOptions,
  type RetOptions,
  type ShutdownOptions,
} from "./options.ts";
import type { ClosedByReason, ObjectStats, PoolStats } from "./stats.ts";
import {
  rejectVia,
  type Resolve,
  Waiter,
  WaiterQueue,
  WatchedWaiter,
  Watches,
} from "./_waiters.ts";
import { configStats, noneClosed, objectStats } from "./_stats.ts";
import { timeoutError } from "./_timeout.ts";
import { Backoff } from "./_backoff.ts";
import { ReadyWaits } from "./_ready.ts";
import { internals, type Limiter, type PoolObserver } from "./_internals.ts";
import { BUSY, DEAD, Entry, IDLE, takeIdle, USING } from "./_entry.ts";
import { Housekeeper } from "./_housekeeper.ts";
import { Creation, type CreationSink } from "./_creation.ts";
import {
  brokenVerdict,
  type HookKinds,
  hookKinds,
  HookRunner,
  HUNG,
  OK,
  type Outcome,
  THREW,
} from "./_hooks.ts";
import { settleWithin } from "./_timers.ts";
import { checkFunction, isThenable, message, ms, show } from "./_validate.ts";

// How an object comes back.
const NORMAL = 0;
const SUSPECT = 1; // its borrower hit an error: check health before lending
const BROKEN = 2; // the borrower says it is broken: close it
const FAILED = 3; // the work with it threw this error: ask isBroken

const WHAT = "Cannot create pool";
let poolCount = 0;

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

  // ------------------------------------------------------------------ state

  /** The options, checked, with their defaults. */
  readonly #config: ResolvedPoolOptions<T>;
  // read by the hot paths and waits: direct fields
  #minSize: number;
  #maxSize: number;
  readonly #timeout: number;
  readonly #maxUse: number;
  readonly #maxCreating: number;
  readonly #maxWaiting: number;
  readonly #maxLifetime: number;
  readonly #captureStacks: boolean;
  readonly #timeWaits: boolean;
  /** The housekeeping period (0: none). */
  readonly #delay: number;
  readonly #log: Logger;
  // what the configuration lets the hot paths skip, decided once
  /** `get` may hand an idle object out synchronously (no getter, no check). */
  readonly #plainGet: boolean;
  /** `ret` may put an object back synchronously (no retter, no reset). */
  readonly #plainRet: boolean;
  /**
   * A `get` without timeout or signal waits as a bare resolve function:
   * lending is plain and there is nothing to record (stack, wait time).
   */
  #bareWaits: boolean;
  /** Lending needs nothing beyond counters (no clock, no stack). */
  #plainLend: boolean;
  /**
   * A return needs nothing beyond counters: no hook, no clock, no lifetime,
   * not shut down, not above maxSize after a resize.
   */
  #plainReturn = false;
  /** Record last get/ret times (a timing feature needs them). */
  #timed: boolean;
  /** What the options alone ask of #timed (an observer asks it too). */
  readonly #timedByConfig: boolean;
  /** Hears the moments metrics need (see `observe`); none by default. */
  #observer: PoolObserver | undefined = undefined;
  /** Shares a limit on objects with other pools (see `limit`). */
  #limiter: Limiter | undefined = undefined;

  // objects
  readonly #entries = new Map<T, Entry<T>>();
  /** Idle objects, most recently returned last (LIFO keeps them warm). */
  readonly #idle: Entry<T>[] = [];
  /** The entry lent last: `ret` checks it before the map (a hint). */
  #lastLent: Entry<T> | undefined = undefined;
  #nusing = 0;
  /** Lent or busy entries reported dead (`evict`): closed when back. */
  #doomed = 0;
  // waits
  readonly #waiters = new WaiterQueue<T>();
  /**
   * What ends waits (gets, ready()) besides being served: deadlines, under
   * one timer (in workerd, a timer each), and signals.
   */
  readonly #watches = new Watches<T>(
    (now) => {
      if (this.#timed) this.#overdue(now);
    },
    (now) => {
      if (this.#timed) this.#overdue(now);
      this.#pump();
    },
    () => this.#closed,
  );
  /** Waiters being handed an object (through check, getter). */
  readonly #handing = new Set<Waiter<T>>();
  /** Pending `ready()` calls. */
  readonly #ready = new ReadyWaits<T>(
    this.#watches,
    (timeout) =>
      this.#timedOut(
        `Pool ${this.id} not ready after ${ms(timeout)}: ${
          this.#entries.size - this.#opening
        } of minSize ${this.#minSize} objects exist`,
      ),
  );
  // creations
  /** Creations under way (fun, then the opener), oldest first. */
  readonly #creations = new Set<Creation<T>>();
  /** Calls of `fun` running. */
  #creating = 0;
  /** Creations given up after createTimeout whose `fun` still runs. */
  #abandoned = 0;
  /** Created objects whose async `opener` still runs: not lendable yet. */
  #opening = 0;
  /** Creations running for waiters without deadline (owed their error). */
  #owed = 0;
  #pumping = false;
  readonly #backoff: Backoff;
  readonly #hooks: HookRunner<Entry<T> | number>;
  /** How each hook is bounded, judged and reported. */
  readonly #kinds: HookKinds;
  readonly #keeper: Housekeeper;
  // shutdown
  #closed = false;
  #shutdownPromise: Promise<void> | undefined = undefined;
  #drained: (() => void) | undefined = undefined;
  readonly #started = Date.now();
  readonly #startedPerf = performance.now();

  // counters (those that are sums of closedBy are computed by stats())
  #ncreating = 0;
  #ncreated = 0;
  #ncreateErrors = 0;
  #nuses = 0;
  #nborrows = 0;
  #nreturns = 0;
  #nhealth = 0;
  #hcRounds = 0;
  #hcErrors = 0;
  #nwaits = 0;
  #waitTime = 0;
  #waitMax = 0;
  #ntimeouts = 0;
  #naborts = 0;
  #noverloads = 0;
  readonly #closedBy: ClosedByReason = noneClosed();

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
    const o = resolvePoolOptions(options, WHAT);
    this.#config = o;
    this.id = o.name ?? `pool-${++poolCount}`;
    this.#maxSize = o.maxSize;
    this.#minSize = o.minSize;
    this.#timeout = o.timeout;
    this.#maxUse = o.maxUse;
    this.#maxCreating = o.maxCreating;
    this.#maxWaiting = o.maxWaiting;
    this.#maxLifetime = o.maxLifetime;
    this.#captureStacks = o.captureStacks;
    this.#timeWaits = o.timeWaits;
    this.#log = filterLogger(o.logger, o.logLevel, `[${this.id}] `);
    this.#backoff = new Backoff(
      o.backoffInitial,
      o.backoffMax,
      () => this.#pump(),
    );
    this.#hooks = new HookRunner<Entry<T> | number>(
      this.#log,
      (about) =>
        typeof about === "number" ? `object #${about}` : this.#trace(about),
    );
    this.#kinds = hookKinds(o.hookTimeout, o.healthTimeout);
    this.#plainGet = !o.getter && !o.check && o.maxLifetime === 0;
    this.#plainRet = !o.retter && !o.reset;
    // in workerd every wait needs a timer of its own (see OwnTimers)
    this.#bareWaits = this.#plainGet && !o.timeWaits && !o.captureStacks &&
      !this.#watches.ownTimers;
    for (const warning of optionWarnings(o)) this.#log.warn(warning);
    this.#delay = housekeepingDelay(o);
    this.#timed = this.#timedByConfig = o.maxAvailDelay > 0 ||
      o.maxUsingDelay > 0 ||
      o.maxUsingDelayKill > 0 ||
      (o.check !== undefined && o.checkBypass > 0) || this.#delay > 0;
    this.#plainLend = !this.#timed && !o.captureStacks;
    this.#updatePlainReturn();
    this.#keeper = new Housekeeper(this.#delay, this.#housekeep, this.#log);
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
    // timer, no listener, one promise (made once per object).
    if (
      idle.length !== 0 && this.#plainGet &&
      (options === undefined || isPlainWait(options))
    ) {
      // (plainGet means no maxLifetime: no object here can have expired)
      const e = idle.pop()!;
      if (this.#plainLend) {
        e.state = USING;
        e.uses++;
        this.#nusing++;
        this.#nuses++;
        this.#lastLent = e;
      } else this.#lendIdle(e);
      return e.lent ??= Promise.resolve(e.obj);
    }
    return this.#getSlow(options);
  }

  /**
   * The fast path's lending when it needs more than counters (a clock, a
   * stack, an observer): out of `get`, which stays small enough to inline.
   */
  #lendIdle(e: Entry<T>): void {
    this.#lend(
      e,
      this.#captureStacks ? new Error("taken here").stack : undefined,
    );
    if (this.#observer !== undefined) this.#observer.waited(0);
  }

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
   * const next = await pool.get();
   * assert(next.n === 1);
   * pool.ret(next);
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
    return this.#retSlow(obj, options);
  }

  #retSlow(obj: T, options: RetOptions | undefined): void | Promise<void> {
    // refused before anything changes: the object stays lent to its caller
    const how = resolveRetOptions(options);
    return this.#giveBack(
      obj,
      how === SUSPECT && this.#config.health === undefined ? NORMAL : how,
    );
  }

  #getSlow(options: GetOptions | undefined): Promise<T> {
    let timeout = this.#timeout;
    let signal: AbortSignal | undefined;
    if (options !== undefined) {
      // plain options are read as they are: no object made to check them
      if (isPlainWait(options)) {
        if (options.timeout !== undefined) timeout = options.timeout;
        signal = options.signal;
      } else {
        try {
          ({ timeout, signal } = resolveWaitOptions(
            "Cannot get an object",
            options,
            timeout,
          ));
        } catch (err) {
          return Promise.reject(err);
        }
      }
    }
    if (this.#closed) return Promise.reject(this.#shutDown(false));
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
    // a round overdue (no background timer here, as in workerd) may free an
    // object held too long: run it before queueing
    if (this.#timed) this.#overdue(performance.now());
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
    const w = timeout === Infinity && signal === undefined &&
        !this.#watches.ownTimers
      ? new Waiter<T>(resolve)
      : new WatchedWaiter<T>(resolve, timeout, signal, this.#onWaitEnd);
    if (this.#timeWaits || w.watched || this.#observer !== undefined) {
      w.since = performance.now();
    }
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
    checkFunction("Cannot use an object", "fn", fn);
    const obj = await this.get(options);
    // the lend this use() made: it gives back that one, and no other
    const e = this.#lentEntry(obj);
    const lend = e.uses;
    let result: R | PromiseLike<R>;
    try {
      // a sync fn, and a sync return, cost no extra turn
      result = fn(obj);
      if (isThenable(result)) result = await result;
    } catch (err) {
      // the caller gets its error now; the object's check goes on in the
      // background, and no one gets the object before it ends
      this.#background(
        this.#giveBackLend(e, lend, this.#afterFailure(err, obj), "use()"),
      );
      throw err;
    }
    this.#background(this.#giveBackLend(e, lend, NORMAL, "use()"));
    return result as R;
  }

  /**
   * Lets the pool's own work on a returned object (retter, reset, a health
   * check, a closer) go on without its borrower waiting for it. It never
   * rejects; were it to, the error is logged, not lost.
   */
  #background(work: void | Promise<void>): void {
    if (work !== undefined) work.then(undefined, this.#lost);
  }

  readonly #lost = (err: unknown): void =>
    this.#log.error(`giving an object back failed: ${message(err)}`);

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
    const obj = await this.get(options);
    const e = this.#lentEntry(obj);
    const lend = e.uses;
    return new Lease(obj, (how, err) => {
      const back = this.#giveBackLend(
        e,
        lend,
        how === FAILED ? this.#afterFailure(err, obj) : how,
        "a lease",
      );
      this.#background(back);
      return back;
    });
  }

  /**
   * Reports that an object died on its own (its connection was reset, its
   * server went away), so that no one borrows it again. An idle object is
   * closed and removed at once, and the pool refills to `minSize`; a lent
   * one (or one under the pool's own work) is closed when it comes back,
   * instead of being lent again. An object the pool does not hold, or
   * closed already, is left alone. Wire it to the object's own events: a
   * `pg` client's `error` and `end`, a socket's `close`.
   *
   * @param obj The object that died.
   * @returns Whether the pool held it (and closes it, now or when back).
   *
   * @example Idle connections that die are replaced before anyone gets them
   * ```ts
   * import assert from "node:assert/strict";
   * import { Pool } from "./mod.ts";
   *
   * const pool: Pool<EventTarget> = new Pool({
   *   fun: () => {
   *     const conn = new EventTarget();
   *     conn.addEventListener("end", () => pool.evict(conn));
   *     return conn;
   *   },
   * });
   * const first = await pool.get();
   * pool.ret(first);
   * first.dispatchEvent(new Event("end")); // the server hung up
   * assert.equal(pool.stats().closedBy.evicted, 1);
   * const second = await pool.get();
   * assert.notEqual(second, first); // a new connection
   * pool.ret(second);
   * await pool.shutdown();
   * ```
   */
  evict(obj: T): boolean {
    const e = this.#entries.get(obj);
    if (e === undefined || e.state === DEAD) return false;
    if (e.state === IDLE) {
      this.#log.debug(`${this.#trace(e)} reported dead while idle`);
      this.#destroy(e, "evicted");
      this.#pump();
      return true;
    }
    if (!e.evicted) {
      // lent, or under the pool's own work: closed when it is back
      e.evicted = true;
      this.#doomed++;
      this.#plainReturn = false;
    }
    return true;
  }

  /**
   * How an object comes back after work with it threw `err`: what the
   * `isBroken` classifier says (true: broken, closed at once; false: the
   * work's fault, reused as it is), else suspect (through `health`).
   */
  #afterFailure(err: unknown, obj: T): number {
    const isBroken = this.#config.isBroken;
    const broken = isBroken !== undefined
      ? brokenVerdict(isBroken, err, obj, this.#log)
      : undefined;
    if (broken === true) return BROKEN;
    return broken === false || this.#config.health === undefined
      ? NORMAL
      : SUSPECT;
  }

  /** The entry of an object just lent (the last one lent, most often). */
  #lentEntry(obj: T): Entry<T> {
    const e = this.#lastLent;
    return e !== undefined && e.obj === obj ? e : this.#entries.get(obj)!;
  }

  /**
   * Gives back the object of one lend, made by `use()` or a lease, unless
   * that lend already ended: its object given back meanwhile (by `ret`),
   * and perhaps lent to someone else since, is not given back again.
   */
  #giveBackLend(
    e: Entry<T>,
    lend: number,
    how: number,
    who: string,
  ): void | Promise<void> {
    if (e.state === USING && e.uses === lend) {
      // suspect means "check before reuse": without health, nothing to do
      return this.#giveBack(
        e.obj,
        how === SUSPECT && this.#config.health === undefined ? NORMAL : how,
      );
    }
    this.#log.warn(
      `${who} did not give back ${this.#trace(e)}: ${
        e.state === DEAD
          ? "it was closed meanwhile (killed for being held past maxUsingDelayKill, or by shutdown)"
          : e.state === USING
          ? "it was given back already (by ret()) and is now lent to another borrower"
          : "it was given back already (by ret())"
      }; give an object back once: by ret() after get(), or by the end of use() or of the lease, not both`,
    );
  }

  #giveBack(obj: T, how: number): void | Promise<void> {
    let now = 0;
    if (this.#timed) {
      now = performance.now();
      // before the lookup: a round that kills this object makes it foreign
      this.#overdue(now);
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
      if (this.#observer !== undefined) this.#observer.used(now - e.lastGet);
      if (e.warned) {
        this.#log.warn(
          `${this.#trace(e)} came back after ${ms(e.lastRet - e.lastGet)}`,
        );
      }
    }
    if (how === BROKEN || e.evicted) {
      e.state = BUSY;
      return this.#close(e, e.evicted ? "evicted" : "broken");
    }
    // a limit shared with other pools may give this object's room to a pool
    // that has no object at all, rather than to this one's next waiter
    if (
      this.#limiter !== undefined && this.#waiters.size !== 0 &&
      this.#limiter.yields()
    ) {
      e.state = BUSY;
      return this.#close(e, "evicted");
    }
    if (this.#plainRet && how === NORMAL) return this.#makeAvailable(e);
    e.state = BUSY;
    return this.#giveBackSlow(e, how);
  }

  /** A return through retter, reset, and health if suspect. */
  async #giveBackSlow(e: Entry<T>, how: number): Promise<void> {
    const { retter, reset } = this.#config;
    if (retter !== undefined) {
      let done = this.#hooks.run(this.#kinds.retter, retter, e.obj, e);
      if (typeof done !== "number") done = await done;
      // closed meanwhile (shutdown gave up waiting for it): nothing to do
      if (e.state === DEAD) return;
      if (done === HUNG) return this.#close(e, "hook");
    }
    if (reset !== undefined) {
      let done = this.#hooks.run(this.#kinds.reset, reset, e.obj, e);
      if (typeof done !== "number") done = await done;
      if (e.state === DEAD) return;
      if (done !== OK) return this.#close(e, "reset");
    }
    if (how === SUSPECT && this.#config.health !== undefined && !this.#closed) {
      let good = this.#isGood(e, true);
      if (typeof good !== "boolean") good = await good;
      if (e.state === DEAD) return;
      if (!good) return this.#close(e, "health");
    }
    this.#makeAvailable(e);
  }

  #badReturn(obj: T, e: Entry<T> | undefined): void {
    let what: string;
    try {
      const tracer = this.#config.tracer;
      what = tracer !== undefined
        ? String(tracer(obj))
        : e !== undefined
        ? this.#trace(e)
        : show(obj);
    } catch (err) {
      what = `an object (tracer threw: ${message(err)})`;
    }
    this.#log.warn(
      e !== undefined
        ? `ignoring the return of ${what}: it is not lent out (returned twice?)`
        : this.#closed
        ? `ignoring the return of ${what}: the pool is shut down and closed every object it held (this one when shutdown stopped waiting for it, or it is foreign)`
        : `ignoring the return of ${what}: this pool does not hold it (returned twice, killed for being held too long, or from another pool)`,
    );
  }

  /**
   * An entry is available again: retire it if due, else hand it to the
   * oldest waiter, else keep it idle.
   */
  #makeAvailable(e: Entry<T>, fresh = false): void {
    // closed meanwhile (shutdown gave up waiting for it): closed once only
    if (e.state === DEAD) return;
    e.state = BUSY; // a returned entry was already counted out of nusing
    if (this.#closed) return this.#destroy(e, "shutdown");
    if (e.evicted) return this.#close(e, "evicted");
    if (this.#maxUse !== 0 && e.uses >= this.#maxUse) {
      return this.#close(e, "wornout");
    }
    if (this.#maxSize !== 0 && this.#entries.size > this.#maxSize) {
      this.#destroy(e, "resized");
      this.#updatePlainReturn();
      return this.#pump();
    }
    if (this.#maxLifetime !== 0 && performance.now() >= e.expires) {
      return this.#close(e, "lifetime");
    }
    const w = this.#waiters.shift();
    if (w !== undefined) return this.#handTo(e, w, fresh);
    e.state = IDLE;
    this.#idle.push(e);
    // a shared limit may close it to make room for another pool's waiter
    if (this.#limiter !== undefined) this.#limiter.idle(e.obj);
  }

  /** Whether `ret` may take its fast path (see #plainReturn). */
  #updatePlainReturn(): void {
    this.#plainReturn = this.#plainRet && !this.#timed &&
      this.#maxLifetime === 0 && !this.#closed && this.#doomed === 0 &&
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
      if (!late) this.#overdue(now);
    }
  }

  /** Undoes `#lend` for an entry its waiter never got. */
  #unlend(e: Entry<T>): void {
    e.state = BUSY;
    e.uses--;
    this.#nusing--;
    this.#nuses--;
  }

  /** Whether a new waiter may be served now: an object idle, or room. */
  #mayDispatch(): boolean {
    return this.#idle.length !== 0 || this.#maxSize === 0 ||
      this.#entries.size + this.#creating + this.#abandoned < this.#maxSize;
  }

  /** Serves waiters from idle objects, then starts the creations needed. */
  #dispatch(): void {
    while (this.#waiters.size !== 0) {
      const e = this.#popIdle();
      if (e === undefined) break;
      const w = this.#waiters.shift();
      if (w === undefined) {
        // retiring expired objects refilled the pool, and a new object
        // served the last waiter meanwhile: this one stays available
        this.#makeAvailable(e);
        break;
      }
      this.#handTo(e, w);
    }
    this.#pump();
  }

  /** Takes the idle object lent next, retiring expired ones on the way. */
  #popIdle(): Entry<T> | undefined {
    let e = this.#idle.pop();
    if (e === undefined || this.#maxLifetime === 0) return e;
    const now = performance.now();
    if (now < e.expires) return e;
    while (e !== undefined && now >= e.expires) {
      e.state = BUSY; // off the idle stack already
      this.#destroy(e, "lifetime");
      e = this.#idle.pop();
    }
    this.#pump();
    return e;
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
      if (this.#observer !== undefined) {
        this.#observer.waited(performance.now() - w.since);
      }
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
    if (
      this.#config.check !== undefined && !fresh &&
      performance.now() - e.lastRet >= this.#config.checkBypass
    ) {
      let good = this.#isGood(e, false);
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
    // The check may have taken a while: a waiter that gave up meanwhile
    // takes nothing, and after shutdown began nothing is lent (the waiter is
    // refused like those still queued, the object closed).
    if (this.#gaveUp(w) || e.state === DEAD || e.evicted) {
      this.#handing.delete(w);
      // (destroyed, not refilled yet: requeue puts the waiter back in its
      // place first, then refills, first come, first served)
      if (e.evicted) this.#destroy(e, "evicted");
      if (e.state === DEAD) return this.#requeue(w);
      return this.#makeAvailable(e);
    }
    this.#lend(e, w.stack, true);
    const getter = this.#config.getter;
    if (getter !== undefined) {
      let done = this.#hooks.run(this.#kinds.getter, getter, e.obj, e);
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
      if (e.evicted) {
        // reported dead meanwhile: the waiter needs another
        this.#handing.delete(w);
        this.#unlend(e);
        this.#destroy(e, "evicted");
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
    if (this.#observer !== undefined) {
      this.#observer.waited(performance.now() - w.since);
    }
    w.resolve(e.obj);
    // the round #lend left for now, the waiter being served
    if (this.#timed) this.#overdue(performance.now());
  }

  // ---------------------------------------------------------------- waiting

  /**
   * Starts watching a wait's deadline and signal (a get, or `ready()`).
   * Returns `false` when it ended instead: its signal aborted, or no timer
   * can be set here (workerd's global scope) for its deadline.
   */
  #watch(w: WatchedWaiter<T>): boolean {
    if (!this.#watches.watch(w)) return false;
    // creations pause after failures: make sure this wait sees retries
    if (w.timed) this.#backoff.capTo(w.timeout);
    return true;
  }

  /** Starts watching a waiter served at once whose hand-over must wait. */
  #watchLate(w: Waiter<T>): void {
    this.#countWait(w);
    if (w.watched && !w.settled) this.#watchAgain(w as WatchedWaiter<T>);
  }

  /** Watches a waiter unless it is watched already; false if it ended. */
  #watchAgain(w: WatchedWaiter<T>): boolean {
    return this.#watches.watching(w) || this.#watch(w);
  }

  /** Counts in `nwaits` a waiter served at once that has to wait after all. */
  #countWait(w: Waiter<T>): void {
    if (!w.waited) {
      w.waited = true;
      this.#nwaits++;
    }
  }

  /** Puts back in its place a waiter whose object turned out bad. */
  #requeue(w: Waiter<T>): void {
    if (!w.settled) {
      // off the queue while its object was checked, so shutdown did not
      // see it: refuse it now rather than leave it pending for ever
      if (this.#closed) this.#refuse(w);
      else if (!w.watched || this.#watchAgain(w as WatchedWaiter<T>)) {
        this.#countWait(w);
        this.#waiters.putBack(w);
      }
    }
    this.#dispatch();
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
        this.#onWaitEnd(f, false);
        return true;
      }
    }
    return false;
  }

  /** Rejects a waiter because the pool is shut down. */
  #refuse(w: Waiter<T>): void {
    this.#settle(w);
    w.reject(this.#shutDown(true));
  }

  /**
   * Detaches a waiting get from its deadline, timer and signal before
   * settling it (it is settled), and times its wait.
   */
  #settle(w: Waiter<T>): void {
    w.settled = true;
    if (w.watched) this.#watches.detach(w as WatchedWaiter<T>);
    if (this.#timeWaits) {
      const waited = performance.now() - w.since;
      this.#waitTime += waited;
      if (waited > this.#waitMax) this.#waitMax = waited;
    }
  }

  /** A waiting get's deadline passed, or its signal aborted. */
  readonly #onWaitEnd = (w: WatchedWaiter<T>, timedOut: boolean): void => {
    if (w.settled) return;
    this.#waiters.remove(w);
    this.#settle(w);
    if (!timedOut) {
      this.#naborts++;
      return w.reject(w.signal!.reason);
    }
    this.#ntimeouts++;
    if (this.#observer !== undefined) this.#observer.timedOut();
    w.reject(
      this.#timedOut(
        `Timed out after ${
          ms(w.timeout)
        } waiting for an object of pool ${this.id}`,
      ),
    );
    this.#pump();
  };

  /** The TimeoutError of a wait (`what`), saying why nothing came. */
  #timedOut(what: string): TimeoutError {
    return timeoutError(what, {
      alive: this.#entries.size,
      using: this.#nusing,
      maxSize: this.#maxSize,
      outage: this.#backoff,
      creatingSince: this.#creations.values().next().value?.started,
      limited: this.#limited(),
    });
  }

  /** The PoolError of a call, or a wait (`waited`), that shutdown refuses. */
  #shutDown(waited: boolean): PoolError {
    return new PoolError(
      `Pool ${this.id} ${
        waited ? "was shut down while this task waited" : "is shut down"
      }: it lends nothing more; create a new pool if you still need objects`,
    );
  }

  // --------------------------------------------------------------- creation

  /** Starts the creations that demand (waiters, minSize) calls for. */
  #pump(): void {
    if (this.#pumping || this.#closed) return;
    this.#pumping = true;
    try {
      for (;;) {
        // A waiter without deadline is owed one attempt at a time, pause or
        // not (the original's rule: its creation error reaches it at once).
        // A creation already under way for no one (filling to minSize, say
        // right after the constructor) becomes its attempt: no second one.
        const untimed = this.#waiters.untimedSize;
        if (
          this.#owed < untimed && this.#creations.size > this.#owed &&
          this.#adoptCreation()
        ) continue;
        // creations given up after createTimeout but still running keep
        // their place, so that maxSize holds whatever they do
        const total = this.#entries.size + this.#creating + this.#abandoned;
        // an object still being opened is still being created
        const coming = this.#creating + this.#opening;
        if (coming >= this.#maxCreating) break;
        if (this.#maxSize !== 0 && total >= this.#maxSize) break;
        // the others wait for the retry after a pause
        const owed = this.#owed < untimed;
        const wanted = owed ||
          (!this.#backoff.pausing() &&
            (total < this.#minSize || this.#waiters.size > coming));
        if (!wanted) break;
        // a limit shared with other pools (a keyed pool's maxTotal): no
        // room there, and this pool is woken when there is (see `limit`)
        if (this.#limiter !== undefined && !this.#limiter.take(this)) break;
        this.#create(owed);
      }
    } finally {
      this.#pumping = false;
    }
    // the `ready()` waits end once minSize objects exist
    if (
      this.#ready.size !== 0 &&
      this.#entries.size - this.#opening >= this.#minSize
    ) this.#ready.resolve();
  }

  /**
   * Makes a creation under way for no one owed to a waiter; false if none.
   * (Its caller first checks that one exists: iterating the set makes an
   * iterator, and a queue of waiters calls this once per waiter.)
   */
  #adoptCreation(): boolean {
    for (const c of this.#creations) {
      if (!c.owed) {
        c.owed = true;
        this.#owed++;
        return true;
      }
    }
    return false;
  }

  /**
   * Starts one creation. `owed`: for a waiter without deadline, which gets
   * the error if it fails.
   */
  #create(owed: boolean): void {
    const c = new Creation<T>(this.#ncreating++, this.#config.createTimeout);
    this.#creating++;
    if (owed) {
      c.owed = true;
      this.#owed++;
    }
    this.#creations.add(c);
    c.run(this.#config.fun, this.#creationSink);
  }

  readonly #creationSink: CreationSink<T> = {
    created: (c, obj) => this.#created(c, obj),
    failed: (c, err, what) => this.#createFailed(c, err, what),
    arrivedLate: (c, obj) => {
      // the slot was given up: close what arrived, never leak it
      this.#ncreated++;
      this.#log.warn(`object #${c.n} arrived after createTimeout; closing it`);
      this.#closeLoose(obj, c.n, "late");
      this.#creationSink.endedLate(c);
    },
    endedLate: () => {
      this.#abandoned--;
      this.#freed();
      this.#pump();
    },
  };

  /** `fun` made an object: check it, open it, make it available. */
  #created(c: Creation<T>, obj: T): void {
    this.#creating--;
    c.counted = true;
    if (obj === undefined || obj === null) {
      this.#freed();
      return this.#createFailed(
        c,
        new CreationError(
          `fun returned ${obj}: it must return the object to pool`,
        ),
        undefined,
      );
    }
    const known = this.#entries.get(obj);
    if (known !== undefined) {
      this.#freed();
      return this.#createFailed(
        c,
        new CreationError(
          `fun returned an object this pool already holds (${
            this.#trace(known)
          }): it must return a new object each time`,
        ),
        undefined,
      );
    }
    this.#ncreated++;
    if (this.#closed) {
      this.#endCreation(c);
      this.#freed();
      this.#closeLoose(obj, c.n, "late");
      return this.#checkDrained();
    }
    const now = performance.now();
    const expires = this.#maxLifetime === 0
      ? Infinity
      : now + this.#maxLifetime *
          (1 - Math.random() * this.#config.maxLifetimeJitter);
    const e = new Entry(obj, c.n, now, expires);
    this.#entries.set(obj, e);
    this.#log.debug(`created ${this.#trace(e)}`);
    const opener = this.#config.opener;
    if (opener === undefined) return this.#opened(c, e);
    // an opener that fails fails the creation, as fun does (Creation.open)
    const runsOn = c.open(opener, obj, this.#hooks, (failed, late) => {
      if (late) this.#opening--;
      if (failed === undefined) this.#opened(c, e);
      else this.#openerFailed(c, e, failed.err, failed.what);
    });
    if (runsOn) this.#opening++;
  }

  /** A creation succeeded: its object is available. */
  #opened(c: Creation<T>, e: Entry<T>): void {
    this.#endCreation(c);
    if (this.#observer !== undefined) {
      this.#observer.created(performance.now() - c.started);
    }
    // shutdown closed it while its opener ran
    if (e.state === DEAD) return this.#pump();
    if (this.#backoff.failing) {
      this.#log.warn(
        `creations succeed again, after ${
          ms(this.#backoff.duration)
        } and ${this.#backoff.failures} failed attempts`,
      );
    }
    this.#backoff.succeeded();
    this.#makeAvailable(e, true);
    this.#pump();
  }

  #openerFailed(
    c: Creation<T>,
    e: Entry<T>,
    err: unknown,
    what: string | undefined,
  ): void {
    // closed by shutdown while its opener ran: nothing failed
    if (e.state === DEAD) {
      this.#endCreation(c);
      return this.#pump();
    }
    this.#destroy(e, "opener");
    this.#createFailed(c, err, what);
  }

  /** A creation ends: it no longer counts as under way, nor as owed. */
  #endCreation(c: Creation<T>): void {
    this.#creations.delete(c);
    if (c.owed) {
      c.owed = false;
      this.#owed--;
    }
  }

  /**
   * A creation failed: `err` is what `fun` or the opener threw (`what` says
   * which), or the pool's own CreationError (no answer within
   * createTimeout, a bad return). The waiter it is owed to gets it; the
   * others wait for the retry after a pause.
   */
  #createFailed(
    c: Creation<T>,
    err: unknown,
    what: string | undefined,
  ): void {
    if (!c.counted) {
      c.counted = true;
      this.#creating--;
      // given up at createTimeout while fun still runs: it keeps its place
      // toward maxSize until it ends (#creationSink.endedLate)
      if (c.abandoned) this.#abandoned++;
      else this.#freed();
    }
    const owed = c.owed;
    this.#endCreation(c);
    this.#ncreateErrors++;
    if (this.#closed) return this.#checkDrained();
    const why = `${what !== undefined ? `${what}: ` : ""}${message(err)}`;
    // The oldest waiter without deadline is owed this error if the creation
    // was made for it (the original's rule); waiters with a deadline keep
    // waiting for the retry.
    const w = owed ? this.#waiters.shiftUntimed() : undefined;
    if (w !== undefined) {
      const error = new CreationError(
        `Cannot create object #${c.n} for pool ${this.id}: ${why}; the pool retries in the background: pass a timeout to get() to wait for the backend`,
        { cause: err },
      );
      if (typeof w === "function") rejectVia(w, error);
      else {
        this.#settle(w);
        w.reject(error);
      }
    }
    // a ready() without timeout fails with it
    this.#ready.reject(() => this.#notReady(err, why), true);
    // a wait with a deadline sees a few retries before it times out
    const cap = this.#backoff.capFor(
      Math.min(
        this.#waiters.peekTimed()?.timeout ?? Infinity,
        this.#ready.shortestTimeout(),
      ),
    );
    // one warning when creations start failing, one when they succeed
    // again (#opened): not one per retry
    if (this.#backoff.failed(err, cap)) {
      this.#log.warn(
        `cannot create objects: object #${c.n} failed: ${why}; retrying in the background, the first time in ${
          ms(this.#backoff.left)
        } (gets with a timeout wait for the backend, gets without one fail with this error)`,
      );
    } else {
      this.#log.debug(
        `creation #${c.n} failed (${this.#backoff.failures} failures in ${
          ms(this.#backoff.duration)
        }): ${why}`,
      );
    }
    this.#pump();
  }

  // ------------------------------------------------------------- retirement

  /** Closes an entry that is off the idle stack, then refills. */
  #close(e: Entry<T>, reason: keyof ClosedByReason): void {
    this.#destroy(e, reason);
    this.#pump();
  }

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
    if (e.evicted) {
      e.evicted = false;
      if (--this.#doomed === 0) this.#updatePlainReturn();
    }
    this.#entries.delete(e.obj);
    this.#freed();
    this.#log.debug(`closing ${this.#trace(e)} (${reason})`);
    this.#closeLoose(e.obj, e.n, reason);
    this.#checkDrained();
  }

  /** Calls the closer on an object that is no longer in the pool. */
  #closeLoose(obj: T, n: number, reason: keyof ClosedByReason): void {
    this.#closedBy[reason]++;
    const closer = this.#config.closer;
    if (closer !== undefined) this.#hooks.close(closer, obj, n);
  }

  /**
   * Why a shared limit keeps this pool from creating, if it does: the pool
   * is below its own maxSize and the limit says it is full.
   */
  #limited(): string | undefined {
    if (this.#limiter === undefined) return undefined;
    const total = this.#entries.size + this.#creating + this.#abandoned;
    if (this.#maxSize !== 0 && total >= this.#maxSize) return undefined;
    return this.#limiter.blocked();
  }

  /** One object (or creation) fewer: a shared limit has room again. */
  #freed(): void {
    if (this.#limiter !== undefined) this.#limiter.free();
  }

  // What a keyed pool and the metrics see of a pool (`_internals.ts`): not
  // the public API, set here where the private fields are in reach.
  static {
    internals.observe = (p, observer) => {
      const pool = p as Pool<unknown>;
      pool.#observer = observer;
      // timing a borrow needs the clock, and no bare wait or plain path
      const timed = pool.#timedByConfig || observer !== undefined;
      if (timed && !pool.#timed) {
        // lends under way began while no clock was kept: their use is
        // unknown (NaN), not the time since an older get
        for (const e of pool.#entries.values()) {
          if (e.state === USING) e.lastGet = NaN;
        }
      }
      pool.#timed = timed;
      pool.#plainLend = !pool.#timed && !pool.#captureStacks;
      pool.#bareWaits = pool.#plainGet && !pool.#timeWaits &&
        !pool.#captureStacks && !pool.#watches.ownTimers &&
        observer === undefined;
      pool.#updatePlainReturn();
    };
    internals.limit = (p, limiter) => {
      (p as Pool<unknown>).#limiter = limiter;
    };
    internals.pump = (p) => (p as Pool<unknown>).#pump();
    internals.oldestIdle = (p) => (p as Pool<unknown>).#idle[0]?.obj;
    internals.counts = (p) => {
      const pool = p as Pool<unknown>;
      return {
        idle: pool.#idle.length,
        using: pool.#nusing,
        busy: pool.#entries.size - pool.#idle.length - pool.#nusing,
        creating: pool.#creating,
        opening: pool.#opening,
        waiting: pool.#waiters.size,
        timeouts: pool.#ntimeouts,
        minSize: pool.#minSize,
        maxSize: pool.#maxSize,
        closed: pool.#closed,
      };
    };
  }

  // ------------------------------------------------------------------ hooks

  /**
   * Runs `health` or `check` on an entry under the pool's own work: good
   * unless it says `false`, throws, rejects or exceeds `healthTimeout`. A
   * promise only when the hook returned one.
   */
  #isGood(e: Entry<T>, health: boolean): boolean | Promise<boolean> {
    if (health) this.#nhealth++;
    const outcome = health
      ? this.#hooks.run(this.#kinds.health, this.#config.health!, e.obj, e)
      : this.#hooks.run(this.#kinds.check, this.#config.check!, e.obj, e);
    if (typeof outcome === "number") return this.#good(outcome, health);
    return outcome.then((o) => this.#good(o, health));
  }

  #good(outcome: Outcome, health: boolean): boolean {
    // a health check that threw or hung (not cut short) is an error
    if (
      health && (outcome === THREW || outcome === HUNG && !this.#hooks.stopped)
    ) this.#hcErrors++;
    return outcome === OK;
  }

  // ----------------------------------------------------------- housekeeping

  /**
   * Runs a housekeeping round now if one is overdue: where its timer could
   * not run it (workerd between requests), gets, returns and deadlines do.
   */
  #overdue(now: number): void {
    if (!this.#closed) this.#keeper.overdue(now);
  }

  /**
   * One housekeeping round: warn about or kill objects held too long,
   * recycle idle ones above `minSize`, retire old ones, check health every
   * `healthFreq` rounds, refill to `minSize`.
   */
  readonly #housekeep = async (now: number, round: number): Promise<void> => {
    try {
      this.#watchUsing(now);
      this.#retireIdle(now);
      if (
        this.#config.health !== undefined &&
        round % this.#config.healthFreq === 0
      ) await this.#healthRound();
    } finally {
      this.#pump();
    }
  };

  #watchUsing(now: number): void {
    const warn = this.#config.maxUsingDelay;
    const kill = this.#config.maxUsingDelayKill;
    if (warn === 0 && kill === 0) return;
    for (const e of [...this.#entries.values()]) {
      if (e.state !== USING) continue;
      const held = now - e.lastGet;
      const where = e.stack !== undefined
        ? `; it was taken at:\n${e.stack}`
        : "";
      if (kill !== 0 && held >= kill) {
        this.#log.warn(
          `killing ${this.#trace(e)}: held for ${
            ms(held)
          }, over maxUsingDelayKill (${
            ms(kill)
          }); a later return of it will be ignored${where}`,
        );
        this.#destroy(e, "killed");
      } else if (warn !== 0 && held >= warn && !e.warned) {
        e.warned = true;
        this.#log.warn(
          `${this.#trace(e)} held for ${ms(held)}, over maxUsingDelay (${
            ms(warn)
          })${where}`,
        );
      }
    }
  }

  #retireIdle(now: number): void {
    const idle = this.#idle;
    if (this.#maxLifetime !== 0) {
      for (const e of takeIdle(idle, Infinity, (e) => now >= e.expires)) {
        this.#destroy(e, "lifetime");
      }
    }
    const above = this.#entries.size - this.#minSize;
    const idleFor = this.#config.maxAvailDelay;
    if (idleFor !== 0 && above > 0) {
      const stale = (e: Entry<T>) => now - e.lastRet >= idleFor;
      for (const e of takeIdle(idle, above, stale)) {
        this.#destroy(e, "recycled");
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
      const good = await this.#isGood(e, true);
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
    let timeout: number;
    let signal: AbortSignal | undefined;
    try {
      ({ timeout, signal } = resolveWaitOptions(
        "Cannot wait for the pool",
        options,
        Infinity,
      ));
    } catch (err) {
      return Promise.reject(err);
    }
    if (this.#closed) return Promise.reject(this.#shutDown(false));
    if (this.#entries.size - this.#opening >= this.#minSize) {
      return Promise.resolve();
    }
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (timeout === Infinity && this.#backoff.failing) {
      // the backend is failing now: without a timeout, say so at once
      return Promise.reject(
        this.#notReady(
          this.#backoff.lastError,
          message(this.#backoff.lastError),
        ),
      );
    }
    // the same deadline-and-signal machinery as a waiting get
    return this.#ready.wait(timeout, signal, (w) => this.#watch(w));
  }

  /** The CreationError of a `ready()` that a creation error ends. */
  #notReady(err: unknown, why: string): CreationError {
    return new CreationError(
      `Pool ${this.id} not ready: ${
        this.#entries.size - this.#opening
      } of minSize ${this.#minSize} objects exist and a creation failed: ${why}; pass a timeout to ready() to wait for the backend`,
      { cause: err },
    );
  }

  /**
   * Changes `minSize` and `maxSize` of a live pool. Growing serves waiters
   * at once; shrinking closes idle objects above the new `maxSize` now, and
   * lent ones as they come back.
   *
   * @param options The new sizes; those left out stay.
   * @throws {TypeError} Not an object, an unknown key, or a size that is
   * not a number.
   * @throws {RangeError} A size is negative or `minSize > maxSize`.
   * @throws {PoolError} The pool is shut down.
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
    const { minSize, maxSize } = resolveResizeOptions(
      options,
      this.#minSize,
      this.#maxSize,
    );
    if (this.#closed) {
      throw new PoolError(
        `Cannot resize pool ${this.id}: it is shut down and holds no objects; create a new pool`,
      );
    }
    this.#minSize = minSize;
    this.#maxSize = maxSize;
    const excess = this.#entries.size - maxSize;
    if (maxSize !== 0 && excess > 0) {
      // oldest idle first
      for (const e of takeIdle(this.#idle, excess)) this.#destroy(e, "resized");
    }
    // still above maxSize: returns take the slow path that retires them
    this.#updatePlainReturn();
    this.#dispatch();
  }

  // ------------------------------------------------------------------- stats

  /** A debug name for an entry: its creation number, and its tracer's. */
  #trace(e: Entry<T>): string {
    const tracer = this.#config.tracer;
    if (tracer === undefined) return `object #${e.n}`;
    try {
      return `object #${e.n} (${String(tracer(e.obj))})`;
    } catch (err) {
      this.#log.error(`tracer threw: ${message(err)}`);
      return `object #${e.n} (tracer threw: ${message(err)})`;
    }
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
        objectStats(e, now, this.#timed, this.#config, this.#log),
      );
    }
    const closedBy = { ...this.#closedBy };
    let ndestroys = 0;
    for (const n of Object.values(closedBy)) ndestroys += n;
    return {
      id: this.id,
      started: new Date(this.#started).toISOString(),
      running: now - this.#startedPerf,
      shutdown: this.#closed,
      config: configStats(
        this.#config,
        this.#minSize,
        this.#maxSize,
        this.#delay,
      ),
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
      nkilled: closedBy.killed,
      nrecycled: closedBy.recycled,
      nwornout: closedBy.wornout,
      nborrows: this.#nborrows,
      nreturns: this.#nreturns,
      ndestroys,
      nhealth: this.#nhealth,
      badHealth: closedBy.health,
      hkRounds: this.#keeper.rounds,
      hkErrors: this.#keeper.errors,
      hcRounds: this.#hcRounds,
      hcErrors: this.#hcErrors,
      hkTime: this.#keeper.time,
      hkLast: Number.isNaN(this.#keeper.last) ? null : now - this.#keeper.last,
      nwaits: this.#nwaits,
      waitTime: this.#timeWaits ? this.#waitTime : null,
      waitMax: this.#timeWaits ? this.#waitMax : null,
      ntimeouts: this.#ntimeouts,
      naborts: this.#naborts,
      noverloads: this.#noverloads,
      closedBy,
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
   * @returns Resolves when done. It rejects only when `options` are wrong
   * (checked on every call, before anything happens): never because of
   * what hooks or borrowers do.
   * @throws {TypeError} `options` is not an object, has an unknown key, or
   * a `timeout` that is not a number.
   * @throws {RangeError} A negative or NaN `timeout`.
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
    let limit: number;
    try {
      // checked on every call, the first or not
      limit = resolveShutdownOptions(options, this.#config.shutdownTimeout);
    } catch (err) {
      return Promise.reject(err);
    }
    if (this.#shutdownPromise !== undefined) return this.#shutdownPromise;
    this.#shutdownPromise = this.#shutdown(limit);
    return this.#shutdownPromise;
  }

  async #shutdown(limit: number): Promise<void> {
    this.#closed = true;
    this.#updatePlainReturn();
    this.#keeper.stop();
    this.#backoff.stop();
    this.#watches.stop();
    for (const w of this.#waiters.drain()) {
      if (typeof w === "function") rejectVia(w, this.#shutDown(true));
      else this.#refuse(w);
    }
    // those being handed an object (a check or getter still runs) too
    for (const w of [...this.#handing]) {
      if (!w.settled) this.#refuse(w);
    }
    this.#ready.reject(() => this.#shutDown(true), false);
    // creations still running are told to stop (what lands is closed) and
    // lose their timers
    for (const c of [...this.#creations]) {
      c.stopTimer();
      c.attempt.abort(
        new PoolError(`Pool ${this.id} was shut down during this creation`),
      );
    }
    for (const e of takeIdle(this.#idle, Infinity)) {
      this.#destroy(e, "shutdown");
    }
    if (this.#entries.size !== 0 || this.#creating !== 0) {
      const drained = new Promise<void>((resolve) => this.#drained = resolve);
      // not a background wait: a lent object keeps the process alive
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
    // checks still running lose their timers (their objects are closed
    // already, or will be when they land)
    this.#hooks.stop();
    const closers = await this.#hooks.closed(limit);
    if (!closers.done) {
      this.#log.warn(
        `shutdown: abandoned ${closers.left} of ${closers.of} closers still running after ${
          ms(limit)
        }`,
      );
    }
    this.#log.info("shut down");
    if (this.#observer !== undefined) this.#observer.closed();
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
