/**
 * `StorageState`: one worker's storage bookkeeping and dataflows — ingestions, their write path
 * to persist, frontier, status and statistics reporting, and reconciliation.
 *
 * The state is driven by a worker loop (the unified `storage-worker.ts`, or the legacy worker in
 * `legacy/`), which supplies the mesh, the responses sink and persist. It separates, as Materialize's
 * `storage_state.rs` does:
 * - **bookkeeping** (`applyCommand`): every worker applies every controller command to its own
 *   maps (recorded ingestions, tracked ids, compaction frontiers) and answers bad commands; it
 *   returns the **dataflow actions** the command implies (render / drop);
 * - **dataflows** (`render`, `dropDataflow`, `dropExport`): what the actions do, each stamped with
 *   a position `gen` of the total order that every worker shares (the unified runtime's sequence
 *   number; the legacy internal sequencer's global index). The unified worker executes the actions
 *   at once; the legacy worker 0 first runs its async task, then orders them as internal commands.
 *
 * ## Write path (W workers, one writer per shard)
 * 1. Every worker generates *its partition* of the generator's ticks (`updatesBetween` with
 *    `{worker, workers}`), in chunks of at most `ticksPerBatch` ticks, and sends each export's
 *    updates of the chunk `[from, to)` to the shard's **writer**, worker `hash(shardId) % W`,
 *    over the mesh (also when empty: the writer needs every worker's part of a range).
 * 2. The writer keeps one FIFO of parts per worker. Once every worker has sent its parts up to
 *    tick `T` (the minimum of their `through` ticks), it appends the updates of every part with
 *    times in `[upper, timeAt(T))` in one `compareAndAppend(updates, upper, timeAt(T))` (`EMPTY`
 *    instead when `T` is the deterministic `maxTicks`: the shard closes).
 * 3. On `UpperMismatch` (another replica wrote the same deterministic ticks first) it adopts the
 *    returned upper and drops what is below it: duplicates harmless, no gaps. Other failures mark
 *    the ingestion stalled; the writer re-reads the upper and retries with backoff.
 * 4. Each upper advance is broadcast to every worker, so every worker reports `frontierUpper` for
 *    every id it tracks (the process merge takes the meet), and paces its generation: a worker
 *    runs at most `maxTicksInFlight` ticks ahead of the shards' uppers.
 * Deterministic mode generates as fast as that window allows (forever without `maxTicks`);
 * real-time mode generates only ticks whose time has come (`ticksDue(now)`).
 *
 * ## Read-only mode
 * Until `allowWrites`, writers do not append; they poll their shard's upper instead (another
 * replica or environment may be writing), so frontiers still advance.
 *
 * ## Responses
 * - `frontierUpper` (every worker, every tracked id, on `maintain`): an export's known shard upper;
 *   the ingestion id's is the meet over its live exports. Reported only when it strictly advances.
 * - `droppedId` (every worker, once per tracked id) at drop time; nothing for the id after it.
 *   A worker that writes one of the id's shards answers only once that writer has stopped and
 *   its persist call in flight has settled, so a drop is a write fence: the shard's upper never
 *   moves after the controller hears `droppedId` (`#reportDropped`).
 * - `statusUpdate` (worker 0 only, so the controller sees one copy): starting at record time,
 *   running once every live export's writer has written or adopted an upper, stalled with the
 *   error while an append fails, dropped at drop time.
 * - `statisticsUpdates` (worker 0, every `statisticsIntervalMs`): every worker sends its counters
 *   to worker 0 over the mesh; worker 0 sums them per export.
 * - `commandError` (every worker, deduplicated by the process merge) for bad commands.
 *
 * ## Bad commands (design §3)
 * A re-sent identical `runIngestion` is a no-op (replay); a different description under a running
 * or dropped id is `duplicateId`; a malformed description is `malformedPlan`; a compaction frontier
 * moving back is `frontierRegression`; `runSink` is `unsupported`. Compaction of an unknown or
 * dropped id is tolerated and counted (`mz_storage_benign_races_total`). Nothing throws out.
 *
 * ## Reconciliation (materialize.md §1.7, storage)
 * After `onConnection()` commands are buffered until `initializationComplete`. Running ingestions
 * whose description the buffer re-sends unchanged keep running (not restarted); the others are
 * dropped silently (the new controller never knew them, so no `droppedId`); every reported
 * frontier resets (the new controller's merge starts at the minimum); the buffer is then applied
 * as usual and worker 0 re-sends the latest status of every kept ingestion, restamped.
 *
 * ## Data kept after a drop
 * Dropping an ingestion stops its writes and expires this replica's since handles; the shards and
 * their data stay in persist (the controller owns shards and drops them with `dropShard`).
 */
import type { PersistClient, Shard, SinceHandle } from "@mzts/persist";
import { UpperMismatch } from "@mzts/persist";
import type {
  CommandError,
  ErrorCode,
  IngestionDescription,
  ObjectStatus,
  SourceStatistics,
  StorageCommand,
  StorageResponse,
} from "@mzts/protocol";
import { encodeRow, Frontier, type GlobalId, hashString, type Update } from "@mzts/repr";
import type { Logger } from "pino";
import { InvalidSourceSpec } from "./errors.js";
import {
  type IngestionResume,
  ingestionGenerator,
  isPrepared,
  type RunIngestion,
  sameDescription,
  validateDescription,
} from "./ingestion.js";
import { SLOT, type Slot, type StorageCounters } from "./metrics.js";
import type { LoadGenerator } from "./source/load-generator/load-generator.js";
import { updatesBetween } from "./source/load-generator/render.js";

