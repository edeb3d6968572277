// The browser entry: runs every reach check once the page loads it and
// publishes the JSON report on globalThis.__reach for the runner to read.

import { type Report, runChecks } from "../checks.ts";

/** Where the page publishes its report (read by scripts/test-reach.ts). */
export interface ReachGlobal {
  __reach?: Report | { error: string };
}

const g = globalThis as ReachGlobal;
runChecks("chromium").then(
  (report) => void (g.__reach = report),
  (err) => void (g.__reach = { error: String(err) }),
);
