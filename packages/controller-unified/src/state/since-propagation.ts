/**
 * How a hold change propagates through one cluster's collection table — the part of the one
 * read-hold mechanism that runs at every event (design.md §9 phase 5):
 * 1. the policy hold follows the floor and the write frontier (`updatePolicy`);
 * 2. the since is re-derived as the meet of the holds; a compute advance is sent as
 *    `allowCompaction` (empty = the drop) (`settle`);
 * 3. the collection's dataflow moves its holds on its imports (local: `dependant:<dataflow>`;
 *    foreign: its `ReadHold`s) to its since, which may advance their sinces in turn;
 * 4. a dropped row is forgotten when its workload's rule says every replica acknowledged.
 *
 * A dataflow's since is the meet of its exports' sinces, dropped exports included: a dropped
 * export whose drop is not sent yet (a peek still holds it) is still in the history, and a
 * replay rebuilds it at that since, so its imports must stay readable there. Once every export's
 * since is empty, its holds are released.
 */
import { Frontier, type GlobalId, type ReplicaId } from "@mzts/repr";
import type { Collection, CollectionTable } from "./collection-table.js";
import { Holder, policyHold, type ReadHold } from "./read-holds.js";
import { REPLICA_RULES } from "./replica-rules.js";

/** A dataflow as the propagation sees it. */
export interface DataflowHolds {
  readonly exports: readonly GlobalId[];
  /** Local imports (held with `dependant:<dataflow>`). */
  readonly imports: readonly GlobalId[];
  /** Holds on imports of other clusters. */
  readonly foreign: readonly ReadHold[];
}

/** What the propagation needs from its state. */
export interface SincePropagationOptions {
  readonly table: CollectionTable;
  /** How far the policy hold trails the write frontier. */
  readonly windowMs: bigint;
  /** The cluster's replicas (the forget rules ask every one). */
  replicas(): Iterable<ReplicaId>;
  /** A compute collection's since advanced: send `allowCompaction`. */
  allowCompaction(id: GlobalId, since: Frontier): void;
  /** A row was forgotten. */
  forgotten(id: GlobalId): void;
}

/** The propagation of hold changes (see the file comment). */
export class SincePropagation {
  readonly #o: SincePropagationOptions;
  /** Dataflow (its first export id) → exports, local imports, foreign holds; until released. */
  readonly #dataflows = new Map<GlobalId, DataflowHolds>();

  constructor(opts: SincePropagationOptions) {
    this.#o = opts;
  }

  addDataflow(key: GlobalId, df: DataflowHolds): void {
    this.#dataflows.set(key, df);
  }

  dataflow(key: GlobalId): DataflowHolds | undefined {
    return this.#dataflows.get(key);
  }

  /** Moves the policy hold after the floor or the write frontier moved, then settles. */
  updatePolicy(c: Collection): void {
    const current = c.holds.get(Holder.POLICY);
    if (current !== undefined) {
      const next = policyHold(current, c.floor, c.write, this.#o.windowMs);
      if (!Frontier.equal(next, current)) c.holds.set(Holder.POLICY, next);
    }
    this.settle(c);
  }

  /** Re-derives the since after a hold change and propagates it (steps 2–4). */
  settle(c: Collection): void {
    if (this.#o.table.advanceSince(c)) {
      if (c.workload === "compute") this.#o.allowCompaction(c.id, c.since);
      this.#followSince(c.objectId);
    }
    this.maybeForget(c);
  }

  /** Forgets a dropped row once its workload's rule allows it. */
  maybeForget(c: Collection): void {
    const { table } = this.#o;
    if (!table.has(c.id) || !REPLICA_RULES[c.workload].forgettable(c, this.#o.replicas())) return;
    table.delete(c.id);
    this.#o.forgotten(c.id);
  }

  #followSince(key: GlobalId): void {
    const df = this.#dataflows.get(key);
    if (df === undefined) return;
    const { table } = this.#o;
    let since: Frontier = Frontier.EMPTY;
    for (const e of df.exports) since = Frontier.meet(since, table.find(e)?.since ?? null);
    if (since === null) {
      this.#dataflows.delete(key);
      for (const h of df.foreign) h.release();
      for (const imp of df.imports) {
        const i = table.find(imp);
        if (i === undefined) continue;
        i.holds.release(Holder.dependant(key));
        i.dependants.delete(key);
        this.settle(i);
      }
      return;
    }
    for (const h of df.foreign) h.downgrade(since);
    const holder = Holder.dependant(key);
    for (const imp of df.imports) {
      const i = table.find(imp);
      const held = i?.holds.get(holder);
      if (i === undefined || held === undefined || !Frontier.lessThan(held, since)) continue;
      i.holds.set(holder, since);
      this.settle(i);
    }
  }
}
