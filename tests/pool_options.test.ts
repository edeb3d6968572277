// Construction and argument validation, and the computed housekeeping delay.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  Pool,
  POOL_OPTION_NAMES,
  type PoolOptions,
  TimeoutError,
} from "../mod.ts";
import { track } from "./_track.ts";
import { recordingLogger, withClock } from "./_helpers.ts";

type Opts = PoolOptions<{ n: number }>;
const fun = (n: number) => ({ n });
const MAX_TIMER_DELAY = 2 ** 31 - 1;

/** Builds a pool from options a user might pass, typed or not. */
function make(extra: Record<string, unknown>): Pool<{ n: number }> {
  return new Pool({ fun, logLevel: "off", ...extra } as Opts);
}

/**
 * Asserts that building a pool with `extra` throws `type`, with a message
 * naming the option and showing the value, and that `fun` was never called.
 */
function refuses(
  extra: Record<string, unknown>,
  type: typeof TypeError | typeof RangeError,
  name: string,
  shown: string,
): void {
  let calls = 0;
  const counting = (n: number) => (calls++, { n });
  let err: unknown;
  try {
    new Pool({ fun: counting, logLevel: "off", ...extra } as Opts);
  } catch (e) {
    err = e;
  }
  const label = `${name} = ${shown}`;
  assert.ok(err instanceof Error, `${label}: nothing thrown`);
  assert.equal(err.constructor, type, `${label}: ${err.constructor.name}`);
  assert.ok(
    err.message.includes(`'${name}'`),
    `${label}: message does not name the option: ${err.message}`,
  );
  assert.ok(
    err.message.includes(shown),
    `${label}: message does not show the value: ${err.message}`,
  );
  assert.equal(calls, 0, `${label}: fun was called`);
}

describe("Pool options: required fun and the options object", () => {
  it("refuses a missing or non-object options argument", () => {
    for (const bad of [undefined, null, 42, "fun"]) {
      assert.throws(
        () => new Pool(bad as unknown as Opts),
        (err: Error) =>
          err instanceof TypeError && /'options'/.test(err.message),
      );
    }
  });

  it("refuses a missing or non-function fun with a TypeError naming it", () => {
    assert.throws(
      () => new Pool({} as Opts),
      (err: Error) =>
        err instanceof TypeError && /'fun'/.test(err.message) &&
        /undefined/.test(err.message),
    );
    refuses({ fun: "x" }, TypeError, "fun", '"x"');
    refuses({ fun: 42 }, TypeError, "fun", "42");
  });
});

describe("Pool options: hooks", () => {
  const hooks = [
    "opener",
    "getter",
    "retter",
    "closer",
    "health",
    "stats",
    "tracer",
    "check",
    "reset",
  ];

  for (const hook of hooks) {
    it(`refuses a non-function ${hook}`, () => {
      refuses({ [hook]: "nope" }, TypeError, hook, '"nope"');
      refuses({ [hook]: 3 }, TypeError, hook, "3");
      refuses({ [hook]: null }, TypeError, hook, "null");
      refuses({ [hook]: { call: 1 } }, TypeError, hook, '{"call":1}');
    });
  }

  it("accepts every hook as a function, and undefined as absent", async () => {
    const pool = make(
      Object.fromEntries(hooks.map((h) => [h, h === "stats" ? () => 1 : noop])),
    );
    const again = make(Object.fromEntries(hooks.map((h) => [h, undefined])));
    assert.equal(pool.stats().nobjs, 1);
    assert.equal(again.stats().nobjs, 1);
    await Promise.all([pool.shutdown(), again.shutdown()]);
  });
});

function noop(): void {}

