/**
 * SQLite `Consensus` (the embedded default): one table `consensus(shard, seqno, data)` in a
 * database file under the data directory, shared safely by every process that opens it.
 *
 * ## Durability and concurrency
 * - `journal_mode=WAL`: readers never block the writer and several processes share the file.
 * - `synchronous=FULL` (default): in WAL mode SQLite fsyncs the WAL at every commit, so an
 *   acknowledged compare-and-set survives `kill -9` *and* an OS crash or power loss. `NORMAL`
 *   (option) survives `kill -9` too — the committed frames are already in the OS page cache —
 *   but may roll back the last commits on power loss; we default to FULL so that "acknowledged"
 *   means the same thing for consensus as for blobs, which are fsynced before they are
 *   referenced.
 * - `busy_timeout` makes a process wait (instead of failing with SQLITE_BUSY) while another holds
 *   the write lock; compare-and-set runs in a `BEGIN IMMEDIATE` transaction, so "read head, check,
 *   insert" is atomic across processes.
 * - `journal_size_limit` truncates the WAL after checkpoints so the file stays bounded.
 * - `PRAGMA user_version` holds the schema version; a newer one is refused with
 *   `UnsupportedFormatVersion`.
 *
 * better-sqlite3 is synchronous: each call blocks the event loop for its duration (microseconds
 * for reads, one fsync for a commit). That is the price of the simplest embedded store.
 */
import { mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import Database from "better-sqlite3";
import { PersistClosed, StorageUnavailable, UnsupportedFormatVersion } from "../errors.js";
import { type Consensus, checkNextSeqNo, type SeqNo, type VersionedData } from "./consensus.js";

/** The consensus schema version written to `PRAGMA user_version`. */
export const SQLITE_CONSENSUS_SCHEMA_VERSION = 1;

export interface SqliteConsensusOptions {
  /** `FULL` (default: durable against power loss) or `NORMAL` (durable against process kill). */
  readonly synchronous?: "FULL" | "NORMAL";
  /** How long to wait for another process's write lock, in ms (default 10 000). */
  readonly busyTimeoutMs?: number;
}

interface Row {
  seqno: bigint;
  data: Buffer;
}

/**
 * Opens (creating if needed) the SQLite consensus database at `path`.
 * @throws StorageUnavailable when the file cannot be opened, UnsupportedFormatVersion when it was
 * written by a newer schema
 */
export function createSqliteConsensus(
  path: string,
  options: SqliteConsensusOptions = {},
): Consensus {
  const file = resolve(path);
  let db: Database.Database;
  try {
    mkdirSync(dirname(file), { recursive: true });
    db = new Database(file);
    db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 10_000}`);
    db.pragma("journal_mode = WAL");
    db.pragma(`synchronous = ${options.synchronous ?? "FULL"}`);
    db.pragma("journal_size_limit = 4194304");
  } catch (e) {
    throw new StorageUnavailable("consensus", `open ${file}`, e);
  }
  const version = db.pragma("user_version", { simple: true }) as number;
  if (version > SQLITE_CONSENSUS_SCHEMA_VERSION) {
    db.close();
    throw new UnsupportedFormatVersion(
      file,
      "consensus schema",
      version,
      SQLITE_CONSENSUS_SCHEMA_VERSION,
    );
  }
  try {
    db.transaction(() => {
      db.exec(
        `CREATE TABLE IF NOT EXISTS consensus (
           shard TEXT NOT NULL,
           seqno INTEGER NOT NULL,
           data BLOB NOT NULL,
           PRIMARY KEY (shard, seqno)
         ) WITHOUT ROWID`,
      );
      db.pragma(`user_version = ${SQLITE_CONSENSUS_SCHEMA_VERSION}`);
    }).immediate();
  } catch (e) {
    db.close();
    throw new StorageUnavailable("consensus", `create schema in ${file}`, e);
  }

  const headStmt = db
    .prepare<[string], Row>(
      "SELECT seqno, data FROM consensus WHERE shard = ? ORDER BY seqno DESC LIMIT 1",
    )
    .safeIntegers(true);
  const insertStmt = db.prepare<[string, bigint, Uint8Array]>(
    "INSERT INTO consensus (shard, seqno, data) VALUES (?, ?, ?)",
  );
  const scanStmt = db
    .prepare<[string, bigint, number], Row>(
      "SELECT seqno, data FROM consensus WHERE shard = ? AND seqno >= ? ORDER BY seqno LIMIT ?",
    )
    .safeIntegers(true);
  const deleteStmt = db.prepare<[string, bigint]>(
    "DELETE FROM consensus WHERE shard = ? AND seqno < ?",
  );
  const keysStmt = db.prepare<[], { shard: string }>("SELECT DISTINCT shard FROM consensus");

  const cas = db.transaction((key: string, expected: SeqNo | undefined, entry: VersionedData) => {
    const head = headStmt.get(key)?.seqno;
    if (head !== expected) return false;
    insertStmt.run(key, entry.seqNo, entry.data);
    return true;
  });
  const truncate = db.transaction((key: string, seqNo: SeqNo) => {
    const head = headStmt.get(key)?.seqno;
    if (head === undefined || seqNo > head) {
      throw new RangeError(`truncate(${key}, ${seqNo}) is beyond the head ${head ?? "(none)"}`);
    }
    return deleteStmt.run(key, seqNo).changes;
  });

  let closed = false;
  const location = `sqlite:${file}`;
  function run<T>(op: string, f: () => T): Promise<T> {
    if (closed) return Promise.reject(new PersistClosed(`consensus ${location}`));
    try {
      return Promise.resolve(f());
    } catch (e) {
      if (e instanceof RangeError) return Promise.reject(e);
      return Promise.reject(new StorageUnavailable("consensus", op, e));
    }
  }
  const toEntry = (r: Row): VersionedData => ({ seqNo: r.seqno, data: new Uint8Array(r.data) });

  return {
    location,
    head: (key) =>
      run("head", () => {
        const r = headStmt.get(key);
        return r === undefined ? undefined : toEntry(r);
      }),
    compareAndSet: (key, expected, entry) =>
      run("compareAndSet", () => {
        checkNextSeqNo(expected, entry.seqNo);
        return cas.immediate(key, expected, entry);
      }),
    scan: (key, from, limit) => run("scan", () => scanStmt.all(key, from, limit).map(toEntry)),
    truncate: (key, seqNo) => run("truncate", () => truncate.immediate(key, seqNo)),
    listKeys: () => run("listKeys", () => keysStmt.all().map((r) => r.shard)),
    async close() {
      if (closed) return;
      closed = true;
      db.close();
    },
  };
}
