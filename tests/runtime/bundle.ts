// Bundles a reach entry (the workerd worker or the browser page script) with
// mod.ts, from the same sources, into one ES module, with esbuild (npm,
// pinned in package.json). The platform is "browser" with no externals, so
// a Node-only import (node:*) anywhere in mod.ts's import graph fails the
// build instead of slipping through.
//
//   node tests/runtime/bundle.ts workerd|browser OUTFILE

import { build } from "esbuild";
import { fileURLToPath } from "node:url";

/** The bundles the reach suite needs. */
export type Target = "workerd" | "browser";

const ENTRIES: Record<Target, string> = {
  workerd: "./workerd/worker.ts",
  browser: "./browser/entry.ts",
};

/**
 * Bundles `target`'s entry into `outfile` (an ES module, not minified, with
 * an inline source map for readable stack traces).
 *
 * @returns The warnings esbuild printed, if any.
 */
export async function bundle(
  target: Target,
  outfile: string,
): Promise<string[]> {
  const entry = fileURLToPath(new URL(ENTRIES[target], import.meta.url));
  const result = await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    format: "esm",
    platform: "browser",
    // keep modern syntax (await using, #private) as written: the runtimes
    // run it natively, and a runtime that cannot parse it must fail
    target: "esnext",
    conditions: target === "workerd" ? ["workerd", "worker"] : [],
    sourcemap: "inline",
    logLevel: "silent",
    write: true,
  });
  return result.warnings.map((w) => w.text);
}

if (import.meta.main) {
  const [target, outfile] = process.argv.slice(2);
  if ((target !== "workerd" && target !== "browser") || !outfile) {
    console.error(
      "usage: node tests/runtime/bundle.ts workerd|browser OUTFILE",
    );
    process.exit(2);
  }
  for (const w of await bundle(target, outfile)) console.warn(`warning: ${w}`);
  console.log(`bundled ${target} → ${outfile}`);
}
