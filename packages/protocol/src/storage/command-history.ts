/**
 * The storage controller's command history: every command an instance has sent, reduced so that
 * its size is bounded by the live objects, not by time (materialize.md §3.3, `history.rs`).
 *
 * A new or rehydrated replica receives `commands()` (filtered by `IngestionPlacement.commandsFor`)
 * and must end up in the same state as a replica that saw every command live.
 *
 * ## Trigger
 * `push` reduces when the length exceeds twice the length after the last reduction (so the first
 * push reduces); the controller also calls `reduce()` before every replay.
 *
 * ## Reduction rules
 * 1. Keep the last `hello`.
 * 2. Fold every `updateConfiguration` into one (later values of a key win); emitted only if one
 *    was seen.
 * 3. Keep the *latest* `runIngestion`/`runSink` per id (an alteration replaces the definition).
 * 4. Remember the last `allowCompaction` per id. An ingestion whose own id was compacted to the
 *    empty frontier is dropped together with the compactions of all its collection ids;
 *    otherwise it is kept with the final compactions of all its collection ids (its own id and
 *    its source export ids), so a partially dropped ingestion keeps its subsource's drop.
 * 5. A sink compacted to empty is dropped; a sink's non-empty compaction is discarded (storage
 *    treats it as informational).
 * 6. Compactions for ids that belong to no live object are discarded.
 * 7. `initializationComplete` and `allowWrites` are kept (once each) if seen.
 *
 * ## Output order
 * hello, updateConfiguration, runIngestion…, runSink…, allowCompaction…, initializationComplete,
 * allowWrites. Objects keep the order in which their ids first appeared.
 *
 * ## Guard
 * `push` refuses an `allowCompaction` that moves a live id's compaction frontier backward
 * (`CompactionRegression`); a regressed frontier would make a replayed replica differ from one
 * that saw the commands live.
 *
 * ## Metrics
 * `mz_storage_controller_history_command_count{instance_id, command_type}`: every kind is *set* at the end of
 * a reduction (no reset first), and the pushed kind is incremented between reductions.
 */
import { Frontier, type GlobalId } from "@mzts/repr";
import { CompactionRegression } from "../errors.js";
import {
  type IngestionDescription,
  STORAGE_COMMAND_KINDS,
  type StorageCommand,
  type StorageCommandKind,
} from "./command.js";

/**
 * Where one storage command history mirrors its per-kind counts (storage-client's
 * `createStorageControllerMetrics(registry).historyCountsFor(instanceId)` writes them into a Prometheus gauge).
 */
export interface StorageHistoryMetrics {
  /** Sets the count of `commandType` commands. */
  set(commandType: StorageCommandKind, count: number): void;
  /** Adds one `commandType` command. */
  inc(commandType: StorageCommandKind): void;
}

type Cmd<K extends StorageCommandKind> = Extract<StorageCommand, { kind: K }>;

/** The collections an ingestion writes: its own id first, then its source exports (deduplicated). */
export function ingestionCollectionIds(
  id: GlobalId,
  description: IngestionDescription,
): GlobalId[] {
  const ids = [id];
  for (const e of description.sourceExports) if (!ids.includes(e.id)) ids.push(e.id);
  return ids;
}

/** Options of `StorageCommandHistory`. */
export interface StorageCommandHistoryOptions {
  /** Receives per-kind counts (`createStorageControllerMetrics(registry).historyCountsFor(instanceId)`). */
  readonly metrics?: StorageHistoryMetrics;
}

/** The reducing command history of one storage instance. */
export class StorageCommandHistory {
  /** The commands, oldest first; replaced wholesale by each reduction. */
  #commands: StorageCommand[] = [];
  /** Length right after the last reduction (0 before the first); drives the doubling trigger. */
  #reducedCount = 0;
  /** Commands per kind in `#commands`; kept in step by `push` and recomputed by `reduce`. */
  #counts = new Map<StorageCommandKind, number>();
  /**
   * Latest compaction frontier per id of a live object (ingestion collections and sinks), for the
   * regression guard. Set on push; entries of ids no longer live are pruned by `reduce`.
   */
  #compactions = new Map<GlobalId, Frontier>();
  /** Optional metric sink; written on every push and reduction. */
  readonly #metrics: StorageHistoryMetrics | undefined;

  constructor(options: StorageCommandHistoryOptions = {}) {
    this.#metrics = options.metrics;
    for (const kind of STORAGE_COMMAND_KINDS) this.#counts.set(kind, 0);
  }

