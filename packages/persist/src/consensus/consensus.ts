/**
 * The consensus interface: a linearizable log of versioned entries per key, with
 * compare-and-set on a sequence number (Materialize `Consensus`).
 *
 * ## Contract (checked by `src/testdata/consensus-contract.ts` against every implementation)
 * - `head(key)` returns the entry with the greatest seqno, or `undefined` if the key has none.
 * - `compareAndSet(key, expected, entry)` appends `entry` iff the current head seqno equals
 *   `expected` (`undefined` = the key has no entries). `entry.seqNo` must be `expected + 1`
 *   (`1n` for a new key); anything else is rejected with `RangeError` (a caller bug). Exactly one
 *   of several racing callers with the same `expected` commits.
 * - `scan(key, from, limit)` returns entries with `seqNo >= from`, ascending, at most `limit`.
 * - `truncate(key, seqNo)` deletes entries with `seqNo < seqNo` and returns how many were deleted;
 *   it refuses (`RangeError`) a seqno beyond the head, so the head is never deleted.
 * - `listKeys()` lists every key with at least one entry.
 * - Every method rejects with `StorageUnavailable` when the store itself fails.
 */

/** A sequence number: 1 for a key's first entry, +1 per committed compare-and-set. */
export type SeqNo = bigint;

/** One entry of a key's log. */
export interface VersionedData {
  readonly seqNo: SeqNo;
  readonly data: Uint8Array;
}

/** A linearizable compare-and-set store of versioned entries per key. */
export interface Consensus {
  /** Where the data lives, for logs and in-process wakeups (no secrets). */
  readonly location: string;
  /** The latest entry of `key`. @throws StorageUnavailable */
  head(key: string): Promise<VersionedData | undefined>;
  /**
   * The latest entry's seqno only (optional: a store that can read it without the data offers
   * it, so a poll of an unchanged key does not read its entry). @throws StorageUnavailable
   */
  headSeqNo?(key: string): Promise<SeqNo | undefined>;
  /**
   * Appends `entry` if the head's seqno is `expected`. Returns whether it committed.
   * @throws StorageUnavailable (outcome unknown), RangeError for a seqno that is not expected+1
   */
  compareAndSet(key: string, expected: SeqNo | undefined, entry: VersionedData): Promise<boolean>;
  /** Entries with `seqNo >= from`, ascending, at most `limit`. @throws StorageUnavailable */
  scan(key: string, from: SeqNo, limit: number): Promise<VersionedData[]>;
  /**
   * Deletes the entries below `seqNo`; returns how many were deleted.
   * @throws StorageUnavailable, RangeError when `seqNo` is beyond the head
   */
  truncate(key: string, seqNo: SeqNo): Promise<number>;
  /** Every key with at least one entry. @throws StorageUnavailable */
  listKeys(): Promise<string[]>;
  /** Releases connections; further calls reject. */
  close(): Promise<void>;
}

/** Throws `RangeError` unless `seqNo` is the successor of `expected`. */
export function checkNextSeqNo(expected: SeqNo | undefined, seqNo: SeqNo): void {
  const want = (expected ?? 0n) + 1n;
  if (seqNo !== want) {
    throw new RangeError(
      `compareAndSet: entry seqNo ${seqNo} must be expected + 1 = ${want}; this is a caller bug`,
    );
  }
}
