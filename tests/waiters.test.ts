// Unit tests of the waiter queue (_waiters.ts): one FIFO over two lists
// (with and without deadline), O(1) removal, putBack, shiftUntimed; the
// deadlines under one timer; and what ends a wait besides being served
// (Watches: its deadline, its signal; OwnTimers: a timer per wait, workerd).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { type Clock, fakeClock, withClock } from "./_helpers.ts";
import {
  DeadlineList,
  Deadlines,
  OwnTimers,
  type Resolve,
  Waiter,
  WaiterQueue,
  WatchedWaiter,
  Watches,
} from "../_waiters.ts";

type W = WatchedWaiter<number> & { id: string };

const noop = () => {};

/** A waiter named `id`, with a deadline when `timeout` is finite. */
function waiter(
  id: string,
  timeout = Infinity,
  onEnd: (w: WatchedWaiter<number>, timedOut: boolean) => void = noop,
): W {
  const w = new WatchedWaiter<number>(noop, timeout, undefined, onEnd) as W;
  w.id = id;
  return w;
}

/** A waiter taken from the queue that must be a node (not a bare one). */
function node(w: Waiter<number> | Resolve<number> | undefined): W {
  assert.ok(w instanceof Waiter, "a node");
  return w as W;
}

function ids(ws: unknown[]): string[] {
  return ws.map((w) => (w as W | undefined)?.id ?? "none");
}

/** Empties the queue with shift(), oldest first. */
function shiftAll(q: WaiterQueue<number>): string[] {
  const out: string[] = [];
  for (let w = q.shift(); w !== undefined; w = q.shift()) {
    out.push((w as W).id);
  }
  return out;
}

describe("Waiter", () => {
  it("is timed only with a finite timeout", () => {
    assert.equal(waiter("a").timed, false);
    assert.equal(waiter("b", 10).timed, true);
    assert.equal(waiter("c", 0).timed, true);
    assert.equal(waiter("d", 10).timeout, 10);
  });

  it("a plain waiter is neither watched nor timed", () => {
    const w = new Waiter<number>(noop);
    assert.equal(w.watched, false);
    assert.equal(w.timed, false);
    assert.equal(waiter("a").watched, true);
  });

  it("reject() rejects the promise whose resolve it holds", async () => {
    let resolve!: (v: number) => void;
    const p = new Promise<number>((r) => (resolve = r));
    const w = new Waiter<number>(resolve);
    const reason = new Error("no");
    w.reject(reason);
    await assert.rejects(p, (err) => err === reason);
  });

  it("is its own abort listener: handleEvent calls onAbort with itself", () => {
    const seen: WatchedWaiter<number>[] = [];
    const w = waiter("a", Infinity, (x) => seen.push(x));
    const c = new AbortController();
    c.signal.addEventListener("abort", w);
    c.abort();
    assert.deepEqual(seen, [w]);
  });

  it("starts outside any queue, unsettled", () => {
    const w = waiter("a");
    assert.equal(w.list, null);
    assert.equal(w.prev, null);
    assert.equal(w.next, null);
    assert.equal(w.settled, false);
  });
});

