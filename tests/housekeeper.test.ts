// Unit tests of the housekeeping schedule (_housekeeper.ts): a round every
// `delay` on a background timer, one at a time, its figures (rounds,
// errors, time, last), and, where no timer runs it, `overdue(now)` from the
// pool's gets and returns.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { flush, recordingLogger, withClock } from "./_helpers.ts";
import { Housekeeper } from "../_housekeeper.ts";

type Round = (now: number, n: number) => void | Promise<void>;

/** A Housekeeper whose rounds (by default) record "n@now". */
function keeper(delay: number, round?: Round) {
  const log = recordingLogger();
  const calls: string[] = [];
  const record: Round = (now, n) => void calls.push(`${n}@${now}`);
  const k = new Housekeeper(delay, round ?? record, log);
  return { k, log, calls };
}

/** Runs `fn` where setInterval throws, as in workerd's global scope. */
function withoutInterval<R>(fn: () => R): R {
  const setInterval = globalThis.setInterval;
  globalThis.setInterval = (() => {
    throw new Error("no timers in the global scope");
  }) as unknown as typeof setInterval;
  try {
    return fn();
  } finally {
    globalThis.setInterval = setInterval;
  }
}

describe("Housekeeper: delay 0", () => {
  it("sets no timer, logs nothing, and overdue() does nothing", async () => {
    await withClock(async (clock) => {
      const { k, log, calls } = keeper(0);
      assert.equal(clock.countTimers(), 0);
      await clock.tickAsync(1e6);
      k.overdue(performance.now());
      await flush();
      assert.deepEqual(calls, []);
      assert.deepEqual(log.lines, []);
      assert.equal(k.rounds, 0);
      assert.ok(Number.isNaN(k.last));
    });
  });
});

describe("Housekeeper: on its timer", () => {
  it("runs a round every delay with (now, n), and says so once", async () => {
    await withClock(async (clock) => {
      const { k, log, calls } = keeper(100);
      assert.deepEqual(log.lines, ["info housekeeping every 100 ms"]);
      assert.equal(clock.countTimers(), 1);
      await clock.tickAsync(99);
      assert.deepEqual(calls, []);
      await clock.tickAsync(201);
      assert.deepEqual(calls, ["1@100", "2@200", "3@300"]);
      assert.equal(k.rounds, 3);
      assert.equal(k.last, 300);
      assert.equal(k.errors, 0);
      k.stop();
    });
  });

  it("never overlaps rounds: a tick during a long round is skipped", async () => {
    await withClock(async (clock) => {
      const calls: string[] = [];
      const { k } = keeper(100, async (now, n) => {
        calls.push(`${n}@${now}`);
        await new Promise((r) => setTimeout(r, 250));
      });
      await clock.tickAsync(400);
      // round 1 runs 100-350: the ticks at 200 and 300 find it running
      assert.deepEqual(calls, ["1@100", "2@400"]);
      assert.equal(k.time, 250, "time spent in finished rounds");
      k.overdue(performance.now() + 1000);
      await flush();
      assert.equal(k.rounds, 2, "overdue() waits for the running round too");
      await clock.tickAsync(250);
      assert.equal(k.time, 500);
      k.stop();
    });
  });

  it("counts and logs a round that throws or rejects; the next one runs", async () => {
    await withClock(async (clock) => {
      const { k, log } = keeper(100, (_, n) => {
        if (n === 1) throw new Error("sync boom");
        if (n === 2) return Promise.reject(new Error("async boom"));
      });
      await clock.tickAsync(300);
      assert.equal(k.rounds, 3);
      assert.equal(k.errors, 2);
      assert.deepEqual(log.at("error"), [
        "error housekeeping round failed: sync boom",
        "error housekeeping round failed: async boom",
      ]);
      k.stop();
    });
  });

  it("a late tick right after an overdue round does not run another", async () => {
    await withClock(async (clock) => {
      // the interval's callback, fired by hand: a real timer can be late
      let tick!: () => void;
      const setInterval = globalThis.setInterval;
      globalThis.setInterval = ((fn: () => void) => {
        tick = fn;
        return 0;
      }) as unknown as typeof setInterval;
      let made: ReturnType<typeof keeper>;
      try {
        made = keeper(100);
      } finally {
        globalThis.setInterval = setInterval;
      }
      const { k, calls } = made;
      await clock.tickAsync(100);
      tick(); // on time
      await clock.tickAsync(101);
      k.overdue(performance.now()); // a get at 201: round 2 is overdue
      await clock.tickAsync(2);
      tick(); // the timer, 3 ms late
      await clock.tickAsync(97);
      tick(); // at 300, 99 ms after round 2
      await flush();
      assert.deepEqual(calls, ["1@100", "2@201", "3@300"]);
      k.stop();
    });
  });

  it("stop() clears its timer; no round runs after", async () => {
    await withClock(async (clock) => {
      const { k, calls } = keeper(100);
      await clock.tickAsync(100);
      k.stop();
      assert.equal(clock.countTimers(), 0);
      await clock.tickAsync(1000);
      k.overdue(performance.now());
      await flush();
      assert.deepEqual(calls, ["1@100"]);
    });
  });
});

describe("Housekeeper: overdue(now), where no timer runs rounds", () => {
  it("says it runs rounds from gets and returns, and sets no timer", async () => {
    await withClock(async (clock) => {
      const { k, log } = withoutInterval(() => keeper(100));
      assert.equal(clock.countTimers(), 0);
      assert.deepEqual(log.lines, [
        "info no timer here: housekeeping runs when gets and returns find a round overdue (every 100 ms)",
      ]);
      k.stop();
    });
  });

  it("runs a round only once it is due, then the next a delay later", async () => {
    await withClock(async (clock) => {
      const { k, calls } = withoutInterval(() => keeper(100));
      await clock.tickAsync(99);
      k.overdue(performance.now());
      await clock.tickAsync(1);
      assert.deepEqual(calls, [], "not due at 99");
      k.overdue(performance.now());
      k.overdue(performance.now());
      await flush();
      assert.deepEqual(calls, ["1@100"], "due at 100, run once");
      await clock.tickAsync(150);
      k.overdue(performance.now());
      await flush();
      assert.deepEqual(calls, ["1@100", "2@250"]);
      k.overdue(performance.now() + 99);
      await flush();
      assert.equal(k.rounds, 2, "the next is due at 350");
      k.overdue(performance.now() + 100);
      await flush();
      assert.equal(k.rounds, 3);
      k.stop();
    });
  });

  it("runs nothing while a round runs, nor after stop()", async () => {
    await withClock(async (clock) => {
      let finish!: () => void;
      const { k } = withoutInterval(() =>
        keeper(100, () => new Promise<void>((r) => finish = r))
      );
      await clock.tickAsync(100);
      k.overdue(performance.now());
      await clock.tickAsync(500);
      k.overdue(performance.now());
      await flush();
      assert.equal(k.rounds, 1, "round 1 still runs");
      finish();
      await flush();
      assert.equal(k.time, 500);
      k.stop();
      k.overdue(performance.now() + 1000);
      await flush();
      assert.equal(k.rounds, 1);
    });
  });
});
