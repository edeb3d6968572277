// A limit on objects shared by several pools: a keyed pool's maxTotal. Each
// pool asks `take` before a creation and says `free` when an object or a
// creation of it is gone (pool.ts, through `internals.limit`); an object
// whose async closer still runs holds its slot too (`hold`), so that the
// limit bounds what the backend sees (a connection being closed is still a
// connection), for at most the closer's own bound.
//
// When there is no room, a pool whose waiters need an object takes a place
// in one line shared by every pool, a place per waiter ("ticket"), first
// come, first served: as room frees, the pool at the head of the line is
// woken (`internals.pump`) and takes it. Room is also made: for the first
// place in line that no slot being freed will serve (a closer running frees
// one soon), the oldest idle object of another pool is closed (`evict`), the
// oldest by a stamp the owner gives each object when it goes idle.
//
// Every decision is taken on a clean stack, in a microtask (`#drain`): the
// limiter is called from inside a pool's own work (a destroy, a pump), and
// waking another pool there would re-enter it. A pool woken that does not
// take (its waiter left, its creations are paused after failures, it has
// maxCreating under way) gives its place up; it queues again when it asks.
// (A key whose backend is down thus closes one idle object of another key
// per retry at most, when no room is free: the price of not starving it.)
// A pool that wants an object for no one (filling to minSize) never waits
// in line and never closes another's object: it takes free room, when the
// line is empty.

import { internals } from "./_internals.ts";
import { backgroundTimeout } from "./_timers.ts";

/** One pool under the limit, as the limit sees it. */
export interface Member {
  /** The pool (a `Pool`). */
  readonly pool: { evict(obj: unknown): boolean };
  /** Slots it holds: creations under way and objects (not closers). */
  slots: number;
  /** Its places in line. */
  tickets: number;
}

/** A probe's outcome (see `#drain`). */
const NOT_ASKED = 0;
const NONE_IDLE = 1;
const EVICTED = 2;

/** A FIFO of places in line: O(1) at both ends, rare removals inside. */
class Line<M> {
  #items: (M | undefined)[] = [];
  #head = 0;

  get length(): number {
    return this.#items.length - this.#head;
  }

  at(i: number): M {
    return this.#items[this.#head + i]!;
  }

  push(m: M): void {
    this.#items.push(m);
  }

  shift(): void {
    this.#items[this.#head++] = undefined;
    if (this.#head === this.#items.length) {
      this.#items.length = 0;
      this.#head = 0;
    } else if (this.#head >= 1024 && this.#head * 2 >= this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
  }

  removeAt(i: number): void {
    this.#items.splice(this.#head + i, 1);
  }

  clear(): void {
    this.#items = [];
    this.#head = 0;
  }
}

/** A limit on objects shared by the pools of its members. */
export class SharedLimit<M extends Member> {
  readonly max: number;
  /** Slots held: creations, objects, and closers still running. */
  #used = 0;
  /** Closers still running that hold a slot (room coming). */
  #closing = 0;
  readonly #line = new Line<M>();
  /** Members holding slots: where idle objects may be. */
  readonly #holders = new Set<M>();
  /** Members that wanted an object for no one (minSize) and found no room. */
  readonly #fillers = new Set<M>();
  /** Closers holding a slot, each with the function that releases it. */
  readonly #holds = new Set<() => void>();
  readonly #stampOf: (obj: unknown) => number;
  #clock = 0;
  #scheduled = false;
  #stopped = false;
  /** Places served from the head (to tell whether a woken pool took). */
  #served = 0;
  /** The member a probe lets close another's idle object, and how it went. */
  #evictFor: M | undefined = undefined;
  #probe = NOT_ASKED;
  /** Objects closed to make room. */
  madeRoom = 0;

  /**
   * @param max Most slots at once.
   * @param stampOf When an idle object went idle, as a `stamp()`.
   */
  constructor(max: number, stampOf: (obj: unknown) => number) {
    this.max = max;
    this.#stampOf = stampOf;
  }

  /** Slots held now (creations, objects, closers running). */
  get used(): number {
    return this.#used;
  }

  /** Closers running that hold a slot. */
  get closing(): number {
    return this.#closing;
  }

  /** Places in line now. */
  get queued(): number {
    return this.#line.length;
  }

  /** A new stamp, later than every one before. */
  stamp(): number {
    return ++this.#clock;
  }