describe("WaiterQueue: order", () => {
  it("is empty at first", () => {
    const q = new WaiterQueue<number>();
    assert.equal(q.size, 0);
    assert.equal(q.untimedSize, 0);
    assert.equal(q.shift(), undefined);
    assert.equal(q.shiftUntimed(), undefined);
    assert.deepEqual(q.drain(), []);
  });

  it("serves untimed waiters first in, first out", () => {
    const q = new WaiterQueue<number>();
    for (const id of ["a", "b", "c"]) q.push(waiter(id));
    assert.equal(q.size, 3);
    assert.equal(q.untimedSize, 3);
    assert.deepEqual(shiftAll(q), ["a", "b", "c"]);
    assert.equal(q.size, 0);
  });

  it("serves timed waiters first in, first out", () => {
    const q = new WaiterQueue<number>();
    for (const id of ["a", "b", "c"]) q.push(waiter(id, 100));
    assert.equal(q.size, 3);
    assert.equal(q.untimedSize, 0);
    assert.deepEqual(shiftAll(q), ["a", "b", "c"]);
  });

  it("keeps one arrival order across timed and untimed waiters", () => {
    const q = new WaiterQueue<number>();
    const plan: [string, number][] = [
      ["u1", Infinity],
      ["t1", 10],
      ["t2", 5],
      ["u2", Infinity],
      ["u3", Infinity],
      ["t3", 1],
      ["u4", Infinity],
    ];
    for (const [id, t] of plan) q.push(waiter(id, t));
    assert.equal(q.size, 7);
    assert.equal(q.untimedSize, 4);
    assert.deepEqual(shiftAll(q), plan.map(([id]) => id));
  });

  it("numbers arrivals increasingly, across both lists", () => {
    const q = new WaiterQueue<number>();
    const ws = [waiter("a"), waiter("b", 1), waiter("c"), waiter("d", 1)];
    for (const w of ws) q.push(w);
    for (let i = 1; i < ws.length; i++) assert.ok(ws[i - 1].seq < ws[i].seq);
  });

  it("drain takes every waiter, oldest first, and empties the queue", () => {
    const q = new WaiterQueue<number>();
    for (const [id, t] of [["a", 1], ["b", Infinity], ["c", 1]] as const) {
      q.push(waiter(id, t));
    }
    const all = q.drain();
    assert.deepEqual(ids(all), ["a", "b", "c"]);
    assert.equal(q.size, 0);
    assert.equal(q.untimedSize, 0);
    for (const w of all) assert.equal(node(w).list, null);
  });

  it("a shifted waiter has left its list", () => {
    const q = new WaiterQueue<number>();
    const a = waiter("a");
    const b = waiter("b", 5);
    q.push(a);
    q.push(b);
    assert.notEqual(a.list, null);
    q.shift();
    assert.equal(a.list, null);
    assert.equal(a.next, null);
    assert.notEqual(b.list, null);
  });
});

describe("WaiterQueue: shiftUntimed", () => {
  it("takes the oldest waiter without deadline, skipping timed ones", () => {
    const q = new WaiterQueue<number>();
    for (
      const [id, t] of [["t1", 5], ["t2", 5], ["u1", Infinity], [
        "t3",
        5,
      ], ["u2", Infinity]] as const
    ) q.push(waiter(id, t));
    assert.deepEqual(ids([q.shiftUntimed()]), ["u1"]);
    assert.equal(q.size, 4);
    assert.equal(q.untimedSize, 1);
    assert.deepEqual(shiftAll(q), ["t1", "t2", "t3", "u2"]);
  });

  it("returns undefined when only timed waiters wait", () => {
    const q = new WaiterQueue<number>();
    q.push(waiter("t", 5));
    assert.equal(q.shiftUntimed(), undefined);
    assert.equal(q.size, 1);
  });
});

describe("WaiterQueue: putBack", () => {
  it("puts shifted waiters back in arrival order, whatever order they come back in", () => {
    const q = new WaiterQueue<number>();
    for (
      const [id, t] of [["a", 5], ["b", Infinity], ["c", 5], [
        "d",
        Infinity,
      ]] as const
    ) q.push(waiter(id, t));
    const a = node(q.shift());
    const b = node(q.shift());
    q.putBack(a);
    q.putBack(b);
    assert.equal(q.size, 4);
    assert.deepEqual(shiftAll(q), ["a", "b", "c", "d"]);
  });

  it("keeps the arrival order when an untimed waiter goes back before timed ones", () => {
    const q = new WaiterQueue<number>();
    q.push(waiter("u", Infinity));
    q.push(waiter("t", 5));
    const u = node(q.shift());
    assert.equal((u as W).id, "u");
    q.putBack(u);
    assert.equal(q.untimedSize, 1);
    assert.deepEqual(shiftAll(q), ["u", "t"]);
  });

  it("puts back the older first when both come back, in either order", () => {
    for (const firstBack of ["a", "b"]) {
      const q = new WaiterQueue<number>();
      for (const id of ["a", "b", "c"]) q.push(waiter(id, Infinity));
      const a = node(q.shift());
      const b = node(q.shift());
      if (firstBack === "a") {
        q.putBack(a);
        q.putBack(b);
      } else {
        q.putBack(b);
        q.putBack(a);
      }
      assert.deepEqual(shiftAll(q), ["a", "b", "c"], firstBack);
    }
  });

  it("works on an empty queue", () => {
    const q = new WaiterQueue<number>();
    const a = waiter("a", 5);
    q.push(a);
    q.shift();
    q.putBack(a);
    assert.equal(q.size, 1);
    assert.equal(q.shift(), a);
    assert.equal(q.shift(), undefined);
  });
});