  /**
   * Appends a command, reducing when the history has doubled since the last reduction.
   * @throws CompactionRegression when an `allowCompaction` moves an id's frontier backward.
   */
  push(command: StorageCommand): void {
    if (command.kind === "allowCompaction") {
      const current = this.#compactions.get(command.id);
      if (current !== undefined && !Frontier.lessEqual(current, command.frontier)) {
        throw new CompactionRegression(command.id, current, command.frontier);
      }
      this.#compactions.set(command.id, command.frontier);
    }
    this.#commands.push(command);
    if (this.#commands.length > 2 * this.#reducedCount) {
      this.reduce();
    } else {
      this.#counts.set(command.kind, (this.#counts.get(command.kind) ?? 0) + 1);
      this.#metrics?.inc(command.kind);
    }
  }

  /** Reduces the history in place by the rules in this file's header. */
  reduce(): void {
    let hello: Cmd<"hello"> | undefined;
    let initializationComplete: Cmd<"initializationComplete"> | undefined;
    let allowWrites: Cmd<"allowWrites"> | undefined;
    const configs: Cmd<"updateConfiguration">[] = [];
    const ingestions = new Map<GlobalId, Cmd<"runIngestion">>();
    const sinks = new Map<GlobalId, Cmd<"runSink">>();
    const finalCompactions = new Map<GlobalId, Cmd<"allowCompaction">>();

    for (const command of this.#commands) {
      switch (command.kind) {
        case "hello":
          hello = command;
          break;
        case "initializationComplete":
          initializationComplete = command;
          break;
        case "allowWrites":
          allowWrites = command;
          break;
        case "updateConfiguration":
          configs.push(command);
          break;
        case "runIngestion":
          ingestions.set(command.id, command);
          break;
        case "runSink":
          sinks.set(command.id, command);
          break;
        case "allowCompaction":
          finalCompactions.set(command.id, command);
          break;
      }
    }

    const liveIds = new Set<GlobalId>();
    const runIngestions: StorageCommand[] = [];
    const compactions: StorageCommand[] = [];
    for (const [id, command] of ingestions) {
      const collectionIds = ingestionCollectionIds(id, command.description);
      if (finalCompactions.get(id)?.frontier === null) {
        for (const c of collectionIds) finalCompactions.delete(c);
        continue;
      }
      runIngestions.push(command);
      for (const c of collectionIds) {
        liveIds.add(c);
        const compaction = finalCompactions.get(c);
        if (compaction === undefined) continue;
        compactions.push(compaction);
        finalCompactions.delete(c);
      }
    }
    const runSinks: StorageCommand[] = [];
    for (const [id, command] of sinks) {
      const compaction = finalCompactions.get(id);
      finalCompactions.delete(id);
      if (compaction?.frontier === null) continue;
      runSinks.push(command);
      liveIds.add(id);
    }
    // What is left in `finalCompactions` are stray compactions: discarded.

    const reduced: StorageCommand[] = [];
    if (hello !== undefined) reduced.push(hello);
    const config = foldConfigurations(configs);
    if (config !== undefined) reduced.push(config);
    reduced.push(...runIngestions, ...runSinks, ...compactions);
    if (initializationComplete !== undefined) reduced.push(initializationComplete);
    if (allowWrites !== undefined) reduced.push(allowWrites);

    this.#commands = reduced;
    this.#reducedCount = reduced.length;
    for (const id of this.#compactions.keys()) if (!liveIds.has(id)) this.#compactions.delete(id);

    const counts = new Map<StorageCommandKind, number>();
    for (const kind of STORAGE_COMMAND_KINDS) counts.set(kind, 0);
    for (const command of reduced) counts.set(command.kind, (counts.get(command.kind) ?? 0) + 1);
    this.#counts = counts;
    // Set, never reset: a concurrent scrape sees either the old or the new value of each kind.
    if (this.#metrics !== undefined) {
      for (const [kind, count] of counts) this.#metrics.set(kind, count);
    }
  }

  /** The commands, oldest first. The array is a snapshot; the commands are shared, not copied. */
  commands(): readonly StorageCommand[] {
    return this.#commands.slice();
  }

  /** The number of commands held. */
  get size(): number {
    return this.#commands.length;
  }

  /** The number of commands held per kind (every kind present, 0 when absent). */
  counts(): ReadonlyMap<StorageCommandKind, number> {
    return new Map(this.#counts);
  }
}

/** One configuration command with every key's last value, or undefined when none was seen. */
function foldConfigurations(
  configs: readonly Cmd<"updateConfiguration">[],
): Cmd<"updateConfiguration"> | undefined {
  if (configs.length <= 1) return configs[0];
  const params = new Map<string, string>();
  for (const c of configs) for (const [k, v] of c.params) params.set(k, v);
  return { kind: "updateConfiguration", params };
}
