// A pool at work: 40 concurrent "requests" share 4 slow-to-open database
// connections; midway the database goes down for 300 ms and the requests
// ride it out (they wait with a timeout while the pool retries). Prints the
// pool's stats at the end.
//
// Run: npm run demo  (or: deno run examples/demo.ts, bun examples/demo.ts)
import { Pool } from "../mod.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A stand-in for a database connection. */
class Connection {
  static down = false;
  readonly id: number;
  closed = false;
  constructor(id: number) {
    this.id = id;
  }
  async query(sql: string): Promise<string> {
    await sleep(5 + Math.random() * 10);
    if (Connection.down) throw new Error("server closed the connection");
    return `#${this.id}: ${sql}`;
  }
}

async function connect(n: number): Promise<Connection> {
  await sleep(20); // opening a connection is slow
  if (Connection.down) throw new Error("connection refused");
  return new Connection(n);
}

const pool = new Pool<Connection>({
  fun: connect,
  minSize: 2,
  maxSize: 4,
  timeout: 2000, // a request waits up to 2 s for a connection
  health: async (c) => (await c.query("SELECT 1")).length > 0,
  closer: (c) => {
    c.closed = true;
  },
  tracer: (c) => `conn#${c.id}`,
  timeWaits: true, // waitTime and waitMax in stats()
  logLevel: "error",
});

await pool.ready({ timeout: 1000 });
console.log(`pool ready: ${pool.stats().nobjs} connections open`);

let ok = 0;
let failed = 0;
const started = performance.now();
const requests = Array.from({ length: 40 }, async (_, i) => {
  await sleep(i * 10); // requests arrive over 400 ms
  try {
    const answer = await pool.use((c) => c.query(`SELECT ${i}`));
    ok++;
    if (i % 10 === 0) console.log(`request ${i} -> ${answer}`);
  } catch (err) {
    failed++;
    console.log(`request ${i} failed: ${(err as Error).message}`);
  }
});
await sleep(150);
console.log("-- the database goes down for 300 ms");
Connection.down = true;
await sleep(300);
Connection.down = false;
console.log("-- the database is back");
await Promise.all(requests);

const s = pool.stats();
console.log(
  `\n${ok} requests served, ${failed} failed (only those in flight when it went down), in ${
    Math.round(performance.now() - started)
  } ms`,
);
console.log(
  `connections: ${s.nobjs} open (max 4), ${s.ncreated} created, ${s.ndestroys} closed, ${s.ncreateErrors} failed creations`,
);
console.log(
  `waits: ${s.nwaits} requests waited, longest ${
    Math.round(s.waitMax ?? 0)
  } ms`,
);
await pool.shutdown();
console.log("\nstats:", JSON.stringify(pool.stats(), null, 2));
