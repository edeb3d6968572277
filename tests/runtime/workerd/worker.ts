// The workerd test worker, bundled with mod.ts by tests/runtime/bundle.ts and
// served by config.capnp (scripts/test-reach.ts starts it).
//
// - `/` runs every reach check inside the request (in workerd, timers only
//   fire inside a request) and answers with the JSON report; `?only=text`
//   runs the checks whose name contains the text.
// - `/shared/...` serve the cross-request checks: pools made at module
//   scope and shared by every request, as a Worker shares a pool; the runner
//   sends concurrent requests (see sharedChecks in scripts/test-reach.ts).
// - `/lifetime/start` then `/lifetime/check` check that a pool outliving
//   the request that created it still housekeeps (lazily, on gets and
//   returns: workerd runs no timer between requests); `/global` checks that
//   a pool with housekeeping can be created at module scope (where workerd
//   refuses timers). Both answer `ok`; `/env` lists the Node globals present
//   (with nodejs_compat, or not).
// - `/keyed?key=k` uses key k of a KeyedPool made at module scope (no timer
//   may be set there, so its idle keys are swept when new keys open): the
//   runner uses a few keys across requests, and sees idle ones go.

import { KeyedPool, Pool } from "../../../mod.ts";
import { runChecks } from "../checks.ts";

/** What the notes routes answer. */
export interface Note {
  name: string;
  value: string;
  /** For notes that are checks: whether it behaved as it must. */
  ok?: boolean;
}

// module scope: workerd refuses timers here
let globalScope: string;
let globalOk = false;
try {
  const pool = new Pool({ fun: (n) => ({ n }), maxAvailDelay: 50 });
  globalScope = `created (nobjs ${pool.stats().nobjs})`;
  globalOk = pool.stats().nobjs === 1;
} catch (err) {
  globalScope = `throws ${err instanceof Error ? err.message : String(err)}`;
}

let lifetimePool: Pool<{ n: number }> | undefined;

// module scope: its sweep of idle keys cannot have a timer here
const keyedClosed: string[] = [];
const keyedPool = new KeyedPool({
  fun: (key: string, n) => ({ key, n }),
  closer: (o) => void keyedClosed.push(o.key),
  maxTotal: 2,
  keyIdleTimeout: 50,
  name: "shared-keyed",
});

/** `/keyed?key=k`: one use of key k, and the keyed pool's counts after it. */
async function keyedRoute(url: URL): Promise<unknown> {
  const key = url.searchParams.get("key") ?? "";
  const got = await keyedPool.use(key, async (o) => {
    await sleep(2);
    return o.key;
  });
  const s = keyedPool.stats();
  return {
    got,
    nkeys: s.nkeys,
    nkeysExpired: s.nkeysExpired,
    ntotal: s.ntotal,
    nmadeRoom: s.nmadeRoom,
    closed: keyedClosed.join(","),
  };
}

// Shared by every request, made at module scope (no timer may be set here):
// one object each, so that concurrent requests wait for each other; one pool
// per check of sharedChecks, so that each starts afresh. "untimed" and
// "kill" wait without timeout, the others with the pool's; "kill" kills an
// object held over 200 ms (housekeeping: lazy here, as no timer may be set
// at module scope).
const sharedPools: Record<string, Pool<{ n: number }>> = {};
for (const name of ["use", "get", "untimed", "timeout", "kill"]) {
  sharedPools[name] = new Pool({
    fun: (n) => ({ n }),
    maxSize: 1,
    timeout: name === "untimed" || name === "kill" ? undefined : 5000,
    maxUsingDelayKill: name === "kill" ? 200 : undefined,
    logLevel: name === "kill" ? "off" : undefined,
    name: `shared-${name}`,
  });
}

function sharedPool(url: URL): Pool<{ n: number }> {
  const pool = sharedPools[url.searchParams.get("pool") ?? ""];
  if (pool === undefined) throw new Error(`no shared pool ${url.search}`);
  return pool;
}

