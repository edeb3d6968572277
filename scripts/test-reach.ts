// The reach suite: runs the checks of tests/runtime/checks.ts, bundled with
// mod.ts by esbuild, in Cloudflare's workerd and in headless Chromium, and
// prints one line per runtime:
//
//   workerd  ok    19 passed 0 failed  1.2 s
//   chromium ok    19 passed 0 failed  2.3 s
//
// In workerd each check runs in two workers (see config.capnp), and passes
// only if it passes in both.
//
// Exits non-zero when a check fails or a runtime cannot run them.
//
//   node scripts/test-reach.ts [workerd] [chromium]   (default: both)
//
// Needs node 24 (type stripping), node_modules (npm ci) and, for chromium,
// /usr/bin/chromium (Debian: apt-get install chromium).

import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { copyFile, mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { type AddressInfo, createServer as createTcpServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium as playwright } from "playwright-core";
import { bundle } from "../tests/runtime/bundle.ts";
import type { Report } from "../tests/runtime/checks.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const WORKERD = join(ROOT, "node_modules", ".bin", "workerd");
const WORKERD_CONFIG = join(
  ROOT,
  "tests",
  "runtime",
  "workerd",
  "config.capnp",
);
const CHROMIUM = "/usr/bin/chromium";
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
/** Longest wait for a runtime to start, and for its report. */
const START_LIMIT = 20_000;
const REPORT_LIMIT = 120_000;

interface Note {
  name: string;
  value: string;
  /** Notes that are checks count as passed or failed. */
  ok?: boolean;
}

interface Outcome {
  report: Report;
  notes: Note[];
}

const RUNNERS: Record<string, (dir: string) => Promise<Outcome>> = {
  workerd: runWorkerd,
  chromium: runChromium,
};

/**
 * A KeyedPool made at module scope (maxTotal 2, keyIdleTimeout 50 ms), used
 * by successive requests: keys a and b, then a new key every 60 ms; where
 * no timer runs between requests, idle keys are swept as new ones open, so
 * a and b must be gone after three more, and the limit held throughout.
 */
async function keyedCheck(
  get: (path: string) => Promise<unknown>,
): Promise<Note> {
  interface Seen {
    got: string;
    nkeys: number;
    nkeysExpired: number;
    ntotal: number;
    nmadeRoom: number;
    closed: string;
  }
  const seen: Seen[] = [];
  for (const key of ["a", "b", "c", "d", "e", "f"]) {
    if (seen.length >= 2) await sleep(60);
    seen.push(await get(`/keyed?key=${key}`) as Seen);
  }
  const last = seen[seen.length - 1];
  const ok = seen.every((s, i) => s.got === "abcdef"[i] && s.ntotal <= 2) &&
    last.nkeysExpired >= 2 && last.closed.startsWith("a,b");
  return {
    name: "keyed pool at module scope: limit across requests, idle keys go",
    ok,
    value:
      `after keys a-f: nkeys ${last.nkeys}, nkeysExpired ${last.nkeysExpired}, ntotal ${last.ntotal} (maxTotal 2), nmadeRoom ${last.nmadeRoom}, closed ${last.closed}`,
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function isReport(value: unknown): value is Report {
  const r = value as Report;
  return typeof r === "object" && r !== null && typeof r.passed === "number" &&
    typeof r.failed === "number" && Array.isArray(r.results);
}

/** A port free on the loopback interface right now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createTcpServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

// ----------------------------------------------------------------- workerd

/** The workerd sockets of config.capnp: one worker each. */
const WORKERD_SOCKETS = {
  "http": "2026-11-01 defaults, nodejs_compat",
  "http-web": "2026-07-01 defaults, Web only",
} as const;

type Socket = keyof typeof WORKERD_SOCKETS;

/**
 * Every check must pass in every worker of config.capnp: the reports are
 * merged check by check, and a failure names the worker.
 */
function mergeReports(reports: [Socket, Report][]): Report {
  const [first] = reports;
  const results = first[1].results.map((r) => {
    const errors: string[] = [];
    for (const [socket, report] of reports) {
      const mine = report.results.find((x) => x.name === r.name);
      if (mine === undefined) errors.push(`[${socket}] missing`);
      else if (!mine.ok) errors.push(`[${socket}] ${mine.error}`);
    }
    return {
      ...r,
      ok: errors.length === 0,
      error: errors.length === 0 ? null : errors.join("\n  "),
    };
  });
  const passed = results.filter((r) => r.ok).length;
  return {
    ...first[1],
    passed,
    failed: results.length - passed,
    ms: Math.max(...reports.map(([, r]) => r.ms)),
    results,
  };
}

/** What a `/shared/...` route of worker.ts answers. */
interface SharedAnswer {
  n?: number;
  error?: string;
  waited: number;
}

interface SharedStats {
  nobjs: number;
  nusing: number;
  nwaiting: number;
  nuses: number;
  ntimeouts: number;
  nkilled: number;
}

/** Messages workerd logs when a request waiting on the pool goes wrong. */
const WORKERD_COMPLAINTS = [
  "had hung and would never generate a response",
  "from a different request context",
];

/**
 * Checks across requests: a pool made at module scope, shared by
 * concurrent requests as a Worker shares it, with one object, so that
 * requests wait for one another. `get` fetches one route and parses its JSON
 * (it throws on a status other than 200); `output` is workerd's output so far.
 */
async function sharedChecks(
  socket: Socket,
  get: (socket: Socket, path: string, ms: number) => Promise<unknown>,
  output: () => string,
): Promise<Note[]> {
  const notes: Note[] = [];
  const tag = `[${socket}] `;
  const before = output().length;
  const stats = (pool: string) =>
    get(socket, `/shared/stats?pool=${pool}`, 5000) as Promise<SharedStats>;
  const settled = (
    paths: string[],
  ): Promise<PromiseSettledResult<SharedAnswer>[]> =>
    Promise.allSettled(
      paths.map((p) => get(socket, p, 10_000) as Promise<SharedAnswer>),
    );
  // how many failed, and the first one's error
  const failures = (results: PromiseSettledResult<SharedAnswer>[]) => {
    const bad = results.flatMap((r, i) =>
      r.status === "rejected"
        ? [`request ${i}: ${String(r.reason).split("\n")[0]}`]
        : []
    );
    return bad.length === 0 ? [] : [`${bad.length} failed, ${bad[0]}`];
  };

  // 10 concurrent requests on maxSize 1: each waits for the others
  for (
    const [pool, route] of [
      ["use", "use"],
      ["get", "get"],
      ["untimed", "use"],
    ] as const
  ) {
    const name = `${tag}10 concurrent requests share maxSize 1 ` +
      `(${route}, ${pool === "untimed" ? "no timeout" : "pool timeout"})`;
    const s0 = await stats(pool);
    const results = await settled(
      Array.from(
        { length: 10 },
        () => `/shared/${route}?pool=${pool}&hold=5`,
      ),
    );
    const s1 = await stats(pool);
    const bad = failures(results);
    const answers = results.flatMap((r) =>
      r.status === "fulfilled" ? [r.value] : []
    );
    const ok = bad.length === 0 && answers.every((a) => a.n === 0) &&
      s1.nuses - s0.nuses === 10 && s1.nusing === 0 && s1.nwaiting === 0 &&
      s1.nobjs === 1;
    notes.push({
      name,
      ok,
      value:
        `${answers.length}/10 answered 200${
          bad.length > 0 ? ` (${bad.join("; ")})` : ""
        }; waited up to ${
          Math.max(0, ...answers.map((a) => a.waited))
        } ms; nuses +${s1.nuses - s0.nuses}, nusing ${s1.nusing}, ` +
        `nwaiting ${s1.nwaiting}, nobjs ${s1.nobjs}`,
    });
  }

  // Waits that must time out in time while another request holds the
  // object: the first to wait sets the pool's deadline timer in its own
  // request, which ends at its timeout, before the second one's deadline.
  {
    const name =
      `${tag}waiting gets time out in time while another request holds the object`;
    const s0 = await stats("timeout");
    // settled at once: a rejection must not go unhandled during the sleeps
    const holder = settled(["/shared/get?pool=timeout&hold=900"]);
    await sleep(30);
    const first = settled(["/shared/get?pool=timeout&timeout=150"]);
    await sleep(30);
    const second = settled(["/shared/get?pool=timeout&timeout=300"]);
    const results = (await Promise.all([first, second, holder])).flat();
    const s1 = await stats("timeout");
    const bad = failures(results);
    const [a, b, h] = results.map((r) =>
      r.status === "fulfilled" ? r.value : undefined
    );
    const inTime = (x: SharedAnswer | undefined, timeout: number) =>
      x?.error === "TimeoutError" && x.waited >= timeout - 5 &&
      x.waited < timeout + 200;
    const ok = bad.length === 0 && inTime(a, 150) && inTime(b, 300) &&
      h?.n === 0 && s1.ntimeouts - s0.ntimeouts === 2 && s1.nwaiting === 0 &&
      s1.nusing === 0;
    notes.push({
      name,
      ok,
      value: `timeout 150: ${JSON.stringify(a)}, timeout 300: ${
        JSON.stringify(b)
      }, holder: ${JSON.stringify(h)}${
        bad.length > 0 ? ` (${bad.join("; ")})` : ""
      }; ntimeouts +${s1.ntimeouts - s0.ntimeouts}, nwaiting ${s1.nwaiting}`,
    });
  }

  // Housekeeping with no background timer (a pool made at module scope)
  // runs when a get or ret finds a round overdue; here nobody calls either
  // while a request waits: its own timer runs the round, which kills the
  // object held too long and creates another for it.
  {
    const name =
      `${tag}a waiting request runs overdue housekeeping (maxUsingDelayKill)`;
    const holder = settled(["/shared/get?pool=kill&hold=1800"]);
    await sleep(30);
    const waiter = settled(["/shared/get?pool=kill"]);
    const results = (await Promise.all([waiter, holder])).flat();
    const s1 = await stats("kill");
    const bad = failures(results);
    const [w, h] = results.map((r) =>
      r.status === "fulfilled" ? r.value : undefined
    );
    const ok = bad.length === 0 && w?.n === 1 && w.waited < 1600 &&
      h?.n === 0 && s1.nkilled === 1 && s1.nusing === 0 && s1.nobjs === 1;
    notes.push({
      name,
      ok,
      value: `waiter: ${JSON.stringify(w)}, holder (held 1800 ms): ${
        JSON.stringify(h)
      }${bad.length > 0 ? ` (${bad.join("; ")})` : ""}; nkilled ${s1.nkilled}`,
    });
  }

  const said = output().slice(before);
  const complaints = WORKERD_COMPLAINTS.filter((c) => said.includes(c));
  notes.push({
    name: `${tag}workerd logs no hung request nor cross-request resolution`,
    ok: complaints.length === 0,
    value: complaints.length === 0 ? "none" : complaints.join("; "),
  });
  return notes;
}

async function runWorkerd(dir: string): Promise<Outcome> {
  if (!existsSync(WORKERD)) {
    throw new Error(`${WORKERD} is missing: run npm ci`);
  }
  await bundle("workerd", join(dir, "worker.js"));
  await copyFile(WORKERD_CONFIG, join(dir, "config.capnp"));
  const sockets = Object.keys(WORKERD_SOCKETS) as Socket[];
  const ports = {} as Record<Socket, number>;
  for (const socket of sockets) ports[socket] = await freePort();
  let output = "";
  const child = spawn(
    WORKERD,
    [
      "serve",
      "config.capnp",
      ...sockets.flatMap((
        s,
      ) => ["--socket-addr", `${s}=127.0.0.1:${ports[s]}`]),
    ],
    { cwd: dir, stdio: ["ignore", "pipe", "pipe"] },
  );
  // however this script ends (a crash, a signal), workerd ends with it
  const orphan = () => child.kill("SIGKILL");
  process.once("exit", orphan);
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      orphan();
      process.exit(1);
    });
  }
  child.stdout.on("data", (chunk) => (output += chunk));
  child.stderr.on("data", (chunk) => (output += chunk));
  const exited = new Promise<string>((resolve) => {
    child.on("exit", (code, signal) => resolve(`exit ${code ?? signal}`));
    child.on("error", (err) => resolve(String(err)));
  });
  let exit: string | undefined;
  void exited.then((how) => (exit = how));
  const fail = (what: string): never => {
    throw new Error(`${what}${output ? `\nworkerd output:\n${output}` : ""}`);
  };
  const get = async (
    socket: Socket,
    path: string,
    ms: number,
  ): Promise<unknown> => {
    const response = await fetch(`http://127.0.0.1:${ports[socket]}${path}`, {
      signal: AbortSignal.timeout(ms),
    });
    const text = await response.text();
    if (!response.ok) {
      fail(`${socket} GET ${path}: HTTP ${response.status}: ${text}`);
    }
    try {
      return JSON.parse(text);
    } catch {
      return fail(`${socket} GET ${path}: not JSON: ${text.slice(0, 500)}`);
    }
  };

  try {
    // ready once every worker answers an empty selection of checks
    const deadline = Date.now() + START_LIMIT;
    for (const socket of sockets) {
      for (;;) {
        if (exit !== undefined) fail(`workerd stopped at start (${exit})`);
        try {
          await get(socket, "/?only=%00", 2000);
          break;
        } catch (err) {
          if (Date.now() > deadline) {
            fail(`workerd did not answer within ${START_LIMIT} ms: ${err}`);
          }
          await sleep(50);
        }
      }
    }
    const reports: [Socket, Report][] = [];
    for (const socket of sockets) {
      const report = await get(socket, "/", REPORT_LIMIT);
      if (!isReport(report)) {
        return fail(`not a report: ${JSON.stringify(report).slice(0, 500)}`);
      }
      reports.push([socket, report]);
    }
    const notes: Note[] = [];
    for (const socket of sockets) {
      const env = await get(socket, "/env", 5000) as Note;
      notes.push({
        name: `${env.name} (${WORKERD_SOCKETS[socket]})`,
        value: env.value,
      });
    }
    notes.push(await get("http", "/global", 5000) as Note);
    await get("http", "/lifetime/start", 5000);
    notes.push(await get("http", "/lifetime/check", 5000) as Note);
    notes.push(await keyedCheck((path) => get("http", path, 5000)));
    for (const socket of sockets) {
      notes.push(...await sharedChecks(socket, get, () => output));
    }
    if (output.trim() !== "") {
      notes.push({ name: "workerd output", value: output.trim() });
    }
    const report = mergeReports(reports);
    // notes that are checks join the report
    for (const n of notes) {
      if (n.ok === undefined) continue;
      report.results.push(
        {
          name: n.name,
          ok: n.ok,
          error: n.ok ? null : n.value,
        } as Report["results"][number],
      );
      if (n.ok) report.passed++;
      else report.failed++;
    }
    return { report, notes };
  } finally {
    // workerd drains for about 2 s on SIGTERM: nothing here needs draining
    child.kill("SIGTERM");
    const stopped = await Promise.race([exited, sleep(300)]);
    if (stopped === undefined) {
      child.kill("SIGKILL");
      await exited;
    }
  }
}

