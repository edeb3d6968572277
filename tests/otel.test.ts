// The OpenTelemetry metrics (otel.ts) with the real @opentelemetry/api and
// @opentelemetry/sdk-metrics: the conventions' names, units and kinds; counts
// that agree with stats() under load; timeouts; histograms holding the
// durations measured (virtual time); pending requests rising and falling;
// nothing recorded after stop() or shutdown; a Proxy's pool; strict options.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { DataPointType } from "@opentelemetry/sdk-metrics";
import { metrics as otelApi } from "@opentelemetry/api";
import { Pool, PoolError, Proxy, TimeoutError } from "../mod.ts";
import { withContext } from "../context.ts";
import { instrument } from "../otel.ts";
import { Backend, type Conn, flush, prng, withClock } from "./_helpers.ts";
import { shutdownOn, track } from "./_track.ts";
import { type Collected, Metrics } from "./_otel.ts";

const NAME = "db.client.connection.pool.name";
const STATE = "db.client.connection.state";
const fun = (n: number) => ({ n });

/** The counts the metrics report for pool `name`. */
function counts(m: Collected, name: string) {
  const at = { [NAME]: name };
  return {
    idle: m.value("db.client.connection.count", { ...at, [STATE]: "idle" }),
    used: m.value("db.client.connection.count", { ...at, [STATE]: "used" }),
    pending: m.value("db.client.connection.pending_requests", at),
    timeouts: m.value("db.client.connection.timeouts", at),
    max: m.value("db.client.connection.max", at),
    idleMax: m.value("db.client.connection.idle.max", at),
    idleMin: m.value("db.client.connection.idle.min", at),
  };
}

describe("otel: the conventions' metrics", () => {
  it("registers the nine metrics with their names, units and instrument kinds", async () => {
    const metrics = new Metrics();
    // which of the Meter's factories made each instrument
    const made = new Map<string, string>();
    const real = metrics.meter;
    const spy = Object.create(real) as typeof real;
    for (
      const factory of [
        "createHistogram",
        "createObservableUpDownCounter",
        "createObservableCounter",
      ] as const
    ) {
      // deno-lint-ignore no-explicit-any
      (spy as any)[factory] = (name: string, options: unknown) => {
        made.set(name, factory);
        // deno-lint-ignore no-explicit-any
        return (real as any)[factory](name, options);
      };
    }
    const pool = new Pool({ fun, name: "main", minSize: 0, maxSize: 3 });
    try {
      instrument(pool, spy);
      await pool.use(() => {}); // one creation, one wait, one use
      const m = await metrics.collect();
      const updown = "createObservableUpDownCounter";
      const expected: [string, string, string][] = [
        ["db.client.connection.count", "{connection}", updown],
        ["db.client.connection.idle.max", "{connection}", updown],
        ["db.client.connection.idle.min", "{connection}", updown],
        ["db.client.connection.max", "{connection}", updown],
        ["db.client.connection.pending_requests", "{request}", updown],
        [
          "db.client.connection.timeouts",
          "{timeout}",
          "createObservableCounter",
        ],
        ["db.client.connection.create_time", "s", "createHistogram"],
        ["db.client.connection.wait_time", "s", "createHistogram"],
        ["db.client.connection.use_time", "s", "createHistogram"],
      ];
      assert.equal(made.size, expected.length, "nine instruments, no more");
      for (const [name, unit, factory] of expected) {
        assert.equal(made.get(name), factory, name);
        const metric = m.byName.get(name);
        assert.ok(metric !== undefined, `${name} is reported`);
        assert.equal(metric.descriptor.unit, unit, name);
        assert.ok(metric.descriptor.description.length > 0, name);
        assert.equal(
          metric.dataPointType,
          factory === "createHistogram"
            ? DataPointType.HISTOGRAM
            : DataPointType.SUM,
          name,
        );
        if (metric.dataPointType === DataPointType.SUM) {
          assert.equal(
            metric.isMonotonic,
            factory === "createObservableCounter",
            name,
          );
        }
        for (const p of metric.dataPoints) {
          assert.equal(p.attributes[NAME], "main", name);
        }
      }
      assert.deepEqual(counts(m, "main"), {
        idle: 1,
        used: 0,
        pending: 0,
        timeouts: 0,
        max: 3,
        idleMax: 3,
        idleMin: 0,
      });
      // the advised buckets, in seconds
      const use = m.histogram("db.client.connection.use_time", {
        [NAME]: "main",
      });
      assert.deepEqual(
        use?.buckets.boundaries,
        [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10],
      );
    } finally {
      await pool.shutdown();
      await metrics.shutdown();
    }
  });

  it("names each pool by its id, adds the given attributes, and reports no max for an unlimited pool", async () => {
    const metrics = new Metrics();
    const unnamed = new Pool({ fun, minSize: 0 });
    const named = new Pool({ fun, name: "orders", minSize: 2, maxSize: 5 });
    try {
      instrument(unnamed, metrics.meter);
      instrument(named, metrics.meter, {
        attributes: { "db.system.name": "postgresql", "server.port": 5432 },
      });
      await named.ready();
      const m = await metrics.collect();
      assert.match(unnamed.id, /^pool-\d+$/);
      const u = counts(m, unnamed.id);
      assert.equal(u.idle, 0);
      assert.equal(u.max, undefined, "unlimited: no max reported");
      assert.equal(u.idleMax, undefined);
      assert.equal(u.idleMin, 0);
      const points = m.points("db.client.connection.count", {
        [NAME]: "orders",
      });
      assert.equal(points.length, 2);
      for (const p of points) {
        assert.equal(p.attributes["db.system.name"], "postgresql");
        assert.equal(p.attributes["server.port"], 5432);
      }
      assert.equal(counts(m, "orders").idle, 2);
      assert.equal(counts(m, "orders").max, 5);
    } finally {
      await unnamed.shutdown();
      await named.shutdown();
      await metrics.shutdown();
    }
  });
});

