// Backends killed under load, against a real PostgreSQL: what a pool that
// learns of a dead connection at once (examples/pg.ts: pool.evict wired to
// each client's 'error' and 'end', and an isBroken classifier) saves over
// the same pool that finds out from the next request, and over generic-pool
// with and without testOnBorrow, in one run: the same server, the same
// load, the same kill plan.
//
// The load: 24 request loops on 8 clients (minSize 8, maxSize 8), 3000
// requests of about 2 ms each. The kill plan: 30 kills, one each time
// another 3000/32 requests have started, the load held at each kill point
// until the kill is issued (the requests already started go on meanwhile);
// the victim is drawn from the pool's live clients, sorted by backend pid,
// with the same seeded draws for every pool. Each kill is recorded as what
// its victim was doing when it struck (see Doing): running a request's
// query or a check (the server says), else lent to a request between two
// round trips, or in the pool.
//
// Each pool prints one line "PG-FIGURES {json}". Nothing asserted depends
// on how fast the machine is: faults are paced on the load, waits are
// bounded only by PATIENCE (a hang). The example itself (examples/pg.ts) is
// run against the same server, so that it cannot rot.
//
// Without PostgreSQL the file is skipped, unless CI is set: then it fails.
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import process from "node:process";
import { fileURLToPath } from "node:url";
import type pg from "pg";
import genericPool from "generic-pool";
import { Pool, type PoolStats } from "../mod.ts";
import { isBroken, pgPool as wiredPgPool } from "../examples/pg.ts";
import { prng } from "./_helpers.ts";
import {
  PATIENCE,
  type PgServer,
  pgUnavailable,
  sleep,
  startPg,
} from "./_pg.ts";

const unavailable = pgUnavailable();
const skip = unavailable !== undefined && !process.env.CI
  ? `PostgreSQL tests skipped: ${unavailable}`
  : false;
if (skip) console.warn(skip);

// only a hang reaches it (see above)
const LIMIT = { timeout: 300_000 };

const g = globalThis as {
  Deno?: { version: { deno: string } };
  Bun?: { version: string };
};
const runtime = g.Deno
  ? `deno ${g.Deno.version.deno}`
  : g.Bun
  ? `bun ${g.Bun.version}`
  : `node ${process.versions.node}`;

/** One JSON line per pool, for the lead to quote. */
function figures(scenario: string, data: Record<string, unknown>): void {
  console.log(`PG-FIGURES ${JSON.stringify({ scenario, runtime, ...data })}`);
}

const round2 = (x: number) => Math.round(x * 100) / 100;

/** The pid of the backend serving this client (pg's `processID`). */
function pidOf(c: pg.Client): number {
  return (c as unknown as { processID: number }).processID;
}

/** Resolves once `cond()` holds (polled), or fails after PATIENCE. */
async function until(what: string, cond: () => boolean): Promise<void> {
  const end = Date.now() + PATIENCE;
  while (!cond()) {
    if (Date.now() >= end) throw new Error(`timed out waiting until ${what}`);
    await sleep(10);
  }
}

/**
 * What a backend was doing when it was killed: running a request's query,
 * or a check (our health, generic-pool's validate), as the server saw it;
 * else waiting for a query, its client lent to a request (between two
 * round trips: its query on the way, or its answer not read yet) when the
 * kill was sent or answered, or neither time (in the pool, idle or under
 * the pool's own work, e.g. a validate on its way).
 */
type Doing = "query" | "check" | "lent" | "pooled";

/**
 * The clients of one pool as the test sees them: those alive (connected,
 * not ended, not killed yet), those killed, and the round trips of the
 * pool's own checks.
 */
class Tracker {
  readonly prefix: string;
  readonly live = new Set<pg.Client>();
  /** Clients lent to a request now. */
  readonly lent = new Set<pg.Client>();
  /** What each killed client's backend was doing when killed. */
  readonly killed = new Map<pg.Client, Doing>();
  opened = 0;
  ended = 0;
  /** Checks run by the pool (health, validate): one round trip each. */
  checks = 0;

  constructor(prefix: string) {
    this.prefix = prefix;
  }

  /** A client just connected. */
  add(c: pg.Client): void {
    this.opened++;
    this.live.add(c);
    c.once("end", () => {
      this.ended++;
      this.live.delete(c);
    });
  }

  /** A check (SELECT 1) as the pool runs it: one round trip. */
  async check(c: pg.Client): Promise<void> {
    this.checks++;
    await c.query("SELECT 1");
  }
}

