// A Pool of node-postgres clients that learns at once when a connection
// dies, instead of finding out from the next request that gets it:
// - each client's 'error' and 'end' events report it to the pool
//   (pool.evict): an idle client whose backend went away is closed and
//   replaced before anyone borrows it, a lent one is closed when it comes
//   back;
// - `isBroken` tells a dead connection ("terminating connection due to
//   administrator command", a reset socket) from the query's own fault (a
//   SQL error): the first is closed at once, the second is lent again as
//   it is, neither pays a health round trip. Anything else it cannot tell
//   goes through `health` before reuse.
// - the closer ends a client politely, and destroys its socket when the
//   pool gives up on it (shutdownTimeout): a dead network never holds a
//   shutdown.
//
// Run it against a database (it exits by itself):
//   DATABASE_URL=postgres://user@host/db node examples/pg.ts
//   (or deno run -A examples/pg.ts, bun examples/pg.ts)
// It runs a query, a failing query, kills the backend of a client in use
// and of an idle one, and prints what the pool did about each.
import process from "node:process";
import pg from "pg";
import { Pool, type PoolOptions } from "../mod.ts";

/** SQLSTATEs outside class 08 that mean the session is over. */
const GONE_STATES = new Set([
  "57P01", // admin_shutdown: pg_terminate_backend, a fast shutdown
  "57P02", // crash_shutdown: another backend crashed
  "57P03", // cannot_connect_now: the server is starting or stopping
]);

/** Node socket errors: the connection is gone. */
const GONE_SOCKET = new Set([
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "ECONNREFUSED",
]);

/** What node-postgres says when it knows its connection is gone. */
const GONE_MESSAGE =
  /^(Connection terminated|Client has encountered a connection error and is not queryable)/;

/**
 * What an error thrown by work with a client means for the client (the
 * pool's `isBroken` option):
 * - `true`, the connection is gone: close the client now, no health check;
 * - `false`, the server answered with an error of the query's own (a SQL
 *   error with its SQLSTATE: a syntax error, a violated constraint, a
 *   division by zero, a statement timeout): the client is fine, lend it
 *   again as it is;
 * - `undefined`, unknown (the application's own error, a client-side
 *   timeout): the pool runs `health` on the client before reuse.
 */
export function isBroken(err: unknown): boolean | undefined {
  if (typeof err !== "object" || err === null) return undefined;
  const { code, message } = err as { code?: unknown; message?: unknown };
  if (typeof code === "string") {
    // class 08: connection exception (the server's or the protocol's)
    if (code.startsWith("08") || GONE_STATES.has(code)) return true;
    if (GONE_SOCKET.has(code)) return true;
  }
  if (typeof message === "string" && GONE_MESSAGE.test(message)) return true;
  if (err instanceof pg.DatabaseError) {
    // an error that ends the session, whatever its SQLSTATE (an idle
    // session timeout, say)
    if (err.severity === "FATAL" || err.severity === "PANIC") return true;
    // the server answered the query with an error: the connection is fine
    if (typeof code === "string") return false;
  }
  return undefined;
}

/**
 * Closes a client (the pool's `closer`): `end()` says goodbye and waits
 * for the server to close; when the pool gives up on it (`signal` aborts,
 * after `shutdownTimeout` at shutdown or `hookTimeout`), the socket is
 * destroyed, so that a dead network leaves nothing open.
 */
export function closeClient(
  client: pg.Client,
  signal: AbortSignal,
): Promise<void> {
  const destroy = () =>
    (client as unknown as { connection: { stream: { destroy(): void } } })
      .connection.stream.destroy();
  if (signal.aborted) {
    destroy();
    return Promise.resolve();
  }
  return new Promise<void>((resolve) => {
    const onAbort = () => {
      destroy();
      resolve();
    };
    signal.addEventListener("abort", onAbort, { once: true });
    const done = () => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    };
    client.end().then(done, done);
  });
}

/**
 * A pool of `pg` clients wired as above. `config` gives the settings of
 * client number `n` (or the same for all); `options` adds to or replaces
 * the pool's options.
 */