/** One request's turn on a shared pool: `/shared/use`, `/shared/get`. */
async function sharedRoute(url: URL): Promise<unknown> {
  const pool = sharedPool(url);
  const hold = Number(url.searchParams.get("hold") ?? 5);
  const started = Date.now();
  switch (url.pathname) {
    case "/shared/use": {
      // use(): lend, hold a while (a timer: I/O of this request), give back
      const n = await pool.use(async (o) => {
        await sleep(hold);
        return o.n;
      });
      return { n, waited: Date.now() - started - hold };
    }
    case "/shared/get": {
      // get/ret, or a get that must time out: `timeout` overrides the pool's
      const t = url.searchParams.get("timeout");
      try {
        const o = await pool.get(
          t === null ? undefined : { timeout: Number(t) },
        );
        const waited = Date.now() - started;
        await sleep(hold);
        pool.ret(o);
        return { n: o.n, waited };
      } catch (err) {
        return {
          error: err instanceof Error ? err.name : String(err),
          waited: Date.now() - started,
        };
      }
    }
    case "/shared/stats": {
      const s = pool.stats();
      return {
        nobjs: s.nobjs,
        nusing: s.nusing,
        nwaiting: s.nwaiting,
        nuses: s.nuses,
        ntimeouts: s.ntimeouts,
        nkilled: s.nkilled,
      };
    }
  }
  return undefined;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function json(value: unknown): Response {
  return new Response(JSON.stringify(value), {
    headers: { "content-type": "application/json" },
  });
}

async function lifetimeStart(): Promise<Note> {
  await lifetimePool?.shutdown();
  const pool = new Pool({
    fun: (n) => ({ n }),
    minSize: 1,
    maxAvailDelay: 20,
    logLevel: "off",
  });
  lifetimePool = pool;
  const objs = await Promise.all([pool.get(), pool.get(), pool.get()]);
  for (const o of objs) pool.ret(o);
  const s = pool.stats();
  return {
    name: "pool outliving its request (start)",
    value: `nobjs ${s.nobjs}, hkRounds ${s.hkRounds}`,
  };
}

async function lifetimeCheck(): Promise<Note> {
  const pool = lifetimePool;
  if (pool === undefined) {
    return { name: "pool outliving its request", value: "not started" };
  }
  const before = pool.stats();
  // a later request: idle objects above minSize are past maxAvailDelay
  await sleep(100);
  const o = await pool.get();
  pool.ret(o);
  const after = pool.stats();
  await pool.shutdown();
  lifetimePool = undefined;
  return {
    name: "pool outliving its request",
    ok: after.nobjs === 1 && after.hkRounds > before.hkRounds &&
      after.nrecycled === 2,
    value: `in a later request: nobjs ${before.nobjs} → ${after.nobjs} ` +
      `(minSize 1), hkRounds ${before.hkRounds} → ${after.hkRounds}, ` +
      `nrecycled ${after.nrecycled}`,
  };
}

export default {
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    switch (url.pathname) {
      case "/env": {
        const id = setTimeout(() => {}, 0);
        clearTimeout(id);
        const node = ["process", "Buffer", "setImmediate"]
          .filter((name) => name in globalThis).join(", ");
        return json({
          name: "environment",
          value: `Node globals: ${node || "none"}; setTimeout returns ${
            typeof id === "object" && id !== null
              ? `${id.constructor.name} object`
              : typeof id
          }`,
        });
      }
      case "/global":
        return json({
          name: "pool with housekeeping at module scope",
          value: globalScope,
          ok: globalOk,
        });
      case "/shared/use":
      case "/shared/get":
      case "/shared/stats":
        return json(await sharedRoute(url));
      case "/keyed":
        return json(await keyedRoute(url));
      case "/lifetime/start":
        return json(await lifetimeStart());
      case "/lifetime/check":
        return json(await lifetimeCheck());
      case "/":
        return json(
          await runChecks(
            url.searchParams.get("runtime") ?? "workerd",
            url.searchParams.get("only") ?? undefined,
          ),
        );
      default:
        return new Response("not found", { status: 404 });
    }
  },
};