describe("Pool options: counts", () => {
  // non-negative integers
  for (const name of ["maxSize", "minSize", "maxUse", "maxWaiting"]) {
    it(`${name} must be a non-negative integer`, () => {
      const extra = (v: unknown) =>
        name === "minSize" ? { minSize: v } : { minSize: 0, [name]: v };
      refuses(extra(-1), RangeError, name, "-1");
      refuses(extra(1.5), RangeError, name, "1.5");
      refuses(extra(NaN), RangeError, name, "NaN");
      refuses(extra(Infinity), RangeError, name, "Infinity");
      refuses(extra("2"), TypeError, name, '"2"');
      refuses(extra(null), TypeError, name, "null");
      refuses(extra(2n), TypeError, name, "2n");
    });
  }

  // positive integers
  for (const name of ["healthFreq", "maxCreating"]) {
    it(`${name} must be a positive integer`, () => {
      refuses({ [name]: 0 }, RangeError, name, "0");
      refuses({ [name]: -2 }, RangeError, name, "-2");
      refuses({ [name]: 2.5 }, RangeError, name, "2.5");
      refuses({ [name]: NaN }, RangeError, name, "NaN");
      refuses({ [name]: Infinity }, RangeError, name, "Infinity");
      refuses({ [name]: "1" }, TypeError, name, '"1"');
    });
  }

  it("refuses minSize > maxSize, naming both", () => {
    assert.throws(
      () => make({ minSize: 3, maxSize: 2 }),
      (err: Error) =>
        err instanceof RangeError && /'minSize'/.test(err.message) &&
        /'maxSize' \(2\)/.test(err.message) && /3/.test(err.message),
    );
  });

  it("accepts minSize = maxSize, and any minSize with maxSize 0 (unlimited)", async () => {
    const a = make({ minSize: 2, maxSize: 2 });
    const b = make({ minSize: 5, maxSize: 0 });
    assert.equal(a.stats().nobjs, 2);
    assert.equal(b.stats().nobjs, 5);
    await Promise.all([a.shutdown(), b.shutdown()]);
  });
});

describe("Pool options: times", () => {
  // delays: finite, non-negative, fractions allowed
  for (
    const name of [
      "maxAvailDelay",
      "maxUsingDelay",
      "maxUsingDelayKill",
      "maxLifetime",
      "checkBypass",
      "backoffInitial",
      "backoffMax",
    ]
  ) {
    it(`${name} must be a finite non-negative number`, () => {
      refuses({ [name]: -1 }, RangeError, name, "-1");
      refuses({ [name]: -0.5 }, RangeError, name, "-0.5");
      refuses({ [name]: NaN }, RangeError, name, "NaN");
      refuses({ [name]: Infinity }, RangeError, name, "Infinity");
      refuses({ [name]: -Infinity }, RangeError, name, "-Infinity");
      refuses({ [name]: "10" }, TypeError, name, '"10"');
      refuses({ [name]: true }, TypeError, name, "true");
    });
  }

  it("accepts fractional delays", async () => {
    const pool = make({ maxAvailDelay: 10.5, checkBypass: 0.25 });
    assert.equal(pool.stats().config.maxAvailDelay, 10.5);
    await pool.shutdown();
  });

  // wait limits: non-negative, Infinity allowed, at most the timer limit
  for (
    const name of [
      "timeout",
      "createTimeout",
      "healthTimeout",
      "hookTimeout",
      "shutdownTimeout",
    ]
  ) {
    it(`${name} must be a non-negative number of ms or Infinity`, async () => {
      refuses({ [name]: -1 }, RangeError, name, "-1");
      refuses({ [name]: NaN }, RangeError, name, "NaN");
      refuses({ [name]: -Infinity }, RangeError, name, "-Infinity");
      refuses(
        { [name]: MAX_TIMER_DELAY + 1 },
        RangeError,
        name,
        String(MAX_TIMER_DELAY + 1),
      );
      refuses({ [name]: "5" }, TypeError, name, '"5"');
      refuses({ [name]: null }, TypeError, name, "null");
      const ok = make({ [name]: Infinity });
      const max = make({ [name]: MAX_TIMER_DELAY });
      const pools = [ok, max];
      if (name === "timeout" || name === "shutdownTimeout") {
        pools.push(make({ [name]: 0 })); // no wait at all
      } else {
        // a limit of 0 would fail every async creation, check or hook
        refuses({ [name]: 0 }, RangeError, name, "0");
      }
      await Promise.all(pools.map((pool) => pool.shutdown()));
    });
  }

  it("delay must be positive, finite and at most the timer limit", () => {
    refuses({ delay: 0 }, RangeError, "delay", "0");
    refuses({ delay: -5 }, RangeError, "delay", "-5");
    refuses({ delay: NaN }, RangeError, "delay", "NaN");
    refuses({ delay: Infinity }, RangeError, "delay", "Infinity");
    refuses(
      { delay: MAX_TIMER_DELAY + 1 },
      RangeError,
      "delay",
      String(MAX_TIMER_DELAY + 1),
    );
    refuses({ delay: "1000" }, TypeError, "delay", '"1000"');
  });

  it("backoffInitial must be positive and backoffMax at least backoffInitial", () => {
    refuses({ backoffInitial: 0 }, RangeError, "backoffInitial", "0");
    assert.throws(
      () => make({ backoffInitial: 100, backoffMax: 50 }),
      (err: Error) =>
        err instanceof RangeError && /'backoffMax'/.test(err.message) &&
        /'backoffInitial' \(100\)/.test(err.message) && /50/.test(err.message),
    );
    // the default backoffInitial is 10
    refuses({ backoffMax: 5 }, RangeError, "backoffMax", "5");
  });

  it("maxLifetimeJitter must be a ratio in [0, 1)", async () => {
    const name = "maxLifetimeJitter";
    refuses({ [name]: 1 }, RangeError, name, "1");
    refuses({ [name]: -0.1 }, RangeError, name, "-0.1");
    refuses({ [name]: NaN }, RangeError, name, "NaN");
    refuses({ [name]: Infinity }, RangeError, name, "Infinity");
    refuses({ [name]: "0.1" }, TypeError, name, '"0.1"');
    const pool = make({ maxLifetime: 1000, [name]: 0 });
    const other = make({ maxLifetime: 1000, [name]: 0.999 });
    await Promise.all([pool.shutdown(), other.shutdown()]);
  });
});

