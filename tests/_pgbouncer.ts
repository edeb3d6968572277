// A throwaway PgBouncer in front of the throwaway PostgreSQL of tests/_pg.ts:
// its own config, log and port in a temporary folder, transaction pooling,
// no authentication (`auth_type = any`: every database entry names the
// PostgreSQL role PgBouncer logs in as, so that its server connections are
// told apart in pg_stat_activity by that role). Only node:* modules and the
// npm `pg` client, so that the same file runs on Deno, Bun and Node.
//
// As root (sessions and CI), PgBouncer runs as the `postgres` user (`-u`) in
// a folder that user owns, as PostgreSQL does. It runs in the foreground as
// a child of the test process, which stops it (SIGTERM, then SIGKILL) when
// the test ends, and at process exit if a test forgot to; a watchdog kills
// it if the test process is killed (a runner's time limit). A system service
// installed with the Debian package is left alone: this instance has its own
// port, folder and config.

import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import {
  chownSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import process from "node:process";
import pg from "pg";
import { freePort, type PgServer, pgUnavailable, sleep } from "./_pg.ts";

/** Finds the `pgbouncer` program: on PATH, else in the sbin/bin folders. */
export function findPgBouncer(): string | undefined {
  const dirs = (process.env.PATH ?? "").split(delimiter).filter((d) => d);
  dirs.push("/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin");
  for (const dir of dirs) {
    const bin = join(dir, "pgbouncer");
    if (existsSync(bin)) return bin;
  }
  return undefined;
}

/** Why the PgBouncer tests cannot run here, or `undefined` if they can. */
export function pgBouncerUnavailable(): string | undefined {
  const why = pgUnavailable();
  if (why !== undefined) return why;
  if (findPgBouncer() === undefined) {
    return "PgBouncer is not installed (no pgbouncer on PATH or in /usr/sbin); install it (apt-get install pgbouncer) to run these tests";
  }
  return undefined;
}

function isRoot(): boolean {
  return typeof process.getuid === "function" && process.getuid() === 0;
}

/** A PgBouncer database entry: a name clients use, and its server pool. */
export interface BouncerDatabase {
  /** The name clients connect to. */
  name: string;
  /** The PostgreSQL role PgBouncer logs in as (created if missing). */
  role: string;
  /** Most server connections for this entry (PgBouncer's `pool_size`). */
  poolSize: number;
}

/** Instances still running, stopped at process exit if a test forgot to. */
const live = new Set<PgBouncer>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", () => {
    for (const b of live) b.destroySync();
  });
}

/**
 * Kills process `pid` and removes `dir` if this process ends first, however
 * it ends: the 'exit' hook does not run when a test runner kills a test
 * process that ran out of time. A detached shell polls both every second;
 * it ends by itself once `pid` is gone.
 */
function watchdog(pid: number, dir: string): void {
  const script =
    'while kill -0 "$1" 2>/dev/null && kill -0 "$2" 2>/dev/null; ' +
    "do sleep 1; done; " +
    'if ! kill -0 "$1" 2>/dev/null; then kill -9 "$2" 2>/dev/null; rm -rf "$3"; fi';
  try {
    const w = spawn(
      "sh",
      ["-c", script, "ppp-watchdog", String(process.pid), String(pid), dir],
      { detached: true, stdio: "ignore" },
    );
    w.on("error", () => {});
    w.unref();
  } catch { /* no shell: the exit hook still stops it */ }
}

/** A PgBouncer instance. Create it with {@linkcode startPgBouncer}. */
export class PgBouncer {
  readonly host = "127.0.0.1";
  readonly port: number;
  /** The temporary folder (owned by the server's user), removed by destroy. */
  readonly dir: string;
  readonly ini: string;
  readonly log: string;
  readonly bin: string;
  readonly databases: readonly BouncerDatabase[];
  readonly #asPostgres: boolean;
  #child: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();
  /** Its output (stderr), the last 64 kB, for error messages. */
  #output = "";
  #adminCount = 0;

  constructor(
    bin: string,
    dir: string,
    port: number,
    databases: BouncerDatabase[],
    asPostgres: boolean,
  ) {
    this.bin = bin;
    this.dir = dir;
    this.ini = join(dir, "pgbouncer.ini");
    this.log = join(dir, "pgbouncer.log");
    this.port = port;
    this.databases = databases;
    this.#asPostgres = asPostgres;
  }

