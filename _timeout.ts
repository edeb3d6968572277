// The TimeoutError of a wait that its deadline ends (a get, a `ready()`),
// saying why nothing came, from what the pool tells of itself: creations
// failing (the last error is the cause), a creation that does not end,
// every object under the pool's own work, a limit shared with other pools
// that is full, or objects all lent; never "give objects back" when
// nothing is lent.

import { TimeoutError } from "./errors.ts";
import type { Backoff } from "./_backoff.ts";
import { message, ms } from "./_validate.ts";

/** What a pool tells of itself when a wait times out. */
export interface Shortage {
  /** Objects alive. */
  alive: number;
  /** Objects lent. */
  using: number;
  /** Its maxSize (0: unlimited). */
  maxSize: number;
  /** The pause after failed creations, and the outage, if any. */
  outage: Backoff;
  /** When its oldest creation under way began, if one is. */
  creatingSince: number | undefined;
  /** Why a limit shared with other pools keeps it from creating, if so. */
  limited: string | undefined;
}

/** The TimeoutError of `what` (what timed out), with why nothing came. */
export function timeoutError(what: string, s: Shortage): TimeoutError {
  const counts = `${s.alive} alive, ${s.using} in use, maxSize ${
    s.maxSize || "unlimited"
  }`;
  const failing = s.outage.failing;
  const cause = s.outage.lastError;
  const why = failing
    ? `the pool cannot create objects (${counts}): the last creation failed: ${
      message(cause)
    }`
    : s.creatingSince !== undefined &&
        (s.maxSize === 0 || s.using < s.maxSize)
    ? `a creation has been under way for ${
      ms(performance.now() - s.creatingSince)
    } (${counts}): is the backend slow or unreachable? createTimeout bounds fun and the opener`
    : s.using === 0 && s.alive !== 0
    ? `every object is under the pool's own work (${counts}: checks, hooks); see healthTimeout and hookTimeout`
    : s.limited !== undefined
    ? `${s.limited} (${counts})`
    : `${
      s.using === 0 ? "no object could be created" : "objects are lent"
    } (${counts}); give objects back sooner, or raise maxSize or the timeout`;
  // Made in a timer callback, its stack would show only the pool's own
  // frames: skip capturing it, most of an error's cost (1-4 µs on V8).
  const E = Error as { stackTraceLimit?: number };
  const limit = E.stackTraceLimit;
  E.stackTraceLimit = 0;
  try {
    return new TimeoutError(
      `${what}: ${why}`,
      failing ? { cause } : undefined,
    );
  } finally {
    E.stackTraceLimit = limit;
  }
}
