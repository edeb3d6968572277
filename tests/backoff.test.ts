// Unit tests of the pause after failed creations (_backoff.ts): a base that
// doubles per round of failures up to backoffMax, jitter in [base/2, base],
// one round per pause whatever fails during it, caps for waiters with a
// deadline, and the outage figures (failing, failures, duration, lastError).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { fakeClock, withClock } from "./_helpers.ts";
import { Backoff } from "../_backoff.ts";

/** Runs `fn` with Math.random returning `random()`, restored afterwards. */
function withRandom<R>(random: () => number, fn: () => R): R {
  const saved = Math.random;
  Math.random = random;
  try {
    return fn();
  } finally {
    Math.random = saved;
  }
}

const boom = new Error("connection refused");

/** A Backoff(100, 800) that counts the ends of its pauses. */
function backoff(initial = 100, max = 800) {
  const ended: number[] = [];
  const b = new Backoff(initial, max, () => void ended.push(performance.now()));
  return { b, ended };
}

describe("Backoff: the pause", () => {
  it("doubles per round up to backoffMax, with jitter in [base/2, base]", async () => {
    await withClock(async (clock) => {
      /** The pauses of five rounds, with Math.random() always `r`. */
      const pauses = async (r: number) => {
        const { b } = backoff(100, 800);
        const out: number[] = [];
        for (let i = 0; i < 5; i++) {
          withRandom(() => r, () => b.failed(boom, Infinity));
          out.push(b.left);
          await clock.tickAsync(b.left); // the pause ends
        }
        b.stop();
        return out;
      };
      // Math.random's bounds give the bounds of each pause
      assert.deepEqual(await pauses(0), [50, 100, 200, 400, 400]);
      assert.deepEqual(await pauses(1), [100, 200, 400, 800, 800]);
      assert.deepEqual(await pauses(0.5), [75, 150, 300, 600, 600]);
    });
  });

  it("is neither lengthened nor restarted by failures during it", async () => {
    await withClock(async (clock) => {
      const { b, ended } = backoff();
      withRandom(() => 0, () => b.failed(boom, Infinity));
      assert.equal(b.left, 50);
      await clock.tickAsync(20);
      const later = new Error("still refused");
      withRandom(() => 0, () => b.failed(later, Infinity));
      withRandom(() => 0, () => b.failed(later, Infinity));
      assert.equal(b.left, 30, "the same pause runs on");
      assert.equal(b.failures, 3, "every failure counts in the outage");
      assert.equal(b.lastError, later);
      await clock.tickAsync(30);
      assert.deepEqual(ended, [50], "one pause, ended once");
      // the next failure starts round 2, not round 4
      withRandom(() => 0, () => b.failed(boom, Infinity));
      assert.equal(b.left, 100);
      b.stop();
    });
  });

  it("is capped by the cap failed() gets", async () => {
    await withClock(async () => {
      const { b } = backoff();
      withRandom(() => 1, () => b.failed(boom, 30));
      assert.equal(b.left, 30);
      b.stop();
    });
  });

  it("ends on its timer, which calls onEnd once and is gone", async () => {
    await withClock(async (clock) => {
      const { b, ended } = backoff();
      withRandom(() => 0.5, () => b.failed(boom, Infinity));
      assert.equal(b.left, 75);
      assert.equal(clock.countTimers(), 1);
      await clock.tickAsync(74);
      assert.equal(b.pausing(), true);
      assert.deepEqual(ended, []);
      await clock.tickAsync(1);
      assert.deepEqual(ended, [75]);
      assert.equal(b.pausing(), false);
      assert.equal(b.left, 0);
      assert.equal(clock.countTimers(), 0);
    });
  });

  it("ends lazily in pausing() where no timer can be set (workerd)", async () => {
    await withClock(async (clock) => {
      const { b, ended } = backoff();
      const setTimeout = globalThis.setTimeout;
      globalThis.setTimeout = (() => {
        throw new Error("no timers in the global scope");
      }) as unknown as typeof setTimeout;
      try {
        withRandom(() => 0, () => b.failed(boom, Infinity));
      } finally {
        globalThis.setTimeout = setTimeout;
      }
      assert.equal(clock.countTimers(), 0);
      await clock.tickAsync(49);
      assert.equal(b.pausing(), true);
      await clock.tickAsync(1);
      assert.equal(b.left, 0);
      assert.equal(b.pausing(), false, "overdue: ended on the spot");
      assert.deepEqual(ended, [], "onEnd is for a timer that ends it");
      // the pause is over: the next failure starts the next round
      withRandom(() => 0, () => b.failed(boom, Infinity));
      assert.equal(b.left, 100);
      b.stop();
    });
  });

  it("stop() ends the pause and leaves no timer; the outage goes on", async () => {
    await withClock(async (clock) => {
      const { b, ended } = backoff();
      b.failed(boom, Infinity);
      b.stop();
      assert.equal(clock.countTimers(), 0);
      assert.equal(b.pausing(), false);
      assert.equal(b.left, 0);
      await clock.tickAsync(1000);
      assert.deepEqual(ended, []);
      assert.equal(b.failing, true);
      assert.equal(b.failures, 1);
    });
  });
});

