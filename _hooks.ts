// Running the user's hooks: each call is bounded by a time limit, ends one
// of four ways, and what went wrong is logged here, once:
// - OK: it returned or resolved (for a check: anything but `false`);
// - BAD: a check returned or resolved `false`;
// - THREW: it threw or rejected;
// - HUNG: it did not settle within its limit, or the pool stopped waiting
//   for it at shutdown (then nothing is logged: shutdown closes it anyway).
// The pool turns outcomes into policy (close the object, count a health
// error), as it does the verdict of the `isBroken` classifier, also read
// here (`brokenVerdict`). A hook that returns no promise is never waited
// for: sync hooks stay sync, at no cost beyond the call. Closers are not
// bounded here: they are kept until they settle, so that shutdown can wait
// for them (within its own limit).
//
// A hook that declares a second parameter receives an AbortSignal that
// aborts when the pool gives up on it (its limit passed: a DOMException
// named "TimeoutError"; shutdown stopped waiting: one named "AbortError"),
// so that it can end what it started (destroy a socket that a black-holed
// network keeps open). The signal is made only for hooks that declare it:
// the others cost nothing more.

import type { Logger } from "./logger.ts";
import { settleWithin } from "./_timers.ts";
import { isThenable, message, ms, show } from "./_validate.ts";

export const OK = 0;
export const BAD = 1;
export const THREW = 2;
export const HUNG = 3;

/** How a hook's run ended: `OK`, `BAD`, `THREW` or `HUNG`. */
export type Outcome = 0 | 1 | 2 | 3;

/** One kind of hook: how it is bounded, judged and reported. */
export interface HookKind {
  /** Its option name ("getter", "health"…), for messages. */
  readonly name: string;
  /** Its time limit in ms, and the option that sets it. */
  readonly limit: number;
  readonly limitName: string;
  /** A check: `false` means bad. */
  readonly judge: boolean;
  /** A failure closes its object ("closing it" in the message). */
  readonly fatal: boolean;
}

/** The kinds of hook a pool runs on its objects. */
export interface HookKinds {
  getter: HookKind;
  retter: HookKind;
  reset: HookKind;
  health: HookKind;
  check: HookKind;
}

/**
 * The kinds of hook, with their limits: `getter`, `retter` and `reset`
 * within `hookTimeout` (a failed `reset` closes its object); `health` and
 * `check` within `healthTimeout`, judged.
 */
export function hookKinds(
  hookTimeout: number,
  healthTimeout: number,
): HookKinds {
  const kind = (name: string, judge: boolean, fatal = false): HookKind => ({
    name,
    limit: judge ? healthTimeout : hookTimeout,
    limitName: judge ? "healthTimeout" : "hookTimeout",
    judge,
    fatal,
  });
  return {
    getter: kind("getter", false),
    retter: kind("retter", false),
    reset: kind("reset", false, true),
    health: kind("health", true),
    check: kind("check", true),
  };
}

/**
 * Runs hooks within limits, logs their failures, and cuts every wait short
 * when the pool shuts down. `C` is what a message names the object by (the
 * pool's entry for it); `describe` renders it.
 */
export class HookRunner<C> {
  readonly #log: Logger;
  readonly #describe: (about: C) => string;
  /** Ends each bounded wait still running (as if its limit passed). */
  readonly #stoppers = new Set<() => void>();
  /** Closers still running, with the controller of their signal, if any. */
  readonly #closing = new Map<Promise<unknown>, AbortController | undefined>();
  #stopped = false;

  constructor(log: Logger, describe: (about: C) => string) {
    this.#log = log;
    this.#describe = describe;
  }

  /** Whether the pool stopped waiting for hooks (shutdown). */
  get stopped(): boolean {
    return this.#stopped;
  }

