// Shared test helpers: a virtual clock, a logger that records, and a fake
// backend whose objects know whether they were closed.
import FakeTimers from "@sinonjs/fake-timers";
import type { Logger } from "../mod.ts";

export type Clock = FakeTimers.Clock;

/** Installs a virtual clock (timers, Date, performance.now). */
export function fakeClock(): Clock {
  return FakeTimers.install({
    toFake: [
      "setTimeout",
      "clearTimeout",
      "setInterval",
      "clearInterval",
      "Date",
      "performance",
    ],
    shouldClearNativeTimers: true,
  });
}

/** Runs `fn` under a virtual clock, always uninstalled afterwards. */
export async function withClock<R>(
  fn: (clock: Clock) => Promise<R>,
): Promise<R> {
  const clock = fakeClock();
  try {
    return await fn(clock);
  } finally {
    clock.uninstall();
  }
}

/** A logger that keeps every message, by level. */
export function recordingLogger(): Logger & {
  lines: string[];
  at(level: string): string[];
} {
  const lines: string[] = [];
  const push = (level: string) => (m: string) =>
    void lines.push(`${level} ${m}`);
  return {
    lines,
    at: (level: string) => lines.filter((l) => l.startsWith(`${level} `)),
    debug: push("debug"),
    info: push("info"),
    warn: push("warn"),
    error: push("error"),
  };
}

/** One object of the fake backend. */
export interface Conn {
  n: number;
  closed: number;
  alive: boolean;
}

/** A fake backend: creates `Conn`s, counts closes, can go down. */
export class Backend {
  down = false;
  /** Milliseconds each creation takes (0: synchronous). */
  latency = 0;
  created: Conn[] = [];
  calls = 0;
  readonly error = new Error("connection refused");

  fun = (n: number): Conn | Promise<Conn> => {
    this.calls++;
    if (this.latency === 0) return this.make(n);
    return new Promise((resolve, reject) =>
      setTimeout(() => {
        try {
          resolve(this.make(n));
        } catch (err) {
          reject(err);
        }
      }, this.latency)
    );
  };

  make(n: number): Conn {
    if (this.down) throw this.error;
    const c: Conn = { n, closed: 0, alive: true };
    this.created.push(c);
    return c;
  }

  closer = (c: Conn): void => {
    c.closed++;
  };

  /** Connections created and not closed. */
  get open(): number {
    return this.created.filter((c) => c.closed === 0).length;
  }
}

/** Lets pending promise callbacks run (no timers advance). */
export async function flush(rounds = 10): Promise<void> {
  for (let i = 0; i < rounds; i++) await Promise.resolve();
}

/** A small seeded PRNG (mulberry32), so that a failing run can be replayed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