/** A pool under test, behind a common face. */
interface Under {
  name: string;
  ready(): Promise<void>;
  /** Lends a client to `fn`; a failing `fn` fails the request. */
  with(fn: (c: pg.Client) => Promise<void>): Promise<void>;
  /** Borrows so far. */
  borrows(): number;
  shutdown(): Promise<void>;
}

let prefixCount = 0;
const newPrefix = () => `ppp-kills-${process.pid}-${++prefixCount}-`;

const SIZE = 8;
const quiet = { debug() {}, info() {}, warn() {}, error() {} };

/** Our Pool, as the reliability tests use it: health = SELECT 1, no more. */
function plainPool(s: PgServer, t: Tracker): Under & { pool: Pool<pg.Client> } {
  const pool = new Pool<pg.Client>({
    fun: async (n) => {
      const c = await s.connect(`${t.prefix}${n}`);
      t.add(c);
      return c;
    },
    closer: (c) => c.end(),
    health: (c) => t.check(c),
    minSize: SIZE,
    maxSize: SIZE,
    healthTimeout: PATIENCE,
    shutdownTimeout: PATIENCE,
    logger: quiet,
    name: t.prefix.slice(0, -1),
  });
  return {
    name: "ours-plain",
    pool,
    ready: () => pool.ready({ timeout: PATIENCE }),
    with: (fn) => pool.use(fn),
    borrows: () => pool.stats().nuses,
    shutdown: () => pool.shutdown(),
  };
}

/**
 * Our Pool wired as examples/pg.ts wires it (evict on 'error' and 'end',
 * isBroken, a closer with the signal), the health check counted.
 */
function wiredPool(s: PgServer, t: Tracker): Under & { pool: Pool<pg.Client> } {
  const pool = wiredPgPool((n) => s.config(`${t.prefix}${n}`), {
    opener: (c) => t.add(c),
    health: (c) => t.check(c),
    minSize: SIZE,
    maxSize: SIZE,
    healthTimeout: PATIENCE,
    shutdownTimeout: PATIENCE,
    logger: quiet,
    name: t.prefix.slice(0, -1),
  });
  return {
    name: "ours-wired",
    pool,
    ready: () => pool.ready({ timeout: PATIENCE }),
    with: (fn) => pool.use(fn),
    borrows: () => pool.stats().nuses,
    shutdown: () => pool.shutdown(),
  };
}

