/**
 * SQLite `Catalog` (the embedded default, the same store choice as persist's consensus): one
 * database file under the data directory, safely shared by every process that opens it.
 *
 * ## Tables
 * - `catalog_state(id = 1, generation, next_id)`: one row; `generation` is the newest boot.
 * - `catalog_objects(id, kind, namespace, scope, name, format_version, body)` with
 *   `UNIQUE(namespace, scope, name)` (see `catalog-state.ts` for the row format).
 * - `PRAGMA user_version` holds the schema version; a newer one is refused with
 *   `UnsupportedFormatVersion`, an older one is migrated (`migrations.ts`) in the transaction
 *   that records the new one.
 *
 * ## Fencing and durability
 * Every boot and mutation runs in a `BEGIN IMMEDIATE` transaction, which takes SQLite's write
 * lock before reading: the generation check, the reads and the writes are one atomic step across
 * processes, and a boot waits for (or is waited on by) any concurrent mutation. As in persist:
 * `journal_mode=WAL` (readers never block the writer), `synchronous=FULL` (an acknowledged DDL
 * survives power loss), `busy_timeout` (wait for another process's lock instead of failing).
 * Reads run in a deferred transaction: one consistent snapshot.
 *
 * better-sqlite3 is synchronous: each call blocks the event loop for its duration (one fsync per
 * commit). DDL is rare, so that is the price of the simplest embedded store.
 */
import { mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import Database from "better-sqlite3";
import type { CatalogObject } from "./catalog.js";
import { type Catalog, type CatalogStore, catalogFromStore } from "./catalog.js";
import { CatalogState, checkGeneration, decodeRow, type StoredObjectRow } from "./catalog-state.js";
import {
  CatalogUnavailable,
  EnvironmentdError,
  StaleGeneration,
  UnsupportedFormatVersion,
} from "./errors.js";
import { CATALOG_SCHEMA_VERSION, migrateRows } from "./migrations.js";

/** The catalog schema version written to `PRAGMA user_version` (`migrations.ts`). */
export const SQLITE_CATALOG_SCHEMA_VERSION = CATALOG_SCHEMA_VERSION;

export interface SqliteCatalogOptions {
  /** The database file (created with its directory if missing), e.g. `<dataDir>/catalog.sqlite`. */
  readonly path: string;
  /** `FULL` (default: durable against power loss) or `NORMAL` (durable against process kill). */
  readonly synchronous?: "FULL" | "NORMAL";
  /** How long to wait for another process's write lock, in ms (default 10 000). */
  readonly busyTimeoutMs?: number;
}

interface StateRow {
  generation: bigint;
  next_id: bigint;
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
 * Opens (creating if needed) the SQLite catalog at `path`.
 * @throws CatalogUnavailable when the file cannot be opened or the schema created,
 * UnsupportedFormatVersion when it was written by a newer schema
 */
export function openSqliteCatalog(options: SqliteCatalogOptions): Catalog {
  const file = resolve(options.path);
  const location = `sqlite:${file}`;
  let db: Database.Database;
  try {
    mkdirSync(dirname(file), { recursive: true });
    db = new Database(file);
    db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 10_000}`);
    db.pragma("journal_mode = WAL");
    db.pragma(`synchronous = ${options.synchronous ?? "FULL"}`);
    db.pragma("journal_size_limit = 4194304");
  } catch (e) {
    throw new CatalogUnavailable(location, "open", e);
  }
  const version = db.pragma("user_version", { simple: true }) as number;
  if (version > SQLITE_CATALOG_SCHEMA_VERSION) {
    db.close();
    throw new UnsupportedFormatVersion(
      location,
      "catalog schema",
      version,
      SQLITE_CATALOG_SCHEMA_VERSION,
    );
  }
  try {
    db.transaction(() => {
      db.exec(
        `CREATE TABLE IF NOT EXISTS catalog_state (
           id INTEGER PRIMARY KEY CHECK (id = 1),
           generation INTEGER NOT NULL,
           next_id INTEGER NOT NULL
         );
         INSERT OR IGNORE INTO catalog_state (id, generation, next_id) VALUES (1, 0, 1);
         CREATE TABLE IF NOT EXISTS catalog_objects (
           id TEXT PRIMARY KEY,
           kind TEXT NOT NULL,
           namespace TEXT NOT NULL,
           scope TEXT NOT NULL,
           name TEXT NOT NULL,
           format_version INTEGER NOT NULL,
           body TEXT NOT NULL,
           UNIQUE (namespace, scope, name)
         ) WITHOUT ROWID;`,
      );
      // Re-read under the write lock: another process may have migrated meanwhile.
      const from = db.pragma("user_version", { simple: true }) as number;
      if (from < SQLITE_CATALOG_SCHEMA_VERSION) {
        const rows = db
          .prepare<[], ObjectRow>(
            "SELECT id, kind, namespace, scope, name, format_version, body FROM catalog_objects",
          )
          .all()
          .map((r) => ({ ...r, formatVersion: r.format_version }));
        const update = db.prepare<[string, string]>(
          "UPDATE catalog_objects SET body = ? WHERE id = ?",
        );
        for (const r of migrateRows(from, rows)) update.run(r.body, r.id);
      }
      db.pragma(`user_version = ${SQLITE_CATALOG_SCHEMA_VERSION}`);
    }).immediate();
  } catch (e) {
    db.close();
    throw new CatalogUnavailable(location, "create schema", e);
  }

  const stateStmt = db
    .prepare<[], StateRow>("SELECT generation, next_id FROM catalog_state WHERE id = 1")
    .safeIntegers(true);
  const bootStmt = db
    .prepare<[], { generation: bigint }>(
      "UPDATE catalog_state SET generation = generation + 1 WHERE id = 1 RETURNING generation",
    )
    .safeIntegers(true);
  const objectsStmt = db.prepare<[], ObjectRow>(
    "SELECT id, kind, namespace, scope, name, format_version, body FROM catalog_objects",
  );
  const insertStmt = db.prepare<[string, string, string, string, string, number, string]>(
    `INSERT INTO catalog_objects (id, kind, namespace, scope, name, format_version, body)
     VALUES (?, ?, ?, ?, ?, ?, ?)`,
  );
  const deleteStmt = db.prepare<[string]>("DELETE FROM catalog_objects WHERE id = ?");
  const nextIdStmt = db.prepare<[bigint]>("UPDATE catalog_state SET next_id = ? WHERE id = 1");

  // The objects as of this connection's last load or commit, and SQLite's `data_version` then:
  // it changes only when another connection commits, so while it holds, the decoded objects are
  // still the stored ones and a DDL skips reading and decoding every row (issue 16: creating
  // 1,000 indexes decoded the whole catalog per create, O(N²)). Dropped after any failure.
  let known:
    | { readonly dataVersion: number; readonly objects: Map<string, CatalogObject> }
    | undefined;
  const dataVersion = () => db.pragma("data_version", { simple: true }) as number;

  const load = (): CatalogState => {
    const s = stateStmt.get();
    if (s === undefined) throw new Error("catalog_state row is missing");
    const version = dataVersion();
    if (known !== undefined && known.dataVersion === version) {
      return new CatalogState(s.generation, s.next_id, known.objects);
    }
    known = undefined;
    const state = new CatalogState(s.generation, s.next_id, loadRows());
    known = { dataVersion: version, objects: state.objects() };
    return state;
  };

  const loadRows = (): StoredObjectRow[] => {
    return objectsStmt.all().map((r) => ({
      id: r.id,
      kind: r.kind,
      namespace: r.namespace,
      scope: r.scope,
      name: r.name,
      formatVersion: r.format_version,
      body: r.body,
    }));
  };

  /** Runs `f`, passing our typed errors through and wrapping the store's. */
  const run = <T>(op: string, f: () => T): Promise<T> => {
    try {
      return Promise.resolve(f());
    } catch (e) {
      if (e instanceof EnvironmentdError || e instanceof StaleGeneration) return Promise.reject(e);
      return Promise.reject(new CatalogUnavailable(location, op, e));
    }
  };

  const boot = db.transaction(() => {
    const r = bootStmt.get();
    if (r === undefined) throw new Error("catalog_state row is missing");
    return r.generation;
  });

  const store: CatalogStore = {
    location,
    boot: () => run("boot", () => boot.immediate()),
    generation: () =>
      run("generation", () => {
        const s = stateStmt.get();
        if (s === undefined) throw new Error("catalog_state row is missing");
        return s.generation;
      }),
    read: (f) => run("read", () => db.transaction(() => f(load())).deferred()),
    mutate: (op, generation, f) =>
      run(op, () => {
        let after: CatalogState | undefined;
        try {
          const result = db
            .transaction(() => {
              const s = stateStmt.get();
              if (s === undefined) throw new Error("catalog_state row is missing");
              checkGeneration(op, generation, s.generation);
              const state = load();
              const result = f(state);
              for (const id of state.deleted) deleteStmt.run(id);
              for (const r of state.inserted) {
                insertStmt.run(r.id, r.kind, r.namespace, r.scope, r.name, r.formatVersion, r.body);
              }
              nextIdStmt.run(state.nextId);
              after = state;
              return result;
            })
            .immediate();
          // Committed by this connection: `data_version` is unchanged, the objects are `after`'s
          // — the written ones as a load decodes them (the same fields, in the same order).
          if (after !== undefined && known !== undefined) {
            const objects = after.objects();
            for (const r of after.inserted) objects.set(r.id, decodeRow(r));
            known = { dataVersion: known.dataVersion, objects };
          }
          return result;
        } catch (e) {
          known = undefined;
          throw e;
        }
      }),
    async close() {
      db.close();
    },
  };
  return catalogFromStore(store);
}
