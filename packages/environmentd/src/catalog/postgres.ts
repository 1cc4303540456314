/**
 * PostgreSQL `Catalog` (optional, the same choice as persist's PostgreSQL consensus): the
 * tables of `sqlite.ts` in a schema of its own, reached through a `pg` pool.
 *
 * ## Fencing
 * - `boot()` is one statement, `UPDATE catalog_state SET generation = generation + 1
 *   RETURNING generation`: PostgreSQL's row lock serializes concurrent boots, so each gets a
 *   distinct generation.
 * - A mutation opens a transaction and first runs `SELECT generation, next_id … FOR UPDATE`:
 *   it holds the state row's lock until commit, so no boot (and no other mutation) can interleave
 *   between the generation check and the writes. A boot that committed first is seen by the
 *   `FOR UPDATE` (at READ COMMITTED it re-reads the newest row version after waiting), and the
 *   mutation fails with `StaleGeneration`; a boot that comes later waits for the commit.
 * - Reads run in a `REPEATABLE READ READ ONLY` transaction: one consistent snapshot.
 *
 * The schema version lives in `catalog_state.schema_version`; a newer one is refused with
 * `UnsupportedFormatVersion`, an older one is migrated (`migrations.ts`) under the advisory lock,
 * in the transaction that records the new one. The DDL runs under a transaction-scoped advisory lock so that
 * processes opening a fresh schema at once do not race on `CREATE … IF NOT EXISTS`.
 *
 * `pg` returns `int8` as strings; generations and ids are parsed as `bigint`. The driver is
 * imported on the first `openPostgresCatalog`, not with the package: a process on a SQLite
 * catalog (the default) never loads it.
 */

import { loadPgPool } from "@mzts/persist";
import type { Pool, PoolClient } from "pg";
import { type Catalog, type CatalogStore, catalogFromStore } from "./catalog.js";
import { CatalogState, checkGeneration, type StoredObjectRow } from "./catalog-state.js";
import {
  CatalogUnavailable,
  EnvironmentdError,
  StaleGeneration,
  UnsupportedFormatVersion,
} from "./errors.js";
import { CATALOG_SCHEMA_VERSION, migrateRows } from "./migrations.js";

/** The catalog schema version stored in `catalog_state.schema_version` (`migrations.ts`). */
export const POSTGRES_CATALOG_SCHEMA_VERSION = CATALOG_SCHEMA_VERSION;

export interface PostgresCatalogOptions {
  /** A connection URL, e.g. `postgres://user:password@host:5432/db`. */
  readonly url: string;
  /** Schema holding the tables (created if missing). Default `mz_catalog`. */
  readonly schema?: string;
  /** Maximum pool connections. Default 4. */
  readonly poolSize?: number;
  /** Called with errors of idle pool connections (which would otherwise crash the process). */
  readonly onIdleError?: (err: Error) => void;
}

const IDENT = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * The `pg` driver's pool class (persist's `loadPgPool`).
 * @throws CatalogUnavailable when the driver cannot be loaded (a failed load is retried next call)
 */
async function loadPool(location: string): Promise<typeof Pool> {
  try {
    return await loadPgPool();
  } catch (e) {
    throw new CatalogUnavailable(
      location,
      "load the PostgreSQL driver `pg` (reinstall @mzts/environmentd's dependencies)",
      e,
    );
  }
}

interface ObjectRow {
  id: string;
  kind: string;
  namespace: string;
  scope: string;
  name: string;
  format_version: number;
  body: string;
}

/**
 * Connects to PostgreSQL and creates the schema and tables if missing.
 * @throws CatalogUnavailable when the driver cannot be loaded, the server is unreachable or the
 * DDL fails, UnsupportedFormatVersion when the schema was written by a newer version, RangeError
 * for a schema name that is not a lowercase SQL identifier
 */
