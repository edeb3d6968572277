/**
 * A {@linkcode Lease}: one object lent by a pool, given back when the lease
 * is disposed, for `await using`.
 *
 * @module
 */

/**
 * How a lease's object goes back to its pool: `0` as it is, `1` suspect
 * (through `health` first), `2` broken (closed), `3` after work that threw
 * `err` (the pool's `isBroken` classifies it).
 * @internal
 */
export type GiveBack = (
  how: 0 | 1 | 2 | 3,
  err?: unknown,
) => void | Promise<void>;

/**
 * Gives a lease's object back as suspect, broken or after a failure: for
 * the pool's own helpers (a context that ends with an error), not part of
 * the public API.
 * @internal
 */
export let releaseAs: <T>(
  lease: Lease<T>,
  how: 0 | 1 | 2 | 3,
  err?: unknown,
) => Promise<void>;

/**
 * One object lent by `pool.lease()`; it goes back to the pool when the
 * lease is disposed (`await using`, `using`) or released, exactly once, and
 * only if this lend is still under way: an object already given back with
 * `pool.ret()` (and perhaps lent to someone else since) is not given back
 * twice (a warning says so). A disposer cannot see whether its scope threw,
 * so mark the lease broken explicitly when the object must not be lent
 * again.
 *
 * @typeParam T The type of the pooled object.
 *
 * @example Mark a connection broken before the scope ends
 * ```ts
 * import assert from "node:assert/strict";
 * import { Pool } from "./mod.ts";
 *
 * const pool = new Pool({ fun: (n) => ({ n, ok: true }) });
 * {
 *   await using lease = await pool.lease();
 *   lease.obj.ok = false; // say the server hung up
 *   lease.markBroken(); // closed on dispose, never lent again
 * }
 * assert(pool.stats().closedBy.broken === 1);
 * await pool.shutdown();
 * ```
 */
export class Lease<T> implements AsyncDisposable, Disposable {
  /** The lent object. */
  readonly obj: T;
  readonly #giveBack: GiveBack;
  #broken = false;
  #released = false;

  static {
    releaseAs = (lease, how, err) => lease.#release(how, err);
  }

  /**
   * Made by `pool.lease()`; you do not build leases yourself.
   *
   * @param obj The lent object.
   * @param giveBack Gives this lend's object back to its pool.
   */
  constructor(obj: T, giveBack: GiveBack) {
    this.obj = obj;
    this.#giveBack = giveBack;
  }

  /** Whether the object was given back already. */
  get released(): boolean {
    return this.#released;
  }

  /** Whether the lease was marked broken. */
  get isBroken(): boolean {
    return this.#broken;
  }

  /**
   * The object must not be lent again: it is closed when the lease ends.
   *
   * @example Discard a connection after a protocol error
   * ```ts
   * import assert from "node:assert/strict";
   * import { Pool } from "./mod.ts";
   *
   * const pool = new Pool({ fun: () => ({}) });
   * const lease = await pool.lease();
   * lease.markBroken();
   * await lease.release();
   * assert(pool.stats().ndestroys === 1);
   * await pool.shutdown();
   * ```
   */
  markBroken(): void {
    this.#broken = true;
  }

  /**
   * Gives the object back now; later calls (and the disposer) do nothing.
   *
   * @returns Resolves once the pool has taken it back: after its `retter`,
   * `reset` or health check, when it has them (it never rejects).
   *
   * @example Release early
   * ```ts
   * import assert from "node:assert/strict";
   * import { Pool } from "./mod.ts";
   *
   * const pool = new Pool({ fun: () => ({}) });
   * const lease = await pool.lease();
   * await lease.release();
   * assert(lease.released && pool.stats().navail === 1);
   * await pool.shutdown();
   * ```
   */
  release(): Promise<void> {
    return this.#release(this.#broken ? 2 : 0);
  }

  #release(how: 0 | 1 | 2 | 3, err?: unknown): Promise<void> {
    if (this.#released) return Promise.resolve();
    this.#released = true;
    try {
      const back = this.#giveBack(this.#broken ? 2 : how, err);
      return back === undefined ? Promise.resolve() : Promise.resolve(back);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * Gives the object back at the end of an `await using` scope, without
   * waiting for the pool's own work on it (`retter`, `reset`, a health
   * check): the scope ends at once, and no one gets the object before that
   * work is done.
   *
   * @returns A promise already settled.
   *
   * @example With `await using`
   * ```ts
   * import assert from "node:assert/strict";
   * import { Pool } from "./mod.ts";
   *
   * const pool = new Pool({ fun: () => ({}) });
   * {
   *   await using _lease = await pool.lease();
   * }
   * assert(pool.stats().navail === 1);
   * await pool.shutdown();
   * ```
   */
  [Symbol.asyncDispose](): Promise<void> {
    void this.release();
    return Promise.resolve();
  }

  /**
   * Gives the object back at the end of a `using` scope, without waiting for
   * the pool's own work on it (as the `await using` disposer).
   *
   * @example With `using`
   * ```ts
   * import assert from "node:assert/strict";
   * import { Pool } from "./mod.ts";
   *
   * const pool = new Pool({ fun: () => ({}) });
   * {
   *   using _lease = await pool.lease();
   * }
   * assert(pool.stats().navail === 1);
   * await pool.shutdown();
   * ```
   */
  [Symbol.dispose](): void {
    void this.release();
  }
}
