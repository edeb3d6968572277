// app.ts: imports `db` at start-up, long before it is initialised.
import { db } from "./database.ts";

export function listUsers(): string {
  return db.query("SELECT * FROM users");
}
