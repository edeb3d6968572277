// "The database behind a network black hole" (HikariCP's "Bad Behavior:
// Handling Database Down"): a pool of `pg` clients talks to a real
// PostgreSQL through tests/_blackhole.ts, which at some point silently
// drops the network (no reset, sockets stay open, every read waits) and
// later heals it. The contract: a request gets its connection within the
// specified time or an error, and fails within its own query timeout; the
// pool recovers once the network is back, leaks nothing, and shuts down in
// bounded time.
//
// Two runs per pool implementation:
// - load: `tasks` loops of requests on a pool of `maxSize`; warm up (until
//   `warmRequests` requests are done), black-hole for `holeMs` under load,
//   heal, serve on (at least `afterMs` and `afterServed` requests), stop,
//   compare backends with the pool's objects, shut down, count what is
//   left.
// - shutdown: `idleClients` idle clients, black-hole, shut the pool down
//   (waiting `shutdownCap` at most), count the sockets left; heal and clean
//   up.
//
// Adapters: this project's Pool, generic-pool 3.9 (optionally with
// testOnBorrow) and node-postgres's pg.Pool, each configured as a careful
// user would: a get/acquire timeout, the client's own connect and query
// timeouts (pg's connectionTimeoutMillis, query_timeout, statement_timeout),
// and for our Pool createTimeout, healthTimeout and health = SELECT 1.
//
// Phases are paced on the load (the black hole starts after a number of
// requests done) and on the clock only where the scenario is about time
// (how long the black hole lasts); no figure is a speed. A wait for
// something that must happen (backends exiting, sockets closing, service
// after heal) is bounded only by PATIENCE, which catches a hang; the
// measuring waits (shutdownCap, the 500 ms after a black-holed shutdown)
// are part of the scenario.
import process from "node:process";
import pg from "pg";
import genericPool from "generic-pool";
import { Pool, type PoolOptions } from "../mod.ts";
import {
  type Blackhole,
  type BlackholeCounts,
  startBlackhole,
} from "./_blackhole.ts";
import { PATIENCE, type PgServer, sleep } from "./_pg.ts";

/** The knobs of both runs; see {@linkcode DEFAULT_SETTINGS}. */
export interface ScenarioSettings {
  /** Concurrent request loops. */
  tasks: number;
  /** Most clients per pool. */
  maxSize: number;
  /** get/acquire timeout (ms). */
  getTimeout: number;
  /** The client's query timeout (pg query_timeout and statement_timeout). */
  queryTimeout: number;
  /** The client's connect timeout (pg connectionTimeoutMillis; our createTimeout). */
  connectTimeout: number;
  /** Our Pool's healthTimeout. */
  healthTimeout: number;
  /** Our Pool's shutdownTimeout. */
  shutdownTimeout: number;
  /** Black-hole once this many requests are done. */
  warmRequests: number;
  /** How long the network stays black-holed (ms). */
  holeMs: number;
  /** After heal, serve on at least this long (ms)… */
  afterMs: number;
  /** …and until this many requests started after heal were served… */
  afterServed: number;
  /** …but stop this long after heal anyway (ms): a pool never served again. */
  afterCap: number;
  /**
   * Longest wait for a black-holed shutdown (ms), past its shutdownTimeout
   * by far more than a stalled machine delays it.
   */
  shutdownCap: number;
  /** Idle clients in the shutdown run. */
  idleClients: number;
  /** How late a deadline may be kept (ms): timers, turns, a busy machine. */
  slack: number;
}

/** The scenario as measured before: 24 tasks, 8 clients, 1 s timeouts. */
export const DEFAULT_SETTINGS: ScenarioSettings = {
  tasks: 24,
  maxSize: 8,
  getTimeout: 1000,
  queryTimeout: 1000,
  connectTimeout: 1000,
  healthTimeout: 500,
  shutdownTimeout: 2000,
  warmRequests: 300,
  holeMs: 3000,
  afterMs: 2000,
  afterServed: 200,
  afterCap: PATIENCE,
  shutdownCap: 5000,
  idleClients: 4,
  slack: 100,
};

/** One request: when it started, got its client, ended, and how it failed. */
export interface RequestRecord {
  start: number;
  /** When the client was handed over (undefined if the get failed). */
  gotAt?: number;
  end: number;
  error?: string;
}

