// Test helpers to watch promises and signals without waiting on them.

/** A promise whose outcome can be read synchronously. */
export interface Tracked<T> {
  readonly promise: Promise<T>;
  /** Whether it settled (fulfilled or rejected). */
  settled: boolean;
  /** Whether it was rejected. */
  rejected: boolean;
  value: T | undefined;
  error: unknown;
}

/**
 * Watches `promise`: its outcome is readable after the microtasks ran (call
 * `flush()` or tick the clock). A rejection is handled, never unhandled.
 */
export function track<T>(promise: Promise<T>): Tracked<T> {
  const t: Tracked<T> = {
    promise,
    settled: false,
    rejected: false,
    value: undefined,
    error: undefined,
  };
  promise.then(
    (value) => {
      t.settled = true;
      t.value = value;
    },
    (error) => {
      t.settled = true;
      t.rejected = true;
      t.error = error;
    },
  );
  return t;
}

/** A real AbortSignal whose listener calls are counted. */
export function spiedSignal(): {
  controller: AbortController;
  signal: AbortSignal;
  added: number;
  removed: number;
} {
  const controller = new AbortController();
  const signal = controller.signal;
  const spy = { controller, signal, added: 0, removed: 0 };
  const add = signal.addEventListener.bind(signal);
  const remove = signal.removeEventListener.bind(signal);
  Object.defineProperty(signal, "addEventListener", {
    configurable: true,
    value: (...args: Parameters<AbortSignal["addEventListener"]>) => {
      spy.added++;
      return add(...args);
    },
  });
  Object.defineProperty(signal, "removeEventListener", {
    configurable: true,
    value: (...args: Parameters<AbortSignal["removeEventListener"]>) => {
      spy.removed++;
      return remove(...args);
    },
  });
  return spy;
}

/** What `shutdownOn` needs of a virtual clock. */
interface Ticker {
  tickAsync(ms: number): Promise<unknown>;
}

/**
 * Shuts `pool` down while advancing the virtual `clock`, so that a shutdown
 * waiting for lent objects or closers cannot hang a failed test. Throws if
 * it did not end within `budget` virtual milliseconds.
 */
export async function shutdownOn(
  clock: Ticker,
  pool: { shutdown(): Promise<void> },
  budget = 60_000,
): Promise<void> {
  const t = track(pool.shutdown());
  await clock.tickAsync(0);
  for (let spent = 0; !t.settled && spent < budget; spent += 100) {
    await clock.tickAsync(100);
  }
  if (!t.settled) throw new Error(`shutdown did not end within ${budget} ms`);
  if (t.rejected) throw t.error;
}