// ---------------------------------------------------------------- chromium

const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>reach</title></head>
<body><script type="module" src="/reach.js"></script></body></html>
`;

async function serve(script: string): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.url === "/" || req.url === "/index.html") {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
      res.end(PAGE);
    } else if (req.url === "/reach.js") {
      res.writeHead(200, {
        "content-type": "text/javascript; charset=utf-8",
      });
      res.end(script);
    } else if (req.url === "/favicon.ico") {
      res.writeHead(204);
      res.end();
    } else {
      res.writeHead(404, { "content-type": "text/plain" });
      res.end("not found");
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.on("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  return server;
}

async function runChromium(dir: string): Promise<Outcome> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `${CHROMIUM} is missing: install it (apt-get install -y chromium)`,
    );
  }
  const bundled = join(dir, "reach.js");
  await bundle("browser", bundled);
  const server = await serve(await readFile(bundled, "utf8"));
  const { port } = server.address() as AddressInfo;
  const logs: string[] = [];
  const context = await playwright.launchPersistentContext(
    join(dir, "profile"),
    {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      timeout: START_LIMIT,
    },
  );
  try {
    const page = context.pages()[0] ?? await context.newPage();
    page.on("console", (m) => {
      if (m.type() === "error") logs.push(`console: ${m.text()}`);
    });
    page.on("pageerror", (err) => logs.push(`page error: ${err.message}`));
    await page.goto(`http://127.0.0.1:${port}/`, { timeout: START_LIMIT });
    try {
      await page.waitForFunction(
        () => (globalThis as { __reach?: unknown }).__reach !== undefined,
        undefined,
        { timeout: REPORT_LIMIT },
      );
    } catch (err) {
      throw new Error(`no report from the page: ${err}\n${logs.join("\n")}`);
    }
    const report = await page.evaluate(() =>
      (globalThis as { __reach?: unknown }).__reach
    );
    if (!isReport(report)) {
      throw new Error(
        `not a report: ${JSON.stringify(report)}\n${logs.join("\n")}`,
      );
    }
    const version = context.browser()?.version() ?? report.userAgent;
    return {
      report,
      notes: [
        { name: "browser", value: version },
        ...logs.map((value) => ({ name: "page", value })),
      ],
    };
  } finally {
    await context.close();
    await new Promise((resolve) => server.close(resolve));
  }
}

