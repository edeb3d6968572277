// The Proxy benchmark cases (issue 5), in the format of _cases.ts, for the
// mitata runner on Bun and Node (proxy_bench.ts runs the same on Deno):
// direct vs proxied property read and method call against the proxy floor
// (a bare ES Proxy whose get trap forwards to a fixed object with one cached
// bound method), and entering/leaving a per-context scope.

import { Proxy } from "../mod.ts";
import { withContext } from "../context.ts";
import type { Case } from "./_cases.ts";

class Client {
  #secret = 1;
  value = 42;
  query(x: number): number {
    return x + this.#secret;
  }
}

const N = 1000;
let sink = 0;

/** Keeps results alive so that no loop is optimised away. */
export function proxySink(): number {
  return sink;
}

function floorOf(target: Client): Client {
  const method = target.query.bind(target);
  return new globalThis.Proxy({} as Client, {
    get(_t, prop) {
      if (prop === "query") return method;
      return (target as unknown as Record<PropertyKey, unknown>)[prop];
    },
  });
}

/** The Proxy cases. */
export function proxyCases(): Case[] {
  const direct = new Client();
  const floor = floorOf(new Client());
  const proxied = new Proxy<Client>({ obj: new Client() });
  const sync = (run: () => void) => async () => ({
    run() {
      run();
      return Promise.resolve();
    },
    close: () => Promise.resolve(),
  });
  return [
    {
      group: "proxy read (×1000)",
      name: "direct",
      ops: N,
      setup: sync(() => {
        for (let i = 0; i < N; i++) sink += direct.value;
      }),
    },
    {
      group: "proxy read (×1000)",
      name: "proxy floor",
      baseline: true,
      ops: N,
      setup: sync(() => {
        for (let i = 0; i < N; i++) sink += floor.value;
      }),
    },
    {
      group: "proxy read (×1000)",
      name: "Proxy (shared)",
      ops: N,
      setup: sync(() => {
        for (let i = 0; i < N; i++) sink += proxied.value;
      }),
    },
    {
      group: "proxy call (×1000)",
      name: "direct",
      ops: N,
      setup: sync(() => {
        for (let i = 0; i < N; i++) sink += direct.query(i);
      }),
    },
    {
      group: "proxy call (×1000)",
      name: "proxy floor",
      baseline: true,
      ops: N,
      setup: sync(() => {
        for (let i = 0; i < N; i++) sink += floor.query(i);
      }),
    },
    {
      group: "proxy call (×1000)",
      name: "Proxy (shared)",
      ops: N,
      setup: sync(() => {
        for (let i = 0; i < N; i++) sink += proxied.query(i);
      }),
    },
    {
      group: "per-context scope",
      name: "pool.use + call (no context)",
      baseline: true,
      ops: 1,
      setup() {
        const scoped = new Proxy<Client>({
          fun: () => new Client(),
          maxSize: 10,
        });
        return Promise.resolve({
          async run() {
            sink += await scoped._pool!.use((c) => c.query(1));
          },
          close: () => scoped._shutdown(),
        });
      },
    },
    {
      group: "per-context scope",
      name: "withContext + take + call",
      ops: 1,
      setup() {
        const scoped = new Proxy<Client>({
          fun: () => new Client(),
          maxSize: 10,
        });
        return Promise.resolve({
          async run() {
            sink += await withContext(() => scoped.query(1), {
              take: [scoped],
            });
          },
          close: () => scoped._shutdown(),
        });
      },
    },
  ];
}