describe("WaiterQueue: remove", () => {
  it("removes at the head, the middle and the tail of both lists", () => {
    const q = new WaiterQueue<number>();
    const ws: Record<string, W> = {};
    for (
      const [id, t] of [
        ["u1", Infinity],
        ["t1", 5],
        ["u2", Infinity],
        [
          "t2",
          5,
        ],
        ["u3", Infinity],
        ["t3", 5],
      ] as const
    ) {
      ws[id] = waiter(id, t);
      q.push(ws[id]);
    }
    q.remove(ws.u2); // middle of untimed
    q.remove(ws.t1); // head of timed
    q.remove(ws.t3); // tail of timed
    q.remove(ws.u1); // head of untimed
    assert.equal(q.size, 2);
    assert.equal(q.untimedSize, 1);
    for (const id of ["u2", "t1", "t3", "u1"]) {
      assert.equal(ws[id].list, null);
      assert.equal(ws[id].prev, null);
      assert.equal(ws[id].next, null);
    }
    assert.deepEqual(shiftAll(q), ["t2", "u3"]);
  });

  it("removes the only waiter, leaving an empty, usable queue", () => {
    const q = new WaiterQueue<number>();
    const a = waiter("a");
    q.push(a);
    q.remove(a);
    assert.equal(q.size, 0);
    assert.equal(q.shift(), undefined);
    q.push(waiter("b"));
    assert.deepEqual(shiftAll(q), ["b"]);
  });

  it("is a no-op for a waiter that already left (twice, or after shift)", () => {
    const q = new WaiterQueue<number>();
    const a = waiter("a");
    const b = waiter("b", 5);
    const c = waiter("c");
    q.push(a);
    q.push(b);
    q.push(c);
    q.remove(b);
    q.remove(b);
    const first = q.shift();
    assert.equal(first, a);
    q.remove(a);
    assert.equal(q.size, 1);
    assert.deepEqual(shiftAll(q), ["c"]);
  });

  it("is a no-op for a waiter never queued", () => {
    const q = new WaiterQueue<number>();
    q.push(waiter("a"));
    q.remove(waiter("stranger"));
    assert.equal(q.size, 1);
  });
});

