// A pool of PostgreSQL connections (`pg`) whose OpenTelemetry metrics are
// served for Prometheus to scrape, with a little load so that every metric
// moves: eight tasks share four connections, each running a short query.
//
//   DATABASE_URL=postgres://user@localhost/db node examples/otel-prometheus.ts
//   curl http://127.0.0.1:9464/metrics
//
// Options: --port N (default 9464), --seconds N (exit after N seconds;
// default: run until Ctrl-C or SIGTERM). It prints the address it serves on
// once it is listening, and a last line when it is done. Runs on Node, Deno
// (`deno run -A`) and Bun alike.
//
// Dependencies (not the library's: it has none): @opentelemetry/api,
// @opentelemetry/sdk-metrics, @opentelemetry/exporter-prometheus, pg.

import process from "node:process";
import { MeterProvider } from "@opentelemetry/sdk-metrics";
import { PrometheusExporter } from "@opentelemetry/exporter-prometheus";
import pg from "pg";
import { Pool, TimeoutError } from "../mod.ts";
import { instrument } from "../otel.ts";

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i === -1) return fallback;
  const value = Number(process.argv[i + 1]);
  if (!Number.isInteger(value) || value < 0) {
    console.error(`--${name} takes a whole number: ${process.argv[i + 1]}`);
    process.exit(2);
  }
  return value;
}

const url = process.env.DATABASE_URL;
if (!url) {
  console.error(
    "set DATABASE_URL, e.g. postgres://postgres@127.0.0.1/postgres",
  );
  process.exit(2);
}
const port = flag("port", 9464);
const seconds = flag("seconds", 0);

// The exporter is a metric reader that serves /metrics, collecting (and so
// reading the pool) at each scrape.
const exporter = new PrometheusExporter({
  host: "127.0.0.1",
  port,
  preventServerStart: true,
});
await exporter.startServer();
const provider = new MeterProvider({ readers: [exporter] });

const pool = new Pool<pg.Client>({
  name: "app-db",
  fun: () => new pg.Client({ connectionString: url }),
  opener: async (client) => {
    // a connection that dies while idle is replaced, not lent
    client.on("error", () => pool.evict(client));
    await client.connect();
  },
  closer: (client) => client.end(),
  minSize: 1,
  maxSize: 4,
  timeout: 2000,
  createTimeout: 5000,
  isBroken: (err) => !(err instanceof Error && "severity" in err),
});
const metrics = instrument(pool, provider.getMeter("otel-prometheus-example"), {
  attributes: { "db.system.name": "postgresql" },
});

// Eight tasks over four connections: some waits, uses of a few ms.
let running = true;
let queries = 0;
let timeouts = 0;
async function worker(): Promise<void> {
  while (running) {
    try {
      await pool.use((client) =>
        client.query("SELECT pg_sleep($1)", [Math.random() * 0.01])
      );
      queries++;
    } catch (err) {
      if (err instanceof TimeoutError) timeouts++;
      else if (running) console.error(`query failed: ${err}`);
    }
    await new Promise((resolve) => setTimeout(resolve, Math.random() * 5));
  }
}
const workers = Array.from({ length: 8 }, () => worker());

console.log(`serving metrics on http://127.0.0.1:${port}/metrics`);

let stopping: Promise<void> | undefined;
let deadline: ReturnType<typeof setTimeout> | undefined;
function stop(): Promise<void> {
  stopping ??= (async () => {
    clearTimeout(deadline);
    running = false;
    await Promise.all(workers);
    metrics.stop();
    await pool.shutdown();
    await provider.shutdown(); // stops the exporter's server too
    console.log(`done: ${queries} queries, ${timeouts} timeouts`);
  })();
  return stopping;
}
process.on("SIGINT", () => void stop());
process.on("SIGTERM", () => void stop());
if (seconds > 0) deadline = setTimeout(() => void stop(), seconds * 1000);
// the exporter's server and the workers keep the process alive until then