describe("Pool options: logging, naming, flags", () => {
  it("logLevel must be one of the levels", async () => {
    refuses({ logLevel: "verbose" }, RangeError, "logLevel", '"verbose"');
    refuses({ logLevel: "WARN" }, RangeError, "logLevel", '"WARN"');
    refuses({ logLevel: 2 }, TypeError, "logLevel", "2");
    refuses({ logLevel: null }, TypeError, "logLevel", "null");
    const pools = ["debug", "info", "warn", "error", "off"].map((logLevel) =>
      new Pool({ fun, logLevel, logger: recordingLogger() } as Opts)
    );
    await Promise.all(pools.map((p) => p.shutdown()));
  });

  it("logger must have debug, info, warn and error methods", () => {
    refuses({ logger: null }, TypeError, "logger", "null");
    refuses({ logger: "console" }, TypeError, "logger", '"console"');
    refuses({ logger: {} }, TypeError, "logger", "{}");
    const log = recordingLogger() as unknown as Record<string, unknown>;
    for (const method of ["debug", "info", "warn", "error"]) {
      const partial = { ...log, [method]: undefined };
      assert.throws(
        () => make({ logger: partial }),
        (err: Error) =>
          err instanceof TypeError && /'logger'/.test(err.message),
        method,
      );
    }
  });

  it("name must be a non-empty string, and becomes the id", async () => {
    refuses({ name: "" }, TypeError, "name", '""');
    refuses({ name: 7 }, TypeError, "name", "7");
    refuses({ name: null }, TypeError, "name", "null");
    const pool = make({ name: "db" });
    assert.equal(pool.id, "db");
    assert.equal(pool.stats().id, "db");
    await pool.shutdown();
  });

  it("timeWaits must be a boolean", () => {
    refuses({ timeWaits: "yes" }, TypeError, "timeWaits", '"yes"');
    refuses({ timeWaits: 0 }, TypeError, "timeWaits", "0");
  });

  it("captureStacks must be a boolean", () => {
    refuses({ captureStacks: "yes" }, TypeError, "captureStacks", '"yes"');
    refuses({ captureStacks: 1 }, TypeError, "captureStacks", "1");
  });

  it("prefixes its log lines with its name", async () => {
    const log = recordingLogger();
    const pool = new Pool({ fun, name: "db", logger: log, logLevel: "debug" });
    await pool.shutdown();
    assert.ok(log.lines.length > 0);
    assert.ok(log.lines.every((l) => /^\w+ \[db\] /.test(l)), log.lines[0]);
  });

  it("logs nothing below its logLevel, and nothing at all when off", async () => {
    const warnOnly = recordingLogger();
    const silent = recordingLogger();
    for (const [logger, logLevel] of [[warnOnly, "warn"], [silent, "off"]]) {
      const pool = new Pool({
        fun,
        logger,
        logLevel,
        getter: () => {
          throw new Error("getter boom");
        },
      } as Opts);
      const o = await pool.get();
      pool.ret(o);
      pool.ret(o); // a warning
      await pool.shutdown();
    }
    assert.ok(warnOnly.at("warn").length === 1);
    assert.ok(warnOnly.at("error").length === 1);
    assert.equal(warnOnly.at("debug").length + warnOnly.at("info").length, 0);
    assert.deepEqual(silent.lines, []);
  });

  it("survives a logger that throws", async () => {
    const throwing = {
      debug: () => {
        throw new Error("logger down");
      },
      info: () => {
        throw new Error("logger down");
      },
      warn: () => {
        throw new Error("logger down");
      },
      error: () => {
        throw new Error("logger down");
      },
    };
    const pool = new Pool({ fun, logger: throwing, logLevel: "debug" });
    const o = await pool.get();
    pool.ret(o);
    pool.ret(o);
    await pool.shutdown();
    assert.equal(pool.stats().ndestroys, 1);
  });
});