describe("otel: counts", () => {
  it("agree with stats() at every collection under random load", async () => {
    await withClock(async (clock) => {
      const metrics = new Metrics();
      const backend = new Backend();
      backend.latency = 3;
      const pool = new Pool<Conn>({
        fun: backend.fun,
        closer: backend.closer,
        name: "load",
        minSize: 2,
        maxSize: 5,
        // an async check: objects spend time BUSY, reported as used
        check: (c) =>
          new Promise<boolean>((r) => setTimeout(() => r(c.alive), 1)),
        checkBypass: 0,
      });
      const random = prng(17);
      let seen = 0;
      try {
        instrument(pool, metrics.meter);
        const tasks: Promise<unknown>[] = [];
        for (let round = 0; round < 40; round++) {
          for (let i = Math.floor(random() * 4); i > 0; i--) {
            const hold = Math.floor(random() * 20);
            tasks.push(
              pool.use(
                () => new Promise((r) => setTimeout(r, hold)),
                { timeout: random() < 0.3 ? 5 : 1000 },
              ).catch((err) => {
                assert.ok(err instanceof TimeoutError);
              }),
            );
          }
          await clock.tickAsync(Math.floor(random() * 6));
          // the callback reads the pool synchronously within collect()
          const s = pool.stats();
          const m = await metrics.collect();
          const c = counts(m, "load");
          assert.equal(c.idle, s.navail, `round ${round}: idle`);
          assert.equal(c.used, s.nusing + s.nbusy, `round ${round}: used`);
          assert.equal(c.idle! + c.used!, s.nobjs);
          assert.equal(c.pending, s.nwaiting, `round ${round}: pending`);
          assert.equal(c.timeouts, s.ntimeouts, `round ${round}: timeouts`);
          if (s.nwaiting > 0) seen++;
        }
        await clock.tickAsync(2000);
        await Promise.all(tasks);
        const s = pool.stats();
        assert.ok(s.ntimeouts > 0, "some gets timed out");
        assert.ok(seen > 0, "some collections saw waiters");
        const m = await metrics.collect();
        assert.equal(counts(m, "load").timeouts, s.ntimeouts);
        const use = m.histogram("db.client.connection.use_time", {
          [NAME]: "load",
        });
        assert.equal(use?.count, s.nuses, "one use_time per lend");
        const wait = m.histogram("db.client.connection.wait_time", {
          [NAME]: "load",
        });
        assert.equal(wait?.count, s.nuses, "one wait_time per lend");
        const create = m.histogram("db.client.connection.create_time", {
          [NAME]: "load",
        });
        assert.equal(create?.count, s.ncreated);
      } finally {
        await shutdownOn(clock, pool);
        await metrics.shutdown();
      }
    });
  });

  it("counts timeouts, and pending requests rise and fall with waiters", async () => {
    await withClock(async (clock) => {
      const metrics = new Metrics();
      const pool = new Pool({ fun, name: "tight", maxSize: 1, timeout: 50 });
      try {
        instrument(pool, metrics.meter);
        const held = await pool.get();
        const pending = async () =>
          counts(await metrics.collect(), "tight").pending;
        assert.equal(await pending(), 0);
        const waiters = [track(pool.get()), track(pool.get())];
        assert.equal(await pending(), 2);
        const untimed = track(pool.get({ timeout: Infinity }));
        assert.equal(await pending(), 3);
        await clock.tickAsync(50);
        assert.ok(waiters.every((w) => w.error instanceof TimeoutError));
        assert.equal(await pending(), 1);
        let m = await metrics.collect();
        assert.equal(counts(m, "tight").timeouts, 2);
        pool.ret(held);
        await flush();
        assert.equal(untimed.value, held);
        assert.equal(await pending(), 0);
        const late = track(pool.get({ timeout: 10 }));
        await clock.tickAsync(10);
        assert.ok(late.error instanceof TimeoutError);
        m = await metrics.collect();
        assert.equal(counts(m, "tight").timeouts, 3);
        assert.equal(counts(m, "tight").timeouts, pool.stats().ntimeouts);
        assert.deepEqual(
          [counts(m, "tight").idle, counts(m, "tight").used],
          [0, 1],
        );
        pool.ret(held);
      } finally {
        await shutdownOn(clock, pool);
        await metrics.shutdown();
      }
    });
  });
});

