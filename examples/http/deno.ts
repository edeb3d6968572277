// Deno: deno run -A examples/http/deno.ts [port]
import { handle, onError } from "./handler.ts";

const port = Number(Deno.args[0] ?? 8000);
// onError: a handler that throws (or rejects) is answered 500 and logged
Deno.serve({ port, hostname: "127.0.0.1", onError }, handle);
