// A limit on objects shared by several pools: a keyed pool's maxTotal. Each
// pool asks `take` before a creation and says `free` when an object or a
// creation of it is gone (pool.ts, through `internals.limit`); an object
// whose async closer still runs holds its slot too (`hold`), so that the
// limit bounds what the backend sees (a connection being closed is still a
// connection), for at most the closer's own bound.
//
// When there is no room, a pool whose waiters need an object takes a place
// in one line shared by every pool, a place per waiter ("ticket"), first
// come, first served, with one exception: a pool that holds nothing at all
// (no object, no creation) is "starving", and is served before the others
// (first come, first served among the starving). As room frees, the pool
// served next is woken (`internals.pump`) and takes it. Room is also made:
// - for the first request that no slot being freed will serve (a closer
//   running frees one soon), the oldest idle object of another pool is
//   closed (`evict`), the oldest by a stamp the owner gives each object
//   when it goes idle;
// - while a pool starves, an object given back to a pool with waiters of
//   its own that holds more than this one is closed rather than handed to
//   them (`yields`), unless that pool has a place in line ahead of the
//   starving one (its waiter came first): a busy pool cannot keep many
//   slots while another waits with nothing. Otherwise a pool's returned
//   objects serve its own waiters first: no close and reopen. (A busy pool
//   keeps its last object: with more busy pools than slots, giving it away
//   would only trade one starving pool for another, a reconnection per
//   request.)
//
// Every decision is taken on a clean stack, in a microtask (`#drain`): the
// limiter is called from inside a pool's own work (a destroy, a pump), and
// waking another pool there would re-enter it. A pool woken that does not
// take (its waiter left, its creations are paused after failures, it has
// maxCreating under way) gives its place up; it queues again when it asks.
// A pool that wants an object for no one (filling to minSize) never waits
// in line and never closes another's object: it takes free room, when no
// one waits.