describe("Pool options: unknown names", () => {
  it("refuses an unknown option with a TypeError naming it", () => {
    assert.throws(
      () => make({ colour: "blue" }),
      (err: Error) =>
        err instanceof TypeError && /'colour'/.test(err.message) &&
        /not a known option/.test(err.message) &&
        !/did you mean/.test(err.message),
    );
  });

  it("suggests the right spelling for the Python or lower-case names", () => {
    const cases: [string, string][] = [
      ["max_size", "maxSize"],
      ["min_size", "minSize"],
      ["max_avail_delay", "maxAvailDelay"],
      ["max_using_delay_kill", "maxUsingDelayKill"],
      ["health_freq", "healthFreq"],
      ["log_level", "logLevel"],
      ["maxsize", "maxSize"],
      ["MAXUSE", "maxUse"],
    ];
    for (const [wrong, right] of cases) {
      assert.throws(
        () => make({ [wrong]: 1 }),
        (err: Error) =>
          err instanceof TypeError &&
          err.message.includes(`'${wrong}'`) &&
          err.message.includes(`did you mean '${right}'?`),
        wrong,
      );
    }
  });

  it("exports the accepted names, and accepts each of them", () => {
    for (const name of ["fun", "maxSize", "captureStacks", "reset", "check"]) {
      assert.ok(POOL_OPTION_NAMES.has(name), name);
    }
    assert.equal(POOL_OPTION_NAMES.has("max_size"), false);
  });
});

describe("Pool options: the housekeeping delay", () => {
  const cases: [string, Record<string, unknown>, number][] = [
    ["no timing option", {}, 0],
    ["maxAvailDelay only", { maxAvailDelay: 1000 }, 500],
    ["maxUsingDelay only", { maxUsingDelay: 800 }, 400],
    ["maxUsingDelayKill only", { maxUsingDelayKill: 300 }, 150],
    ["maxLifetime only", { maxLifetime: 10_000 }, 5000],
    [
      "the smallest of all four",
      {
        maxAvailDelay: 1000,
        maxUsingDelay: 600,
        maxUsingDelayKill: 2000,
        maxLifetime: 5000,
      },
      300,
    ],
    ["zeros are off", { maxAvailDelay: 0, maxUsingDelay: 40 }, 20],
    ["health only", { health: () => true }, 60_000],
    ["health and a delay to watch", {
      health: () => true,
      maxAvailDelay: 100,
    }, 50],
    ["an explicit delay wins", { delay: 123, maxAvailDelay: 1000 }, 123],
    ["an explicit delay without anything else", { delay: 7 }, 7],
    ["never below 1 ms", { maxAvailDelay: 1 }, 1],
    ["fractions are kept", { maxUsingDelay: 5 }, 2.5],
  ];
  for (const [label, extra, expected] of cases) {
    it(`${label}: ${expected}`, async () => {
      await withClock(async () => {
        const pool = make(extra);
        try {
          assert.equal(pool.stats().config.delay, expected);
        } finally {
          await pool.shutdown();
        }
      });
    });
  }

  it("runs a housekeeping round every delay, and none without delay", async () => {
    await withClock(async (clock) => {
      const pool = make({ maxAvailDelay: 1000 });
      const none = make({});
      try {
        assert.equal(clock.countTimers(), 1);
        await clock.tickAsync(499);
        assert.equal(pool.stats().hkRounds, 0);
        await clock.tickAsync(1);
        assert.equal(pool.stats().hkRounds, 1);
        await clock.tickAsync(5000);
        assert.equal(pool.stats().hkRounds, 11);
        assert.equal(none.stats().hkRounds, 0);
      } finally {
        await Promise.all([pool.shutdown(), none.shutdown()]);
      }
      assert.equal(clock.countTimers(), 0);
    });
  });

  it("warns when maxUsingDelay exceeds maxUsingDelayKill", async () => {
    await withClock(async () => {
      const log = recordingLogger();
      const pool = new Pool({
        fun,
        logger: log,
        maxUsingDelay: 500,
        maxUsingDelayKill: 100,
      });
      await pool.shutdown();
      assert.ok(
        log.at("warn").some((l) => /maxUsingDelay .*maxUsingDelayKill/.test(l)),
        log.lines.join("\n"),
      );
    });
  });

  it("shows the configuration in stats", async () => {
    const pool = make({
      minSize: 1,
      maxSize: 4,
      timeout: 250,
      maxUse: 9,
      maxCreating: 3,
      maxWaiting: 8,
      healthFreq: 2,
    });
    const c = pool.stats().config;
    assert.deepEqual(
      [c.minSize, c.maxSize, c.timeout, c.maxUse, c.maxCreating, c.maxWaiting],
      [1, 4, 250, 9, 3, 8],
    );
    assert.equal(c.healthFreq, 2);
    await pool.shutdown();
    const forever = make({});
    assert.equal(forever.stats().config.timeout, null);
    assert.equal(forever.stats().config.maxCreating, 2);
    await forever.shutdown();
  });
});

