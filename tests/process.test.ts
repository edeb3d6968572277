// Process hygiene and load, on the runtime running the tests:
// - a program that creates a pool with housekeeping and never calls
//   shutdown() still exits by itself (background timers are unref'd);
// - the demo (npm run demo), its stdout not a terminal, exits by itself and
//   prints its timeline and final counts that agree with each other;
// - the per-request HTTP example (examples/http) under a load generator
//   (autocannon) answers every request, leaks no object and keeps the pool
//   within its bounds all along (its stats are sampled every 50 ms during
//   the load).
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const bin = (name: string) => `${root}node_modules/.bin/${name}`;
const g = globalThis as { Deno?: unknown; Bun?: unknown };
const runtime = g.Deno ? "deno" : g.Bun ? "bun" : "node";

/**
 * The command that runs a .ts file on the runtime under test (for Node, the
 * very binary running the tests: Node 22 or 24).
 */
function command(file: string, args: string[] = []): [string, string[]] {
  if (runtime === "deno") return [bin("deno"), ["run", "-A", file, ...args]];
  if (runtime === "bun") return [bin("bun"), [file, ...args]];
  return [process.execPath, [file, ...args]];
}

/** Runs a command; resolves with its exit code and output, or kills it after `limit` ms. */
function run(
  cmd: string,
  args: string[],
  limit: number,
): Promise<{ code: number | null; out: string; killed: boolean }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, {
      cwd: root,
      env: { ...process.env, NO_COLOR: "1" },
    });
    let out = "";
    child.stdout.on("data", (d) => out += d);
    child.stderr.on("data", (d) => out += d);
    let killed = false;
    const timer = setTimeout(() => {
      killed = true;
      child.kill("SIGKILL");
    }, limit);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, out, killed });
    });
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

describe(`process hygiene (${runtime})`, () => {
  it("exits by itself without shutdown(), housekeeping, back-off and all", async () => {
    const script = `${root}tests/fixtures/forgotten_pool.ts`;
    const t0 = Date.now();
    const [cmd, args] = command(script);
    const { code, out, killed } = await run(cmd, args, 15_000);
    assert.equal(killed, false, `still running after 15 s:\n${out}`);
    assert.equal(code, 0, out);
    assert.match(out, /pool used: 3 objects/);
    assert.ok(Date.now() - t0 < 15_000);
  });
});

describe(`the demo (${runtime})`, () => {
  it("exits by itself, prints its timeline and counts that agree", async () => {
    const [cmd, args] = command(`${root}examples/demo.ts`);
    const { code, out, killed } = await run(cmd, args, 25_000);
    assert.equal(killed, false, `still running after 25 s:\n${out}`);
    assert.equal(code, 0, out);
    // not a terminal: plain status lines, no carriage returns
    assert.doesNotMatch(out, /\r/);
    for (const phase of ["warm-up", "outage", "recovery"]) {
      assert.match(
        out,
        new RegExp(`^\\d+\\.\\d\\d s ${phase} .* alive \\d`, "m"),
      );
    }
    // the timeline: the phase marks (a label is cut short when its phase
    // had fewer samples than letters), then one sparkline row per series
    assert.match(out, /^phase +w[a-z-]* *\|o[a-z]* *\|recovery/m);
    for (const series of ["alive", "in use", "waiting", "served"]) {
      assert.match(
        out,
        new RegExp(`^${series} +[▁-█]{10,}  min \\d+ max \\d+$`, "m"),
      );
    }
    const num = (re: RegExp) =>
      (out.match(re) ?? assert.fail(`no ${re} in:\n${out}`)).slice(1).map(
        Number,
      );
    const [total, served, failed] = num(
      /^requests: +(\d+) = (\d+) served \+ (\d+) failed/m,
    );
    assert.equal(served + failed, total);
    assert.ok(served > 0);
    const [nobjs, navail, nusing, nbusy] = num(
      /^connections: +(\d+) alive = (\d+) idle \+ (\d+) in use \+ (\d+) being checked/m,
    );
    assert.equal(navail + nusing + nbusy, nobjs);
    const [created, closed] = num(/^ += (\d+) created - (\d+) closed/m);
    assert.equal(created - closed, nobjs);
    assert.ok(nobjs >= 2 && nobjs <= 4, `${nobjs} alive`);
    assert.match(out, /^after shutdown: 0 alive, /m);
  });
});

