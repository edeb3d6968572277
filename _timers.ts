// Timers that never keep a process alive, on every runtime.
//
// Timer functions are looked up on globalThis at each call (not captured at
// import) so that virtual clocks installed later, such as
// @sinonjs/fake-timers, drive the pool too.

type TimerId = ReturnType<typeof setTimeout>;

/** Lets the process exit while this timer is pending, where that exists. */
export function unrefTimer(id: TimerId): void {
  if (typeof id === "object" && id !== null) {
    const unref = (id as { unref?: () => void }).unref;
    if (typeof unref === "function") unref.call(id);
    return;
  }
  // Deno returns numeric ids and offers Deno.unrefTimer; browsers and
  // workerd have no such notion and need none.
  const deno = (globalThis as { Deno?: { unrefTimer?: (id: number) => void } })
    .Deno;
  if (typeof id === "number" && typeof deno?.unrefTimer === "function") {
    try {
      deno.unrefTimer(id);
    } catch {
      // a virtual clock's id is not a Deno timer: nothing to unref
    }
  }
}

/** `setTimeout` for background work: unref'd. */
export function backgroundTimeout<A>(
  fn: (arg: A) => void,
  ms: number,
  arg: A,
): TimerId {
  const id = globalThis.setTimeout(fn, ms, arg);
  unrefTimer(id);
  return id;
}

/** `setInterval` for background work: unref'd. */
export function backgroundInterval(fn: () => void, ms: number): TimerId {
  const id = globalThis.setInterval(fn, ms);
  unrefTimer(id);
  return id as TimerId;
}

/**
 * Settles with `promise`, or with `undefined` and `false` for `ok` once `ms`
 * elapsed, whichever comes first; the timer is always cleared.
 */
export function settleWithin<T>(
  promise: PromiseLike<T>,
  ms: number,
  background: boolean,
): Promise<{ ok: true; value: T } | { ok: false }> {
  if (ms === Infinity) {
    return Promise.resolve(promise).then((value) => ({ ok: true, value }));
  }
  return new Promise((resolve, reject) => {
    const id = globalThis.setTimeout(() => resolve({ ok: false }), ms);
    if (background) unrefTimer(id);
    Promise.resolve(promise).then(
      (value) => {
        globalThis.clearTimeout(id);
        resolve({ ok: true, value });
      },
      (err) => {
        globalThis.clearTimeout(id);
        reject(err);
      },
    );
  });
}

/** Largest delay `setTimeout` honours (about 24.8 days). */
export const MAX_TIMER_DELAY = 2 ** 31 - 1;