describe("WaiterQueue: bare waiters", () => {
  /** A bare waiter: a resolve function named by its id. */
  const bare = (id: string) => {
    const f = (() => {}) as unknown as ((v: number) => void) & { id: string };
    f.id = id;
    return f;
  };
  const name = (w: unknown) => (w as { id?: string } | undefined)?.id ?? "none";

  it("keeps one arrival order across bare, timed and untimed waiters", () => {
    const q = new WaiterQueue<number>();
    q.pushBare(bare("b0"));
    q.push(waiter("t1", 100));
    q.pushBare(bare("b2"));
    q.push(waiter("u3"));
    q.pushBare(bare("b4"));
    assert.equal(q.size, 5);
    assert.equal(q.untimedSize, 4);
    const out: string[] = [];
    for (let w = q.shift(); w !== undefined; w = q.shift()) out.push(name(w));
    assert.deepEqual(out, ["b0", "t1", "b2", "u3", "b4"]);
    assert.equal(q.size, 0);
  });

  it("shiftUntimed takes the oldest of bare and untimed, skipping timed", () => {
    const q = new WaiterQueue<number>();
    q.push(waiter("t0", 100));
    q.push(waiter("u1"));
    q.pushBare(bare("b2"));
    assert.equal(name(q.shiftUntimed()), "u1");
    assert.equal(name(q.shiftUntimed()), "b2");
    assert.equal(q.shiftUntimed(), undefined);
    assert.equal(name(q.shift()), "t0");
  });

  it("matches a FIFO model under random pushes, shifts, removes and put-backs", () => {
    type Op =
      | { op: "bare" }
      | { op: "timed" }
      | { op: "untimed" }
      | { op: "shift" }
      | { op: "shiftUntimed" }
      | { op: "remove"; pick: number }
      | { op: "putBack"; pick: number };
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.constant({ op: "bare" } as Op),
            fc.constant({ op: "timed" } as Op),
            fc.constant({ op: "untimed" } as Op),
            fc.constant({ op: "shift" } as Op),
            fc.constant({ op: "shiftUntimed" } as Op),
            fc.nat().map((pick) => ({ op: "remove", pick }) as Op),
            fc.nat().map((pick) => ({ op: "putBack", pick }) as Op),
          ),
          { maxLength: 120 },
        ),
        (ops) => {
          const q = new WaiterQueue<number>();
          // the model: waiting ids in arrival order, and each id's kind
          const model: { id: number; kind: string; w: unknown }[] = [];
          const taken: { id: number; kind: string; w: unknown }[] = [];
          let n = 0;
          const take = (w: unknown, expected: typeof model[number]) => {
            assert.equal(w, expected.w);
            model.splice(model.indexOf(expected), 1);
            if (expected.kind !== "bare") taken.push(expected);
          };
          for (const o of ops) {
            if (o.op === "bare") {
              const w = bare(String(n));
              q.pushBare(w);
              model.push({ id: n++, kind: "bare", w });
            } else if (o.op === "timed" || o.op === "untimed") {
              const w = waiter(String(n), o.op === "timed" ? 100 : Infinity);
              q.push(w);
              model.push({ id: n++, kind: o.op, w });
            } else if (o.op === "shift") {
              const w = q.shift();
              if (model.length === 0) assert.equal(w, undefined);
              else take(w, model[0]);
            } else if (o.op === "shiftUntimed") {
              const w = q.shiftUntimed();
              const first = model.find((m) => m.kind !== "timed");
              if (first === undefined) assert.equal(w, undefined);
              else take(w, first);
            } else if (o.op === "remove") {
              const listed = model.filter((m) => m.kind !== "bare");
              if (listed.length === 0) continue;
              const m = listed[o.pick % listed.length];
              q.remove(m.w as W);
              model.splice(model.indexOf(m), 1);
            } else if (taken.length !== 0) {
              // put back a node taken earlier, in its arrival place
              const [m] = taken.splice(o.pick % taken.length, 1);
              q.putBack(m.w as W);
              let at = model.findIndex((x) => x.id > m.id);
              if (at === -1) at = model.length;
              model.splice(at, 0, m);
            }
            assert.equal(q.size, model.length);
            assert.equal(
              q.untimedSize,
              model.filter((m) => m.kind !== "timed").length,
            );
          }
          const rest = q.drain();
          assert.deepEqual(rest, model.map((m) => m.w));
        },
      ),
      { numRuns: 500 },
    );
  });

  it("stays FIFO through compaction of a long queue that never empties", () => {
    const q = new WaiterQueue<number>();
    const model: string[] = [];
    let next = 0;
    const add = () => {
      const id = String(next++);
      if (next % 997 === 0) q.push(waiter(id));
      else q.pushBare(bare(id));
      model.push(id);
    };
    for (let i = 0; i < 3000; i++) add();
    for (let round = 0; round < 20_000; round++) {
      assert.equal(name(q.shift()), model.shift());
      add();
    }
    assert.equal(q.size, model.length);
    assert.deepEqual(q.drain().map(name), model);
  });
});

describe("WaiterQueue: 100,000 waiters", () => {
  const N = 100_000;

  it("keeps FIFO order after removing half of them in scattered order", () => {
    const q = new WaiterQueue<number>();
    const ws: W[] = [];
    for (let i = 0; i < N; i++) {
      const w = waiter(String(i), i % 3 === 0 ? Infinity : 1000);
      ws.push(w);
      q.push(w);
    }
    assert.equal(q.size, N);
    // remove every odd waiter, in a scattered order (stride 7919, a prime)
    const odd = ws.filter((_, i) => i % 2 === 1);
    for (let k = 0, j = 0; k < odd.length; k++, j = (j + 7919) % odd.length) {
      q.remove(odd[j]);
    }
    assert.equal(q.size, N / 2);
    let expected = 0;
    let count = 0;
    for (let w = q.shift(); w !== undefined; w = q.shift()) {
      assert.equal(Number((w as W).id), expected);
      expected += 2;
      count++;
    }
    assert.equal(count, N / 2);
    assert.equal(q.size, 0);
    assert.equal(q.untimedSize, 0);
  });

  it("removes all of them, newest first, and the queue is empty", () => {
    const q = new WaiterQueue<number>();
    const ws: W[] = [];
    for (let i = 0; i < N; i++) {
      const w = waiter(String(i), i % 2 === 0 ? Infinity : 5);
      ws.push(w);
      q.push(w);
    }
    for (let i = N - 1; i >= 0; i--) q.remove(ws[i]);
    assert.equal(q.size, 0);
    assert.equal(q.untimedSize, 0);
    assert.equal(q.shift(), undefined);
    assert.ok(ws.every((w) => w.list === null));
  });

  it("shiftUntimed walks the untimed ones in order among many timed ones", () => {
    const q = new WaiterQueue<number>();
    for (let i = 0; i < N; i++) {
      q.push(waiter(String(i), i % 10 === 9 ? Infinity : 5));
    }
    assert.equal(q.untimedSize, N / 10);
    for (let i = 9; i < N; i += 10) {
      assert.equal((q.shiftUntimed() as W).id, String(i));
    }
    assert.equal(q.shiftUntimed(), undefined);
    assert.equal(q.size, N - N / 10);
    assert.equal((q.shift() as W).id, "0");
  });
});

