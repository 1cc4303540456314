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
 *   the write lock; writes run in a `BEGIN IMMEDIATE` transaction, so "read head, check, insert"
 *   is atomic across processes.
 * - `journal_size_limit` truncates the WAL after checkpoints so the file stays bounded.
 * - `PRAGMA user_version` holds the schema version; a newer one is refused with
 *   `UnsupportedFormatVersion`.
 *
 * ## Group commit, off the caller's thread
 * better-sqlite3 is synchronous, and a commit's fsync costs milliseconds. Writes
 * (`compareAndSet`, `truncate`) therefore go through a `ConsensusWriter` (`sqlite-writer.ts`):
 * concurrent writes commit as one transaction with one fsync, by default on a worker thread with
 * its own connection (`commit: "thread"`), inside worker threads on the calling thread once per
 * event-loop turn (`commit: "turn"`). Either way a write resolves only after its group's COMMIT
 * returned (durable, as above), and a group gives the outcomes the writes would have had one at a
 * time in issue order. Reads (`head`, `scan`, `listKeys`) stay synchronous on the caller's
 * connection (microseconds; WAL readers see every commit that returned before they started).
 */
import { resolve } from "node:path";
import { isMainThread } from "node:worker_threads";
import type Database from "better-sqlite3";
import { PersistClosed, StorageUnavailable, UnsupportedFormatVersion } from "../errors.js";
import { type Consensus, checkNextSeqNo } from "./consensus.js";
import {
  type ConsensusWrite,
  createConsensusSchema,
  openConsensusDb,
  prepareConsensusDb,
  SQLITE_CONSENSUS_SCHEMA_VERSION,
  type WriteOutcome,
} from "./sqlite-db.js";
import { type SqliteCommitMode, threadWriter, turnWriter } from "./sqlite-writer.js";

export { SQLITE_CONSENSUS_SCHEMA_VERSION } from "./sqlite-db.js";
export type { SqliteCommitMode } from "./sqlite-writer.js";

export interface SqliteConsensusOptions {
  /** `FULL` (default: durable against power loss) or `NORMAL` (durable against process kill). */
  readonly synchronous?: "FULL" | "NORMAL";
  /** How long to wait for another process's write lock, in ms (default 10 000). */
  readonly busyTimeoutMs?: number;
  /**
   * Where writes commit (grouped either way): `"thread"` a worker thread (default on the main
   * thread), `"turn"` the calling thread at the end of the event-loop turn (default in workers).
   */
  readonly commit?: SqliteCommitMode;
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
  const dbOptions = {
    synchronous: options.synchronous ?? "FULL",
    busyTimeoutMs: options.busyTimeoutMs ?? 10_000,
  } as const;
  let db: Database.Database;
  let version: number;
  try {
    ({ db, version } = openConsensusDb(file, dbOptions));
  } catch (e) {
    throw new StorageUnavailable("consensus", `open ${file}`, e);
  }
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
    createConsensusSchema(db);
  } catch (e) {
    db.close();
    throw new StorageUnavailable("consensus", `create schema in ${file}`, e);
  }
  const cdb = prepareConsensusDb(db, dbOptions.busyTimeoutMs);
  const mode = options.commit ?? (isMainThread ? "thread" : "turn");
  const writer =
    mode === "thread"
      ? threadWriter({ file, ...dbOptions })
      : turnWriter(cdb, dbOptions.busyTimeoutMs);

  let closed = false;
  const location = `sqlite:${file}`;
  function run<T>(op: string, f: () => T): Promise<T> {
    if (closed) return Promise.reject(new PersistClosed(`consensus ${location}`));
    try {
      return Promise.resolve(f());
    } catch (e) {
      return Promise.reject(new StorageUnavailable("consensus", op, e));
    }
  }
  async function write(op: string, w: ConsensusWrite): Promise<boolean | number> {
    if (closed) throw new PersistClosed(`consensus ${location}`);
    let outcome: WriteOutcome;
    try {
      outcome = await writer.write(w);
    } catch (e) {
      throw new StorageUnavailable("consensus", op, e);
    }
    if (!outcome.ok) throw new RangeError(outcome.range);
    return outcome.value;
  }
  const toEntry = (r: Row) => ({ seqNo: r.seqno, data: new Uint8Array(r.data) });

  return {
    location,
    head: (key) =>
      run("head", () => {
        const r = cdb.head(key);
        return r === undefined ? undefined : toEntry(r);
      }),
    headSeqNo: (key) => run("head", () => cdb.headSeqNo(key)),
    async compareAndSet(key, expected, entry) {
      checkNextSeqNo(expected, entry.seqNo);
      const w = { op: "cas", key, expected, seqNo: entry.seqNo, data: entry.data } as const;
      return (await write("compareAndSet", w)) as boolean;
    },
    truncate: async (key, seqNo) =>
      (await write("truncate", { op: "truncate", key, seqNo })) as number,
    scan: (key, from, limit) => run("scan", () => cdb.scan(key, from, limit).map(toEntry)),
    listKeys: () => run("listKeys", () => cdb.keys()),
    async close() {
      if (closed) return;
      closed = true;
      await writer.close();
      db.close();
    },
  };
}
