// `await using`: a lease gives its object back at the end of its scope
// (closed instead when marked broken, also when the scope throws), and a
// pool shuts down at the end of its own, after its leases.
//
// Kept apart because Node 22's V8 cannot parse `await using`: every other
// test file runs there too (scripts/test-all.sh, NODE22_SKIP).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { KeyedPool, Pool, PoolError } from "../mod.ts";
import { Backend, type Conn } from "./_helpers.ts";

describe("await using: leases", () => {
  it("gives a lease back at the end of an await using scope", async () => {
    const pool = new Pool({ fun: (n) => ({ n }) });
    {
      await using lease = await pool.lease();
      assert.equal(lease.obj.n, 0);
      assert.equal(pool.stats().nusing, 1);
    }
    assert.equal(pool.stats().nusing, 0);
    assert.equal(pool.stats().navail, 1);
    await pool.shutdown();
  });

  it("closes a lease marked broken", async () => {
    const b = new Backend();
    const pool = new Pool({ fun: b.fun, closer: b.closer });
    let conn: Conn;
    {
      await using lease = await pool.lease();
      conn = lease.obj;
      lease.markBroken();
    }
    assert.equal(conn.closed, 1);
    assert.equal(pool.stats().closedBy.broken, 1);
    const next = await pool.get();
    assert.notEqual(next, conn);
    pool.ret(next);
    await pool.shutdown();
  });

  it("a lease marked broken inside a throwing `await using` scope is closed", async () => {
    const b = new Backend();
    const pool = new Pool({ fun: b.fun, closer: b.closer });
    let conn: Conn | undefined;
    await assert.rejects(async () => {
      await using lease = await pool.lease();
      conn = lease.obj;
      try {
        throw new Error("protocol error");
      } catch (err) {
        lease.markBroken();
        throw err;
      }
    }, /protocol error/);
    assert.equal(conn!.closed, 1);
    const next = await pool.get();
    assert.notEqual(next, conn);
    pool.ret(next);
    await pool.shutdown();
  });
});

describe("await using: the pool", () => {
  it("`await using` shuts the pool down at the end of the scope", async () => {
    const b = new Backend();
    let seen: Pool<Conn> | undefined;
    {
      await using pool = new Pool({ fun: b.fun, closer: b.closer });
      seen = pool;
      await pool.use((c) => assert.equal(c.n, 0));
      assert.equal(b.created[0].closed, 0);
    }
    assert.equal(b.created[0].closed, 1);
    assert.equal(seen.stats().shutdown, true);
    await assert.rejects(seen.get(), PoolError);
  });

  it("`await using` shuts down even when the scope throws, after its leases", async () => {
    const b = new Backend();
    let seen: Pool<Conn> | undefined;
    await assert.rejects(async () => {
      await using pool = new Pool({ fun: b.fun, closer: b.closer });
      seen = pool;
      await using lease = await pool.lease();
      assert.equal(lease.obj.n, 0);
      throw new Error("scope failed");
    }, /scope failed/);
    // the lease went back first (reverse order), then the pool shut down
    assert.equal(b.created.length, 1);
    assert.equal(b.created[0].closed, 1);
    assert.equal(seen!.stats().shutdown, true);
    assert.equal(seen!.stats().closedBy.shutdown, 1);
  });
});

describe("await using: a keyed pool", () => {
  it("shuts every key down at the end of its scope, after a key's lease", async () => {
    const closed: string[] = [];
    let seen: KeyedPool<string, { key: string }> | undefined;
    {
      await using pool = new KeyedPool({
        fun: (key: string) => ({ key }),
        closer: (o) => void closed.push(o.key),
      });
      seen = pool;
      await pool.use("a", () => {});
      await using lease = await pool.lease("b");
      assert.equal(lease.obj.key, "b");
      assert.equal(pool.stats().total.nusing, 1);
    }
    assert.deepEqual(closed.sort(), ["a", "b"]);
    assert.equal(seen.stats().shutdown, true);
    await assert.rejects(seen.get("a"), PoolError);
  });
});
