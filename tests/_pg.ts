// A throwaway PostgreSQL server for the reliability tests: initdb into a
// temporary folder, pg_ctl on a free loopback port, trust auth, fast and
// unsafe settings (fsync off), and helpers to stop, restart, kill backends
// and count them. Only node:* modules and the npm `pg` client, so that the
// same file runs on Deno, Bun and Node.
//
// PostgreSQL refuses to run as root; sessions and CI run as root, so the
// server runs as the `postgres` user (through `runuser`) in a folder that
// user owns. As any other user, it runs as that user.

import { execFile, execFileSync, spawnSync } from "node:child_process";
import {
  appendFileSync,
  chownSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
} from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import process from "node:process";
import pg from "pg";

/** Where the PostgreSQL programs are. */
export interface PgBinaries {
  initdb: string;
  pgCtl: string;
  /** The folder holding both (and `postgres`). */
  bin: string;
}

/**
 * Finds `initdb` and `pg_ctl`: on PATH (e.g. /usr/local/bin), else under
 * /usr/lib/postgresql/<version>/bin, newest version first. `undefined` when
 * PostgreSQL is not installed.
 */
export function findPgBinaries(): PgBinaries | undefined {
  const dirs = (process.env.PATH ?? "").split(delimiter).filter((d) => d);
  const root = "/usr/lib/postgresql";
  if (existsSync(root)) {
    const versions = readdirSync(root)
      .filter((v) => /^\d+(\.\d+)?$/.test(v))
      .sort((a, b) => Number(b) - Number(a));
    for (const v of versions) dirs.push(join(root, v, "bin"));
  }
  for (const dir of dirs) {
    const initdb = join(dir, "initdb");
    const pgCtl = join(dir, "pg_ctl");
    if (existsSync(initdb) && existsSync(pgCtl)) {
      return { initdb, pgCtl, bin: dir };
    }
  }
  return undefined;
}

/** Why the PostgreSQL tests cannot run here, or `undefined` if they can. */
export function pgUnavailable(): string | undefined {
  if (process.platform === "win32") {
    return "the PostgreSQL harness needs a POSIX system";
  }
  if (findPgBinaries() === undefined) {
    return "PostgreSQL is not installed (no initdb/pg_ctl on PATH or under /usr/lib/postgresql/*/bin); install it (apt-get install postgresql) to run these tests";
  }
  if (isRoot() && userId("postgres") === undefined) {
    return "running as root, and PostgreSQL refuses root, but there is no 'postgres' user to run the server as";
  }
  return undefined;
}

function isRoot(): boolean {
  return typeof process.getuid === "function" && process.getuid() === 0;
}

function userId(name: string): { uid: number; gid: number } | undefined {
  try {
    const uid = Number(
      execFileSync("id", ["-u", name], { encoding: "utf8" }).trim(),
    );
    const gid = Number(
      execFileSync("id", ["-g", name], { encoding: "utf8" }).trim(),
    );
    return Number.isInteger(uid) && Number.isInteger(gid)
      ? { uid, gid }
      : undefined;
  } catch {
    return undefined;
  }
}

/** Runs a program (as `postgres` when we are root), resolves with its stdout. */
function run(
  argv: string[],
  asPostgres: boolean,
  timeout = 60_000,
): Promise<string> {
  const [file, ...args] = asPostgres
    ? ["runuser", "-u", "postgres", "--", ...argv]
    : argv;
  return new Promise((resolve, reject) => {
    execFile(
      file,
      args,
      { encoding: "utf8", timeout, env: { ...process.env, LC_ALL: "C" } },
      (err, stdout, stderr) => {
        if (err) {
          reject(
            new Error(
              `${argv.join(" ")} failed: ${err.message}\n${stdout}${stderr}`,
              {
                cause: err,
              },
            ),
          );
        } else resolve(stdout);
      },
    );
  });
}

