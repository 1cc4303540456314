/**
 * Timestamp selection (design §5; Materialize's as-of selection and peek timestamp):
 * - **Dataflow as-of** (`selectAsOf`): at least every import's since; as late as the imports'
 *   uppers allow (one less than the smallest), so a rebuilt or reconciled dataflow starts near
 *   the present — at or after what a running replica compacted it to, which reconciliation
 *   requires. A view writing its own shard never starts at or past that shard's upper: its sink
 *   appends from there.
 * - **Peek timestamp** (`peekTimestamp`): without a requested time, the freshest complete time:
 *   one less than the smallest upper among the index's inputs, never below the index's since.
 *   With one, the inputs' uppers must pass it. Either way a reader whose inputs are not there yet
 *   awaits a frontier (`FrontierSignal`, woken by frontier updates — no polling) until its
 *   deadline, then fails with `UpperWaitTimeout`; a time below the since is `PeekBelowSince`.
 * - **Subscribe as-of** (`subscribeAsOf`): the freshest complete time of the durable collection
 *   (its bounding upper − 1), never below its since; a requested as-of below the since fails.
 *
 * ## A materialized view's readable floor
 * A view's persist sink appends from its shard's upper: a dataflow built at as-of `A` over a
 * shard written up to `U ≤ A` (a new view: `U = 0`; one rebuilt after its inputs were compacted
 * past its upper) writes the batch `[U, A + 1)` with the view's contents at `A`. Below `A` the
 * shard then holds what never was (a new view: an empty collection), yet its since (0 for a new
 * shard; the compaction window trails the upper by only a second) let an index built right
 * after the view (`asOf` = that since), a peek through it and a subscribe read there: `pnpm
 * evaluate` saw an index on a fresh view answer 0 rows at a time where the same view on another
 * cluster had 1. Materialize starts a view's storage collection with since = its as-of; so
 * does this controller, through the since it owns:
 * - `sinkFloor` (legacy clusters; a unified cluster's state starts the view's one since at its
 *   as-of by itself): installing a view whose shard's upper is at or below the dataflow's as-of
 *   raises the shard's since (the policy hold, `PersistReadHolds.advancePolicy`) to the as-of, before
 *   the view's dataflow is created and so before an index, a peek or a subscribe chooses a time
 *   on it. Imports (`selectAsOf`), peeks (the index's compute since, at least its as-of) and
 *   subscribes (`subscribeAsOf`) all start from that since, so a time below the floor is the same
 *   `PeekBelowSince` (FailedPrecondition) as one below any since, naming the floor.
 * - Durable: the read-hold tick downgrades the controller's since handle to the floor as soon as
 *   the sink's first batch moves the upper past it (persist never lets a since pass the upper),
 *   so the next environmentd re-attaches to a handle whose since is the floor.
 * - Across a restart between that first append and the next tick nothing durable knows the
 *   floor; what is known is a written shard (upper > 0) whose handle never moved from a new
 *   shard's since 0. `restartFloor` then takes upper − 1 (every time the shard is complete for;
 *   the floor is at most that): reads of older times are refused, never answered wrong.
 */
import type { Frontier, GlobalId, Timestamp } from "@mzts/repr";
import { InvalidObjectRequest, PeekBelowSince, UpperWaitTimeout } from "../errors.js";
import type { FrontierSignal } from "./frontier-signal.js";
import type { Frontiers } from "./frontiers.js";
import type { Resolved } from "./objects.js";
import type { ShardFrontiers } from "./shards.js";

/**
 * The as-of of a dataflow over `imports` (durable collections, their since and upper as their
 * owners hold them: `Shards`), writing `own` if a view.
 */
