// Node: node examples/http/node.ts [port]
// node:http has no Request/Response, so this adapts them around the same
// handler. The connection goes back to the pool when handle() settles, that
// is once the Response is built and before it is written here; the bodies
// of this handler's responses are complete by then, so nothing uses the
// connection afterwards.
import {
  createServer,
  type IncomingMessage,
  type ServerResponse,
} from "node:http";
import process from "node:process";
import { handle, onError } from "./handler.ts";

async function send(res: ServerResponse, response: Response): Promise<void> {
  const body = await response.text();
  res.writeHead(response.status, Object.fromEntries(response.headers));
  res.end(body);
}

/**
 * The request listener. It never rejects: Node ends the process on an
 * unhandled rejection, so any failure (no connection within the pool's
 * timeout, a malformed Host header that makes `new Request()` throw…) is
 * answered 500 and the server goes on serving.
 */
export async function listener(
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  try {
    const response = await handle(
      new Request(`http://${req.headers.host ?? "localhost"}${req.url}`, {
        method: req.method,
      }),
    );
    await send(res, response);
  } catch (err) {
    try {
      if (res.headersSent) res.destroy(); // too late for a 500
      else await send(res, onError(err));
    } catch {
      res.destroy();
    }
  }
}

if (import.meta.main) {
  const port = Number(process.argv[2] ?? 8000);
  createServer(listener).listen(port, "127.0.0.1", () => {
    console.log(`Listening on http://127.0.0.1:${port}/`);
  });
}
