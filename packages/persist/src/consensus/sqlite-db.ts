/**
 * The SQLite consensus database, shared by the two threads that open it: `openConsensusDb`
 * (pragmas, schema check) and `applyWrites`, which commits a group of writes — compare-and-sets
 * and truncations, in the order they were issued — in ONE `BEGIN IMMEDIATE` transaction, so the
 * group costs one WAL fsync instead of one per write (group commit).
 *
 * ## Group semantics
 * Each write sees the ones before it in the group (same transaction), so a group gives exactly
 * the outcomes the writes would have had one at a time in that order: a compare-and-set whose
 * expected seqno is stale fails and the rest still commit; a truncation beyond the head is that
 * write's `RangeError` only. A failure of the store itself (I/O error, the write lock not granted
 * within `busy_timeout`) rolls the whole group back and fails every write in it with the same
 * store error: the callers see `StorageUnavailable`, whose contract is "outcome unknown".
 * Results are handed back only after `COMMIT` returned, i.e. after the fsync (`synchronous=FULL`):
 * a write is durable before its caller hears it committed.
 *
 * ## Head seqno polls
 * Idle listeners poll a shard's head seqno every `pollIntervalMs` (issue 16: at idle the compute
 * worker's most frequent query). `headSeqNo` remembers each shard's answer until the database
 * changes: `PRAGMA data_version` (~2 µs, against ~15–50 µs for the query) changes whenever
 * another connection — another thread's or process's — commits, and this connection's own commits
 * (`applyWrites`) forget the remembered heads. A poll of an unchanged database runs no query.
 */
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";

/** The consensus schema version written to `PRAGMA user_version`. */
export const SQLITE_CONSENSUS_SCHEMA_VERSION = 1;

export interface ConsensusDbOptions {
  readonly synchronous: "FULL" | "NORMAL";
  readonly busyTimeoutMs: number;
}

/** One write of a group; `seqNo`s are validated by the caller before it is queued. */
export type ConsensusWrite =
  | {
      readonly op: "cas";
      readonly key: string;
      readonly expected: bigint | undefined;
      readonly seqNo: bigint;
      readonly data: Uint8Array;
    }
  | { readonly op: "truncate"; readonly key: string; readonly seqNo: bigint };

/** A write's outcome: `cas` → committed?, `truncate` → rows deleted, or a per-write range error. */
export type WriteOutcome =
  | { readonly ok: true; readonly value: boolean | number }
  | { readonly ok: false; readonly range: string };

interface Row {
  seqno: bigint;
  data: Buffer;
}

/** An open consensus database with its prepared statements. */
export interface ConsensusDb {
  readonly db: Database.Database;
  head(key: string): Row | undefined;
  /** The head's seqno without its data. */
  headSeqNo(key: string): bigint | undefined;
  scan(key: string, from: bigint, limit: number): Row[];
  keys(): string[];
  /**
   * Commits `writes` in one transaction and returns their outcomes in order.
   * @throws the store's error (nothing of the group committed)
   */
  applyWrites(writes: readonly ConsensusWrite[]): WriteOutcome[];
  /**
   * `applyWrites` without waiting for the write lock: `undefined` (nothing committed) when another
   * connection holds it, instead of sitting in `busy_timeout` on this thread.
   * @throws the store's error (nothing of the group committed)
   */
  tryApplyWrites(writes: readonly ConsensusWrite[]): WriteOutcome[] | undefined;
}

/** Whether `e` is SQLite's "another connection holds the lock" (`SQLITE_BUSY` and its kinds). */
function isBusy(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === "string" && code.startsWith("SQLITE_BUSY");
}

/**
 * Opens `file` with the consensus pragmas. `schema: true` creates the table (the opening thread
 * does; a second connection of the same process only prepares statements).
 * @throws the driver's error; `{ newerVersion }` via the returned check when the schema is newer
 */
export function openConsensusDb(
  file: string,
  o: ConsensusDbOptions,
): { readonly db: Database.Database; readonly version: number } {
  mkdirSync(dirname(file), { recursive: true });
  const db = new Database(file);
  try {
    db.pragma(`busy_timeout = ${o.busyTimeoutMs}`);
    retryWhileBusy(o.busyTimeoutMs, () => db.pragma("journal_mode = WAL"));
    db.pragma(`synchronous = ${o.synchronous}`);
    db.pragma("journal_size_limit = 4194304");
    return { db, version: db.pragma("user_version", { simple: true }) as number };
  } catch (e) {
    db.close();
    throw e;
  }
}