describe(`load on the HTTP example (${runtime})`, () => {
  let server: ReturnType<typeof spawn> | undefined;
  after(() => {
    server?.kill("SIGKILL");
  });

  it("answers every request, leaks nothing, stays within maxSize", async () => {
    const port = await freePort();
    const [cmd, args] = command(`${root}examples/http/${runtime}.ts`, [
      String(port),
    ]);
    server = spawn(cmd, args, { cwd: root, stdio: "ignore" });
    // wait until it answers
    const deadline = Date.now() + 20_000;
    for (;;) {
      try {
        const r = await fetch(`http://127.0.0.1:${port}/`);
        await r.text();
        if (r.ok) break;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) {
        assert.fail("the example server did not start");
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    // the pool's size is sampled all along the load, not only after it
    let loading = true;
    const samples: { nobjs: number; creating: number; nusing: number }[] = [];
    const sampleErrors: string[] = [];
    const sampler = (async () => {
      while (loading) {
        try {
          const r = await fetch(`http://127.0.0.1:${port}/stats`);
          const st = await r.json();
          samples.push({
            nobjs: st.nobjs,
            creating: st.creating,
            nusing: st.nusing,
          });
        } catch (err) {
          sampleErrors.push(String(err));
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    const { code, out } = await run(bin("autocannon"), [
      "--json",
      "-c",
      "50",
      "-d",
      "3",
      `http://127.0.0.1:${port}/`,
    ], 30_000);
    loading = false;
    await sampler;
    assert.equal(code, 0, out);
    assert.deepEqual(sampleErrors, [], "stats requests during the load failed");
    assert.ok(samples.length >= 10, `only ${samples.length} samples`);
    for (const [i, st] of samples.entries()) {
      assert.ok(
        st.nobjs + st.creating <= 10,
        `sample ${i}: nobjs ${st.nobjs} + creating ${st.creating} > maxSize 10`,
      );
      assert.ok(
        st.nusing >= 1 && st.nusing <= st.nobjs,
        `sample ${i}: nusing ${st.nusing}`,
      );
    }
    const maxObjs = Math.max(...samples.map((st) => st.nobjs + st.creating));
    const result = JSON.parse(out.slice(out.indexOf("{")));
    const served = result.requests.total as number;
    assert.ok(served > 500, `only ${served} requests`);
    assert.equal(result.errors, 0, "connection errors");
    assert.equal(result.timeouts, 0, "timeouts");
    assert.equal(result.non2xx, 0, "error responses");
    const stats = await (await fetch(`http://127.0.0.1:${port}/stats`)).json();
    assert.equal(stats.nusing, 1, "only the /stats request holds an object");
    assert.ok(stats.nobjs <= 10, `nobjs ${stats.nobjs} > maxSize 10`);
    assert.equal(stats.nwaiting, 0);
    assert.ok(stats.nuses >= served, `nuses ${stats.nuses} < ${served}`);
    console.log(
      `LOAD-FIGURES ${
        JSON.stringify({
          runtime,
          requests: served,
          rps: result.requests.average,
          latencyP99: result.latency.p99,
          nobjs: stats.nobjs,
          samples: samples.length,
          maxObjsDuringLoad: maxObjs,
          nwaits: stats.nwaits,
          leaked: stats.nusing - 1,
        })
      }`,
    );
    server.kill("SIGKILL");
    server = undefined;
  });
});
