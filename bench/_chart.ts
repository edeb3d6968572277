// The pool against its peers and the floors as an SVG chart (report.ts
// --svg): hand-written SVG, no dependency. A grid of small multiples, one
// row per case (uncontended, 100 and 10,000 tasks over 10 objects), one
// column per runtime; in each cell a horizontal bar per contender (floor,
// this pool, generic-pool, tarn) on one logarithmic scale of ns per
// operation shared by every cell, labelled with its time and its ratio to
// the floor. It has its own white background, so that it reads the same in
// GitHub's light and dark themes.

import type { Measured } from "./_table.ts";

/** One runtime's measured cases. */
export interface Panel {
  runtime: string;
  /** How many runs its figures are the median of. */
  runs: number;
  rows: Measured[];
}

/** The cases drawn, in order: their group's name starts with `prefix`. */
const CASES = [
  { prefix: "uncontended get/ret", title: ["uncontended", "get + give-back"] },
  { prefix: "100 tasks over", title: ["100 tasks", "over 10 objects"] },
  { prefix: "10,000 tasks over", title: ["10,000 tasks", "over 10 objects"] },
];

/** The contenders, in order, and how a case's name says which it is. */
const SERIES = [
  { label: "floor", color: "#9ca3af", is: (n: string) => n.endsWith("floor") },
  { label: "this pool", color: "#2563eb", is: (n: string) => n === "pool" },
  {
    label: "generic-pool 3.9",
    color: "#f59e0b",
    is: (n: string) => n === "generic-pool",
  },
  { label: "tarn 3.1", color: "#a855f7", is: (n: string) => n === "tarn" },
];

const FONT =
  "-apple-system, BlinkMacSystemFont, 'Segoe UI', Helvetica, Arial, sans-serif";

function esc(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(
    />/g,
    "&gt;",
  );
}

function ns(value: number): string {
  if (value >= 1e6) return `${(value / 1e6).toFixed(1)} ms`;
  if (value >= 1e4) return `${(value / 1e3).toFixed(1)} µs`;
  if (value >= 1e3) return `${(value / 1e3).toFixed(2)} µs`;
  if (value >= 100) return `${value.toFixed(0)} ns`;
  return `${value.toFixed(1)} ns`;
}

function ratio(x: number): string {
  return x >= 10 ? `${x.toFixed(0)}×` : `${x.toFixed(2)}×`;
}