describe("Pool options: arguments of get()", () => {
  /** A pool whose only object is lent, so that get() must wait. */
  async function busyPool(): Promise<[Pool<{ n: number }>, { n: number }]> {
    const pool = make({ maxSize: 1 });
    return [pool, await pool.get()];
  }

  it("rejects a bad timeout with RangeError or TypeError naming it", async () => {
    for (const idle of [true, false]) {
      const pool = make({ maxSize: 1 });
      const held = idle ? undefined : await pool.get();
      const cases: [unknown, typeof Error, string][] = [
        [-1, RangeError, "-1"],
        [NaN, RangeError, "NaN"],
        [-Infinity, RangeError, "-Infinity"],
        ["10", TypeError, '"10"'],
        [null, TypeError, "null"],
      ];
      for (const [timeout, type, shown] of cases) {
        await assert.rejects(
          pool.get({ timeout } as { timeout: number }),
          (err: Error) =>
            err.constructor === type && /'timeout'/.test(err.message) &&
            err.message.includes(shown),
          `${shown} (idle: ${idle})`,
        );
      }
      const s = pool.stats();
      assert.equal(s.nwaiting, 0);
      assert.equal(s.navail, idle ? 1 : 0, "no object was consumed");
      if (held) pool.ret(held);
      await pool.shutdown();
    }
  });

  it("rejects a signal that is not an AbortSignal, idle object or not", async () => {
    for (const idle of [false, true]) {
      const [pool, held] = await busyPool();
      if (idle) pool.ret(held);
      for (const signal of [{}, "abort", 1, null, { aborted: false }]) {
        // a rejected promise, never a synchronous throw
        const p = pool.get({ signal } as unknown as { signal: AbortSignal });
        await assert.rejects(
          p,
          (err: Error) =>
            err instanceof TypeError && /'signal'/.test(err.message),
          `${JSON.stringify(signal)} (idle: ${idle})`,
        );
      }
      const s = pool.stats();
      assert.equal(s.nwaiting, 0);
      assert.equal(s.navail, idle ? 1 : 0, "no object was consumed");
      if (!idle) pool.ret(held);
      await pool.shutdown();
    }
  });

  it("rejects options that are not an object, idle object or not", async () => {
    for (const idle of [false, true]) {
      const pool = make({ maxSize: 1 });
      const held = idle ? undefined : await pool.get();
      for (const options of [null, "fast", 5]) {
        const got = await pool.get(options as unknown as undefined).then(
          (o) => (pool.ret(o), "lent"),
          (err) => err,
        );
        assert.ok(
          got instanceof TypeError && /'options'/.test(got.message),
          `${String(options)} (idle: ${idle}): ${got}`,
        );
      }
      assert.equal(pool.stats().navail, idle ? 1 : 0);
      if (held) pool.ret(held);
      await pool.shutdown();
    }
  });

  it("keeps a timeout beyond the timer limit: served before it, timed out at it", async () => {
    await withClock(async (clock) => {
      const [pool, held] = await busyPool();
      try {
        const p = pool.get({ timeout: MAX_TIMER_DELAY + 1 });
        await clock.tickAsync(MAX_TIMER_DELAY);
        pool.ret(held);
        assert.equal(await p, held, "served: not timed out early");
        const q = track(pool.get({ timeout: MAX_TIMER_DELAY + 1 }));
        await clock.tickAsync(MAX_TIMER_DELAY);
        assert.equal(q.settled, false);
        await clock.tickAsync(1);
        assert.ok(q.error instanceof TimeoutError);
        pool.ret(held);
      } finally {
        await pool.shutdown();
      }
    });
  });

  it("use() refuses a non-function", async () => {
    const pool = make({});
    await assert.rejects(
      pool.use("fn" as unknown as () => void),
      (err: Error) => err instanceof TypeError && /'fn'/.test(err.message),
    );
    assert.equal(pool.stats().nuses, 0, "nothing was lent");
    await pool.shutdown();
  });
});

