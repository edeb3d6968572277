/**
 * OpenTelemetry metrics for a {@linkcode Pool}, named and shaped as the
 * semantic conventions' database client connection pool metrics
 * (`db.client.connection.*`). {@linkcode instrument} takes any OpenTelemetry
 * `Meter`: it is typed by its shape, so this module imports nothing at run
 * time and the library keeps no dependency.
 *
 * | metric | instrument | unit | what it reports |
 * | --- | --- | --- | --- |
 * | `db.client.connection.count` | UpDownCounter (asynchronous) | `{connection}` | objects by `db.client.connection.state`: `idle`, or `used` (lent, or under the pool's own work: opening, a check, a hook) |
 * | `db.client.connection.idle.max` | UpDownCounter (asynchronous) | `{connection}` | `maxSize` (none when unlimited) |
 * | `db.client.connection.idle.min` | UpDownCounter (asynchronous) | `{connection}` | `minSize` |
 * | `db.client.connection.max` | UpDownCounter (asynchronous) | `{connection}` | `maxSize` (none when unlimited) |
 * | `db.client.connection.pending_requests` | UpDownCounter (asynchronous) | `{request}` | gets waiting for an object |
 * | `db.client.connection.timeouts` | Counter (asynchronous) | `{timeout}` | gets that timed out, since the pool started |
 * | `db.client.connection.create_time` | Histogram | `s` | each successful creation (`fun`, then the opener) |
 * | `db.client.connection.wait_time` | Histogram | `s` | each get that obtained an object (0 when one was idle) |
 * | `db.client.connection.use_time` | Histogram | `s` | each lend, from get to give-back |
 *
 * Every measurement has `db.client.connection.pool.name`: the pool's `id`
 * (its `name` option, else `pool-1`, `pool-2`…).
 *
 * @example Instrument a pool, collect its metrics
 * ```ts
 * import assert from "node:assert/strict";
 * import {
 *   AggregationTemporality,
 *   MeterProvider,
 *   MetricReader,
 * } from "@opentelemetry/sdk-metrics";
 * import { Pool } from "./mod.ts";
 * import { instrument } from "./otel.ts";
 *
 * class Reader extends MetricReader {
 *   constructor() {
 *     super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
 *   }
 *   protected async onForceFlush() {}
 *   protected async onShutdown() {}
 * }
 * const reader = new Reader();
 * const provider = new MeterProvider({ readers: [reader] });
 *
 * const pool = new Pool({ fun: (n) => ({ n }), name: "db", maxSize: 4 });
 * instrument(pool, provider.getMeter("app"));
 * await pool.use(() => {});
 *
 * const { resourceMetrics } = await reader.collect();
 * const names = resourceMetrics.scopeMetrics[0].metrics
 *   .map((m) => m.descriptor.name);
 * assert(names.includes("db.client.connection.count"));
 * await pool.shutdown(); // stops the metrics of this pool too
 * await provider.shutdown();
 * ```
 *
 * @module
 */

import { PoolError } from "./errors.ts";
import { Pool } from "./pool.ts";
import { internals, type PoolObserver } from "./_internals.ts";
import { checkBoolean, checkOptionsObject, show } from "./_validate.ts";

// ------------------------------------------------------------------ shapes

/**
 * Attribute values: what OpenTelemetry's `Attributes` hold. Only strings,
 * numbers and booleans are accepted in {@linkcode InstrumentOptions}.
 */
export type MetricAttributes = Record<string, string | number | boolean>;

/** What {@linkcode instrument} passes when it creates an instrument. */
export interface MetricOptionsLike {
  /** What the metric reports. */
  description?: string;
  /** Its unit, in UCUM (`s`, `{connection}`). */
  unit?: string;
  /** The histograms' bucket boundaries. */
  advice?: { explicitBucketBoundaries?: number[] };
}

/** The shape of an OpenTelemetry `Histogram`. */
export interface HistogramLike {
  /** Records one value. */
  record(value: number, attributes?: MetricAttributes): void;
}

/**
 * The shape of an OpenTelemetry asynchronous instrument
 * (`ObservableUpDownCounter`, `ObservableCounter`): only its identity is
 * used, in a batch callback.
 */
export type ObservableLike = object;

/** The shape of an OpenTelemetry `BatchObservableResult`. */
export interface BatchObservableResultLike {
  /** Reports the value of `metric` now, with `attributes`. */
  observe(
    metric: ObservableLike,
    value: number,
    attributes?: MetricAttributes,
  ): void;
}

/** The callback that reports a pool's state when metrics are collected. */
export type BatchObservableCallbackLike = (
  result: BatchObservableResultLike,
) => void;