describe("DeadlineList", () => {
  const ids = (list: DeadlineList<number>) => {
    const out: string[] = [];
    for (let w = list.head; w !== null; w = w.dnext) out.push((w as W).id);
    return out;
  };

  it("keeps arrival order, which is deadline order for one timeout", () => {
    const list = new DeadlineList<number>(100);
    const [a, b, c] = ["a", "b", "c"].map((id) => waiter(id, 100));
    for (const w of [a, b, c]) list.push(w);
    assert.deepEqual(ids(list), ["a", "b", "c"]);
    assert.equal(a.dlist, list);
  });

  it("removes at the head, middle and tail in O(1), and empties", () => {
    const list = new DeadlineList<number>(100);
    const ws = ["a", "b", "c", "d"].map((id) => waiter(id, 100));
    for (const w of ws) list.push(w);
    list.remove(ws[1]);
    assert.deepEqual(ids(list), ["a", "c", "d"]);
    list.remove(ws[0]);
    list.remove(ws[3]);
    assert.deepEqual(ids(list), ["c"]);
    assert.equal(ws[0].dlist, null);
    list.remove(ws[2]);
    assert.equal(list.head, null);
    assert.equal(list.tail, null);
  });
});

describe("Deadlines", () => {
  /** A timed waiter with this timeout, arrived at `since`. */
  const timed = (id: string, timeout: number, since: number): W => {
    const w = waiter(id, timeout);
    w.since = since;
    w.deadline = since + timeout;
    return w;
  };

  // the heap is tested under a virtual clock: its timer is a virtual one
  it("gives the earliest deadline across timeouts, and Infinity when empty", async () => {
    await withClock(async () => {
      const d = new Deadlines<number>();
      assert.equal(d.empty, true);
      assert.equal(d.earliest(), Infinity);
      assert.equal(d.first(), null);
      const a = timed("a", 500, 0);
      const b = timed("b", 100, 10);
      const c = timed("c", 500, 20);
      for (const w of [a, b, c]) d.add(w);
      assert.equal((d.first() as W).id, "b");
      assert.equal(d.earliest(), 110);
      d.remove(b);
      assert.equal((d.first() as W).id, "a");
      d.remove(a);
      assert.equal((d.first() as W).id, "c");
      d.remove(c);
      assert.equal(d.empty, true);
    });
  });

  it("puts a waiter watched late before those of its timeout that came after it", async () => {
    await withClock(async () => {
      const d = new Deadlines<number>();
      const later = timed("later", 100, 50);
      const early = timed("early", 100, 10); // arrived first, watched last
      d.add(later);
      d.add(early);
      assert.equal((d.first() as W).id, "early");
      d.remove(early);
      assert.equal((d.first() as W).id, "later");
      d.remove(later);
    });
  });

  it("matches a sorted list under random adds and removes (model)", () => {
    const clock = fakeClock();
    try {
      fc.assert(
        fc.property(
          fc.array(
            fc.oneof(
              fc.record({
                op: fc.constant("add" as const),
                timeout: fc.integer({ min: 1, max: 8 }),
                late: fc.nat(5),
              }),
              fc.record({ op: fc.constant("remove" as const), pick: fc.nat() }),
            ),
            { maxLength: 80 },
          ),
          (ops) => {
            const d = new Deadlines<number>();
            const live: W[] = [];
            let now = 0;
            let n = 0;
            for (const o of ops) {
              if (o.op === "add") {
                now++;
                // a few arrive "late": watched after others that came later
                const w = timed(
                  String(n++),
                  o.timeout,
                  Math.max(0, now - o.late),
                );
                d.add(w);
                live.push(w);
              } else if (live.length !== 0) {
                const [w] = live.splice(o.pick % live.length, 1);
                d.remove(w);
                assert.equal(w.dlist, null);
              }
              const min = Math.min(...live.map((w) => w.deadline));
              assert.equal(d.earliest(), live.length === 0 ? Infinity : min);
              assert.equal(d.empty, live.length === 0);
            }
            // draining by first() gives deadline order
            let last = -Infinity;
            for (let w = d.first(); w !== null; w = d.first()) {
              assert.ok(w.deadline >= last);
              last = w.deadline;
              d.remove(w);
            }
          },
        ),
        { numRuns: 300 },
      );
    } finally {
      clock.uninstall();
    }
  });

  it("ends each waiter at its deadline with one timer, in deadline order", async () => {
    await withClock(async (clock) => {
      const ended: string[] = [];
      const fired: number[] = [];
      const d = new Deadlines<number>((now) => void fired.push(now));
      const end = (w: WatchedWaiter<number>, timedOut: boolean) => {
        ended.push(`${(w as W).id}@${clock.now}${timedOut ? "" : " aborted"}`);
        d.remove(w);
      };
      const make = (id: string, timeout: number) => {
        const w = waiter(id, timeout, end);
        w.since = clock.now;
        w.deadline = w.since + timeout;
        d.add(w);
        return w;
      };
      make("a", 100);
      make("b", 50);
      make("c", 100);
      assert.equal(clock.countTimers(), 1, "one timer for all");
      await clock.tickAsync(49);
      assert.deepEqual(ended, []);
      await clock.tickAsync(1);
      assert.deepEqual(ended, ["b@50"]);
      await clock.tickAsync(50);
      assert.deepEqual(ended, ["b@50", "a@100", "c@100"]);
      assert.deepEqual(fired, [50, 100], "onFire before each expiry");
      assert.equal(clock.countTimers(), 0, "no timer once empty");
      // removing the last waiter stops the timer; stop() keeps it stopped
      const x = make("x", 30);
      assert.equal(clock.countTimers(), 1);
      d.remove(x);
      assert.equal(clock.countTimers(), 0);
      d.stop();
      make("y", 10);
      assert.equal(clock.countTimers(), 0, "no timer after stop()");
    });
  });

  it("moves on when an onEnd does not take its waiter out", async () => {
    await withClock(async (clock) => {
      let ends = 0;
      const d = new Deadlines<number>();
      for (const id of ["a", "b"]) {
        const w = waiter(id, 10, () => void ends++);
        w.deadline = 10;
        d.add(w);
      }
      await clock.tickAsync(10);
      assert.equal(ends, 2);
      assert.equal(d.empty, true);
      assert.equal(clock.countTimers(), 0);
    });
  });
});