/** A pool under test, behind the adapter's common face. */
export interface PoolUnderTest {
  /** Takes `n` clients at once and gives them back: `n` idle connected clients. */
  warm(n: number): Promise<void>;
  /** One request: get a client (set `rec.gotAt`), SELECT 1, give it back. */
  request(rec: RequestRecord): Promise<void>;
  /** Clients alive as the pool counts them. */
  size(): number;
  /** What a user calls at exit (generic-pool: drain() then clear()). */
  shutdown(): Promise<void>;
  /** Most creations at once the pool promises, or null when it has no such limit. */
  maxCreating: number | null;
  /** Pool-specific figures. */
  details(): Record<string, unknown>;
}

/** What an adapter is given. */
export interface PoolEnv {
  fwd: Blackhole;
  /** application_name prefix of this pool's clients. */
  prefix: string;
  settings: ScenarioSettings;
}

/** A pool implementation: a name and how to make one. */
export interface PoolKind {
  name: string;
  make(env: PoolEnv): PoolUnderTest;
}

const SQL = "SELECT 1";

/** Client settings of a careful user, connecting through the forwarder. */
function clientConfig(env: PoolEnv, name: string): pg.ClientConfig {
  const s = env.settings;
  return {
    host: env.fwd.host,
    port: env.fwd.port,
    user: "postgres",
    database: "postgres",
    application_name: name,
    connectionTimeoutMillis: s.connectTimeout,
    query_timeout: s.queryTimeout,
    statement_timeout: s.queryTimeout,
    // the forwarder sees whether the client still holds its socket
    stream: () => env.fwd.socket(),
  };
}

/** Destroys a client's socket: no goodbye, nothing waited for. */
function destroyClient(c: pg.Client): void {
  (c as unknown as { connection: { stream: { destroy(): void } } })
    .connection.stream.destroy();
}

/**
 * Closes a client: end() (Terminate, then waits for the server to close).
 * With a signal (the pool gives up on the closer), the socket is
 * destroyed when it aborts, so that nothing is left open.
 */
export function closeClient(c: pg.Client, signal?: AbortSignal): Promise<void> {
  if (signal === undefined) return c.end();
  if (signal.aborted) {
    destroyClient(c);
    return Promise.resolve();
  }
  return new Promise<void>((resolve) => {
    const onAbort = () => {
      destroyClient(c);
      resolve();
    };
    signal.addEventListener("abort", onAbort, { once: true });
    const done = () => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    };
    c.end().then(done, done);
  });
}

/** Connects a new client; a signal that aborts destroys its socket. */
async function connectClient(
  env: PoolEnv,
  name: string,
  signal?: AbortSignal,
): Promise<pg.Client> {
  const c = new pg.Client(clientConfig(env, name));
  c.on("error", () => {});
  const onAbort = () => destroyClient(c);
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    await c.connect();
  } finally {
    signal?.removeEventListener("abort", onAbort);
  }
  return c;
}

const quiet = { debug() {}, info() {}, warn() {}, error() {} };

/**
 * This project's Pool: timeout, createTimeout, healthTimeout, health =
 * SELECT 1, closer = end() (or, given an AbortSignal, end() until it
 * aborts, then destroy). `extra` adds or overrides options (e.g. options
 * the Pool learns later).
 */
export function ourPool(
  extra: Partial<PoolOptions<pg.Client>> = {},
  name = "ProxyPatternPool",
): PoolKind {
  return {
    name,
    make(env) {
      const s = env.settings;
      let warnings = 0;
      const pool = new Pool<pg.Client>({
        fun: (n, signal) => connectClient(env, `${env.prefix}${n}`, signal),
        closer: (c: pg.Client, signal?: AbortSignal) => closeClient(c, signal),
        health: async (c) => {
          await c.query(SQL);
        },
        maxSize: s.maxSize,
        timeout: s.getTimeout,
        createTimeout: s.connectTimeout,
        healthTimeout: s.healthTimeout,
        shutdownTimeout: s.shutdownTimeout,
        name: env.prefix.slice(0, -1),
        logger: { ...quiet, warn: () => void warnings++ },
        ...extra,
      });
      return {
        async warm(n) {
          const cs = await Promise.all(
            Array.from({ length: n }, () => pool.get({ timeout: PATIENCE })),
          );
          for (const c of cs) pool.ret(c);
        },
        async request(rec) {
          await pool.use(async (c) => {
            rec.gotAt = performance.now();
            await c.query(SQL);
          }, { timeout: s.getTimeout });
        },
        size: () => pool.stats().nobjs,
        shutdown: () => pool.shutdown(),
        maxCreating: pool.stats().config.maxCreating,
        details() {
          const st = pool.stats();
          return {
            ncreated: st.ncreated,
            ncreateErrors: st.ncreateErrors,
            ntimeouts: st.ntimeouts,
            badHealth: st.badHealth,
            closedBy: st.closedBy,
            warnings,
          };
        },
      };
    },
  };
}

