// The pause after failed creations, and what the pool knows of an outage.
//
// After a creation fails, the pool pauses before it tries again: a base
// that doubles with each round of failures (backoffInitial, 2×, 4×… up to
// backoffMax), with jitter in [base/2, base]. Creations that fail together
// (up to maxCreating run at once) lengthen the pause once, not once each,
// and a pause already running is kept. A waiter with a deadline caps the
// pause at an eighth of its timeout (at least backoffInitial), so that it
// sees a few retries, not one, and is served soon after the backend is back.
//
// It also keeps the outage itself: since when creations fail, how many
// attempts failed since, and the last error, the `cause` of a TimeoutError.
// The pool logs one line when an outage begins and one when it ends.

import { backgroundTimeout, MAX_TIMER_DELAY } from "./_timers.ts";

/** The pause between rounds of failed creations, and the outage it is in. */
export class Backoff {
  readonly #initial: number;
  readonly #max: number;
  /** Called when a pause ends on its timer: the pool tries again. */
  readonly #onEnd: () => void;
  /** Rounds of failures since the last success: the exponent. */
  #rounds = 0;
  /** When the current pause ends (`performance.now()` time), 0 for none. */
  #until = 0;
  #timer: ReturnType<typeof setTimeout> | undefined = undefined;
  /** When creations started failing, -1 while they do not. */
  #since = -1;
  #failures = 0;
  #lastError: unknown = undefined;

  constructor(initial: number, max: number, onEnd: () => void) {
    this.#initial = initial;
    this.#max = max;
    this.#onEnd = onEnd;
  }

  /** Whether creations fail now (since the last success). */
  get failing(): boolean {
    return this.#since !== -1;
  }

  /** The last creation error of this outage (`undefined` when none). */
  get lastError(): unknown {
    return this.#lastError;
  }

  /** Failed attempts since the outage began. */
  get failures(): number {
    return this.#failures;
  }

  /** Milliseconds since the outage began (0 when none). */
  get duration(): number {
    return this.#since === -1 ? 0 : performance.now() - this.#since;
  }

  /** Milliseconds left in the current pause (0 when none). */
  get left(): number {
    return this.#until === 0 ? 0 : Math.max(0, this.#until - performance.now());
  }

  /**
   * A creation failed: starts a pause unless one runs, capped by `cap` (the
   * shortest timeout of those who wait). Returns whether this failure began
   * an outage.
   */
  failed(err: unknown, cap: number): boolean {
    const first = this.#since === -1;
    if (first) this.#since = performance.now();
    this.#failures++;
    this.#lastError = err;
    if (!this.pausing()) {
      this.#rounds++;
      const base = Math.min(
        this.#max,
        this.#initial * 2 ** Math.min(this.#rounds - 1, 30),
      );
      this.#pauseFor(Math.min(base / 2 + (Math.random() * base) / 2, cap));
    }
    return first;
  }

  /** A creation succeeded: the outage (if any) and its pause end. */
  succeeded(): void {
    this.#rounds = 0;
    this.#since = -1;
    this.#failures = 0;
    this.#lastError = undefined;
    this.stop();
  }

  /**
   * The longest pause a wait with this timeout should sit through: a few
   * retries (about 8), not thousands, and served soon after the backend is
   * back.
   */
  capFor(timeout: number): number {
    return Math.max(this.#initial, timeout / 8);
  }

  /** Shortens the current pause for a new wait with this timeout. */
  capTo(timeout: number): void {
    const cap = this.capFor(timeout);
    if (this.#until !== 0 && this.#until - performance.now() > cap) {
      this.#pauseFor(cap);
    }
  }

  /** Whether creations pause now; ends an overdue pause lazily. */
  pausing(): boolean {
    if (this.#until === 0) return false;
    if (performance.now() < this.#until) return true;
    this.stop();
    return false;
  }

  /** Ends the current pause, and its timer (shutdown, success). */
  stop(): void {
    this.#until = 0;
    if (this.#timer !== undefined) {
      globalThis.clearTimeout(this.#timer);
      this.#timer = undefined;
    }
  }

  #pauseFor(pause: number): void {
    if (this.#timer !== undefined) globalThis.clearTimeout(this.#timer);
    pause = Math.min(pause, MAX_TIMER_DELAY);
    this.#until = performance.now() + pause;
    // without a timer (workerd's global scope) the pause ends lazily
    this.#timer = backgroundTimeout(this.#ended, pause, undefined);
  }

  readonly #ended = (): void => {
    this.#timer = undefined;
    this.#until = 0;
    this.#onEnd();
  };
}
