// The floors of issue 5: the least work each job can possibly take, against
// which the pool is measured. They do nothing a pool must do beyond the bare
// hand-over (no checks, no counters, no timeouts), so they are not pools.

/**
 * Uncontended floor: pop an object from an array, one `await`, push it back.
 * One round of `k` sequential borrows.
 */
export async function uncontendedFloor<T>(free: T[], k: number): Promise<T> {
  let last!: T;
  for (let i = 0; i < k; i++) {
    const obj = await free.pop()!;
    last = obj;
    free.push(obj);
  }
  return last;
}

/**
 * Contended floor: a free-list array plus a queue of resolvers with a head
 * index, and nothing else. `get` answers the object itself when one is free
 * (the caller's single `await` is the hand-over), else a promise resolved by
 * the `ret` that frees one, first come, first served.
 */
export class ContendedFloor<T> {
  free: T[];
  queue: ((obj: T) => void)[] = [];
  head = 0;

  constructor(objs: T[]) {
    this.free = objs;
  }

  get(): T | Promise<T> {
    if (this.free.length !== 0) return this.free.pop()!;
    return new Promise<T>((resolve) => {
      this.queue.push(resolve);
    });
  }

  ret(obj: T): void {
    const queue = this.queue;
    const head = this.head;
    if (head === queue.length) {
      this.free.push(obj);
      return;
    }
    const resolve = queue[head];
    queue[head] = undefined!;
    if (head + 1 === queue.length) {
      // empty: start over
      queue.length = 0;
      this.head = 0;
    } else if (head >= 1024 && head * 2 >= queue.length) {
      // a queue that never empties (the scale cases): drop the consumed
      // half, amortised O(1)
      queue.copyWithin(0, head + 1);
      queue.length -= head + 1;
      this.head = 0;
    } else {
      this.head = head + 1;
    }
    resolve(obj);
  }
}

/**
 * Cancelling floor, abort: the runtime's own part of a cancellable wait. One
 * `AbortController` per waiter with one listener, all aborted with a reason
 * made in advance; the listeners count down `done`. Per waiter, what the
 * runtime costs whatever the pool does.
 */
export function abortFloor(
  n: number,
  order: Uint32Array,
  reason: unknown,
  done: { handleEvent(): void },
): void {
  const controllers: AbortController[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const c = new AbortController();
    controllers[i] = c;
    c.signal.addEventListener("abort", done);
  }
  for (let i = 0; i < n; i++) controllers[order[i]].abort(reason);
}

/**
 * Cancelling floor, timeout: the runtime's own part of a wait with a
 * deadline. One timer per waiter, with the given delays; each calls `done`.
 */
export function timeoutFloor(delays: number[], done: () => void): void {
  for (let i = 0; i < delays.length; i++) setTimeout(done, delays[i]);
}
