// Deno: deno run -A examples/http/deno.ts [port]
import { handle } from "./handler.ts";

const port = Number(Deno.args[0] ?? 8000);
Deno.serve({ port, hostname: "127.0.0.1" }, handle);
