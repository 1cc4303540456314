/**
 * A shard's state — the value stored in consensus — and its pure transitions.
 *
 * ## Invariants (checked by `checkState`, which every transition's output passes)
 * - `batches` are contiguous and in order: `batches[0].lower = 0`, each batch's upper is the
 *   next batch's lower, and the last batch's upper is the shard's `upper` (a shard with no
 *   batches has upper 0).
 * - Every batch has `lower < upper`; updates of an uncompacted batch lie in `[lower, upper)`.
 *   A compacted batch carries `since`: its updates' times were advanced to `since` (so they may
 *   lie at or beyond its upper) and it is only ever read as of times `>= since`.
 * - `since` is the meet (minimum) of the live readers' sinces when there are readers, never moves
 *   back, and is `<= upper` unless the shard is dropped.
 * - A dropped shard (tombstone) has `since = upper = EMPTY`, no batches and no readers.
 *
 * ## Reader leases
 * A reader whose `heartbeatMs + leaseMs < now` has lapsed. Every transition that writes the
 * readers anyway (registering, downgrading, `maintenance()`) drops the lapsed ones with
 * `expireLapsed`, so a dead reader stops holding the since as soon as anyone touches the shard —
 * not only when a maintenance timer gets to run (a process restarted more often than its timer
 * fires would otherwise never expire anything).
 *
 * The transitions return a new state (states are immutable values) or a typed error; they never
 * touch storage, so they are easy to test and safe to retry inside a compare-and-set loop.
 */
import { Frontier, invariant, type Timestamp } from "@mzts/repr";

/** Metadata of one batch: the data lives in the blob `key` (none for an empty batch). */
export interface BatchMeta {
  /** Blob key of the batch data; `null` when the batch has no updates. */
  readonly key: string | null;
  readonly lower: Timestamp;
  readonly upper: Frontier;
  /** Set on compacted batches: update times were advanced to this time. */
  readonly since?: Timestamp;
  /** Number of updates in the blob. */
  readonly count: number;
  /** Size of the blob in bytes. */
  readonly bytes: number;
}

/** A registered since handle. */
export interface ReaderState {
  /** The handle's since: it may read at any time `>= since`. */
  readonly since: Frontier;
  /** Wall-clock ms of the last downgrade/heartbeat; leases expire after `readerLeaseMs`. */
  readonly heartbeatMs: number;
}

/** The consensus value of one shard. */
export interface ShardState {
  readonly shardId: string;
  readonly upper: Frontier;
  readonly since: Frontier;
  readonly batches: readonly BatchMeta[];
  readonly readers: Readonly<Record<string, ReaderState>>;
  /** Wall-clock ms of creation. */
  readonly createdMs: number;
  /** True once `dropShard` finalized the shard. */
  readonly dropped: boolean;
}

/** The state of a freshly created shard: upper = since = 0, no batches, no readers. */
export function initialState(shardId: string, nowMs: number): ShardState {
  return {
    shardId,
    upper: 0n,
    since: 0n,
    batches: [],
    readers: {},
    createdMs: nowMs,
    dropped: false,
  };
}

/** The since implied by the readers: their meet, but never behind the current since. */
export function sinceFromReaders(current: Frontier, readers: ShardState["readers"]): Frontier {
  const ids = Object.keys(readers);
  if (ids.length === 0) return current;
  let meet: Frontier = Frontier.EMPTY;
  for (const id of ids) meet = Frontier.meet(meet, readers[id]!.since);
  return Frontier.join(current, meet);
}

/**
 * `state` without the readers whose lease lapsed at `nowMs` (except `keep`, the reader being
 * written), its since recomputed from the rest; `expired` names the dropped readers.
 */
export function expireLapsed(
  state: ShardState,
  nowMs: number,
  leaseMs: number,
  keep?: string,
): { state: ShardState; expired: string[] } {
  const expired = Object.keys(state.readers).filter(
    (r) => r !== keep && state.readers[r]!.heartbeatMs + leaseMs < nowMs,
  );
  if (expired.length === 0) return { state, expired };
  const readers = { ...state.readers };
  for (const r of expired) delete readers[r];
  return { state: { ...state, readers, since: sinceFromReaders(state.since, readers) }, expired };
}

/**
 * Appends a batch. `batch.lower` must equal the current upper (the caller checked). Consecutive
 * empty batches are merged into one so that frontier-only appends do not grow the state.
 */
export function withBatch(state: ShardState, batch: BatchMeta): ShardState {
  const last = state.batches[state.batches.length - 1];
  let batches: BatchMeta[];
  if (batch.key === null && last !== undefined && last.key === null && last.since === undefined) {
    batches = [...state.batches.slice(0, -1), { ...last, upper: batch.upper }];
  } else {
    batches = [...state.batches, batch];
  }
  return { ...state, upper: batch.upper, batches };
}

/** The leading batches that lie entirely below the since (`upper <= since`): compactable. */
export function compactablePrefix(state: ShardState): BatchMeta[] {
  const out: BatchMeta[] = [];
  for (const b of state.batches) {
    if (b.upper === null || !Frontier.lessEqual(b.upper, state.since)) break;
    out.push(b);
  }
  return out;
}

