// A TCP forwarder that can put its upstream behind a network black hole, as
// a partition or a firewall dropping packets does: no reset ever comes,
// sockets stay open, every read waits. Only node:net, so that the same file
// runs on Deno, Bun and Node.
//
// The model, in TCP terms (what a real partition does when it heals before
// either side timed out):
// - While black-holed, nothing is delivered either way: bytes, ends (FIN)
//   and resets are held at the forwarder, in order, and both peers see a
//   silent network. Nothing is dropped: TCP never loses bytes silently, it
//   retransmits them, so dropping would corrupt the byte streams.
// - New connections are accepted but not connected upstream: the server
//   never hears of them, the client gets no answer. The client's TCP connect
//   itself completes (on loopback the kernel answers the SYN of a listening
//   socket; node:net cannot make it hang), so a client whose connect
//   includes a handshake, as PostgreSQL's startup does, hangs in connect()
//   until its own timeout: never refused.
// - heal() delivers what was held, in order, as TCP retransmissions do, and
//   forwarding resumes. A connection accepted during the black hole is
//   connected upstream then, as a retransmitted SYN would be, unless its
//   client gave up meanwhile (sent FIN or closed): that one is reset, since
//   the server never knew it.
//
// Counting: at the forwarder (client connections accepted, open, peak,
// connection attempts in flight), and, for clients that take their sockets
// from socket(), at the client side too: whether the client still holds
// the socket open. Only the client side can tell "closed" from "half
// closed and waiting for an answer that will not come" (both are one FIN
// on the wire), so socketsLeftOpen() uses it when sockets came from
// socket().
import { connect, createServer, type Server, Socket } from "node:net";

/** Where the forwarder sends its connections. */
export interface Upstream {
  host: string;
  port: number;
}

/** What the forwarder counts; see {@linkcode Blackhole.counts}. */
export interface BlackholeCounts {
  /** Whether the upstream is black-holed now. */
  holed: boolean;
  /** Client connections accepted so far. */
  accepted: number;
  /** Client connections whose socket at the forwarder is not closed yet. */
  open: number;
  /** Most of those at once. */
  peakOpen: number;
  /**
   * Connection attempts in flight: accepted, not answered yet by the
   * server (no byte delivered to the client), and the client still waits
   * (neither FIN nor close from it, and, for a socket from socket(), not
   * destroyed).
   */
  inFlight: number;
  /** Most attempts in flight at once, since start or resetPeaks(). */
  peakInFlight: number;
  /** Upstream sockets not closed yet. */
  upstreamOpen: number;
  /** Bytes held back by the black hole now, both ways. */
  heldBytes: number;
  /** Sockets handed out by socket(). */
  clientSockets: number;
  /** Those the client has not destroyed yet. */
  clientSocketsOpen: number;
}

/** One client connection and its upstream. */
interface Link {
  client: Socket;
  /** The client's port, to pair it with its socket from socket(). */
  clientPort: number | undefined;
  /** That socket, once paired. */
  clientSocket: Socket | undefined;
  upstream: Socket | undefined;
  upstreamConnected: boolean;
  /** Held for the upstream, and whether an end follows them. */
  toUpstream: Uint8Array[];
  toUpstreamEnd: boolean;
  /** Held for the client, and whether an end or a reset follows them. */
  toClient: Uint8Array[];
  toClientEnd: boolean;
  toClientReset: boolean;
  /** The client sent FIN, or its socket closed. */
  clientGone: boolean;
  clientClosed: boolean;
  upstreamClosed: boolean;
  /** A byte from the server reached the client. */
  answered: boolean;
}

/**
 * A TCP forwarder on a free loopback port, in front of `upstream`. Start it
 * with {@linkcode startBlackhole}.
 */
export class Blackhole {
  readonly host = "127.0.0.1";
  readonly port: number;
  readonly upstream: Upstream;
  readonly #server: Server;
  readonly #links = new Set<Link>();
  /** Sockets handed out by socket(), not closed yet. */
  readonly #sockets = new Set<Socket>();
  /**
   * Pairing a socket from socket() with its link, by port, whichever of
   * the client's connect and the forwarder's accept comes second: the ones
   * still waiting for their other half.
   */
  readonly #unpairedSockets = new Map<number, Socket>();
  readonly #unpairedLinks = new Map<number, Link>();
  #holed = false;
  #accepted = 0;
  #peakOpen = 0;
  #peakInFlight = 0;
  #clientSockets = 0;
  #closed = false;

