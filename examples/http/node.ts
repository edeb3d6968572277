// Node: node examples/http/node.ts [port]
// node:http has no Request/Response, so this adapts them around the same
// handler; the connection goes back when the response has been written.
import { createServer } from "node:http";
import process from "node:process";
import { handle } from "./handler.ts";

const port = Number(process.argv[2] ?? 8000);
createServer(async (req, res) => {
  const response = await handle(
    new Request(`http://${req.headers.host ?? "localhost"}${req.url}`, {
      method: req.method,
    }),
  );
  res.writeHead(response.status, Object.fromEntries(response.headers));
  res.end(await response.text());
}).listen(port, "127.0.0.1", () => {
  console.log(`Listening on http://127.0.0.1:${port}/`);
});
