// The request handler shared by the Deno, Bun and Node servers. Each request
// runs in its own async context: `conn` forwards to that request's own
// pooled connection, taken when the request starts and given back as soon
// as the handler settles (returns its Response, or throws), before the
// server writes the response. So the handler finishes every use of `conn`
// before it returns: a streamed body that still needs the connection must
// take one of its own (see the docs of withContext in ../../context.ts).
import { Proxy } from "../../mod.ts";
import { inContext } from "../../context.ts";

/** A stand-in for a database connection (swap in a real client). */
export class Connection {
  readonly id: number;
  busy = false;
  constructor(id: number) {
    this.id = id;
  }
  async query(sql: string): Promise<string> {
    if (this.busy) {
      throw new Error(`connection ${this.id} used by two requests at once`);
    }
    this.busy = true;
    await new Promise((r) => setTimeout(r, 1));
    this.busy = false;
    return `${sql} on connection ${this.id}`;
  }
}

/** One connection per request, from a pool of at most 10. */
export const conn = new Proxy<Connection>({
  fun: (n) => new Connection(n),
  maxSize: 10,
  timeout: 5000,
});

/** Answers GET / with a query result, GET /stats with the pool's stats. */
export const handle: (req: Request) => Promise<Response> = inContext(
  async (req: Request): Promise<Response> => {
    const url = new URL(req.url);
    if (url.pathname === "/stats") {
      return Response.json(conn._pool!.stats());
    }
    const answer = await conn.query("SELECT 1"); // this request's connection
    return new Response(`${answer}\n`);
  },
  { take: [conn] },
);

/**
 * The answer to a request whose handling failed (no connection within the
 * pool's timeout, a malformed URL or Host header…): logged, answered 500,
 * and the server goes on serving.
 */
export function onError(err: unknown): Response {
  console.error("request failed:", err);
  return new Response("Internal Server Error\n", {
    status: 500,
    headers: { "content-type": "text/plain; charset=utf-8" },
  });
}