describe("Backoff: caps for waiters with a deadline", () => {
  it("capFor(timeout) is an eighth of it, at least backoffInitial", () => {
    const { b } = backoff();
    assert.equal(b.capFor(8000), 1000);
    assert.equal(b.capFor(800), 100);
    assert.equal(b.capFor(80), 100);
    assert.equal(b.capFor(Infinity), Infinity);
  });

  it("capTo(timeout) shortens a longer pause, never lengthens one", async () => {
    await withClock(async (clock) => {
      const { b, ended } = backoff(100, 10_000);
      for (let i = 0; i < 4; i++) {
        withRandom(() => 1, () => b.failed(boom, Infinity));
        await clock.tickAsync(b.left);
      }
      withRandom(() => 1, () => b.failed(boom, Infinity));
      assert.equal(b.left, 1600);
      b.capTo(4000); // cap 500
      assert.equal(b.left, 500);
      b.capTo(80_000); // cap 10,000: longer, kept at 500
      assert.equal(b.left, 500);
      assert.equal(clock.countTimers(), 1, "the timer was moved, not added");
      await clock.tickAsync(500);
      assert.equal(ended.length, 5);
      assert.equal(ended[4] - ended[3], 500);
      b.capTo(100); // no pause: nothing to shorten
      assert.equal(clock.countTimers(), 0);
    });
  });
});

describe("Backoff: the outage", () => {
  it("failed() is true only for the first failure of an outage", async () => {
    await withClock(async (clock) => {
      const { b } = backoff();
      assert.equal(b.failing, false);
      assert.equal(b.failed(boom, Infinity), true);
      assert.equal(b.failed(boom, Infinity), false, "during the pause");
      await clock.tickAsync(1000);
      assert.equal(b.failed(boom, Infinity), false, "after it");
      b.succeeded();
      assert.equal(b.failed(boom, Infinity), true, "a new outage");
      b.stop();
    });
  });

  it("keeps since when, how many failures and the last error", async () => {
    await withClock(async (clock) => {
      const { b } = backoff();
      assert.equal(b.duration, 0);
      assert.equal(b.lastError, undefined);
      await clock.tickAsync(10);
      b.failed(new Error("first"), Infinity);
      await clock.tickAsync(250);
      b.failed(boom, Infinity);
      assert.equal(b.failing, true);
      assert.equal(b.failures, 2);
      assert.equal(b.duration, 250);
      assert.equal(b.lastError, boom);
      b.stop();
    });
  });

  it("succeeded() resets the rounds and the outage, and stops the timer", async () => {
    await withClock(async (clock) => {
      const { b, ended } = backoff();
      for (let i = 0; i < 3; i++) {
        withRandom(() => 0, () => b.failed(boom, Infinity));
        await clock.tickAsync(b.left);
      }
      withRandom(() => 0, () => b.failed(boom, Infinity));
      assert.equal(b.left, 400);
      b.succeeded();
      assert.equal(clock.countTimers(), 0);
      assert.equal(b.pausing(), false);
      assert.equal(b.failing, false);
      assert.equal(b.failures, 0);
      assert.equal(b.duration, 0);
      assert.equal(b.lastError, undefined);
      await clock.tickAsync(1000);
      assert.equal(ended.length, 3, "the stopped pause never ends");
      withRandom(() => 0, () => b.failed(boom, Infinity));
      assert.equal(b.left, 50, "round 1 again");
      b.stop();
    });
  });
});

describe("Backoff: model", () => {
  it("matches a model under random failures, waits, caps and successes", () => {
    // initial 64 and jitter in 32nds keep every pause a whole number of ms
    const op = fc.oneof(
      fc.record({
        op: fc.constant("fail" as const),
        r: fc.integer({ min: 0, max: 31 }),
        timeout: fc.option(fc.integer({ min: 1, max: 1000 }).map((t) => t * 8)),
      }),
      fc.record({ op: fc.constant("tick" as const), ms: fc.nat(3000) }),
      fc.record({
        op: fc.constant("capTo" as const),
        timeout: fc.integer({ min: 1, max: 1000 }).map((t) => t * 8),
      }),
      fc.record({ op: fc.constant("succeed" as const) }),
    );
    fc.assert(
      fc.property(fc.nat(6), fc.array(op, { maxLength: 40 }), (m, ops) => {
        const clock = fakeClock();
        try {
          const initial = 64;
          const max = initial * 2 ** m;
          let ends = 0;
          const b = new Backoff(initial, max, () => void ends++);
          // the model
          let now = 0;
          let until = 0;
          let rounds = 0;
          let since = -1;
          let failures = 0;
          let modelEnds = 0;
          const cap = (t: number) => Math.max(initial, t / 8);
          for (const o of ops) {
            if (o.op === "fail") {
              const c = o.timeout === null ? Infinity : cap(o.timeout);
              const first = withRandom(() => o.r / 32, () => b.failed(0, c));
              assert.equal(first, since === -1);
              if (since === -1) since = now;
              failures++;
              if (until === 0) {
                rounds++;
                const base = Math.min(max, initial * 2 ** (rounds - 1));
                until = now + Math.min(base / 2 + (o.r / 32) * base / 2, c);
              }
            } else if (o.op === "tick") {
              clock.tick(o.ms);
              now += o.ms;
              if (until !== 0 && now >= until) {
                until = 0;
                modelEnds++;
              }
            } else if (o.op === "capTo") {
              b.capTo(o.timeout);
              if (until !== 0 && until - now > cap(o.timeout)) {
                until = now + cap(o.timeout);
              }
            } else {
              b.succeeded();
              [until, rounds, since, failures] = [0, 0, -1, 0];
            }
            assert.equal(b.left, until === 0 ? 0 : until - now);
            assert.equal(b.failing, since !== -1);
            assert.equal(b.failures, failures);
            assert.equal(b.duration, since === -1 ? 0 : now - since);
            assert.equal(ends, modelEnds);
            assert.equal(clock.countTimers(), until === 0 ? 0 : 1);
            assert.equal(b.pausing(), until !== 0);
          }
          b.stop();
          assert.equal(clock.countTimers(), 0);
        } finally {
          clock.uninstall();
        }
      }),
      { numRuns: 300 },
    );
  });
});