/** Tuning of the write path and reporting. */
export interface StorageStateOptions {
  /** Most ticks a worker generates per chunk. */
  readonly ticksPerBatch: number;
  /** Most ticks a worker runs ahead of its shards' uppers. */
  readonly maxTicksInFlight: number;
  /** How often statistics are sent (ms). */
  readonly statisticsIntervalMs: number;
  /** Read-only mode: how often writers poll their shard's upper (ms). */
  readonly readOnlyPollMs: number;
}

export const DEFAULT_STATE_OPTIONS: StorageStateOptions = {
  ticksPerBatch: 64,
  maxTicksInFlight: 1024,
  statisticsIntervalMs: 1000,
  readOnlyPollMs: 100,
};

/** What a worker loop gives the state. */
export interface StorageStateDeps {
  readonly index: number;
  readonly peers: number;
  /** Answers the current controller connection. */
  respond(response: StorageResponse): void;
  /** Sends to worker `to` on the storage mesh channel (never called with `to === index`). */
  send(to: number, msg: StorageMeshMessage): void;
  /** Asks the loop to call `step()` soon. */
  requestStep(): void;
  /** This worker's persist client (opened on first use). */
  openPersist(): Promise<PersistClient>;
  readonly counters: StorageCounters;
  readonly logger: Logger;
  /** Wall clock (ms). */
  nowMs(): number;
  readonly options: StorageStateOptions;
}

/** A dataflow change implied by a controller command. */
export type DataflowAction =
  | {
      readonly kind: "render";
      readonly id: GlobalId;
      readonly description: IngestionDescription;
      /** Present on the unified path (prepared); the legacy worker 0 reads it itself. */
      readonly resume: IngestionResume | undefined;
    }
  | { readonly kind: "drop"; readonly id: GlobalId }
  | { readonly kind: "dropExport"; readonly ingestionId: GlobalId; readonly exportId: GlobalId };

/** A worker's counters for one export, sent to worker 0. */
export interface ExportStats {
  readonly exportId: GlobalId;
  readonly generated: bigint;
  readonly bytes: bigint;
  readonly committed: bigint;
  readonly offsetKnown: bigint;
}

/** Messages between workers on the storage channel. */
export type StorageMeshMessage =
  | {
      readonly kind: "part";
      readonly gen: number;
      readonly shardId: string;
      readonly from: bigint;
      readonly to: bigint;
      readonly updates: Update[];
    }
  | { readonly kind: "upper"; readonly shardId: string; readonly upper: Frontier }
  | {
      readonly kind: "health";
      readonly ingestionId: GlobalId;
      readonly shardId: string;
      readonly error: string | null;
    }
  | { readonly kind: "stats"; readonly entries: readonly ExportStats[] };

/**
 * Room for the dataflow actions of one command in the position space: the actions of the command
 * at position `p` of the shared order run at `p * ACTIONS_PER_COMMAND + i`.
 */
export const ACTIONS_PER_COMMAND = 1024;

/** The mesh channel of the storage workload. */
export const STORAGE_CHANNEL = "storage:data";

/** The persist reader id of a replica's compaction hold on an export shard. */
export const SINCE_READER_ID = "storage-replica";

/** A ticks bound beyond any real tick. */
const INF = 1n << 80n;

/** An ingestion as recorded by bookkeeping. */
interface Recorded {
  readonly description: IngestionDescription;
  /** Export ids not dropped. */
  readonly exports: Set<GlobalId>;
}

/** One export of a rendered dataflow. */
interface DataflowExport {
  readonly id: GlobalId;
  readonly shardId: string;
  readonly outputIndex: number;
  readonly writer: number;
  live: boolean;
  generated: bigint;
  bytes: bigint;
}

/** A rendered ingestion on this worker. */
interface Dataflow {
  readonly id: GlobalId;
  readonly gen: number;
  readonly generator: LoadGenerator;
  readonly deterministic: boolean;
  /** Deterministic `maxTicks`, else null. */
  readonly endTick: bigint | null;
  /** Next tick this worker generates. */
  nextTick: bigint;
  readonly exports: Map<GlobalId, DataflowExport>;
}

/** A part of a worker's share: ticks `[from, to)`. */
interface Part {
  from: bigint;
  readonly to: bigint;
  updates: Update[];
}

/** The writer of one export shard (on worker `hash(shardId) % W`). */
interface ShardWriter {
  readonly ingestionId: GlobalId;
  readonly exportId: GlobalId;
  readonly shardId: string;
  readonly gen: number;
  readonly generator: LoadGenerator;
  readonly endTick: bigint | null;
  /** The shard's upper as last known; only advances. */
  upper: Frontier;
  /** Per worker, parts not yet appended, in tick order. */
  readonly queues: Part[][];
  /** Per worker, the tick up to which it has sent parts. */
  readonly through: bigint[];
  shard: Shard | undefined;
  busy: boolean;
  dead: boolean;
  /** Last failure (stalled), or null. */
  error: string | null;
  /** Whether worker 0 has been told the writer is healthy. */
  healthy: boolean;
  failures: number;
  retryAtMs: number;
  /** The upper must be re-read before the next append (outcome of the last one unknown). */
  refresh: boolean;
  lastPollMs: number;
  committed: bigint;
  /** The controller's compaction frontier for the export, if any. */
  sinceWanted: Frontier | undefined;
  sinceHandle: SinceHandle | undefined;
  lastHeartbeatMs: number;
}

const HEARTBEAT_MS = 60_000;

