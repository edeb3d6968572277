// One creation of a pooled object: the call to `fun`, bounded by
// createTimeout, then the opener's. The pool decides when to create and
// what a result means (its counts, the waiter owed an error, the entry of
// the object); this is the attempt itself: calling `fun`, adopting what it
// returns, giving up at createTimeout (its signal aborts, so that a `fun`
// that listens can end a half-open connect), and, once given up, still
// seeing the attempt to its end, so that an object that arrives late is
// closed, never leaked, and keeps its place toward maxSize until then; then
// running the opener on what `fun` made, which fails the creation the same
// ways.

import type { HookRunner } from "./_hooks.ts";
import { backgroundTimeout } from "./_timers.ts";
import { isThenable, ms } from "./_validate.ts";
import { CreationError } from "./errors.ts";

/** What a creation tells its pool. */
export interface CreationSink<T> {
  /** `fun` made `obj` in time. */
  created(c: Creation<T>, obj: T): void;
  /**
   * `fun` failed: threw or rejected (`what` says so), or did not settle
   * within createTimeout (`err` is then the pool's own CreationError).
   */
  failed(c: Creation<T>, err: unknown, what: string | undefined): void;
  /** Given up at createTimeout, `fun` made `obj` after all: close it. */
  arrivedLate(c: Creation<T>, obj: T): void;
  /** Given up at createTimeout, `fun` settled at last. */
  endedLate(c: Creation<T>): void;
}

/**
 * How an opener failed: what it threw (`what` says so), or the pool's own
 * CreationError when it did not settle within createTimeout.
 */
export interface OpenFailure {
  err: unknown;
  what: string | undefined;
}

/** One creation under way: `fun`, then (the pool's) opener. */
export class Creation<T> {
  /** The creation number, `fun`'s first argument. */
  readonly n: number;
  /** `performance.now()` when `fun` was called. */
  readonly started: number;
  /** Aborts at createTimeout and at shutdown: `fun`'s signal. */
  readonly attempt: AbortController = new AbortController();
  /** Made for (or adopted by) a waiter without deadline: it gets the error. */
  owed = false;
  /** An async `fun` still runs, not given up yet. */
  running = false;
  /** Counted out of the pool's creations running (fun ended, or given up). */
  counted = false;
  /** Given up at createTimeout while `fun` still runs: it may yet land. */
  abandoned = false;
  /** How long `fun` may take, and then the opener. */
  readonly #createTimeout: number;
  #timer: ReturnType<typeof setTimeout> | undefined = undefined;

  /**
   * @param n The creation number, `fun`'s first argument.
   * @param createTimeout How long `fun` may take, and then the opener.
   */
  constructor(n: number, createTimeout: number) {
    this.n = n;
    this.#createTimeout = createTimeout;
    this.started = performance.now();
  }

  /**
   * Calls `fun(n, signal)` and tells `sink` how it ended: synchronously for
   * a sync `fun`, else when its promise settles or createTimeout passes.
   */
  run(
    fun: (n: number, signal: AbortSignal) => T | PromiseLike<T>,
    sink: CreationSink<T>,
  ): void {
    const createTimeout = this.#createTimeout;
    let pending: Promise<T>;
    try {
      const result = fun(this.n, this.attempt.signal);
      if (!isThenable(result)) return sink.created(this, result);
      // in the try: a `then` getter may throw too; a thenable is adopted as
      // a promise, so that a `then` that throws rejects it instead
      pending = Promise.resolve(result);
    } catch (err) {
      return sink.failed(this, err, "fun threw");
    }
    this.running = true;
    if (createTimeout !== Infinity) {
      this.#timer = backgroundTimeout(
        () => {
          this.#timer = undefined;
          this.abandoned = true;
          this.running = false;
          const error = new CreationError(
            `fun did not settle within createTimeout (${createTimeout} ms)`,
          );
          this.attempt.abort(error);
          sink.failed(this, error, undefined);
        },
        createTimeout,
        undefined,
      );
    }
    pending.then(
      (obj) => {
        if (this.abandoned) return sink.arrivedLate(this, obj);
        this.#end();
        sink.created(this, obj);
      },
      (err) => {
        if (this.abandoned) return sink.endedLate(this);
        this.#end();
        sink.failed(this, err, "fun threw");
      },
    );
  }

  /**
   * Runs the opener on the object `fun` made, with the creation's signal.
   * An object whose opener fails is not usable: the creation fails, as when
   * `fun` fails: a sync throw, a rejection, or no answer within
   * createTimeout (a connect() to a black-holed host must not hold a
   * creation slot for ever; the signal then aborts). `hooks` bounds the
   * wait, so that shutdown ends it too. `done` hears how it ended (`failed`
   * undefined: it succeeded), at once for a sync opener, else `late`, and
   * `open` returns whether it runs on.
   */
  open(
    opener: (obj: T, signal: AbortSignal) => void | PromiseLike<void>,
    obj: T,
    hooks: Pick<HookRunner<unknown>, "within">,
    done: (failed: OpenFailure | undefined, late: boolean) => void,
  ): boolean {
    const createTimeout = this.#createTimeout;
    let opening: void | PromiseLike<void>;
    try {
      opening = opener(obj, this.attempt.signal);
    } catch (err) {
      done({ err, what: "opener threw" }, false);
      return false;
    }
    if (!isThenable(opening)) {
      done(undefined, false);
      return false;
    }
    hooks.within(opening, createTimeout).then(
      (r) => {
        if (r.ok) return done(undefined, true);
        const err = new CreationError(
          `opener did not settle within createTimeout (${ms(createTimeout)})`,
        );
        this.attempt.abort(err);
        done({ err, what: undefined }, true);
      },
      (err) => done({ err, what: "opener threw" }, true),
    );
    return true;
  }

  /** Clears the createTimeout timer: shutdown leaves no timer behind. */
  stopTimer(): void {
    if (this.#timer !== undefined) {
      globalThis.clearTimeout(this.#timer);
      this.#timer = undefined;
    }
  }

  #end(): void {
    this.running = false;
    this.stopTimer();
  }
}
