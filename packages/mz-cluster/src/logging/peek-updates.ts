/**
 * `PeekUpdates`: compute's peek events → `active_peeks` and `peek_durations`.
 *
 * - `peekStarted` inserts the peek's `active_peeks` row and remembers its start (`atNs`);
 * - `peekEnded` retracts that row and, when the start is known, adds one to the count of the
 *   duration's power-of-two bucket (`durationBucket`): the bucket's row is replaced by one with
 *   the new count.
 *
 * Starts are forgotten at the end; the bucket counts are bounded (≤ 64 buckets per worker).
 */
import { durationBucket } from "@mzts/protocol";
import type { TableLookup } from "./dataflow-updates.js";
import type { ComputeLogEvent } from "./events.js";

type PeekEvent = Extract<ComputeLogEvent, { kind: "peekStarted" | "peekEnded" }>;

/** Whether an event belongs to this family. */
export function isPeekEvent(e: { readonly kind: string }): e is PeekEvent {
  return e.kind === "peekStarted" || e.kind === "peekEnded";
}

/** One host's peek family; see the file comment. */
export class PeekUpdates {
  readonly #tables: TableLookup;
  /** `worker:uuid` → start (ns), from started until ended. */
  readonly #starts = new Map<string, number>();
  /** `worker:bucket` → peeks answered in that bucket. */
  readonly #counts = new Map<string, bigint>();

  constructor(tables: TableLookup) {
    this.#tables = tables;
  }

  /** Peeks started and not ended. */
  get active(): number {
    return this.#starts.size;
  }

  /** Applies one event of `worker` at the tables' current time. */
  apply(worker: number, e: PeekEvent): void {
    const w = BigInt(worker);
    const pkey = `${worker}:${e.uuid}`;
    if (e.kind === "peekStarted") {
      this.#starts.set(pkey, e.atNs);
      this.#tables.table("active_peeks")?.upsert([e.uuid, w, e.objectId, e.time]);
      return;
    }
    this.#tables.table("active_peeks")?.remove([e.uuid, w]);
    const start = this.#starts.get(pkey);
    if (start === undefined) return;
    this.#starts.delete(pkey);
    const bucket = durationBucket(e.atNs - start);
    const ckey = `${worker}:${bucket}`;
    const count = (this.#counts.get(ckey) ?? 0n) + 1n;
    this.#counts.set(ckey, count);
    this.#tables.table("peek_durations")?.upsert([w, bucket, count]);
  }
}
