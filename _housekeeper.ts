// The housekeeping schedule: a round every `delay` ms on a background timer
// that never keeps the process alive, and the figures stats() reports
// (rounds, failed rounds, time spent, when the last one began). What a
// round does is the pool's policy (its `round` callback). Where timers stop
// between requests (Cloudflare workerd) or cannot start (its global scope),
// the pool asks `overdue(now)` from its gets, returns and deadlines, which
// runs a round that its timer did not run in time.

import type { Logger } from "./logger.ts";
import { backgroundInterval } from "./_timers.ts";
import { message, ms } from "./_validate.ts";

/** Runs housekeeping rounds every `delay`, one at a time. */
export class Housekeeper {
  readonly #delay: number;
  readonly #round: (now: number, n: number) => void | Promise<void>;
  readonly #log: Logger;
  /** When the next round is due (`performance.now()` time). */
  #due = Infinity;
  #timer: ReturnType<typeof setInterval> | undefined = undefined;
  #running = false;
  #stopped = false;
  /** Rounds run, rounds that threw, ms spent, when the last one began. */
  rounds = 0;
  errors = 0;
  time = 0;
  last = NaN;

  /**
   * @param delay The period in ms; 0 for no housekeeping.
   * @param round One round's work, at `now`, the `n`th round; it may be
   * async, and the next one waits for it.
   * @param log Where a failed round is reported.
   */
  constructor(
    delay: number,
    round: (now: number, n: number) => void | Promise<void>,
    log: Logger,
  ) {
    this.#delay = delay;
    this.#round = round;
    this.#log = log;
    if (delay === 0) return;
    this.#due = performance.now() + delay;
    this.#timer = backgroundInterval(this.#tick, delay);
    log.info(
      this.#timer !== undefined
        ? `housekeeping every ${ms(delay)}`
        : `no timer here: housekeeping runs when gets and returns find a round overdue (every ${
          ms(delay)
        })`,
    );
  }

  /** Runs a round now if one is overdue (its timer did not run it). */
  overdue(now: number): void {
    if (now >= this.#due && !this.#running && !this.#stopped) {
      void this.#run();
    }
  }

  /** Stops for good (shutdown). */
  stop(): void {
    this.#stopped = true;
    if (this.#timer !== undefined) {
      globalThis.clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }

  readonly #tick = (): void => {
    // a timer fires late, and a get or return in between may have run this
    // tick's round as overdue: run no second one right after it (half a
    // period allows for a timer that fires a little early)
    if (performance.now() < this.#due - this.#delay / 2) return;
    if (!this.#running && !this.#stopped) void this.#run();
  };

  async #run(): Promise<void> {
    this.#running = true;
    const start = performance.now();
    this.#due = start + this.#delay;
    this.last = start;
    this.rounds++;
    try {
      await this.#round(start, this.rounds);
    } catch (err) {
      this.errors++;
      this.#log.error(`housekeeping round failed: ${message(err)}`);
    } finally {
      this.time += performance.now() - start;
      this.#running = false;
    }
  }
}