describe("otel: histograms", () => {
  it("hold the creation, wait and use durations the pool measured, in seconds", async () => {
    await withClock(async (clock) => {
      const metrics = new Metrics();
      const backend = new Backend();
      backend.latency = 40;
      const pool = new Pool<Conn>({
        fun: backend.fun,
        name: "timed",
        minSize: 0,
        maxSize: 1,
      });
      const at = { [NAME]: "timed" };
      try {
        instrument(pool, metrics.meter);
        // a creation of 40 ms, waited for by the first get
        const first = track(pool.get());
        await clock.tickAsync(40);
        const conn = first.value!;
        assert.ok(conn !== undefined);
        // held 25 ms while a second get waits for it
        const second = track(pool.get());
        await clock.tickAsync(25);
        pool.ret(conn);
        await flush();
        assert.equal(second.value, conn);
        // held 7 ms, then one from idle, held 0 ms
        await clock.tickAsync(7);
        pool.ret(conn);
        const third = await pool.get();
        pool.ret(third);

        const m = await metrics.collect();
        const create = m.histogram("db.client.connection.create_time", at)!;
        assert.equal(create.count, 1);
        assert.ok(Math.abs(create.sum! - 0.04) < 1e-9, `${create.sum}`);
        const wait = m.histogram("db.client.connection.wait_time", at)!;
        assert.equal(wait.count, 3);
        assert.ok(Math.abs(wait.sum! - 0.065) < 1e-9, `${wait.sum}`);
        assert.ok(Math.abs(wait.max! - 0.04) < 1e-9);
        assert.equal(wait.min, 0, "from idle: no wait");
        const use = m.histogram("db.client.connection.use_time", at)!;
        assert.equal(use.count, 3);
        assert.ok(Math.abs(use.sum! - 0.032) < 1e-9, `${use.sum}`);
        assert.equal(use.min, 0);
        assert.ok(Math.abs(use.max! - 0.025) < 1e-9);
        // the 25 ms use falls in the bucket up to 50 ms
        const i = use.buckets.boundaries.indexOf(0.05);
        assert.equal(use.buckets.counts[i], 1);
      } finally {
        await shutdownOn(clock, pool);
        await metrics.shutdown();
      }
    });
  });

  it("do not measure the lends and waits already under way when instrumented", async () => {
    await withClock(async (clock) => {
      const metrics = new Metrics();
      const pool = new Pool({
        fun,
        name: "late",
        maxSize: 1,
        getter: () => {}, // no bare waits: the waiter is a node
      });
      const at = { [NAME]: "late" };
      try {
        const held = await pool.get();
        const waiting = track(pool.get());
        await clock.tickAsync(1000);
        instrument(pool, metrics.meter);
        await clock.tickAsync(5);
        pool.ret(held);
        await flush();
        assert.equal(waiting.value, held);
        let m = await metrics.collect();
        assert.equal(
          m.histogram("db.client.connection.use_time", at),
          undefined,
        );
        assert.equal(
          m.histogram("db.client.connection.wait_time", at),
          undefined,
        );
        await clock.tickAsync(3);
        pool.ret(held);
        m = await metrics.collect();
        const use = m.histogram("db.client.connection.use_time", at)!;
        assert.equal(use.count, 1, "the lend that began after it, measured");
        assert.ok(Math.abs(use.sum! - 0.003) < 1e-9, `${use.sum}`);
      } finally {
        await shutdownOn(clock, pool);
        await metrics.shutdown();
      }
    });
  });

  it("are left out with timings: false, which leaves the pool's plain paths", async () => {
    const metrics = new Metrics();
    const pool = new Pool({ fun, name: "counts-only", maxSize: 2 });
    try {
      instrument(pool, metrics.meter, { timings: false });
      await pool.use(() => {});
      const m = await metrics.collect();
      assert.equal(counts(m, "counts-only").idle, 1);
      assert.equal(m.points("db.client.connection.use_time").length, 0);
      // a pool that keeps no clock records no get time
      assert.equal(pool.stats().avail[0].lastGet, null);
    } finally {
      await pool.shutdown();
      await metrics.shutdown();
    }
  });
});