/** What the adapter uses of generic-pool 3.9 (it ships no types). */
interface GenericPool<T> {
  acquire(): Promise<T>;
  release(obj: T): Promise<void>;
  destroy(obj: T): Promise<void>;
  drain(): Promise<void>;
  clear(): Promise<void>;
  on(event: string, listener: (err: unknown) => void): void;
  readonly size: number;
}
interface GenericPoolModule {
  createPool<T>(
    factory: {
      create(): Promise<T>;
      destroy(obj: T): Promise<void>;
      validate?(obj: T): Promise<boolean>;
    },
    options: Record<string, unknown>,
  ): GenericPool<T>;
}

/**
 * generic-pool 3.9: acquireTimeoutMillis, destroyTimeoutMillis (so that a
 * hung end() does not hold the pool for ever), a client destroyed when its
 * query fails; with `testOnBorrow`, validate = SELECT 1 on each borrow.
 */
export function genericPoolKind(testOnBorrow = false): PoolKind {
  return {
    name: testOnBorrow ? "generic-pool+testOnBorrow" : "generic-pool",
    make(env) {
      const s = env.settings;
      let n = 0;
      let createErrors = 0, destroyErrors = 0;
      const gp = (genericPool as unknown as GenericPoolModule).createPool<
        pg.Client
      >({
        create: () => connectClient(env, `${env.prefix}${n++}`),
        destroy: (c) => closeClient(c),
        validate: (c) => c.query(SQL).then(() => true, () => false),
      }, {
        max: s.maxSize,
        min: 0,
        acquireTimeoutMillis: s.getTimeout,
        destroyTimeoutMillis: s.connectTimeout,
        testOnBorrow,
      });
      gp.on("factoryCreateError", () => void createErrors++);
      gp.on("factoryDestroyError", () => void destroyErrors++);
      return {
        async warm(k) {
          const cs = await Promise.all(
            Array.from({ length: k }, () => gp.acquire()),
          );
          for (const c of cs) await gp.release(c);
        },
        async request(rec) {
          const c = await gp.acquire();
          rec.gotAt = performance.now();
          try {
            await c.query(SQL);
          } catch (err) {
            gp.destroy(c).catch(() => {});
            throw err;
          }
          await gp.release(c);
        },
        size: () => gp.size,
        async shutdown() {
          await gp.drain();
          await gp.clear();
        },
        maxCreating: null,
        details: () => ({ createErrors, destroyErrors }),
      };
    },
  };
}

/**
 * node-postgres's pg.Pool: connectionTimeoutMillis (its acquire timeout
 * and the client's connect timeout), query_timeout, statement_timeout; a
 * client released with its error when the query fails (closed, not
 * reused).
 */
export function pgPoolKind(): PoolKind {
  return {
    name: "pg.Pool",
    make(env) {
      const s = env.settings;
      let errors = 0;
      const p = new pg.Pool({
        ...clientConfig(env, `${env.prefix}pg`),
        max: s.maxSize,
        connectionTimeoutMillis: s.getTimeout,
      });
      p.on("error", () => void errors++);
      return {
        async warm(k) {
          const cs = await Promise.all(
            Array.from({ length: k }, () => p.connect()),
          );
          for (const c of cs) c.release();
        },
        async request(rec) {
          const c = await p.connect();
          rec.gotAt = performance.now();
          try {
            await c.query(SQL);
          } catch (err) {
            c.release(err as Error);
            throw err;
          }
          c.release();
        },
        size: () => p.totalCount,
        shutdown: () => p.end(),
        maxCreating: null,
        details: () => ({ idleClientErrors: errors }),
      };
    },
  };
}

