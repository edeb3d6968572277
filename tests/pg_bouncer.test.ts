// Many processes behind PgBouncer (issue 19): 8 worker processes, each with
// its own Pool of `pg` clients (maxSize 10: 80 client connections), through
// a PgBouncer in transaction pooling mode whose server pool holds 10
// connections, in front of the throwaway PostgreSQL of tests/_pg.ts.
// - 20,000 queries: no error, server backends never above 10 (sampled all
//   along in pg_stat_activity), none left once PgBouncer stops;
// - PgBouncer killed and started again under load: only requests in flight
//   fail, none once it is back;
// - session state through transaction pooling: a SET leaks to other
//   clients; the pool's `reset` clears what a client leaves behind; SET
//   LOCAL in a transaction does not leak; a transaction left open pins a
//   server connection and leaks to the pool's next borrower, unless `reset`
//   rolls it back.
// The workers run on the runtime running the tests (tests/fixtures/
// bouncer_worker.ts). Faults are paced by the load (a restart after N
// queries, the load held until it is issued), never by the clock.
//
// Each scenario prints one line "PG-FIGURES {json}" with its figures.
// Without PostgreSQL or PgBouncer the file is skipped, unless CI is set:
// then it fails.
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import process from "node:process";
import { fileURLToPath } from "node:url";
import type pg from "pg";
import { Pool, type PoolOptions } from "../mod.ts";
import { type PgServer, sleep, startPg } from "./_pg.ts";
import {
  type PgBouncer,
  pgBouncerUnavailable,
  serverBackends,
  startPgBouncer,
} from "./_pgbouncer.ts";
import type { WorkerConfig, WorkerResult } from "./fixtures/bouncer_worker.ts";

const unavailable = pgBouncerUnavailable();
const skip = unavailable !== undefined && !process.env.CI
  ? `PgBouncer tests skipped: ${unavailable}`
  : false;
if (skip) console.warn(skip);

const LIMIT = { timeout: 120_000 };
const root = fileURLToPath(new URL("..", import.meta.url));
const WORKER = fileURLToPath(
  new URL("./fixtures/bouncer_worker.ts", import.meta.url),
);

/** PgBouncer's server pool for the load, and its PostgreSQL role. */
const POOL_SIZE = 10;
const LOAD_DB = { name: "ppp", role: "ppp_bouncer", poolSize: POOL_SIZE };
/** A one-connection server pool, where who gets the server is certain. */
const ONE_DB = { name: "ppp_one", role: "ppp_bouncer_one", poolSize: 1 };

const now = () => performance.timeOrigin + performance.now();

function runtime(): string {
  const g = globalThis as {
    Deno?: { version: { deno: string } };
    Bun?: { version: string };
  };
  if (g.Deno) return `deno ${g.Deno.version.deno}`;
  if (g.Bun) return `bun ${g.Bun.version}`;
  return `node ${process.versions.node}`;
}

/** One JSON line per scenario, for the lead to quote. */
function figures(scenario: string, data: Record<string, unknown>): void {
  console.log(
    `PG-FIGURES ${JSON.stringify({ scenario, runtime: runtime(), ...data })}`,
  );
}

/** The command that runs the worker on the runtime running the tests. */
function workerCommand(cfg: WorkerConfig): [string, string[]] {
  const g = globalThis as { Deno?: unknown; Bun?: unknown };
  const arg = JSON.stringify(cfg);
  if (g.Deno) return [process.execPath, ["run", "-A", WORKER, arg]];
  return [process.execPath, [WORKER, arg]];
}

/** Resolves once `cond()` holds (polled), or fails after `timeout` ms. */
async function until(
  what: string,
  cond: () => boolean | Promise<boolean>,
  timeout = 10_000,
): Promise<void> {
  const end = Date.now() + timeout;
  while (!(await cond())) {
    if (Date.now() >= end) {
      throw new Error(`timed out after ${timeout} ms waiting until ${what}`);
    }
    await sleep(10);
  }
}

/** Worker processes, their messages, and their results. */
class Workers {
  readonly children: ChildProcess[] = [];
  readonly results: WorkerResult[] = [];
  readonly done: number[];
  gated = 0;
  lost = 0;
  /** Called whenever a worker reports progress, with the total done. */
  onProgress: (total: number) => void = () => {};
  readonly #exits: Promise<void>[] = [];
  #stderr = "";

