/**
 * `LogDataflow`: one worker's logging dataflow — a `@mzts/dataflow` `Graph` with one arrange
 * operator per installed relation (`LogArrangeOperator`: its input is the relation's table),
 * arranging the relation's updates by its key into that relation's log index.
 *
 * ## Flow (driven by the host, `unified-host.ts`)
 * 1. `at(time)` sets the log time of the next changes; the relation tables (`LogTable`, one per
 *    installed relation) turn events into `(row, time, ±1)` updates held per relation.
 * 2. `advance(upper)` flushes the tables' held changes into the arrange operators, advances
 *    each to `upper` and runs the graph: the arrangements take the complete times (`< upper`)
 *    and their upper becomes `upper`; each index's (always empty) error arrangement follows.
 * 3. `compact(since)` lets every arrangement forget history below `since`.
 * 4. Each index's change feed (`LogFeeds`) gets every update as the tables emit it while a feed
 *    is attached (the first feed takes the ones still held by the operator), and the
 *    arrangement's upper after each run, so importing dataflows see exactly its contents.
 *
 * With no allocator the graph is a one-worker graph: each worker's log indexes hold only the rows
 * its host logged (every key includes `worker_id`); a peek merges the workers' parts as for any
 * index.
 *
 * ## Invariants
 * - Updates are pushed at times `>= upper` of the operators (the host forwards row times to at
 *   least the smallest interval multiple at or past the upper), so `push` never refuses them.
 * - Every log index's upper and since, and its error arrangement's, move together.
 */
import { Arrangement, createGraph, type Graph, type Key } from "@mzts/dataflow";
import type { LogRelation } from "@mzts/protocol";
import type { GlobalId, Row, Timestamp } from "@mzts/repr";
import type { LogIndex } from "./host.js";
import { type EntryHolder, LogArrangeOperator } from "./log-arrange.js";
import { LogFeeds } from "./log-feeds.js";
import { LogTable } from "./log-table.js";

/** One log index to install. */
export interface LogInstall {
  readonly id: GlobalId;
  readonly relation: LogRelation;
}

interface Installed {
  /** The relation's arrange operator (the logging dataflow's input of the relation). */
  readonly arrange: LogArrangeOperator;
  readonly index: LogIndex;
  /** The index's change feed (importing dataflows). */
  readonly feeds: LogFeeds;
}

/** One worker's logging dataflow; see the file comment. */
export class LogDataflow {
  readonly graph: Graph;
  /** Relation name → its arrange operator, index and feeds; fixed at construction. */
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
      const arrange = new LogArrangeOperator(this.graph, relation.key, `log:${relation.name}`);
      const arrangement = arrange.arrangement;
      const feeds = new LogFeeds(arrangement, { unarranged: () => arrange.held() });
      const index: LogIndex = {
        id,
        relation,
        key: relation.key,
        arity: relation.columns.length,
        arrangement,
        errors: new Arrangement(`${name}/log:${relation.name}/errors`, [0]),
        attach: (feed) => feeds.attach(feed),
        detach: (feed) => feeds.detach(feed),
      };
      this.#installed.set(relation.name, { arrange, index, feeds });
      this.#byId.set(id, index);
      // The table keys its rows by the arrangement's keys: each update goes in with its key.
      // Each key's slot keeps its current row's entry: a retraction goes through it (issue 16).
      const emit = (row: Row, time: Timestamp, diff: number, key: Key, slot: EntryHolder) => {
        arrange.push(row, time, diff, key, slot);
        if (feeds.wanted) feeds.publish([row, time, diff]);
      };
      this.#tables.set(relation.name, new LogTable(relation, () => this.#time, emit, arrangement));
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

  /** Flushes the tables, advances every arrange operator to `upper` and runs the graph. */
  advance(upper: Timestamp): void {
    for (const table of this.#tables.values()) table.flush();
    for (const { arrange } of this.#installed.values()) arrange.advanceTo(upper);
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
      entry.feeds.close();
      entry.arrange.close();
      entry.index.arrangement.allowCompaction(null);
      entry.index.errors.allowCompaction(null);
    }
  }
}