/** Resolves `{ ok, ms }`: whether `p` settled within `cap`, and when. */
async function timed(
  p: Promise<unknown>,
  cap: number,
): Promise<{ ok: boolean; ms: number; end: number }> {
  const t0 = performance.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const ok = await Promise.race([
    p.then(() => true, () => true),
    new Promise<boolean>((r) => timer = setTimeout(() => r(false), cap)),
  ]);
  clearTimeout(timer);
  const end = performance.now();
  return { ok, ms: Math.round(end - t0), end };
}

/**
 * Watches the event loop with a timer every `PROBE_MS`, so that a deadline
 * is judged against what the runtime could do: when the whole process
 * stalls (a busy machine, a GC pause), every timer fires late, the pool's
 * too, and the stall shows as a probe tick that comes late. An outcome at
 * `end` for a deadline `d` is late when it comes more than `slack` after
 * `d` plus the stalls seen from `d` until just after `end` (the longest
 * lateness of the probe ticks fired then). A pool that blocked the loop
 * itself would be excused the same way: that is a throughput fault, not
 * a missed deadline, and other figures show it.
 */
class LoopProbe {
  /** When each tick fired, and how late. */
  readonly #fires: number[] = [];
  readonly #lags: number[] = [];
  readonly #timer: ReturnType<typeof setInterval>;