  /**
   * Runs `hook(obj)` within its kind's limit. Returns the outcome, or a
   * promise of it only when the hook returned a thenable.
   */
  run<T>(
    kind: HookKind,
    hook: (obj: T, signal: AbortSignal) => unknown,
    obj: T,
    about: C,
  ): Outcome | Promise<Outcome> {
    const ac = hook.length >= 2 ? new AbortController() : undefined;
    let r: unknown;
    let thenable: boolean;
    try {
      r = hook(obj, ac?.signal as AbortSignal);
      // in the try: a `then` getter may throw too
      thenable = isThenable(r);
    } catch (err) {
      return this.#threw(kind, about, err);
    }
    if (!thenable) return this.#judged(kind, about, r);
    return this.within(r as PromiseLike<unknown>, kind.limit).then(
      (settled) => {
        if (settled.ok) return this.#judged(kind, about, settled.value);
        const stopped = this.#stopped;
        const what = `${kind.name} of ${this.#describe(about)} did not settle ${
          stopped
            ? "before shutdown"
            : `within ${kind.limitName} (${ms(kind.limit)})`
        }`;
        ac?.abort(giveUp(what, stopped));
        if (!stopped) {
          this.#log.error(
            `${what}; ${kind.judge ? "counting it as bad" : "closing it"}`,
          );
        }
        return HUNG;
      },
      (err) => this.#threw(kind, about, err),
    );
  }

  #judged(kind: HookKind, about: C, value: unknown): Outcome {
    if (!kind.judge || value !== false) return OK;
    this.#log.warn(`${kind.name} says ${this.#describe(about)} is bad`);
    return BAD;
  }

  #threw(kind: HookKind, about: C, err: unknown): Outcome {
    this.#log.error(
      `${kind.name} ${kind.fatal ? "failed" : "threw"} on ${
        this.#describe(about)
      }${kind.fatal ? ", closing it" : ""}: ${message(err)}`,
    );
    return THREW;
  }

  /**
   * Settles with `promise` (`ok`), or `ok: false` once `limit` ms passed or
   * the runner was stopped, whichever comes first.
   */
  within<V>(
    promise: PromiseLike<V>,
    limit: number,
  ): Promise<{ ok: true; value: V } | { ok: false }> {
    return settleWithin(promise, limit, true, this.#stoppers);
  }

  /**
   * Calls a closer on `obj`; what it throws is logged. An async closer is
   * kept until it settles, for {@linkcode HookRunner.prototype.closed}.
   */
  close<T>(
    hook: (obj: T, signal: AbortSignal) => unknown,
    obj: T,
    about: C,
  ): void {
    const ac = hook.length >= 2 ? new AbortController() : undefined;
    let r: unknown;
    const threw = (err: unknown) =>
      void this.#log.error(
        `closer threw on ${this.#describe(about)}: ${message(err)}`,
      );
    let thenable: boolean;
    try {
      r = hook(obj, ac?.signal as AbortSignal);
      thenable = isThenable(r);
    } catch (err) {
      return threw(err);
    }
    if (!thenable) return;
    const done: Promise<unknown> = Promise.resolve(r).then(() => {}, threw);
    this.#closing.set(done, ac);
    void done.then(() => this.#closing.delete(done));
  }

  /** Ends every bounded wait now: they end as `HUNG`, not logged. */
  stop(): void {
    this.#stopped = true;
    for (const stop of [...this.#stoppers]) stop();
  }

  /**
   * Resolves once every closer running now has settled (`done`), or after
   * `limit` ms: then each closer still running has its signal aborted, and
   * the pool waits one more turn of the event loop for those that end at
   * once (a closer that destroys its socket when aborted); `left` is how
   * many still run, of how many (`of`).
   */
  async closed(
    limit: number,
  ): Promise<{ done: boolean; left: number; of: number }> {
    const of = this.#closing.size;
    if (of === 0) return { done: true, left: 0, of };
    const done = await settleWithin(
      Promise.all(this.#closing.keys()),
      limit,
      false,
    );
    if (done.ok) return { done: true, left: 0, of };
    const reason = giveUp(
      `shutdown stopped waiting for closers after ${ms(limit)}`,
      true,
    );
    let aborted = false;
    for (const ac of this.#closing.values()) {
      if (ac !== undefined) {
        ac.abort(reason);
        aborted = true;
      }
    }
    // closers that listen end now, or within a few turns
    if (aborted) {
      await settleWithin(Promise.all(this.#closing.keys()), 0, false);
    }
    return { done: this.#closing.size === 0, left: this.#closing.size, of };
  }
}

/**
 * What the `isBroken` classifier says of an object whose work threw `err`:
 * `true`, broken (the pool closes it); `false`, the work's fault (the
 * object is reused as it is); `undefined`, it cannot tell. Its throwing, or
 * returning anything else, is logged and counts as `undefined` (the pool
 * then treats the object as suspect).
 */
export function brokenVerdict<T>(
  isBroken: (err: unknown, obj: T) => unknown,
  err: unknown,
  obj: T,
  log: Logger,
): boolean | undefined {
  let verdict: unknown;
  try {
    verdict = isBroken(err, obj);
  } catch (thrown) {
    log.error(
      `isBroken threw: ${message(thrown)}; treating the object as suspect`,
    );
    return undefined;
  }
  if (typeof verdict === "boolean" || verdict === undefined) return verdict;
  log.error(
    `isBroken returned ${
      show(verdict)
    }: it must return true, false or undefined; treating the object as suspect`,
  );
  return undefined;
}

/**
 * The reason a hook's signal aborts with: a DOMException named
 * "TimeoutError" when its limit passed (as `AbortSignal.timeout()` gives),
 * "AbortError" when shutdown stopped waiting.
 */
function giveUp(message: string, stopped: boolean): DOMException {
  return new DOMException(
    `the pool gave up on this hook: ${message}`,
    stopped ? "AbortError" : "TimeoutError",
  );
}
