// Unit tests of the TimeoutError of a wait (_timeout.ts): why nothing came,
// from what the pool tells of itself, the first reason that holds, in order;
// the last creation error as its cause while creations fail; no stack.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { withClock } from "./_helpers.ts";
import { TimeoutError } from "../errors.ts";
import { Backoff } from "../_backoff.ts";
import { type Shortage, timeoutError } from "../_timeout.ts";

/** A pool's state: one object alive and lent of maxSize 1, unless told. */
function shortage(s: Partial<Shortage> = {}): Shortage {
  return {
    alive: 1,
    using: 1,
    maxSize: 1,
    outage: new Backoff(100, 1000, () => {}),
    creatingSince: undefined,
    limited: undefined,
    ...s,
  };
}

describe("timeoutError", () => {
  it("says objects are lent, or none could be created, when nothing else holds", () => {
    const lent = timeoutError("Timed out", shortage());
    assert(lent instanceof TimeoutError);
    assert.equal(
      lent.message,
      "Timed out: objects are lent (1 alive, 1 in use, maxSize 1); give objects back sooner, or raise maxSize or the timeout",
    );
    assert.equal(lent.cause, undefined);
    assert.match(
      timeoutError("T", shortage({ alive: 0, using: 0, maxSize: 0 })).message,
      /^T: no object could be created \(0 alive, 0 in use, maxSize unlimited\)/,
    );
  });

  it("says creations fail, with the last error as its cause", async () => {
    await withClock(async () => {
      const outage = new Backoff(100, 1000, () => {});
      const refused = new Error("connection refused");
      outage.failed(refused, Infinity);
      const err = timeoutError(
        "T",
        shortage({ outage, creatingSince: 0, limited: "full" }),
      );
      assert.match(
        err.message,
        /^T: the pool cannot create objects \(1 alive, 1 in use, maxSize 1\): the last creation failed: connection refused$/,
      );
      assert.equal(err.cause, refused);
      outage.stop();
    });
  });

  it("says a creation is under way, when there is room for it", async () => {
    await withClock(async (clock) => {
      clock.tick(1500);
      const s = shortage({ using: 0, maxSize: 2, creatingSince: 500 });
      assert.match(
        timeoutError("T", s).message,
        /^T: a creation has been under way for 1000 ms \(1 alive, 0 in use, maxSize 2\): is the backend slow/,
      );
      // every object lent: the creation is not why
      assert.match(
        timeoutError("T", shortage({ creatingSince: 500 })).message,
        /^T: objects are lent/,
      );
    });
  });

  it("says every object is under the pool's own work, then a full shared limit", () => {
    assert.match(
      timeoutError("T", shortage({ using: 0, limited: "full" })).message,
      /^T: every object is under the pool's own work \(1 alive, 0 in use, maxSize 1: checks, hooks\)/,
    );
    assert.equal(
      timeoutError("T", shortage({ limited: "maxTotal is reached" })).message,
      "T: maxTotal is reached (1 alive, 1 in use, maxSize 1)",
    );
  });

  it("captures no stack, and leaves Error.stackTraceLimit as it was", () => {
    const E = Error as { stackTraceLimit?: number };
    const before = E.stackTraceLimit;
    const err = timeoutError("T", shortage());
    assert.equal(E.stackTraceLimit, before);
    // V8 (deno, node) leaves only the first line; JavaScriptCore (bun)
    // has no stackTraceLimit, and keeps its stack
    if (typeof before === "number" && !("Bun" in globalThis)) {
      assert.equal(err.stack?.split("\n").length, 1);
    }
  });
});
