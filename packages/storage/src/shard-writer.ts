/**
 * `ShardWriter`: the one writer of one export shard among a replica's W workers (worker
 * `writerOf(shardId, W)`), from the render of its ingestion until its drop.
 *
 * ## Write path (steps 2–4 of `storage-state.ts`'s walk-through)
 * 1. Every worker sends its parts of the export (ticks `[from, to)`, `enqueue`) to the writer,
 *    which keeps one FIFO of parts per worker and, per worker, the tick it has sent through.
 * 2. `pump()`: once every worker has sent its parts up to tick `T` (the minimum of their
 *    `through`), the writer appends the updates of every part with times in `[upper, timeAt(T))`
 *    in one `compareAndAppend(updates, upper, timeAt(T))` (`EMPTY` instead when `T` is the
 *    deterministic `maxTicks`: the shard closes). One operation at a time (`busy`).
 * 3. On `UpperMismatch` (another replica wrote the same deterministic ticks first) it adopts the
 *    returned upper and drops what is below it: duplicates harmless, no gaps. Other failures
 *    report the writer unhealthy (`health` to worker 0: the ingestion is stalled) and retry with
 *    backoff after re-reading the upper (the outcome of the failed append is unknown).
 *    Opening the shard fails and retries the same way (`pump()` re-opens once the backoff is
 *    over; `dueInMs` tells maintenance when): until it opens nothing is appended and the
 *    shard's frontiers hold. Each first failure after a success logs at warn, repeats at debug.
 * 4. `#adopt()`: each upper advance is broadcast to every worker (`upper`), which reports it and
 *    paces its generation; the first write or adoption reports the writer healthy.
 *
 * ## Read-only mode
 * Until the instance allows writes, `pump()` does not append; it polls the shard's upper every
 * `readOnlyPollMs` instead (another replica or environment may be writing), so frontiers advance.
 *
 * ## Since handle
 * When the controller allows compaction of the export (`wantSince`), the writer holds the
 * shard's since at `meet(wanted, upper)` through one since handle (`SINCE_READER_ID`), downgraded
 * as the upper advances and heart-beaten by `heartbeat()` (from `maintain`).
 *
 * ## Stop (the drop path's last steps)
 * `stop()` marks the writer dead — no further append starts and no further outcome is adopted —
 * and expires its since handle. An append already in flight still completes in persist; once it
 * has settled the writer is `quiet` and tells the state (`onQuiet`), which only then answers
 * `droppedId`: a drop is a write fence. `kill()` (the worker closing) only marks it dead.
 * Every writer counts in the `shardWriters` gauge from its construction until it is first quiet
 * (stopped or killed, nothing in flight): the fence of a drop that answers nothing (a
 * reconciliation's) is visible there.
 */
import type { Shard, SinceHandle } from "@mzts/persist";
import { UpperMismatch } from "@mzts/persist";
import { Frontier, type GlobalId, hashString, type Update } from "@mzts/repr";
import { SLOT } from "./metrics.js";
import type { LoadGenerator } from "./source/load-generator/load-generator.js";
import type { SendTo, StorageStateDeps } from "./storage-state-deps.js";

/** The persist reader id of a replica's compaction hold on an export shard. */
export const SINCE_READER_ID = "storage-replica";

/** A ticks bound beyond any real tick. */
export const NO_TICK_BOUND = 1n << 80n;

const HEARTBEAT_MS = 60_000;

/** The log message of each persist call's failure: what failed, what happens, what to check. */
const FAILED = {
  open:
    "storage: opening the export shard failed; retrying with backoff (its frontiers hold until " +
    "it opens): check that persist's data directory and consensus are reachable and writable",
  upper: "storage: reading the shard's upper failed; retrying with backoff",
  append: "storage: append failed",
} as const;

/** The worker that writes shard `shardId` among `peers` workers. */
export function writerOf(shardId: string, peers: number): number {
  return hashString(shardId) % peers;
}

/** A part of a worker's share: ticks `[from, to)`. */
export interface Part {
  from: bigint;
  readonly to: bigint;
  updates: Update[];
}

/** What the writer needs of the state around it. */
export interface WriterScope {
  readonly deps: StorageStateDeps;
  readonly sendTo: SendTo;
  /** Whether the instance left read-only mode (`allowWrites`). */
  writesAllowed(): boolean;
  /** Whether the worker is closing. */
  closed(): boolean;
  /** A persist call of the writer settled (what maintenance reports or schedules may change). */
  settled(): void;
  /** A stopped writer's persist call settled: the writer is `quiet` now (the write fence). */
  onQuiet(w: ShardWriter): void;
}

