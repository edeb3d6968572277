// A KeyedPool against a real PostgreSQL (issue 20): one database per
// tenant, 50 of them in the throwaway server (tests/_pg.ts), 200 requests at
// once spread over them, with maxTotal 20; beside it, the hand-made Map of
// pools it replaces. The backends are sampled in pg_stat_activity all along
// the run. Each run prints one line "PG-FIGURES {json}".
//
// Without PostgreSQL the file is skipped, unless CI is set: then it fails.
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import pg from "pg";
import { KeyedPool, Pool } from "../mod.ts";
import { prng, recordingLogger } from "./_helpers.ts";
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

// only a hang fails on time: nothing here depends on the machine's speed
const LIMIT = { timeout: 300_000 };

const TENANTS = 50;
const REQUESTS = 200;
const MAX_TOTAL = 20;
/** Per tenant, for the keyed pool and the Map of pools alike. */
const MAX_SIZE = 2;
/** A Map of 50 pools of 2 may open 100 connections: leave it room. */
const MAX_CONNECTIONS = 150;
const KEY_IDLE_TIMEOUT = 500;

const tenant = (i: number) => `tenant_${i}`;

function runtime(): string {
  const g = globalThis as {
    Deno?: { version: { deno: string } };
    Bun?: { version: string };
  };
  if (g.Deno) return `deno ${g.Deno.version.deno}`;
  if (g.Bun) return `bun ${g.Bun.version}`;
  return `node ${process.versions.node}`;
}

/**
 * Counts the client backends named `prefix…` as often as one admin
 * connection can ask, until stopped; `peak` is the most seen at once.
 * `also` runs at each sample (the pool's own counts).
 */
function sampler(admin: pg.Client, prefix: string, also?: () => void) {
  let running = true;
  const seen = { peak: 0, samples: 0 };
  const done = (async () => {
    while (running) {
      const { rows } = await admin.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE backend_type = 'client backend' AND starts_with(application_name, $1)",
        [prefix],
      );
      seen.peak = Math.max(seen.peak, rows[0].n);
      seen.samples++;
      also?.();
      await sleep(2);
    }
  })();
  return {
    seen,
    stop: async () => {
      running = false;
      await done;
      return seen;
    },
  };
}

/** A `pg` client of a tenant's database, its backend named `name`. */
async function connect(
  server: PgServer,
  database: string,
  name: string,
  onError: (client: pg.Client) => void,
): Promise<pg.Client> {
  const client = new pg.Client({ ...server.config(name), database });
  // an idle client whose backend dies reports it (and does not crash us)
  client.on("error", () => onError(client));
  try {
    await client.connect();
  } catch (err) {
    await client.end().catch(() => {});
    throw err;
  }
  return client;
}

/** The same 200 requests for both: a tenant each, drawn from a fixed seed. */
const requests = (() => {
  const random = prng(20);
  return Array.from(
    { length: REQUESTS },
    () => tenant(Math.floor(random() * TENANTS)),
  );
})();

/** Runs the requests at once; resolves with errors and wrong databases. */
async function load(
  use: (t: string, fn: (c: pg.Client) => Promise<string>) => Promise<string>,
): Promise<{ errors: Record<string, number>; wrong: number; ms: number }> {
  const t0 = performance.now();
  const outcomes = await Promise.allSettled(
    requests.map((t) =>
      use(t, async (c) => {
        const { rows } = await c.query<{ db: string }>(
          "SELECT current_database() AS db, pg_sleep(0.01)",
        );
        return rows[0].db;
      }).then((db) => db === t)
    ),
  );
  const errors: Record<string, number> = {};
  let wrong = 0;
  for (const o of outcomes) {
    if (o.status === "fulfilled") {
      if (!o.value) wrong++;
    } else {
      const m = String(o.reason).slice(0, 120);
      errors[m] = (errors[m] ?? 0) + 1;
    }
  }
  return { errors, wrong, ms: Math.round(performance.now() - t0) };
}

const count = (errors: Record<string, number>) =>
  Object.values(errors).reduce((a, b) => a + b, 0);