/**
 * The shape of an OpenTelemetry `Meter` (`@opentelemetry/api` 1.3 or
 * later): what {@linkcode instrument} calls. A real `Meter` fits it.
 */
export interface MeterLike {
  /** Makes a histogram. */
  createHistogram(name: string, options?: MetricOptionsLike): HistogramLike;
  /** Makes an asynchronous UpDownCounter. */
  createObservableUpDownCounter(
    name: string,
    options?: MetricOptionsLike,
  ): ObservableLike;
  /** Makes an asynchronous Counter. */
  createObservableCounter(
    name: string,
    options?: MetricOptionsLike,
  ): ObservableLike;
  /** Registers a callback that reports several instruments at once. */
  addBatchObservableCallback(
    callback: BatchObservableCallbackLike,
    observables: ObservableLike[],
  ): void;
  /** Unregisters it. */
  removeBatchObservableCallback(
    callback: BatchObservableCallbackLike,
    observables: ObservableLike[],
  ): void;
}

// ----------------------------------------------------------------- options

/** Options of {@linkcode instrument}. */
export interface InstrumentOptions {
  /**
   * More attributes for every measurement, e.g. `{ "db.system.name":
   * "postgresql", "server.address": "db1" }`. They cannot replace
   * `db.client.connection.pool.name` (name the pool with its `name` option)
   * nor `db.client.connection.state`.
   * @default {}
   */
  attributes?: MetricAttributes;
  /**
   * Record the three histograms (`create_time`, `wait_time`, `use_time`).
   * Their cost is paid on every borrow (two clock reads and two recordings:
   * see the README); `false` keeps only the counts, read when metrics are
   * collected, and the pool then pays nothing per borrow.
   * @default true
   */
  timings?: boolean;
  /**
   * The histograms' bucket boundaries, in seconds, increasing (an advice
   * to the SDK: a View configured there takes precedence).
   * @default {[0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10]}
   */
  buckets?: number[];
}

/** The names of {@linkcode InstrumentOptions}, for strict checks. */
export const INSTRUMENT_OPTION_NAMES: ReadonlySet<string> = new Set([
  "attributes",
  "timings",
  "buckets",
]);

/**
 * The default bucket boundaries, in seconds: the semantic conventions'
 * advice for database operations (1 ms to 10 s), with 0.1 ms and 0.5 ms
 * below it, where an in-process hand-over or a short borrow falls.
 */
export const DEFAULT_BUCKETS: readonly number[] = Object.freeze([
  0.0001,
  0.0005,
  0.001,
  0.005,
  0.01,
  0.05,
  0.1,
  0.5,
  1,
  5,
  10,
]);

/** The attributes this module sets itself. */
const POOL_NAME = "db.client.connection.pool.name";
const STATE = "db.client.connection.state";

const WHAT = "Cannot instrument the pool";

interface Resolved {
  attributes: MetricAttributes;
  timings: boolean;
  buckets: number[];
}

function resolveOptions(options: unknown): Resolved {
  const o: Resolved = {
    attributes: {},
    timings: true,
    buckets: [...DEFAULT_BUCKETS],
  };
  if (options === undefined) return o;
  checkOptionsObject(WHAT, options, INSTRUMENT_OPTION_NAMES);
  const { attributes, timings, buckets } = options as InstrumentOptions;
  if (attributes !== undefined) {
    if (
      typeof attributes !== "object" || attributes === null ||
      Array.isArray(attributes)
    ) {
      throw new TypeError(
        `${WHAT} as 'attributes' must be an object of attribute values: current value is ${
          show(attributes)
        }`,
      );
    }
    for (const [key, value] of Object.entries(attributes)) {
      if (key === POOL_NAME || key === STATE) {
        throw new TypeError(
          `${WHAT} as 'attributes' must not set '${key}': ${
            key === POOL_NAME
              ? "it is the pool's id; name the pool with its 'name' option"
              : "it is set on db.client.connection.count"
          }`,
        );
      }
      if (
        typeof value !== "string" && typeof value !== "boolean" &&
        (typeof value !== "number" || !Number.isFinite(value))
      ) {
        throw new TypeError(
          `${WHAT} as 'attributes.${key}' must be a string, a finite number or a boolean: current value is ${
            show(value)
          }`,
        );
      }
    }
    o.attributes = { ...attributes };
  }
  if (timings !== undefined) {
    checkBoolean(WHAT, "timings", timings);
    o.timings = timings;
  }
  if (buckets !== undefined) {
    if (
      !Array.isArray(buckets) || buckets.length === 0 ||
      buckets.some((b, i) =>
        typeof b !== "number" || !Number.isFinite(b) ||
        (i > 0 && b <= buckets[i - 1])
      )
    ) {
      throw new TypeError(
        `${WHAT} as 'buckets' must be a non-empty array of finite numbers of seconds, increasing: current value is ${
          show(buckets)
        }`,
      );
    }
    o.buckets = [...buckets];
  }
  return o;
}