describe("Pool options: arguments of ready(), resize(), shutdown()", () => {
  it("ready() rejects a bad timeout or signal", async () => {
    const pool = make({ minSize: 0 });
    await assert.rejects(
      pool.ready({ timeout: -1 }),
      (err: Error) =>
        err instanceof RangeError && /'timeout'/.test(err.message),
    );
    await assert.rejects(
      pool.ready({ timeout: "1" as unknown as number }),
      (err: Error) => err instanceof TypeError && /'timeout'/.test(err.message),
    );
    await assert.rejects(
      pool.ready({ signal: {} as AbortSignal }),
      (err: Error) => err instanceof TypeError && /'signal'/.test(err.message),
    );
    await pool.ready(); // minSize 0: ready at once
    await pool.shutdown();
  });

  it("resize() refuses bad sizes and then changes nothing", async () => {
    const pool = make({ minSize: 1, maxSize: 4 });
    const cases: [Record<string, unknown>, typeof Error, RegExp][] = [
      [{ minSize: -1 }, RangeError, /'minSize'.*-1/],
      [{ maxSize: 1.5 }, RangeError, /'maxSize'.*1\.5/],
      [{ maxSize: "8" }, TypeError, /'maxSize'.*"8"/],
      [{ minSize: NaN }, RangeError, /'minSize'.*NaN/],
      [{ minSize: 5 }, RangeError, /'minSize'.*'maxSize' \(4\).*5/],
      [{ minSize: 3, maxSize: 2 }, RangeError, /'minSize'.*'maxSize' \(2\)/],
    ];
    for (const [options, type, re] of cases) {
      assert.throws(
        () => pool.resize(options),
        (err: Error) => err.constructor === type && re.test(err.message),
        JSON.stringify(options),
      );
    }
    const c = pool.stats().config;
    assert.equal(c.minSize, 1);
    assert.equal(c.maxSize, 4);
    for (const bad of [undefined, null, 5, "x"]) {
      assert.throws(
        () => pool.resize(bad as unknown as object),
        (err: Error) =>
          err instanceof TypeError &&
          /'options' must be an object/.test(err.message),
      );
    }
    assert.throws(
      () => pool.resize({ max_size: 10 } as object),
      (err: Error) =>
        err instanceof TypeError &&
        /'max_size'.*did you mean 'maxSize'/.test(err.message),
    );
    await assert.rejects(
      pool.ready({ timeot: 10 } as object),
      (err: Error) => err instanceof TypeError && /'timeot'/.test(err.message),
    );
    await assert.rejects(pool.ready(null as unknown as object), TypeError);
    pool.resize({});
    assert.equal(pool.stats().config.maxSize, 4);
    pool.resize({ minSize: 5, maxSize: 0 });
    assert.equal(pool.stats().config.minSize, 5);
    assert.equal(pool.stats().nobjs, 5);
    await pool.shutdown();
  });

  it("shutdown() rejects a bad timeout and stays usable", async () => {
    const pool = make({});
    await assert.rejects(
      pool.shutdown({ timeout: -1 }),
      (err: Error) =>
        err instanceof RangeError && /'timeout'/.test(err.message),
    );
    await assert.rejects(
      pool.shutdown({ timeout: "1" as unknown as number }),
      (err: Error) => err instanceof TypeError && /'timeout'/.test(err.message),
    );
    assert.equal(pool.stats().shutdown, false);
    const o = await pool.get();
    pool.ret(o);
    await pool.shutdown();
    assert.equal(pool.stats().shutdown, true);
  });

  it("ret() with a broken flag that is not a boolean is refused; the object stays lent", async () => {
    const pool = make({});
    const o = await pool.get();
    assert.throws(
      () => pool.ret(o, { broken: "yes" as unknown as boolean }),
      /'broken' must be a boolean: current value is "yes"/,
    );
    assert.equal(pool.stats().nusing, 1);
    pool.ret(o, { broken: true });
    assert.equal(pool.stats().closedBy.broken, 1);
    await pool.shutdown();
  });
});