  constructor() {
    let last = performance.now();
    this.#timer = setInterval(() => {
      const now = performance.now();
      this.#fires.push(now);
      this.#lags.push(Math.max(0, now - last - PROBE_MS));
      last = now;
    }, PROBE_MS);
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  /** The longest a probe tick came late. */
  get maxLag(): number {
    return Math.round(Math.max(0, ...this.#lags));
  }

  /** The longest stall seen by ticks fired from `from` to `to`. */
  stall(from: number, to: number): number {
    const f = this.#fires;
    let lo = 0, hi = f.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (f[mid] < from) lo = mid + 1;
      else hi = mid;
    }
    let worst = 0;
    for (let i = lo; i < f.length && f[i] <= to; i++) {
      if (this.#lags[i] > worst) worst = this.#lags[i];
    }
    return worst;
  }

  /** Whether an outcome at `end` missed the deadline `d` by more than `slack`. */
  late(end: number, d: number, slack: number): boolean {
    return end - d > slack + this.stall(d, end + 2 * PROBE_MS);
  }
}

const PROBE_MS = 10;

/** Polls until `cond()` or `ms` passed; resolves with the last `cond()`. */
async function poll(
  cond: () => boolean | Promise<boolean>,
  ms: number,
): Promise<boolean> {
  const end = performance.now() + ms;
  for (;;) {
    if (await cond()) return true;
    if (performance.now() >= end) return false;
    await sleep(20);
  }
}

let runs = 0;

function newPrefix(): string {
  return `bh-${process.pid}-${++runs}-`;
}

/** Backends vs the pool's count, once they agree (PATIENCE at most). */
async function backendsVsPool(
  server: PgServer,
  prefix: string,
  put: PoolUnderTest,
): Promise<{ backends: number; poolSize: number }> {
  let backends = -1, poolSize = -1;
  await poll(async () => {
    backends = await server.backends(prefix);
    poolSize = put.size();
    return backends === poolSize;
  }, PATIENCE);
  return { backends, poolSize };
}

const r = Math.round;
const max = (xs: number[]) => (xs.length === 0 ? null : r(Math.max(...xs)));
const median = (xs: number[]) => {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return r(s[Math.floor(s.length / 2)]);
};

function histogram(errors: (string | undefined)[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const e of errors) {
    if (e === undefined) continue;
    const k = e.slice(0, 100);
    out[k] = (out[k] ?? 0) + 1;
  }
  return out;
}

function message(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

/** The figures of a load run. */
export interface LoadFigures {
  requests: number;
  served: number;
  failed: number;
  /** Requests that overlapped the black hole, and how many failed. */
  duringHole: number;
  failedDuringHole: number;
  /**
   * Gets that settled later than getTimeout + slack, beyond the stalls of
   * the whole process (see LoopProbe; without that correction:
   * lateGetsRaw); the slowest get.
   */
  lateGets: number;
  lateGetsRaw: number;
  worstGetMs: number | null;
  /**
   * Requests that ran past their query timeout + slack once given a client
   * (corrected the same way; hungRequestsRaw without).
   */
  hungRequests: number;
  hungRequestsRaw: number;
  worstAfterGetMs: number | null;
  /** Failed requests: the slowest, the median, and from their get. */
  worstFailedMs: number | null;
  medianFailedMs: number | null;
  worstFailedAfterGetMs: number | null;
  medianFailedAfterGetMs: number | null;
  /** Connection attempts in flight at the forwarder: most at once. */
  peakAttemptsWarm: number;
  peakAttemptsHole: number;
  peakAttemptsAfter: number;
  maxCreating: number | null;
  /** From heal to the first request served (any; started after heal). */
  servedAgainMs: number | null;
  servedAgainNewMs: number | null;
  servedAfterHeal: number;
  holeMs: number;
  /** The forwarder when the network healed. */
  atHeal: Pick<
    BlackholeCounts,
    "open" | "upstreamOpen" | "accepted" | "heldBytes"
  >;
  /** Backends vs the pool's count before shutdown, once they agree. */
  backends: number;
  poolSize: number;
  /** shutdown() duration (null: a hang). */
  shutdownMs: number | null;
  /** Client sockets open when shutdown() resolved, and once they closed (PATIENCE at most). */
  socketsOpenAtShutdown: number;
  socketsLeftOpen: number;
  backendsAfterShutdown: number;
  /** Requests still running when the run stopped waiting for them. */
  requestsStuck: number;
  accepted: number;
  /** The longest the event loop stalled (a 10 ms timer came this late). */
  maxLoopLagMs: number;
  errors: Record<string, number>;
  pool: Record<string, unknown>;
}

/** Runs the load scenario for one pool; resolves with its figures. */
export async function runLoad(
  server: PgServer,
  kind: PoolKind,
  settings: ScenarioSettings = DEFAULT_SETTINGS,
  /** Sees each request once done, and the black hole's start and end. */
  observe?: (rec: RequestRecord, holeAt: number, healAt: number) => void,
): Promise<LoadFigures> {
  const s = settings;
  const fwd = await startBlackhole({ host: server.host, port: server.port });
  const prefix = newPrefix();
  const put = kind.make({ fwd, prefix, settings: s });
  const probe = new LoopProbe();
  const records: RequestRecord[] = [];
  let stopping = false;
  let holeAt = Infinity, healAt = Infinity;
  let servedNewAfterHeal = 0;
  let wake: (() => void) | undefined;
  const progress = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  /** Resolves once `cond()` holds, checked after each request (and every 50 ms). */
  const reached = async (cond: () => boolean, cap: number) => {
    const end = performance.now() + cap;
    while (!cond()) {
      if (performance.now() >= end) return false;
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, 50);
      });
    }
    return true;
  };
  let running = 0;
  const loop = async () => {
    running++;
    while (!stopping) {
      const rec: RequestRecord = { start: performance.now(), end: 0 };
      try {
        await put.request(rec);
      } catch (err) {
        rec.error = message(err);
      }
      rec.end = performance.now();
      records.push(rec);
      observe?.(rec, holeAt, healAt);
      if (rec.error === undefined && rec.start >= healAt) servedNewAfterHeal++;
      progress();
      // a pool that fails at once must not starve the timers
      if (rec.error !== undefined) await sleep(0);
    }
    running--;
  };
  const loops = Array.from({ length: s.tasks }, loop);
  let atHeal: BlackholeCounts | undefined;
  let peakAttemptsWarm = 0, peakAttemptsHole = 0;
  try {
    if (!await reached(() => records.length >= s.warmRequests, PATIENCE)) {
      throw new Error(
        `${kind.name}: fewer than ${s.warmRequests} requests done in ${PATIENCE} ms`,
      );
    }
    peakAttemptsWarm = fwd.counts().peakInFlight;
    fwd.resetPeaks();
    holeAt = performance.now();
    fwd.blackhole();
    await sleep(s.holeMs);
    atHeal = fwd.counts();
    peakAttemptsHole = atHeal.peakInFlight;
    fwd.resetPeaks();
    fwd.heal();
    healAt = performance.now();
    await reached(
      () =>
        (servedNewAfterHeal >= s.afterServed &&
          performance.now() - healAt >= s.afterMs) ||
        performance.now() - healAt >= s.afterCap,
      s.afterCap + 1000,
    );
  } catch (err) {
    // clean up what runs, then fail
    stopping = true;
    fwd.heal();
    await timed(Promise.all(loops), PATIENCE);
    await timed(put.shutdown(), PATIENCE);
    await fwd.close();
    probe.stop();
    throw err;
  }
  stopping = true;
  const all = timed(Promise.all(loops), PATIENCE);
  const requestsStuck = (await all).ok ? 0 : running;
  const peakAttemptsAfter = fwd.counts().peakInFlight;
  const { backends, poolSize } = await backendsVsPool(server, prefix, put);
  const down = await timed(put.shutdown(), PATIENCE);
  const socketsOpenAtShutdown = fwd.socketsLeftOpen();
  await poll(() => fwd.socketsLeftOpen() === 0, PATIENCE);
  const socketsLeftOpen = fwd.socketsLeftOpen();
  const backendsAfterShutdown = await server.waitBackends(prefix, 0);
  const accepted = fwd.counts().accepted;
  await fwd.close();
  probe.stop();

  const slack = s.slack;
  const getMs = (x: RequestRecord) => (x.gotAt ?? x.end) - x.start;
  const afterGet = records.filter((x) => x.gotAt !== undefined);
  const failed = records.filter((x) => x.error !== undefined);
  const failedAfterGet = failed.filter((x) => x.gotAt !== undefined);
  const hole = records.filter((x) => x.start < healAt && x.end > holeAt);
  const servedEnds = records.filter((x) => x.error === undefined)
    .map((x) => x.end).filter((t) => t >= healAt);
  const servedNewEnds = records.filter((x) =>
    x.error === undefined && x.start >= healAt
  ).map((x) => x.end);
  return {
    requests: records.length,
    served: records.length - failed.length,
    failed: failed.length,
    duringHole: hole.length,
    failedDuringHole: hole.filter((x) => x.error !== undefined).length,
    lateGets:
      records.filter((x) =>
        probe.late(x.gotAt ?? x.end, x.start + s.getTimeout, slack)
      ).length,
    lateGetsRaw: records.filter((x) => getMs(x) > s.getTimeout + slack).length,
    worstGetMs: max(records.map(getMs)),
    hungRequests:
      afterGet.filter((x) =>
        probe.late(x.end, x.gotAt! + s.queryTimeout, slack)
      ).length,
    hungRequestsRaw:
      afterGet.filter((x) => x.end - x.gotAt! > s.queryTimeout + slack).length,
    worstAfterGetMs: max(afterGet.map((x) => x.end - x.gotAt!)),
    worstFailedMs: max(failed.map((x) => x.end - x.start)),
    medianFailedMs: median(failed.map((x) => x.end - x.start)),
    worstFailedAfterGetMs: max(failedAfterGet.map((x) => x.end - x.gotAt!)),
    medianFailedAfterGetMs: median(failedAfterGet.map((x) => x.end - x.gotAt!)),
    peakAttemptsWarm,
    peakAttemptsHole,
    peakAttemptsAfter,
    maxCreating: put.maxCreating,
    servedAgainMs: servedEnds.length === 0
      ? null
      : r(Math.min(...servedEnds) - healAt),
    servedAgainNewMs: servedNewEnds.length === 0
      ? null
      : r(Math.min(...servedNewEnds) - healAt),
    servedAfterHeal: servedNewAfterHeal,
    holeMs: r(healAt - holeAt),
    atHeal: {
      open: atHeal?.open ?? -1,
      upstreamOpen: atHeal?.upstreamOpen ?? -1,
      accepted: atHeal?.accepted ?? -1,
      heldBytes: atHeal?.heldBytes ?? -1,
    },
    backends,
    poolSize,
    shutdownMs: down.ok ? down.ms : null,
    socketsOpenAtShutdown,
    socketsLeftOpen,
    backendsAfterShutdown,
    requestsStuck,
    accepted,
    maxLoopLagMs: probe.maxLag,
    errors: histogram(records.map((x) => x.error)),
    pool: put.details(),
  };
}

