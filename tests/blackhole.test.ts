// The black-hole forwarder of tests/_blackhole.ts, in front of a tiny echo
// server: it forwards, holds everything while black-holed (a write gets no
// answer, a new connection no answer either), delivers on heal, counts the
// sockets and closes everything.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server, type Socket } from "node:net";
import { type Blackhole, startBlackhole } from "./_blackhole.ts";

/** An echo server on a free loopback port. */
function echoServer(): Promise<{ server: Server; port: number }> {
  return new Promise((resolve, reject) => {
    const server = createServer((s) => {
      s.on("error", () => {});
      s.pipe(s);
    });
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const addr = server.address();
      resolve({
        server,
        port: typeof addr === "object" && addr !== null ? addr.port : 0,
      });
    });
  });
}

/** A client connected through the forwarder, collecting what it receives. */
async function client(fwd: Blackhole): Promise<{ s: Socket; got: string[] }> {
  const s = fwd.socket();
  const got: string[] = [];
  s.on("data", (b: Uint8Array) => got.push(new TextDecoder().decode(b)));
  s.on("error", () => {});
  await new Promise<void>((resolve, reject) => {
    s.once("connect", resolve);
    s.once("error", reject);
    s.connect(fwd.port, fwd.host);
  });
  return { s, got };
}

/** Resolves once `cond()` holds (polled), or fails after `ms`. */
async function until(what: string, cond: () => boolean, ms = 5000) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("black-hole forwarder", () => {
  let echo: { server: Server; port: number };
  before(async () => {
    echo = await echoServer();
  });
  after(async () => {
    await new Promise((r) => echo.server.close(r));
  });

  it("forwards, holds everything while black-holed, delivers on heal, counts", async () => {
    const fwd = await startBlackhole({ host: "127.0.0.1", port: echo.port });
    try {
      const a = await client(fwd);
      a.s.write("ping");
      await until("the echo", () => a.got.join("") === "ping");
      assert.equal(fwd.counts().inFlight, 0, "answered: not in flight");

      fwd.blackhole();
      a.s.write("held");
      // a new connection during the black hole: accepted, never answered
      const b = await client(fwd);
      b.s.write("late");
      // a client that gives up during the black hole
      const c = await client(fwd);
      await until("three accepted", () => fwd.counts().accepted === 3);
      c.s.destroy();
      await sleep(200);
      assert.equal(a.got.join(""), "ping", "nothing delivered while holed");
      assert.deepEqual(b.got, []);
      assert.equal(a.s.destroyed, false, "no reset");
      assert.equal(b.s.destroyed, false, "no reset");
      let n = fwd.counts();
      assert.equal(n.holed, true);
      assert.equal(n.accepted, 3);
      assert.equal(n.peakOpen, 3);
      // c's FIN is all the forwarder sees: its socket there stays half open
      assert.equal(n.open, 3);
      assert.equal(n.clientSocketsOpen, 2, "c was destroyed by its client");
      assert.equal(fwd.socketsLeftOpen(), 2);
      assert.equal(n.inFlight, 1, "b waits for an answer");
      assert.equal(n.peakInFlight, 2, "b and c waited at once");
      assert.equal(n.upstreamOpen, 1, "only a reached the server");
      assert.ok(n.heldBytes >= "held".length + "late".length);

      fwd.heal();
      await until("the held echo", () => a.got.join("") === "pingheld");
      await until("b connected on heal", () => b.got.join("") === "late");
      await until("c forgotten", () => fwd.counts().open === 2);
      n = fwd.counts();
      assert.equal(n.holed, false);
      assert.equal(n.inFlight, 0);
      assert.equal(n.heldBytes, 0);
      assert.equal(n.upstreamOpen, 2);

      // ends go through once healed
      a.s.end();
      await until("a closed", () => a.s.destroyed && fwd.counts().open === 1);
      assert.equal(fwd.socketsLeftOpen(), 1);
      b.s.destroy();
      await until("all closed", () => fwd.counts().open === 0);
      n = fwd.counts();
      assert.equal(n.upstreamOpen, 0);
      assert.equal(n.clientSocketsOpen, 0);
      assert.equal(fwd.socketsLeftOpen(), 0);
    } finally {
      await fwd.close();
    }
  });

  it("holds a client's end while black-holed: the peer sees nothing", async () => {
    const fwd = await startBlackhole({ host: "127.0.0.1", port: echo.port });
    try {
      const a = await client(fwd);
      a.s.write("x");
      await until("the echo", () => a.got.join("") === "x");
      fwd.blackhole();
      // like a client's end(): FIN, then waits for the server's
      let ended = false;
      a.s.on("end", () => void (ended = true));
      a.s.end();
      await sleep(200);
      assert.equal(ended, false, "the server's end is held");
      assert.equal(fwd.counts().upstreamOpen, 1, "the server has not seen it");
      assert.equal(fwd.socketsLeftOpen(), 1, "the client still holds it");
      fwd.heal();
      await until("closed both ways", () => ended && fwd.counts().open === 0);
      assert.equal(fwd.counts().upstreamOpen, 0);
    } finally {
      await fwd.close();
    }
  });

  it("close() destroys every socket, held or not", async () => {
    const fwd = await startBlackhole({ host: "127.0.0.1", port: echo.port });
    const a = await client(fwd);
    fwd.blackhole();
    const b = await client(fwd);
    await until("two accepted", () => fwd.counts().accepted === 2);
    assert.equal(fwd.socketsLeftOpen(), 2);
    await fwd.close();
    assert.equal(a.s.destroyed, true);
    assert.equal(b.s.destroyed, true);
    assert.equal(fwd.counts().open, 0);
    assert.equal(fwd.socketsLeftOpen(), 0);
  });
});