/** Runs `fn` where setTimeout throws, as in workerd's global scope. */
function withoutTimeout<R>(fn: () => R): R {
  const setTimeout = globalThis.setTimeout;
  globalThis.setTimeout = (() => {
    throw new Error("no timers in the global scope");
  }) as unknown as typeof setTimeout;
  try {
    return fn();
  } finally {
    globalThis.setTimeout = setTimeout;
  }
}

/**
 * Waits that record how they end ("id timeout@t" or "id abort@t") in
 * `ended`, arrived now, and that `end` takes out of what watched them (the
 * pool's onEnd detaches its waiter).
 */
function waits(clock: Clock, end: (w: W) => void = noop) {
  const ended: string[] = [];
  const make = (id: string, timeout = Infinity, signal?: AbortSignal) => {
    let resolve!: (v: number) => void;
    const promise = new Promise<number>((r) => resolve = r);
    const w = new WatchedWaiter<number>(resolve, timeout, signal, (x, t) => {
      ended.push(`${id} ${t ? "timeout" : "abort"}@${clock.now}`);
      end(x as W);
    }) as W;
    w.id = id;
    w.since = performance.now();
    return { w, promise };
  };
  return { ended, make };
}

describe("Watches", () => {
  /** Watches outside workerd, whose onEnd detaches, and its firings. */
  function watches(clock: Clock) {
    const fired: number[] = [];
    const ws = new Watches<number>(
      (now) => void fired.push(now),
      noop,
      () => false,
    );
    return { ws, fired, ...waits(clock, (w) => ws.detach(w)) };
  }

  it("ends timed waits at their deadline, through onEnd(w, true), with one timer", async () => {
    await withClock(async (clock) => {
      const { ws, fired, ended, make } = watches(clock);
      assert.equal(ws.ownTimers, false);
      const a = make("a", 100).w;
      const b = make("b", 50).w;
      assert.equal(ws.watch(a), true);
      assert.equal(ws.watch(b), true);
      assert.equal(a.deadline, 100, "since + timeout");
      assert.equal(clock.countTimers(), 1);
      assert.equal(ws.watching(a), true);
      await clock.tickAsync(100);
      assert.deepEqual(ended, ["b timeout@50", "a timeout@100"]);
      assert.deepEqual(fired, [50, 100]);
      assert.equal(ws.watching(a), false);
      assert.equal(clock.countTimers(), 0);
    });
  });

  it("ends a wait whose signal aborts through onEnd(w, false)", async () => {
    await withClock(async (clock) => {
      const { ws, ended, make } = watches(clock);
      const c = new AbortController();
      const { w } = make("a", 100, c.signal);
      assert.equal(ws.watch(w), true);
      await clock.tickAsync(30);
      c.abort();
      assert.deepEqual(ended, ["a abort@30"]);
      assert.equal(ws.watching(w), false);
      assert.equal(clock.countTimers(), 0);
    });
  });

  it("ends a wait whose signal aborted already at once: watch() is false", async () => {
    await withClock(async (clock) => {
      const { ws, ended, make } = watches(clock);
      const { w } = make("a", 100, AbortSignal.abort());
      assert.equal(ws.watch(w), false);
      assert.deepEqual(ended, ["a abort@0"]);
      assert.equal(w.listening, false);
      assert.equal(clock.countTimers(), 0);
    });
  });

  it("detach() removes the deadline and the abort listener", async () => {
    await withClock(async (clock) => {
      const { ws, ended, make } = watches(clock);
      const c = new AbortController();
      const { w } = make("a", 100, c.signal);
      ws.watch(w);
      ws.detach(w);
      assert.equal(ws.watching(w), false);
      assert.equal(clock.countTimers(), 0);
      c.abort();
      await clock.tickAsync(200);
      assert.deepEqual(ended, []);
    });
  });

  it("watching() is false for a wait with neither deadline nor signal", async () => {
    await withClock(async (clock) => {
      const { ws, make } = watches(clock);
      const { w } = make("a");
      assert.equal(ws.watch(w), true, "it still waits");
      assert.equal(ws.watching(w), false, "nothing to watch");
    });
  });

  it("stop() stops the deadline timer for good; signals still end waits", async () => {
    await withClock(async (clock) => {
      const { ws, ended, make } = watches(clock);
      ws.watch(make("a", 100).w);
      ws.stop();
      assert.equal(clock.countTimers(), 0);
      ws.watch(make("b", 100).w);
      assert.equal(clock.countTimers(), 0, "none set after stop()");
      await clock.tickAsync(500);
      assert.deepEqual(ended, []);
      const c = new AbortController();
      ws.watch(make("c", Infinity, c.signal).w);
      c.abort();
      assert.deepEqual(ended, ["c abort@500"]);
    });
  });

  it("rejects a timed wait where no timer can be set: watch() is false", async () => {
    await withClock(async (clock) => {
      const { ws, ended, make } = watches(clock);
      const a = make("a", 100);
      assert.equal(withoutTimeout(() => ws.watch(a.w)), false);
      assert.equal(a.w.settled, true);
      await assert.rejects(a.promise, /no timers in the global scope/);
      assert.equal(ws.watching(a.w), false);
      // a wait without deadline is watched by its signal alone
      const c = new AbortController();
      const b = make("b", Infinity, c.signal);
      assert.equal(withoutTimeout(() => ws.watch(b.w)), true);
      c.abort();
      assert.deepEqual(ended, ["b abort@0"]);
    });
  });

  it("in workerd gives each wait a timer of its own", async () => {
    await withClock(async (clock) => {
      // WebSocketPair: a global of workerd alone
      const g = globalThis as { WebSocketPair?: unknown };
      g.WebSocketPair = class {};
      let ws: Watches<number>;
      try {
        ws = new Watches<number>(noop, noop, () => false);
      } finally {
        delete g.WebSocketPair;
      }
      assert.equal(ws.ownTimers, true);
      const { ended, make } = waits(clock, (w) => ws.detach(w));
      const a = make("a", 100).w;
      const b = make("b", 100).w;
      ws.watch(a);
      ws.watch(b);
      assert.equal(clock.countTimers(), 2);
      assert.equal(ws.watching(a), true);
      ws.detach(a);
      assert.equal(ws.watching(a), false);
      assert.equal(clock.countTimers(), 1);
      await clock.tickAsync(100);
      assert.deepEqual(ended, ["b timeout@100"]);
      assert.equal(clock.countTimers(), 0);
    });
  });
});

