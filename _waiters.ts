// The queue of tasks waiting for an object: first come, first served, with
// O(1) enqueue, dequeue and removal (abort, timeout), whatever its length.
//
// Most waiters are bare: no deadline, no signal, nothing to record. They are
// only their promise's resolve function, in a ring (an array with a head
// index), as cheap as a queue can be. The others are intrusive doubly-linked
// nodes in two lists, those with a deadline and those without, each in
// arrival order, so that an abort or a timeout removes one in O(1). Serving
// takes the oldest of the three heads (by arrival number), so together they
// are one FIFO; a failed creation can still reach the oldest waiter
// *without* deadline in O(1), the one owed that error (SPEC §3).

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
  /** Bare waiters queued before it: those come first (see `WaiterQueue`). */
  bareBefore = 0;
  /** `performance.now()` at arrival, for deadlines and wait times. */
  since = 0;
  /** Set once resolved or rejected: a settled waiter never settles again. */
  settled = false;
  /** Counted in `nwaits` (it queued, or its hand-over had to wait). */
  waited = false;
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

/** The resolve function of a bare waiter's promise. */
export type Resolve<T> = (value: T) => void;

/** Rejects a promise through its resolve function (see `Waiter.reject`). */
export function rejectVia<T>(resolve: Resolve<T>, reason: unknown): void {
  resolve(new Rejection(reason) as unknown as T);
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
  readonly signal: AbortSignal | undefined;
  /** Whether it listens to its signal. */
  listening = false;
  /**
   * Its own timer, set in its own request, in Cloudflare workerd only (see
   * `#watchOwn` in pool.ts); `undefined` elsewhere.
   */
  timer: ReturnType<typeof setTimeout> | undefined = undefined;
  readonly timeout: number;
  readonly onAbort: (waiter: WatchedWaiter<T>) => void;

  constructor(
    resolve: (value: T) => void,
    timeout: number,
    signal: AbortSignal | undefined,
    onAbort: (waiter: WatchedWaiter<T>) => void,
  ) {
    super(resolve, true, timeout !== Infinity);
    this.timeout = timeout;
    this.signal = signal;
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
  /** Bare waiters, oldest at `#head`. */
  #bare: (Resolve<T> | undefined)[] = [];
  #head = 0;
  /** Bare waiters ever queued, and ever taken (always from the head). */
  #barePushed = 0;
  #bareShifted = 0;
  #seq = 0;

  /** How many wait. */
  get size(): number {
    return this.#timed.size + this.#untimed.size +
      (this.#bare.length - this.#head);
  }

  /** How many wait without a deadline. */
  get untimedSize(): number {
    return this.#untimed.size + (this.#bare.length - this.#head);
  }

  /** Adds a waiter at the end. */
  push(w: Waiter<T>): void {
    w.seq = this.#seq++;
    w.bareBefore = this.#barePushed;
    (w.timed ? this.#timed : this.#untimed).push(w);
  }

  /** Adds a bare waiter, its promise's resolve function, at the end. */
  pushBare(resolve: Resolve<T>): void {
    this.#bare.push(resolve);
    this.#barePushed++;
  }

  /**
   * Gives a waiter its place in line without queueing it, for a `get` served
   * at once that may still have to queue (a failed check): `putBack` then
   * puts it before everyone who came after it.
   */
  number(w: Waiter<T>): void {
    w.seq = this.#seq++;
    w.bareBefore = this.#barePushed;
  }

  /** Puts back, in arrival order, a waiter taken by `shift`. */
  putBack(w: Waiter<T>): void {
    (w.timed ? this.#timed : this.#untimed).insert(w);
  }

  /** Takes the oldest waiter: a node, or a bare waiter's resolve function. */
  shift(): Waiter<T> | Resolve<T> | undefined {
    const a = this.#timed.head;
    const b = this.#untimed.head;
    if (a === null && b === null) return this.#shiftBare();
    const w = a === null ? b! : b === null || a.seq < b.seq ? a : b;
    // a bare waiter that came before it is still there
    if (w.bareBefore > this.#bareShifted) return this.#shiftBare();
    w.list!.remove(w);
    return w;
  }

  /** The oldest waiter that has a deadline, left in place. */
  peekTimed(): WatchedWaiter<T> | undefined {
    return (this.#timed.head ?? undefined) as WatchedWaiter<T> | undefined;
  }

  /** Takes the oldest waiter that has no deadline. */
  shiftUntimed(): Waiter<T> | Resolve<T> | undefined {
    const w = this.#untimed.head;
    if (
      this.#head !== this.#bare.length &&
      (w === null || w.bareBefore > this.#bareShifted)
    ) return this.#shiftBare();
    if (w === null) return undefined;
    this.#untimed.remove(w);
    return w;
  }

  #shiftBare(): Resolve<T> | undefined {
    const bare = this.#bare;
    const head = this.#head;
    if (head === bare.length) return undefined;
    const resolve = bare[head];
    bare[head] = undefined;
    this.#bareShifted++;
    if (head + 1 === bare.length) {
      // empty: start over
      bare.length = 0;
      this.#head = 0;
    } else if (head >= 1024 && head * 2 >= bare.length) {
      // a queue that never empties: drop the served half, amortised O(1)
      bare.copyWithin(0, head + 1);
      bare.length -= head + 1;
      this.#head = 0;
    } else {
      this.#head = head + 1;
    }
    return resolve;
  }

  /** Removes a waiter wherever it is; no-op if it already left. */
  remove(w: Waiter<T>): void {
    if (w.list !== null) w.list.remove(w);
  }

  /** Takes every waiter, oldest first. */
  drain(): (Waiter<T> | Resolve<T>)[] {
    const all: (Waiter<T> | Resolve<T>)[] = [];
    for (let w = this.shift(); w !== undefined; w = this.shift()) all.push(w);
    return all;
  }
}

/**
 * Timed waiters with the same timeout, in arrival order, hence in deadline
 * order: the head is the next to time out.
 */
export class DeadlineList<T> {
  head: WatchedWaiter<T> | null = null;
  tail: WatchedWaiter<T> | null = null;
  /** Its place in the heap of {@linkcode Deadlines}. */
  index = -1;
  readonly timeout: number;

  constructor(timeout: number) {
    this.timeout = timeout;
  }

  /**
   * Adds a waiter in deadline order: at the end, but for a waiter watched
   * late (served at once, then queued after a failed check), which goes
   * before the few that arrived meanwhile.
   */
  push(w: WatchedWaiter<T>): void {
    let before = this.tail;
    while (before !== null && before.deadline > w.deadline) {
      before = before.dprev;
    }
    w.dlist = this;
    w.dprev = before;
    w.dnext = before === null ? this.head : before.dnext;
    if (w.dnext === null) this.tail = w;
    else w.dnext.dprev = w;
    if (before === null) this.head = w;
    else before.dnext = w;
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

/**
 * Every timed waiter of a pool, by deadline. Waiters with the same timeout
 * share a list in deadline order (O(1) to add and remove); the lists sit in
 * a min-heap by their head's deadline, so that finding the next deadline is
 * O(1) and a change of head O(log L) for L distinct timeouts (L is 1 when
 * every `get` uses the pool's timeout). One pool timer, set for the earliest
 * deadline, serves them all: no timer per waiter.
 */
export class Deadlines<T> {
  readonly #lists = new Map<number, DeadlineList<T>>();
  readonly #heap: DeadlineList<T>[] = [];

  /** Whether no waiter has a deadline. */
  get empty(): boolean {
    return this.#heap.length === 0;
  }

  /** The waiter with the earliest deadline, or `null`. */
  first(): WatchedWaiter<T> | null {
    return this.#heap.length === 0 ? null : this.#heap[0].head;
  }

  /** The earliest deadline, or `Infinity`. */
  earliest(): number {
    return this.#heap.length === 0 ? Infinity : this.#heap[0].head!.deadline;
  }

  /** Adds a waiter whose `deadline` and `timeout` are set. */
  add(w: WatchedWaiter<T>): void {
    let list = this.#lists.get(w.timeout);
    if (list === undefined) {
      list = new DeadlineList<T>(w.timeout);
      this.#lists.set(w.timeout, list);
    }
    const before = list.head;
    list.push(w);
    if (before === null) {
      list.index = this.#heap.length;
      this.#heap.push(list);
      this.#up(list.index);
    } else if (list.head !== before) this.#up(list.index);
  }

  /** Removes a waiter added before. */
  remove(w: WatchedWaiter<T>): void {
    const list = w.dlist!;
    const wasHead = list.head === w;
    list.remove(w);
    if (list.head === null) {
      this.#lists.delete(list.timeout);
      this.#removeAt(list.index);
    } else if (wasHead && this.#heap.length > 1) this.#down(list.index);
  }

  #key(i: number): number {
    return this.#heap[i].head!.deadline;
  }

  #swap(i: number, j: number): void {
    const heap = this.#heap;
    const a = heap[i];
    heap[i] = heap[j];
    heap[j] = a;
    heap[i].index = i;
    heap[j].index = j;
  }

  #up(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.#key(parent) <= this.#key(i)) return;
      this.#swap(i, parent);
      i = parent;
    }
  }

  #down(i: number): void {
    const n = this.#heap.length;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) return;
      const r = l + 1;
      const child = r < n && this.#key(r) < this.#key(l) ? r : l;
      if (this.#key(i) <= this.#key(child)) return;
      this.#swap(i, child);
      i = child;
    }
  }

  #removeAt(i: number): void {
    const heap = this.#heap;
    heap[i].index = -1;
    const last = heap.pop()!;
    if (i === heap.length) return;
    heap[i] = last;
    last.index = i;
    this.#down(i);
    this.#up(i);
  }
}