  /** Whether the process is running (as far as this harness knows). */
  get running(): boolean {
    return this.#child !== undefined;
  }

  /** Its process id, while it runs. */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** Connection settings for a `pg` client of `database` through PgBouncer. */
  config(database: string, applicationName: string): pg.ClientConfig {
    return {
      host: this.host,
      port: this.port,
      // ignored (`auth_type = any`): the database entry names the role
      user: "ppp",
      database,
      application_name: applicationName,
      connectionTimeoutMillis: 5000,
    };
  }

  /** A connected `pg` client of `database`, with an 'error' listener. */
  async connect(
    database: string,
    applicationName: string,
  ): Promise<pg.Client> {
    const client = new pg.Client(this.config(database, applicationName));
    client.on("error", () => {});
    try {
      await client.connect();
    } catch (err) {
      await client.end().catch(() => {});
      throw err;
    }
    return client;
  }

  /** Runs one command (SHOW POOLS…) on PgBouncer's admin console. */
  async admin<R extends pg.QueryResultRow = pg.QueryResultRow>(
    sql: string,
  ): Promise<R[]> {
    const c = await this.connect(
      "pgbouncer",
      `ppp-console-${process.pid}-${this.#adminCount++}`,
    );
    try {
      return (await c.query<R>(sql)).rows;
    } finally {
      await c.end();
    }
  }

  /** SHOW POOLS, as numbers, for one database entry. */
  async pool(database: string): Promise<Record<string, number>> {
    const rows = await this.admin<Record<string, string>>("SHOW POOLS");
    const row = rows.find((r) => r.database === database);
    const out: Record<string, number> = {};
    for (const [k, v] of Object.entries(row ?? {})) {
      const n = Number(v);
      if (Number.isFinite(n)) out[k] = n;
    }
    return out;
  }

