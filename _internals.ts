// What a keyed pool and the metrics (`./otel`) see of a pool, beyond its
// public API: observing the moments metrics are made of, sharing a limit on
// objects, and cheap counts. pool.ts fills `internals` in a static block of
// `Pool`, where its private fields are in reach; nothing here is exported
// from mod.ts.

/**
 * Hears the moments a pool's metrics are made of, in milliseconds. A
 * duration the pool could not measure is NaN: a lend or a wait already
 * under way when the observer was attached, while the pool kept no clock.
 */
export interface PoolObserver {
  /** A creation succeeded (fun, then the opener) after `ms`. */
  created(ms: number): void;
  /** A get obtained an object after waiting `ms` (0: one was idle). */
  waited(ms: number): void;
  /** An object came back after being lent for `ms`. */
  used(ms: number): void;
  /** A get timed out. */
  timedOut(): void;
  /** The pool's shutdown is over: nothing more will be heard. */
  closed(): void;
}

/** A limit on objects shared by several pools (a keyed pool's maxTotal). */
export interface Limiter {
  /**
   * Whether `pool` may start a creation now (it then holds one more slot);
   * if not, the limiter wakes it (`internals.pump`) when there is room.
   */
  take(pool: object): boolean;
  /** A slot a pool held (an object or a creation) is free again. */
  free(): void;
  /**
   * An object went idle through the pool's own work (a return through
   * `#giveBack`, a creation no waiter took, a health round): the limiter
   * may close it to make room for another pool. `ret`'s fast path, which
   * puts an object back with nothing to run, does not call this: whoever
   * attaches a limiter calls `ret` itself and sees those returns.
   */
  idle(obj: unknown): void;
  /**
   * Whether an object given back to a pool with waiters should rather be
   * closed, its room going to another pool that has no object at all (so
   * that a busy pool cannot starve the others). Asked by `#giveBack`;
   * `ret`'s fast path is not: whoever attaches the limiter asks it there.
   */
  yields(): boolean;
  /**
   * Why the limit keeps a pool below its own maxSize from creating, for a
   * TimeoutError's message; `undefined` when it does not.
   */
  blocked(): string | undefined;
}

/** A pool's counts now, cheap to read. */
export interface PoolCounts {
  idle: number;
  using: number;
  busy: number;
  creating: number;
  /** Created objects whose async opener still runs. */
  opening: number;
  waiting: number;
  /** Gets that timed out since the pool started (stats' `ntimeouts`). */
  timeouts: number;
  minSize: number;
  maxSize: number;
  closed: boolean;
}

/** The internal access to a pool (`pool` is a `Pool`). */
export interface PoolInternals {
  /** Attaches an observer (`undefined` detaches it). */
  observe(pool: object, observer: PoolObserver | undefined): void;
  /** Makes the pool take its creations' slots from a shared limit. */
  limit(pool: object, limiter: Limiter): void;
  /** Lets the pool start the creations it needs (room was freed). */
  pump(pool: object): void;
  /** The pool's oldest idle object (the bottom of its idle stack). */
  oldestIdle(pool: object): unknown;
  /** The pool's counts now. */
  counts(pool: object): PoolCounts;
}

/** Filled by pool.ts when `Pool` is defined. */
export const internals: PoolInternals = {} as PoolInternals;
