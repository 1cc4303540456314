/**
 * `StorageState`: one worker's storage state machine — the bookkeeping of the controller's
 * commands and the ingestion dataflows they imply — composing the parts that each own one concept:
 *
 * | Part                    | Owns                                                                |
 * | ----------------------- | ------------------------------------------------------------------- |
 * | `ingestion-dataflow.ts` | a rendered ingestion: its generator, this worker's share of ticks  |
 * | `shard-writer.ts`       | the one writer of an export shard: appends, upper, health, since    |
 * | `status.ts`             | worker 0's status of every ingestion (`statusUpdate`)               |
 * | `statistics.ts`         | per-worker counters summed on worker 0 (`statisticsUpdates`)        |
 * | `storage-introspection.ts` | the introspection events sampled once per tick (unified logging) |
 * | `reconciliation.ts`     | what a reconnection keeps and drops                                 |
 * | `drop-path.ts`          | what a drop forgets, dropped ids, the `droppedId` write fence       |
 * | `mesh-messages.ts`      | the messages between workers (`STORAGE_CHANNEL`)                    |
 *
 * The state is driven by a worker loop (the unified `storage-worker.ts`, or the legacy worker in
 * `legacy/`), which supplies the mesh, the responses sink and persist (`storage-state-deps.ts`).
 * It separates, as Materialize's `storage_state.rs` does:
 * - **bookkeeping** (`applyCommand`): every worker applies every controller command to its own
 *   maps (recorded ingestions, tracked ids, compaction frontiers) and answers bad commands; it
 *   returns the **dataflow actions** the command implies (render / drop);
 * - **dataflows** (`render`, `dropDataflow`, `dropExport`): what the actions do, each stamped with
 *   a position `gen` of the total order that every worker shares (the unified runtime's sequence
 *   number; the legacy internal sequencer's global index). The unified worker executes the actions
 *   at once; the legacy worker 0 first runs its async task, then orders them as internal commands.
 *
 * ## Write path (W workers, one writer per shard)
 * 1. Every worker generates *its partition* of the generator's ticks in chunks and sends each
 *    export's part to the shard's **writer**, worker `hash(shardId) % W`, over the mesh
 *    (`step` → `generateChunk`, `ingestion-dataflow.ts`).
 * 2. The writer appends once every worker has sent its parts up to a tick, with one
 *    `compareAndAppend` (`ShardWriter.pump`); parts that arrive before the writer is rendered
 *    wait in a stash.
 * 3. On `UpperMismatch` it adopts the returned upper (another replica wrote the same
 *    deterministic ticks first): duplicates harmless, no gaps. Other failures mark the ingestion
 *    stalled; the writer re-reads the upper and retries with backoff.
 * 4. Each upper advance is broadcast to every worker (`receive` → `#learnUpper`), so every worker
 *    reports `frontierUpper` for every id it tracks (the process merge takes the meet), and paces
 *    its generation: a worker runs at most `maxTicksInFlight` ticks ahead of the shards' uppers.
 * Until `allowWrites` (read-only mode) writers poll their shard's upper instead of appending.
 *
 * ## Responses
 * - `frontierUpper` (every worker, every tracked id, on `maintain`): an export's known shard upper;
 *   the ingestion id's is the meet over its live exports. Reported only when it strictly advances.
 * - `droppedId` (every worker, once per tracked id) at drop time; nothing for the id after it.
 *   A worker that writes one of the id's shards answers only once that writer has stopped and
 *   its persist call in flight has settled, so a drop is a write fence: the shard's upper never
 *   moves after the controller hears `droppedId` (`drop-path.ts`).
 * - `statusUpdate` (worker 0 only): `status.ts`.
 * - `statisticsUpdates` (worker 0, every `statisticsIntervalMs`): `statistics.ts`.
 * - `commandError` (every worker, deduplicated by the process merge) for bad commands.
 *
 * ## Maintenance (issue 16)
 * `maintain()` runs when something it reports may have changed — the state asks through
 * `deps.requestMaintenance` (`#changed`) on every command, mesh message (upper broadcasts, parts,
 * health, statistics), step that generated, persist call of a writer that settled, render and
 * drop — or when it is next due (its return value): statistics, a writer's read-only poll,
 * retry or since heartbeat, the next tick of a real-time ingestion (for which it asks a step).
 * An idle worker with a once-a-second source wakes a few times a second, not every 10 ms. Both
 * worker loops (unified, legacy) run it through mz-cluster's `MaintenanceTimer`; a loop without
 * `requestMaintenance` would have to call it on a fixed interval.
 *
 * ## Bad commands (design §3)
 * A re-sent identical `runIngestion` is a no-op (replay); a different description under a running
 * or dropped id is `duplicateId`; a malformed description is `malformedPlan`; a compaction frontier
 * moving back is `frontierRegression`; `runSink` is `unsupported`. Compaction of an unknown or
 * dropped id is tolerated and counted (`mz_storage_benign_races_total`). Nothing throws out.
 *
 * ## Reconciliation and the drop path
 * After `onConnection()` commands are buffered until `initializationComplete`; then
 * `#reconcile` applies `DropPath.reconcile` (`drop-path.ts`, over `reconciliation.ts`'s plan) and
 * the buffer. What a drop forgets, and the `droppedId` write fence, are `drop-path.ts`'s; the
 * dataflow side (steps 2–3: `dropDataflow` / `dropExport` → `#stopWriter`) stays here.
 */
