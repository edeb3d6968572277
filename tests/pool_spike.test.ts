// HikariCP's spike test (issue 6): 50 tasks arrive at once at an empty pool
// whose creation takes 150 ms and whose work takes 2 ms. A pool that opens
// one connection per waiting task opens 50; maxCreating keeps it to a few.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Pool } from "../mod.ts";
import { withClock } from "./_helpers.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("Pool: spike of demand", () => {
  for (const maxCreating of [1, 2, 4]) {
    it(`opens a few objects, not 50 (maxCreating ${maxCreating})`, async () => {
      await withClock(async (clock) => {
        let opened = 0;
        const pool = new Pool<object>({
          fun: async () => {
            opened++;
            await sleep(150);
            return {};
          },
          minSize: 0,
          maxSize: 50,
          maxCreating,
        });
        let done = 0;
        const tasks = Array.from({ length: 50 }, () =>
          pool.use(async () => {
            await sleep(2);
            done++;
          }));
        await clock.tickAsync(1000);
        await Promise.all(tasks);
        assert.equal(done, 50);
        assert.ok(opened <= 2 * maxCreating, `opened ${opened}`);
        assert.equal(pool.stats().nwaits, 50);
        await pool.shutdown();
      });
    });
  }
});
