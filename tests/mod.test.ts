// mod.ts exports the public names of SPEC §2 (they must not drift), and
// every error class has its own name and the common base.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import * as mod from "../mod.ts";
import * as context from "../context.ts";

describe("mod.ts", () => {
  it("exports the public names", () => {
    for (
      const name of [
        "Pool",
        "Proxy",
        "PoolError",
        "TimeoutError",
        "ProxyError",
        "ProxyPatternPoolError",
        "CreationError",
        "OverloadError",
        "Lease",
        "KeyedPool",
        "ProxyContext",
        "POOL_OPTION_NAMES",
      ]
    ) {
      assert.ok(name in mod, `mod.ts does not export ${name}`);
    }
    for (const name of ["withContext", "inContext", "contextStore"]) {
      assert.ok(name in context, `context.ts does not export ${name}`);
    }
  });

  it("has errors with a name, a common base, and TimeoutError under PoolError", () => {
    const {
      CreationError,
      OverloadError,
      PoolError,
      ProxyError,
      ProxyPatternPoolError,
      TimeoutError,
    } = mod;
    for (
      const [Class, name] of [
        [PoolError, "PoolError"],
        [TimeoutError, "TimeoutError"],
        [ProxyError, "ProxyError"],
        [CreationError, "CreationError"],
        [OverloadError, "OverloadError"],
      ] as const
    ) {
      const err = new Class("m", { cause: 1 });
      assert.equal(err.name, name);
      assert.equal(err.cause, 1);
      assert.ok(err instanceof ProxyPatternPoolError);
      assert.ok(err instanceof Error);
    }
    assert.ok(new TimeoutError() instanceof PoolError);
    assert.ok(!(new ProxyError() instanceof PoolError));
  });

  it("uses only Web-standard APIs in the core (no node:, Deno., Bun.)", async () => {
    const fs = await import("node:fs");
    const seen = new Set<string>();
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      const url = new URL(`../${file}`, import.meta.url);
      const text = fs.readFileSync(url, "utf8");
      const code = text.replace(/\/\*[\s\S]*?\*\//g, "").replace(
        /\/\/.*$/gm,
        "",
      );
      assert.doesNotMatch(code, /from "node:|import\("node:|\bBun\./, file);
      assert.doesNotMatch(
        code.replace(/globalThis as \{ Deno\?[^}]*\}/g, ""),
        /(?<!["'])\bDeno\.(?!unrefTimer)/,
        file,
      );
      for (const m of code.matchAll(/from "\.\/([^"]+\.ts)"/g)) visit(m[1]);
    };
    visit("mod.ts");
    assert.ok(seen.has("pool.ts") && seen.has("proxy.ts"));
    assert.ok(!seen.has("context.ts"), "mod.ts must not pull in context.ts");
  });
});