describe("OwnTimers (workerd)", () => {
  /** OwnTimers whose ticks are recorded, closed when `state.closed`. */
  function ownTimers(clock: Clock) {
    const ticks: number[] = [];
    const state = { closed: false };
    const own = new OwnTimers<number>(
      (now) => void ticks.push(now),
      () => state.closed,
    );
    return { own, ticks, state, ...waits(clock) };
  }

  it("ends a timed wait at its deadline through onEnd(w, true)", async () => {
    await withClock(async (clock) => {
      const { own, ticks, ended, make } = ownTimers(clock);
      const { w } = make("a", 300);
      assert.equal(own.watch(w), true);
      assert.equal(w.deadline, 300);
      assert.notEqual(w.timer, undefined);
      await clock.tickAsync(300);
      assert.deepEqual(ended, ["a timeout@300"]);
      assert.deepEqual(ticks, [], "nothing else to run");
      assert.equal(w.timer, undefined);
      assert.equal(clock.countTimers(), 0);
    });
  });

  it("fires every second meanwhile, running tick(now) in the wait's request", async () => {
    await withClock(async (clock) => {
      const { own, ticks, ended, make } = ownTimers(clock);
      own.watch(make("a", 2500).w);
      await clock.tickAsync(2500);
      assert.deepEqual(ticks, [1000, 2000]);
      assert.deepEqual(ended, ["a timeout@2500"]);
      assert.equal(clock.countTimers(), 0);
    });
  });

  it("keeps an untimed wait's timer going until the wait settles", async () => {
    await withClock(async (clock) => {
      const { own, ticks, ended, make } = ownTimers(clock);
      const { w } = make("a");
      assert.equal(own.watch(w), true);
      await clock.tickAsync(3000);
      assert.deepEqual(ticks, [1000, 2000, 3000]);
      assert.equal(clock.countTimers(), 1, "re-armed each time");
      w.settled = true; // served from another request: its timer stops
      await clock.tickAsync(1000);
      assert.deepEqual(ticks, [1000, 2000, 3000]);
      assert.equal(clock.countTimers(), 0);
      assert.deepEqual(ended, []);
    });
  });

  it("does not re-arm for a wait that its tick served", async () => {
    await withClock(async (clock) => {
      const { w } = waits(clock).make("a");
      const own = new OwnTimers<number>(
        () => void (w.settled = true),
        () => false,
      );
      own.watch(w);
      await clock.tickAsync(1000);
      assert.equal(clock.countTimers(), 0);
    });
  });

  it("stops once the pool is closed", async () => {
    await withClock(async (clock) => {
      const { own, ticks, state, ended, make } = ownTimers(clock);
      own.watch(make("a", 1500).w);
      own.watch(make("b").w);
      state.closed = true;
      await clock.tickAsync(5000);
      assert.deepEqual(ticks, []);
      assert.deepEqual(ended, []);
      assert.equal(clock.countTimers(), 0);
    });
  });

  it("where no timer can be set, rejects a timed wait, keeps an untimed one", async () => {
    await withClock(async (clock) => {
      const { own, make } = ownTimers(clock);
      const a = make("a", 100);
      assert.equal(withoutTimeout(() => own.watch(a.w)), false);
      assert.equal(a.w.settled, true);
      await assert.rejects(a.promise, /no timers in the global scope/);
      const b = make("b");
      assert.equal(withoutTimeout(() => own.watch(b.w)), true);
      assert.equal(b.w.settled, false);
      assert.equal(b.w.timer, undefined);
    });
  });
});