  constructor(configs: WorkerConfig[]) {
    this.done = configs.map(() => 0);
    for (const cfg of configs) {
      const [cmd, args] = workerCommand(cfg);
      const child = spawn(cmd, args, {
        cwd: root,
        stdio: ["pipe", "pipe", "pipe"],
        env: { ...process.env, NO_COLOR: "1" },
      });
      this.children.push(child);
      child.stdin!.on("error", () => {}); // a worker that died: seen at exit
      let out = "";
      child.stdout!.setEncoding("utf8");
      child.stdout!.on("data", (chunk: string) => {
        out += chunk;
        let nl: number;
        while ((nl = out.indexOf("\n")) >= 0) {
          const line = out.slice(0, nl);
          out = out.slice(nl + 1);
          this.#message(cfg.id, line);
        }
      });
      child.stderr!.on("data", (d) => {
        this.#stderr = (this.#stderr + `[worker ${cfg.id}] ${d}`).slice(
          -20_000,
        );
      });
      this.#exits.push(
        new Promise<void>((resolve, reject) => {
          child.once("error", reject);
          child.once("exit", (code, signal) => {
            if (code === 0) resolve();
            else {
              reject(
                new Error(
                  `worker ${cfg.id} exited with ${
                    code ?? signal
                  }:\n${this.#stderr}`,
                ),
              );
            }
          });
        }),
      );
    }
  }

  #message(id: number, line: string): void {
    let msg: { type: string; done?: number };
    try {
      msg = JSON.parse(line);
    } catch {
      this.#stderr += `[worker ${id}] stdout: ${line}\n`;
      return;
    }
    if (msg.type === "progress") {
      this.done[id] = msg.done!;
      this.onProgress(this.done.reduce((a, b) => a + b, 0));
    } else if (msg.type === "gate") this.gated++;
    else if (msg.type === "lost") this.lost++;
    else if (msg.type === "result") {
      this.results.push(msg as unknown as WorkerResult);
    }
  }

  /** Sends one line to every worker. */
  tell(line: string): void {
    for (const c of this.children) c.stdin!.write(`${line}\n`);
  }

  /** Resolves once every worker exited 0 (rejects on the first that did not). */
  async finished(): Promise<WorkerResult[]> {
    await Promise.all(this.#exits);
    for (const c of this.children) c.stdin!.end();
    return this.results.sort((a, b) => a.id - b.id);
  }

  /** Kills every worker still running. */
  kill(): void {
    for (const c of this.children) {
      if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
    }
  }
}

/**
 * Samples PgBouncer's server connections (the backends of its role in
 * pg_stat_activity, on a direct connection) as often as it can (5 ms
 * between samples), and its client connections (SHOW POOLS on its
 * console) every 20 ms, until stopped.
 */
class Sampler {
  samples = 0;
  peakBackends = 0;
  peakClients = 0;
  readonly #start = now();
  #end = 0;
  #stop = false;
  readonly #running: Promise<unknown>;

  constructor(
    direct: pg.Client,
    bouncer: PgBouncer,
    role: string,
    database: string,
  ) {
    const backends = async () => {
      while (!this.#stop) {
        const n = await serverBackends(direct, role);
        if (n > this.peakBackends) this.peakBackends = n;
        this.samples++;
        await sleep(5);
      }
      this.#end = now();
    };
    const clients = async () => {
      let admin: pg.Client | undefined;
      while (!this.#stop) {
        // the console is down while PgBouncer restarts: skip it then
        try {
          admin ??= await bouncer.connect("pgbouncer", "ppp-sampler");
          const rows = (await admin.query("SHOW POOLS")).rows as Record<
            string,
            string
          >[];
          const row = rows.find((r) => r.database === database);
          if (row !== undefined) {
            const n = Number(row.cl_active) + Number(row.cl_waiting);
            if (n > this.peakClients) this.peakClients = n;
          }
        } catch {
          await admin?.end().catch(() => {});
          admin = undefined;
        }
        await sleep(20);
      }
      await admin?.end().catch(() => {});
    };
    this.#running = Promise.all([backends(), clients()]);
  }

