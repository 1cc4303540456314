/**
 * PostgreSQL `Consensus` (scale-out): one table `(shard text, seqno bigint, data bytea)` with the
 * primary key `(shard, seqno)`, reached through a `pg` connection pool.
 *
 * ## Compare-and-set
 * One statement, as Materialize's `PostgresConsensus` does:
 * `INSERT … SELECT $key, $seqno, $data WHERE (SELECT max(seqno) …) = $expected
 *  ON CONFLICT DO NOTHING`. The new seqno is always `expected + 1`, so two writers racing from
 * the same head insert the same primary key: PostgreSQL serializes them on the unique index and
 * exactly one row is inserted — the other gets `rowCount = 0`, i.e. a mismatch. For a new key
 * (`expected` undefined) the condition is `NOT EXISTS (… WHERE shard = $key)`, and the same
 * primary-key argument applies to seqno 1. This is safe at READ COMMITTED.
 *
 * Durability is PostgreSQL's: a commit returns after its WAL record is flushed (the default
 * `synchronous_commit = on`).
 *
 * `pg` returns `int8` as strings; seqnos are selected as text under another alias (`seq`: an
 * alias named `seqno` would make `ORDER BY seqno` sort the text!) and parsed as `bigint`.
 *
 * `pg` is imported on the first `createPostgresConsensus` call, not with the package: a process
 * whose stores are SQLite (every replica, most tests) never loads the driver (`pg-loading.test.ts`).
 */
import type { Pool } from "pg";
import { PersistClosed, StorageUnavailable } from "../errors.js";
import { loadPgPool } from "../pg-driver.js";
import { type Consensus, checkNextSeqNo, type VersionedData } from "./consensus.js";

export interface PostgresConsensusOptions {
  /** Schema holding the table (created if missing). Default `public`. */
  readonly schema?: string;
  /** Table name (created if missing). Default `mz_persist_consensus`. */
  readonly table?: string;
  /** Maximum pool connections. Default 4. */
  readonly poolSize?: number;
  /** Called with errors of idle pool connections (which would otherwise crash the process). */
  readonly onIdleError?: (err: Error) => void;
}

const IDENT = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * The `pg` driver's pool class (`loadPgPool`).
 * @throws StorageUnavailable when the driver cannot be loaded (a failed load is retried next call)
 */
async function loadPool(location: string): Promise<typeof Pool> {
  try {
    return await loadPgPool();
  } catch (e) {
    throw new StorageUnavailable(
      "consensus",
      `load the PostgreSQL driver \`pg\` for ${location} (reinstall @mzts/persist's dependencies)`,
      e,
    );
  }
}

/**
 * Connects to PostgreSQL at `url` and creates the schema and table if missing.
 * @throws StorageUnavailable when the server is unreachable or the DDL fails, RangeError for a
 * schema/table name that is not a lowercase SQL identifier
 */