import type { CommandError, ErrorCode, IngestionDescription, StorageCommand } from "@mzts/protocol";
import { Frontier, type GlobalId } from "@mzts/repr";
import type { DataflowAction } from "./dataflow-actions.js";
import { DropPath, type RecordedIngestion } from "./drop-path.js";
import { InvalidSourceSpec } from "./errors.js";
import {
  type IngestionResume,
  isPrepared,
  type RunIngestion,
  sameDescription,
  validateDescription,
} from "./ingestion.js";
import {
  exportStats,
  type GenerateScope,
  generateChunk,
  type IngestionDataflow,
  renderIngestion,
} from "./ingestion-dataflow.js";
import { MAX_MAINTENANCE_SLEEP_MS, nextTickAtMs } from "./maintenance-due.js";
import type { ExportStats, StorageMeshMessage } from "./mesh-messages.js";
import { SLOT, type Slot } from "./metrics.js";
import { type Part, ShardWriter, type WriterScope } from "./shard-writer.js";
import { StorageStatistics, statisticsIntervalMs } from "./statistics.js";
import { IngestionStatuses } from "./status.js";
import { StorageIntrospection } from "./storage-introspection.js";
import type { StorageStateDeps } from "./storage-state-deps.js";

export { ACTIONS_PER_COMMAND, type DataflowAction } from "./dataflow-actions.js";

/** One worker's storage state; see the file comment. */
export class StorageState {
  readonly #d: StorageStateDeps;
  // ---- bookkeeping (identical on every worker: a function of the controller commands) ----
  /** Recorded ingestions, from `runIngestion` until dropped or reconciled away. */
  readonly #ingestions = new Map<GlobalId, RecordedIngestion>();
  /** Export id → its ingestion id, while the export lives. */
  readonly #exportOwner = new Map<GlobalId, GlobalId>();
  /** Export id → its shard id, while the export lives. */
  readonly #exportShard = new Map<GlobalId, string>();
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
  readonly #dataflows = new Map<GlobalId, IngestionDataflow>();
  /** Shard id → its writer, when this worker writes it. */
  readonly #writers = new Map<string, ShardWriter>();
  /** Shard id → parts that arrived before this worker rendered their writer. */
  readonly #stash = new Map<string, Array<{ from: number; part: Part; gen: number }>>();
  /** Ingestion id → the position of its last drop; renders at or before it are dead. */
  readonly #dropGenById = new Map<GlobalId, number>();
  /** Shard id → the position of its last drop; parts of renders at or before it are dead. */
  readonly #dropGenByShard = new Map<string, number>();
  /** Shard id → the greatest upper learned (resume points, writer broadcasts). */
  readonly #knownUppers = new Map<string, Frontier>();
  // ---- reporting ----
  /** Worker 0: ingestion statuses (the other workers' stays empty). */
  readonly #statuses: IngestionStatuses;
  /** Statistics: this worker's schedule; worker 0's sums. */
  readonly #statistics = new StorageStatistics();
  /** What the shard writers see of this state. */
  readonly #writerScope: WriterScope;
  /** What generating sees of this state. */
  readonly #generateScope: GenerateScope;
  /** Introspection events, sampled from the maps above on `maintain` (phase 2, unified). */
  readonly #introspection: StorageIntrospection;
  /** What dropping forgets, the dropped ids, the held `droppedId`s (`drop-path.ts`). */
  readonly #drops: DropPath;
  #closed = false;