/** One worker's storage state; see the file comment. */
export class StorageState {
  readonly #d: StorageStateDeps;
  // ---- bookkeeping (identical on every worker: a function of the controller commands) ----
  /** Recorded ingestions, from `runIngestion` until dropped or reconciled away. */
  readonly #ingestions = new Map<GlobalId, Recorded>();
  /** Export id → its ingestion id, while the export lives. */
  readonly #exportOwner = new Map<GlobalId, GlobalId>();
  /** Export id → its shard id, while the export lives. */
  readonly #exportShard = new Map<GlobalId, string>();
  /** Ids dropped by `allowCompaction(id, [])`; never run again. */
  readonly #dropped = new Set<GlobalId>();
  /** Id → last compaction frontier; reset at reconciliation. */
  readonly #compaction = new Map<GlobalId, Frontier>();
  /** Tracked id → the upper last reported on this connection (starts at the minimum). */
  readonly #reported = new Map<GlobalId, Frontier>();
  /** Commands buffered since `onConnection`, until `initializationComplete`; null otherwise. */
  #buffer: StorageCommand[] | null = null;
  /** Instance-wide read-only → read-write (one way). */
  #writesAllowed = false;
  /** Latest configuration parameters. */
  readonly #params = new Map<string, string>();
  // ---- dataflows (changed only by actions, at positions `gen` of the shared order) ----
  readonly #dataflows = new Map<GlobalId, Dataflow>();
  /** Shard id → its writer, when this worker writes it. */
  readonly #writers = new Map<string, ShardWriter>();
  /** Shard id → parts that arrived before this worker rendered their writer. */
  readonly #stash = new Map<string, Array<{ from: number; part: Part; gen: number }>>();
  /** Ingestion id → the position of its last drop; renders at or before it are dead. */
  readonly #dropGenById = new Map<GlobalId, number>();
  /** Shard id → the position of its last drop; parts of renders at or before it are dead. */
  readonly #dropGenByShard = new Map<string, number>();
  /** `droppedId`s held until this worker's writers of the id are stopped and idle, in order. */
  #heldDrops: Array<{ readonly id: GlobalId; readonly writers: readonly ShardWriter[] }> = [];
  /** Shard id → the greatest upper learned (resume points, writer broadcasts). */
  readonly #knownUppers = new Map<string, Frontier>();
  // ---- worker 0 only ----
  /** Ingestion id → latest status (re-sent after reconnection). */
  readonly #statuses = new Map<GlobalId, { status: ObjectStatus; error?: string }>();
  /** Ingestion id → shard id → writer health (null = fine). */
  readonly #health = new Map<GlobalId, Map<string, string | null>>();
  /** Worker → its latest export counters. */
  readonly #workerStats = new Map<number, ReadonlyMap<GlobalId, ExportStats>>();
  /** Ingestion id → when it was recorded (for rehydration latency). */
  readonly #startedAtMs = new Map<GlobalId, number>();
  /** Ingestion id → ms from recorded to running. */
  readonly #rehydrationMs = new Map<GlobalId, number>();
  #nextStatsAtMs = 0;
  #closed = false;

  constructor(deps: StorageStateDeps) {
    this.#d = deps;
  }

  /** Ingestion ids recorded (for tests and introspection). */
  get ingestions(): ReadonlySet<GlobalId> {
    return new Set(this.#ingestions.keys());
  }

  /**
   * A new controller connection: buffer its commands until `initializationComplete`. Reported
   * frontiers reset at once (the new connection's merge knows no id until the replay re-runs it),
   * and statuses and statistics are held back until reconciliation.
   */
  onConnection(): void {
    this.#buffer = [];
    this.#reported.clear();
    // A new controller reconciles from scratch; answers meant for the old one are dropped.
    this.#heldDrops = [];
  }

  /**
   * Applies a controller command to the bookkeeping and returns the dataflow actions it implies.
   * Bad commands are answered in band; nothing throws.
   */
  applyCommand(cmd: StorageCommand): DataflowAction[] {
    try {
      if (this.#buffer !== null) {
        if (cmd.kind === "initializationComplete") return this.#reconcile();
        this.#buffer.push(cmd);
        return [];
      }
      return this.#apply(cmd);
    } catch (e) {
      this.#error("", cmd.kind, "internal", `internal error: ${(e as Error).message}`);
      this.#d.logger.error({ err: e, command: cmd.kind }, "storage: command failed");
      return [];
    }
  }

  #apply(cmd: StorageCommand): DataflowAction[] {
    switch (cmd.kind) {
      case "hello":
      case "initializationComplete":
        return [];
      case "allowWrites":
        this.#writesAllowed = true;
        for (const w of this.#writers.values()) this.#pump(w);
        return [];
      case "updateConfiguration":
        for (const [k, v] of cmd.params) this.#params.set(k, v);
        return [];
      case "runIngestion":
        return this.#runIngestion(cmd);
      case "runSink":
        this.#error(
          cmd.id,
          "runSink",
          "unsupported",
          `sink ${cmd.id}: storage sinks are not implemented on this replica; drop the sink`,
        );
        return [];
      case "allowCompaction":
        return this.#allowCompaction(cmd.id, cmd.frontier);
    }
  }

