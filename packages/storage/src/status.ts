/**
 * `IngestionStatuses`: worker 0's status of every recorded ingestion, and the `statusUpdate`
 * responses that report it (worker 0 only, so the controller sees one copy).
 *
 * ## Lifecycle of an ingestion's status
 * - `starting` when the ingestion is recorded (`record`);
 * - `running` once every live export's writer has written or adopted an upper (`health` with
 *   `error: null` from each writer); the first time also fixes the rehydration latency (recorded
 *   → running), reported with the statistics;
 * - `stalled` with the error while an export's writer fails to append, back to `running` when it
 *   recovers;
 * - `dropped` when the controller drops the ingestion (`forget(id, true)`); nothing after that.
 * A status is emitted only when it changes, and not while a new connection's commands are being
 * buffered (reconciliation): then `resend` re-emits the latest status of every kept ingestion,
 * restamped.
 */
import type { ObjectStatus } from "@mzts/protocol";
import type { GlobalId } from "@mzts/repr";
import type { StorageStateDeps } from "./storage-state-deps.js";

/** What the statuses need of the state. */
export interface StatusScope {
  readonly deps: Pick<StorageStateDeps, "respond" | "nowMs">;
  /**
   * The shard of each live export of recorded ingestion `id` (undefined for an export whose shard
   * is unknown), or undefined when `id` is not recorded.
   */
  exportShards(id: GlobalId): Array<string | undefined> | undefined;
  /** Whether a new connection's commands are being buffered (statuses are held back). */
  buffering(): boolean;
}

/** An ingestion's latest status (with its error while stalled). */
export interface Status {
  readonly status: ObjectStatus;
  readonly error?: string;
}

/** Worker 0's ingestion statuses; see the file comment. */
export class IngestionStatuses {
  readonly #scope: StatusScope;
  /** Ingestion id → latest status, from record until forgotten (re-sent after reconnection). */
  readonly #statuses = new Map<GlobalId, Status>();
  /** Ingestion id → shard id → writer health (null = fine), from record until forgotten. */
  readonly #health = new Map<GlobalId, Map<string, string | null>>();
  /** Ingestion id → when it was recorded (for rehydration latency). */
  readonly #startedAtMs = new Map<GlobalId, number>();
  /** Ingestion id → ms from recorded to running, fixed at the first `running`. */
  readonly #rehydrationMs = new Map<GlobalId, number>();

  constructor(scope: StatusScope) {
    this.#scope = scope;
  }

  /** A new ingestion is recorded: `starting`. */
  record(id: GlobalId): void {
    this.#startedAtMs.set(id, this.#scope.deps.nowMs());
    this.#health.set(id, new Map());
    this.#set(id, "starting");
  }

  /** A writer's health report for one of `ingestionId`'s shards; ignored when not recorded. */
  onHealth(ingestionId: GlobalId, shardId: string, error: string | null): void {
    const h = this.#health.get(ingestionId);
    if (h === undefined) return;
    h.set(shardId, error);
    this.#update(ingestionId);
  }

  /** The ingestion is gone: `dropped` first when the controller dropped it (`report`). */
  forget(id: GlobalId, report: boolean): void {
    if (report) this.#set(id, "dropped");
    this.#statuses.delete(id);
    this.#health.delete(id);
    this.#startedAtMs.delete(id);
    this.#rehydrationMs.delete(id);
  }

  /** Re-emits the latest status of each of `ids` (after reconciliation). */
  resend(ids: Iterable<GlobalId>): void {
    for (const id of ids) {
      const s = this.#statuses.get(id);
      if (s !== undefined) this.#emit(id, s.status, s.error);
    }
  }

  /** The latest status of every recorded ingestion (introspection samples it). */
  entries(): IterableIterator<[GlobalId, Status]> {
    return this.#statuses.entries();
  }

  /** Whether the ingestion's latest status is `running`. */
  isRunning(id: GlobalId): boolean {
    return this.#statuses.get(id)?.status === "running";
  }

  /** Ms from recorded to first running, once known. */
  rehydrationMs(id: GlobalId): number | undefined {
    return this.#rehydrationMs.get(id);
  }

  /** Derives an ingestion's status from its writers' health. */
  #update(id: GlobalId): void {
    const shards = this.#scope.exportShards(id);
    const h = this.#health.get(id);
    if (shards === undefined || h === undefined) return;
    let running = true;
    for (const shardId of shards) {
      const e = shardId === undefined ? undefined : h.get(shardId);
      if (typeof e === "string") {
        this.#set(id, "stalled", e);
        return;
      }
      if (e === undefined) running = false;
    }
    if (running) {
      if (!this.#rehydrationMs.has(id)) {
        const started = this.#startedAtMs.get(id) ?? this.#scope.deps.nowMs();
        this.#rehydrationMs.set(id, this.#scope.deps.nowMs() - started);
      }
      this.#set(id, "running");
    }
  }

  #set(id: GlobalId, status: ObjectStatus, error?: string): void {
    const prev = this.#statuses.get(id);
    if (prev !== undefined && prev.status === status && prev.error === error) return;
    if (prev?.status === "dropped") return;
    this.#statuses.set(id, error === undefined ? { status } : { status, error });
    if (!this.#scope.buffering()) this.#emit(id, status, error);
  }

  #emit(id: GlobalId, status: ObjectStatus, error: string | undefined): void {
    this.#scope.deps.respond({
      kind: "statusUpdate",
      update: {
        id,
        status,
        timestampMs: BigInt(this.#scope.deps.nowMs()),
        ...(error === undefined ? {} : { error }),
        hints: [],
        namespacedErrors: new Map(),
      },
    });
  }
}
