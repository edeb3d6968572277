// A per-host HTTP client: keep-alive sockets pooled by host, at most 2 per
// host and 4 in all, closed once a host has been idle for a while.
//
//   node examples/keyed/hosts.ts      (or deno run -A, or bun)
//
// It starts three local HTTP servers (the "hosts"), sends them 60 requests
// at once through the pool, and prints what the servers saw: the sockets
// open at once across hosts never exceed maxTotal, and each socket served
// many requests. HTTP/1.1 is spoken by hand over node:net (one request at a
// time per socket, responses with Content-Length), to show the socket
// itself being pooled.
import { createServer, type Server } from "node:http";
import { connect, type Socket } from "node:net";
import { KeyedPool } from "../../mod.ts";

/** One keep-alive connection to a host. */
export class Conn {
  readonly socket: Socket;
  #buffer = "";
  #waiting: ((text: string) => void) | undefined;
  #failed: ((err: Error) => void) | undefined;

  constructor(socket: Socket) {
    this.socket = socket;
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      this.#buffer += chunk;
      this.#deliver();
    });
    socket.on("close", () => this.#failed?.(new Error("connection closed")));
    socket.on("error", () => {}); // "close" follows
  }

  /** GET `path`; resolves with the body. One request at a time. */
  get(host: string, path: string): Promise<string> {
    return new Promise((resolve, reject) => {
      this.#waiting = resolve;
      this.#failed = reject;
      this.socket.write(
        `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: keep-alive\r\n\r\n`,
      );
    });
  }

  #deliver(): void {
    const end = this.#buffer.indexOf("\r\n\r\n");
    if (end === -1 || this.#waiting === undefined) return;
    const length = Number(
      /content-length: *(\d+)/i.exec(this.#buffer.slice(0, end))?.[1] ?? 0,
    );
    if (this.#buffer.length < end + 4 + length) return;
    const body = this.#buffer.slice(end + 4, end + 4 + length);
    this.#buffer = this.#buffer.slice(end + 4 + length);
    const resolve = this.#waiting;
    this.#waiting = this.#failed = undefined;
    resolve(body);
  }
}

/** Opens a socket to `host` ("127.0.0.1:8001"). */
function open(host: string, signal: AbortSignal): Promise<Conn> {
  const [hostname, port] = host.split(":");
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    const fail = (err: unknown) => {
      socket.destroy();
      reject(err);
    };
    signal.addEventListener("abort", () => fail(signal.reason));
    socket.once("error", fail);
    socket.once("connect", () => {
      socket.off("error", fail);
      resolve(new Conn(socket));
    });
  });
}

/** The pool: sockets per host, 2 per host, 4 in all. */
export function hostPool(): KeyedPool<string, Conn> {
  const pool: KeyedPool<string, Conn> = new KeyedPool<string, Conn>({
    fun: async (host, _n, signal) => {
      const conn = await open(host, signal);
      // a socket the server closes is never lent again
      conn.socket.once("close", () => pool.evict(conn));
      return conn;
    },
    // a socket counts toward maxTotal until it is closed: its closer ends
    // once the server hung up too
    closer: (conn) =>
      new Promise<void>((resolve) => {
        if (conn.socket.closed) return resolve();
        conn.socket.once("close", () => resolve());
        conn.socket.end();
      }),
    maxSize: 2, // per host
    maxTotal: 4, // across hosts
    keyIdleTimeout: 30_000, // a host idle this long: its sockets close
    createTimeout: 5000,
    timeout: 10_000,
  });
  return pool;
}

/** A local HTTP server that counts the sockets open on it. */
function host(
  name: string,
  seen: { open: number; peak: number; sockets: number },
): Promise<{ server: Server; host: string }> {
  const server = createServer((req, res) => {
    // a little work, so that requests overlap
    setTimeout(() => {
      const body = `${name} answers ${req.url}`;
      res.writeHead(200, { "content-length": Buffer.byteLength(body) });
      res.end(body);
    }, 5);
  });
  server.keepAliveTimeout = 60_000;
  server.on("connection", (socket) => {
    seen.sockets++;
    seen.peak = Math.max(seen.peak, ++seen.open);
    socket.on("close", () => void seen.open--);
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      resolve({ server, host: `127.0.0.1:${port}` });
    })
  );
}

/** Runs the example; resolves with what the servers and the pool saw. */
export async function main(requests = 60): Promise<{
  answered: number;
  peakSocketsAcrossHosts: number;
  socketsOpened: number;
  closedForRoom: number;
}> {
  const seen = { open: 0, peak: 0, sockets: 0 };
  const hosts = await Promise.all(
    ["alpha", "beta", "gamma"].map((name) => host(name, seen)),
  );
  const pool = hostPool();
  try {
    const answers = await Promise.all(
      Array.from({ length: requests }, (_, i) => {
        const { host } = hosts[i % hosts.length];
        return pool.use(host, (conn) => conn.get(host, `/item/${i}`));
      }),
    );
    const s = pool.stats();
    return {
      answered: answers.filter((a) => /answers \/item\//.test(a)).length,
      peakSocketsAcrossHosts: seen.peak,
      socketsOpened: seen.sockets,
      closedForRoom: s.nmadeRoom,
    };
  } finally {
    await pool.shutdown();
    for (const { server } of hosts) {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  }
}

if (import.meta.main) {
  const figures = await main();
  console.log(
    `${figures.answered} requests answered over 3 hosts; at most ${figures.peakSocketsAcrossHosts} sockets open at once across hosts (maxTotal 4), ${figures.socketsOpened} opened in all, ${figures.closedForRoom} closed to make room for another host`,
  );
}
