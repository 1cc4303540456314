/**
 * Persisted per-replica introspection (phase 2, *logging*; materialize.md §5 "Unified
 * introspection"): the collections environmentd writes from each replica's targeted subscribe
 * over its own `hydration_times`, `compute_frontiers` and `error_counts`, one persist shard per
 * relation, every row with the replica id prepended — so "which replica is behind / not
 * hydrated" stays answerable while a replica is down.
 *
 * ## Writes (`ReplicaIntrospectionCollections`)
 * - `append(relation, replicaId, updates, upper)`: one subscribe batch of that replica; rows get
 *   the replica id as column 0, times below the shard's upper are forwarded to it (a batch may
 *   arrive after a retraction moved the upper past its times), and the upper moves to
 *   `max(upper, batch upper, last time + 1)`.
 * - `retract(replicaId)`: every live row of the replica, in every relation, retracted at
 *   `max(upper, now)` (read back from the shard as of `upper - 1`, like Materialize's collection
 *   manager deletes by filter).
 * - `retainOnly(live)`: at boot, retracts the rows of every replica not in `live`.
 * - A retraction is skipped when `fenced()` says a newer environmentd booted (asked right before
 *   it is written): a zombie's replicas fail over to the newer environmentd, whose rows a
 *   retraction by replica id would delete.
 *
 * ## Reads
 * - `upper(relation)`: the shard's upper as this writer last saw it (`load()` reads it at open;
 *   every write moves it and calls `onWrite`, so a reader awaiting a time is woken).
 * - `snapshot(relation, asOf)`: the consolidated rows as of `asOf` (`since <= asOf < upper`; the
 *   caller holds the since, e.g. with a read hold).
 *
 * ## Invariants
 * - Per shard, every write (append or retraction) runs after the previous one settled (one
 *   promise chain per relation), so they apply in call order and always at or above the upper.
 * - A failed write is logged by the caller; the chain goes on (the next write re-reads the upper).
 */
import type { Shard } from "@mzts/persist";
import { type Row, rowKey, Timestamp, type Update } from "@mzts/repr";

/** The per-worker log relations written per replica, in this order. */
export const PERSISTED_INTROSPECTION = [
  "hydration_times",
  "compute_frontiers",
  "error_counts",
] as const;

export type PersistedIntrospection = (typeof PERSISTED_INTROSPECTION)[number];

/** The name of a persisted relation under the reserved schema (`replica_<relation>`). */
export function persistedRelationName(relation: PersistedIntrospection): string {
  return `replica_${relation}`;
}

export interface ReplicaIntrospectionOptions {
  /** The shard of each relation (owned by environmentd). */
  readonly shards: ReadonlyMap<PersistedIntrospection, Shard>;
  /** Wall clock (ms) of retractions; default `Date.now`. */
  readonly now?: () => number;
  /** Whether a newer environmentd booted (then nothing is retracted); default never. */
  readonly fenced?: () => Promise<boolean>;
  /** Called after every write (which moved an upper), with how many updates it wrote. */
  readonly onWrite?: (
    relation: PersistedIntrospection,
    kind: "append" | "retract",
    updates: number,
  ) => void;
}

/** The persisted per-replica introspection collections; see the file comment. */
export class ReplicaIntrospectionCollections {
  readonly #shards: ReadonlyMap<PersistedIntrospection, Shard>;
  readonly #now: () => number;
  readonly #chains = new Map<PersistedIntrospection, Promise<void>>();
  readonly #uppers = new Map<PersistedIntrospection, Timestamp | null>();
  readonly #onWrite: NonNullable<ReplicaIntrospectionOptions["onWrite"]>;
  readonly #fenced: () => Promise<boolean>;

  constructor(opts: ReplicaIntrospectionOptions) {
    for (const r of PERSISTED_INTROSPECTION) {
      if (!opts.shards.has(r)) throw new Error(`no shard for persisted introspection ${r}`);
    }
    this.#shards = opts.shards;
    this.#now = opts.now ?? Date.now;
    this.#onWrite = opts.onWrite ?? (() => {});
    this.#fenced = opts.fenced ?? (async () => false);
  }

