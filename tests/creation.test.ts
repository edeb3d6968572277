// Unit tests of one creation (_creation.ts): calling `fun`, adopting what it
// returns, giving up at createTimeout (its signal aborts), and still seeing
// a given-up attempt to its end, so that a late object is reported, not
// leaked; then the opener, which fails the creation the same ways.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { type Clock, flush, recordingLogger, withClock } from "./_helpers.ts";
import { Creation, type CreationSink, type OpenFailure } from "../_creation.ts";
import { HookRunner } from "../_hooks.ts";
import { CreationError } from "../errors.ts";

type Obj = { id: string };

/** A sink that records what it is told, as readable lines. */
function recorder() {
  const events: string[] = [];
  const errors: unknown[] = [];
  const sink: CreationSink<Obj> = {
    created: (_, obj) => void events.push(`created ${obj.id}`),
    failed: (_, err, what) => {
      errors.push(err);
      events.push(`failed ${what ?? "-"}: ${(err as Error).message}`);
    },
    arrivedLate: (_, obj) => void events.push(`arrivedLate ${obj.id}`),
    endedLate: () => void events.push("endedLate"),
  };
  return { sink, events, errors };
}

/** A `fun` whose promise the test settles. */
function deferred() {
  let resolve!: (obj: Obj) => void;
  let reject!: (err: Error) => void;
  const fun = () =>
    new Promise<Obj>((res, rej) => {
      resolve = res;
      reject = rej;
    });
  return {
    fun,
    resolve: (obj: Obj) => resolve(obj),
    reject: (err: Error) => reject(err),
  };
}

describe("Creation: synchronous fun", () => {
  it("reports created before run() returns", () => {
    const { sink, events } = recorder();
    const c = new Creation<Obj>(7, 100);
    const args: unknown[] = [];
    c.run((...a) => {
      args.push(...a);
      return { id: "a" };
    }, sink);
    assert.deepEqual(events, ["created a"]);
    assert.deepEqual(args, [7, c.attempt.signal], "fun(n, signal)");
    assert.equal(c.running, false);
  });

  it("reports a throw as failed(err, 'fun threw'), never throws itself", () => {
    const { sink, events } = recorder();
    new Creation<Obj>(0, 100).run(() => {
      throw new Error("refused");
    }, sink);
    assert.deepEqual(events, ["failed fun threw: refused"]);
  });

  it("reports a `then` getter that throws as a failure", () => {
    const { sink, events } = recorder();
    const weird = {
      get then() {
        throw new Error("no then here");
      },
    };
    new Creation<Obj>(0, 100).run(() => weird as unknown as Obj, sink);
    assert.deepEqual(events, ["failed fun threw: no then here"]);
  });

  it("sets no timer", async () => {
    await withClock(async (clock) => {
      const { sink } = recorder();
      new Creation<Obj>(0, 100).run(() => ({ id: "a" }), sink);
      assert.equal(clock.countTimers(), 0);
    });
  });
});

describe("Creation: asynchronous fun", () => {
  it("reports created when it resolves; running until then", async () => {
    await withClock(async (clock) => {
      const { sink, events } = recorder();
      const d = deferred();
      const c = new Creation<Obj>(0, 100);
      c.run(d.fun, sink);
      assert.equal(c.running, true);
      assert.equal(clock.countTimers(), 1, "the createTimeout timer");
      await clock.tickAsync(50);
      d.resolve({ id: "a" });
      await flush();
      assert.deepEqual(events, ["created a"]);
      assert.equal(c.running, false);
      assert.equal(clock.countTimers(), 0, "timer cleared");
      await clock.tickAsync(100);
      assert.deepEqual(events, ["created a"], "no timeout afterwards");
    });
  });

  it("reports a rejection as failed(err, 'fun threw')", async () => {
    await withClock(async (clock) => {
      const { sink, events } = recorder();
      const d = deferred();
      const c = new Creation<Obj>(0, 100);
      c.run(d.fun, sink);
      d.reject(new Error("refused"));
      await flush();
      assert.deepEqual(events, ["failed fun threw: refused"]);
      assert.equal(c.running, false);
      assert.equal(c.abandoned, false);
      assert.equal(clock.countTimers(), 0);
    });
  });

  it("reports a thenable whose then() throws as a failure", async () => {
    const { sink, events } = recorder();
    const weird = {
      then() {
        throw new Error("bad then");
      },
    };
    new Creation<Obj>(0, Infinity).run(() => weird as PromiseLike<Obj>, sink);
    await flush();
    assert.deepEqual(events, ["failed fun threw: bad then"]);
  });

  it("sets no timer without createTimeout", async () => {
    await withClock(async (clock) => {
      const { sink, events } = recorder();
      const c = new Creation<Obj>(0, Infinity);
      c.run(deferred().fun, sink);
      assert.equal(clock.countTimers(), 0);
      await clock.tickAsync(1e9);
      assert.deepEqual(events, []);
      assert.equal(c.running, true);
    });
  });
});