  #runIngestion(cmd: RunIngestion): DataflowAction[] {
    const { id, description } = cmd;
    const existing = this.#ingestions.get(id);
    if (existing !== undefined) {
      if (sameDescription(existing.description, description)) {
        this.#track(id, existing.exports);
        return [];
      }
      this.#error(
        id,
        "runIngestion",
        "duplicateId",
        `ingestion ${id} already runs with a different description; use a new id or drop it first`,
      );
      return [];
    }
    if (this.#dropped.has(id)) {
      this.#error(
        id,
        "runIngestion",
        "duplicateId",
        `ingestion ${id} was dropped; ids are never reused`,
      );
      return [];
    }
    try {
      validateDescription(description);
    } catch (e) {
      if (!(e instanceof InvalidSourceSpec)) throw e;
      this.#error(id, "runIngestion", "malformedPlan", `ingestion ${id}: ${e.message}`);
      return [];
    }
    for (const e of description.sourceExports) {
      if (this.#exportOwner.has(e.id) || this.#ingestions.has(e.id) || this.#dropped.has(e.id)) {
        this.#error(
          id,
          "runIngestion",
          "duplicateId",
          `ingestion ${id}: export id ${e.id} is already in use; use a new id`,
        );
        return [];
      }
    }
    const exports = new Set(description.sourceExports.map((e) => e.id));
    this.#ingestions.set(id, { description, exports });
    for (const e of description.sourceExports) {
      this.#exportOwner.set(e.id, id);
      this.#exportShard.set(e.id, e.shardId);
    }
    this.#track(id, exports);
    if (this.#d.index === 0) {
      this.#startedAtMs.set(id, this.#d.nowMs());
      this.#health.set(id, new Map());
      this.#setStatus(id, "starting");
      this.#d.counters.set(SLOT.ingestions, this.#ingestions.size);
    }
    this.#d.logger.info({ ingestion: id, worker: this.#d.index }, "storage: ingestion recorded");
    return [{ kind: "render", id, description, resume: isPrepared(cmd) ? cmd.resume : undefined }];
  }

  #track(id: GlobalId, exports: Iterable<GlobalId>): void {
    for (const x of [id, ...exports]) {
      if (!this.#reported.has(x)) this.#reported.set(x, Frontier.MIN);
    }
  }

  #allowCompaction(id: GlobalId, frontier: Frontier): DataflowAction[] {
    const ingestion = this.#ingestions.get(id);
    const owner = this.#exportOwner.get(id);
    if (ingestion === undefined && owner === undefined) {
      if (this.#d.index === 0) this.#d.counters.add(SLOT.benignCompactionUnknownId);
      this.#d.logger.debug({ id }, "storage: compaction of an unknown or dropped id ignored");
      return [];
    }
    const prev = this.#compaction.get(id) ?? Frontier.MIN;
    if (!Frontier.lessEqual(prev, frontier)) {
      this.#error(
        id,
        "allowCompaction",
        "frontierRegression",
        `compaction of ${id} moved back from ${Frontier.format(prev)} to ` +
          `${Frontier.format(frontier)}; compaction frontiers only advance`,
      );
      return [];
    }
    this.#compaction.set(id, frontier);
    if (frontier !== null) {
      const shardId = this.#exportShard.get(id);
      const w = shardId === undefined ? undefined : this.#writers.get(shardId);
      if (w !== undefined) {
        w.sinceWanted = frontier;
        this.#downgradeSince(w);
      }
      return [];
    }
    if (ingestion !== undefined) {
      for (const x of ingestion.exports) this.#forgetExport(x, true);
      this.#forgetIngestion(id, true);
      return [{ kind: "drop", id }];
    }
    const ing = this.#ingestions.get(owner!);
    ing?.exports.delete(id);
    this.#forgetExport(id, true);
    return [{ kind: "dropExport", ingestionId: owner!, exportId: id }];
  }

  #forgetExport(id: GlobalId, report: boolean): void {
    this.#exportOwner.delete(id);
    this.#exportShard.delete(id);
    this.#compaction.delete(id);
    if (report) {
      this.#dropped.add(id);
      if (this.#reported.delete(id)) this.#reportDropped(id, (w) => w.exportId === id);
    } else {
      this.#reported.delete(id);
    }
  }

  #forgetIngestion(id: GlobalId, report: boolean): void {
    this.#ingestions.delete(id);
    this.#compaction.delete(id);
    if (report) {
      this.#dropped.add(id);
      if (this.#reported.delete(id)) this.#reportDropped(id, (w) => w.ingestionId === id);
    } else {
      this.#reported.delete(id);
    }
    if (this.#d.index === 0) {
      if (report) this.#setStatus(id, "dropped");
      this.#statuses.delete(id);
      this.#health.delete(id);
      this.#startedAtMs.delete(id);
      this.#rehydrationMs.delete(id);
      this.#d.counters.set(SLOT.ingestions, this.#ingestions.size);
    }
    this.#d.logger.info({ ingestion: id, worker: this.#d.index }, "storage: ingestion dropped");
  }

  /**
   * Answers `droppedId` for `id` now, or — while one of this worker's writers of the id (`of`)
   * still runs (the drop action has not run yet) or has an append in flight — once they are all
   * stopped and idle (`#releaseDrops`). Held answers keep their order.
   */
  #reportDropped(id: GlobalId, of: (w: ShardWriter) => boolean): void {
    const writers = [...this.#writers.values()].filter(of);
    this.#heldDrops.push({ id, writers });
    this.#releaseDrops();
  }

  /** Answers the held `droppedId`s, in order, up to the first whose writers are not quiet. */
  #releaseDrops(): void {
    while (this.#heldDrops.length > 0) {
      const { id, writers } = this.#heldDrops[0]!;
      if (writers.some((w) => !w.dead || w.busy)) return;
      this.#heldDrops.shift();
      this.#d.respond({ kind: "droppedId", id });
    }
  }

  /** A writer's persist call settled; a stopped writer is now quiet (see `#reportDropped`). */
  #idle(w: ShardWriter): void {
    w.busy = false;
    if (w.dead && this.#heldDrops.length > 0) this.#releaseDrops();
  }

  #reconcile(): DataflowAction[] {
    const buffered = this.#buffer ?? [];
    this.#buffer = null;
    const desired = new Map<GlobalId, IngestionDescription>();
    for (const c of buffered) if (c.kind === "runIngestion") desired.set(c.id, c.description);
    const actions: DataflowAction[] = [];
    const kept: GlobalId[] = [];
    this.#reported.clear();
    this.#compaction.clear();
    for (const [id, rec] of [...this.#ingestions]) {
      const want = desired.get(id);
      if (want !== undefined && sameDescription(want, rec.description)) {
        kept.push(id);
        continue;
      }
      for (const x of rec.exports) this.#forgetExport(x, false);
      this.#forgetIngestion(id, false);
      actions.push({ kind: "drop", id });
    }
    if (this.#d.index === 0) {
      this.#d.counters.add(SLOT.reconciliationKept, kept.length);
      this.#d.counters.add(SLOT.reconciliationDropped, actions.length);
    }
    this.#d.logger.info(
      { worker: this.#d.index, kept: kept.length, dropped: actions.length },
      "storage: reconciled",
    );
    for (const c of buffered) actions.push(...this.#apply(c));
    if (this.#d.index === 0) {
      for (const id of kept) {
        const s = this.#statuses.get(id);
        if (s !== undefined) this.#emitStatus(id, s.status, s.error);
      }
    }
    return actions;
  }

  // ---- dataflows ----

  /**
   * Renders ingestion `id` at position `gen`: this worker starts generating its share, and writes
   * the export shards it owns. Skipped when the ingestion was dropped meanwhile.
   */
  render(
    gen: number,
    id: GlobalId,
    description: IngestionDescription,
    resume: IngestionResume | undefined,
  ): void {
    if (this.#dropped.has(id) || (this.#dropGenById.get(id) ?? -1) >= gen) return;
    if (resume === undefined) {
      this.#error(id, "runIngestion", "internal", `ingestion ${id} reached a worker unprepared`);
      return;
    }
    const old = this.#dataflows.get(id);
    if (old !== undefined) this.dropDataflow(gen - 1, id);
    const generator = ingestionGenerator(description, resume.startMs);
    const clock = generator.clock;
    const det = description.connection.deterministic;
    const endTick = det?.maxTicks ?? null;
    const exports = new Map<GlobalId, DataflowExport>();
    let start = INF;
    for (const e of description.sourceExports) {
      if (this.#dropped.has(e.id)) continue;
      const upper = this.#learnUpper(e.shardId, resume.uppers[e.id] ?? Frontier.MIN);
      const tick = upper === null ? (endTick ?? INF) : clock.firstTickAtOrAfter(upper);
      if (tick < start) start = tick;
      exports.set(e.id, {
        id: e.id,
        shardId: e.shardId,
        outputIndex: e.outputIndex,
        writer: writerOf(e.shardId, this.#d.peers),
        live: true,
        generated: 0n,
        bytes: 0n,
      });
    }
    if (endTick !== null && start > endTick) start = endTick;
    const df: Dataflow = {
      id,
      gen,
      generator,
      deterministic: det !== undefined,
      endTick,
      nextTick: start === INF ? 0n : start,
      exports,
    };
    this.#dataflows.set(id, df);
    for (const x of exports.values()) {
      if (x.writer === this.#d.index) this.#startWriter(df, x, start === INF ? 0n : start);
    }
    this.#d.logger.info(
      { ingestion: id, worker: this.#d.index, startTick: df.nextTick.toString() },
      "storage: ingestion rendered",
    );
    this.#d.requestStep();
  }

  /** Tears down ingestion `id`'s dataflow (position `gen`): no more generating or writing. */
  dropDataflow(gen: number, id: GlobalId): void {
    this.#dropGenById.set(id, Math.max(gen, this.#dropGenById.get(id) ?? -1));
    const df = this.#dataflows.get(id);
    if (df === undefined) return;
    this.#dataflows.delete(id);
    for (const x of df.exports.values()) this.#stopWriter(gen, x.shardId);
  }

  /** Tears down one export of a dataflow (position `gen`). */
  dropExport(gen: number, ingestionId: GlobalId, exportId: GlobalId): void {
    const df = this.#dataflows.get(ingestionId);
    const x = df?.exports.get(exportId);
    if (x === undefined) return;
    x.live = false;
    this.#stopWriter(gen, x.shardId);
  }

  #startWriter(df: Dataflow, x: DataflowExport, startTick: bigint): void {
    const w: ShardWriter = {
      ingestionId: df.id,
      exportId: x.id,
      shardId: x.shardId,
      gen: df.gen,
      generator: df.generator,
      endTick: df.endTick,
      upper: this.#knownUppers.get(x.shardId) ?? Frontier.MIN,
      queues: Array.from({ length: this.#d.peers }, () => []),
      through: Array.from({ length: this.#d.peers }, () => startTick),
      shard: undefined,
      busy: true,
      dead: false,
      error: null,
      healthy: false,
      failures: 0,
      retryAtMs: 0,
      refresh: false,
      lastPollMs: 0,
      committed: 0n,
      sinceWanted: undefined,
      sinceHandle: undefined,
      lastHeartbeatMs: 0,
    };
    this.#writers.set(x.shardId, w);
    const stash = this.#stash.get(x.shardId);
    if (stash !== undefined) {
      const later = stash.filter((s) => s.gen > w.gen);
      for (const s of stash) if (s.gen === w.gen) this.#enqueue(w, s.from, s.part);
      if (later.length > 0) this.#stash.set(x.shardId, later);
      else this.#stash.delete(x.shardId);
    }
    this.#d
      .openPersist()
      .then((p) => p.openShard(x.shardId, { create: true }))
      .then(
        (shard) => {
          w.shard = shard;
          this.#idle(w);
          this.#pump(w);
        },
        (e: unknown) => {
          this.#idle(w);
          w.refresh = true;
          this.#fail(w, e);
        },
      );
  }

  #stopWriter(gen: number, shardId: string): void {
    this.#dropGenByShard.set(shardId, Math.max(gen, this.#dropGenByShard.get(shardId) ?? -1));
    const stash = this.#stash.get(shardId)?.filter((s) => s.gen > gen);
    if (stash === undefined || stash.length === 0) this.#stash.delete(shardId);
    else this.#stash.set(shardId, stash);
    const w = this.#writers.get(shardId);
    if (w === undefined || w.gen > gen) return;
    w.dead = true;
    this.#writers.delete(shardId);
    this.#releaseDrops();
    const handle = w.sinceHandle;
    if (handle !== undefined) {
      handle.expire().catch((e: unknown) => {
        this.#d.logger.warn({ err: e, shard: shardId }, "storage: since handle expiry failed");
      });
    }
  }

  /** Joins `upper` into what is known of the shard's upper; returns the result. */
  #learnUpper(shardId: string, upper: Frontier): Frontier {
    const known = this.#knownUppers.get(shardId);
    const next = known === undefined ? upper : Frontier.join(known, upper);
    this.#knownUppers.set(shardId, next);
    return next;
  }

  // ---- the mesh ----

  /** A message from worker `from` on the storage channel. */
  receive(from: number, msg: StorageMeshMessage): void {
    if (this.#closed) return;
    switch (msg.kind) {
      case "part": {
        if ((this.#dropGenByShard.get(msg.shardId) ?? -1) >= msg.gen) return;
        const part: Part = { from: msg.from, to: msg.to, updates: msg.updates };
        const w = this.#writers.get(msg.shardId);
        if (w !== undefined && w.gen === msg.gen) {
          this.#enqueue(w, from, part);
          return;
        }
        if (w !== undefined && w.gen > msg.gen) return;
        let s = this.#stash.get(msg.shardId);
        if (s === undefined) this.#stash.set(msg.shardId, (s = []));
        s.push({ from, part, gen: msg.gen });
        return;
      }
      case "upper":
        this.#learnUpper(msg.shardId, msg.upper);
        this.#d.requestStep();
        return;
      case "health": {
        const h = this.#health.get(msg.ingestionId);
        if (h === undefined) return;
        h.set(msg.shardId, msg.error);
        this.#updateStatus(msg.ingestionId);
        return;
      }
      case "stats":
        this.#workerStats.set(from, new Map(msg.entries.map((e) => [e.exportId, e])));
        return;
    }
  }

  #sendTo(to: number, msg: StorageMeshMessage): void {
    if (to === this.#d.index) this.receive(to, msg);
    else this.#d.send(to, msg);
  }

  // ---- generating ----

  /** Generates this worker's next chunk of every dataflow; true when more work is pending. */
  step(): boolean {
    if (this.#closed) return false;
    let more = false;
    for (const df of this.#dataflows.values()) {
      if (this.#generate(df)) more = true;
    }
    return more;
  }

  #generate(df: Dataflow): boolean {
    const clock = df.generator.clock;
    let acked = INF;
    let live = 0;
    for (const x of df.exports.values()) {
      if (!x.live) continue;
      live++;
      const u = this.#knownUppers.get(x.shardId) ?? Frontier.MIN;
      const t = u === null ? INF : clock.firstTickAtOrAfter(u);
      if (t < acked) acked = t;
    }
    if (live === 0 || acked === INF) return false;
    let limit = df.endTick ?? INF;
    if (!df.deterministic) limit = min(limit, clock.ticksDue(BigInt(this.#d.nowMs())));
    limit = min(limit, acked + BigInt(this.#d.options.maxTicksInFlight));
    limit = min(limit, df.nextTick + BigInt(this.#d.options.ticksPerBatch));
    if (limit <= df.nextTick) return false;
    const from = df.nextTick;
    const parts = updatesBetween(df.generator, from, limit, {
      partition: { worker: this.#d.index, workers: this.#d.peers },
    });
    df.nextTick = limit;
    let generated = 0;
    for (const x of df.exports.values()) {
      if (!x.live) continue;
      const updates = parts.get(x.outputIndex) ?? [];
      x.generated += BigInt(updates.length);
      for (const u of updates) x.bytes += BigInt(encodeRow(u[0]).length);
      generated += updates.length;
      this.#sendTo(x.writer, {
        kind: "part",
        gen: df.gen,
        shardId: x.shardId,
        from,
        to: limit,
        updates,
      });
    }
    this.#d.counters.add(SLOT.updatesGenerated, generated);
    return true;
  }

  // ---- writing ----

  #enqueue(w: ShardWriter, from: number, part: Part): void {
    w.queues[from]!.push(part);
    w.through[from] = part.to;
    this.#pump(w);
  }

  /** Appends what every worker has sent, if the writer is idle. */
  #pump(w: ShardWriter): void {
    if (w.dead || w.busy || w.shard === undefined || this.#closed) return;
    const shard = w.shard;
    if (w.refresh || !this.#writesAllowed) {
      if (!w.refresh && this.#d.nowMs() - w.lastPollMs < this.#d.options.readOnlyPollMs) return;
      if (w.refresh && this.#d.nowMs() < w.retryAtMs) return;
      w.busy = true;
      w.lastPollMs = this.#d.nowMs();
      shard.upper().then(
        (upper) => {
          this.#idle(w);
          w.refresh = false;
          this.#adopt(w, upper);
          this.#pump(w);
        },
        (e: unknown) => {
          this.#idle(w);
          this.#fail(w, e);
        },
      );
      return;
    }
    if (w.upper === null) {
      for (const q of w.queues) q.length = 0;
      return;
    }
    if (this.#d.nowMs() < w.retryAtMs) return;
    const clock = w.generator.clock;
    let T = INF;
    for (const t of w.through) if (t < T) T = t;
    if (w.endTick !== null && T > w.endTick) T = w.endTick;
    const startTick = clock.firstTickAtOrAfter(w.upper);
    if (T <= startTick) {
      this.#consume(w, startTick);
      return;
    }
    const lower = w.upper;
    const bound = clock.timeAt(T);
    const newUpper: Frontier = w.endTick !== null && T === w.endTick ? Frontier.EMPTY : bound;
    const updates: Update[] = [];
    for (const q of w.queues) {
      for (const p of q) {
        if (p.from >= T) break;
        for (const u of p.updates) if (u[1] >= lower && u[1] < bound) updates.push(u);
      }
    }
    w.busy = true;
    shard.compareAndAppend(updates, lower, newUpper).then(
      () => {
        this.#idle(w);
        this.#d.counters.add(SLOT.appendsOk);
        this.#d.counters.add(SLOT.updatesAppended, updates.length);
        w.committed += BigInt(updates.length);
        this.#adopt(w, newUpper);
        this.#pump(w);
      },
      (e: unknown) => {
        this.#idle(w);
        if (e instanceof UpperMismatch) {
          this.#d.counters.add(SLOT.appendsUpperMismatch);
          this.#adopt(w, e.current);
          this.#pump(w);
          return;
        }
        this.#d.counters.add(SLOT.appendsError);
        w.refresh = true;
        this.#fail(w, e);
      },
    );
  }

  /** The shard's upper is (at least) `upper`: drop what it holds, tell everyone, stay healthy. */
  #adopt(w: ShardWriter, upper: Frontier): void {
    if (w.dead) return;
    const before = w.upper;
    w.upper = Frontier.join(w.upper, upper);
    w.failures = 0;
    w.retryAtMs = 0;
    if (w.upper === null) {
      for (const q of w.queues) q.length = 0;
    } else {
      this.#consume(w, w.generator.clock.firstTickAtOrAfter(w.upper));
    }
    if (w.error !== null || !w.healthy) {
      w.error = null;
      w.healthy = true;
      this.#sendTo(0, {
        kind: "health",
        ingestionId: w.ingestionId,
        shardId: w.shardId,
        error: null,
      });
    }
    if (w.upper !== before) {
      for (let to = 0; to < this.#d.peers; to++) {
        this.#sendTo(to, { kind: "upper", shardId: w.shardId, upper: w.upper });
      }
      this.#downgradeSince(w);
      this.#d.logger.trace(
        { shard: w.shardId, upper: Frontier.toJSON(w.upper) },
        "storage: upper advanced",
      );
    }
  }

  /** Drops queued updates at ticks before `tick`. */
  #consume(w: ShardWriter, tick: bigint): void {
    for (const q of w.queues) {
      while (q.length > 0 && q[0]!.to <= tick) q.shift();
      const head = q[0];
      if (head !== undefined && head.from < tick) {
        const t = w.generator.clock.timeAt(tick);
        head.updates = head.updates.filter((u) => u[1] >= t);
        head.from = tick;
      }
    }
  }

  #fail(w: ShardWriter, e: unknown): void {
    if (w.dead) return;
    const message = e instanceof Error ? e.message : String(e);
    w.failures++;
    w.retryAtMs = this.#d.nowMs() + Math.min(5000, 50 * 2 ** Math.min(w.failures, 10));
    this.#d.logger.warn(
      { err: e, ingestion: w.ingestionId, shard: w.shardId, failures: w.failures },
      "storage: append failed",
    );
    if (w.error !== message) {
      w.error = message;
      this.#sendTo(0, {
        kind: "health",
        ingestionId: w.ingestionId,
        shardId: w.shardId,
        error: message,
      });
    }
  }

  #downgradeSince(w: ShardWriter): void {
    if (w.sinceWanted === undefined || w.shard === undefined || w.dead) return;
    const target = Frontier.meet(w.sinceWanted, w.upper);
    const h = w.sinceHandle;
    if (h !== undefined && !Frontier.lessThan(h.since, target)) return;
    const shard = w.shard;
    const open = h !== undefined ? Promise.resolve(h) : shard.openSinceHandle(SINCE_READER_ID);
    open
      .then((handle) => {
        w.sinceHandle = handle;
        if (w.dead) return handle.expire();
        if (!Frontier.lessThan(handle.since, target)) return;
        w.lastHeartbeatMs = this.#d.nowMs();
        return handle.downgradeSince(target);
      })
      .catch((e: unknown) => {
        // Another replica's handle with the same reader id may be ahead: persist refuses a move
        // back, which is harmless here.
        this.#d.logger.debug({ err: e, shard: w.shardId }, "storage: since downgrade refused");
      });
  }

  // ---- reporting ----

  /** Periodic work: frontiers, statistics, read-only polls, retries, since heartbeats. */
  maintain(): void {
    if (this.#closed) return;
    for (const [id, reported] of this.#reported) {
      const upper = this.#upperOf(id);
      if (upper !== undefined && Frontier.lessThan(reported, upper)) {
        this.#reported.set(id, upper);
        this.#d.respond({ kind: "frontierUpper", id, upper });
      }
    }
    const now = this.#d.nowMs();
    for (const w of this.#writers.values()) {
      this.#pump(w);
      if (w.sinceHandle !== undefined && now - w.lastHeartbeatMs > HEARTBEAT_MS) {
        w.lastHeartbeatMs = now;
        w.sinceHandle.heartbeat().catch((e: unknown) => {
          this.#d.logger.debug({ err: e, shard: w.shardId }, "storage: heartbeat failed");
        });
      }
    }
    if (now >= this.#nextStatsAtMs) {
      this.#nextStatsAtMs = now + this.#statisticsIntervalMs();
      this.#sendTo(0, { kind: "stats", entries: this.#localStats() });
      if (this.#d.index === 0 && this.#buffer === null) this.#emitStatistics();
    }
  }

  #statisticsIntervalMs(): number {
    const p = Number(this.#params.get("storage_statistics_interval_ms"));
    return Number.isFinite(p) && p > 0 ? p : this.#d.options.statisticsIntervalMs;
  }

  /** The upper to report for a tracked id, or undefined while unknown. */
  #upperOf(id: GlobalId): Frontier | undefined {
    const shardId = this.#exportShard.get(id);
    if (shardId !== undefined) return this.#knownUppers.get(shardId);
    const ing = this.#ingestions.get(id);
    if (ing === undefined || !this.#dataflows.has(id)) return undefined;
    let meet: Frontier = Frontier.EMPTY;
    for (const x of ing.exports) {
      const s = this.#exportShard.get(x);
      const u = s === undefined ? undefined : this.#knownUppers.get(s);
      if (u === undefined) return undefined;
      meet = Frontier.meet(meet, u);
    }
    return meet;
  }

  #localStats(): ExportStats[] {
    const out: ExportStats[] = [];
    for (const df of this.#dataflows.values()) {
      for (const x of df.exports.values()) {
        if (!x.live) continue;
        const w = this.#writers.get(x.shardId);
        out.push({
          exportId: x.id,
          generated: x.generated,
          bytes: x.bytes,
          committed: w?.committed ?? 0n,
          offsetKnown: df.nextTick,
        });
      }
    }
    return out;
  }

  #emitStatistics(): void {
    const sources: SourceStatistics[] = [];
    for (const [id, ing] of this.#ingestions) {
      const clock = this.#dataflows.get(id)?.generator.clock;
      const total = { generated: 0n, bytes: 0n, committed: 0n };
      for (const x of ing.exports) {
        let generated = 0n;
        let bytes = 0n;
        let committed = 0n;
        let offsetKnown = 0n;
        for (const stats of this.#workerStats.values()) {
          const s = stats.get(x);
          if (s === undefined) continue;
          generated += s.generated;
          bytes += s.bytes;
          committed += s.committed;
          if (s.offsetKnown > offsetKnown) offsetKnown = s.offsetKnown;
        }
        total.generated += generated;
        total.bytes += bytes;
        total.committed += committed;
        const shardId = this.#exportShard.get(x);
        const upper = shardId === undefined ? undefined : this.#knownUppers.get(shardId);
        const endTick = this.#dataflows.get(id)?.endTick ?? null;
        const committedTick =
          upper === undefined || clock === undefined
            ? 0n
            : upper === null
              ? (endTick ?? offsetKnown)
              : clock.firstTickAtOrAfter(upper);
        sources.push({
          id: x,
          messagesReceived: generated,
          bytesReceived: bytes,
          updatesStaged: generated,
          updatesCommitted: committed,
          recordsIndexed: 0n,
          snapshotCommitted: committedTick > 0n,
          offsetKnown,
          offsetCommitted: committedTick,
        });
      }
      const rehydration = this.#rehydrationMs.get(id);
      sources.push({
        id,
        messagesReceived: total.generated,
        bytesReceived: total.bytes,
        updatesStaged: total.generated,
        updatesCommitted: total.committed,
        recordsIndexed: 0n,
        snapshotCommitted: this.#statuses.get(id)?.status === "running",
        ...(rehydration === undefined ? {} : { rehydrationLatencyMs: BigInt(rehydration) }),
      });
    }
    if (sources.length > 0) this.#d.respond({ kind: "statisticsUpdates", sources, sinks: [] });
  }

  /** Worker 0: derives an ingestion's status from its writers' health. */
  #updateStatus(id: GlobalId): void {
    const ing = this.#ingestions.get(id);
    const h = this.#health.get(id);
    if (ing === undefined || h === undefined) return;
    let running = true;
    for (const x of ing.exports) {
      const shardId = this.#exportShard.get(x);
      const e = shardId === undefined ? undefined : h.get(shardId);
      if (typeof e === "string") {
        this.#setStatus(id, "stalled", e);
        return;
      }
      if (e === undefined) running = false;
    }
    if (running) {
      if (!this.#rehydrationMs.has(id)) {
        const started = this.#startedAtMs.get(id) ?? this.#d.nowMs();
        this.#rehydrationMs.set(id, this.#d.nowMs() - started);
      }
      this.#setStatus(id, "running");
    }
  }

  #setStatus(id: GlobalId, status: ObjectStatus, error?: string): void {
    const prev = this.#statuses.get(id);
    if (prev !== undefined && prev.status === status && prev.error === error) return;
    if (prev?.status === "dropped") return;
    this.#statuses.set(id, error === undefined ? { status } : { status, error });
    if (this.#buffer === null) this.#emitStatus(id, status, error);
  }

  #emitStatus(id: GlobalId, status: ObjectStatus, error: string | undefined): void {
    this.#d.respond({
      kind: "statusUpdate",
      update: {
        id,
        status,
        timestampMs: BigInt(this.#d.nowMs()),
        ...(error === undefined ? {} : { error }),
        hints: [],
        namespacedErrors: new Map(),
      },
    });
  }

  #error(objectId: string, command: string, code: ErrorCode, message: string): void {
    const error: CommandError = { objectId, command, code, message };
    if (this.#d.index === 0) this.#d.counters.add(ERROR_SLOTS[code] ?? SLOT.errorsInternal);
    this.#d.respond({ kind: "commandError", error });
  }

  /** Stops every writer (the worker is closing). */
  close(): void {
    this.#closed = true;
    for (const w of this.#writers.values()) w.dead = true;
    this.#writers.clear();
  }
}

const ERROR_SLOTS: Partial<Record<ErrorCode, Slot>> = {
  duplicateId: SLOT.errorsDuplicateId,
  frontierRegression: SLOT.errorsFrontierRegression,
  malformedPlan: SLOT.errorsMalformed,
  unsupported: SLOT.errorsUnsupported,
  internal: SLOT.errorsInternal,
};

/** The worker that writes shard `shardId` among `peers` workers. */
export function writerOf(shardId: string, peers: number): number {
  return hashString(shardId) % peers;
}

function min(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}
