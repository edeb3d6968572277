// Unit tests of the pending ready() calls (_ready.ts): waits kept until the
// pool resolves them together, rejects those without deadline (a creation
// error) or all of them (shutdown), or their own deadline or signal ends
// them; each one left settled and no longer watched.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { type Clock, withClock } from "./_helpers.ts";
import { ReadyWaits } from "../_ready.ts";
import { Watches } from "../_waiters.ts";

/** ReadyWaits over Watches outside workerd, and a wait() that watches. */
function readyWaits(clock: Clock) {
  const watches = new Watches<unknown>(() => {}, () => {}, () => false);
  const ready = new ReadyWaits<unknown>(
    watches,
    (timeout) => new Error(`not ready after ${timeout} ms`),
  );
  const settled: string[] = [];
  /** A wait named `name`, its ending recorded with the (virtual) time. */
  const wait = (name: string, timeout = Infinity, signal?: AbortSignal) => {
    const promise = ready.wait(timeout, signal, (w) => watches.watch(w));
    const done = promise.then(
      () => void settled.push(`${name} ready@${clock.now}`),
      (err: Error) => void settled.push(`${name} ${err.message}@${clock.now}`),
    );
    return { promise, done };
  };
  return { ready, wait, settled };
}

describe("ReadyWaits", () => {
  it("resolves every wait together, and stops watching them", async () => {
    await withClock(async (clock) => {
      const { ready, wait, settled } = readyWaits(clock);
      const a = wait("a", 100);
      const b = wait("b");
      assert.equal(ready.size, 2);
      assert.equal(clock.countTimers(), 1, "the deadline timer");
      ready.resolve();
      assert.equal(ready.size, 0);
      assert.equal(clock.countTimers(), 0, "no deadline left");
      await Promise.all([a.done, b.done]);
      assert.deepEqual(settled, ["a ready@0", "b ready@0"]);
    });
  });

  it("rejects only the waits without deadline at a creation error", async () => {
    await withClock(async (clock) => {
      const { ready, wait, settled } = readyWaits(clock);
      const timed = wait("timed", 100);
      const untimed = wait("untimed");
      let made = 0;
      ready.reject(() => new Error(`refused #${++made}`), true);
      assert.equal(ready.size, 1, "the timed wait rides it out");
      await untimed.done;
      assert.deepEqual(settled, ["untimed refused #1@0"]);
      await clock.tickAsync(100);
      await timed.done;
      assert.deepEqual(settled, [
        "untimed refused #1@0",
        "timed not ready after 100 ms@100",
      ]);
      assert.equal(ready.size, 0);
      assert.equal(clock.countTimers(), 0);
    });
  });

  it("rejects all at shutdown, each with an error of its own", async () => {
    await withClock(async (clock) => {
      const { ready, wait, settled } = readyWaits(clock);
      const a = wait("a", 100);
      const b = wait("b");
      let made = 0;
      ready.reject(() => new Error(`shut down #${++made}`), false);
      assert.equal(ready.size, 0);
      assert.equal(clock.countTimers(), 0);
      await Promise.all([a.done, b.done]);
      assert.deepEqual(settled, ["a shut down #1@0", "b shut down #2@0"]);
    });
  });

  it("ends a wait by its signal with the signal's reason", async () => {
    await withClock(async (clock) => {
      const { ready, wait, settled } = readyWaits(clock);
      const c = new AbortController();
      const a = wait("a", 100, c.signal);
      await clock.tickAsync(30);
      c.abort(new Error("aborted"));
      assert.equal(ready.size, 0);
      assert.equal(clock.countTimers(), 0);
      await a.done;
      assert.deepEqual(settled, ["a aborted@30"]);
      ready.resolve(); // nothing left to resolve
    });
  });

  it("keeps no wait whose signal aborted already", async () => {
    await withClock(async (clock) => {
      const { ready, wait, settled } = readyWaits(clock);
      const a = wait("a", 100, AbortSignal.abort(new Error("too late")));
      assert.equal(ready.size, 0);
      await a.done;
      assert.deepEqual(settled, ["a too late@0"]);
    });
  });

  it("shortestTimeout() is the shortest of those waiting, or Infinity", async () => {
    await withClock(async (clock) => {
      const { ready, wait } = readyWaits(clock);
      assert.equal(ready.shortestTimeout(), Infinity);
      const a = wait("a");
      assert.equal(ready.shortestTimeout(), Infinity);
      const b = wait("b", 300);
      const c = wait("c", 200);
      assert.equal(ready.shortestTimeout(), 200);
      ready.resolve();
      assert.equal(ready.shortestTimeout(), Infinity);
      await Promise.all([a.done, b.done, c.done]);
    });
  });
});
