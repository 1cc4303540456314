/**
 * `LogDataflow`: one worker's logging dataflow — a `@mzts/dataflow` `Graph` with one input per
 * installed relation, each arranged by the relation's key into that relation's log index.
 *
 * ## Flow (driven by the host, `unified-host.ts`)
 * 1. `at(time)` sets the log time of the next changes; the relation tables (`LogTable`, one per
 *    installed relation) turn events into `(row, time, ±1)` updates held per relation.
 * 2. `advance(upper)` sends the held updates into the inputs, advances every input to `upper`
 *    and runs the graph: the arrangements take the complete times (`< upper`) and their upper
 *    becomes `upper`; each index's (always empty) error arrangement follows.
 * 3. `compact(since)` lets every arrangement forget history below `since`.
 * 4. Each index's change feed (`LogFeeds`) gets every update as the tables emit it and the
 *    arrangement's upper after each run, so importing dataflows see exactly its contents.
 *
 * With no allocator the graph is a one-worker graph: each worker's log indexes hold only the rows
 * its host logged (every key includes `worker_id`); a peek merges the workers' parts as for any
 * index.
 *
 * ## Invariants
 * - Updates are sent at times `>= upper` of the inputs (the host forwards row times to at least
 *   the smallest interval multiple at or past the upper), so `send` never refuses them.
 * - Every log index's upper and since, and its error arrangement's, move together.
 */
import {
  ArrangeByOperator,
  Arrangement,
  createGraph,
  createInput,
  type Graph,
  type InputHandle,
} from "@mzts/dataflow";
import type { LogRelation } from "@mzts/protocol";
import type { GlobalId, Timestamp, Update } from "@mzts/repr";
import type { LogIndex } from "./host.js";
import { LogFeeds } from "./log-feeds.js";
import { LogTable } from "./log-table.js";

/** One log index to install. */
export interface LogInstall {
  readonly id: GlobalId;
  readonly relation: LogRelation;
}

interface Installed {
  readonly input: InputHandle;
  readonly index: LogIndex;
  /** The index's change feed (importing dataflows). */
  readonly feeds: LogFeeds;
  /** Updates not yet sent into the input. */
  pending: Update[];
}

/** One worker's logging dataflow; see the file comment. */
export class LogDataflow {
  readonly graph: Graph;
  /** Relation name → its input, index and held updates; fixed at construction. */
  readonly #installed = new Map<string, Installed>();
  /** Log index id → index. */
  readonly #byId = new Map<GlobalId, LogIndex>();
  /** Relation name → its current rows. */
  readonly #tables = new Map<string, LogTable>();
  /** Log time of the next changes (`at`). */
  #time: Timestamp = 0n;

  constructor(installs: readonly LogInstall[], name = "logging") {
    this.graph = createGraph({ name });
    for (const { id, relation } of installs) {
      const input = createInput(this.graph, `log:${relation.name}`);
      const arrange = new ArrangeByOperator(
        this.graph,
        input.output,
        relation.key,
        `log:${relation.name}`,
      );
      // One current row per key, retracted as the object inserted (`LogTable`): the arrangement
      // finds a retracted row's entry by identity, and keys rows by their non-key columns.
      arrange.arrangement.trackRows(
        relation.columns.map((_, i) => i).filter((i) => !relation.key.includes(i)),
      );
      const feeds = new LogFeeds(arrange.arrangement);
      const index: LogIndex = {
        id,
        relation,
        key: relation.key,
        arity: relation.columns.length,
        arrangement: arrange.arrangement,
        errors: new Arrangement(`${name}/log:${relation.name}/errors`, [0]),
        attach: (feed) => feeds.attach(feed),
        detach: (feed) => feeds.detach(feed),
      };
      const entry: Installed = { input, index, feeds, pending: [] };
      this.#installed.set(relation.name, entry);
      this.#byId.set(id, index);
      this.#tables.set(
        relation.name,
        new LogTable(
          relation,
          () => this.#time,
          (row, time, diff) => {
            const u: Update = [row, time, diff];
            entry.pending.push(u);
            feeds.publish(u);
          },
        ),
      );
    }
  }

  /** The log time of the next changes. */
  get time(): Timestamp {
    return this.#time;
  }

  /** Sets the log time of the next changes. */
  at(time: Timestamp): void {
    this.#time = time;
  }

  /** The table of an installed relation, or undefined (changes to it are not logged). */
  table(name: string): LogTable | undefined {
    return this.#tables.get(name);
  }

  /** The log index of this id. */
  index(id: GlobalId): LogIndex | undefined {
    return this.#byId.get(id);
  }

  /** The installed indexes. */
  indexes(): IterableIterator<LogIndex> {
    return this.#byId.values();
  }

  /** Whether a relation of this workload is installed. */
  hasWorkload(workload: LogRelation["workload"]): boolean {
    for (const { index } of this.#installed.values()) {
      if (index.relation.workload === workload) return true;
    }
    return false;
  }

  /** Records held by every log index (entries of their arrangements). */
  get records(): number {
    let n = 0;
    for (const { index } of this.#installed.values()) n += index.arrangement.size;
    return n;
  }

  /** Sends the held updates, advances every input to `upper` and runs the graph. */
  advance(upper: Timestamp): void {
    for (const table of this.#tables.values()) table.flush();
    for (const entry of this.#installed.values()) {
      if (entry.pending.length > 0) {
        entry.input.send(entry.pending);
        entry.pending = [];
      }
      if (entry.input.frontier !== null && entry.input.frontier < upper) {
        entry.input.advanceTo(upper);
      }
    }
    this.graph.run();
    for (const { index, feeds } of this.#installed.values()) {
      const errs = index.errors;
      if (errs.upper !== null && errs.upper < upper) errs.advanceUpper(upper);
      feeds.advance(index.arrangement.upper);
    }
  }

  /** Allows every log index to compact history below `since`. */
  compact(since: Timestamp): void {
    for (const { index } of this.#installed.values()) {
      index.arrangement.allowCompaction(since);
      index.errors.allowCompaction(since);
    }
  }

  /** Frees every index (reads refused afterwards). */
  close(): void {
    for (const entry of this.#installed.values()) {
      entry.pending = [];
      entry.feeds.close();
      entry.input.close();
      entry.index.arrangement.allowCompaction(null);
      entry.index.errors.allowCompaction(null);
    }
  }
}