describe("otel: stopping", () => {
  it("records nothing after stop(), and the pool pays nothing again", async () => {
    const metrics = new Metrics();
    const pool = new Pool({ fun, name: "stopped", maxSize: 2 });
    const at = { [NAME]: "stopped" };
    try {
      const handle = instrument(pool, metrics.meter);
      await pool.use(() => {});
      assert.notEqual(pool.stats().avail[0].lastGet, null, "timed meanwhile");
      let m = await metrics.collect();
      assert.equal(m.histogram("db.client.connection.use_time", at)?.count, 1);
      assert.deepEqual([counts(m, "stopped").idle, counts(m, "stopped").used], [
        1,
        0,
      ]);
      handle.stop();
      handle.stop(); // again: nothing
      assert.equal(handle.stopped, true);
      for (let i = 0; i < 5; i++) await pool.use(() => {});
      const held = await pool.get(); // one used now: not reported
      m = await metrics.collect();
      // a cumulative reader keeps the last values: nothing new came
      assert.deepEqual([counts(m, "stopped").idle, counts(m, "stopped").used], [
        1,
        0,
      ]);
      assert.equal(m.histogram("db.client.connection.use_time", at)?.count, 1);
      assert.equal(m.histogram("db.client.connection.wait_time", at)?.count, 1);
      pool.ret(held);
      assert.equal(pool.stats().avail[0].lastGet, null, "no clock any more");
      // and it can be instrumented again
      // (no `using` here: Node 22 cannot parse it; dispose by hand)
      const again = instrument(pool, metrics.meter);
      await pool.use(() => {});
      m = await metrics.collect();
      assert.equal(m.histogram("db.client.connection.use_time", at)?.count, 2);
      assert.equal(again.stopped, false);
      again[Symbol.dispose]();
      assert.equal(again.stopped, true, "disposing stops it");
    } finally {
      await pool.shutdown();
      await metrics.shutdown();
    }
  });

  it("exports nothing more of the pool after stop(), to a delta reader", async () => {
    const metrics = new Metrics(true);
    const pool = new Pool({ fun, name: "delta", maxSize: 2 });
    try {
      const handle = instrument(pool, metrics.meter);
      await pool.use(() => {});
      let m = await metrics.collect();
      assert.equal(m.points("db.client.connection.count").length, 2);
      assert.equal(m.points("db.client.connection.use_time").length, 1);
      handle.stop();
      await pool.use(() => {});
      m = await metrics.collect();
      for (const name of m.byName.keys()) {
        assert.equal(m.points(name, { [NAME]: "delta" }).length, 0, name);
      }
    } finally {
      await pool.shutdown();
      await metrics.shutdown();
    }
  });

  it("reports the closed state once when the pool shuts down, then stops, with or without timings", async () => {
    const metrics = new Metrics();
    const timed = new Pool({ fun, name: "timed-down", maxSize: 2 });
    const plain = new Pool({ fun, name: "plain-down", maxSize: 2 });
    const a = instrument(timed, metrics.meter);
    const b = instrument(plain, metrics.meter, { timings: false });
    await timed.use(() => {});
    await plain.use(() => {});
    await timed.get({ timeout: 0 }).then((o) => timed.ret(o));
    let m = await metrics.collect();
    assert.equal(counts(m, "timed-down").idle, 1);
    assert.equal(counts(m, "plain-down").idle, 1);
    await timed.shutdown();
    await plain.shutdown();
    assert.equal(a.stopped, true, "stopped by the pool's shutdown");
    assert.equal(b.stopped, true);
    m = await metrics.collect();
    for (const name of ["timed-down", "plain-down"]) {
      assert.deepEqual(counts(m, name), {
        idle: 0,
        used: 0,
        pending: 0,
        timeouts: 0,
        max: 0,
        idleMax: 0,
        idleMin: 0,
      }, name);
    }
    const use = m.histogram("db.client.connection.use_time", {
      [NAME]: "timed-down",
    });
    assert.equal(use?.count, 2);
    await flush();
    // unregistered: a delta reader would see nothing; a cumulative one,
    // the closed state
    const again = await metrics.collect();
    assert.deepEqual(counts(again, "timed-down"), counts(m, "timed-down"));
    await metrics.shutdown();
  });
});