export async function openPostgresCatalog(options: PostgresCatalogOptions): Promise<Catalog> {
  const schema = options.schema ?? "mz_catalog";
  if (!IDENT.test(schema)) {
    throw new RangeError(
      `schema ${JSON.stringify(schema)} must match ${IDENT} (a lowercase SQL identifier)`,
    );
  }
  const state = `"${schema}".catalog_state`;
  const objects = `"${schema}".catalog_objects`;
  const location = `postgres:${safeUrl(options.url)}/${schema}`;
  const PgPool = await loadPool(location);
  const pool = new PgPool({ connectionString: options.url, max: options.poolSize ?? 4 });
  pool.on("error", (err) => options.onIdleError?.(err));

  /** Runs `f` in one transaction on one connection; rolls back on any throw. */
  async function transaction<T>(begin: string, f: (client: PoolClient) => Promise<T>): Promise<T> {
    const client = await pool.connect();
    try {
      await client.query(begin);
      const result = await f(client);
      await client.query("COMMIT");
      return result;
    } catch (e) {
      await client.query("ROLLBACK").catch(() => {});
      throw e;
    } finally {
      client.release();
    }
  }

  try {
    await transaction("BEGIN", async (c) => {
      await c.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`mzts_catalog:${schema}`]);
      await c.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
      await c.query(
        `CREATE TABLE IF NOT EXISTS ${state} (
           id int PRIMARY KEY CHECK (id = 1),
           generation bigint NOT NULL,
           next_id bigint NOT NULL,
           schema_version int NOT NULL
         )`,
      );
      await c.query(
        `INSERT INTO ${state} (id, generation, next_id, schema_version) VALUES (1, 0, 1, $1)
         ON CONFLICT (id) DO NOTHING`,
        [POSTGRES_CATALOG_SCHEMA_VERSION],
      );
      await c.query(
        `CREATE TABLE IF NOT EXISTS ${objects} (
           id text PRIMARY KEY,
           kind text NOT NULL,
           namespace text NOT NULL,
           scope text NOT NULL,
           name text NOT NULL,
           format_version int NOT NULL,
           body text NOT NULL,
           UNIQUE (namespace, scope, name)
         )`,
      );
      const v = await c.query<{ v: number }>(`SELECT schema_version AS v FROM ${state} FOR UPDATE`);
      const from = v.rows[0]?.v ?? POSTGRES_CATALOG_SCHEMA_VERSION;
      if (from < POSTGRES_CATALOG_SCHEMA_VERSION) {
        for (const r of migrateRows(from, await loadObjects(c))) {
          await c.query(`UPDATE ${objects} SET body = $1 WHERE id = $2`, [r.body, r.id]);
        }
        await c.query(`UPDATE ${state} SET schema_version = $1 WHERE id = 1`, [
          POSTGRES_CATALOG_SCHEMA_VERSION,
        ]);
      }
    });
  } catch (e) {
    await pool.end().catch(() => {});
    throw new CatalogUnavailable(location, "connect and create schema", e);
  }
  let version: number;
  try {
    const r = await pool.query<{ v: number }>(`SELECT schema_version AS v FROM ${state}`);
    version = r.rows[0]?.v ?? POSTGRES_CATALOG_SCHEMA_VERSION;
  } catch (e) {
    await pool.end().catch(() => {});
    throw new CatalogUnavailable(location, "read schema version", e);
  }
  if (version > POSTGRES_CATALOG_SCHEMA_VERSION) {
    await pool.end().catch(() => {});
    throw new UnsupportedFormatVersion(
      location,
      "catalog schema",
      version,
      POSTGRES_CATALOG_SCHEMA_VERSION,
    );
  }

  async function run<T>(op: string, f: () => Promise<T>): Promise<T> {
    try {
      return await f();
    } catch (e) {
      if (e instanceof EnvironmentdError || e instanceof StaleGeneration) throw e;
      throw new CatalogUnavailable(location, op, e);
    }
  }

  async function loadObjects(c: PoolClient): Promise<StoredObjectRow[]> {
    const r = await c.query<ObjectRow>(
      `SELECT id, kind, namespace, scope, name, format_version, body FROM ${objects}`,
    );
    return r.rows.map((x) => ({
      id: x.id,
      kind: x.kind,
      namespace: x.namespace,
      scope: x.scope,
      name: x.name,
      formatVersion: x.format_version,
      body: x.body,
    }));
  }

  async function readState(
    c: PoolClient,
    lock: boolean,
  ): Promise<{ generation: bigint; nextId: bigint }> {
    const r = await c.query<{ generation: string; next_id: string }>(
      `SELECT generation::text AS generation, next_id::text AS next_id FROM ${state}
       WHERE id = 1${lock ? " FOR UPDATE" : ""}`,
    );
    const row = r.rows[0];
    if (row === undefined) throw new Error("catalog_state row is missing");
    return { generation: BigInt(row.generation), nextId: BigInt(row.next_id) };
  }

  const store: CatalogStore = {
    location,
    boot: () =>
      run("boot", async () => {
        const r = await pool.query<{ generation: string }>(
          `UPDATE ${state} SET generation = generation + 1 WHERE id = 1
           RETURNING generation::text AS generation`,
        );
        const row = r.rows[0];
        if (row === undefined) throw new Error("catalog_state row is missing");
        return BigInt(row.generation);
      }),
    generation: () =>
      run("generation", async () => {
        const r = await pool.query<{ generation: string }>(
          `SELECT generation::text AS generation FROM ${state} WHERE id = 1`,
        );
        const row = r.rows[0];
        if (row === undefined) throw new Error("catalog_state row is missing");
        return BigInt(row.generation);
      }),
    read: (f) =>
      run("read", () =>
        transaction("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", async (c) => {
          const s = await readState(c, false);
          return f(new CatalogState(s.generation, s.nextId, await loadObjects(c)));
        }),
      ),
    mutate: (op, generation, f) =>
      run(op, () =>
        transaction("BEGIN", async (c) => {
          const s = await readState(c, true);
          checkGeneration(op, generation, s.generation);
          const st = new CatalogState(s.generation, s.nextId, await loadObjects(c));
          const result = f(st);
          if (st.deleted.length > 0) {
            await c.query(`DELETE FROM ${objects} WHERE id = ANY($1::text[])`, [st.deleted]);
          }
          for (const r of st.inserted) {
            await c.query(
              `INSERT INTO ${objects} (id, kind, namespace, scope, name, format_version, body)
               VALUES ($1, $2, $3, $4, $5, $6, $7)`,
              [r.id, r.kind, r.namespace, r.scope, r.name, r.formatVersion, r.body],
            );
          }
          await c.query(`UPDATE ${state} SET next_id = $1::bigint WHERE id = 1`, [
            st.nextId.toString(),
          ]);
          return result;
        }),
      ),
    async close() {
      await pool.end();
    },
  };
  return catalogFromStore(store);
}

/** host:port/database of a connection URL, without credentials. */
function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || "5432"}${u.pathname}`;
  } catch {
    return "(unparsable url)";
  }
}