describe("Creation: createTimeout", () => {
  /** A creation given up at createTimeout (100 ms), its fun still running. */
  async function givenUp(clock: Clock) {
    const rec = recorder();
    const d = deferred();
    const c = new Creation<Obj>(3, 100);
    c.run(d.fun, rec.sink);
    await clock.tickAsync(99);
    assert.deepEqual(rec.events, []);
    assert.equal(c.abandoned, false);
    await clock.tickAsync(1);
    return { ...rec, ...d, c };
  }

  it("fails with a CreationError naming createTimeout, and aborts the signal", async () => {
    await withClock(async (clock) => {
      const { c, events, errors } = await givenUp(clock);
      assert.deepEqual(events, [
        "failed -: fun did not settle within createTimeout (100 ms)",
      ]);
      assert.ok(errors[0] instanceof CreationError);
      assert.equal(c.abandoned, true);
      assert.equal(c.running, false);
      assert.equal(c.attempt.signal.aborted, true);
      assert.equal(c.attempt.signal.reason, errors[0]);
      assert.equal(clock.countTimers(), 0);
    });
  });

  it("an object that arrives late goes to arrivedLate, not created", async () => {
    await withClock(async (clock) => {
      const { events, resolve } = await givenUp(clock);
      resolve({ id: "late" });
      await flush();
      assert.deepEqual(events.slice(1), ["arrivedLate late"]);
    });
  });

  it("a late rejection goes to endedLate, not failed again", async () => {
    await withClock(async (clock) => {
      const { events, reject } = await givenUp(clock);
      reject(new Error("refused"));
      await flush();
      assert.deepEqual(events.slice(1), ["endedLate"]);
    });
  });

  it("stopTimer() clears the timer: no failure is reported afterwards", async () => {
    await withClock(async (clock) => {
      const { sink, events } = recorder();
      const c = new Creation<Obj>(0, 100);
      c.run(deferred().fun, sink);
      c.stopTimer();
      assert.equal(clock.countTimers(), 0);
      await clock.tickAsync(1000);
      assert.deepEqual(events, []);
      assert.equal(c.abandoned, false);
      assert.equal(c.attempt.signal.aborted, false);
    });
  });
});

describe("Creation: the opener", () => {
  /** Runs `opener` on { id: "a" } within 100 ms; records how it ended. */
  function open(
    opener: (obj: Obj, signal: AbortSignal) => void | PromiseLike<void>,
  ) {
    const hooks = new HookRunner<unknown>(recordingLogger(), String);
    const c = new Creation<Obj>(3, 100);
    const ended: string[] = [];
    const done = (failed: OpenFailure | undefined, late: boolean) =>
      void ended.push(
        `${late ? "late " : ""}${
          failed === undefined
            ? "opened"
            : `failed ${failed.what ?? "-"}: ${(failed.err as Error).message}`
        }`,
      );
    const runsOn = c.open(opener, { id: "a" }, hooks, done);
    return { c, hooks, ended, runsOn };
  }

  it("reports a sync opener at once, with the creation's signal", () => {
    const args: unknown[] = [];
    const { c, ended, runsOn } = open((...a) => void args.push(...a));
    assert.equal(runsOn, false);
    assert.deepEqual(ended, ["opened"]);
    assert.deepEqual(args, [{ id: "a" }, c.attempt.signal]);
    const threw = open(() => {
      throw new Error("refused");
    });
    assert.equal(threw.runsOn, false);
    assert.deepEqual(threw.ended, ["failed opener threw: refused"]);
  });

  it("reports an async opener when it settles", async () => {
    await withClock(async () => {
      const ok = open(() => Promise.resolve());
      assert.equal(ok.runsOn, true);
      assert.deepEqual(ok.ended, []);
      const rejected = open(() => Promise.reject(new Error("refused")));
      await flush();
      assert.deepEqual(ok.ended, ["late opened"]);
      assert.deepEqual(rejected.ended, ["late failed opener threw: refused"]);
      assert.equal(ok.c.attempt.signal.aborted, false);
    });
  });

  it("fails at createTimeout with a CreationError, and aborts the signal", async () => {
    await withClock(async (clock) => {
      const { c, ended } = open(() => new Promise<void>(() => {}));
      await clock.tickAsync(100);
      assert.deepEqual(ended, [
        "late failed -: opener did not settle within createTimeout (100 ms)",
      ]);
      assert(c.attempt.signal.reason instanceof CreationError);
    });
  });

  it("ends when the hook runner stops (shutdown), as at createTimeout", async () => {
    await withClock(async () => {
      const { hooks, ended } = open(() => new Promise<void>(() => {}));
      hooks.stop();
      await flush();
      assert.deepEqual(ended, [
        "late failed -: opener did not settle within createTimeout (100 ms)",
      ]);
    });
  });
});