/** The figures of a shutdown run. */
export interface ShutdownFigures {
  idleClients: number;
  /** shutdown() duration behind the black hole (null: not done within shutdownCap). */
  shutdownMs: number | null;
  /**
   * Whether it ended within shutdownTimeout + slack of its start, beyond
   * the stalls of the whole process (see LoopProbe).
   */
  shutdownInTime: boolean;
  maxLoopLagMs: number;
  shutdownCap: number;
  /** Client sockets open when shutdown() resolved (or at the cap)… */
  socketsOpenAtShutdown: number;
  /** …and 500 ms later, still black-holed. */
  socketsLeftOpen: number;
  /** Once healed: shutdown done (false: a hang), backends left. */
  doneAfterHeal: boolean;
  backendsAfterHeal: number;
  pool: Record<string, unknown>;
}

/** Runs the shutdown scenario for one pool; resolves with its figures. */
export async function runShutdown(
  server: PgServer,
  kind: PoolKind,
  settings: ScenarioSettings = DEFAULT_SETTINGS,
): Promise<ShutdownFigures> {
  const s = settings;
  const fwd = await startBlackhole({ host: server.host, port: server.port });
  const prefix = newPrefix();
  const put = kind.make({ fwd, prefix, settings: s });
  const probe = new LoopProbe();
  let shutdown: Promise<void> | undefined;
  try {
    // with 1 s timeouts a loaded machine may fail a warm-up: try again
    const end = performance.now() + PATIENCE;
    for (;;) {
      try {
        await put.warm(s.idleClients);
        break;
      } catch (err) {
        if (performance.now() >= end) throw err;
      }
    }
    if (
      !await poll(
        async () => (await server.backends(prefix)) === s.idleClients,
        PATIENCE,
      )
    ) {
      throw new Error(`${kind.name}: no ${s.idleClients} idle backends`);
    }
    fwd.blackhole();
    const t0 = performance.now();
    shutdown = put.shutdown();
    const down = await timed(shutdown, s.shutdownCap);
    const socketsOpenAtShutdown = fwd.socketsLeftOpen();
    await sleep(500);
    const socketsLeftOpen = fwd.socketsLeftOpen();
    fwd.heal();
    const after = await timed(shutdown, PATIENCE);
    const backendsAfterHeal = await server.waitBackends(prefix, 0);
    return {
      idleClients: s.idleClients,
      shutdownMs: down.ok ? down.ms : null,
      shutdownInTime: down.ok &&
        !probe.late(down.end, t0 + s.shutdownTimeout, s.slack),
      maxLoopLagMs: probe.maxLag,
      shutdownCap: s.shutdownCap,
      socketsOpenAtShutdown,
      socketsLeftOpen,
      doneAfterHeal: after.ok,
      backendsAfterHeal,
      pool: put.details(),
    };
  } finally {
    if (shutdown === undefined) {
      fwd.heal();
      await timed(put.shutdown(), PATIENCE);
    }
    probe.stop();
    await fwd.close();
  }
}