// ------------------------------------------------------------------- main

async function main(): Promise<number> {
  const names = process.argv.slice(2);
  const selected = names.length > 0 ? names : Object.keys(RUNNERS);
  let status = 0;
  for (const name of selected) {
    const runner = RUNNERS[name];
    if (runner === undefined) {
      console.error(
        `unknown runtime '${name}': use ${Object.keys(RUNNERS).join(", ")}`,
      );
      return 2;
    }
    const started = performance.now();
    if (name === "chromium" && !existsSync(CHROMIUM) && !process.env.CI) {
      // as the PostgreSQL tests: skipped on a machine without it, required
      // in CI (.ci/run installs it)
      console.log(
        `chromium skip  0 passed 0 failed  (${CHROMIUM} is missing: apt-get install -y chromium)`,
      );
      continue;
    }
    const dir = await mkdtemp(join(tmpdir(), `reach-${name}-`));
    let line: string;
    try {
      const { report, notes } = await runner(dir);
      const secs = ((performance.now() - started) / 1000).toFixed(1);
      for (const r of report.results) {
        if (!r.ok) console.log(`${name}: FAIL ${r.name}\n  ${r.error}`);
        else if (r.detail) console.log(`${name}: ${r.name}: ${r.detail}`);
      }
      for (const n of notes) {
        console.log(`${name}: note: ${n.name}: ${n.value}`);
      }
      const ok = report.failed === 0 && report.passed > 0;
      if (!ok) status = 1;
      line = `${name.padEnd(8)} ${(ok ? "ok" : "FAIL").padEnd(5)} ` +
        `${report.passed} passed ${report.failed} failed  ${secs} s`;
    } catch (err) {
      status = 1;
      const secs = ((performance.now() - started) / 1000).toFixed(1);
      console.log(`${name}: ${err instanceof Error ? err.stack : err}`);
      line = `${name.padEnd(8)} FAIL  0 passed 1 failed  ${secs} s`;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    console.log(line);
  }
  return status;
}

process.exitCode = await main();