/** A free TCP port on 127.0.0.1 (bind port 0, read it, release it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr !== null ? addr.port : 0;
      srv.close((err) => (err ? reject(err) : resolve(port)));
    });
  });
}

/**
 * How long a wait on the server (a connection, backends exiting) may take
 * before it counts as hung: far longer than it ever takes, so that a slow
 * or loaded machine is never taken for a bug; it only bounds a real hang.
 */
export const PATIENCE = 60_000;

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Servers still running, stopped at process exit if a test forgot to. */
const live = new Set<PgServer>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", () => {
    for (const s of live) s.destroySync();
  });
}

/** A running throwaway server. Create it with {@linkcode startPg}. */
export class PgServer {
  readonly host = "127.0.0.1";
  readonly port: number;
  /** The temporary folder (owned by the server's user), removed by destroy. */
  readonly dir: string;
  readonly data: string;
  readonly log: string;
  readonly bins: PgBinaries;
  readonly #asPostgres: boolean;
  #running = false;
  #adminCount = 0;
  /** Backends already killed (their pids may linger a moment). */
  readonly #killed = new Set<number>();

  constructor(
    bins: PgBinaries,
    dir: string,
    port: number,
    asPostgres: boolean,
  ) {
    this.bins = bins;
    this.dir = dir;
    this.data = join(dir, "data");
    this.log = join(dir, "server.log");
    this.port = port;
    this.#asPostgres = asPostgres;
  }

  /** Whether the server is up (as far as this harness knows). */
  get running(): boolean {
    return this.#running;
  }

  /** Connection settings for a `pg` client named `applicationName`. */
  config(applicationName: string): pg.ClientConfig {
    return {
      host: this.host,
      port: this.port,
      user: "postgres",
      database: "postgres",
      application_name: applicationName,
      connectionTimeoutMillis: PATIENCE,
    };
  }

  /**
   * A connected `pg` client named `applicationName`, with an 'error'
   * listener (an idle client whose backend dies emits 'error', which would
   * otherwise crash the process). `onError` hears those errors.
   */
  async connect(
    applicationName: string,
    onError?: (err: Error) => void,
  ): Promise<pg.Client> {
    const client = new pg.Client(this.config(applicationName));
    client.on("error", onError ?? (() => {}));
    try {
      await client.connect();
    } catch (err) {
      await client.end().catch(() => {});
      throw err;
    }
    return client;
  }

  /**
   * A lasting admin connection (see `via` in {@linkcode terminate}); the
   * caller ends it with `end()`.
   */
  admin(): Promise<pg.Client> {
    return this.connect(`ppp-admin-${process.pid}-${this.#adminCount++}`);
  }

  /**
   * Runs one statement on a short-lived admin connection, or on `via` (an
   * admin connection from {@linkcode admin}).
   */
  async query<R extends pg.QueryResultRow = pg.QueryResultRow>(
    sql: string,
    params: unknown[] = [],
    via?: pg.Client,
  ): Promise<R[]> {
    if (via !== undefined) return (await via.query<R>(sql, params)).rows;
    const c = await this.admin();
    try {
      return (await c.query<R>(sql, params)).rows;
    } finally {
      await c.end();
    }
  }

