/**
 * `SinceHandle`: a registered reader that holds back the shard's since (Materialize's critical
 * since handle).
 *
 * ## Lifecycle
 * `shard.openSinceHandle(readerId)` registers the reader at the shard's current since (or
 * re-attaches to an existing registration with the same id, keeping its since). `downgradeSince`
 * moves the handle's since forward; the shard's since becomes the meet (minimum) of all live
 * handles' sinces and never moves back. `expire()` unregisters it. A handle that has not
 * downgraded or heartbeated for `readerLeaseMs` is expired by the next registration, downgrade
 * or `maintenance()` on the shard (whichever comes first), so a crashed reader cannot hold back
 * compaction forever; its next call fails with `ReaderExpired`.
 *
 * A downgrade may trigger an opportunistic compaction (see `compaction.ts`). Downgrades of
 * several handles of one shard issued in the same turn of the event loop share one
 * compare-and-set (`ShardMachine.applyBatch`, `downgradeAll`), so a process with many readers of
 * a shard writes its state once per round of downgrades, not once per reader, and the round
 * copies the readers once (O(N), not O(N²)). Registrations (`registerAll`) and expiries
 * (`expireAll`) are grouped the same way: a replica restarting with N dataflows over one source
 * registers (and re-registers) N handles at once.
 */
import { Frontier } from "@mzts/repr";
import { compact } from "./compaction.js";
import type { ShardContext } from "./context.js";
import {
  PersistError,
  ReaderExpired,
  ShardDropped,
  SinceBeyondUpper,
  SinceRegression,
} from "./errors.js";
import type { BatchStep } from "./machine.js";
import { type ReaderState, type ShardState, sinceFromReaders, wantsCompaction } from "./state.js";

export class SinceHandle {
  readonly readerId: string;
  readonly #ctx: ShardContext;
  /** This handle's since as last written; only advances. */
  #since: Frontier;
  /** Set by `expire()`. */
  #expired = false;

  /** @internal use `Shard.openSinceHandle` */
  constructor(ctx: ShardContext, readerId: string, since: Frontier) {
    this.#ctx = ctx;
    this.readerId = readerId;
    this.#since = since;
  }

  /** The handle's since (reads at times `>= since` stay valid while the handle lives). */
  get since(): Frontier {
    return this.#since;
  }

  get shardId(): string {
    return this.#ctx.machine.shardId;
  }