/** Which export shard a writer writes, for which render, from where. */
export interface WriterTarget {
  readonly ingestionId: GlobalId;
  readonly exportId: GlobalId;
  readonly shardId: string;
  /** The position of the render that started the writer. */
  readonly gen: number;
  readonly generator: LoadGenerator;
  /** Deterministic `maxTicks`, else null. */
  readonly endTick: bigint | null;
  /** The shard's upper as known at render. */
  readonly upper: Frontier;
  /** The tick every worker's parts start at. */
  readonly startTick: bigint;
}

/** The writer of one export shard; see the file comment. */
export class ShardWriter {
  readonly ingestionId: GlobalId;
  readonly exportId: GlobalId;
  readonly shardId: string;
  /** The position of the render that started this writer; parts of other renders are not its. */
  readonly gen: number;
  readonly #scope: WriterScope;
  readonly #generator: LoadGenerator;
  readonly #endTick: bigint | null;
  /** The shard's upper as last known; only advances. */
  #upper: Frontier;
  /** Per worker, parts not yet appended, in tick order. */
  readonly #queues: Part[][];
  /** Per worker, the tick up to which it has sent parts. */
  readonly #through: bigint[];
  /** The open shard, once `open()` has succeeded. */
  #shard: Shard | undefined;
  /** An operation (open, append, upper read) is in flight. */
  #busy = true;
  /** Stopped or killed: nothing starts, no outcome is adopted. */
  #dead = false;
  /** Whether this writer has left `SLOT.shardWriters` (once, when it first became quiet). */
  #left = false;
  /** Last failure (stalled), or null. */
  #error: string | null = null;
  /** Whether worker 0 has been told the writer is healthy. */
  #healthy = false;
  /** Consecutive failures (backoff). */
  #failures = 0;
  #retryAtMs = 0;
  /** The upper must be re-read before the next append (outcome of the last one unknown). */
  #refresh = false;
  #lastPollMs = 0;
  /** Updates appended by this writer. */
  #committed = 0n;
  /** The controller's compaction frontier for the export, if any. */
  #sinceWanted: Frontier | undefined;
  #sinceHandle: SinceHandle | undefined;
  #lastHeartbeatMs = 0;

  constructor(scope: WriterScope, target: WriterTarget) {
    this.#scope = scope;
    this.ingestionId = target.ingestionId;
    this.exportId = target.exportId;
    this.shardId = target.shardId;
    this.gen = target.gen;
    this.#generator = target.generator;
    this.#endTick = target.endTick;
    this.#upper = target.upper;
    scope.deps.counters.add(SLOT.shardWriters, 1);
    const peers = scope.deps.peers;
    this.#queues = Array.from({ length: peers }, () => []);
    this.#through = Array.from({ length: peers }, () => target.startTick);
  }

  /** Stopped, with no persist call in flight: nothing of it can reach the shard any more. */
  get quiet(): boolean {
    return this.#dead && !this.#busy;
  }

  /** Updates appended by this writer (statistics). */
  get committed(): bigint {
    return this.#committed;
  }

  /**
   * Opens the shard (creating it), then starts appending. Call once, after the constructor;
   * after a failure `pump()` calls it again once the backoff is over.
   */
  open(): void {
    this.#busy = true;
    this.#scope.deps
      .openPersist()
      .then((p) => p.openShard(this.shardId, { create: true }))
      .then(
        (shard) => {
          this.#shard = shard;
          this.#scope.deps.counters.add(SLOT.shardOpensOk);
          this.#settle();
          this.pump();
        },
        (e: unknown) => {
          this.#settle();
          this.#scope.deps.counters.add(SLOT.shardOpensError);
          this.#refresh = true;
          this.#fail(e, "open");
        },
      );
  }

  /** Worker `from`'s next part, in tick order. */
  enqueue(from: number, part: Part): void {
    this.#queues[from]!.push(part);
    this.#through[from] = part.to;
    this.pump();
  }

