// database.ts: the shared database handle, exported before it exists.
// Every module can import `db` at start-up; it is set once the
// configuration is known (the original README's pattern).
import { Proxy } from "../../mod.ts";

export class Database {
  readonly #url: string;
  constructor(url: string) {
    this.#url = url;
  }
  query(sql: string): string {
    return `[${this.#url}] ${sql}`;
  }
}

/** db is a proxy to nothing until initApp runs. */
export const db = new Proxy<Database>();

export function initApp(config: { url: string }): void {
  db.setObj(new Database(config.url));
}