  constructor(deps: StorageStateDeps) {
    this.#d = deps;
    const sendTo = (to: number, msg: StorageMeshMessage) => this.#sendTo(to, msg);
    this.#writerScope = {
      deps,
      sendTo,
      writesAllowed: () => this.#writesAllowed,
      closed: () => this.#closed,
      settled: () => this.#changed(),
      onQuiet: () => this.#drops.releaseDrops(),
    };
    this.#generateScope = {
      deps,
      sendTo,
      knownUpper: (shardId) => this.#knownUppers.get(shardId),
    };
    this.#statuses = new IngestionStatuses({
      deps,
      exportShards: (id) => {
        const ing = this.#ingestions.get(id);
        return ing === undefined
          ? undefined
          : [...ing.exports].map((x) => this.#exportShard.get(x));
      },
      buffering: () => this.#buffer !== null,
    });
    this.#drops = new DropPath({
      deps,
      ingestions: this.#ingestions,
      exportOwner: this.#exportOwner,
      exportShard: this.#exportShard,
      compaction: this.#compaction,
      reported: this.#reported,
      writers: this.#writers,
      statuses: this.#statuses,
    });
    this.#introspection = new StorageIntrospection({
      writers: this.#writers,
      dataflows: this.#dataflows,
      knownUppers: this.#knownUppers,
      statuses: this.#statuses,
    });
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
    this.#changed();
    this.#drops.forgetHeld();
  }

  /**
   * Applies a controller command to the bookkeeping and returns the dataflow actions it implies.
   * Bad commands are answered in band; nothing throws.
   */
  applyCommand(cmd: StorageCommand): DataflowAction[] {
    this.#changed();
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
        for (const w of this.#writers.values()) w.pump();
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
    if (this.#drops.wasDropped(id)) {
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
      if (
        this.#exportOwner.has(e.id) ||
        this.#ingestions.has(e.id) ||
        this.#drops.wasDropped(e.id)
      ) {
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
      this.#statuses.record(id);
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

  /** Compaction of `id`; the empty frontier drops it (the drop path, step 1). */
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
      w?.wantSince(frontier);
      return [];
    }
    if (ingestion !== undefined) {
      for (const x of ingestion.exports) this.#drops.forgetExport(x, true);
      this.#drops.forgetIngestion(id, true);
      return [{ kind: "drop", id }];
    }
    const ing = this.#ingestions.get(owner!);
    ing?.exports.delete(id);
    this.#drops.forgetExport(id, true);
    return [{ kind: "dropExport", ingestionId: owner!, exportId: id }];
  }

  /** `initializationComplete` after a reconnection: `DropPath.reconcile`, then the buffer. */
  #reconcile(): DataflowAction[] {
    const buffered = this.#buffer ?? [];
    this.#buffer = null;
    const { kept, actions } = this.#drops.reconcile(buffered);
    for (const c of buffered) actions.push(...this.#apply(c));
    if (this.#d.index === 0) this.#statuses.resend(kept);
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
    if (this.#drops.wasDropped(id) || (this.#dropGenById.get(id) ?? -1) >= gen) return;
    if (resume === undefined) {
      this.#error(id, "runIngestion", "internal", `ingestion ${id} reached a worker unprepared`);
      return;
    }
    const old = this.#dataflows.get(id);
    if (old !== undefined) this.dropDataflow(gen - 1, id);
    const df = renderIngestion(
      {
        peers: this.#d.peers,
        isDropped: (x) => this.#drops.wasDropped(x),
        learnUpper: (shardId, upper) => this.#learnUpper(shardId, upper),
      },
      gen,
      id,
      description,
      resume,
    );
    this.#dataflows.set(id, df);
    for (const x of df.exports.values()) {
      if (x.writer === this.#d.index) this.#startWriter(df, x.id, x.shardId);
    }
    this.#d.logger.info(
      { ingestion: id, worker: this.#d.index, startTick: df.nextTick.toString() },
      "storage: ingestion rendered",
    );
    this.#d.requestStep();
    this.#changed();
  }

  /**
   * Tears down ingestion `id`'s dataflow (position `gen`): no more generating or writing (the
   * drop path, step 2).
   */
  dropDataflow(gen: number, id: GlobalId): void {
    this.#dropGenById.set(id, Math.max(gen, this.#dropGenById.get(id) ?? -1));
    const df = this.#dataflows.get(id);
    if (df === undefined) return;
    this.#changed();
    this.#dataflows.delete(id);
    for (const x of df.exports.values()) this.#stopWriter(gen, x.shardId);
  }

  /** Tears down one export of a dataflow (position `gen`; the drop path, step 2). */
  dropExport(gen: number, ingestionId: GlobalId, exportId: GlobalId): void {
    const df = this.#dataflows.get(ingestionId);
    const x = df?.exports.get(exportId);
    if (x === undefined) return;
    x.live = false;
    this.#changed();
    this.#stopWriter(gen, x.shardId);
  }

  /** This worker writes `shardId`: a writer starting at the dataflow's start tick. */
  #startWriter(df: IngestionDataflow, exportId: GlobalId, shardId: string): void {
    const w = new ShardWriter(this.#writerScope, {
      ingestionId: df.id,
      exportId,
      shardId,
      gen: df.gen,
      generator: df.generator,
      endTick: df.endTick,
      upper: this.#knownUppers.get(shardId) ?? Frontier.MIN,
      startTick: df.nextTick,
    });
    this.#writers.set(shardId, w);
    const stash = this.#stash.get(shardId);
    if (stash !== undefined) {
      const later = stash.filter((s) => s.gen > w.gen);
      for (const s of stash) if (s.gen === w.gen) w.enqueue(s.from, s.part);
      if (later.length > 0) this.#stash.set(shardId, later);
      else this.#stash.delete(shardId);
    }
    w.open();
  }

  /** The drop path, step 3: parts of renders at or before `gen` are dead; the writer stops. */
  #stopWriter(gen: number, shardId: string): void {
    this.#dropGenByShard.set(shardId, Math.max(gen, this.#dropGenByShard.get(shardId) ?? -1));
    const stash = this.#stash.get(shardId)?.filter((s) => s.gen > gen);
    if (stash === undefined || stash.length === 0) this.#stash.delete(shardId);
    else this.#stash.set(shardId, stash);
    const w = this.#writers.get(shardId);
    if (w === undefined || w.gen > gen) return;
    this.#writers.delete(shardId);
    w.stop();
    this.#drops.releaseDrops();
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
    this.#changed();
    switch (msg.kind) {
      case "part": {
        if ((this.#dropGenByShard.get(msg.shardId) ?? -1) >= msg.gen) return;
        const part: Part = { from: msg.from, to: msg.to, updates: msg.updates };
        const w = this.#writers.get(msg.shardId);
        if (w !== undefined && w.gen === msg.gen) {
          w.enqueue(from, part);
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
      case "health":
        this.#statuses.onHealth(msg.ingestionId, msg.shardId, msg.error);
        return;
      case "stats":
        this.#statistics.absorb(from, msg.entries);
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
      if (generateChunk(this.#generateScope, df)) more = true;
    }
    if (more) this.#changed();
    return more;
  }

  // ---- reporting ----

  /**
   * Reporting and timed work: frontiers, statistics, read-only polls, retries, since heartbeats,
   * introspection samples; a real-time ingestion's tick that has come asks for a step. Returns
   * the ms until it is next due unasked (the earliest of the next statistics, a writer's poll,
   * retry or heartbeat, a real-time tick; at most `MAX_MAINTENANCE_SLEEP_MS`): everything else it
   * reports changes only through what asks for it (`#changed`: commands, mesh messages, steps
   * that generated, persist calls that settled). See "Maintenance" in the file comment.
   */
  maintain(): number {
    if (this.#closed) return Number.POSITIVE_INFINITY;
    for (const [id, reported] of this.#reported) {
      const upper = this.#upperOf(id);
      if (upper !== undefined && Frontier.lessThan(reported, upper)) {
        this.#reported.set(id, upper);
        this.#d.respond({ kind: "frontierUpper", id, upper });
      }
    }
    const now = this.#d.nowMs();
    let due = MAX_MAINTENANCE_SLEEP_MS;
    for (const w of this.#writers.values()) {
      w.pump();
      w.heartbeat(now);
      due = Math.min(due, w.dueInMs(now));
    }
    for (const df of this.#dataflows.values()) {
      const at = nextTickAtMs(df);
      if (at === undefined) continue;
      // A tick that has come is generated by a step (which asks for maintenance when it did).
      if (at <= now) this.#d.requestStep();
      else due = Math.min(due, at - now);
    }
    if (this.#statistics.due(now, statisticsIntervalMs(this.#params, this.#d.options))) {
      this.#sendTo(0, { kind: "stats", entries: this.#localStats() });
      if (this.#d.index === 0 && this.#buffer === null) {
        const sources = this.#statistics.summarize(this.#statisticsView());
        if (sources.length > 0) this.#d.respond({ kind: "statisticsUpdates", sources, sinks: [] });
      }
    }
    this.#introspection.sample(this.#d.eventLogger?.());
    due = Math.min(due, this.#statistics.nextAtMs - now);
    // Never 0: a due time that has passed would run maintenance back to back.
    return Math.max(1, due);
  }

  /** Something maintenance reports (or schedules) may have changed: ask for a run. */
  #changed(): void {
    this.#d.requestMaintenance?.();
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
    const committedOf = (shardId: string) => this.#writers.get(shardId)?.committed ?? 0n;
    return [...this.#dataflows.values()].flatMap((df) => exportStats(df, committedOf));
  }

  #statisticsView() {
    return {
      ingestions: () => [...this.#ingestions].map(([id, ing]) => [id, ing.exports] as const),
      dataflow: (id: GlobalId) => {
        const df = this.#dataflows.get(id);
        return df === undefined ? undefined : { clock: df.generator.clock, endTick: df.endTick };
      },
      exportUpper: (x: GlobalId) => {
        const shardId = this.#exportShard.get(x);
        return shardId === undefined ? undefined : this.#knownUppers.get(shardId);
      },
      isRunning: (id: GlobalId) => this.#statuses.isRunning(id),
      rehydrationMs: (id: GlobalId) => this.#statuses.rehydrationMs(id),
    };
  }

  #error(objectId: string, command: string, code: ErrorCode, message: string): void {
    const error: CommandError = { objectId, command, code, message };
    if (this.#d.index === 0) this.#d.counters.add(ERROR_SLOTS[code] ?? SLOT.errorsInternal);
    this.#d.respond({ kind: "commandError", error });
  }

  /** Stops every writer (the worker is closing). */
  close(): void {
    this.#closed = true;
    for (const w of this.#writers.values()) w.kill();
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
