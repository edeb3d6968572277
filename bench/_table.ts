// Time per operation, with ratios to each group's baseline, as a Markdown
// table: the same figures from `deno bench` (report.ts) and from mitata on
// Bun and Node (mitata.ts).

import type { Case } from "./_cases.ts";

/** One measured case: its mean time per iteration in nanoseconds. */
export interface Measured {
  c: Case;
  nsPerIter: number;
  /**
   * Its ratio to the group's baseline, when given (the median of the
   * ratios of several runs, each to the baseline of the same run); else
   * computed from `nsPerIter`.
   */
  ratio?: number;
}

function ns(value: number): string {
  if (value >= 1e6) return `${(value / 1e6).toFixed(2)} ms`;
  if (value >= 1e4) return `${(value / 1e3).toFixed(1)} µs`;
  if (value >= 100) return value.toFixed(0);
  return value.toFixed(1);
}

/** The Markdown table of time per operation and ratio to the baseline. */
export function table(runtime: string, rows: Measured[]): string {
  const lines = [
    `| group (${runtime}) | case | ns/op | × baseline |`,
    "| --- | --- | ---: | ---: |",
  ];
  const baselines = new Map<string, number>();
  for (const r of rows) {
    if (r.c.baseline) baselines.set(r.c.group, r.nsPerIter / r.c.ops);
  }
  for (const r of rows) {
    const perOp = r.nsPerIter / r.c.ops;
    const base = baselines.get(r.c.group);
    const x = r.ratio ?? (base === undefined ? undefined : perOp / base);
    const ratio = x === undefined ? "" : `${x.toFixed(2)}×`;
    lines.push(
      `| ${r.c.group} | ${r.c.name}${r.c.baseline ? " (baseline)" : ""} | ${
        ns(perOp)
      } | ${ratio} |`,
    );
  }
  return lines.join("\n");
}
