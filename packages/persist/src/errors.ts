/**
 * Error classes of `@mzts/persist`: one root (`PersistError`) and a narrow class per failure.
 *
 * Every class carries a `name`, structured fields and a message that says what to do next.
 * Bad input (bounds, regressions, unknown ids) and storage faults (corrupt blobs, newer formats,
 * an unreachable consensus) are distinct classes so callers can react to each. Internal bugs are
 * not input errors: they throw `InvariantViolation` from `@mzts/repr`.
 */
import { Frontier, type Timestamp } from "@mzts/repr";

/** Root of every error thrown by `@mzts/persist`. */
export class PersistError extends Error {
  override name = "PersistError";
}

/** `compareAndAppend` found the shard's upper somewhere other than `expectedUpper`. */
export class UpperMismatch extends PersistError {
  override name = "UpperMismatch";
  constructor(
    readonly shardId: string,
    /** The upper the writer expected. */
    readonly expected: Frontier,
    /** The shard's upper when the append was attempted. */
    readonly current: Frontier,
  ) {
    super(
      `shard ${shardId}: expected upper ${Frontier.format(expected)} but the upper is ` +
        `${Frontier.format(current)}; another writer got there first — rebuild the batch from ` +
        "the current upper and retry, or drop it if those times are already written",
    );
  }
}

/** The bounds of a batch are invalid: the new upper is behind the expected upper. */
export class InvalidBatchBounds extends PersistError {
  override name = "InvalidBatchBounds";
  constructor(
    readonly shardId: string,
    readonly lower: Frontier,
    readonly upper: Frontier,
    readonly reason: string,
  ) {
    super(
      `shard ${shardId}: invalid batch bounds [${Frontier.format(lower)}, ` +
        `${Frontier.format(upper)}): ${reason}; pass newUpper >= expectedUpper (frontiers only advance)`,
    );
  }
}

/** An update's time lies outside the batch bounds `[lower, upper)`. */
export class TimeOutOfBounds extends PersistError {
  override name = "TimeOutOfBounds";
  constructor(
    readonly shardId: string,
    /** Index of the offending update in the input array. */
    readonly index: number,
    readonly time: Timestamp,
    readonly lower: Frontier,
    readonly upper: Frontier,
  ) {
    super(
      `shard ${shardId}: update #${index} has time ${time} outside the batch bounds ` +
        `[${Frontier.format(lower)}, ${Frontier.format(upper)}); every time must satisfy ` +
        "expectedUpper <= time < newUpper — raise newUpper or move the update to a later batch",
    );
  }
}

/** An update is malformed: not a `[row, time, diff]` triple of the right types. */
export class InvalidUpdate extends PersistError {
  override name = "InvalidUpdate";
  constructor(
    readonly shardId: string,
    readonly index: number,
    readonly reason: string,
  ) {
    super(
      `shard ${shardId}: update #${index} is invalid: ${reason}; an update is ` +
        "[row: Datum[], time: bigint in [0, 2^64), diff: safe integer]",
    );
  }
}

/** A read `as of` a time at or beyond the upper: those times are not final yet. */
export class SnapshotNotAvailable extends PersistError {
  override name = "SnapshotNotAvailable";
  constructor(
    readonly shardId: string,
    readonly asOf: Timestamp,
    readonly upper: Frontier,
  ) {
    super(
      `shard ${shardId}: cannot read as of ${asOf}, the upper is ${Frontier.format(upper)} ` +
        "(times >= upper may still change); read at upper - 1, or pass { wait: true } to wait " +
        "until the upper passes the as-of",
    );
  }
}

/** A read at a time below the since (those times may have been compacted away). */
export class SinceViolation extends PersistError {
  override name = "SinceViolation";
  constructor(
    readonly shardId: string,
    readonly time: Timestamp,
    readonly since: Frontier,
  ) {
    super(
      `shard ${shardId}: cannot read at ${time}, the since is ${Frontier.format(since)} ` +
        "(earlier times may be compacted); read at or after the since, and hold a since " +
        "handle at or below your read time to keep it readable",
    );
  }
}

/** A since handle was asked to move its since backward. */
export class SinceRegression extends PersistError {
  override name = "SinceRegression";
  constructor(
    readonly shardId: string,
    readonly readerId: string,
    readonly current: Frontier,
    readonly proposed: Frontier,
  ) {
    super(
      `shard ${shardId}: reader ${readerId} cannot move its since back from ` +
        `${Frontier.format(current)} to ${Frontier.format(proposed)}; the since only advances — ` +
        "downgrade to a frontier at or beyond the current one",
    );
  }
}

/** A since handle was asked to move its since beyond the shard's upper. */
export class SinceBeyondUpper extends PersistError {
  override name = "SinceBeyondUpper";
  constructor(
    readonly shardId: string,
    readonly readerId: string,
    readonly proposed: Frontier,
    readonly upper: Frontier,
  ) {
    super(
      `shard ${shardId}: reader ${readerId} cannot move its since to ` +
        `${Frontier.format(proposed)}, beyond the upper ${Frontier.format(upper)} (times not yet ` +
        "written would be compacted); downgrade to at most the upper, or expire the handle",
    );
  }
}