  constructor(server: Server, port: number, upstream: Upstream) {
    this.#server = server;
    this.port = port;
    this.upstream = upstream;
    server.on("connection", (client: Socket) => this.#accept(client));
  }

  /** Whether the upstream is black-holed now. */
  get holed(): boolean {
    return this.#holed;
  }

  /**
   * A fresh, unconnected socket for a client to connect to this forwarder
   * (e.g. `pg`'s `stream` option), so that socketsLeftOpen() sees whether
   * the client still holds it.
   */
  socket(): Socket {
    const s = new Socket();
    this.#clientSockets++;
    this.#sockets.add(s);
    let port: number | undefined;
    s.once("connect", () => {
      port = s.localPort;
      if (port === undefined) return;
      const link = this.#unpairedLinks.get(port);
      if (link !== undefined) {
        this.#unpairedLinks.delete(port);
        link.clientSocket = s;
      } else this.#unpairedSockets.set(port, s);
    });
    s.once("close", () => {
      this.#sockets.delete(s);
      if (port !== undefined && this.#unpairedSockets.get(port) === s) {
        this.#unpairedSockets.delete(port);
      }
    });
    return s;
  }

  /** Stops delivering anything, both ways, for every connection. */
  blackhole(): void {
    this.#holed = true;
  }

  /** Delivers what was held, in order, and forwards again. */
  heal(): void {
    if (!this.#holed) return;
    this.#holed = false;
    for (const link of [...this.#links]) {
      if (link.upstream === undefined) {
        // accepted during the black hole: the server never knew it
        if (link.clientGone) {
          link.client.destroy();
          this.#forget(link);
        } else this.#connectUpstream(link);
      } else this.#flush(link);
    }
  }

  /** Restarts the peaks (e.g. at the start of a phase). */
  resetPeaks(): void {
    this.#peakOpen = this.#open();
    this.#peakInFlight = this.#inFlight();
  }

  /** What the forwarder counts now. */
  counts(): BlackholeCounts {
    let upstreamOpen = 0, heldBytes = 0;
    for (const link of this.#links) {
      if (link.upstream !== undefined && !link.upstreamClosed) upstreamOpen++;
      for (const b of link.toUpstream) heldBytes += b.byteLength;
      for (const b of link.toClient) heldBytes += b.byteLength;
    }
    return {
      holed: this.#holed,
      accepted: this.#accepted,
      open: this.#open(),
      peakOpen: this.#peakOpen,
      inFlight: this.#inFlight(),
      peakInFlight: this.#peakInFlight,
      upstreamOpen,
      heldBytes,
      clientSockets: this.#clientSockets,
      clientSocketsOpen: this.#clientSocketsOpen(),
    };
  }

  /**
   * Client sockets still open: those from socket() the client has not
   * destroyed when any were handed out (exact), else the client
   * connections whose socket at the forwarder is not closed (a client that
   * closed during the black hole counts until heal: its FIN is all the
   * forwarder sees).
   */
  socketsLeftOpen(): number {
    return this.#clientSockets !== 0 ? this.#clientSocketsOpen() : this.#open();
  }

  /** Destroys every socket (the clients' from socket() too) and stops listening. */
  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    this.#holed = false;
    for (const link of this.#links) {
      link.client.destroy();
      link.upstream?.destroy();
    }
    this.#links.clear();
    for (const s of this.#sockets) s.destroy();
    this.#sockets.clear();
    this.#unpairedSockets.clear();
    this.#unpairedLinks.clear();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }

  #open(): number {
    let n = 0;
    for (const link of this.#links) if (!link.clientClosed) n++;
    return n;
  }

  #clientSocketsOpen(): number {
    let n = 0;
    for (const s of this.#sockets) if (!s.destroyed) n++;
    return n;
  }

  #waiting(link: Link): boolean {
    // a destroyed socket is known at once; its FIN reaches the forwarder
    // a moment later
    return !link.answered && !link.clientGone &&
      link.clientSocket?.destroyed !== true;
  }

  #inFlight(): number {
    let n = 0;
    for (const link of this.#links) if (this.#waiting(link)) n++;
    return n;
  }

  #accept(client: Socket): void {
    if (this.#closed) {
      client.destroy();
      return;
    }
    this.#accepted++;
    const link: Link = {
      client,
      clientPort: client.remotePort,
      clientSocket: undefined,
      upstream: undefined,
      upstreamConnected: false,
      toUpstream: [],
      toUpstreamEnd: false,
      toClient: [],
      toClientEnd: false,
      toClientReset: false,
      clientGone: false,
      clientClosed: false,
      upstreamClosed: false,
      answered: false,
    };
    this.#links.add(link);
    if (link.clientPort !== undefined) {
      const s = this.#unpairedSockets.get(link.clientPort);
      if (s !== undefined) {
        this.#unpairedSockets.delete(link.clientPort);
        link.clientSocket = s;
      } else this.#unpairedLinks.set(link.clientPort, link);
    }
    client.setNoDelay(true);
    client.on("data", (b: Uint8Array) => {
      if (this.#holed || !link.upstreamConnected) link.toUpstream.push(b);
      else link.upstream!.write(b);
    });
    client.on("end", () => {
      link.clientGone = true;
      if (this.#holed || !link.upstreamConnected) link.toUpstreamEnd = true;
      else link.upstream!.end();
    });
    client.on("error", () => {});
    client.on("close", () => {
      link.clientGone = true;
      link.clientClosed = true;
      if (link.upstream === undefined) this.#forget(link);
      else if (!this.#holed && link.upstreamConnected) {
        link.upstream.end();
        if (link.upstreamClosed) this.#forget(link);
      } else link.toUpstreamEnd = true;
    });
    const open = this.#open();
    if (open > this.#peakOpen) this.#peakOpen = open;
    const inFlight = this.#inFlight();
    if (inFlight > this.#peakInFlight) this.#peakInFlight = inFlight;
    if (!this.#holed) this.#connectUpstream(link);
  }

  #connectUpstream(link: Link): void {
    const up = connect({
      host: this.upstream.host,
      port: this.upstream.port,
      allowHalfOpen: true,
    });
    link.upstream = up;
    up.setNoDelay(true);
    up.on("connect", () => {
      link.upstreamConnected = true;
      if (!this.#holed) this.#flush(link);
    });
    up.on("data", (b: Uint8Array) => {
      if (this.#holed) link.toClient.push(b);
      else this.#toClient(link, b);
    });
    up.on("end", () => {
      if (this.#holed) link.toClientEnd = true;
      else link.client.end();
    });
    up.on("error", () => {
      // a reset from the server (or a refused connect): passed on as a
      // reset, when the network lets it through
      if (this.#holed) link.toClientReset = true;
      else link.client.destroy();
    });
    up.on("close", () => {
      link.upstreamClosed = true;
      if (this.#holed) link.toClientEnd = true;
      else {
        link.client.end();
        if (link.clientClosed) this.#forget(link);
      }
    });
  }

  #toClient(link: Link, b: Uint8Array): void {
    link.answered = true;
    if (!link.clientClosed) link.client.write(b);
  }

  /** Delivers what `link` held, both ways. */
  #flush(link: Link): void {
    const up = link.upstream!;
    if (link.upstreamConnected) {
      for (const b of link.toUpstream.splice(0)) up.write(b);
      if (link.toUpstreamEnd) {
        link.toUpstreamEnd = false;
        up.end();
      }
    }
    for (const b of link.toClient.splice(0)) this.#toClient(link, b);
    if (link.toClientReset) {
      link.toClientReset = false;
      link.client.destroy();
    } else if (link.toClientEnd) {
      link.toClientEnd = false;
      link.client.end();
    }
    if (link.clientClosed && link.upstreamClosed) this.#forget(link);
  }

  #forget(link: Link): void {
    this.#links.delete(link);
    if (
      link.clientPort !== undefined &&
      this.#unpairedLinks.get(link.clientPort) === link
    ) this.#unpairedLinks.delete(link.clientPort);
  }
}

/**
 * Starts a forwarder on a free loopback port in front of `upstream`.
 *
 * @param upstream Where to forward (e.g. a PgServer's host and port).
 * @returns The running forwarder; close() it when done.
 */
export function startBlackhole(upstream: Upstream): Promise<Blackhole> {
  return new Promise((resolve, reject) => {
    const server = createServer({ allowHalfOpen: true });
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      server.off("error", reject);
      const addr = server.address();
      const port = typeof addr === "object" && addr !== null ? addr.port : 0;
      resolve(new Blackhole(server, port, upstream));
    });
  });
}
