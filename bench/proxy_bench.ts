// Proxy overhead: direct access vs our Proxy vs the proxy floor (a bare ES
// Proxy whose get trap forwards to a fixed object with one cached bound
// method), and the cost of entering/leaving a per-context scope.
// Run: deno bench -A bench/proxy_bench.ts
import { Proxy } from "../mod.ts";
import { withContext } from "../context.ts";

class Client {
  #secret = 1;
  value = 42;
  query(x: number): number {
    return x + this.#secret;
  }
}

const direct = new Client();
const proxied = new Proxy<Client>({ obj: new Client() });

// the floor: nothing but forwarding
const floorTarget = new Client();
const floorMethod = floorTarget.query.bind(floorTarget);
const floor = new globalThis.Proxy({} as Client, {
  get(_t, prop) {
    if (prop === "query") return floorMethod;
    return (floorTarget as unknown as Record<PropertyKey, unknown>)[prop];
  },
});

const N = 1000;
let sink = 0;

Deno.bench({
  name: "read: direct",
  group: "read",
  n: 200_000,
  fn() {
    for (let i = 0; i < N; i++) sink += direct.value;
  },
});
Deno.bench({
  name: "read: proxy floor",
  group: "read",
  baseline: true,
  n: 200_000,
  fn() {
    for (let i = 0; i < N; i++) sink += floor.value;
  },
});
Deno.bench({
  name: "read: Proxy (shared)",
  group: "read",
  n: 200_000,
  fn() {
    for (let i = 0; i < N; i++) sink += proxied.value;
  },
});

Deno.bench({
  name: "call: direct",
  group: "call",
  n: 200_000,
  fn() {
    for (let i = 0; i < N; i++) sink += direct.query(i);
  },
});
Deno.bench({
  name: "call: proxy floor",
  group: "call",
  baseline: true,
  n: 200_000,
  fn() {
    for (let i = 0; i < N; i++) sink += floor.query(i);
  },
});
Deno.bench({
  name: "call: Proxy (shared)",
  group: "call",
  n: 200_000,
  fn() {
    for (let i = 0; i < N; i++) sink += proxied.query(i);
  },
});

// per-context scope: one context entry/exit, taking and giving back one
// pooled object, with one proxied call inside
const scoped = new Proxy<Client>({ fun: () => new Client(), maxSize: 10 });
Deno.bench({
  name: "context: withContext + take + call",
  group: "context",
  async fn() {
    sink += await withContext(() => scoped.query(1), { take: [scoped] });
  },
});
Deno.bench({
  name: "context: pool.use + call (no context)",
  group: "context",
  baseline: true,
  async fn() {
    sink += await scoped._pool!.use((c) => c.query(1));
  },
});

globalThis.addEventListener("unload", () => {
  if (sink === -1) console.log(sink);
});
