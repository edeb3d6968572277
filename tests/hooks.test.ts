// Unit tests of the hook runner (_hooks.ts): each hook ends OK, BAD (a check
// said false), THREW or HUNG (past its limit, or cut short at shutdown),
// synchronously when the hook is, and what went wrong is logged once.
// Closers are tracked until they settle, so that shutdown can wait for them.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { flush, recordingLogger, withClock } from "./_helpers.ts";
import {
  BAD,
  brokenVerdict,
  hookKinds,
  HookRunner,
  HUNG,
  OK,
  THREW,
} from "../_hooks.ts";

const kinds = hookKinds(50, 200);

/** A runner that names its objects "#n" and logs into `log.lines`. */
function runner() {
  const log = recordingLogger();
  return { hooks: new HookRunner<number>(log, (n) => `#${n}`), log };
}

const never = () => new Promise<never>(() => {});

describe("hookKinds", () => {
  it("bounds getter, retter and reset by hookTimeout, checks by healthTimeout", () => {
    assert.deepEqual(
      Object.values(kinds).map((k) => [k.name, k.limit, k.limitName]),
      [
        ["getter", 50, "hookTimeout"],
        ["retter", 50, "hookTimeout"],
        ["reset", 50, "hookTimeout"],
        ["health", 200, "healthTimeout"],
        ["check", 200, "healthTimeout"],
      ],
    );
  });

  it("judges health and check only; a failed reset alone is fatal", () => {
    const judged = Object.values(kinds).filter((k) => k.judge);
    assert.deepEqual(judged.map((k) => k.name), ["health", "check"]);
    const fatal = Object.values(kinds).filter((k) => k.fatal);
    assert.deepEqual(fatal.map((k) => k.name), ["reset"]);
  });
});

describe("HookRunner.run: sync hooks, sync outcomes", () => {
  it("OK for whatever a hook returns, but false from a check", () => {
    const { hooks, log } = runner();
    assert.equal(hooks.run(kinds.getter, () => false, {}, 1), OK);
    assert.equal(hooks.run(kinds.health, () => undefined, {}, 1), OK);
    assert.equal(hooks.run(kinds.check, () => 0, {}, 1), OK);
    assert.deepEqual(log.lines, []);
  });

  it("BAD when a check returns false, with a warning", () => {
    const { hooks, log } = runner();
    assert.equal(hooks.run(kinds.health, () => false, {}, 7), BAD);
    assert.equal(hooks.run(kinds.check, () => false, {}, 8), BAD);
    assert.deepEqual(log.lines, [
      "warn health says #7 is bad",
      "warn check says #8 is bad",
    ]);
  });

  it("THREW when it throws, logged once; a failed reset closes its object", () => {
    const { hooks, log } = runner();
    const boom = () => {
      throw new Error("boom");
    };
    assert.equal(hooks.run(kinds.retter, boom, {}, 1), THREW);
    assert.equal(hooks.run(kinds.reset, boom, {}, 2), THREW);
    assert.deepEqual(log.lines, [
      "error retter threw on #1: boom",
      "error reset failed on #2, closing it: boom",
    ]);
  });

  it("THREW when what it returns has a `then` getter that throws", () => {
    const { hooks, log } = runner();
    const weird = {
      get then() {
        throw new Error("no then here");
      },
    };
    assert.equal(hooks.run(kinds.getter, () => weird, {}, 3), THREW);
    assert.deepEqual(log.lines, ["error getter threw on #3: no then here"]);
  });

  it("passes the object to the hook", () => {
    const { hooks } = runner();
    const obj = { n: 1 };
    let seen: unknown;
    hooks.run(kinds.getter, (o) => void (seen = o), obj, 1);
    assert.equal(seen, obj);
  });
});

describe("HookRunner.run: async hooks", () => {
  it("gives a promise of the outcome: OK, BAD or THREW", async () => {
    await withClock(async () => {
      const { hooks, log } = runner();
      const ok = hooks.run(kinds.getter, async () => false, {}, 1);
      assert.ok(ok instanceof Promise);
      assert.equal(await ok, OK);
      assert.equal(await hooks.run(kinds.check, async () => false, {}, 2), BAD);
      const rejects = async () => {
        throw new Error("gone");
      };
      assert.equal(await hooks.run(kinds.health, rejects, {}, 3), THREW);
      assert.deepEqual(log.lines, [
        "warn check says #2 is bad",
        "error health threw on #3: gone",
      ]);
    });
  });

  it("HUNG at its limit, logged with the option that sets it", async () => {
    await withClock(async (clock) => {
      const { hooks, log } = runner();
      const outcomes: number[] = [];
      for (const [kind, n] of [[kinds.getter, 1], [kinds.health, 2]] as const) {
        void Promise.resolve(hooks.run(kind, never, {}, n))
          .then((o) => outcomes.push(o));
      }
      await clock.tickAsync(49);
      assert.deepEqual(outcomes, []);
      await clock.tickAsync(1);
      assert.deepEqual(outcomes, [HUNG]);
      await clock.tickAsync(150);
      assert.deepEqual(outcomes, [HUNG, HUNG]);
      assert.deepEqual(log.lines, [
        "error getter of #1 did not settle within hookTimeout (50 ms); closing it",
        "error health of #2 did not settle within healthTimeout (200 ms); counting it as bad",
      ]);
      assert.equal(clock.countTimers(), 0);
    });
  });

  it("clears the limit's timer when the hook settles in time", async () => {
    await withClock(async (clock) => {
      const { hooks, log } = runner();
      let resolve!: () => void;
      const p = hooks.run(
        kinds.retter,
        () => new Promise<void>((r) => resolve = r),
        {},
        1,
      );
      assert.equal(clock.countTimers(), 1);
      resolve();
      assert.equal(await p, OK);
      assert.equal(clock.countTimers(), 0);
      assert.deepEqual(log.lines, []);
    });
  });

  it("stop() ends every wait HUNG at once, without logging it", async () => {
    await withClock(async (clock) => {
      const { hooks, log } = runner();
      assert.equal(hooks.stopped, false);
      const a = hooks.run(kinds.getter, never, {}, 1);
      const b = hooks.run(kinds.check, never, {}, 2);
      hooks.stop();
      assert.equal(hooks.stopped, true);
      assert.deepEqual(await Promise.all([a, b]), [HUNG, HUNG]);
      assert.equal(clock.now, 0, "no time passed");
      assert.equal(clock.countTimers(), 0);
      assert.deepEqual(log.lines, []);
    });
  });
});

