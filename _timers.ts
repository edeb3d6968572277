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

/**
 * `setTimeout` for background work: unref'd. Returns `undefined` where
 * timers cannot be set here (Cloudflare workerd's global scope).
 */
export function backgroundTimeout<A>(
  fn: (arg: A) => void,
  ms: number,
  arg: A,
): TimerId | undefined {
  let id: TimerId;
  try {
    id = globalThis.setTimeout(fn, Math.min(ms, MAX_TIMER_DELAY), arg);
  } catch {
    return undefined;
  }
  unrefTimer(id);
  return id;
}

/**
 * `setInterval` for background work: unref'd. Returns `undefined` where
 * timers cannot be set here (Cloudflare workerd's global scope): the caller
 * then works lazily.
 */
export function backgroundInterval(
  fn: () => void,
  ms: number,
): TimerId | undefined {
  let id: TimerId;
  try {
    id = globalThis.setInterval(fn, Math.min(ms, MAX_TIMER_DELAY)) as TimerId;
  } catch {
    return undefined;
  }
  unrefTimer(id);
  return id;
}

/**
 * Settles with `promise`, or with `undefined` and `false` for `ok` once `ms`
 * elapsed, whichever comes first; the timer is always cleared. With
 * `stoppers`, the wait also registers there a function that ends it at once
 * (as if `ms` elapsed), so that its owner can cut every wait short, e.g. at
 * shutdown.
 */
export function settleWithin<T>(
  promise: PromiseLike<T>,
  ms: number,
  background: boolean,
  stoppers?: Set<() => void>,
): Promise<{ ok: true; value: T } | { ok: false }> {
  if (ms === Infinity && stoppers === undefined) {
    return Promise.resolve(promise).then((value) => ({ ok: true, value }));
  }
  return new Promise((resolve, reject) => {
    let id: TimerId | undefined;
    const done = () => {
      if (id !== undefined) globalThis.clearTimeout(id);
      stoppers?.delete(stop);
    };
    const stop = () => {
      done();
      resolve({ ok: false });
    };
    if (ms !== Infinity) {
      // a longer wait ends at the timer's limit (about 24.8 days)
      id = globalThis.setTimeout(stop, Math.min(ms, MAX_TIMER_DELAY));
      if (background) unrefTimer(id);
    }
    stoppers?.add(stop);
    Promise.resolve(promise).then(
      (value) => {
        done();
        resolve({ ok: true, value });
      },
      (err) => {
        done();
        reject(err);
      },
    );
  });
}

/** Largest delay `setTimeout` honours (about 24.8 days). */
export const MAX_TIMER_DELAY = 2 ** 31 - 1;

/**
 * Whether this is Cloudflare's workerd (Workers, wrangler dev, Miniflare 3+),
 * where a timer lives only as long as the request that set it.
 * `navigator.userAgent` is "Cloudflare-Workers" there since the
 * `global_navigator` flag (default from compatibility date 2022-03-21);
 * `WebSocketPair`, a global of workerd alone, covers `no_global_navigator`.
 */
export function inWorkerd(): boolean {
  const g = globalThis as {
    navigator?: { userAgent?: unknown };
    WebSocketPair?: unknown;
  };
  return g.navigator?.userAgent === "Cloudflare-Workers" ||
    typeof g.WebSocketPair === "function";
}