describe("otel: a Proxy's pool", () => {
  it("reports the pool behind a context-scoped proxy", async () => {
    const metrics = new Metrics();
    const db = new Proxy<{ n: number }>({ fun, maxSize: 2, name: "px" });
    try {
      const pool = db._pool;
      assert.ok(pool !== undefined);
      instrument(pool, metrics.meter);
      let inside: Collected | undefined;
      await withContext(async () => {
        assert.equal(typeof db.n, "number");
        inside = await metrics.collect();
      }, { take: [db] });
      assert.equal(counts(inside!, "px").used, 1);
      const m = await metrics.collect();
      assert.equal(counts(m, "px").used, 0);
      assert.equal(counts(m, "px").idle, 1);
      assert.equal(counts(m, "px").max, 2);
      const use = m.histogram("db.client.connection.use_time", {
        [NAME]: "px",
      });
      assert.equal(use?.count, 1);
    } finally {
      await db._shutdown();
      await metrics.shutdown();
    }
  });
});

describe("otel: the module", () => {
  it("imports nothing at run time but the library's own Web-standard files", async () => {
    const fs = await import("node:fs");
    const seen = new Set<string>();
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      const text = fs.readFileSync(
        new URL(`../${file}`, import.meta.url),
        "utf8",
      );
      const code = text.replace(/\/\*[\s\S]*?\*\//g, "").replace(
        /\/\/.*$/gm,
        "",
      );
      for (const m of code.matchAll(/(?:from|import\()\s*"([^"]+)"/g)) {
        const spec = m[1];
        assert.ok(
          spec.startsWith("./") && spec.endsWith(".ts"),
          `${file} imports ${spec}`,
        );
        visit(spec.slice(2));
      }
    };
    visit("otel.ts");
    assert.ok(seen.has("pool.ts") && seen.has("_internals.ts"));
    assert.ok(!seen.has("context.ts"));
    const otel = await import("../otel.ts");
    assert.deepEqual(Object.keys(otel).sort(), [
      "DEFAULT_BUCKETS",
      "INSTRUMENT_OPTION_NAMES",
      "instrument",
    ]);
  });
});

