// examples/otel-prometheus.ts against a throwaway PostgreSQL (tests/_pg.ts):
// run by this test's own runtime, it serves the pool's metrics; its scrape
// output has the conventions' metrics (Prometheus names) with the pool's
// name and plausible values, and it exits when asked (SIGTERM) or after
// --seconds. Without PostgreSQL the file is skipped, unless CI is set.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import process from "node:process";
import { fileURLToPath } from "node:url";
import {
  freePort,
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

const EXAMPLE = fileURLToPath(
  new URL("../examples/otel-prometheus.ts", import.meta.url),
);

/** The example, run by the runtime running this test. */
function runExample(env: Record<string, string>, args: string[]) {
  const g = globalThis as { Deno?: unknown };
  const argv = g.Deno !== undefined
    ? ["run", "-A", EXAMPLE, ...args]
    : [EXAMPLE, ...args];
  const child = spawn(process.execPath, argv, {
    env: { ...process.env, ...env, NO_COLOR: "1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stdout.on("data", (d) => out += d);
  child.stderr.on("data", (d) => err += d);
  const exited = new Promise<number | null>((resolve) =>
    child.on("exit", (code, signal) =>
      // Deno's node:child_process reports a child it sent a signal to as
      // ended by that signal, even when the child handled it and exited
      // with 0: the last line printed says it stopped by itself
      resolve(
        code === null && signal === "SIGTERM" && g.Deno !== undefined &&
          /done: /.test(out)
          ? 0
          : code,
      ))
  );
  return {
    child,
    exited,
    output: () => out,
    errors: () => err,
    async until(re: RegExp, limit = 60_000): Promise<void> {
      const end = Date.now() + limit;
      while (!re.test(out)) {
        if (child.exitCode !== null || Date.now() > end) {
          throw new Error(
            `the example did not print ${re} (exit ${child.exitCode}):\n${out}\n${err}`,
          );
        }
        await sleep(50);
      }
    },
  };
}

describe("otel: the Prometheus example with PostgreSQL", { skip }, () => {
  let server: PgServer;
  let url: string;
  before(async () => {
    server = await startPg();
    url =
      `postgres://postgres@${server.host}:${server.port}/postgres?application_name=otel-example`;
  });
  after(async () => {
    await server?.destroy();
  });

  it("serves the pool's metrics for a scrape, and exits on SIGTERM", {
    timeout: 120_000,
  }, async () => {
    const port = await freePort();
    const ex = runExample({ DATABASE_URL: url }, [
      "--port",
      String(port),
      "--seconds",
      "100",
    ]);
    try {
      await ex.until(/serving metrics on http:\/\/127\.0\.0\.1:\d+\/metrics/);
      // let the load run a little: every histogram gets samples
      await sleep(1500);
      const res = await fetch(`http://127.0.0.1:${port}/metrics`);
      assert.equal(res.status, 200);
      const text = await res.text();
      // the excerpt the README shows comes from here
      console.log(
        `SCRAPE-EXCERPT\n${
          text.split("\n").filter((l) =>
            /^(# (HELP|TYPE) )?db_client_connection_(count|max|pending_requests|timeouts|wait_time)/
              .test(l)
          ).join("\n")
        }`,
      );
      const pool = 'db_client_connection_pool_name="app-db"';
      for (
        const name of [
          "db_client_connection_count",
          "db_client_connection_idle_max",
          "db_client_connection_idle_min",
          "db_client_connection_max",
          "db_client_connection_pending_requests",
          "db_client_connection_timeouts",
          "db_client_connection_create_time",
          "db_client_connection_wait_time",
          "db_client_connection_use_time",
        ]
      ) {
        assert.match(text, new RegExp(`^# TYPE ${name}`, "m"), name);
        assert.ok(
          text.split("\n").some((l) => l.startsWith(name) && l.includes(pool)),
          `${name} has a sample for the pool app-db`,
        );
      }
      // the sample named `name` (a histogram's: name_count, name_sum)
      const at = (name: string, extra = "") =>
        text.split("\n").find((l) =>
          l.startsWith(name + "{") && l.includes(pool) && l.includes(extra)
        );
      const value = (line: string | undefined) => {
        assert.ok(line !== undefined);
        return Number(line.slice(line.lastIndexOf(" ") + 1));
      };
      const idle = value(
        at("db_client_connection_count", 'db_client_connection_state="idle"'),
      );
      const used = value(
        at("db_client_connection_count", 'db_client_connection_state="used"'),
      );
      assert.ok(idle >= 0 && used >= 0 && idle + used <= 4, `${idle} ${used}`);
      assert.ok(idle + used >= 1, "minSize 1: at least one connection");
      assert.equal(value(at("db_client_connection_max")), 4);
      assert.equal(value(at("db_client_connection_idle_max")), 4);
      assert.equal(value(at("db_client_connection_idle_min")), 1);
      const pending = value(at("db_client_connection_pending_requests"));
      assert.ok(pending >= 0 && pending <= 8, `${pending} pending`);
      // histograms: counts and sums in seconds
      const uses = value(at("db_client_connection_use_time_count"));
      const useSum = value(at("db_client_connection_use_time_sum"));
      assert.ok(uses > 10, `${uses} uses in 1.5 s`);
      assert.ok(
        useSum / uses > 0 && useSum / uses < 1,
        `a use of ${useSum / uses} s on average`,
      );
      const creates = value(
        at("db_client_connection_create_time_count"),
      );
      assert.ok(creates >= 1 && creates <= 10, `${creates} creations`);
      const waits = value(at("db_client_connection_wait_time_count"));
      assert.ok(waits >= uses, `${waits} waits, ${uses} uses`);
      assert.match(text, /db_system_name="postgresql"/);

      ex.child.kill("SIGTERM");
      assert.equal(await ex.exited, 0, ex.errors());
      assert.match(ex.output(), /done: \d+ queries, \d+ timeouts/);
      assert.equal(
        await server.backends("otel-example"),
        0,
        "every connection closed",
      );
    } finally {
      if (ex.child.exitCode === null) ex.child.kill("SIGKILL");
    }
  });

  it("exits by itself after --seconds", { timeout: 60_000 }, async () => {
    const port = await freePort();
    const ex = runExample({ DATABASE_URL: url }, [
      "--port",
      String(port),
      "--seconds",
      "1",
    ]);
    try {
      assert.equal(await ex.exited, 0, ex.errors());
      assert.match(ex.output(), /serving metrics/);
      assert.match(ex.output(), /done: \d+ queries/);
    } finally {
      if (ex.child.exitCode === null) ex.child.kill("SIGKILL");
    }
  });
});