import { internals, type PoolCounts } from "./_internals.ts";
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
    if (i === 0) return this.shift();
    this.#items.splice(this.#head + i, 1);
  }

  /** The index of `m`'s first place, or -1. */
  indexOf(m: M): number {
    const i = this.#items.indexOf(m, this.#head);
    return i === -1 ? -1 : i - this.#head;
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
  /** Members in line holding no slot: served first, in this order. */
  readonly #starving = new Set<M>();
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
  /** Members served from the line (to tell whether a woken pool took). */
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
    if (this.#used < this.max) {
      const next = this.#next();
      if (next === undefined || next === m) return this.#serve(m);
    }
    if (this.#evictFor === m) return this.#makeRoom(m);
    const c = internals.counts(m.pool);
    if (c.waiting === 0) {
      this.#fillers.add(m);
      if (this.#used < this.max) this.#schedule();
      return false;
    }
    // a place per waiter that needs a new object, at least one
    this.#trim(m, Math.max(1, this.#need(c, 0)));
    if (m.slots === 0) this.#starving.add(m);
    this.#schedule();
    return false;
  }

  /**
   * How many of a pool's waiters need a new object (`served` of them about
   * to get one of its own): those no creation under way will serve, as
   * many as its maxSize leaves room for.
   */
  #need(c: PoolCounts, served: number): number {
    const want = c.waiting - served - c.creating - c.opening;
    const room = c.maxSize === 0
      ? want
      : c.maxSize - (c.idle + c.using + c.busy + c.creating);
    return Math.max(0, Math.min(want, room));
  }

  /**
   * Gives `m` as many places in line as it needs: new ones at the end,
   * or its oldest given up (those of waiters served meanwhile by its own
   * objects, or gone: a pool serves its waiters in order).
   */
  #trim(m: M, need: number): void {
    const line = this.#line;
    while (m.tickets > need) {
      line.removeAt(line.indexOf(m));
      m.tickets--;
    }
    while (m.tickets < need) {
      line.push(m);
      m.tickets++;
    }
    if (m.tickets === 0) this.#starving.delete(m);
  }

  /** A slot `m` held (an object or a creation) is free. */
  free(m: M): void {
    this.#used--;
    if (--m.slots === 0) {
      this.#holders.delete(m);
      if (m.tickets !== 0) this.#starving.add(m);
    }
    this.#schedule();
  }

  /** An object went idle: it may make room for the line. */
  idle(): void {
    if (this.#line.length !== 0) this.#schedule();
  }

  /**
   * Whether an object given back to `m`, whose pool has waiters, should be
   * closed instead: `m` holds more than this one, another member starves
   * (a live request of it waits, and it holds nothing), and `m` has no
   * place in line ahead of it (then its own waiter came first, and gets
   * the object). When not, the object serves `m`'s oldest waiter: `m`
   * keeps the places its other waiters still need, its later ones.
   */
  yields(m: M): boolean {
    const line = this.#line;
    const mine = m.tickets === 0 ? -1 : line.indexOf(m);
    // (a member keeps one object: giving its last away would only trade
    // one starving member for another, with a close and a reopen each time)
    if (m.slots >= 2) {
      for (const s of this.#starving) {
        if (s === m) continue;
        if (mine !== -1 && mine < line.indexOf(s)) break;
        if (this.#wants(s)) {
          this.madeRoom++;
          return true;
        }
        // its requests left: it is not starving (its places are dropped
        // when reached)
        this.#starving.delete(s);
      }
    }
    // the object serves `m`'s oldest waiter: its places are those its
    // other waiters still need
    if (mine !== -1) this.#trim(m, this.#need(internals.counts(m.pool), 1));
    return false;
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

  /** `m` is gone (its key closed): it fills and starves no more. */
  forget(m: M): void {
    this.#fillers.delete(m);
    this.#starving.delete(m);
  }

  /** Shutdown: no more waking, and no timer left behind. */
  stop(): void {
    this.#stopped = true;
    this.#line.clear();
    this.#starving.clear();
    this.#fillers.clear();
    for (const release of [...this.#holds]) release();
  }

  /** The member the next room goes to: the first starving, else the head. */
  #next(): M | undefined {
    for (const s of this.#starving) return s;
    return this.#line.length === 0 ? undefined : this.#line.at(0);
  }

  /** Gives `m` a slot, and uses up one of its places in line, if any. */
  #serve(m: M): boolean {
    if (m.tickets !== 0) {
      const line = this.#line;
      // its first place (the head, unless it was served first as starving)
      const i = line.at(0) === m ? 0 : line.indexOf(m);
      if (i !== -1) line.removeAt(i);
      m.tickets--;
      this.#served++;
    }
    this.#starving.delete(m);
    this.#used++;
    if (m.slots++ === 0) this.#holders.add(m);
    return true;
  }

  /** Whether `m`'s pool has a waiter that needs a new object now. */
  #wants(m: M): boolean {
    return this.#need(internals.counts(m.pool), 0) > 0;
  }

  /**
   * A probe (`#drain`) found no room for `m`, the first request that no
   * closer running will serve, and `m` asks: close the oldest idle object
   * of another member.
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
    if (this.#used < this.max && this.#next() === m) return this.#serve(m);
    // the room made (now, or when the closer ends) is the next one's
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
      if (line.length === 0) {
        this.#starving.clear(); // (no place left: none can starve)
        return this.#fill();
      }
      if (this.#used < this.max) {
        // room: the next one's pool takes it, or gives its place up
        const m = this.#next()!;
        const served = this.#served;
        internals.pump(m.pool);
        if (this.#served === served) this.#giveUp(m);
        continue;
      }
      // the first requests are served by the slots closers will free
      const m = this.#nth(this.#closing);
      if (m === undefined) return;
      this.#evictFor = m;
      this.#probe = NOT_ASKED;
      internals.pump(m.pool);
      this.#evictFor = undefined;
      const probe = this.#probe;
      if (probe === NONE_IDLE) return; // nothing idle anywhere: wait for room
      // it wants nothing now (its waiter left, its creations pause after
      // failures): its place is given up (it queues again when it asks)
      if (probe === NOT_ASKED) this.#giveUp(m);
    }
  };

  /**
   * The member of the `n`-th request to serve, if any: the starving first,
   * then the line (less the first place of each starving member, which is
   * the one it is served for). O(n + starving).
   */
  #nth(n: number): M | undefined {
    let skip: Set<M> | undefined;
    for (const s of this.#starving) {
      if (n-- === 0) return s;
      (skip ??= new Set()).add(s);
    }
    const line = this.#line;
    for (let i = 0; i < line.length; i++) {
      const m = line.at(i);
      if (skip !== undefined && skip.delete(m)) continue;
      if (n-- === 0) return m;
    }
    return undefined;
  }

  /** `m` did not take when its turn came: its (first) place is given up. */
  #giveUp(m: M): void {
    if (this.#starving.delete(m) || this.#line.at(0) !== m) {
      const i = this.#line.indexOf(m);
      if (i !== -1) {
        this.#line.removeAt(i);
        m.tickets--;
      }
    } else {
      this.#line.shift();
      m.tickets--;
    }
  }

  /** Free room and no line: members below their minSize fill. */
  #fill(): void {
    for (const m of this.#fillers) {
      if (this.#used >= this.max || this.#line.length !== 0) return;
      this.#fillers.delete(m);
      internals.pump(m.pool);
    }
  }
}