describe("otel: strict arguments", () => {
  it("refuses unknown or ill-typed options, naming the near key", async () => {
    const metrics = new Metrics();
    const pool = new Pool({ fun, name: "strict" });
    try {
      const bad = (options: unknown, re: RegExp, type = TypeError) =>
        assert.throws(
          // deno-lint-ignore no-explicit-any
          () => instrument(pool, metrics.meter, options as any),
          (err: Error) => err instanceof type && re.test(err.message),
        );
      bad(
        { timing: false },
        /'timing' is not a known option: did you mean 'timings'\?/,
      );
      bad({ bukets: [1] }, /did you mean 'buckets'\?/);
      bad({ zzz: 1 }, /known options are attributes, timings, buckets/);
      bad(null, /'options' must be an object/);
      bad({ timings: "no" }, /'timings' must be a boolean/);
      bad({ buckets: [1, 1] }, /'buckets' must be a non-empty array/);
      bad({ buckets: [] }, /'buckets'/);
      bad({ buckets: [0.1, NaN] }, /'buckets'/);
      bad({ attributes: [] }, /'attributes' must be an object/);
      bad({ attributes: { a: {} } }, /'attributes\.a' must be a string/);
      bad({ attributes: { [NAME]: "x" } }, /name the pool with its 'name'/);
      bad({ attributes: { [STATE]: "idle" } }, /must not set/);
      assert.throws(
        // deno-lint-ignore no-explicit-any
        () => instrument({} as any, metrics.meter),
        /'pool' must be a Pool/,
      );
      assert.throws(
        // deno-lint-ignore no-explicit-any
        () => instrument(undefined as any, metrics.meter),
        /proxy\._pool/,
      );
      assert.throws(
        // deno-lint-ignore no-explicit-any
        () => instrument(pool, {} as any),
        /'meter' must be an OpenTelemetry Meter .*createHistogram/,
      );
      // nothing was registered by the refused calls
      const handle = instrument(pool, metrics.meter);
      assert.throws(
        () => instrument(pool, metrics.meter),
        (err: Error) =>
          err instanceof PoolError && /instrumented already/.test(err.message),
      );
      handle.stop();
    } finally {
      await pool.shutdown();
      await metrics.shutdown();
    }
    assert.throws(
      () => instrument(pool, metrics.meter),
      (err: Error) => err instanceof PoolError && /shut down/.test(err.message),
    );
  });

  it("takes the API's global meter, a no-op until an SDK is registered", async () => {
    const pool = new Pool({ fun, name: "noop" });
    const handle = instrument(pool, otelApi.getMeter("app"));
    await pool.use(() => {});
    handle.stop();
    await pool.shutdown();
  });
});
