// main.ts: imports the app (which imports db, still empty), then
// initialises the database, then runs. Run: deno run examples/delayed-init/main.ts
import * as database from "./database.ts";
import { listUsers } from "./app.ts";
import type { ProxyError } from "../../mod.ts";

try {
  listUsers(); // too early: db is a proxy to nothing
} catch (err) {
  console.log(`before init: ${(err as ProxyError).message}`);
}
console.log("before init, db is", database.db); // Proxy(empty: call set(obj)…)

database.initApp({ url: "postgres://localhost/app" }); // delayed initialisation

console.log(`after init: ${listUsers()}`); // db now forwards to the Database
console.log("after init, db is", database.db); // Proxy(Database {})
