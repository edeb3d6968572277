// The pending `ready()` calls of a pool: waits that end once `minSize`
// objects exist. They wait the way a get does, under a deadline and a
// signal (`Watches`); what is kept here is the set of them, and how each
// one ends: resolved together when the pool is ready, rejected at a
// creation error (those without deadline), at shutdown (all), or on their
// own, by their deadline or signal. The pool says when, and with what
// error: the counts in its messages are its own.

import { WatchedWaiter, type Watches } from "./_waiters.ts";

/** The `ready()` calls waiting for a pool's `minSize` objects. */
export class ReadyWaits<T> {
  readonly #waits = new Set<WatchedWaiter<T>>();
  readonly #watches: Watches<T>;
  readonly #timedOut: (timeout: number) => unknown;

  /**
   * @param watches Where the pool watches its waits' deadlines and signals.
   * @param timedOut The error of a wait whose deadline (`timeout` ms after
   * it began) passed.
   */
  constructor(watches: Watches<T>, timedOut: (timeout: number) => unknown) {
    this.#watches = watches;
    this.#timedOut = timedOut;
  }

  /** How many wait. */
  get size(): number {
    return this.#waits.size;
  }

  /**
   * Starts a wait. `watch` puts it under its deadline and signal, and
   * returns `false` when it ended instead (its signal aborted, or no timer
   * can be set here): it is rejected then, and not kept.
   */
  wait(
    timeout: number,
    signal: AbortSignal | undefined,
    watch: (w: WatchedWaiter<T>) => boolean,
  ): Promise<void> {
    let resolve!: (value: T) => void;
    const promise = new Promise<void>((r) => {
      resolve = r as unknown as (value: T) => void;
    });
    const w = new WatchedWaiter<T>(resolve, timeout, signal, this.#onEnd);
    w.since = performance.now();
    this.#waits.add(w);
    if (!watch(w)) this.#waits.delete(w);
    return promise;
  }

  /** The shortest timeout of those waiting; `Infinity` when none has one. */
  shortestTimeout(): number {
    let shortest = Infinity;
    for (const w of this.#waits) {
      if (w.timeout < shortest) shortest = w.timeout;
    }
    return shortest;
  }

  /** Resolves every wait: the pool is ready. */
  resolve(): void {
    for (const w of this.#take(false)) w.resolve(undefined as T);
  }

  /**
   * Rejects the waits without deadline (`untimedOnly`: a creation failed,
   * and those with one ride it out), or all of them (shutdown), each with
   * an error of its own from `error`.
   */
  reject(error: () => unknown, untimedOnly: boolean): void {
    for (const w of this.#take(untimedOnly)) w.reject(error());
  }

  /** Takes waits out, settled and no longer watched, for the caller to end. */
  #take(untimedOnly: boolean): WatchedWaiter<T>[] {
    const taken: WatchedWaiter<T>[] = [];
    for (const w of this.#waits) {
      if (untimedOnly && w.timed) continue;
      this.#waits.delete(w);
      this.#detach(w);
      taken.push(w);
    }
    return taken;
  }

  #detach(w: WatchedWaiter<T>): void {
    w.settled = true;
    this.#watches.detach(w);
  }

  /** A wait's deadline passed, or its signal aborted. */
  readonly #onEnd = (w: WatchedWaiter<T>, timedOut: boolean): void => {
    if (w.settled) return;
    this.#waits.delete(w);
    this.#detach(w);
    w.reject(timedOut ? this.#timedOut(w.timeout) : w.signal!.reason);
  };
}
