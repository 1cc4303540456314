/**
 * An in-memory `Consensus` for unit tests and single-process experiments. Not durable: the
 * running system uses SQLite (`createSqliteConsensus`) or PostgreSQL (`createPostgresConsensus`).
 *
 * Every entry is copied on the way in and out so callers cannot mutate stored bytes.
 */
import { PersistClosed } from "../errors.js";
import { type Consensus, checkNextSeqNo, type SeqNo, type VersionedData } from "./consensus.js";

let counter = 0;

/** Creates an empty in-memory consensus (test helper; nothing is persisted). */
export function createMemoryConsensus(): Consensus {
  /** Per key, entries in ascending seqno order. Lives until the process exits. */
  const logs = new Map<string, VersionedData[]>();
  let closed = false;
  const location = `memory:${process.pid}:${++counter}`;
  const check = () => {
    if (closed) throw new PersistClosed(`consensus ${location}`);
  };
  const copy = (e: VersionedData): VersionedData => ({ seqNo: e.seqNo, data: e.data.slice() });
  return {
    location,
    async head(key) {
      check();
      const log = logs.get(key);
      const last = log?.[log.length - 1];
      return last === undefined ? undefined : copy(last);
    },
    async compareAndSet(key, expected, entry) {
      check();
      checkNextSeqNo(expected, entry.seqNo);
      const log = logs.get(key) ?? [];
      const head = log[log.length - 1]?.seqNo;
      if (head !== expected) return false;
      log.push(copy(entry));
      logs.set(key, log);
      return true;
    },
    async scan(key, from: SeqNo, limit) {
      check();
      return (logs.get(key) ?? [])
        .filter((e) => e.seqNo >= from)
        .slice(0, limit)
        .map(copy);
    },
    async truncate(key, seqNo) {
      check();
      const log = logs.get(key) ?? [];
      const head = log[log.length - 1]?.seqNo;
      if (head === undefined || seqNo > head) {
        throw new RangeError(`truncate(${key}, ${seqNo}) is beyond the head ${head ?? "(none)"}`);
      }
      const keep = log.filter((e) => e.seqNo >= seqNo);
      logs.set(key, keep);
      return log.length - keep.length;
    },
    async listKeys() {
      check();
      return [...logs.keys()].filter((k) => (logs.get(k)?.length ?? 0) > 0);
    },
    async close() {
      closed = true;
    },
  };
}
