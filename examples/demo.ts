// A pool at work: requests share 4 slow-to-open database connections; midway
// the database goes down for 600 ms and the pool rides it out: requests wait
// (with a timeout) while the pool retries, and are served once it is back.
// While it runs, a status line (one line per phase and every half second when
// stdout is not a terminal); at the end, a timeline of what happened and the
// pool's counts, before it shuts down.
//
// Run: npm run demo  (or: deno run examples/demo.ts, bun examples/demo.ts)
import process from "node:process";
import { Pool, type PoolStats } from "../mod.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ms = (t: number) => `${Math.round(t)} ms`;

/** A stand-in for a database connection. */
class Connection {
  static down = false;
  readonly id: number;
  constructor(id: number) {
    this.id = id;
  }
  async query(sql: string): Promise<string> {
    await sleep(10 + Math.random() * 20);
    if (Connection.down) throw new Error("server closed the connection");
    return `#${this.id}: ${sql}`;
  }
}

async function connect(n: number): Promise<Connection> {
  await sleep(40); // opening a connection is slow
  if (Connection.down) throw new Error("connection refused");
  return new Connection(n);
}

const pool = new Pool<Connection>({
  fun: connect,
  minSize: 2,
  maxSize: 4,
  timeout: 2000, // a request waits up to 2 s for a connection
  health: async (c) => (await c.query("SELECT 1")).length > 0,
  delay: 100, // housekeeping (health checks of idle connections) every 100 ms
  backoffMax: 100, // while the database is down, retry at least every 100 ms
  timeWaits: true, // waitTime and waitMax in stats()
  logLevel: "off", // the status line tells the story
});
await pool.ready({ timeout: 1000 });

// the load: a request every 12 ms for 1.5 s; the outage from 0.5 s to 1.1 s
const REQUESTS = 125, EVERY = 12, DOWN_AT = 500, UP_AT = 1100;
let phase = "warm-up";
let served = 0, failed = 0;

// -- watching: sample every 50 ms, show a status line
type Sample = { phase: string; s: PoolStats; served: number; failed: number };
const samples: Sample[] = [];
const started = performance.now();
const tty = process.stdout.isTTY === true;
let lastLine = -Infinity, lastPhase = "";
function status(s: PoolStats): string {
  const t = ((performance.now() - started) / 1000).toFixed(2);
  return `${t} s ${phase.padEnd(8)}  alive ${s.nobjs}  in use ${s.nusing}` +
    `  waiting ${String(s.nwaiting).padStart(2)}  failed: ${s.ncreateErrors}` +
    ` connects, ${failed} requests`;
}
function sample(): void {
  const s = pool.stats();
  samples.push({ phase, s, served, failed });
  const now = performance.now();
  if (tty) {
    const width = (process.stdout.columns || 80) - 1; // one line, or \r fails
    process.stdout.write(`\r${status(s).slice(0, width)}\x1b[K`);
  } else if (phase !== lastPhase || now - lastLine >= 500) {
    console.log(status(s));
    lastLine = now;
  }
  lastPhase = phase;
}
sample();
const sampler = setInterval(sample, 50);

// -- the load
const requests = Array.from({ length: REQUESTS }, async (_, i) => {
  await sleep(i * EVERY);
  try {
    await pool.use((c) => c.query(`SELECT ${i}`));
    served++;
  } catch {
    failed++; // those using a connection when it went down
  }
});
await sleep(DOWN_AT);
Connection.down = true;
phase = "outage";
await sleep(UP_AT - DOWN_AT);
Connection.down = false;
phase = "recovery";
await Promise.all(requests);
await sleep(150); // a few quiet samples at the end
clearInterval(sampler);
sample();
if (tty) process.stdout.write("\n");

// -- the timeline: one sparkline row per series, with its min and max
const BLOCKS = "▁▂▃▄▅▆▇█";
const columns = samples.length;
const series: [string, (x: Sample) => number][] = [
  ["alive", (x) => x.s.nobjs],
  ["in use", (x) => x.s.nusing],
  ["waiting", (x) => x.s.nwaiting],
  ["failed connects", (x) => x.s.ncreateErrors],
  ["failed requests", (x) => x.failed],
  ["served", (x) => x.served],
];
console.log(
  `\ntimeline (a column every 50 ms, ${ms(performance.now() - started)}):`,
);
let marks = "";
for (let i = 0; i < columns; i++) {
  if (i === 0 || samples[i].phase !== samples[i - 1].phase) {
    marks = marks.slice(0, i).padEnd(i) + (i === 0 ? "" : "|") +
      samples[i].phase;
  }
}
console.log(`${"phase".padEnd(16)}${marks.slice(0, columns).padEnd(columns)}`);
for (const [name, get] of series) {
  const values = samples.map(get);
  const lo = Math.min(...values), hi = Math.max(...values);
  const line = values.map((v) =>
    BLOCKS[hi === lo ? 0 : Math.round(((v - lo) / (hi - lo)) * 7)]
  ).join("");
  console.log(`${name.padEnd(16)}${line}  min ${lo} max ${hi}`);
}

// -- the counts, from one snapshot taken before shutdown
const s = pool.stats();
const closed = Object.entries(s.closedBy).filter(([, n]) => n > 0)
  .map(([why, n]) => `${n} ${why}`).join(", ") || "none";
const longest = ms(s.waitMax ?? 0);
console.log([
  "",
  `requests:    ${REQUESTS} = ${served} served + ${failed} failed (the database went down under them)`,
  `connections: ${s.nobjs} alive = ${s.navail} idle + ${s.nusing} in use + ${s.nbusy} being checked`,
  `             = ${s.ncreated} created - ${s.ndestroys} closed (${closed})`,
  `             ${s.ncreateErrors} connects failed, retried until the database was back`,
  `waits:       ${s.nwaits} requests waited, longest ${longest}; ${s.ntimeouts} timed out`,
  `health:      ${s.nhealth} checks, ${s.hcErrors} threw; ${s.hkRounds} housekeeping rounds`,
].join("\n"));

await pool.shutdown();
const after = pool.stats();
console.log(
  `after shutdown: ${after.nobjs} alive, ${after.ndestroys} closed in all (${after.closedBy.shutdown} by shutdown)`,
);