  /** Stops sampling; resolves with the figures. */
  async stop(): Promise<
    {
      samples: number;
      sampleEveryMs: number;
      peakServerBackends: number;
      peakClients: number;
    }
  > {
    this.#stop = true;
    await this.#running;
    return {
      samples: this.samples,
      sampleEveryMs:
        Math.round(((this.#end - this.#start) / this.samples) * 10) / 10,
      peakServerBackends: this.peakBackends,
      peakClients: this.peakClients,
    };
  }
}

/**
 * After the workers exited: PgBouncer has no client left; stopped, it
 * leaves no server backend. Resolves with both counts.
 */
async function closeDown(
  bouncer: PgBouncer,
  direct: pg.Client,
): Promise<
  {
    clientsAfterShutdown: number;
    serverConnectionsKept: number;
    backendsAfterStop: number;
  }
> {
  let clients = -1;
  await until("PgBouncer has no client left", async () => {
    const p = await bouncer.pool(LOAD_DB.name);
    clients = (p.cl_active ?? 0) + (p.cl_waiting ?? 0);
    return clients === 0;
  }).catch(() => {});
  // PgBouncer keeps its idle server connections (server_idle_timeout)
  const kept = await serverBackends(direct, LOAD_DB.role);
  await bouncer.stop("SIGINT");
  let backends = -1;
  await until("no server backend is left", async () => {
    backends = await serverBackends(direct, LOAD_DB.role);
    return backends === 0;
  }).catch(() => {});
  return {
    clientsAfterShutdown: clients,
    serverConnectionsKept: kept,
    backendsAfterStop: backends,
  };
}

function messages(failures: { error: string }[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const f of failures) out[f.error] = (out[f.error] ?? 0) + 1;
  return out;
}

const WORKERS = 8;
const MAX_SIZE = 10;

function configs(
  bouncer: PgBouncer,
  queries: number,
  gateAt: number,
): WorkerConfig[] {
  return Array.from({ length: WORKERS }, (_, id) => ({
    id,
    host: bouncer.host,
    port: bouncer.port,
    database: LOAD_DB.name,
    queries,
    loops: 12, // more than maxSize: every client busy, some requests waiting
    maxSize: MAX_SIZE,
    timeout: 20_000,
    gateAt,
  }));
}

describe("Pool behind PgBouncer, many processes (issue 19)", { skip }, () => {
  // PostgreSQL starts with the first test that needs it and is removed
  // after the last one; each test has its own PgBouncer.
  let started: Promise<PgServer> | undefined;
  const server = (): Promise<PgServer> => {
    if (unavailable !== undefined) {
      return Promise.reject(
        new Error(
          `CI is set but the PgBouncer tests cannot run: ${unavailable}`,
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
    `${WORKERS} processes × maxSize ${MAX_SIZE} run 20,000 queries through a server pool of ${POOL_SIZE}`,
    LIMIT,
    async () => {
      const s = await server();
      const bouncer = await startPgBouncer(s, [LOAD_DB]);
      const direct = await s.connect(`ppp-direct-${process.pid}`);
      let workers: Workers | undefined;
      try {
        const TOTAL = 20_000;
        const sampler = new Sampler(
          direct,
          bouncer,
          LOAD_DB.role,
          LOAD_DB.name,
        );
        const t0 = now();
        workers = new Workers(configs(bouncer, TOTAL / WORKERS, 0));
        const results = await workers.finished();
        const secs = (now() - t0) / 1000;
        const sampled = await sampler.stop();
        const failures = results.flatMap((r) => r.failures);
        const result = {
          workers: WORKERS,
          maxSizeEach: MAX_SIZE,
          serverPoolSize: POOL_SIZE,
          queries: results.reduce((a, r) => a + r.requests, 0),
          errors: failures.length,
          ...sampled,
          maxAliveEach: Math.max(...results.map((r) => r.maxAlive)),
          connectionsOpened: results.reduce((a, r) => a + r.ncreated, 0),
          openAfterShutdown: results.reduce(
            (a, r) => a + r.openAfterShutdown,
            0,
          ),
          seconds: Math.round(secs * 10) / 10,
          errorMessages: messages(failures),
        };
        assert.equal(results.length, WORKERS);
        assert.equal(result.queries, TOTAL);
        assert.equal(result.errors, 0, JSON.stringify(result));
        assert.ok(sampled.samples >= 20, `samples: ${sampled.samples}`);
        assert.ok(
          sampled.peakServerBackends >= 1 &&
            sampled.peakServerBackends <= POOL_SIZE,
          `server backends: ${JSON.stringify(result)}`,
        );
        assert.ok(result.maxAliveEach <= MAX_SIZE, JSON.stringify(result));
        assert.equal(result.openAfterShutdown, 0);
        const closed = await closeDown(bouncer, direct);
        assert.equal(closed.clientsAfterShutdown, 0);
        assert.equal(closed.backendsAfterStop, 0);
        figures("pgbouncer-load", { ...result, ...closed });
      } finally {
        workers?.kill();
        await direct.end().catch(() => {});
        await bouncer.destroy();
      }
    },
  );

  it(
    "PgBouncer restarted under load: only requests in flight fail, none once it is back",
    LIMIT,
    async () => {
      const s = await server();
      const bouncer = await startPgBouncer(s, [LOAD_DB]);
      const direct = await s.connect(`ppp-direct-${process.pid}`);
      let workers: Workers | undefined;
      try {
        const EACH = 1000, TOTAL = WORKERS * EACH;
        // the restart is issued once 40 % of the queries are done; each
        // worker holds its load at 70 % until then, so that the restart
        // always falls in the middle of the load, however fast either runs
        const RESTART_AT = TOTAL * 0.4, GATE_AT = EACH * 0.7;
        const sampler = new Sampler(
          direct,
          bouncer,
          LOAD_DB.role,
          LOAD_DB.name,
        );
        let killAt = Infinity, downAt = Infinity, upAt = Infinity;
        let resolveTrigger: () => void = () => {};
        const trigger = new Promise<void>((r) => (resolveTrigger = r));
        workers = new Workers(configs(bouncer, EACH, GATE_AT));
        const w = workers;
        w.onProgress = (total) => {
          if (total >= RESTART_AT) resolveTrigger();
        };
        const restart = (async () => {
          await trigger;
          killAt = now();
          try {
            // immediate shutdown: every client and server connection is cut
            await bouncer.stop("SIGTERM");
            downAt = now();
          } finally {
            w.tell("go"); // the restart is issued: the load goes on
          }
          // the old server connections and the workers' client connections
          // are gone before PgBouncer comes back, as after any restart
          w.tell("down");
          await until(
            "PgBouncer's server connections are gone",
            async () => (await serverBackends(direct, LOAD_DB.role)) === 0,
          );
          await until(
            "every worker saw its connections end",
            () => w.lost === WORKERS,
          );
          await bouncer.start();
          upAt = now();
        })();
        // a failed restart fails the test once the workers are done (they
        // wait for PgBouncer at most their pool's timeout)
        const restarted = restart.then(() => undefined, (err) => err);
        const results = await w.finished();
        assert.ok(killAt < Infinity, "the restart came during the load");
        const restartError = await restarted;
        if (restartError !== undefined) throw restartError;
        const sampled = await sampler.stop();
        const failures = results.flatMap((r) => r.failures);
        const starts = results.flatMap((r) => r.servedStarts);
        const ends = results.flatMap((r) => r.servedEnds);
        const inFlight = failures.filter((f) => f.start <= downAt);
        // lent a connection PgBouncer had already cut, before its worker
        // heard of it: in flight on that connection as much
        const onCutConnection = failures.filter((f) =>
          f.start > downAt && f.openedAt !== null && f.openedAt < killAt
        );
        const startedAfterUp = failures.filter((f) => f.start >= upAt);
        const endedAfterUp = failures.filter((f) => f.end >= upAt);
        const result = {
          workers: WORKERS,
          queries: results.reduce((a, r) => a + r.requests, 0),
          served: results.reduce((a, r) => a + r.served, 0),
          failed: failures.length,
          failedInFlight: inFlight.length,
          failedStartedBeforeKill: failures.filter((f) => f.start < killAt)
            .length,
          failedOnCutConnectionAfterDown: onCutConnection.length,
          failedStartedAfterUp: startedAfterUp.length,
          failedEndedAfterUp: endedAfterUp.length,
          servedAfterUp: starts.filter((t) => t >= upAt).length,
          waitedThroughRestart: starts.filter((t, i) =>
            t < upAt && ends[i] > upAt
          ).length,
          stopMs: Math.round(downAt - killAt),
          downMs: Math.round(upAt - killAt),
          servedAgainAfterUpMs: Math.round(
            Math.min(...ends.filter((t) => t > upAt)) - upAt,
          ),
          createErrors: results.reduce((a, r) => a + r.ncreateErrors, 0),
          ...sampled,
          openAfterShutdown: results.reduce(
            (a, r) => a + r.openAfterShutdown,
            0,
          ),
          errorMessages: messages(failures),
        };
        const show = JSON.stringify(result);
        assert.equal(result.queries, TOTAL);
        assert.ok(upAt < Infinity, "PgBouncer was restarted");
        // every failure was a request on a connection the restart cut
        assert.equal(
          inFlight.length + onCutConnection.length,
          failures.length,
          `failures not in flight: ${show}`,
        );
        // at most one per cut connection (a failed one is closed, not reused)
        assert.ok(failures.length <= WORKERS * MAX_SIZE, show);
        assert.equal(startedAfterUp.length, 0, show);
        assert.equal(endedAfterUp.length, 0, show);
        assert.ok(result.servedAfterUp >= 1000, show);
        assert.ok(
          sampled.peakServerBackends <= POOL_SIZE,
          `server backends: ${show}`,
        );
        assert.equal(result.openAfterShutdown, 0);
        const closed = await closeDown(bouncer, direct);
        assert.equal(closed.clientsAfterShutdown, 0);
        assert.equal(closed.backendsAfterStop, 0);
        figures("pgbouncer-restart", { ...result, ...closed });
      } finally {
        workers?.kill();
        await direct.end().catch(() => {});
        await bouncer.destroy();
      }
    },
  );

  /** A pool of clients of the one-connection entry, named `name`. */
  function onePool(
    bouncer: PgBouncer,
    name: string,
    options: Partial<PoolOptions<pg.Client>> = {},
  ): Pool<pg.Client> {
    return new Pool<pg.Client>({
      fun: () => bouncer.connect(ONE_DB.name, name),
      closer: (client) => client.end(),
      health: async (client) => void (await client.query("SELECT 1")),
      minSize: 0,
      maxSize: 1,
      logLevel: "error",
      name,
      ...options,
    });
  }

  /** The tenant this client's session says it serves ('' or null: none). */
  const tenant = async (client: pg.Client): Promise<string | null> =>
    (await client.query<{ t: string | null }>(
      "SELECT current_setting('app.tenant', true) AS t",
    )).rows[0].t;

  /** Resolves once a client waits in PgBouncer for the one server connection. */
  const queued = (bouncer: PgBouncer) =>
    until(
      "a client waits for the server connection",
      async () => ((await bouncer.pool(ONE_DB.name)).cl_waiting ?? 0) >= 1,
    );

  it(
    "session state through transaction pooling: SET leaks to other clients; reset clears what is left at return; SET LOCAL does not leak",
    LIMIT,
    async () => {
      const s = await server();
      const bouncer = await startPgBouncer(s, [ONE_DB]);
      // two processes' pools, as PgBouncer sees them: other clients
      const alice = onePool(bouncer, "alice");
      const aliceReset = onePool(bouncer, "alice-reset", {
        reset: async (client) => void (await client.query("DISCARD ALL")),
      });
      const bob = onePool(bouncer, "bob");
      try {
        // the problem: PgBouncer's server_reset_query (DISCARD ALL) is not
        // sent in transaction mode, so a session SET stays on the server
        // connection, and the next client that gets it sees it
        await alice.use((c) => c.query("SET app.tenant = 'alice'"));
        const leaked = await bob.use(tenant);
        assert.equal(leaked, "alice", "a SET leaks to another client");
        await bob.use((c) => c.query("RESET ALL"));
        assert.notEqual(await bob.use(tenant), "alice");

        // the pool's reset (DISCARD ALL) runs before use() resolves: what the
        // client left on the server connection is gone for the next one…
        let seenMeanwhile: string | null = null;
        await aliceReset.use(async (c) => {
          await c.query("SET app.tenant = 'alice'");
          // …but between two statements of a client, the server connection
          // serves others, who see its state: reset cannot prevent that
          seenMeanwhile = await bob.use(tenant);
        });
        const afterReset = await bob.use(tenant);
        assert.equal(seenMeanwhile, "alice", "seen while alice runs");
        assert.notEqual(afterReset, "alice", "cleared by the pool's reset");

        // the fix in transaction mode: state local to a transaction, which
        // holds its server connection until it ends (bob waits meanwhile)
        let own: string | null = null;
        let bobDuring: Promise<string | null> | undefined;
        await aliceReset.use(async (c) => {
          await c.query("BEGIN");
          await c.query("SET LOCAL app.tenant = 'alice'");
          bobDuring = bob.use(tenant);
          await queued(bouncer);
          own = await tenant(c);
          await c.query("COMMIT");
        });
        const bobSaw = await bobDuring!;
        assert.equal(own, "alice");
        assert.notEqual(bobSaw, "alice", "SET LOCAL does not leak");
        figures("pgbouncer-session-state", {
          serverResetQueryInTransactionMode: "not sent",
          withoutReset: { otherClientSaw: leaked },
          withResetDiscardAll: {
            otherClientSawAfterReturn: afterReset,
            otherClientSawWhileInUse: seenMeanwhile,
          },
          setLocalInTransaction: { ownValue: own, otherClientSaw: bobSaw },
        });
      } finally {
        await Promise.all([alice, aliceReset, bob].map((p) => p.shutdown()));
        await bouncer.destroy();
      }
    },
  );

  it(
    "a transaction left open pins PgBouncer's server connection and leaks to the next borrower, unless reset rolls it back",
    LIMIT,
    async () => {
      const s = await server();
      const bouncer = await startPgBouncer(s, [ONE_DB]);
      const fail = async (c: pg.Client) => {
        await c.query("BEGIN");
        await c.query("SET LOCAL app.tenant = 'alice'");
        throw new Error("the handler failed mid-transaction");
      };
      const alice = onePool(bouncer, "alice");
      const aliceReset = onePool(bouncer, "alice-rollback", {
        // a transaction left open would pin the server connection
        reset: async (client) => {
          if (client.getTransactionStatus() !== "I") {
            await client.query("ROLLBACK");
          }
        },
      });
      const bob = onePool(bouncer, "bob");
      try {
        // without reset: the client goes back to the pool inside the
        // transaction (health's SELECT 1 passes in it)…
        await assert.rejects(alice.use(fail), /mid-transaction/);
        const status = await alice.use((c) => c.getTransactionStatus());
        assert.equal(status, "T");
        // …other clients wait for the server connection it pins…
        let bobServed = false;
        const bobWaiting = bob.use(tenant).then((t) => {
          bobServed = true;
          return t;
        });
        await queued(bouncer);
        // …and the pool's next borrower inherits the transaction and its state
        const nextBorrower = await alice.use(tenant);
        assert.equal(nextBorrower, "alice");
        assert.equal(
          bobServed,
          false,
          "bob waits while the transaction is open",
        );
        await alice.use((c) => c.query("ROLLBACK"));
        assert.notEqual(await bobWaiting, "alice");

        // with a reset that rolls back: nothing is left
        await assert.rejects(aliceReset.use(fail), /mid-transaction/);
        const statusReset = await aliceReset.use((c) =>
          c.getTransactionStatus()
        );
        const nextBorrowerReset = await aliceReset.use(tenant);
        const bobReset = await bob.use(tenant);
        assert.equal(statusReset, "I");
        assert.notEqual(nextBorrowerReset, "alice");
        assert.notEqual(bobReset, "alice");
        figures("pgbouncer-open-transaction", {
          withoutReset: {
            transactionStatus: status,
            nextBorrowerSaw: nextBorrower,
            otherClientWaited: true,
          },
          withResetRollback: {
            transactionStatus: statusReset,
            nextBorrowerSaw: nextBorrowerReset,
            otherClientSaw: bobReset,
          },
        });
      } finally {
        await Promise.all([alice, aliceReset, bob].map((p) => p.shutdown()));
        await bouncer.destroy();
      }
    },
  );
});
