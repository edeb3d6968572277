// What a pool knows of one object, and the four states it moves through.
// The transitions are the pool's (pool.ts); DESIGN.md draws them:
//
//   created ──► IDLE ◄──────────── ret / checks passed ──┐
//                │ get                                     │
//                ▼                                         │
//              USING ── ret with retter/reset/suspect ──► BUSY
//                │                                         │
//                └── broken, killed, shutdown ──► DEAD ◄───┘ failed, retired
//
// BUSY is the pool's own work on an object: its opener, a check or getter
// before lending, a retter, reset or health check after a return, a health
// round. No one can get a BUSY object, and it counts toward maxSize.

/** On the idle stack, ready to lend. */
export const IDLE = 0;
/** Lent to a borrower. */
export const USING = 1;
/** Under the pool's own work (hooks, checks). */
export const BUSY = 2;
/** Closed (or being closed): out of the pool for good. */
export const DEAD = 3;

/** What the pool knows of one object. */
export class Entry<T> {
  readonly obj: T;
  /** Its creation number. */
  readonly n: number;
  readonly created: number;
  /** When it must be retired (maxLifetime with jitter), or Infinity. */
  readonly expires: number;
  state: number = BUSY;
  /** Lends so far; with the entry, it names one lend (see `use`). */
  uses = 0;
  lastGet: number;
  lastRet: number;
  /** Held past maxUsingDelay and warned about. */
  warned = false;
  /** Reported dead (`evict`) while lent or busy: closed when it is back. */
  evicted = false;
  /** Where it was last taken (captureStacks). */
  stack: string | undefined = undefined;
  /**
   * A promise of `obj`, made at its first lending and reused by every `get`
   * that finds it idle: awaiting an already resolved promise is cheaper than
   * making one, or even than awaiting a plain value.
   */
  lent: Promise<T> | undefined = undefined;

  constructor(obj: T, n: number, now: number, expires: number) {
    this.obj = obj;
    this.n = n;
    this.created = now;
    this.lastGet = now;
    this.lastRet = now;
    this.expires = expires;
  }
}

/**
 * Takes off an idle stack up to `max` entries that `pred` accepts, oldest
 * first (the stack's bottom), in one pass: closing n idle objects costs
 * O(n), not O(n) each. They are BUSY, for the caller to close.
 */
export function takeIdle<T>(
  idle: Entry<T>[],
  max: number,
  pred?: (e: Entry<T>) => boolean,
): Entry<T>[] {
  const taken: Entry<T>[] = [];
  let kept = 0;
  for (let i = 0; i < idle.length; i++) {
    const e = idle[i];
    if (taken.length < max && (pred === undefined || pred(e))) {
      e.state = BUSY;
      taken.push(e);
    } else idle[kept++] = e;
  }
  idle.length = kept;
  return taken;
}