/**
 * Chooses the batches to merge next: a run of at least two compactable batches, or undefined.
 *
 * Size-tiered (logarithmic) merging, as in an LSM tree or differential dataflow's spine: start
 * at the newest compactable batch and extend the run leftward while the next batch is at most
 * twice the size (in bytes) of the run so far, up to `maxBatches`. A large old batch is thus
 * rewritten only when the newer data has grown comparable to it, so every update is rewritten
 * O(log n) times instead of at every compaction, and one step's work is bounded by the size of
 * the data it merges. Empty batches cost nothing and always join a run.
 */
export function planCompaction(state: ShardState, maxBatches: number): BatchMeta[] | undefined {
  return tieredRun(compactablePrefix(state), maxBatches);
}

/**
 * The batches beyond the compactable prefix (not entirely below the since): a reader still needs
 * their times, so they may be merged but not advanced.
 */
export function uncompactedTail(state: ShardState): readonly BatchMeta[] {
  return state.batches.slice(compactablePrefix(state).length);
}

/** A tail this long is merged (`planMerge`): how many `compactAfterBatches` it takes. */
export const MERGE_AFTER_FACTOR = 4;

/**
 * Chooses a run of the uncompacted tail to merge without advancing times (`planCompaction`'s
 * tiering), once the tail holds `MERGE_AFTER_FACTOR × compactAfterBatches` batches: a since
 * held back for long (a stalled subscribe, a slow reader) must not leave one blob per append.
 * The merged batch keeps every update's time, so it reads exactly like the run it replaces.
 */
export function planMerge(
  state: ShardState,
  maxBatches: number,
  compactAfterBatches: number,
): BatchMeta[] | undefined {
  const tail = uncompactedTail(state);
  if (tail.length < MERGE_AFTER_FACTOR * compactAfterBatches) return undefined;
  return tieredRun(tail, maxBatches);
}

/** Whether an append or downgrade that produced `state` should run a compaction step. */
export function wantsCompaction(state: ShardState, compactAfterBatches: number): boolean {
  return (
    compactablePrefix(state).length >= compactAfterBatches ||
    uncompactedTail(state).length >= MERGE_AFTER_FACTOR * compactAfterBatches
  );
}

/** The size-tiered run ending at the newest of `batches` (see `planCompaction`). */
function tieredRun(batches: readonly BatchMeta[], maxBatches: number): BatchMeta[] | undefined {
  let start = batches.length;
  let total = 0;
  while (start > 0 && batches.length - start < maxBatches) {
    const b = batches[start - 1]!;
    if (start < batches.length && b.bytes > 2 * Math.max(total, 1)) break;
    total += b.bytes;
    start--;
  }
  const run = batches.slice(start);
  return run.length >= 2 ? run : undefined;
}

/**
 * Replaces the batches `old` (a contiguous run, identified by blob key and bounds) with `merged`.
 * Returns undefined when the run is no longer present (another process compacted first).
 */
export function replaceBatches(
  state: ShardState,
  old: readonly BatchMeta[],
  merged: BatchMeta,
): ShardState | undefined {
  const first = old[0];
  if (first === undefined) return undefined;
  const at = state.batches.findIndex((b) => sameBatch(b, first));
  if (at < 0) return undefined;
  for (let i = 0; i < old.length; i++) {
    const b = state.batches[at + i];
    if (b === undefined || !sameBatch(b, old[i]!)) return undefined;
  }
  const batches = [...state.batches.slice(0, at), merged, ...state.batches.slice(at + old.length)];
  return { ...state, batches };
}

function sameBatch(a: BatchMeta, b: BatchMeta): boolean {
  return a.key === b.key && a.lower === b.lower && a.upper === b.upper && a.since === b.since;
}

/** The blob keys referenced by a state. */
export function referencedKeys(state: ShardState): Set<string> {
  const keys = new Set<string>();
  for (const b of state.batches) if (b.key !== null) keys.add(b.key);
  return keys;
}

/** Throws `InvariantViolation` when `state` breaks an invariant of this module. */
export function checkState(state: ShardState): void {
  if (state.dropped) {
    invariant(
      state.upper === null && state.since === null && state.batches.length === 0,
      `shard ${state.shardId}: a dropped shard must have empty frontiers and no batches`,
    );
    return;
  }
  let expectedLower: Frontier = 0n;
  for (const b of state.batches) {
    invariant(
      b.lower === expectedLower,
      () => `shard ${state.shardId}: batch lower ${b.lower} != ${Frontier.format(expectedLower)}`,
    );
    invariant(
      Frontier.lessThan(b.lower, b.upper),
      () => `shard ${state.shardId}: empty batch range [${b.lower}, ${Frontier.format(b.upper)})`,
    );
    expectedLower = b.upper;
  }
  invariant(
    Frontier.equal(expectedLower, state.upper),
    () =>
      `shard ${state.shardId}: batches end at ${Frontier.format(expectedLower)}, ` +
      `upper is ${Frontier.format(state.upper)}`,
  );
  invariant(
    Frontier.lessEqual(state.since, state.upper),
    () => `shard ${state.shardId}: since ${Frontier.format(state.since)} beyond the upper`,
  );
}