/**
 * Runs `f` again while it fails with `SQLITE_BUSY`, sleeping 1 ms doubling to 25 ms between
 * attempts, for up to `busyTimeoutMs`; then throws the last error.
 *
 * For `journal_mode = WAL` on a file another connection is opening at the same moment: turning a
 * fresh (rollback-journal) file into WAL takes the exclusive lock without SQLite's busy handler,
 * so `busy_timeout` does not cover it and the second opener gets "database is locked" at once.
 * A replica's threads open the same file together at startup (its main thread, its compute and
 * storage workers): two threads opening a fresh file together failed in 2–7 % of tries here, and a
 * compute worker whose open failed stalled its first dataflow for good (CI: the one-port clusterd
 * test). The wait blocks the thread, as `busy_timeout` itself does; it only happens at open.
 */
function retryWhileBusy<T>(busyTimeoutMs: number, f: () => T): T {
  const deadline = performance.now() + busyTimeoutMs;
  let delayMs = 1;
  for (;;) {
    try {
      return f();
    } catch (e) {
      if (!isBusy(e) || performance.now() + delayMs > deadline) throw e;
    }
    Atomics.wait(SLEEP_CELL, 0, 0, delayMs);
    delayMs = Math.min(delayMs * 2, 25);
  }
}

/** A cell nobody notifies: `Atomics.wait` on it is a synchronous sleep. */
const SLEEP_CELL = new Int32Array(new SharedArrayBuffer(4));

/** Creates the table if needed and stamps the schema version (one immediate transaction). */
export function createConsensusSchema(db: Database.Database): void {
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
}

/** Prepares the consensus statements on an open database whose schema exists. */
export function prepareConsensusDb(db: Database.Database, busyTimeoutMs: number): ConsensusDb {
  const headStmt = db
    .prepare<[string], Row>(
      "SELECT seqno, data FROM consensus WHERE shard = ? ORDER BY seqno DESC LIMIT 1",
    )
    .safeIntegers(true);
  const headSeqNoStmt = db
    .prepare<[string], { seqno: bigint }>(
      "SELECT seqno FROM consensus WHERE shard = ? ORDER BY seqno DESC LIMIT 1",
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
  const dataVersionStmt = db.prepare<[], number>("PRAGMA data_version").pluck();
  /** Head seqnos read at `headsVersion` (undefined: the shard has no state). */
  const heads = new Map<string, bigint | undefined>();
  let headsVersion: number | undefined;
  const headSeqNo = (key: string): bigint | undefined => {
    const v = dataVersionStmt.get();
    if (v !== headsVersion) {
      heads.clear();
      headsVersion = v;
    } else if (heads.has(key)) return heads.get(key);
    const seqNo = headSeqNoStmt.get(key)?.seqno;
    heads.set(key, seqNo);
    return seqNo;
  };

  const one = (w: ConsensusWrite): WriteOutcome => {
    const head = headStmt.get(w.key)?.seqno;
    if (w.op === "cas") {
      if (head !== w.expected) return { ok: true, value: false };
      insertStmt.run(w.key, w.seqNo, w.data);
      return { ok: true, value: true };
    }
    if (head === undefined || w.seqNo > head)
      return {
        ok: false,
        range: `truncate(${w.key}, ${w.seqNo}) is beyond the head ${head ?? "(none)"}`,
      };
    return { ok: true, value: deleteStmt.run(w.key, w.seqNo).changes };
  };
  const group = db.transaction((writes: readonly ConsensusWrite[]) => writes.map(one));

  // `tryApplyWrites` switches the wait for the lock off and on around every group: prepared once.
  const noBusyWait = db.prepare("PRAGMA busy_timeout = 0");
  const busyWait = db.prepare(`PRAGMA busy_timeout = ${busyTimeoutMs}`);
  const applyWrites = (writes: readonly ConsensusWrite[]): WriteOutcome[] => {
    // Own commits do not change this connection's `data_version`.
    heads.clear();
    try {
      return group.immediate(writes);
    } finally {
      heads.clear();
    }
  };
  return {
    db,
    head: (key) => headStmt.get(key),
    headSeqNo,
    scan: (key, from, limit) => scanStmt.all(key, from, limit),
    keys: () => keysStmt.all().map((r) => r.shard),
    applyWrites,
    tryApplyWrites: (writes) => {
      // No wait for the lock on this attempt only: reads keep `busy_timeout` (in WAL mode they
      // rarely need it, but a reader during another connection's recovery does). A busy `BEGIN
      // IMMEDIATE`, statement or `COMMIT` leaves nothing committed: the transaction is rolled back.
      noBusyWait.get();
      try {
        return applyWrites(writes);
      } catch (e) {
        if (isBusy(e)) return undefined;
        throw e;
      } finally {
        busyWait.get();
      }
    },
  };
}
