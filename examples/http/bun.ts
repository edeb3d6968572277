// Bun: bun examples/http/bun.ts [port]
import { handle, onError } from "./handler.ts";

declare const Bun: {
  serve(options: {
    port: number;
    hostname: string;
    fetch: (req: Request) => Promise<Response>;
    error: (err: Error) => Response;
  }): { port: number };
};
declare const process: { argv: string[] };

const server = Bun.serve({
  port: Number(process.argv[2] ?? 8000),
  hostname: "127.0.0.1",
  fetch: handle,
  // a handler that throws (or rejects) is answered 500 and logged, not with
  // Bun's development error page, which shows the source
  error: onError,
});
console.log(`Listening on http://127.0.0.1:${server.port}/`);