function checkMeter(meter: unknown): asserts meter is MeterLike {
  const needs = [
    "createHistogram",
    "createObservableUpDownCounter",
    "createObservableCounter",
    "addBatchObservableCallback",
    "removeBatchObservableCallback",
  ];
  const missing = typeof meter === "object" && meter !== null
    ? needs.find((m) =>
      typeof (meter as Record<string, unknown>)[m] !== "function"
    )
    : needs[0];
  if (missing !== undefined) {
    throw new TypeError(
      `${WHAT} as 'meter' must be an OpenTelemetry Meter (from @opentelemetry/api 1.3 or later, e.g. metrics.getMeter("app")), with a ${missing} method: current value is ${
        show(meter)
      }`,
    );
  }
}

// ------------------------------------------------------------- instrument

/**
 * A pool's metrics, registered by {@linkcode instrument}: `stop()` (or
 * `using`) unregisters them.
 */
export interface Instrumentation extends Disposable {
  /**
   * Stops the metrics of this pool: its callback is unregistered and
   * nothing more is recorded in its histograms; the pool pays nothing for
   * them any more. Calling it again does nothing. (A delta reader then
   * exports nothing more of this pool; a cumulative one, such as
   * Prometheus's, goes on exporting the last values, as the SDK does for
   * any series no longer observed.)
   */
  stop(): void;
  /** Whether the metrics were stopped (by `stop()` or the pool's shutdown). */
  readonly stopped: boolean;
}

/** The pools instrumented now. */
const instrumented = new WeakSet<object>();

/**
 * Registers the OpenTelemetry database client connection pool metrics of
 * `pool` on `meter`: the counts are asynchronous instruments that read the
 * pool when metrics are collected, and cost nothing in between; the
 * histograms are fed by the pool itself, as objects are created, waited
 * for and given back. Stops with `stop()`, or when the pool's shutdown is
 * over: the next collection then reports the pool's closed state (no
 * connection open, allowed or pending) one last time.
 *
 * For a `Proxy` that lends from a pool, instrument `proxy._pool` once the
 * proxy has it (after `setFun` with pool options); setting the proxy again
 * makes a new pool, to be instrumented anew.
 *
 * @param pool The pool; its `id` (its `name` option) names its metrics.
 * @param meter An OpenTelemetry `Meter`, e.g.
 * `metrics.getMeter("my-service")`.
 * @param options `attributes`, `timings`, `buckets`.
 * @returns What stops the metrics.
 * @throws {TypeError} `pool` is not a Pool, `meter` not a Meter, or an
 * option is unknown or of the wrong type.
 * @throws {PoolError} The pool is instrumented already, or shut down.
 *
 * @example Counts only: nothing paid per borrow
 * ```ts
 * import assert from "node:assert/strict";
 * import { metrics } from "@opentelemetry/api";
 * import { Pool } from "./mod.ts";
 * import { instrument } from "./otel.ts";
 *
 * const pool = new Pool({ fun: (n) => ({ n }), name: "cache" });
 * const meter = metrics.getMeter("app"); // a no-op until an SDK is set
 * const metricsOfPool = instrument(pool, meter, { timings: false });
 * metricsOfPool.stop();
 * assert(metricsOfPool.stopped);
 * await pool.shutdown();
 * ```
 */
