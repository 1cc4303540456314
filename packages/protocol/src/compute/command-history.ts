/**
 * The compute controller's command history: every command an instance has sent to its replicas,
 * reduced so that its size is bounded by the live objects, not by time (materialize.md §2.5,
 * compute-client `history.rs`).
 *
 * A new or rehydrated replica receives `commands()` and must end up in the same target state as a
 * replica that saw every command live: the same live dataflows with the same effective as-of
 * (per export: the join of the dataflow's as-of and the export's last compaction), the same
 * scheduled and writable ids, the same live peeks, the same configuration.
 *
 * ## Flow
 * 1. The controller `push`es every command it broadcasts to the instance's replicas.
 * 2. `push` reduces whenever the length exceeds twice the length after the last reduction (so the
 *    first push reduces): amortised O(1) per command, size ≤ 2 × (reduced size) + 1.
 * 3. When a peek is answered, the controller calls `retirePeek(uuid)`; the peek is left out of
 *    every later reduction (it also sends `cancelPeek`, which is never kept).
 * 4. Before a replay the replica task calls `updateSourceUppers(…)` and then `commands()`, which
 *    reduces first.
 *
 * ## Reduction rules
 * 1. Keep the latest `hello` (the replica task rewrites its nonce per connection) and the single
 *    `createInstance` (a second one is refused by `push` with `DuplicateInstanceCommand`).
 * 2. Fold every `updateConfiguration` into one: a later set field wins, `dyncfgUpdates` maps are
 *    merged key by key.
 * 3. Remember the last `allowCompaction` per id (`push` refuses a backward move with
 *    `CompactionRegression`).
 * 4. A dataflow's new as-of is `join(asOf, meet over its exports of (last compaction ?? asOf))`.
 *    The meet is Materialize's `Antichain::extend` (the union of antichains): a dataflow must
 *    stay correct for its *least* compacted export, and the empty frontier is the top, so it only
 *    wins when every export was dropped. The outer join with the original as-of means the as-of
 *    never regresses, even for a compaction below it.
 * 5. A compaction at or below the new as-of is absorbed into it (it changes nothing on a replica);
 *    the others follow the peeks.
 * 6. A dataflow whose new as-of is empty is deleted, with its `schedule`s, `allowWrites` and
 *    compactions. `schedule`/`allowWrites` are kept once per id of a live dataflow.
 * 7. Peeks are kept while live: not followed by a `cancelPeek` and not retired. `cancelPeek`s are
 *    never kept (they only refer to removed peeks).
 * 8. Compactions, `schedule`s and `allowWrites` of ids that belong to no live dataflow (stray) are
 *    dropped; `initializationComplete` is kept once if seen.
 *
 * ## Output order
 * hello, createInstance, updateConfiguration, createDataflow…, schedule…, peek…, allowCompaction…
 * (after the peeks on purpose: a peek replayed before the compactions still reads at a time the
 * replica has not compacted away), allowWrites…, initializationComplete. Dataflows keep their
 * creation (dependency) order; compactions follow their dataflows' exports; everything else keeps
 * the order in which it was first pushed.
 *
 * ## Metrics
 * `countsByType()` and `dataflowCount` are a snapshot of the commands held. `attachMetrics`
 * mirrors them into `mz_compute_controller_history_{command,dataflow}_count`: every push sets the
 * pushed kind's new count, every reduction sets every kind (never resets), so a scrape never sees a
 * transiently empty history.
 */
import { Frontier, type GlobalId } from "@mzts/repr";
import { CompactionRegression, DuplicateInstanceCommand, DuplicatePeek } from "../errors.js";
import {
  COMPUTE_COMMAND_KINDS,
  type ComputeCommand,
  type ComputeCommandKind,
  type ComputeParameters,
  type DataflowDescription,
} from "./command.js";

/**
 * Where one compute command history mirrors its sizes (compute-client's `bindHistoryMetrics`
 * writes them into Prometheus gauges).
 */
