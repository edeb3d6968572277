// The queue of tasks waiting for an object: first come, first served, with
// O(1) enqueue, dequeue and removal (abort, timeout), whatever its length.
//
// Waiters are intrusive doubly-linked nodes kept in two lists, those with a
// deadline and those without, each in arrival order. Serving takes the older
// of the two heads (by arrival number), so the two lists together are one
// FIFO; a failed creation can still reach the oldest waiter *without*
// deadline in O(1), which is the one owed that error (SPEC §3).

/**
 * One pending `get`. Those without deadline nor signal, the common case, are
 * this small class; the others are {@linkcode WatchedWaiter}s. With 100,000
 * tasks waiting, every byte here is 100 KB of heap the collector walks.
 */
export class Waiter<T> {
  prev: Waiter<T> | null = null;
  next: Waiter<T> | null = null;
  /** The list holding this waiter, `null` once it left the queue. */
  list: WaiterList<T> | null = null;
  /** Arrival number, for FIFO order across both lists. */
  seq = 0;
  /** `performance.now()` at arrival, for deadlines and wait times. */
  since = 0;
  /** Set once resolved or rejected: a settled waiter never settles again. */
  settled = false;
  /** Where the `get` was called (captureStacks). */
  stack: string | undefined = undefined;
  /** Settles the `get`; rejecting goes through it too (see `reject`). */
  readonly resolve: (value: T) => void;
  /** Whether it is a {@linkcode WatchedWaiter} (a deadline or a signal). */
  readonly watched: boolean;
  /** Whether it has a deadline. */
  readonly timed: boolean;

  constructor(resolve: (value: T) => void, watched = false, timed = false) {
    this.resolve = resolve;
    this.watched = watched;
    this.timed = timed;
  }

  /**
   * Rejects the `get`. Only `resolve` is kept (a promise's reject function
   * would be one more object per waiter): resolving with a thenable that
   * rejects rejects the promise, two microtasks later, on this rare path.
   */
  reject(reason: unknown): void {
    this.resolve(new Rejection(reason) as unknown as T);
  }
}

/** A thenable that rejects with its reason. */
class Rejection {
  readonly #reason: unknown;

  constructor(reason: unknown) {
    this.#reason = reason;
  }

  then(_: unknown, onRejected: (reason: unknown) => void): void {
    onRejected(this.#reason);
  }
}

/** A pending `get` with a deadline, a signal, or both. */
export class WatchedWaiter<T> extends Waiter<T> {
  /** When it times out (`performance.now()` time), if timed. */
  deadline = Infinity;
  /** Links in its deadline list (same timeout, hence deadline order). */
  dprev: WatchedWaiter<T> | null = null;
  dnext: WatchedWaiter<T> | null = null;
  dlist: DeadlineList<T> | null = null;
  signal: AbortSignal | undefined = undefined;
  readonly timeout: number;
  readonly onAbort: (waiter: WatchedWaiter<T>) => void;

  constructor(
    resolve: (value: T) => void,
    timeout: number,
    onAbort: (waiter: WatchedWaiter<T>) => void,
  ) {
    super(resolve, true, timeout !== Infinity);
    this.timeout = timeout;
    this.onAbort = onAbort;
  }

  /** The waiter is its own abort listener: no closure per waiter. */
  handleEvent(): void {
    this.onAbort(this);
  }
}

/** A doubly-linked FIFO of waiters. */
class WaiterList<T> {
  head: Waiter<T> | null = null;
  tail: Waiter<T> | null = null;
  size = 0;

  push(w: Waiter<T>): void {
    w.list = this;
    w.next = null;
    w.prev = this.tail;
    if (this.tail === null) this.head = w;
    else this.tail.next = w;
    this.tail = w;
    this.size++;
  }

  /**
   * Puts a waiter back in arrival order. It walks only past the older
   * waiters also put back meanwhile (each one left the queue at the head),
   * so it is O(1) but for checks that fail together.
   */
  insert(w: Waiter<T>): void {
    let after = this.head;
    while (after !== null && after.seq < w.seq) after = after.next;
    if (after === null) return this.push(w);
    w.list = this;
    w.next = after;
    w.prev = after.prev;
    if (after.prev === null) this.head = w;
    else after.prev.next = w;
    after.prev = w;
    this.size++;
  }

  remove(w: Waiter<T>): void {
    if (w.prev === null) this.head = w.next;
    else w.prev.next = w.next;
    if (w.next === null) this.tail = w.prev;
    else w.next.prev = w.prev;
    w.prev = w.next = null;
    w.list = null;
    this.size--;
  }
}

/** All waiters of one pool, in arrival order. */
export class WaiterQueue<T> {
  readonly #timed = new WaiterList<T>();
  readonly #untimed = new WaiterList<T>();
  #seq = 0;

  /** How many wait. */
  get size(): number {
    return this.#timed.size + this.#untimed.size;
  }

  /** How many wait without a deadline. */
  get untimedSize(): number {
    return this.#untimed.size;
  }

  /** Adds a waiter at the end. */
  push(w: Waiter<T>): void {
    w.seq = this.#seq++;
    (w.timed ? this.#timed : this.#untimed).push(w);
  }

  /** Puts back, in arrival order, a waiter taken by `shift`. */
  putBack(w: Waiter<T>): void {
    (w.timed ? this.#timed : this.#untimed).insert(w);
  }

  /** Takes the oldest waiter. */
  shift(): Waiter<T> | undefined {
    const a = this.#timed.head;
    const b = this.#untimed.head;
    const w = a === null ? b : b === null || a.seq < b.seq ? a : b;
    if (w === null) return undefined;
    w.list!.remove(w);
    return w;
  }

  /** The oldest waiter that has a deadline, left in place. */
  peekTimed(): WatchedWaiter<T> | undefined {
    return (this.#timed.head ?? undefined) as WatchedWaiter<T> | undefined;
  }

  /** Takes the oldest waiter that has no deadline. */
  shiftUntimed(): Waiter<T> | undefined {
    const w = this.#untimed.head;
    if (w === null) return undefined;
    this.#untimed.remove(w);
    return w;
  }

  /** Removes a waiter wherever it is; no-op if it already left. */
  remove(w: Waiter<T>): void {
    if (w.list !== null) w.list.remove(w);
  }

  /** Takes every waiter, oldest first. */
  drain(): Waiter<T>[] {
    const all: Waiter<T>[] = [];
    for (let w = this.shift(); w !== undefined; w = this.shift()) all.push(w);
    return all;
  }
}

/**
 * Timed waiters with the same timeout, in arrival order, hence in deadline
 * order: the head is the next to time out. One pool timer, set for the
 * earliest head, serves them all: no timer per waiter.
 */
export class DeadlineList<T> {
  head: WatchedWaiter<T> | null = null;
  tail: WatchedWaiter<T> | null = null;

  push(w: WatchedWaiter<T>): void {
    w.dlist = this;
    w.dnext = null;
    w.dprev = this.tail;
    if (this.tail === null) this.head = w;
    else this.tail.dnext = w;
    this.tail = w;
  }

  remove(w: WatchedWaiter<T>): void {
    if (w.dprev === null) this.head = w.dnext;
    else w.dprev.dnext = w.dnext;
    if (w.dnext === null) this.tail = w.dprev;
    else w.dnext.dprev = w.dprev;
    w.dprev = w.dnext = null;
    w.dlist = null;
  }
}