  /**
   * Moves this handle's since to `frontier` (and the shard's since to the meet of all handles).
   * Downgrading to the current since is a heartbeat.
   * @throws SinceRegression (moves back), SinceBeyondUpper, ReaderExpired, ShardDropped,
   * ContentionExceeded, StorageUnavailable
   */
  async downgradeSince(frontier: Frontier): Promise<void> {
    const ctx = this.#ctx;
    const shardId = ctx.machine.shardId;
    const id = this.readerId;
    if (this.#expired) throw new ReaderExpired(shardId, id);
    const now = ctx.tuning.now();
    const out = await ctx.machine.applyBatch(
      "downgrade_since",
      { id, frontier, now, leaseMs: ctx.tuning.readerLeaseMs },
      downgradeAll,
    );
    logExpired(ctx, out.result);
    this.#since = frontier;
    ctx.metrics.cmd.inc({ cmd: "downgrade_since", outcome: "ok" });
    if (wantsCompaction(out.state, ctx.tuning.compactAfterBatches)) {
      await compact(ctx).catch((e: unknown) => logCompactionFailure(ctx, e));
    }
  }

  /**
   * Refreshes the lease without moving the since.
   * @throws ReaderExpired, ShardDropped, ContentionExceeded, StorageUnavailable
   */
  heartbeat(): Promise<void> {
    return this.downgradeSince(this.#since);
  }

  /**
   * Unregisters the handle; the shard's since may advance to the meet of the remaining handles.
   * Idempotent.
   * @throws ContentionExceeded, StorageUnavailable
   */
  async expire(): Promise<void> {
    if (this.#expired) return;
    await this.#ctx.machine.applyBatch("expire_reader", this.readerId, expireAll);
    this.#expired = true;
    this.#ctx.metrics.cmd.inc({ cmd: "expire_since_handle", outcome: "ok" });
  }
}

/** Compaction after a committed command is best effort: log and carry on. */
export function logCompactionFailure(ctx: ShardContext, e: unknown): void {
  ctx.logger.warn(
    { shard: ctx.machine.shardId, err: e },
    e instanceof PersistError
      ? "persist: opportunistic compaction failed; maintenance() will retry"
      : "persist: opportunistic compaction failed unexpectedly; maintenance() will retry",
  );
}

/** Logs the since handles a transition expired because their lease ran out. */
export function logExpired(ctx: ShardContext, readers: readonly string[]): void {
  for (const r of readers) {
    ctx.logger.info(
      { shard: ctx.machine.shardId, reader: r, leaseMs: ctx.tuning.readerLeaseMs },
      "persist: expired since handle (lease ran out)",
    );
  }
  if (readers.length > 0)
    ctx.metrics.cmd.inc({ cmd: "expire_lapsed_reader", outcome: "ok" }, readers.length);
}

/**
 * A round's one lapsed-reader scan and one copy of the readers: the readers whose lease lapsed
 * at the first member's clock, except the members' own, and the readers without them.
 */
function withoutLapsed(
  s0: ShardState,
  members: ReadonlyArray<{ readonly id: string; readonly now: number; readonly leaseMs: number }>,
): { lapsed: string[]; readers: Record<string, ReaderState> } {
  const own = new Set(members.map((m) => m.id));
  const first = members[0]!;
  const lapsed = Object.keys(s0.readers).filter(
    (r) => !own.has(r) && s0.readers[r]!.heartbeatMs + first.leaseMs < first.now,
  );
  const readers = { ...s0.readers };
  for (const r of lapsed) delete readers[r];
  return { lapsed, readers };
}

/** One handle's downgrade in a round (`downgradeAll`). */
interface Downgrade {
  readonly id: string;
  readonly frontier: Frontier;
  readonly now: number;
  readonly leaseMs: number;
}

/**
 * A round of downgrades over one state, in issue order, each as if alone (a member sees its
 * predecessors' writes): one copy of the readers, one lapsed-reader scan (keeping every member's
 * reader), one meet. Each outcome is the readers that lapsed (reported by the first member that
 * wrote) or that member's error.
 */
export function downgradeAll(s0: ShardState, ds: readonly Downgrade[]): BatchStep<string[]> {
  if (s0.dropped) return { outcomes: ds.map(() => ({ error: new ShardDropped(s0.shardId) })) };
  const { lapsed, readers } = withoutLapsed(s0, ds);
  let wrote = false;
  const outcomes = ds.map((d): { result: string[] } | { error: Error } => {
    const r = readers[d.id];
    if (r === undefined) return { error: new ReaderExpired(s0.shardId, d.id) };
    if (!Frontier.lessEqual(r.since, d.frontier))
      return { error: new SinceRegression(s0.shardId, d.id, r.since, d.frontier) };
    if (!Frontier.lessEqual(d.frontier, s0.upper))
      return { error: new SinceBeyondUpper(s0.shardId, d.id, d.frontier, s0.upper) };
    readers[d.id] = { since: d.frontier, heartbeatMs: d.now };
    const expired = wrote ? [] : lapsed;
    wrote = true;
    return { result: expired };
  });
  if (!wrote) return { outcomes };
  return {
    write: { ...s0, readers, since: sinceFromReaders(s0.since, readers) },
    outcomes,
  };
}

/** One registration in a round (`registerAll`). */
export interface Registration {
  readonly id: string;
  readonly now: number;
  readonly leaseMs: number;
}

/** What a registration returns: where the handle starts, and the readers that lapsed. */
export interface Registered {
  readonly since: Frontier;
  readonly expired: string[];
}

/**
 * A round of registrations over one state, in issue order: one copy of the readers, one
 * lapsed-reader scan (keeping every member's reader, so a re-attaching member keeps its since, as
 * alone), one meet. A new reader starts at the shard's since after the lapsed ones went; an
 * existing one keeps its since (re-attach). The lapsed readers are reported by the first member.
 */
export function registerAll(s0: ShardState, rs: readonly Registration[]): BatchStep<Registered> {
  if (s0.dropped) return { outcomes: rs.map(() => ({ error: new ShardDropped(s0.shardId) })) };
  const { lapsed, readers } = withoutLapsed(s0, rs);
  const since = lapsed.length === 0 ? s0.since : sinceFromReaders(s0.since, readers);
  const outcomes = rs.map((r, i) => {
    const at = readers[r.id]?.since ?? since;
    readers[r.id] = { since: at, heartbeatMs: r.now };
    return { result: { since: at, expired: i === 0 ? lapsed : [] } };
  });
  return { write: { ...s0, readers, since }, outcomes };
}

/**
 * A round of expiries over one state: the members' readers go (one copy, one meet); a reader
 * already gone, or a dropped shard, is a no-op (expiry is idempotent).
 */
export function expireAll(s0: ShardState, ids: readonly string[]): BatchStep<undefined> {
  const outcomes = ids.map(() => ({ result: undefined }));
  const present = s0.dropped ? [] : ids.filter((id) => s0.readers[id] !== undefined);
  if (present.length === 0) return { outcomes };
  const readers = { ...s0.readers };
  for (const id of present) delete readers[id];
  return { write: { ...s0, readers, since: sinceFromReaders(s0.since, readers) }, outcomes };
}