/** A since handle is no longer registered: it expired (explicitly or by lease timeout). */
export class ReaderExpired extends PersistError {
  override name = "ReaderExpired";
  constructor(
    readonly shardId: string,
    readonly readerId: string,
  ) {
    super(
      `shard ${shardId}: since handle ${readerId} has expired (explicitly or because its lease ` +
        "ran out); open a new since handle with openSinceHandle()",
    );
  }
}

/** A shard that does not exist was opened without `{ create: true }`. */
export class UnknownShard extends PersistError {
  override name = "UnknownShard";
  constructor(readonly shardId: string) {
    super(
      `unknown shard ${shardId}: it was never created; open it with { create: true } to create ` +
        "it, or check the shard id",
    );
  }
}

/** A dropped (finalized) shard was opened or written. */
export class ShardDropped extends PersistError {
  override name = "ShardDropped";
  constructor(readonly shardId: string) {
    super(
      `shard ${shardId} has been dropped and its data deleted; shard ids are never reused — ` +
        "create a shard with a new id",
    );
  }
}

/** A shard id (or blob key) that persist cannot store. */
export class InvalidShardId extends PersistError {
  override name = "InvalidShardId";
  constructor(readonly shardId: string) {
    super(
      `invalid shard id ${JSON.stringify(shardId)}: use 1-128 characters from [A-Za-z0-9._-], ` +
        "not starting with a dot",
    );
  }
}

/** Stored bytes fail their checksum or structure check; they are never read as data. */
export class CorruptBlob extends PersistError {
  override name = "CorruptBlob";
  constructor(
    /** The blob key (or `consensus:<shard>@<seqno>` for a state record). */
    readonly key: string,
    readonly reason: string,
  ) {
    super(
      `corrupt data in ${key}: ${reason}; the bytes were not used — restore the file from a ` +
        "backup or drop the shard",
    );
  }
}

/** A state record or blob was written by a newer persist format than this build supports. */
export class UnsupportedFormatVersion extends PersistError {
  override name = "UnsupportedFormatVersion";
  constructor(
    /** The blob key or consensus key. */
    readonly key: string,
    readonly what: "state" | "batch" | "consensus schema",
    readonly found: number,
    readonly supported: number,
  ) {
    super(
      `${key}: ${what} format version ${found} is newer than the supported version ` +
        `${supported}; upgrade @mzts/persist to read it (the data was not modified)`,
    );
  }
}

/** A consensus or blob operation failed (I/O, connection, timeout). The outcome may be unknown. */
export class StorageUnavailable extends PersistError {
  override name = "StorageUnavailable";
  constructor(
    readonly store: "consensus" | "blob",
    readonly operation: string,
    override readonly cause: unknown,
  ) {
    super(
      `${store} ${operation} failed: ${cause instanceof Error ? cause.message : String(cause)}; ` +
        "check the data directory or database, then retry (a write may or may not have " +
        "committed: re-read the upper before retrying an append)",
    );
  }
}

/** Compare-and-set kept losing to concurrent writers of the same shard. */
export class ContentionExceeded extends PersistError {
  override name = "ContentionExceeded";
  constructor(
    readonly shardId: string,
    readonly command: string,
    readonly attempts: number,
  ) {
    super(
      `shard ${shardId}: ${command} lost the compare-and-set race ${attempts} times in a row; ` +
        "reduce the number of concurrent writers of this shard, or retry later",
    );
  }
}

/** The client (or a handle) was used after `close()`. */
export class PersistClosed extends PersistError {
  override name = "PersistClosed";
  constructor(readonly what: string) {
    super(`${what} is closed; open a new client with createPersist()`);
  }
}

/**
 * The metrics registry handed to `createPersist` already holds persist's metrics: another persist
 * client registered them (prom-client allows each metric name once per registry).
 */
export class MetricsAlreadyRegistered extends PersistError {
  override name = "MetricsAlreadyRegistered";
  constructor(
    /** The first persist metric found already registered. */
    readonly metric: string,
    /** prom-client's error. */
    override readonly cause: unknown,
  ) {
    super(
      `persist metric ${metric} is already registered in this registry (another persist client ` +
        "uses it); open one persist client per registry and share it, or pass a fresh " +
        "registry: createPersist({ registry: new Registry() }) (the default)",
    );
  }
}

/** A wait (snapshot `{ wait: true }`) timed out or was aborted. */
export class WaitAborted extends PersistError {
  override name = "WaitAborted";
  constructor(
    readonly shardId: string,
    readonly reason: string,
  ) {
    super(`shard ${shardId}: wait aborted: ${reason}; retry, or read at an earlier time`);
  }
}
