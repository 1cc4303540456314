/**
 * Read holds of one collection: the one hold mechanism of the cluster state, for compute and
 * storage objects alike (design.md §9 phase 5). A hold names its **holder** and sits at a
 * frontier; the collection's **since** is the meet of its holds — the least time the controller
 * still lets anyone read, what it allows the replicas (`allowCompaction`) and persist (the since
 * handle, through the maintenance tick) to compact to.
 *
 * ## Holders (one hold each)
 * - `policy`: the read policy, `join(floor, write − window)` (`policyHold`); `floor` starts at the
 *   as-of (compute) or the shard's since (storage) and is raised by the client's
 *   `allowCompaction`; released by the drop.
 * - `replica:<id>`: a compute replica incarnation told to build the collection at some as-of,
 *   until it reports an input frontier beyond it.
 * - `peek:<uuid>`: a pending peek at its timestamp, until it was retired and cancelled.
 * - `dependant:<dataflow>`: a dataflow of this cluster reading the collection (a view's hold on a
 *   source or an index), at the dataflow's since; released when the dataflow is dropped.
 * - `external:<n>`: a `ReadHold` handle given out by `acquireReadHold` (a reader outside the
 *   cluster, e.g. another cluster's dataflow or a subscribe), until released.
 *
 * ## Invariants
 * - One hold per holder; `set` moves it (never backward once taken, checked by the caller's
 *   `SinceViolation`/`invariant`), `release` removes it.
 * - No holds = the empty since.
 */
import { Frontier, type GlobalId, invariant, type ReplicaId } from "@mzts/repr";

/** `Holder.replica`'s strings (one per replica id ever seen: a handful per environment). */
const replicaHolders = new Map<ReplicaId, string>();

/** Holder names (see the file comment). */
export const Holder = {
  POLICY: "policy",
  /** Interned per replica: looked up for every frontiers response (issue 16). */
  replica: (id: ReplicaId): string => {
    let h = replicaHolders.get(id);
    if (h === undefined) {
      h = `replica:${id}`;
      replicaHolders.set(id, h);
    }
    return h;
  },
  peek: (uuid: string): string => `peek:${uuid}`,
  dependant: (dataflow: string): string => `dependant:${dataflow}`,
  external: (n: number): string => `external:${n}`,
} as const;

/**
 * The holds of one collection, by holder.
 *
 * Beside the holder map it counts the holds per distinct frontier and caches their meet, so a
 * hold that moves (a dataflow's `dependant:` hold on its source, a replica's, the policy's — one
 * per index a second on an idle replica, issue 16) costs O(1), and the since is recomputed over
 * the distinct frontiers (a handful, however many holders: a source with 1,000 dependant indexes
 * has them all at a few times) only when the last hold at the meet moved away.
 */
export class ReadHoldSet {
  /** Holder → its frontier; an entry exists exactly while the holder holds. */
  readonly #holds = new Map<string, Frontier>();
  /** Distinct hold frontier → how many holders are at it (> 0). */
  readonly #counts = new Map<Frontier, number>();
  /** The meet of the holds (`EMPTY` when none); `undefined` = to recompute. */
  #since: Frontier | undefined = Frontier.EMPTY;

  /** Takes or moves `holder`'s hold to `f`. A move must not go backward (a bug otherwise). */
  set(holder: string, f: Frontier): void {
    const prev = this.#holds.get(holder);
    invariant(
      prev === undefined || Frontier.lessEqual(prev, f),
      `read hold ${holder} would move back from ${Frontier.format(prev ?? null)} to ${Frontier.format(f)}`,
    );
    if (prev === f) return;
    this.#holds.set(holder, f);
    this.#counts.set(f, (this.#counts.get(f) ?? 0) + 1);
    if (prev !== undefined) this.#uncount(prev);
    else if (this.#since !== undefined) this.#since = Frontier.meet(this.#since, f);
  }

  /** Releases `holder`'s hold; returns whether it held. */
  release(holder: string): boolean {
    const prev = this.#holds.get(holder);
    if (prev === undefined) return false;
    this.#holds.delete(holder);
    this.#uncount(prev);
    return true;
  }

  /** One hold less at `f`; the cached meet goes stale when the last one at it went. */
  #uncount(f: Frontier): void {
    const n = this.#counts.get(f) as number;
    if (n > 1) {
      this.#counts.set(f, n - 1);
      return;
    }
    this.#counts.delete(f);
    if (this.#since === f) this.#since = undefined;
  }

  get(holder: string): Frontier | undefined {
    return this.#holds.get(holder);
  }

  has(holder: string): boolean {
    return this.#holds.has(holder);
  }

  /** The meet of every hold; empty when there is none. */
  since(): Frontier {
    if (this.#since !== undefined) return this.#since;
    let since: Frontier = Frontier.EMPTY;
    for (const f of this.#counts.keys()) since = Frontier.meet(since, f);
    this.#since = since;
    return since;
  }

  get size(): number {
    return this.#holds.size;
  }

  /** A snapshot: holder → frontier. */
  snapshot(): ReadonlyMap<string, Frontier> {
    return new Map(this.#holds);
  }

  /** The holders whose name starts with `prefix` (e.g. every `replica:`). */
  holders(prefix: string): string[] {
    return [...this.#holds.keys()].filter((h) => h.startsWith(prefix));
  }
}

/**
 * The read policy's hold: `join(current, floor, write − window)`. A closed write frontier keeps
 * the hold where it was (the empty frontier would mean "drop").
 */
export function policyHold(
  current: Frontier,
  floor: Frontier,
  write: Frontier,
  windowMs: bigint,
): Frontier {
  const lagged: Frontier = write === null ? current : write > windowMs ? write - windowMs : 0n;
  return Frontier.join(Frontier.join(current, floor), lagged);
}

/** A hold on one collection, given out by `acquireReadHold` (one mechanism, any reader). */
export interface ReadHold {
  readonly collectionId: GlobalId;
  /** Where it holds now. */
  readonly frontier: Frontier;
  /** Moves the hold to `join(frontier, f)` (never back). No-op after `release`. */
  downgrade(f: Frontier): void;
  /** Ends the hold. Idempotent. */
  release(): void;
}

/**
 * Takes `holder`'s hold at `at` in `holds` and returns its handle: `downgrade` moves it forward
 * only, `release` ends it (idempotent); each change calls `changed` (the since re-derives).
 */
export function heldAt(
  collectionId: GlobalId,
  holds: ReadHoldSet,
  holder: string,
  at: Frontier,
  changed: () => void,
): ReadHold {
  holds.set(holder, at);
  let current = at;
  let released = false;
  return {
    collectionId,
    get frontier() {
      return current;
    },
    downgrade(f) {
      if (released) return;
      const next = Frontier.join(current, f);
      if (Frontier.equal(next, current)) return;
      current = next;
      holds.set(holder, next);
      changed();
    },
    release() {
      if (released) return;
      released = true;
      holds.release(holder);
      changed();
    },
  };
}