  /** Appends what every worker has sent, if the writer is idle. */
  pump(): void {
    const { deps } = this.#scope;
    if (this.#dead || this.#busy || this.#scope.closed()) return;
    const shard = this.#shard;
    if (shard === undefined) {
      // The open failed (it is in flight otherwise: `busy`): retry once the backoff is over.
      if (deps.nowMs() >= this.#retryAtMs) this.open();
      return;
    }
    if (this.#refresh || !this.#scope.writesAllowed()) {
      if (!this.#refresh && deps.nowMs() - this.#lastPollMs < deps.options.readOnlyPollMs) return;
      if (this.#refresh && deps.nowMs() < this.#retryAtMs) return;
      this.#busy = true;
      this.#lastPollMs = deps.nowMs();
      shard.upper().then(
        (upper) => {
          this.#settle();
          this.#refresh = false;
          this.#adopt(upper);
          this.pump();
        },
        (e: unknown) => {
          this.#settle();
          this.#fail(e, "upper");
        },
      );
      return;
    }
    if (this.#upper === null) {
      for (const q of this.#queues) q.length = 0;
      return;
    }
    if (deps.nowMs() < this.#retryAtMs) return;
    const clock = this.#generator.clock;
    let T = NO_TICK_BOUND;
    for (const t of this.#through) if (t < T) T = t;
    if (this.#endTick !== null && T > this.#endTick) T = this.#endTick;
    const startTick = clock.firstTickAtOrAfter(this.#upper);
    if (T <= startTick) {
      this.#consume(startTick);
      return;
    }
    const lower = this.#upper;
    const bound = clock.timeAt(T);
    const newUpper: Frontier =
      this.#endTick !== null && T === this.#endTick ? Frontier.EMPTY : bound;
    const updates: Update[] = [];
    for (const q of this.#queues) {
      for (const p of q) {
        if (p.from >= T) break;
        for (const u of p.updates) if (u[1] >= lower && u[1] < bound) updates.push(u);
      }
    }
    this.#busy = true;
    shard.compareAndAppend(updates, lower, newUpper).then(
      () => {
        this.#settle();
        deps.counters.add(SLOT.appendsOk);
        deps.counters.add(SLOT.updatesAppended, updates.length);
        this.#committed += BigInt(updates.length);
        this.#adopt(newUpper);
        this.pump();
      },
      (e: unknown) => {
        this.#settle();
        if (e instanceof UpperMismatch) {
          deps.counters.add(SLOT.appendsUpperMismatch);
          this.#adopt(e.current);
          this.pump();
          return;
        }
        deps.counters.add(SLOT.appendsError);
        this.#refresh = true;
        this.#fail(e, "append");
      },
    );
  }

  /** The controller's compaction frontier for the export: hold the since there (or at the upper). */
  wantSince(frontier: Frontier): void {
    this.#sinceWanted = frontier;
    this.#downgradeSince();
  }

  /** Keeps the since handle's lease alive (`maintain`). */
  heartbeat(now: number): void {
    if (this.#sinceHandle === undefined || now - this.#lastHeartbeatMs <= HEARTBEAT_MS) return;
    this.#lastHeartbeatMs = now;
    this.#sinceHandle.heartbeat().catch((e: unknown) => {
      this.#scope.deps.logger.debug({ err: e, shard: this.shardId }, "storage: heartbeat failed");
    });
  }

  /**
   * Ms from `now` until the writer must be pumped or heart-beaten unasked (`maintain`): a retry
   * after a failure (of the open too), the next read-only poll, the next since heartbeat;
   * Infinity: none. A writer with a persist call in flight has nothing due until it settles
   * (`settled`).
   */
  dueInMs(now: number): number {
    if (this.#dead) return Number.POSITIVE_INFINITY;
    let at = Number.POSITIVE_INFINITY;
    if (this.#sinceHandle !== undefined) at = this.#lastHeartbeatMs + HEARTBEAT_MS + 1;
    if (!this.#busy) {
      // Not busy and not open: the open failed.
      if (this.#shard === undefined || this.#refresh || this.#retryAtMs > now) {
        at = Math.min(at, this.#retryAtMs);
      } else if (!this.#scope.writesAllowed()) {
        at = Math.min(at, this.#lastPollMs + this.#scope.deps.options.readOnlyPollMs);
      }
    }
    return at - now;
  }

  /**
   * The drop path: no append starts after this and no outcome is adopted; the since handle
   * expires. An append already in flight still lands; the writer is `quiet` once it settled.
   */
  stop(): void {
    this.#dead = true;
    this.#leaveIfQuiet();
    const handle = this.#sinceHandle;
    if (handle !== undefined) {
      handle.expire().catch((e: unknown) => {
        this.#scope.deps.logger.warn(
          { err: e, shard: this.shardId },
          "storage: since handle expiry failed",
        );
      });
    }
  }

  /** The worker is closing: nothing starts or is adopted any more (handles are left to expire). */
  kill(): void {
    this.#dead = true;
    this.#leaveIfQuiet();
  }

  /** A persist call settled; a stopped writer is quiet now. */
  #settle(): void {
    this.#busy = false;
    this.#scope.settled();
    if (this.#dead) {
      this.#leaveIfQuiet();
      this.#scope.onQuiet(this);
    }
  }

  /** Once quiet, the writer leaves the `shardWriters` gauge: nothing of it reaches persist now. */
  #leaveIfQuiet(): void {
    if (this.#left || !this.quiet) return;
    this.#left = true;
    this.#scope.deps.counters.add(SLOT.shardWriters, -1);
  }

  /** The shard's upper is (at least) `upper`: drop what it holds, tell everyone, stay healthy. */
  #adopt(upper: Frontier): void {
    if (this.#dead) return;
    const { deps, sendTo } = this.#scope;
    const before = this.#upper;
    this.#upper = Frontier.join(this.#upper, upper);
    if (this.#failures > 0) {
      deps.logger.info(
        { ingestion: this.ingestionId, shard: this.shardId, failures: this.#failures },
        "storage: shard writer recovered",
      );
    }
    this.#failures = 0;
    this.#retryAtMs = 0;
    if (this.#upper === null) {
      for (const q of this.#queues) q.length = 0;
    } else {
      this.#consume(this.#generator.clock.firstTickAtOrAfter(this.#upper));
    }
    if (this.#error !== null || !this.#healthy) {
      this.#error = null;
      this.#healthy = true;
      sendTo(0, {
        kind: "health",
        ingestionId: this.ingestionId,
        shardId: this.shardId,
        error: null,
      });
    }
    if (this.#upper !== before) {
      for (let to = 0; to < deps.peers; to++) {
        sendTo(to, { kind: "upper", shardId: this.shardId, upper: this.#upper });
      }
      this.#downgradeSince();
      deps.logger.trace(
        { shard: this.shardId, upper: Frontier.toJSON(this.#upper) },
        "storage: upper advanced",
      );
    }
  }

  /** Drops queued updates at ticks before `tick`. */
  #consume(tick: bigint): void {
    for (const q of this.#queues) {
      while (q.length > 0 && q[0]!.to <= tick) q.shift();
      const head = q[0];
      if (head !== undefined && head.from < tick) {
        const t = this.#generator.clock.timeAt(tick);
        head.updates = head.updates.filter((u) => u[1] >= t);
        head.from = tick;
      }
    }
  }

  /** Persist call `op` failed: stalled, retried after the backoff (`pump`, `dueInMs`). */
  #fail(e: unknown, op: keyof typeof FAILED): void {
    if (this.#dead) return;
    const { deps, sendTo } = this.#scope;
    const message = e instanceof Error ? e.message : String(e);
    this.#failures++;
    const backoffMs = Math.min(5000, 50 * 2 ** Math.min(this.#failures, 10));
    this.#retryAtMs = deps.nowMs() + backoffMs;
    // The first failure of a run, or a different error, at warn; repeats at debug.
    const level = this.#failures === 1 || this.#error !== message ? "warn" : "debug";
    deps.logger[level](
      {
        err: e,
        ingestion: this.ingestionId,
        shard: this.shardId,
        failures: this.#failures,
        retryInMs: backoffMs,
      },
      FAILED[op],
    );
    if (this.#error !== message) {
      this.#error = message;
      sendTo(0, {
        kind: "health",
        ingestionId: this.ingestionId,
        shardId: this.shardId,
        error: message,
      });
    }
  }

  #downgradeSince(): void {
    if (this.#sinceWanted === undefined || this.#shard === undefined || this.#dead) return;
    const target = Frontier.meet(this.#sinceWanted, this.#upper);
    const h = this.#sinceHandle;
    if (h !== undefined && !Frontier.lessThan(h.since, target)) return;
    const shard = this.#shard;
    const open = h !== undefined ? Promise.resolve(h) : shard.openSinceHandle(SINCE_READER_ID);
    open
      .then((handle) => {
        this.#sinceHandle = handle;
        if (this.#dead) return handle.expire();
        if (!Frontier.lessThan(handle.since, target)) return;
        this.#lastHeartbeatMs = this.#scope.deps.nowMs();
        return handle.downgradeSince(target);
      })
      .catch((e: unknown) => {
        // Another replica's handle with the same reader id may be ahead: persist refuses a move
        // back, which is harmless here.
        this.#scope.deps.logger.debug(
          { err: e, shard: this.shardId },
          "storage: since downgrade refused",
        );
      });
  }
}