export interface ComputeHistoryMetrics {
  /** Sets the number of `kind` commands. */
  setCommandCount(kind: ComputeCommandKind, count: number): void;
  /** Sets the number of dataflows. */
  setDataflowCount(count: number): void;
  /** Removes this history's series (the instance is gone). */
  remove(): void;
}

type Cmd<K extends ComputeCommandKind> = Extract<ComputeCommand, { kind: K }>;

/** The ids a dataflow exports: its index exports, then its sink exports. */
export function dataflowExportIds(dataflow: DataflowDescription): GlobalId[] {
  return [...dataflow.indexExports.map((e) => e.id), ...dataflow.sinkExports.map((e) => e.id)];
}

/** The reducing command history of one compute instance. */
export class ComputeCommandHistory {
  /** The commands, oldest first; appended by `push`, replaced wholesale by each reduction. */
  #commands: ComputeCommand[] = [];
  /** Length right after the last reduction (0 before the first); drives the doubling trigger. */
  #reducedCount = 0;
  /** Commands per kind in `#commands` (every kind present); kept in step by every mutation. */
  #counts = new Map<ComputeCommandKind, number>();
  /** Whether a `createInstance` was pushed; set once, never cleared (the command is kept). */
  #hasInstance = false;
  /**
   * Uuids of the peeks that are live: added by a pushed `peek`, removed by a pushed `cancelPeek`,
   * `retirePeek` or `discardPeeks`. A reduction keeps exactly these peeks.
   */
  #livePeeks = new Set<string>();
  /**
   * Last compaction frontier per id, for the regression guard. Set by `push`; entries of ids that
   * are no export of a live dataflow are pruned by `reduce` (later traffic for them is stray).
   */
  #compactions = new Map<GlobalId, Frontier>();
  /** Where counts are mirrored; set by `attachMetrics`, cleared by its detach function. */
  #metrics: ComputeHistoryMetrics | undefined;

  constructor() {
    for (const kind of COMPUTE_COMMAND_KINDS) this.#counts.set(kind, 0);
  }