/** The figures of {@linkcode runCloserCheck}. */
export interface CloserFigures {
  clients: number;
  /** closeClient() with no signal (plain end()): done within the wait? */
  plainDone: boolean;
  plainSocketsLeftOpen: number;
  /** closeClient() with a signal aborting after `abortMs`: how long, what is left. */
  abortMs: number;
  signalMs: number;
  signalInTime: boolean;
  signalSocketsLeftOpen: number;
  /** Backends left once healed. */
  backendsAfterHeal: number;
}

/**
 * Checks the closer the adapters use, without any pool: behind the black
 * hole, end() alone hangs and leaves the socket open, while end() raced
 * with an AbortSignal destroys the socket when the signal aborts. So the
 * shutdown target (0 sockets left) is reachable once a pool hands its
 * closer such a signal.
 */
export async function runCloserCheck(
  server: PgServer,
  settings: ScenarioSettings = DEFAULT_SETTINGS,
  abortMs = 300,
): Promise<CloserFigures> {
  const s = settings;
  const n = s.idleClients;
  const fwd = await startBlackhole({ host: server.host, port: server.port });
  const prefix = newPrefix();
  // no pool here to ride out a connect slowed by a loaded machine
  const env: PoolEnv = {
    fwd,
    prefix,
    settings: { ...s, connectTimeout: PATIENCE },
  };
  const probe = new LoopProbe();
  try {
    const connect = (i: number) => connectClient(env, `${prefix}${i}`);
    const plain = await Promise.all(
      Array.from({ length: n }, (_, i) => connect(i)),
    );
    const careful = await Promise.all(
      Array.from({ length: n }, (_, i) => connect(n + i)),
    );
    fwd.blackhole();
    const before = fwd.socketsLeftOpen();
    const plainDone = await timed(
      Promise.all(plain.map((c) => closeClient(c))),
      abortMs,
    );
    const plainSocketsLeftOpen = n - (before - fwd.socketsLeftOpen());
    const t0 = performance.now();
    const signal = AbortSignal.timeout(abortMs);
    const open0 = fwd.socketsLeftOpen();
    const done = await timed(
      Promise.all(careful.map((c) => closeClient(c, signal))),
      s.shutdownCap,
    );
    const signalSocketsLeftOpen = n - (open0 - fwd.socketsLeftOpen());
    fwd.heal();
    const backendsAfterHeal = await server.waitBackends(prefix, 0);
    return {
      clients: n,
      plainDone: plainDone.ok,
      plainSocketsLeftOpen,
      abortMs,
      signalMs: done.ms,
      signalInTime: done.ok &&
        !probe.late(done.end, t0 + abortMs, s.slack),
      signalSocketsLeftOpen,
      backendsAfterHeal,
    };
  } finally {
    probe.stop();
    await fwd.close();
  }
}

