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
//
// Deadlines are kept apart from the queue: a heap of per-timeout lists and
// one timer for them all (see `Deadlines`), which also serves the waits of
// `ready()`.

import { inWorkerd, MAX_TIMER_DELAY } from "./_timers.ts";

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
  /**
   * `performance.now()` at arrival, for deadlines and wait times; NaN for
   * a wait that nothing times (a wait time from it is NaN: unknown).
   */
  since = NaN;
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

/**
 * A pending `get` (or `ready()`) with a deadline, a signal, or both. It
 * ends through `onEnd`: by its signal (`timedOut` false), or at its
 * deadline (`timedOut` true).
 */
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
   * {@linkcode OwnTimers}); `undefined` elsewhere.
   */
  timer: ReturnType<typeof setTimeout> | undefined = undefined;
  readonly timeout: number;
  readonly onEnd: (waiter: WatchedWaiter<T>, timedOut: boolean) => void;

  constructor(
    resolve: (value: T) => void,
    timeout: number,
    signal: AbortSignal | undefined,
    onEnd: (waiter: WatchedWaiter<T>, timedOut: boolean) => void,
  ) {
    super(resolve, true, timeout !== Infinity);
    this.timeout = timeout;
    this.signal = signal;
    this.onEnd = onEnd;
  }

  /** The waiter is its own abort listener: no closure per waiter. */
  handleEvent(): void {
    this.onEnd(this, false);
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
 * Every timed waiter of a pool, by deadline, and the one timer that ends
 * them. Waiters with the same timeout share a list in deadline order (O(1)
 * to add and remove); the lists sit in a min-heap by their head's deadline,
 * so that finding the next deadline is O(1) and a change of head O(log L)
 * for L distinct timeouts (L is 1 when every `get` uses the pool's timeout).
 * One timer, set for the earliest deadline, serves them all: no timer per
 * waiter. When it fires, each waiter whose deadline passed ends through its
 * `onEnd(waiter, true)`, which must take it out (`remove`).
 */
export class Deadlines<T> {
  readonly #lists = new Map<number, DeadlineList<T>>();
  readonly #heap: DeadlineList<T>[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined = undefined;
  /** The deadline the timer is set for. */
  #armedFor = Infinity;
  #stopped = false;
  /** Called when the timer fires, before the waiters due end. */
  readonly #onFire: (now: number) => void;

  /**
   * @param onFire Called at each firing of the timer with the time, before
   * the waiters whose deadline passed end (the pool runs an overdue
   * housekeeping round there).
   */
  constructor(onFire: (now: number) => void = () => {}) {
    this.#onFire = onFire;
  }

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

  /**
   * Adds a waiter whose `deadline` and `timeout` are set, and sets the timer
   * for it if it is now the earliest.
   * @throws What `setTimeout` throws where no timer can be set (workerd's
   * global scope): the waiter is not added then.
   */
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
    if (w.deadline < this.#armedFor) {
      try {
        this.#arm(w.deadline, performance.now());
      } catch (err) {
        this.remove(w);
        throw err;
      }
    }
  }

  /** Removes a waiter added before; the last one stops the timer. */
  remove(w: WatchedWaiter<T>): void {
    const list = w.dlist!;
    const wasHead = list.head === w;
    list.remove(w);
    if (list.head === null) {
      this.#lists.delete(list.timeout);
      this.#removeAt(list.index);
    } else if (wasHead && this.#heap.length > 1) this.#down(list.index);
    if (this.#heap.length === 0) this.#disarm();
  }

  /** Stops the timer for good (the pool shuts down). */
  stop(): void {
    this.#stopped = true;
    this.#disarm();
  }

  /** Sets the timer for `deadline`. */
  #arm(deadline: number, now: number): void {
    // a deadline beyond what a timer holds is set again when it fires; the
    // new timer first: where none can be set, the one set before stays
    const id = globalThis.setTimeout(
      this.#fire,
      Math.min(MAX_TIMER_DELAY, Math.max(0, deadline - now)),
    );
    this.#disarm();
    this.#armedFor = deadline;
    // Deno may run pending microtasks inside its first setTimeout call: if
    // they ended the last timed waiter, or the pool, no timer may outlive it
    if (this.#heap.length === 0 || this.#stopped) {
      globalThis.clearTimeout(id);
      this.#armedFor = Infinity;
    } else this.#timer = id;
  }

  #disarm(): void {
    if (this.#timer !== undefined) {
      globalThis.clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    this.#armedFor = Infinity;
  }

  /** Ends every waiter whose deadline passed, then sets the timer again. */
  readonly #fire = (): void => {
    this.#timer = undefined;
    this.#armedFor = Infinity;
    // a timer that fired early by this clock is simply set again
    const now = performance.now();
    this.#onFire(now);
    for (let w = this.first(); w !== null && w.deadline <= now;) {
      w.onEnd(w, true);
      // onEnd takes it out; were it not to, the loop still moves on
      if (w.dlist !== null) this.remove(w);
      w = this.first();
    }
    const next = this.earliest();
    if (next !== Infinity && !this.#stopped) this.#arm(next, now);
  };

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

/**
 * In workerd, how often a waiter's own timer fires while it waits without a
 * nearer deadline: it keeps the request alive, and runs in that live request
 * what timers of ended requests no longer run.
 */
const OWN_TIMER_PERIOD = 1000;

/**
 * Cloudflare workerd only: each wait keeps its deadline, and its request
 * alive, with a timer of its own, set in the request that waits. workerd
 * cancels, as hung, a request waiting with nothing pending of its own (a
 * promise that another request will resolve does not count), and a timer
 * lives only as long as the request that set it: one shared deadline timer,
 * set in some request, would die with it. While it waits, a waiter's timer
 * fires at least every second, in its own live request, and runs there
 * (through `tick`) what timers of ended requests no longer run: an overdue
 * housekeeping round, the end of a creation pause. A waiter served from
 * another request, whose clearTimeout cannot reach its timer, merely stops
 * there.
 */
export class OwnTimers<T> {
  readonly #tick: (now: number) => void;
  readonly #closed: () => boolean;

  /**
   * @param tick Runs, in a live request, what is due at `now`.
   * @param closed Whether the pool shut down (timers then stop).
   */
  constructor(tick: (now: number) => void, closed: () => boolean) {
    this.#tick = tick;
    this.#closed = closed;
  }

  /**
   * Starts a wait's own timer (its `since` set). Returns `false` when no
   * timer can be set here (workerd's global scope) and the wait has a
   * deadline: it is rejected then, as elsewhere (a wait without one may
   * still be served, by a ret() here).
   */
  watch(w: WatchedWaiter<T>): boolean {
    if (w.timed) w.deadline = w.since + w.timeout;
    try {
      this.#set(w, performance.now());
    } catch (err) {
      if (w.timed) {
        w.settled = true;
        w.reject(err);
        return false;
      }
    }
    return true;
  }

  #set(w: WatchedWaiter<T>, now: number): void {
    w.timer = globalThis.setTimeout(
      this.#fire,
      Math.max(0, Math.min(w.deadline - now, OWN_TIMER_PERIOD)),
      w,
    );
  }

  readonly #fire = (w: WatchedWaiter<T>): void => {
    w.timer = undefined;
    if (w.settled || this.#closed()) return;
    const now = performance.now();
    if (now >= w.deadline) return w.onEnd(w, true);
    this.#tick(now);
    if (!w.settled) this.#set(w, now);
  };
}

/**
 * What ends a wait besides being served: its deadline and its signal.
 * Timed waits sit in a {@linkcode Deadlines} under one timer (in workerd,
 * each has a timer of its own: {@linkcode OwnTimers}); a wait with a signal
 * is its own abort listener. Either ends it through its `onEnd`.
 */
export class Watches<T> {
  readonly #deadlines: Deadlines<T>;
  readonly #own: OwnTimers<T> | undefined;

  /**
   * @param onFire Called when the deadline timer fires (see `Deadlines`).
   * @param tick In workerd, runs in a waiter's live request what is due.
   * @param closed Whether the pool shut down.
   */
  constructor(
    onFire: (now: number) => void,
    tick: (now: number) => void,
    closed: () => boolean,
  ) {
    this.#deadlines = new Deadlines<T>(onFire);
    this.#own = inWorkerd() ? new OwnTimers<T>(tick, closed) : undefined;
  }

  /** Whether every wait has a timer of its own (workerd): none is bare. */
  get ownTimers(): boolean {
    return this.#own !== undefined;
  }

  /**
   * Starts watching a wait's deadline (from its `since`) and signal.
   * Returns `false` when it ended instead: its signal had aborted (it ended
   * through `onEnd`), or no timer can be set here (workerd's global scope)
   * for its deadline (it was rejected).
   */
  watch(w: WatchedWaiter<T>): boolean {
    if (this.#own !== undefined) {
      if (!this.#own.watch(w)) return false;
    } else if (w.timed) {
      w.deadline = w.since + w.timeout;
      try {
        this.#deadlines.add(w);
      } catch (err) {
        w.settled = true;
        w.reject(err);
        return false;
      }
    }
    const signal = w.signal;
    if (signal !== undefined && !w.settled) {
      if (signal.aborted) {
        w.onEnd(w, false);
        return false;
      }
      w.listening = true;
      signal.addEventListener("abort", w);
    }
    return !w.settled;
  }

  /** Whether a wait is watched already. */
  watching(w: WatchedWaiter<T>): boolean {
    return w.dlist !== null || w.listening || w.timer !== undefined;
  }

  /** Stops watching a wait (it settles). */
  detach(w: WatchedWaiter<T>): void {
    if (w.dlist !== null) this.#deadlines.remove(w);
    if (w.timer !== undefined) {
      // a no-op from another request than the waiter's (workerd): the
      // timer then finds the waiter settled, and stops
      globalThis.clearTimeout(w.timer);
      w.timer = undefined;
    }
    if (w.listening) {
      w.listening = false;
      w.signal!.removeEventListener("abort", w);
    }
  }

  /** Stops the deadline timer for good (the pool shuts down). */
  stop(): void {
    this.#deadlines.stop();
  }
}
