/**
 * `PeekUpdates`: compute's peek events → `active_peeks` and `peek_durations`.
 *
 * - `peekStarted` inserts the peek's `active_peeks` row and remembers its start (`atNs`);
 * - `peekEnded` retracts that row and, when the start is known, adds one to the count of the
 *   duration's power-of-two bucket (`durationBucket`): the bucket's row is replaced by one with
 *   the new count.
 *
 * ## Coalescing (the hot path: two events per peek)
 * Within one log time the rows are only written when they survive it: a started peek's row is
 * held (not written) until `flush`, so a peek started and ended at the same log time touches no
 * table, and a bucket's count is written once per log time however many peeks it counted. The
 * host calls `flush` before it moves the tables' time and before the log indexes advance, so the
 * tables see exactly the rows the uncoalesced rules give at every log time.
 *
 * Starts are forgotten at the end; the bucket counts are bounded (≤ 64 buckets per worker).
 */
import { durationBucket } from "@mzts/protocol/domain";
import type { Row } from "@mzts/repr";
import type { TableLookup } from "./dataflow-updates.js";
import type { ComputeLogEvent } from "./events.js";

type PeekEvent = Extract<ComputeLogEvent, { kind: "peekStarted" | "peekEnded" }>;

/** Whether an event belongs to this family. */
export function isPeekEvent(e: { readonly kind: string }): e is PeekEvent {
  return e.kind === "peekStarted" || e.kind === "peekEnded";
}

/** A started peek, until it ends. */
interface Start {
  readonly atNs: number;
  /** Its `active_peeks` row. */
  readonly row: Row;
  /** Whether the table holds a row of this peek's key (written by an earlier flush). */
  inTable: boolean;
}

/** What one worker's peeks remember. */
interface WorkerPeeks {
  readonly w: bigint;
  /** uuid → start, from started until ended. */
  readonly starts: Map<string, Start>;
  /** Duration bucket → peeks answered in it. */
  readonly counts: Map<bigint, bigint>;
}

/** One host's peek family; see the file comment. */
export class PeekUpdates {
  readonly #tables: TableLookup;
  /** Per worker (index = worker). */
  readonly #workers: WorkerPeeks[] = [];
  /** Starts whose row is not written yet. */
  readonly #pending = new Set<Start>();
  /** Buckets whose count changed since the last flush, per worker. */
  readonly #dirtyBuckets = new Map<WorkerPeeks, Set<bigint>>();

  constructor(tables: TableLookup) {
    this.#tables = tables;
  }

  /** Peeks started and not ended. */
  get active(): number {
    let n = 0;
    for (const p of this.#workers) if (p !== undefined) n += p.starts.size;
    return n;
  }

  /** Applies one event of `worker` at the tables' current time (rows held until `flush`). */
  apply(worker: number, e: PeekEvent): void {
    const p = (this.#workers[worker] ??= {
      w: BigInt(worker),
      starts: new Map(),
      counts: new Map(),
    });
    const prev = p.starts.get(e.uuid);
    if (e.kind === "peekStarted") {
      if (prev !== undefined) this.#pending.delete(prev);
      const start: Start = {
        atNs: e.atNs,
        row: [e.uuid, p.w, e.objectId, e.time],
        inTable: prev?.inTable ?? false,
      };
      p.starts.set(e.uuid, start);
      this.#pending.add(start);
      return;
    }
    if (prev === undefined) return;
    p.starts.delete(e.uuid);
    this.#pending.delete(prev);
    if (prev.inTable) this.#tables.table("active_peeks")?.remove([e.uuid, p.w]);
    const bucket = bucketOf(e.atNs - prev.atNs);
    p.counts.set(bucket, (p.counts.get(bucket) ?? 0n) + 1n);
    let dirty = this.#dirtyBuckets.get(p);
    if (dirty === undefined) this.#dirtyBuckets.set(p, (dirty = new Set()));
    dirty.add(bucket);
  }

  /** Writes the held rows at the tables' current time (before it moves, and before advancing). */
  flush(): void {
    if (this.#pending.size > 0) {
      const active = this.#tables.table("active_peeks");
      for (const s of this.#pending) {
        active?.upsert(s.row);
        s.inTable = true;
      }
      this.#pending.clear();
    }
    if (this.#dirtyBuckets.size > 0) {
      const durations = this.#tables.table("peek_durations");
      for (const [p, buckets] of this.#dirtyBuckets) {
        for (const b of buckets) durations?.upsert([p.w, b, p.counts.get(b)!]);
      }
      this.#dirtyBuckets.clear();
    }
  }
}

/** `2^i` as bigints, by `i` (filled on demand). */
const POWERS: bigint[] = [];

/** `durationBucket(ns)` without bigint arithmetic for durations up to 2^30 ns (~1 s). */
export function bucketOf(ns: number): bigint {
  const d = Math.max(1, Math.ceil(ns));
  if (!(d <= 2 ** 30)) return durationBucket(ns);
  const exp = d === 1 ? 0 : 32 - Math.clz32(d - 1);
  let b = POWERS[exp];
  if (b === undefined) POWERS[exp] = b = 1n << BigInt(exp);
  return b;
}