export async function createPostgresConsensus(
  url: string,
  options: PostgresConsensusOptions = {},
): Promise<Consensus> {
  const schema = options.schema ?? "public";
  const table = options.table ?? "mz_persist_consensus";
  for (const [what, name] of [
    ["schema", schema],
    ["table", table],
  ] as const) {
    if (!IDENT.test(name)) {
      throw new RangeError(
        `${what} ${JSON.stringify(name)} must match ${IDENT} (lowercase SQL id)`,
      );
    }
  }
  const qualified = `"${schema}"."${table}"`;
  const parsed = safeUrl(url);
  const location = `postgres:${parsed}/${schema}.${table}`;
  const PgPool = await loadPool(location);
  const pool = new PgPool({ connectionString: url, max: options.poolSize ?? 4 });
  pool.on("error", (err) => options.onIdleError?.(err));
  try {
    await pool.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`).catch(ignoreDuplicate);
    await pool
      .query(
        `CREATE TABLE IF NOT EXISTS ${qualified} (
           shard text NOT NULL,
           seqno bigint NOT NULL,
           data bytea NOT NULL,
           PRIMARY KEY (shard, seqno)
         )`,
      )
      .catch(ignoreDuplicate);
  } catch (e) {
    await pool.end().catch(() => {});
    throw new StorageUnavailable("consensus", `connect to ${location}`, e);
  }

  let closed = false;
  async function run<T>(op: string, f: () => Promise<T>): Promise<T> {
    if (closed) throw new PersistClosed(`consensus ${location}`);
    try {
      return await f();
    } catch (e) {
      if (e instanceof RangeError) throw e;
      throw new StorageUnavailable("consensus", op, e);
    }
  }
  type Row = { seq: string; data: Buffer };
  const toEntry = (r: Row): VersionedData => ({
    seqNo: BigInt(r.seq),
    data: new Uint8Array(r.data.buffer, r.data.byteOffset, r.data.byteLength),
  });

  return {
    location,
    head: (key) =>
      run("head", async () => {
        const r = await pool.query<Row>(
          `SELECT seqno::text AS seq, data FROM ${qualified} WHERE shard = $1
           ORDER BY seqno DESC LIMIT 1`,
          [key],
        );
        const row = r.rows[0];
        return row === undefined ? undefined : toEntry(row);
      }),
    compareAndSet: (key, expected, entry) =>
      run("compareAndSet", async () => {
        checkNextSeqNo(expected, entry.seqNo);
        const data = Buffer.from(entry.data.buffer, entry.data.byteOffset, entry.data.byteLength);
        const r =
          expected === undefined
            ? await pool.query(
                `INSERT INTO ${qualified} (shard, seqno, data)
                 SELECT $1, $2::bigint, $3
                 WHERE NOT EXISTS (SELECT 1 FROM ${qualified} WHERE shard = $1)
                 ON CONFLICT DO NOTHING`,
                [key, entry.seqNo.toString(), data],
              )
            : await pool.query(
                `INSERT INTO ${qualified} (shard, seqno, data)
                 SELECT $1, $2::bigint, $3
                 WHERE (SELECT max(seqno) FROM ${qualified} WHERE shard = $1) = $4::bigint
                 ON CONFLICT DO NOTHING`,
                [key, entry.seqNo.toString(), data, expected.toString()],
              );
        return r.rowCount === 1;
      }),
    scan: (key, from, limit) =>
      run("scan", async () => {
        const r = await pool.query<Row>(
          `SELECT seqno::text AS seq, data FROM ${qualified}
           WHERE shard = $1 AND seqno >= $2::bigint ORDER BY seqno LIMIT $3`,
          [key, from.toString(), limit],
        );
        return r.rows.map(toEntry);
      }),
    truncate: (key, seqNo) =>
      run("truncate", async () => {
        const r = await pool.query<{ deleted: string; head: string | null }>(
          `WITH h AS (SELECT max(seqno) AS head FROM ${qualified} WHERE shard = $1),
                d AS (DELETE FROM ${qualified} WHERE shard = $1 AND seqno < $2::bigint
                        AND $2::bigint <= (SELECT head FROM h) RETURNING 1)
           SELECT (SELECT count(*) FROM d)::text AS deleted, (SELECT head FROM h)::text AS head`,
          [key, seqNo.toString()],
        );
        const row = r.rows[0];
        if (row === undefined || row.head === null || seqNo > BigInt(row.head)) {
          throw new RangeError(
            `truncate(${key}, ${seqNo}) is beyond the head ${row?.head ?? "(none)"}`,
          );
        }
        return Number(row.deleted);
      }),
    listKeys: () =>
      run("listKeys", async () => {
        const r = await pool.query<{ shard: string }>(`SELECT DISTINCT shard FROM ${qualified}`);
        return r.rows.map((x) => x.shard);
      }),
    async close() {
      if (closed) return;
      closed = true;
      await pool.end();
    },
  };
}

/** `CREATE … IF NOT EXISTS` can still race another creator on the catalog's unique indexes. */
function ignoreDuplicate(e: unknown): void {
  const code = (e as { code?: string }).code;
  if (code === "23505" || code === "42P06" || code === "42P07") return;
  throw e;
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