export function pgPool(
  config: pg.ClientConfig | ((n: number) => pg.ClientConfig),
  options: Partial<PoolOptions<pg.Client>> = {},
): Pool<pg.Client> {
  const pool: Pool<pg.Client> = new Pool<pg.Client>({
    fun: async (n) => {
      const client = new pg.Client(
        typeof config === "function" ? config(n) : config,
      );
      // the connection died (an idle client's backend was killed, its
      // socket reset): the pool closes it, now or when it comes back. Its
      // 'end' also comes when the pool closes it: evicting an object the
      // pool no longer holds does nothing. (The 'error' listener also
      // keeps an idle client's error from crashing the process.)
      client.on("error", () => pool.evict(client));
      client.on("end", () => pool.evict(client));
      await client.connect();
      return client;
    },
    closer: closeClient,
    isBroken,
    // for what isBroken cannot tell, and for housekeeping rounds
    health: async (client) => void (await client.query("SELECT 1")),
    ...options,
  });
  return pool;
}

/** The pid of the backend serving a client (node-postgres's `processID`). */
function backendPid(client: pg.Client): number {
  return (client as unknown as { processID: number }).processID;
}

/** Polls `cond` every 10 ms, for `limit` ms at most; resolves with its last value. */
async function until(cond: () => boolean, limit = 10_000): Promise<boolean> {
  const end = Date.now() + limit;
  while (!cond() && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 10));
  }
  return cond();
}

async function main(url: string): Promise<void> {
  const pool = pgPool({ connectionString: url }, {
    minSize: 2,
    maxSize: 4,
    timeout: 10_000, // requests wait through a restart of the server
    logLevel: "off", // the lines below tell the story
  });
  const closed = () => {
    const { broken, evicted, health } = pool.stats().closedBy;
    return `closed: ${broken} broken, ${evicted} evicted, ${health} by health`;
  };
  try {
    await pool.ready({ timeout: 10_000 });
    const { rows } = await pool.use((c) => c.query("SELECT 1 + 1 AS two"));
    console.log(`query: 1 + 1 = ${rows[0].two}`);

    // the query's fault: the client is lent again, no health check
    const sqlError = await pool.use((c) => c.query("SELECT 1/0"))
      .catch((err) => err);
    console.log(
      `SQL error: ${sqlError.message} (${sqlError.code}): isBroken says ${
        isBroken(sqlError)
      }; ${closed()}, ${pool.stats().nhealth} health checks`,
    );

    // the connection's end while in use: closed at once, no health check
    const gone = await pool.use((c) =>
      c.query("SELECT pg_terminate_backend(pg_backend_pid())")
    ).catch((err) => err);
    console.log(
      `backend killed in use: ${gone.message} (${gone.code}): isBroken says ${
        isBroken(gone)
      }; ${closed()}`,
    );

    // an idle client's backend killed from elsewhere: its 'error' event
    // reports it, the pool replaces it before anyone gets it
    await pool.ready({ timeout: 10_000 });
    const [a, b] = [await pool.get(), await pool.get()];
    const pid = backendPid(a);
    pool.ret(a); // idle now
    await b.query("SELECT pg_terminate_backend($1)", [pid]);
    pool.ret(b);
    const evicted = await until(() => pool.stats().closedBy.evicted >= 1);
    await pool.ready({ timeout: 10_000 });
    // every client the pool holds now, at once: none is the dead one
    const all = await Promise.all(
      Array.from({ length: pool.stats().nobjs }, () => pool.get()),
    );
    const dead = all.filter((c) => backendPid(c) === pid).length;
    for (const c of all) pool.ret(c);
    console.log(
      `idle client's backend killed: ${
        evicted ? "evicted" : "not evicted"
      }; ${closed()}; ${all.length} clients, ${dead} of them dead`,
    );
    const st = pool.stats();
    console.log(
      `done: ${st.nuses} clients lent, ${st.nhealth} health checks, ${st.ncreated} created`,
    );
  } finally {
    await pool.shutdown();
    console.log(`after shutdown: ${pool.stats().nobjs} clients`);
  }
}

if (import.meta.main) {
  const url = process.env.DATABASE_URL;
  if (url === undefined || url === "") {
    console.error("set DATABASE_URL (postgres://user@host:port/db)");
    process.exit(2);
  }
  await main(url);
}