/** One target bound: whether it holds, what was measured, against what. */
export interface TargetCheck {
  holds: boolean;
  value: unknown;
  bound: string;
}

/**
 * The contract a pool should keep behind a black hole, checked on the
 * figures. Deadlines are checked against their timeout + `slack`, beyond
 * the stalls of the whole process (so that a machine too busy to run
 * timers is not blamed on the pool); none is a speed.
 */
export function targets(
  load: LoadFigures,
  down: ShutdownFigures,
  settings: ScenarioSettings = DEFAULT_SETTINGS,
): Record<string, TargetCheck> {
  const s = settings;
  // the pause between retries a waiter with this timeout sits through at
  // most (our Pool: max(backoffInitial, timeout / 8))
  const pause = Math.max(10, s.getTimeout / 8);
  return {
    failingRequestsWithinQueryTimeout: {
      holds: load.hungRequests === 0,
      value: {
        hungRequests: load.hungRequests,
        hungRequestsRaw: load.hungRequestsRaw,
        worstFailedAfterGetMs: load.worstFailedAfterGetMs,
      },
      bound: `each request ends within queryTimeout + ${s.slack} ms (${
        s.queryTimeout + s.slack
      }) of getting its client`,
    },
    getsWithinTimeout: {
      holds: load.lateGets === 0,
      value: {
        lateGets: load.lateGets,
        lateGetsRaw: load.lateGetsRaw,
        worstGetMs: load.worstGetMs,
        maxLoopLagMs: load.maxLoopLagMs,
      },
      bound: `each get settles within getTimeout + ${s.slack} ms (${
        s.getTimeout + s.slack
      })`,
    },
    attemptsWithinMaxCreating: {
      holds: load.maxCreating !== null &&
        Math.max(
            load.peakAttemptsWarm,
            load.peakAttemptsHole,
            load.peakAttemptsAfter,
          ) <= load.maxCreating,
      value: {
        warm: load.peakAttemptsWarm,
        hole: load.peakAttemptsHole,
        after: load.peakAttemptsAfter,
      },
      bound:
        `connection attempts in flight <= maxCreating (${load.maxCreating})`,
    },
    servedAgainAfterHeal: {
      holds: load.servedAgainNewMs !== null &&
        load.servedAgainNewMs <= 1000 + pause + s.slack,
      value: {
        servedAgainNewMs: load.servedAgainNewMs,
        servedAgainMs: load.servedAgainMs,
      },
      bound:
        `a request started after heal is served within 1000 ms + the back-off pause (${pause}) + ${s.slack} ms`,
    },
    noSocketsLeaked: {
      holds: load.socketsLeftOpen === 0,
      value: load.socketsLeftOpen,
      bound: "0 client sockets open after shutdown",
    },
    backendsMatchPool: {
      holds: load.backends === load.poolSize &&
        load.backendsAfterShutdown === 0,
      value: {
        backends: load.backends,
        poolSize: load.poolSize,
        backendsAfterShutdown: load.backendsAfterShutdown,
      },
      bound: "backends = the pool's count before shutdown, 0 after",
    },
    shutdownWithinTimeout: {
      holds: down.shutdownInTime,
      value: { shutdownMs: down.shutdownMs, maxLoopLagMs: down.maxLoopLagMs },
      bound:
        `behind the black hole, ${s.idleClients} idle clients: shutdown within shutdownTimeout + ${s.slack} ms (${
          s.shutdownTimeout + s.slack
        })`,
    },
    shutdownLeavesNoSockets: {
      holds: down.socketsLeftOpen === 0,
      value: down.socketsLeftOpen,
      bound:
        `behind the black hole, ${s.idleClients} idle clients: 0 sockets left open after shutdown`,
    },
  };
}
