/**
 * One health record per replica of a cluster (design.md §9 phase 5): its current incarnation
 * (epoch), connection state, failures and when it was last heard from — the same record for the
 * compute and the storage sub-protocol, where the legacy path keeps one per controller.
 *
 * ## Lifecycle of a record
 * - `add`: epoch 0, `starting`. `spawned(epoch)`: a new incarnation (epoch only rises),
 *   `starting`. `connected(epoch)`: `connected`. `heard(epoch)`: any response, including a peek
 *   answer dropped undecoded because nobody awaits it (`ClusterState.peekAnswerDropped`).
 *   `failed(epoch, error)`: `failed`, failures + 1. Events of another epoch are ignored (an older
 *   incarnation's late callbacks) and report false.
 * - `stale`: connected but silent for `staleAfterMs`; set and cleared by `checkStale(now)` (the
 *   maintenance tick), cleared by the next response.
 * - `remove`: the record goes with the replica.
 */
import type { HelloRefusal } from "@mzts/protocol";
import type { ReplicaId } from "@mzts/repr";

/** A replica's connection state as the cluster state sees it. */
export type ReplicaConnectionHealth = "starting" | "connected" | "failed";

/** One replica's health (a snapshot). */
export interface ReplicaHealthRecord {
  readonly replicaId: ReplicaId;
  /** The current incarnation (1, then + 1 per rehydration; 0 before the first). */
  readonly epoch: number;
  readonly state: ReplicaConnectionHealth;
  /** Incarnations that failed so far. */
  readonly failures: number;
  /** The last failure's message. */
  readonly lastError: string | undefined;
  /** Set when the replica refused the last hello (fenced, or not authenticated). */
  readonly refusal: HelloRefusal | undefined;
  /** When the current incarnation connected (ms), if it did. */
  readonly connectedAtMs: number | undefined;
  /** When the replica last answered anything (ms), if ever. */
  readonly lastHeardMs: number | undefined;
  /** Connected, yet silent for longer than the stale threshold (the last tick's verdict). */
  readonly stale: boolean;
}

type MutableRecord = { -readonly [K in keyof ReplicaHealthRecord]: ReplicaHealthRecord[K] };

/** The health records of one cluster's replicas. */
export class ReplicaHealthTable {
  readonly #records = new Map<ReplicaId, MutableRecord>();

  add(replicaId: ReplicaId): void {
    this.#records.set(replicaId, {
      replicaId,
      epoch: 0,
      state: "starting",
      failures: 0,
      lastError: undefined,
      refusal: undefined,
      connectedAtMs: undefined,
      lastHeardMs: undefined,
      stale: false,
    });
  }

  has(replicaId: ReplicaId): boolean {
    return this.#records.has(replicaId);
  }

  ids(): IterableIterator<ReplicaId> {
    return this.#records.keys();
  }

  get size(): number {
    return this.#records.size;
  }

  /** The current epoch of a replica (undefined when it is not one). */
  epoch(replicaId: ReplicaId): number | undefined {
    return this.#records.get(replicaId)?.epoch;
  }

  /** Whether `epoch` is the replica's current incarnation. */
  current(replicaId: ReplicaId, epoch: number): boolean {
    return this.#records.get(replicaId)?.epoch === epoch;
  }

  /** A new incarnation started; returns false when `epoch` does not rise. */
  spawned(replicaId: ReplicaId, epoch: number): boolean {
    const r = this.#records.get(replicaId);
    if (r === undefined || epoch <= r.epoch) return false;
    r.epoch = epoch;
    r.state = "starting";
    r.connectedAtMs = undefined;
    r.stale = false;
    return true;
  }

  connected(replicaId: ReplicaId, epoch: number, nowMs: number): boolean {
    const r = this.#records.get(replicaId);
    if (r === undefined || r.epoch !== epoch) return false;
    r.state = "connected";
    r.connectedAtMs = nowMs;
    r.lastHeardMs = nowMs;
    r.refusal = undefined;
    r.stale = false;
    return true;
  }

  heard(replicaId: ReplicaId, epoch: number, nowMs: number): boolean {
    const r = this.#records.get(replicaId);
    if (r === undefined || r.epoch !== epoch) return false;
    r.lastHeardMs = nowMs;
    r.stale = false;
    return true;
  }

  failed(
    replicaId: ReplicaId,
    epoch: number,
    message: string,
    refusal: HelloRefusal | undefined = undefined,
  ): boolean {
    const r = this.#records.get(replicaId);
    if (r === undefined || r.epoch !== epoch || r.state === "failed") return false;
    r.state = "failed";
    r.failures++;
    r.lastError = message;
    r.refusal = refusal;
    r.stale = false;
    return true;
  }

  remove(replicaId: ReplicaId): boolean {
    return this.#records.delete(replicaId);
  }

  /** Marks connected replicas silent for `staleAfterMs` stale; returns the newly stale ones. */
  checkStale(nowMs: number, staleAfterMs: number): ReplicaId[] {
    const out: ReplicaId[] = [];
    for (const r of this.#records.values()) {
      const silent =
        r.state === "connected" &&
        r.lastHeardMs !== undefined &&
        nowMs - r.lastHeardMs >= staleAfterMs;
      if (silent && !r.stale) out.push(r.replicaId);
      r.stale = silent;
    }
    return out;
  }

  /** Snapshots, in insertion order. */
  records(): ReplicaHealthRecord[] {
    return [...this.#records.values()].map((r) => ({ ...r }));
  }

  /** One snapshot. */
  get(replicaId: ReplicaId): ReplicaHealthRecord | undefined {
    const r = this.#records.get(replicaId);
    return r === undefined ? undefined : { ...r };
  }
}