describe("HookRunner.within", () => {
  it("settles with the promise, or ok: false at the limit", async () => {
    await withClock(async (clock) => {
      const { hooks } = runner();
      assert.deepEqual(await hooks.within(Promise.resolve(5), 10), {
        ok: true,
        value: 5,
      });
      const late = hooks.within(never(), 10);
      await clock.tickAsync(10);
      assert.deepEqual(await late, { ok: false });
    });
  });
});

describe("HookRunner.close and closed", () => {
  it("logs a closer that throws or rejects", async () => {
    const { hooks, log } = runner();
    hooks.close(
      () => {
        throw new Error("sync");
      },
      {},
      1,
    );
    hooks.close(() => Promise.reject(new Error("async")), {}, 2);
    await flush();
    assert.deepEqual(log.lines, [
      "error closer threw on #1: sync",
      "error closer threw on #2: async",
    ]);
  });

  it("logs a closer whose result has a `then` getter that throws", () => {
    const { hooks, log } = runner();
    const weird = {
      get then() {
        throw new Error("no then here");
      },
    };
    hooks.close(() => weird, {}, 1);
    assert.deepEqual(log.lines, ["error closer threw on #1: no then here"]);
  });

  it("closed() is done at once with no closer running", async () => {
    const { hooks } = runner();
    hooks.close(() => {}, {}, 1);
    assert.deepEqual(await hooks.closed(10), { done: true, left: 0, of: 0 });
  });

  it("closed() waits for async closers, even one that rejects", async () => {
    await withClock(async (clock) => {
      const { hooks } = runner();
      const settle: (() => void)[] = [];
      hooks.close(() => new Promise<void>((r) => settle.push(r)), {}, 1);
      hooks.close(
        () => new Promise<void>((_, j) => settle.push(() => j(new Error("x")))),
        {},
        2,
      );
      let result: unknown;
      void hooks.closed(1000).then((r) => result = r);
      await clock.tickAsync(100);
      assert.equal(result, undefined);
      settle.forEach((s) => s());
      await clock.tickAsync(0);
      assert.deepEqual(result, { done: true, left: 0, of: 2 });
      assert.equal(clock.countTimers(), 0);
    });
  });

  it("closed() gives up at its limit, saying how many still run", async () => {
    await withClock(async (clock) => {
      const { hooks } = runner();
      hooks.close(never, {}, 1);
      hooks.close(async () => {}, {}, 2);
      await clock.tickAsync(0); // the quick one is done
      let result: unknown;
      void hooks.closed(500).then((r) => result = r);
      await clock.tickAsync(499);
      assert.equal(result, undefined);
      await clock.tickAsync(1);
      assert.deepEqual(result, { done: false, left: 1, of: 1 });
    });
  });
});

describe("brokenVerdict", () => {
  const boom = new Error("boom");

  it("passes on true, false and undefined, logging nothing", () => {
    const log = recordingLogger();
    const seen: unknown[] = [];
    for (const said of [true, false, undefined]) {
      const verdict = brokenVerdict(
        (err, obj) => {
          seen.push([err, obj]);
          return said;
        },
        boom,
        "obj",
        log,
      );
      assert.equal(verdict, said);
    }
    assert.deepEqual(seen, Array(3).fill([boom, "obj"]));
    assert.deepEqual(log.lines, []);
  });

  it("logs a classifier that throws, or says anything else: it cannot tell", () => {
    const log = recordingLogger();
    assert.equal(
      brokenVerdict(
        () => {
          throw new Error("oops");
        },
        boom,
        "obj",
        log,
      ),
      undefined,
    );
    assert.equal(brokenVerdict(() => "yes", boom, "obj", log), undefined);
    assert.deepEqual(log.lines, [
      "error isBroken threw: oops; treating the object as suspect",
      `error isBroken returned "yes": it must return true, false or undefined; treating the object as suspect`,
    ]);
  });
});
