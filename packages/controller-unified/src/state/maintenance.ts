/**
 * The one maintenance tick of a cluster (design.md §9 phase 5), as a pure step: given the
 * cluster's tables and the time, it decides what the driver must do now and marks it in flight.
 * No timer lives here — the driver calls `ClusterState.tick(nowMs)` on its interval (legacy: the
 * storage controller's 1 s `rehydrateFailedReplicas`, `PersistReadHolds.tick` and environmentd's
 * `ImportHolds` upkeep, three loops), so tests step it with any clock.
 *
 * ## What one step does
 * 1. Since handles (`since-handles.ts`): a downgrade to `meet(since, upper)` for every
 *    shard-backed collection whose since moved past its handle's durable since, a heartbeat for
 *    one unwritten for `heartbeatMs`, an expiry for every dropped one.
 * 2. Health (`replica-health.ts`): connected replicas silent for `staleAfterMs` become stale.
 *
 * Everything that follows from an event — policy holds trailing a reported write frontier, a
 * dependant's hold following its since, `allowCompaction` to the replicas, forgetting acknowledged
 * drops — happens at the event itself (`cluster-state.ts`), so the tick never has to catch up on
 * collections and its cost is the number of shard handles and replicas, not the history.
 */
import type { GlobalId, ReplicaId } from "@mzts/repr";
import type { ReplicaHealthTable } from "./replica-health.js";
import type {
  ShardCollection,
  SinceDowngrade,
  SinceExpiry,
  SinceHandles,
} from "./since-handles.js";

/** The tick's tuning. */
export interface MaintenanceTuning {
  /** Heartbeat an unchanged since handle this often (ms). */
  readonly heartbeatMs: number;
  /** A connected replica silent this long is stale (ms). */
  readonly staleAfterMs: number;
}

/** Defaults: persist leases renewed every minute, a replica silent for 10 s is stale. */
export const DEFAULT_MAINTENANCE: MaintenanceTuning = { heartbeatMs: 60_000, staleAfterMs: 10_000 };

/** What one step asks of the driver. */
export interface MaintenanceReport {
  /** Downgrade (or heartbeat) these since handles; settle each with `sinceSettled`/`sinceFailed`. */
  readonly downgrades: readonly SinceDowngrade[];
  /** Expire these since handles (dropped collections). */
  readonly expiries: readonly SinceExpiry[];
  /** Replicas that became stale at this step. */
  readonly staleReplicas: readonly ReplicaId[];
}

/** The parts of a cluster the step reads and marks. */
export interface MaintenanceParts {
  readonly handles: SinceHandles;
  readonly health: ReplicaHealthTable;
  rows(id: GlobalId): ShardCollection | undefined;
}

/** One maintenance step at `nowMs` (see the file comment). */
export function maintenanceStep(
  parts: MaintenanceParts,
  nowMs: number,
  tuning: MaintenanceTuning,
): MaintenanceReport {
  const { downgrades, expiries } = parts.handles.plan(parts.rows, nowMs, tuning.heartbeatMs);
  const staleReplicas = parts.health.checkStale(nowMs, tuning.staleAfterMs);
  return { downgrades, expiries, staleReplicas };
}
