// The parts of `stats()` that are not a pool's counters, as functions of
// what the pool hands them: each object's details (through the `stats` or
// `tracer` hook), the configuration in effect, and `closedBy` at zero (a
// keyed pool's totals start from it too). The shapes are in stats.ts.

import type { Logger } from "./logger.ts";
import type { ResolvedPoolOptions } from "./options.ts";
import type { ClosedByReason, ObjectStats, PoolConfigStats } from "./stats.ts";
import type { Entry } from "./_entry.ts";
import { message } from "./_validate.ts";

/**
 * The details of one object at `now`: its times since its last lend and
 * return when the pool keeps a clock (`timed`), and what its `stats` hook
 * says, else its `tracer`, else `String(obj)`. A hook that throws, or whose
 * answer JSON cannot hold, is logged and named in `str` instead.
 */
export function objectStats<T>(
  e: Entry<T>,
  now: number,
  timed: boolean,
  hooks: Pick<ResolvedPoolOptions<T>, "stats" | "tracer">,
  log: Logger,
): ObjectStats {
  const data: ObjectStats = {
    n: e.n,
    uses: e.uses,
    age: now - e.created,
    // (NaN: lent before the clock was kept, see internals.observe)
    lastGet: timed && e.uses > 0 && !Number.isNaN(e.lastGet)
      ? now - e.lastGet
      : null,
    lastRet: timed ? now - e.lastRet : null,
  };
  const { stats, tracer } = hooks;
  const hook = stats !== undefined
    ? "stats hook"
    : tracer !== undefined
    ? "tracer hook"
    : "String()";
  try {
    if (stats !== undefined) {
      const value = stats(e.obj);
      // what JSON cannot hold (a BigInt, a cycle) would make String(pool)
      // and JSON.stringify(pool) throw: it is caught here, once per object
      JSON.stringify(value);
      data.stats = value;
    } else if (tracer !== undefined) {
      data.trace = String(tracer(e.obj));
    } else data.str = String(e.obj);
  } catch (err) {
    log.error(`${hook} threw on object #${e.n}: ${message(err)}`);
    data.str = `${hook} threw: ${message(err)}`;
  }
  return data;
}

/**
 * The configuration in effect: the options, with the sizes of the last
 * `resize()` and the housekeeping period (`delay`) the pool settled on.
 */
export function configStats<T>(
  o: ResolvedPoolOptions<T>,
  minSize: number,
  maxSize: number,
  delay: number,
): PoolConfigStats {
  return {
    minSize,
    maxSize,
    timeout: o.timeout === Infinity ? null : o.timeout,
    maxUse: o.maxUse,
    maxAvailDelay: o.maxAvailDelay,
    maxUsingDelay: o.maxUsingDelay,
    maxUsingDelayKill: o.maxUsingDelayKill,
    healthFreq: o.healthFreq,
    delay,
    maxCreating: o.maxCreating,
    maxWaiting: o.maxWaiting,
    maxLifetime: o.maxLifetime,
  };
}

/** No object closed yet, for any reason. */
export function noneClosed(): ClosedByReason {
  return {
    health: 0,
    check: 0,
    recycled: 0,
    killed: 0,
    wornout: 0,
    lifetime: 0,
    broken: 0,
    reset: 0,
    hook: 0,
    resized: 0,
    late: 0,
    opener: 0,
    evicted: 0,
    shutdown: 0,
  };
}