  /** Whether `m`'s pool may start a creation now (see the top). */
  take(m: M): boolean {
    const line = this.#line;
    if (this.#used < this.max) {
      if (line.length === 0) return this.#grant(m);
      if (line.at(0) === m) {
        line.shift();
        this.#served++;
        m.tickets--;
        return this.#grant(m);
      }
    }
    if (this.#evictFor === m) return this.#makeRoom(m);
    const c = internals.counts(m.pool);
    if (c.waiting === 0) {
      this.#fillers.add(m);
      return false;
    }
    // a place per waiter that no creation under way will serve, at least one
    if (m.tickets === 0 || m.tickets < c.waiting - c.creating - c.opening) {
      line.push(m);
      m.tickets++;
    }
    this.#schedule();
    return false;
  }

  /** A slot `m` held (an object or a creation) is free. */
  free(m: M): void {
    this.#used--;
    if (--m.slots === 0) this.#holders.delete(m);
    this.#schedule();
  }

  /** An object went idle: it may make room for the line. */
  idle(): void {
    if (this.#line.length !== 0) this.#schedule();
  }

  /**
   * A closer runs: its object keeps a slot until `closing` settles, or for
   * `cap` ms at most (a closer that hangs does not hold it for ever).
   */
  hold(closing: PromiseLike<unknown>, cap: number): void {
    this.#used++;
    this.#closing++;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const release = () => {
      if (!this.#holds.delete(release)) return;
      if (timer !== undefined) globalThis.clearTimeout(timer);
      this.#used--;
      this.#closing--;
      this.#schedule();
    };
    this.#holds.add(release);
    if (cap !== Infinity) timer = backgroundTimeout(release, cap, undefined);
    Promise.resolve(closing).then(release, release);
  }

  /** Why a pool below its own maxSize cannot create now, if it cannot. */
  blocked(): string | undefined {
    if (this.#used < this.max && this.#line.length === 0) return undefined;
    return `maxTotal (${this.max}) is reached across keys: ${this.#used} objects${
      this.#closing !== 0 ? ` (${this.#closing} being closed)` : ""
    }, ${this.#line.length} requests in line for room, and no idle object of another key to close; give objects back sooner, or raise maxTotal or the timeout`;
  }

  /** `m` is gone (its key closed): it fills no more. */
  forget(m: M): void {
    this.#fillers.delete(m);
  }

  /** Shutdown: no more waking, and no timer left behind. */
  stop(): void {
    this.#stopped = true;
    this.#line.clear();
    this.#fillers.clear();
    for (const release of [...this.#holds]) release();
  }

  #grant(m: M): boolean {
    this.#used++;
    if (m.slots++ === 0) this.#holders.add(m);
    return true;
  }

  /**
   * A probe (`#drain`) found no room for `m`'s place in line, the first
   * that no closer running will serve, and `m` asks: close the oldest idle
   * object of another member.
   */
  #makeRoom(m: M): boolean {
    this.#evictFor = undefined;
    let victim: M | undefined;
    let obj: unknown;
    let oldest = Infinity;
    for (const h of this.#holders) {
      if (h === m) continue;
      const o = internals.oldestIdle(h.pool);
      if (o === undefined) continue;
      const stamp = this.#stampOf(o);
      if (stamp < oldest) {
        oldest = stamp;
        victim = h;
        obj = o;
      }
    }
    if (victim === undefined) {
      this.#probe = NONE_IDLE;
      return false;
    }
    this.#probe = EVICTED;
    this.madeRoom++;
    // closed at once (free, and a hold while an async closer runs); the
    // victim's pool, refilling to its minSize, finds the line ahead of it
    victim.pool.evict(obj);
    const line = this.#line;
    if (this.#used < this.max && line.at(0) === m) {
      line.shift();
      this.#served++;
      m.tickets--;
      return this.#grant(m);
    }
    // the room made (now, or when the closer ends) is the head's
    return false;
  }

  #schedule(): void {
    if (
      this.#scheduled || this.#stopped ||
      (this.#line.length === 0 && this.#fillers.size === 0)
    ) return;
    this.#scheduled = true;
    queueMicrotask(this.#drain);
  }

  /** Serves the line from free room, then makes room for it, in order. */
  readonly #drain = (): void => {
    this.#scheduled = false;
    const line = this.#line;
    while (!this.#stopped) {
      if (line.length === 0) return this.#fill();
      if (this.#used < this.max) {
        // room: the head's pool takes it, or gives its place up
        const m = line.at(0);
        const served = this.#served;
        internals.pump(m.pool);
        if (this.#served === served && line.length !== 0 && line.at(0) === m) {
          line.shift();
          this.#served++;
          m.tickets--;
        }
        continue;
      }
      // the first places are served by the slots closers will free
      const i = this.#closing;
      if (line.length <= i) return;
      const m = line.at(i);
      this.#evictFor = m;
      this.#probe = NOT_ASKED;
      internals.pump(m.pool);
      this.#evictFor = undefined;
      const probe = this.#probe;
      if (probe === NONE_IDLE) return; // nothing idle anywhere: wait for room
      if (probe === NOT_ASKED) {
        // it wants nothing now (its waiter left, its creations pause after
        // failures): its place is given up (it queues again when it asks)
        line.removeAt(i);
        m.tickets--;
      }
    }
  };

  /** Free room and no line: members below their minSize fill. */
  #fill(): void {
    for (const m of this.#fillers) {
      if (this.#used >= this.max || this.#line.length !== 0) return;
      this.#fillers.delete(m);
      internals.pump(m.pool);
    }
  }
}