  /** Client backends whose application_name starts with `prefix`. */
  async backends(prefix: string): Promise<number> {
    const rows = await this.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE backend_type = 'client backend' AND starts_with(application_name, $1)",
      [prefix],
    );
    return rows[0].n;
  }

  /** Pids of the client backends whose application_name starts with `prefix`. */
  async pids(prefix: string): Promise<number[]> {
    const rows = await this.query<{ pid: number }>(
      "SELECT pid FROM pg_stat_activity WHERE backend_type = 'client backend' AND starts_with(application_name, $1) ORDER BY pid",
      [prefix],
    );
    return rows.map((r) => r.pid);
  }

  /**
   * Polls until the backends named `prefix…` number `want` (backend exit is
   * asynchronous), or `timeout` ms passed; resolves with the last count.
   */
  async waitBackends(
    prefix: string,
    want: number,
    timeout = PATIENCE,
  ): Promise<number> {
    const end = Date.now() + timeout;
    for (;;) {
      const n = await this.backends(prefix);
      if (n === want || Date.now() >= end) return n;
      await sleep(20);
    }
  }

  /**
   * Kills up to `limit` random client backends named `prefix…` with
   * pg_terminate_backend, never the same one twice. With `wait`, resolves
   * only once they are gone from pg_stat_activity (backend exit is
   * asynchronous); else as soon as they are signalled. With `random` (a
   * seeded PRNG), the victims are the backends sorted by pid from an offset
   * it draws, instead of the server's random() choice. With `via` (from
   * {@linkcode admin}), the kill is one round trip on that connection
   * instead of a new connection's setup, so that it strikes while the
   * requests in flight still run. Resolves with how many were killed.
   */
  async terminate(
    prefix: string,
    limit = 1,
    wait = false,
    random?: () => number,
    via?: pg.Client,
  ): Promise<number> {
    // one statement per kill, so that a killer keeps up with a fast load
    const rows = await this.query<{ pid: number; ok: boolean }>(
      `WITH candidates AS (
         SELECT pid FROM pg_stat_activity
         WHERE backend_type = 'client backend' AND starts_with(application_name, $1)
           AND pid <> pg_backend_pid() AND NOT pid = ANY($3::int[])),
       victims AS (
         SELECT pid FROM candidates
         ${
        random === undefined
          ? "ORDER BY random()"
          : "ORDER BY pid OFFSET floor($4::float8 * (SELECT count(*) FROM candidates))"
      }
         LIMIT $2)
       SELECT pid, pg_terminate_backend(pid) AS ok FROM victims`,
      random === undefined
        ? [prefix, limit, [...this.#killed]]
        : [prefix, limit, [...this.#killed], random()],
      via,
    );
    const pids = rows.filter((r) => r.ok).map((r) => r.pid);
    for (const pid of pids) this.#killed.add(pid);
    if (wait) await this.#gone(pids);
    return pids.length;
  }

  /** Kills the backends with these pids and waits until they are gone. */
  async terminatePids(pids: number[]): Promise<number> {
    const rows = await this.query<{ pid: number; ok: boolean }>(
      "SELECT pid, pg_terminate_backend(pid) AS ok FROM unnest($1::int[]) AS pid",
      [pids],
    );
    const killed = rows.filter((r) => r.ok).map((r) => r.pid);
    for (const pid of killed) this.#killed.add(pid);
    await this.#gone(killed);
    return killed.length;
  }

  /**
   * Polls until none of these backends is in pg_stat_activity
   * ({@linkcode PATIENCE} at most).
   */
  async #gone(pids: number[]): Promise<void> {
    const end = Date.now() + PATIENCE;
    while (pids.length !== 0 && Date.now() < end) {
      const rows = await this.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE pid = ANY($1::int[])",
        [pids],
      );
      if (rows[0].n === 0) return;
      await sleep(5);
    }
  }

  /** Starts the server (it must be stopped) and waits until it accepts connections. */
  async start(): Promise<void> {
    await run(
      [
        this.bins.pgCtl,
        "start",
        "-w",
        "-t",
        "60",
        "-D",
        this.data,
        "-l",
        this.log,
      ],
      this.#asPostgres,
    ).catch((err) => {
      throw new Error(
        `${(err as Error).message}\n--- server log ---\n${this.logTail()}`,
        {
          cause: err,
        },
      );
    });
    this.#running = true;
  }

  /**
   * Stops the server: "fast" disconnects clients and shuts down cleanly,
   * "immediate" aborts everything (as a crash would).
   */
  async stop(mode: "smart" | "fast" | "immediate" = "fast"): Promise<void> {
    await run(
      [this.bins.pgCtl, "stop", "-w", "-t", "60", "-m", mode, "-D", this.data],
      this.#asPostgres,
    );
    this.#running = false;
  }

  /** Stops the server, waits `downMs`, starts it again. */
  async restart(
    downMs = 0,
    mode: "fast" | "immediate" = "fast",
  ): Promise<void> {
    await this.stop(mode);
    if (downMs > 0) await sleep(downMs);
    await this.start();
  }

  /** The last lines of the server log, for error messages. */
  logTail(lines = 30): string {
    try {
      return readFileSync(this.log, "utf8").split("\n").slice(-lines).join(
        "\n",
      );
    } catch {
      return "(no server log)";
    }
  }

  /** Stops the server (immediately) and removes its folder. Never throws. */
  async destroy(): Promise<void> {
    live.delete(this);
    if (existsSync(join(this.data, "postmaster.pid"))) {
      await run(
        [
          this.bins.pgCtl,
          "stop",
          "-w",
          "-t",
          "30",
          "-m",
          "immediate",
          "-D",
          this.data,
        ],
        this.#asPostgres,
      ).catch(() => {});
    }
    this.#running = false;
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** The same, synchronously, for the process 'exit' hook. */
  destroySync(): void {
    live.delete(this);
    if (existsSync(join(this.data, "postmaster.pid"))) {
      const argv = [
        this.bins.pgCtl,
        "stop",
        "-w",
        "-t",
        "30",
        "-m",
        "immediate",
        "-D",
        this.data,
      ];
      const [file, ...args] = this.#asPostgres
        ? ["runuser", "-u", "postgres", "--", ...argv]
        : argv;
      spawnSync(file, args, { stdio: "ignore" });
    }
    this.#running = false;
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * Creates and starts a throwaway server: a temporary folder owned by the
 * server's user, `initdb` with trust auth, loopback only on a free port,
 * durability off. Cleaned up by {@linkcode PgServer.destroy} (and at process
 * exit if that was forgotten). On failure, nothing is left behind.
 * `maxConnections` sets max_connections (default 100).
 */
export async function startPg(
  options: { maxConnections?: number } = {},
): Promise<PgServer> {
  const why = pgUnavailable();
  if (why !== undefined) throw new Error(`Cannot start PostgreSQL: ${why}`);
  const bins = findPgBinaries()!;
  const asPostgres = isRoot();
  // the server's user must reach the folder: a private TMPDIR would not do
  const base = asPostgres && (statSync(tmpdir()).mode & 0o001) === 0
    ? "/tmp"
    : tmpdir();
  const dir = mkdtempSync(join(base, "ppp-pg-"));
  const port = await freePort();
  const server = new PgServer(bins, dir, port, asPostgres);
  live.add(server);
  installExitHook();
  try {
    if (asPostgres) {
      const { uid, gid } = userId("postgres")!;
      chownSync(dir, uid, gid);
    }
    await run(
      [
        bins.initdb,
        "-D",
        server.data,
        "-U",
        "postgres",
        "-A",
        "trust",
        "-E",
        "UTF8",
        "--locale=C",
        "--no-sync",
        "--no-instructions",
      ],
      asPostgres,
    );
    // appending keeps the file's owner (the server's user)
    appendFileSync(
      join(server.data, "postgresql.conf"),
      [
        "",
        "# throwaway test server (tests/_pg.ts)",
        "listen_addresses = '127.0.0.1'",
        `port = ${port}`,
        "unix_socket_directories = ''", // TCP only: no socket path limits
        `max_connections = ${options.maxConnections ?? 100}`,
        "shared_buffers = 16MB",
        "fsync = off",
        "synchronous_commit = off",
        "full_page_writes = off",
        "wal_level = minimal",
        "max_wal_senders = 0",
        "autovacuum = off",
        "log_min_messages = warning",
        "",
      ].join("\n"),
    );
    await server.start();
  } catch (err) {
    await server.destroy();
    throw err;
  }
  return server;
}