  /** Reads every shard's upper (at open; writes keep them current afterwards). */
  async load(): Promise<void> {
    for (const [relation, shard] of this.#shards) this.#uppers.set(relation, await shard.upper());
  }

  /** The relation's upper as last seen (undefined before `load`; null = closed). */
  upper(relation: PersistedIntrospection): Timestamp | null | undefined {
    return this.#uppers.get(relation);
  }

  /** The consolidated rows of `relation` as of `asOf` (see the file comment). */
  async snapshot(relation: PersistedIntrospection, asOf: Timestamp): Promise<Array<[Row, number]>> {
    return consolidate(await this.#shards.get(relation)!.snapshot(asOf));
  }

  /** Writes one subscribe batch of `replicaId` (see the file comment). */
  append(
    relation: PersistedIntrospection,
    replicaId: string,
    updates: readonly Update[],
    upper: Timestamp | null,
  ): Promise<void> {
    return this.#enqueue(relation, async (shard) => {
      const current = await shard.upper();
      if (current === null) return;
      let next = upper === null ? current : Timestamp.max(upper, current);
      const out: Update[] = [];
      for (const [row, t, d] of updates) {
        const time = Timestamp.max(t, current);
        if (time >= next) next = time + 1n;
        out.push([[replicaId, ...row], time, d]);
      }
      if (next > current) await this.#write(relation, "append", shard, out, current, next);
    });
  }

  /** Retracts every row of `replicaId` in every relation. */
  async retract(replicaId: string): Promise<void> {
    await this.#retractWhere((id) => id === replicaId);
  }

  /** Retracts the rows of every replica not in `live` (boot: replicas that no longer exist). */
  async retainOnly(live: ReadonlySet<string>): Promise<void> {
    await this.#retractWhere((id) => !live.has(id));
  }

  /** The rows of `relation` (count 1 each) at the latest complete time, sorted by replica. */
  async read(relation: PersistedIntrospection): Promise<Row[]> {
    const shard = this.#shards.get(relation)!;
    const upper = await shard.upper();
    if (upper === 0n) return [];
    const asOf = upper === null ? undefined : upper - 1n;
    if (asOf === undefined) return [];
    const out: Row[] = [];
    for (const [row, n] of consolidate(await shard.snapshot(asOf))) {
      for (let i = 0; i < n; i++) out.push(row);
    }
    return out.sort((a, b) => (String(a[0]) < String(b[0]) ? -1 : 1));
  }

  /** Settles once every write issued so far settled (failed ones included). */
  async settled(): Promise<void> {
    await Promise.all(this.#chains.values());
  }

  async #retractWhere(matches: (replicaId: string) => boolean): Promise<void> {
    await Promise.all(
      PERSISTED_INTROSPECTION.map((relation) =>
        this.#enqueue(relation, async (shard) => {
          const current = await shard.upper();
          if (current === null || current === 0n || (await this.#fenced())) return;
          const out: Update[] = [];
          const now = BigInt(Math.floor(this.#now()));
          const time = Timestamp.max(now, current);
          for (const [row, n] of consolidate(await shard.snapshot(current - 1n))) {
            if (typeof row[0] === "string" && matches(row[0])) out.push([row, time, -n]);
          }
          if (out.length > 0) {
            await this.#write(relation, "retract", shard, out, current, time + 1n);
          }
        }),
      ),
    );
  }

  async #write(
    relation: PersistedIntrospection,
    kind: "append" | "retract",
    shard: Shard,
    updates: readonly Update[],
    expected: Timestamp,
    next: Timestamp,
  ): Promise<void> {
    await shard.compareAndAppend(updates, expected, next);
    this.#uppers.set(relation, next);
    this.#onWrite(relation, kind, updates.length);
  }

  /** Runs `write` after every earlier write of the relation settled. */
  #enqueue(
    relation: PersistedIntrospection,
    write: (shard: Shard) => Promise<void>,
  ): Promise<void> {
    const shard = this.#shards.get(relation)!;
    const prev = this.#chains.get(relation) ?? Promise.resolve();
    const run = prev.then(() => write(shard));
    this.#chains.set(
      relation,
      run.catch(() => {}),
    );
    return run;
  }
}

/** `(row, count)` pairs with a non-zero count. */
function consolidate(updates: readonly Update[]): Array<[Row, number]> {
  const counts = new Map<string, [Row, number]>();
  for (const [row, , d] of updates) {
    const k = rowKey(row);
    const e = counts.get(k);
    if (e === undefined) counts.set(k, [row, d]);
    else e[1] += d;
  }
  return [...counts.values()].filter(([, n]) => n !== 0);
}
