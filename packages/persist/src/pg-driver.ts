/**
 * The `pg` driver, loaded on first use: a process that never opens a PostgreSQL store (persist's
 * consensus, environmentd's catalog) never loads it.
 */
import type { Pool } from "pg";

let poolClass: Promise<typeof Pool> | undefined;

/**
 * The `pg` driver's pool class, imported once. A failed import is forgotten, so the next call
 * tries again; the caller turns the error into its own typed one (it knows what was being opened).
 */
export async function loadPgPool(): Promise<typeof Pool> {
  poolClass ??= import("pg").then((m) => m.default.Pool);
  try {
    return await poolClass;
  } catch (e) {
    poolClass = undefined;
    throw e;
  }
}