export function instrument<T>(
  pool: Pool<T>,
  meter: MeterLike,
  options?: InstrumentOptions,
): Instrumentation {
  if (!(pool instanceof Pool)) {
    throw new TypeError(
      `${WHAT} as 'pool' must be a Pool: current value is ${show(pool)}${
        pool === undefined
          ? " (a Proxy has a pool, proxy._pool, only once set with a fun and pool options)"
          : ""
      }`,
    );
  }
  checkMeter(meter);
  const o = resolveOptions(options);
  if (instrumented.has(pool)) {
    throw new PoolError(
      `Cannot instrument pool ${pool.id}: it is instrumented already; stop() that instrumentation first`,
    );
  }
  if (internals.counts(pool).closed) {
    throw new PoolError(
      `Cannot instrument pool ${pool.id}: it is shut down`,
    );
  }

  const named: MetricAttributes = { ...o.attributes, [POOL_NAME]: pool.id };
  const idle: MetricAttributes = { ...named, [STATE]: "idle" };
  const used: MetricAttributes = { ...named, [STATE]: "used" };
  // the semantic conventions' instruments: up-down counters (of
  // connections, but pending requests), and the counter of timeouts
  const upDown = (name: string, description: string, unit = "{connection}") =>
    meter.createObservableUpDownCounter(name, { unit, description });
  const count = upDown(
    "db.client.connection.count",
    "The number of connections that are currently in state described by the state attribute",
  );
  const idleMax = upDown(
    "db.client.connection.idle.max",
    "The maximum number of idle open connections allowed",
  );
  const idleMin = upDown(
    "db.client.connection.idle.min",
    "The minimum number of idle open connections allowed",
  );
  const max = upDown(
    "db.client.connection.max",
    "The maximum number of open connections allowed",
  );
  const pending = upDown(
    "db.client.connection.pending_requests",
    "The number of current pending requests for an open connection",
    "{request}",
  );
  const timeouts = meter.createObservableCounter(
    "db.client.connection.timeouts",
    {
      unit: "{timeout}",
      description:
        "The number of connection timeouts that have occurred trying to obtain a connection from the pool",
    },
  );
  const observables = [count, idleMax, idleMin, max, pending, timeouts];

  // The pool, until its metrics stop or it shuts down: then nothing here
  // holds it any more (the meter keeps the callback until it is removed).
  let target: Pool<T> | undefined = pool;
  let observing = false;
  let stopped = false;
  /** Its timeouts at shutdown, for the last report. */
  let lastTimeouts = 0;
  /** Whether `max` and `idle.max` were reported (a limited pool). */
  let limited = false;

  const release = (): void => {
    if (target === undefined) return;
    instrumented.delete(target);
    if (observing) internals.observe(target, undefined);
    observing = false;
    target = undefined;
  };
  const stop = (): void => {
    if (stopped) return;
    stopped = true;
    release();
    meter.removeBatchObservableCallback(callback, observables);
  };
  /** The pool's shutdown is over: its last report is its closed state. */
  const shutDown = (): void => {
    if (target === undefined) return;
    lastTimeouts = internals.counts(target).timeouts;
    release();
  };

  // One read of the pool's counts per collection, for every instrument: a
  // consistent snapshot, and nothing paid between collections.
  const callback: BatchObservableCallbackLike = (result) => {
    if (stopped) return;
    if (target !== undefined) {
      const c = internals.counts(target);
      if (!c.closed) {
        result.observe(count, c.idle, idle);
        result.observe(count, c.using + c.busy, used);
        limited = c.maxSize !== 0;
        if (limited) {
          result.observe(idleMax, c.maxSize, named);
          result.observe(max, c.maxSize, named);
        }
        result.observe(idleMin, c.minSize, named);
        result.observe(pending, c.waiting, named);
        result.observe(timeouts, c.timeouts, named);
        return;
      }
      shutDown(); // (with timings, the pool said so already)
    }
    // Shut down: its state once more, nothing open, allowed or pending (a
    // cumulative reader keeps exporting a series' last value after its
    // callback is gone: this way that value is the truth), then no more.
    result.observe(count, 0, idle);
    result.observe(count, 0, used);
    if (limited) {
      result.observe(idleMax, 0, named);
      result.observe(max, 0, named);
    }
    result.observe(idleMin, 0, named);
    result.observe(pending, 0, named);
    result.observe(timeouts, lastTimeouts, named);
    // unregistered once this collection is over, not while it runs
    queueMicrotask(stop);
  };
  meter.addBatchObservableCallback(callback, observables);
  instrumented.add(pool);

  if (o.timings) {
    const advice = { explicitBucketBoundaries: o.buckets };
    const createTime = meter.createHistogram(
      "db.client.connection.create_time",
      {
        unit: "s",
        description: "The time it took to create a new connection",
        advice,
      },
    );
    const waitTime = meter.createHistogram("db.client.connection.wait_time", {
      unit: "s",
      description:
        "The time it took to obtain an open connection from the pool",
      advice,
    });
    const useTime = meter.createHistogram("db.client.connection.use_time", {
      unit: "s",
      description:
        "The time between borrowing a connection and returning it to the pool",
      advice,
    });
    // A duration the pool could not measure (a lend or a wait already under
    // way when the observer came) is NaN: not recorded.
    const observer: PoolObserver = {
      created(ms) {
        if (ms >= 0) createTime.record(ms / 1000, named);
      },
      waited(ms) {
        if (ms >= 0) waitTime.record(ms / 1000, named);
      },
      used(ms) {
        if (ms >= 0) useTime.record(ms / 1000, named);
      },
      timedOut() {},
      closed: shutDown,
    };
    internals.observe(pool, observer);
    observing = true;
  }

  return {
    stop,
    get stopped() {
      return stopped || target === undefined ||
        internals.counts(target).closed;
    },
    [Symbol.dispose]: stop,
  };
}
