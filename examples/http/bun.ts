// Bun: bun examples/http/bun.ts [port]
import { handle } from "./handler.ts";

declare const Bun: {
  serve(options: {
    port: number;
    hostname: string;
    fetch: (req: Request) => Promise<Response>;
  }): { port: number };
};
declare const process: { argv: string[] };

const server = Bun.serve({
  port: Number(process.argv[2] ?? 8000),
  hostname: "127.0.0.1",
  fetch: handle,
});
console.log(`Listening on http://127.0.0.1:${server.port}/`);