  /**
   * Appends a command, reducing when the history has doubled since the last reduction.
   * @throws DuplicateInstanceCommand on a second `createInstance`.
   * @throws CompactionRegression when an `allowCompaction` moves an id's frontier backward.
   * @throws DuplicatePeek when a `peek` reuses the uuid of a live peek.
   */
  push(command: ComputeCommand): void {
    switch (command.kind) {
      case "createInstance":
        if (this.#hasInstance) throw new DuplicateInstanceCommand(command.kind);
        this.#hasInstance = true;
        break;
      case "allowCompaction": {
        const current = this.#compactions.get(command.id);
        if (current !== undefined && !Frontier.lessEqual(current, command.frontier)) {
          throw new CompactionRegression(command.id, current, command.frontier);
        }
        this.#compactions.set(command.id, command.frontier);
        break;
      }
      case "peek":
        if (this.#livePeeks.has(command.peek.uuid)) throw new DuplicatePeek(command.peek.uuid);
        this.#livePeeks.add(command.peek.uuid);
        break;
      case "cancelPeek":
        this.#livePeeks.delete(command.uuid);
        break;
      default:
        break;
    }
    this.#commands.push(command);
    this.#bump(command.kind, 1);
    if (this.#commands.length > 2 * this.#reducedCount) this.reduce();
  }

  /**
   * Marks a peek as answered: no later reduction keeps it. Returns whether the peek was live (an
   * unknown, cancelled or already retired uuid is a benign race and changes nothing).
   */
  retirePeek(uuid: string): boolean {
    return this.#livePeeks.delete(uuid);
  }

  /** Reduces the history in place by the rules in this file's header. */
  reduce(): void {
    let hello: Cmd<"hello"> | undefined;
    let createInstance: Cmd<"createInstance"> | undefined;
    let initializationComplete: Cmd<"initializationComplete"> | undefined;
    const configs: Cmd<"updateConfiguration">[] = [];
    const dataflows: Cmd<"createDataflow">[] = [];
    const scheduled = new Set<GlobalId>();
    const writable = new Set<GlobalId>();
    const finalCompactions = new Map<GlobalId, Cmd<"allowCompaction">>();
    const peeks = new Map<string, Cmd<"peek">>();

    for (const command of this.#commands) {
      switch (command.kind) {
        case "hello":
          hello = command;
          break;
        case "createInstance":
          createInstance = command;
          break;
        case "initializationComplete":
          initializationComplete = command;
          break;
        case "updateConfiguration":
          configs.push(command);
          break;
        case "createDataflow":
          dataflows.push(command);
          break;
        case "schedule":
          scheduled.add(command.id);
          break;
        case "allowWrites":
          writable.add(command.id);
          break;
        case "allowCompaction":
          finalCompactions.set(command.id, command);
          break;
        case "peek":
          peeks.set(command.peek.uuid, command);
          break;
        case "cancelPeek":
          peeks.delete(command.uuid);
          break;
      }
    }

    const liveDataflows: Cmd<"createDataflow">[] = [];
    const liveExports = new Set<GlobalId>();
    const compactions: Cmd<"allowCompaction">[] = [];
    for (const command of dataflows) {
      const dataflow = command.dataflow;
      const exports = dataflowExportIds(dataflow);
      let least: Frontier = Frontier.EMPTY;
      for (const id of exports) {
        const compaction = finalCompactions.get(id);
        least = Frontier.meet(
          least,
          compaction === undefined ? dataflow.asOf : compaction.frontier,
        );
      }
      const asOf = Frontier.join(dataflow.asOf, least);
      if (Frontier.isEmpty(asOf)) continue;
      liveDataflows.push(
        asOf === dataflow.asOf
          ? command
          : { kind: "createDataflow", dataflow: { ...dataflow, asOf } },
      );
      for (const id of exports) {
        liveExports.add(id);
        const compaction = finalCompactions.get(id);
        if (compaction === undefined) continue;
        // Emitted once per id; a compaction at or below the new as-of is absorbed into it.
        finalCompactions.delete(id);
        if (Frontier.lessThan(asOf, compaction.frontier)) compactions.push(compaction);
      }
    }

    const reduced: ComputeCommand[] = [];
    if (hello !== undefined) reduced.push(hello);
    if (createInstance !== undefined) reduced.push(createInstance);
    const config = foldConfigurations(configs);
    if (config !== undefined) reduced.push(config);
    reduced.push(...liveDataflows);
    for (const id of scheduled) if (liveExports.has(id)) reduced.push({ kind: "schedule", id });
    for (const [uuid, peek] of peeks) if (this.#livePeeks.has(uuid)) reduced.push(peek);
    reduced.push(...compactions);
    for (const id of writable) if (liveExports.has(id)) reduced.push({ kind: "allowWrites", id });
    if (initializationComplete !== undefined) reduced.push(initializationComplete);

    this.#commands = reduced;
    this.#reducedCount = reduced.length;
    for (const id of this.#compactions.keys()) {
      if (!liveExports.has(id)) this.#compactions.delete(id);
    }
    this.#recount();
  }

  /**
   * Removes every `peek` and `cancelPeek` (Materialize calls this on the replica side before
   * reconciliation, where pending peeks are dropped silently).
   */
  discardPeeks(): void {
    this.#commands = this.#commands.filter((c) => c.kind !== "peek" && c.kind !== "cancelPeek");
    this.#livePeeks.clear();
    this.#recount();
  }

  /**
   * Sets the `upper` of every dataflow source import to `uppers(id)`, the storage collection's
   * current write frontier, so a replayed replica does not wait for times that are long final.
   * Imports for which `uppers` returns `undefined` keep their upper.
   */
  updateSourceUppers(uppers: (id: GlobalId) => Frontier | undefined): void {
    this.#commands = this.#commands.map((command) => {
      if (command.kind !== "createDataflow") return command;
      let changed = false;
      const sourceImports = command.dataflow.sourceImports.map((source) => {
        const upper = uppers(source.id);
        if (upper === undefined || upper === source.upper) return source;
        changed = true;
        return { ...source, upper };
      });
      if (!changed) return command;
      return { kind: "createDataflow", dataflow: { ...command.dataflow, sourceImports } };
    });
  }

  /** The reduced commands to replay, oldest first (reduces first). A snapshot array. */
  commands(): readonly ComputeCommand[] {
    this.reduce();
    return this.#commands.slice();
  }

  /** Iterates the reduced commands to replay (reduces first, iterates a snapshot). */
  iter(): IterableIterator<ComputeCommand> {
    return this.commands()[Symbol.iterator]();
  }

  [Symbol.iterator](): IterableIterator<ComputeCommand> {
    return this.iter();
  }

  /** The number of commands held (reduced or not). */
  get size(): number {
    return this.#commands.length;
  }

  /** The number of `createDataflow` commands held. */
  get dataflowCount(): number {
    return this.#counts.get("createDataflow") ?? 0;
  }

  /** The number of commands held per kind (every kind present, 0 when absent). A snapshot. */
  countsByType(): ReadonlyMap<ComputeCommandKind, number> {
    return new Map(this.#counts);
  }

  /**
   * Mirrors the counts into `sink` (e.g. compute-client's `bindHistoryMetrics(registry, labels)`:
   * `mz_compute_controller_history_{command,dataflow}_count`), starting with the current values;
   * a sink attached before is removed. Returns a function that removes this sink's series and
   * stops mirroring.
   */
  attachMetrics(sink: ComputeHistoryMetrics): () => void {
    this.#metrics?.remove();
    this.#metrics = sink;
    for (const [kind, count] of this.#counts) sink.setCommandCount(kind, count);
    sink.setDataflowCount(this.dataflowCount);
    return () => {
      if (this.#metrics !== sink) return;
      this.#metrics = undefined;
      sink.remove();
    };
  }

  /** Adds `delta` to `kind`'s count and mirrors it. */
  #bump(kind: ComputeCommandKind, delta: number): void {
    const count = (this.#counts.get(kind) ?? 0) + delta;
    this.#counts.set(kind, count);
    this.#metrics?.setCommandCount(kind, count);
    if (kind === "createDataflow") this.#metrics?.setDataflowCount(count);
  }

  /** Recomputes every kind's count from `#commands` and sets (never resets) every gauge. */
  #recount(): void {
    const counts = new Map<ComputeCommandKind, number>();
    for (const kind of COMPUTE_COMMAND_KINDS) counts.set(kind, 0);
    for (const command of this.#commands) {
      counts.set(command.kind, (counts.get(command.kind) ?? 0) + 1);
    }
    this.#counts = counts;
    if (this.#metrics !== undefined) {
      for (const [kind, count] of counts) this.#metrics.setCommandCount(kind, count);
      this.#metrics.setDataflowCount(this.dataflowCount);
    }
  }
}

/** One configuration command with every field's last set value, or undefined when none. */
function foldConfigurations(
  configs: readonly Cmd<"updateConfiguration">[],
): Cmd<"updateConfiguration"> | undefined {
  if (configs.length <= 1) return configs[0];
  let maxResultSize: bigint | undefined;
  let workloadClass: string | undefined;
  const dyncfgUpdates = new Map<string, string>();
  for (const { params } of configs) {
    if (params.maxResultSize !== undefined) maxResultSize = params.maxResultSize;
    if (params.workloadClass !== undefined) workloadClass = params.workloadClass;
    for (const [name, value] of params.dyncfgUpdates) dyncfgUpdates.set(name, value);
  }
  const params: ComputeParameters = {
    ...(maxResultSize === undefined ? {} : { maxResultSize }),
    ...(workloadClass === undefined ? {} : { workloadClass }),
    dyncfgUpdates,
  };
  return { kind: "updateConfiguration", params };
}