interface GenericPool<T> {
  acquire(): Promise<T>;
  release(obj: T): Promise<void>;
  destroy(obj: T): Promise<void>;
  ready(): Promise<void>;
  drain(): Promise<void>;
  clear(): Promise<void>;
  size: number;
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
 * generic-pool 3.9, min = max = 8; a client whose request failed is
 * destroyed; with `testOnBorrow`, validate = SELECT 1 on every borrow.
 */
function genericPoolUnder(
  s: PgServer,
  t: Tracker,
  testOnBorrow: boolean,
): Under & { gp: GenericPool<pg.Client> } {
  let n = 0;
  let borrows = 0;
  const gp = (genericPool as unknown as GenericPoolModule).createPool<
    pg.Client
  >({
    create: async () => {
      const c = await s.connect(`${t.prefix}${n++}`);
      t.add(c);
      return c;
    },
    destroy: (c) => c.end(),
    validate: (c) => t.check(c).then(() => true, () => false),
  }, { min: SIZE, max: SIZE, testOnBorrow });
  return {
    name: testOnBorrow ? "generic-pool+testOnBorrow" : "generic-pool",
    gp,
    ready: () => gp.ready(),
    async with(fn) {
      const c = await gp.acquire();
      borrows++;
      try {
        await fn(c);
      } catch (err) {
        gp.destroy(c).catch(() => {});
        throw err;
      }
      await gp.release(c);
    },
    borrows: () => borrows,
    async shutdown() {
      await gp.drain();
      await gp.clear();
    },
  };
}

/** One request: which client served it (if any), and how it failed. */
interface Outcome {
  client?: pg.Client;
  error?: unknown;
}

const TOTAL = 3000, LOOPS = 24, KILLS = 30;
/** A request: a query of about 2 ms. */
const REQUEST = "SELECT $1::int AS i, pg_sleep(0.002)";
/** A kill each time another TOTAL/(KILLS+2) requests have started. */
const POINTS = Array.from(
  { length: KILLS },
  (_, k) => Math.round(((k + 1) * TOTAL) / (KILLS + 2)),
);

/**
 * Runs the load on `u` with the kill plan, killing through `admin` the
 * victims drawn by `random`; resolves with the outcomes and the kills.
 */
async function killRun(
  u: Under,
  t: Tracker,
  admin: pg.Client,
  random: () => number,
  alive: () => number,
): Promise<{
  outcomes: Outcome[];
  kills: Doing[];
  killedDuringRun: number;
  seconds: number;
  maxAlive: number;
}> {
  const outcomes: Outcome[] = [];
  const kills: Doing[] = [];
  let killedDuringRun = 0;
  let started = 0;
  let maxAlive = 0;
  let k = 0;
  let pending: Promise<void> | undefined;
  const kill = async () => {
    await until("a live client to kill", () => t.live.size > 0);
    const victims = [...t.live].sort((a, b) => pidOf(a) - pidOf(b));
    const victim = victims[Math.floor(random() * victims.length)];
    t.live.delete(victim);
    const lentAtKill = t.lent.has(victim);
    // what the victim's backend was doing, as the server saw it when it
    // killed it: running a query (which one), or waiting for one
    const { rows } = await admin.query<
      { state: string | null; query: string | null; ok: boolean }
    >(
      "SELECT state, query, pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE pid = $1",
      [pidOf(victim)],
    );
    assert.equal(rows[0]?.ok, true, `the kill of backend ${pidOf(victim)}`);
    const doing: Doing = rows[0].state === "active"
      ? (rows[0].query === "SELECT 1" ? "check" : "query")
      : lentAtKill || t.lent.has(victim)
      ? "lent"
      : "pooled";
    t.killed.set(victim, doing);
    kills.push(doing);
    if (outcomes.length < TOTAL) killedDuringRun++;
  };
  // the load waits at each kill point until the kill is issued; the
  // requests in flight go on meanwhile
  const gate = (): Promise<void> | undefined => {
    if (pending !== undefined) return pending;
    if (k >= POINTS.length || started < POINTS[k]) return undefined;
    k++;
    pending = kill().then(() => void (pending = undefined));
    return pending;
  };
  const t0 = performance.now();
  const loop = async () => {
    for (;;) {
      for (let held = gate(); held; held = gate()) await held;
      if (started >= TOTAL) break;
      const i = started++;
      maxAlive = Math.max(maxAlive, alive());
      const o: Outcome = {};
      try {
        await u.with((c) => {
          o.client = c;
          t.lent.add(c);
          return c.query(REQUEST, [i]).then(
            () => void t.lent.delete(c),
            (err) => {
              t.lent.delete(c);
              throw err;
            },
          );
        });
      } catch (err) {
        o.error = err ?? new Error("rejected with nothing");
      }
      outcomes.push(o);
    }
  };
  await Promise.all(Array.from({ length: LOOPS }, loop));
  const seconds = (performance.now() - t0) / 1000;
  return { outcomes, kills, killedDuringRun, seconds, maxAlive };
}

function messages(outcomes: Outcome[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const o of outcomes) {
    if (o.error === undefined) continue;
    const m = o.error instanceof Error
      ? `${o.error.name}: ${o.error.message}`
      : String(o.error);
    const key = m.slice(0, 100);
    out[key] = (out[key] ?? 0) + 1;
  }
  return out;
}

const count = (xs: readonly Doing[], what: Doing) =>
  xs.filter((x) => x === what).length;

/** The figures of one run, common to every pool. */
function summary(
  u: Under,
  t: Tracker,
  run: Awaited<ReturnType<typeof killRun>>,
) {
  const failedOnes = run.outcomes.filter((o) => o.error !== undefined);
  const failed = failedOnes.length;
  const killed = run.kills.length;
  // the failures on a killed client, by what it was doing when killed
  const failedAfter = { query: 0, check: 0, lent: 0, pooled: 0, notKilled: 0 };
  for (const o of failedOnes) {
    const doing = o.client && t.killed.get(o.client);
    if (doing === undefined) failedAfter.notKilled++;
    else failedAfter[doing]++;
  }
  const borrows = u.borrows();
  return {
    pool: u.name,
    requests: run.outcomes.length,
    served: run.outcomes.length - failed,
    failed,
    kills: killed,
    killedDuringRun: run.killedDuringRun,
    failedPerKill: round2(failed / killed),
    // what each victim was doing when the kill was sent
    killsOn: {
      query: count(run.kills, "query"),
      check: count(run.kills, "check"),
      lent: count(run.kills, "lent"),
      pooled: count(run.kills, "pooled"),
    },
    failedAfterKillOn: failedAfter,
    borrows,
    checkRoundTrips: t.checks,
    roundTripsPerBorrow: Math.round((t.checks / borrows) * 1000) / 1000,
    maxAlive: run.maxAlive,
    seconds: round2(run.seconds),
    servedPerSecond: Math.round((run.outcomes.length - failed) / run.seconds),
    errors: messages(run.outcomes),
  };
}

/**
 * Takes every client of a full pool at once and runs a query on each,
 * giving back broken those whose connection is dead; again until a round
 * finds none dead (5 rounds at most).
 */
async function useEveryClient(pool: Pool<pg.Client>): Promise<number> {
  for (let round = 1;; round++) {
    const clients = await Promise.all(
      Array.from({ length: SIZE }, () => pool.get({ timeout: PATIENCE })),
    );
    const ok = await Promise.all(
      clients.map((c) => c.query("SELECT 1").then(() => true, () => false)),
    );
    clients.forEach((c, i) =>
      pool.ret(c, ok[i] ? undefined : { broken: true })
    );
    if (ok.every((x) => x) || round === 5) return round;
  }
}

/** Polls until the backends named `prefix…` number the pool's `nobjs`. */
async function backendsMatch(
  s: PgServer,
  prefix: string,
  pool: Pool<pg.Client>,
): Promise<{ backends: number; nobjs: number }> {
  const end = Date.now() + PATIENCE;
  for (;;) {
    const backends = await s.backends(prefix);
    const nobjs = pool.stats().nobjs;
    if (backends === nobjs || Date.now() >= end) return { backends, nobjs };
    await sleep(20);
  }
}

function closedBy(st: PoolStats): Record<string, number> {
  return Object.fromEntries(
    Object.entries(st.closedBy).filter(([, n]) => n !== 0),
  );
}

/** The command that runs a .ts file on the runtime running the tests. */
function command(file: string): [string, string[]] {
  const bin = (name: string) =>
    fileURLToPath(new URL(`../node_modules/.bin/${name}`, import.meta.url));
  if (g.Deno) return [bin("deno"), ["run", "-A", file]];
  if (g.Bun) return [bin("bun"), [file]];
  return [process.execPath, [file]];
}

describe("backends killed under load, wired or not (issue 9)", { skip }, () => {
  let started: Promise<PgServer> | undefined;
  const server = (): Promise<PgServer> => {
    if (unavailable !== undefined) {
      return Promise.reject(
        new Error(
          `CI is set but the PostgreSQL tests cannot run: ${unavailable}`,
        ),
      );
    }
    return started ??= startPg();
  };

  after(async () => {
    const s = await started?.catch(() => undefined);
    await s?.destroy();
  });

  it(
    "examples/pg.ts runs against a real server and exits by itself",
    LIMIT,
    async () => {
      const s = await server();
      const prefix = newPrefix();
      const url =
        `postgres://postgres@${s.host}:${s.port}/postgres?application_name=${prefix}example`;
      const [cmd, args] = command(
        fileURLToPath(new URL("../examples/pg.ts", import.meta.url)),
      );
      const { code, out } = await new Promise<
        { code: number | null; out: string }
      >(
        (resolve) => {
          const child = spawn(cmd, args, {
            env: { ...process.env, DATABASE_URL: url, NO_COLOR: "1" },
          });
          let out = "";
          child.stdout.on("data", (d) => out += d);
          child.stderr.on("data", (d) => out += d);
          const timer = setTimeout(() => child.kill("SIGKILL"), PATIENCE);
          child.on("close", (code) => {
            clearTimeout(timer);
            resolve({ code, out });
          });
        },
      );
      assert.equal(code, 0, out);
      assert.match(out, /^query: 1 \+ 1 = 2$/m);
      // a SQL error: not broken, no health check, nothing closed
      assert.match(
        out,
        /^SQL error: division by zero \(22012\): isBroken says false; closed: 0 broken, 0 evicted, 0 by health, 0 health checks$/m,
      );
      // killed in use: broken, closed without a health check
      assert.match(
        out,
        /^backend killed in use: .* \(57P01\): isBroken says true; closed: 1 broken, 0 evicted, 0 by health$/m,
      );
      // killed while idle: its 'error' evicted it, nobody got it again
      assert.match(
        out,
        /^idle client's backend killed: evicted; closed: 1 broken, 1 evicted, 0 by health; \d+ clients, 0 of them dead$/m,
      );
      assert.match(
        out,
        /^done: \d+ clients lent, 0 health checks, 4 created$/m,
      );
      assert.match(out, /^after shutdown: 0 clients$/m);
      assert.equal(await s.waitBackends(prefix, 0), 0, "backends left");
    },
  );

  it(
    "wired (evict + isBroken), a kill costs no more failed requests than unwired, with no round trip per borrow",
    LIMIT,
    async () => {
      const s = await server();
      const seed = Number(process.env.PG_SEED ?? Date.now() % 2 ** 31);
      console.log(
        `PG-SEED kill-30-compare ${seed} (replay its victims with PG_SEED=${seed})`,
      );
      const admin = await s.admin();
      const results: Record<string, ReturnType<typeof summary>> = {};
      try {
        // one pool after the other on the same server, each with the
        // same kill points and the same draws of victims
        for (
          const kind of [
            "ours-plain",
            "ours-wired",
            "generic-pool+testOnBorrow",
            "generic-pool",
          ] as const
        ) {
          const t = new Tracker(newPrefix());
          const u = kind === "ours-plain"
            ? plainPool(s, t)
            : kind === "ours-wired"
            ? wiredPool(s, t)
            : genericPoolUnder(s, t, kind === "generic-pool+testOnBorrow");
          const alive = "pool" in u
            ? () => u.pool.stats().nobjs + u.pool.stats().creating
            : () => u.gp.size;
          try {
            await u.ready();
            const run = await killRun(u, t, admin, prng(seed), alive);
            const r = summary(u, t, run);
            results[kind] = r;
            assert.equal(r.requests, TOTAL);
            assert.equal(r.kills, KILLS, `kills: ${JSON.stringify(r)}`);
            assert.equal(
              r.killedDuringRun,
              KILLS,
              `kills during the load: ${JSON.stringify(r)}`,
            );
            if (!("pool" in u)) {
              await u.shutdown();
              figures("kill-30-compare", {
                ...r,
                backendsAfterShutdown: await s.waitBackends(t.prefix, 0),
              });
              continue;
            }
            const pool = u.pool;
            let st = pool.stats();
            assert.ok(r.maxAlive <= SIZE, `alive at once: ${r.maxAlive}`);
            assert.equal(st.ncreated - st.ndestroys, st.nobjs);
            // each kill costs at most the one request that had its client
            assert.ok(r.failed <= r.kills, `failed: ${JSON.stringify(r)}`);
            assert.equal(r.failedAfterKillOn.notKilled, 0, JSON.stringify(r));
            // unwired, a client killed while idle is still in the pool (no
            // health round ran: its period is 60 s): a query on every
            // client finds it. Wired, its 'error' evicted it already.
            const rounds = kind === "ours-plain"
              ? await useEveryClient(pool)
              : 0;
            const { backends, nobjs } = await backendsMatch(s, t.prefix, pool);
            assert.equal(
              backends,
              nobjs,
              `backends ${backends} vs nobjs ${nobjs}: ${JSON.stringify(r)}`,
            );
            st = pool.stats();
            if (kind === "ours-wired") {
              // every failure was classified: the connection is gone
              const unclassified = run.outcomes.filter((o) =>
                o.error !== undefined && isBroken(o.error) !== true
              );
              assert.deepEqual(messages(unclassified), {});
              // no health check on the way back: only housekeeping's
              assert.equal(st.nhealth, st.nborrows, JSON.stringify(st));
              // each killed client closed once, as broken or evicted
              assert.equal(
                st.closedBy.broken + st.closedBy.evicted + st.closedBy.health,
                r.kills,
                `closedBy ${JSON.stringify(st.closedBy)}`,
              );
            }
            await pool.shutdown();
            const left = await s.waitBackends(t.prefix, 0);
            assert.equal(left, 0, `backends left after shutdown: ${left}`);
            assert.equal(t.ended, t.opened, "clients not closed");
            figures("kill-30-compare", {
              ...r,
              closedBy: closedBy(st),
              nhealth: st.nhealth,
              healthRounds: st.hcRounds,
              ncreated: st.ncreated,
              roundsOverEveryClient: rounds,
              backends,
              nobjs,
              backendsAfterShutdown: left,
            });
          } finally {
            await u.shutdown().catch(() => {});
          }
        }
        const fpk = Object.fromEntries(
          Object.entries(results).map(([k, r]) => [k, r.failedPerKill]),
        );
        figures("kill-30-compare-summary", {
          seed,
          failedPerKill: fpk,
          served: Object.fromEntries(
            Object.entries(results).map(([k, r]) => [k, r.served]),
          ),
          roundTripsPerBorrow: Object.fromEntries(
            Object.entries(results).map(([k, r]) => [k, r.roundTripsPerBorrow]),
          ),
        });
        assert.ok(
          results["ours-wired"].failed <= results["ours-plain"].failed,
          `wired failed more than plain: ${JSON.stringify(fpk)}`,
        );
      } finally {
        await admin.end();
      }
    },
  );
});