/** The chart of `panels` (one column each) as SVG text. */
export function chart(panels: Panel[]): string {
  // geometry
  const left = 150; // row titles
  const top = 96; // title, legend, column headers
  const colWidth = 270;
  const barArea = 165; // the scale's width; labels go to its right
  const bar = 13;
  const gap = 5;
  const cellPad = 10;
  const rowHeight = cellPad * 2 + SERIES.length * bar +
    (SERIES.length - 1) * gap;
  const width = left + colWidth * panels.length + 20;
  const axis = 28;
  const height = top + rowHeight * CASES.length + axis + 24;

  // one log scale for every cell: whole decades around the data
  const values: number[] = [];
  for (const p of panels) {
    for (const r of p.rows) values.push(r.nsPerIter / r.c.ops);
  }
  const lo = Math.floor(Math.log10(Math.min(...values, 100)));
  const hi = Math.ceil(Math.log10(Math.max(...values, 1000)));
  const x = (v: number) =>
    (Math.log10(Math.max(v, 10 ** lo)) - lo) / (hi - lo) * barArea;

  const out: string[] = [];
  const push = (s: string) => out.push(s);
  push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="${FONT}" role="img" aria-labelledby="title">`,
  );
  push(
    `<title id="title">Time per borrow: this pool against the floor, generic-pool and tarn</title>`,
  );
  push(
    `<rect width="${width}" height="${height}" rx="8" fill="#ffffff" stroke="#d0d7de"/>`,
  );
  push(
    `<text x="20" y="30" font-size="16" font-weight="600" fill="#1f2328">Time per borrow (get, await, give back): lower is better</text>`,
  );
  const runs = [...new Set(panels.map((p) => p.runs))];
  push(
    `<text x="20" y="50" font-size="12" fill="#57606a">ns per operation, log scale; labels: time and × the floor (the least the job can take). Median of ${
      runs.join("/")
    } run${runs.length === 1 && runs[0] === 1 ? "" : "s"}, mitata.</text>`,
  );
  // legend
  let lx = 20;
  for (const s of SERIES) {
    push(
      `<rect x="${lx}" y="62" width="12" height="12" rx="2" fill="${s.color}"/>`,
    );
    push(
      `<text x="${lx + 17}" y="72" font-size="12" fill="#1f2328">${
        esc(s.label)
      }</text>`,
    );
    lx += 17 + s.label.length * 6.4 + 24;
  }

  panels.forEach((p, col) => {
    const x0 = left + col * colWidth;
    push(
      `<text x="${x0}" y="${
        top - 8
      }" font-size="13" font-weight="600" fill="#1f2328">${
        esc(p.runtime.replace(/ v(\d)/, " $1"))
      }</text>`,
    );
    // decade gridlines and the axis below the last row
    for (let d = lo; d <= hi; d++) {
      const gx = x0 + x(10 ** d);
      push(
        `<line x1="${gx}" y1="${top}" x2="${gx}" y2="${
          top + rowHeight * CASES.length
        }" stroke="#eaeef2"/>`,
      );
      push(
        `<text x="${gx}" y="${
          top + rowHeight * CASES.length + 16
        }" font-size="10" fill="#57606a" text-anchor="middle">${
          ns(10 ** d).replace(".0 ", " ").replace(".00 ", " ")
        }</text>`,
      );
    }
  });

  CASES.forEach((k, row) => {
    const y0 = top + row * rowHeight;
    if (row > 0) {
      push(
        `<line x1="20" y1="${y0}" x2="${
          width - 20
        }" y2="${y0}" stroke="#d0d7de"/>`,
      );
    }
    push(
      `<text x="20" y="${
        y0 + rowHeight / 2 - 3
      }" font-size="13" font-weight="600" fill="#1f2328">${
        esc(k.title[0])
      }</text>`,
    );
    push(
      `<text x="20" y="${
        y0 + rowHeight / 2 + 13
      }" font-size="12" fill="#57606a">${esc(k.title[1])}</text>`,
    );
    panels.forEach((p, col) => {
      const x0 = left + col * colWidth;
      const inCase = p.rows.filter((r) => r.c.group.startsWith(k.prefix));
      const floor = inCase.find((r) => SERIES[0].is(r.c.name));
      const floorNs = floor === undefined
        ? undefined
        : floor.nsPerIter / floor.c.ops;
      SERIES.forEach((s, i) => {
        const y = y0 + cellPad + i * (bar + gap);
        const r = inCase.find((m) => s.is(m.c.name));
        if (r === undefined) {
          push(
            `<text x="${x0}" y="${
              y + bar - 3
            }" font-size="10" fill="#8c959f">not measured</text>`,
          );
          return;
        }
        const v = r.nsPerIter / r.c.ops;
        const w = Math.max(2, x(v));
        const times = i === 0 || floorNs === undefined
          ? ""
          : ` · ${ratio(r.ratio ?? v / floorNs)}`;
        push(
          `<rect x="${x0}" y="${y}" width="${
            w.toFixed(1)
          }" height="${bar}" rx="2" fill="${s.color}"><title>${
            esc(`${p.runtime}, ${r.c.group}: ${r.c.name}: ${ns(v)}${times}`)
          }</title></rect>`,
        );
        push(
          `<text x="${(x0 + w + 5).toFixed(1)}" y="${
            y + bar - 3
          }" font-size="10.5" fill="#1f2328"${
            i === 1 ? ' font-weight="600"' : ""
          }>${esc(`${ns(v)}${times}`)}</text>`,
        );
      });
    });
  });
  push("</svg>");
  return out.join("\n") + "\n";
}