export function selectAsOf(
  readHolds: ShardFrontiers,
  imports: readonly GlobalId[],
  own?: GlobalId,
): Timestamp {
  let least = 0n;
  let fresh: bigint | undefined;
  for (const id of imports) {
    const since = readHolds.since(id);
    if (since === null)
      throw new InvalidObjectRequest("plan", `${id} is closed and compacted away`);
    if (since > least) least = since;
    const upper = readHolds.upper(id);
    if (upper !== null && (fresh === undefined || upper < fresh)) fresh = upper;
  }
  if (own !== undefined) {
    const upper = readHolds.upper(own);
    if (upper !== null && upper > 0n && (fresh === undefined || upper < fresh)) fresh = upper;
  }
  const late = fresh === undefined || fresh === 0n ? 0n : fresh - 1n;
  return late > least ? late : least;
}

/**
 * The floor to raise a view's shard since to when its dataflow is (re)built at `asOf` over a
 * shard written up to `upper` (see the file comment); undefined: the sink continues the shard.
 */
export function sinkFloor(upper: Frontier, asOf: Frontier): Timestamp | undefined {
  return upper !== null && asOf !== null && upper <= asOf && asOf > 0n ? asOf : undefined;
}

/**
 * The floor of a view's shard re-attached at boot with `since` and `upper` (see the file
 * comment): a written shard whose since never moved from 0 is readable from upper − 1 only.
 */
export function restartFloor(since: Frontier, upper: Frontier): Timestamp | undefined {
  return since === 0n && upper !== null && upper > 1n ? upper - 1n : undefined;
}

/** What a peek's timestamp is chosen from. */
export interface PeekTimestampInput {
  /** The name the request used (for errors). */
  readonly object: string;
  readonly index: Resolved;
  readonly byId: ReadonlyMap<GlobalId, Resolved>;
  /** The requested time, if any. */
  readonly requested: Timestamp | undefined;
  /** Total time allowed (for the error message) and the deadline (ms since the epoch). */
  readonly timeoutMs: number;
  readonly deadline: number;
}

/**
 * The timestamp a peek reads at, awaiting the inputs' frontiers when needed (see the file
 * comment). Rejects with `PeekBelowSince`, `UpperWaitTimeout` or the controller's
 * `CollectionMissing` (the index went away meanwhile).
 */
export function peekTimestamp(
  frontiers: Frontiers,
  signal: FrontierSignal,
  p: PeekTimestampInput,
): Promise<Timestamp> {
  const remaining = Math.max(0, p.deadline - Date.now());
  const requested = p.requested;
  if (requested !== undefined) {
    const since = frontiers.computeSince(p.index);
    if (since === null || requested < since) {
      return Promise.reject(new PeekBelowSince(p.object, requested, since));
    }
    return signal.until(
      () => {
        const u = frontiers.minUpper(p.index.inputs, p.byId);
        return u === undefined || u > requested ? requested : undefined;
      },
      remaining,
      () => new UpperWaitTimeout(p.object, requested, p.timeoutMs),
    );
  }
  let since: Frontier = 0n;
  return signal.until(
    () => {
      since = frontiers.computeSince(p.index);
      if (since === null) throw new PeekBelowSince(p.object, 0n, since);
      const u = frontiers.minUpper(p.index.inputs, p.byId);
      const fresh = u === undefined ? since : u - 1n;
      // Nothing complete at or beyond the since yet: wait for the inputs to move.
      return fresh >= since ? fresh : undefined;
    },
    remaining,
    () => new UpperWaitTimeout(p.object, since ?? 0n, p.timeoutMs),
  );
}

/**
 * The as-of of a subscribe of the durable collection `base` (requested or the freshest complete
 * time). @throws PeekBelowSince
 */
export function subscribeAsOf(
  frontiers: Frontiers,
  object: string,
  base: Resolved,
  byId: ReadonlyMap<GlobalId, Resolved>,
  requested: Timestamp | undefined,
): Timestamp {
  const since = frontiers.sinceOf(base);
  let asOf: Timestamp;
  if (requested !== undefined) asOf = requested;
  else {
    const u = frontiers.boundingUpper(base, byId);
    asOf = u === undefined || u === 0n ? 0n : u - 1n;
    if (since !== null && asOf < since) asOf = since;
  }
  if (since === null || asOf < since) throw new PeekBelowSince(object, asOf, since);
  return asOf;
}