  /** Starts PgBouncer (it must be stopped) and waits until it answers. */
  async start(): Promise<void> {
    if (this.#child !== undefined) throw new Error("PgBouncer is running");
    const args = this.#asPostgres ? ["-u", "postgres", this.ini] : [this.ini];
    const child = spawn(this.bin, args, {
      stdio: ["ignore", "ignore", "pipe"],
      env: { ...process.env, LC_ALL: "C" },
    });
    this.#child = child;
    live.add(this);
    installExitHook();
    if (child.pid !== undefined) watchdog(child.pid, this.dir);
    child.stderr!.on("data", (d) => {
      this.#output = (this.#output + d).slice(-65536);
    });
    this.#exited = new Promise<void>((resolve) => {
      child.once("exit", () => {
        if (this.#child === child) this.#child = undefined;
        resolve();
      });
      child.once("error", (err) => {
        this.#output += `\nspawn failed: ${err.message}`;
        if (this.#child === child) this.#child = undefined;
        resolve();
      });
    });
    // it answers on its admin console once it listens (no server connection)
    const end = Date.now() + 20_000;
    for (;;) {
      if (this.#child !== child) {
        throw new Error(`PgBouncer exited at start:\n${this.logTail()}`);
      }
      try {
        await this.admin("SHOW VERSION");
        return;
      } catch (err) {
        if (Date.now() >= end) {
          await this.stop("SIGKILL");
          throw new Error(
            `PgBouncer did not answer within 20 s: ${
              (err as Error).message
            }\n${this.logTail()}`,
            { cause: err },
          );
        }
        await sleep(20);
      }
    }
  }

  /**
   * Stops PgBouncer with `signal` and waits until its process is gone:
   * SIGTERM is PgBouncer's immediate shutdown (every client and server
   * connection is cut, as a crash would), SIGINT its safe shutdown (waits
   * for transactions to end). After 10 s it is killed.
   */
  async stop(signal: "SIGTERM" | "SIGINT" | "SIGKILL" = "SIGTERM"): Promise<
    void
  > {
    const child = this.#child;
    if (child === undefined) return;
    child.kill(signal);
    const killer = setTimeout(() => child.kill("SIGKILL"), 10_000);
    await this.#exited;
    clearTimeout(killer);
    live.delete(this);
  }

  /** The end of its log file and output, for error messages. */
  logTail(lines = 30): string {
    let log = "(no log)";
    try {
      log = readFileSync(this.log, "utf8").split("\n").slice(-lines).join(
        "\n",
      );
    } catch { /* not written yet */ }
    return `--- pgbouncer log ---\n${log}\n--- pgbouncer output ---\n${
      this.#output.split("\n").slice(-lines).join("\n")
    }`;
  }

  /** Stops PgBouncer (immediately) and removes its folder. Never throws. */
  async destroy(): Promise<void> {
    await this.stop("SIGTERM").catch(() => {});
    live.delete(this);
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** The same, synchronously, for the process 'exit' hook. */
  destroySync(): void {
    live.delete(this);
    try {
      this.#child?.kill("SIGKILL");
    } catch { /* gone */ }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * Counts the server connections PgBouncer holds for `role`: the client
 * backends of that role in PostgreSQL's pg_stat_activity, read on `client`
 * (a direct connection, whose own role is another).
 */
export async function serverBackends(
  client: pg.Client,
  role: string,
): Promise<number> {
  const { rows } = await client.query<{ n: number }>(
    "SELECT count(*)::int AS n FROM pg_stat_activity WHERE backend_type = 'client backend' AND usename = $1",
    [role],
  );
  return rows[0].n;
}

/**
 * Creates and starts a PgBouncer in front of `server`, in transaction
 * pooling mode, listening on a free loopback port, with one entry per
 * database (each its own role and server pool size). Cleaned up by
 * {@linkcode PgBouncer.destroy} (and at process exit if that was
 * forgotten). On failure, nothing is left behind.
 */
export async function startPgBouncer(
  server: PgServer,
  databases: BouncerDatabase[],
): Promise<PgBouncer> {
  const why = pgBouncerUnavailable();
  if (why !== undefined) throw new Error(`Cannot start PgBouncer: ${why}`);
  for (const db of databases) {
    if (!/^[a-z_][a-z0-9_]*$/.test(db.name + db.role)) {
      throw new Error(`bad database entry ${JSON.stringify(db)}`);
    }
    // roles are cluster-wide: create each once per server
    const found = await server.query(
      "SELECT 1 FROM pg_roles WHERE rolname = $1",
      [db.role],
    );
    if (found.length === 0) await server.query(`CREATE ROLE ${db.role} LOGIN`);
  }
  const asPostgres = isRoot();
  const base = asPostgres && (statSync(tmpdir()).mode & 0o001) === 0
    ? "/tmp"
    : tmpdir();
  const dir = mkdtempSync(join(base, "ppp-pgbouncer-"));
  const port = await freePort();
  const bouncer = new PgBouncer(
    findPgBouncer()!,
    dir,
    port,
    databases,
    asPostgres,
  );
  try {
    writeFileSync(
      bouncer.ini,
      [
        "; throwaway PgBouncer for the tests (tests/_pgbouncer.ts)",
        "[databases]",
        ...databases.map((db) =>
          `${db.name} = host=${server.host} port=${server.port} dbname=postgres user=${db.role} pool_size=${db.poolSize}`
        ),
        "",
        "[pgbouncer]",
        `listen_addr = 127.0.0.1`,
        `listen_port = ${port}`,
        "unix_socket_dir =", // TCP only
        `logfile = ${bouncer.log}`,
        "auth_type = any",
        "pool_mode = transaction",
        "max_client_conn = 500",
        "default_pool_size = 10",
        "min_pool_size = 0",
        "reserve_pool_size = 0",
        "server_lifetime = 3600",
        "server_idle_timeout = 600",
        // the default: sent in session mode only, never in transaction mode
        "server_reset_query = DISCARD ALL",
        "server_reset_query_always = 0",
        "server_login_retry = 1",
        "log_connections = 0",
        "log_disconnections = 0",
        "",
      ].join("\n"),
    );
    if (asPostgres) {
      const { uid, gid } = postgresIds();
      chownSync(dir, uid, gid);
      chownSync(bouncer.ini, uid, gid);
    }
    await bouncer.start();
  } catch (err) {
    await bouncer.destroy();
    throw err;
  }
  return bouncer;
}

/** The uid and gid of the `postgres` user. */
function postgresIds(): { uid: number; gid: number } {
  const id = (flag: string) =>
    Number(execFileSync("id", [flag, "postgres"], { encoding: "utf8" }).trim());
  return { uid: id("-u"), gid: id("-g") };
}