describe("KeyedPool with a real PostgreSQL (issue 20)", { skip }, () => {
  let started: Promise<PgServer> | undefined;
  const server = (): Promise<PgServer> => {
    if (unavailable !== undefined) {
      return Promise.reject(
        new Error(
          `CI is set but the PostgreSQL tests cannot run: ${unavailable}`,
        ),
      );
    }
    return started ??= startPg({ maxConnections: MAX_CONNECTIONS });
  };

  after(async () => {
    const s = await started?.catch(() => undefined);
    await s?.destroy();
  });

  it(
    `${TENANTS} tenant databases, ${REQUESTS} requests at once, maxTotal ${MAX_TOTAL}: never more backends, 0 errors, 0 left`,
    LIMIT,
    async () => {
      const s = await server();
      const admin = await s.admin();
      try {
        // one database per tenant (FILE_COPY: no WAL of the copy, faster)
        const version = Number(
          (await admin.query<{ v: string }>(
            "SELECT current_setting('server_version_num') AS v",
          )).rows[0].v,
        );
        const strategy = version >= 150000 ? " STRATEGY = FILE_COPY" : "";
        for (let i = 0; i < TENANTS; i++) {
          await admin.query(`CREATE DATABASE ${tenant(i)}${strategy}`);
        }

        // -- the keyed pool
        const prefix = `ppp-${process.pid}-keyed-`;
        const log = recordingLogger();
        let opened = 0;
        let ended = 0;
        let peakTotal = 0;
        const keyed: KeyedPool<string, pg.Client> = new KeyedPool({
          fun: async (t, n) => {
            const c = await connect(
              s,
              t,
              `${prefix}${t}-${n}`,
              (dead) => keyed.evict(dead),
            );
            opened++;
            c.once("end", () => void ended++);
            return c;
          },
          closer: (c) => c.end(),
          maxSize: MAX_SIZE,
          maxTotal: MAX_TOTAL,
          keyIdleTimeout: KEY_IDLE_TIMEOUT,
          timeout: PATIENCE,
          shutdownTimeout: PATIENCE,
          logger: log,
        });
        const watch = sampler(admin, prefix, () => {
          peakTotal = Math.max(peakTotal, keyed.stats().ntotal);
        });
        const run = await load((t, fn) => keyed.use(t, fn));
        const seen = await watch.stop();
        const st = keyed.stats();
        // idle tenants go, their connections closed, without a shutdown
        const t0 = performance.now();
        const idleLeft = await s.waitBackends(prefix, 0);
        const idleGoneMs = Math.round(performance.now() - t0);
        await keyed.shutdown();
        const left = await s.waitBackends(prefix, 0);

        // -- the hand-made Map of pools it replaces
        const mprefix = `ppp-${process.pid}-map-`;
        const pools = new Map<string, Pool<pg.Client>>();
        const poolOf = (t: string) => {
          let p = pools.get(t);
          if (p === undefined) {
            const pool: Pool<pg.Client> = new Pool<pg.Client>({
              fun: (n) =>
                connect(
                  s,
                  t,
                  `${mprefix}${t}-${n}`,
                  (dead) => pool.evict(dead),
                ),
              closer: (c) => c.end(),
              minSize: 0,
              maxSize: MAX_SIZE,
              timeout: PATIENCE,
              shutdownTimeout: PATIENCE,
              logger: recordingLogger(),
            });
            pools.set(t, p = pool);
          }
          return p;
        };
        const mwatch = sampler(admin, mprefix);
        const mrun = await load((t, fn) => poolOf(t).use(fn));
        const mseen = await mwatch.stop();
        // a Map of pools holds every tenant's connections until shutdown
        await sleep(2 * KEY_IDLE_TIMEOUT);
        const mheld = await s.backends(mprefix);
        await Promise.all([...pools.values()].map((p) => p.shutdown()));
        const mleft = await s.waitBackends(mprefix, 0);

        const figures = {
          scenario: "keyed-tenants",
          runtime: runtime(),
          tenants: TENANTS,
          requests: REQUESTS,
          maxSizePerTenant: MAX_SIZE,
          keyed: {
            maxTotal: MAX_TOTAL,
            peakBackends: seen.peak,
            peakNtotal: peakTotal,
            samples: seen.samples,
            errors: count(run.errors),
            wrongDatabase: run.wrong,
            ms: run.ms,
            connectionsOpened: opened,
            closedForRoom: st.nmadeRoom,
            keysOpened: st.nkeysOpened,
            idleBackendsGoneAfterMs: idleGoneMs,
            backendsAfterShutdown: left,
          },
          mapOfPools: {
            peakBackends: mseen.peak,
            samples: mseen.samples,
            errors: count(mrun.errors),
            wrongDatabase: mrun.wrong,
            ms: mrun.ms,
            backendsHeldAfterRun: mheld,
            backendsAfterShutdown: mleft,
          },
        };
        console.log(`PG-FIGURES ${JSON.stringify(figures)}`);

        assert.deepEqual(
          run.errors,
          {},
          "the keyed pool's requests all served",
        );
        assert.equal(run.wrong, 0, "each request in its tenant's database");
        assert.ok(seen.samples > 10, `too few samples: ${seen.samples}`);
        assert.ok(
          seen.peak <= MAX_TOTAL,
          `${seen.peak} backends at once, maxTotal ${MAX_TOTAL}`,
        );
        assert.ok(peakTotal <= MAX_TOTAL);
        assert.equal(idleLeft, 0, "idle tenants' connections closed");
        assert.equal(left, 0, "no backend left after shutdown");
        assert.equal(ended, opened, "every client closed");
        assert.equal(
          log.at("error").length,
          0,
          log.at("error").slice(0, 5).join("\n"),
        );
        // the Map of pools, for the figures: its peak is what the keyed
        // pool bounds (it serves too, on this server's 150 connections)
        assert.equal(count(mrun.errors), 0, JSON.stringify(mrun.errors));
        assert.equal(mleft, 0);
      } finally {
        await admin.end();
      }
    },
  );
});
