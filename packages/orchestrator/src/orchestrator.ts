/**
 * The orchestrator seam: what environmentd asks of whatever runs its replicas. The process
 * orchestrator (`process-orchestrator.ts`) implements it with local clusterd processes; a future
 * Kubernetes orchestrator implements it with one StatefulSet per replica.
 *
 * ## Contract
 * - `ensureReplica(spec)` is idempotent: a replica already running with the same process-shaping
 *   fields (cluster, workers, phases) is kept — including one started by a previous environmentd
 *   (adoption) — and only its generation is bumped; a different spec replaces the process.
 * - The location of a replica may change across restarts: a controller must (re)connect to the
 *   location of the latest `online` event (or `ensureReplica`'s result), never cache it forever.
 * - `reconcile(wanted)` is what a booting environmentd calls with every replica of its catalog:
 *   wanted ones are ensured (adopted when possible), everything else is terminated.
 * - A replica outlives its orchestrator only when the orchestrator dies (or is abandoned); a
 *   replica with no controller exits on its own after `controllerAbsentTimeout` (clusterd's job).
 */
import type { PhaseSet } from "@mzts/flags";
import type { OrchestratorError } from "./errors.js";

/** What a replica should be. */
export interface ReplicaSpec {
  readonly clusterId: string;
  readonly replicaId: string;
  /** The replica size: worker threads per runtime. */
  readonly workers: number;
  /** The cluster's phase flags, read once by environmentd; passed to clusterd at start (§7). */
  readonly phases: PhaseSet;
  /**
   * The generation of the environmentd asking (bumped at every boot). A replica claimed by a
   * higher generation refuses a lower one (`StaleGeneration`); a higher one adopts it.
   */
  readonly generation: number;
}

/**
 * Where a replica's controllers connect. URLs are `http://host:port` (h2c for the gRPC ports).
 * One-port layout (`replica-layout.ts`): `clusterUrl` is set and both controllers' URLs are it.
 */
export interface ReplicaLocation {
  /** Compute controller endpoint (gRPC over h2c); the cluster port in the one-port layout. */
  readonly computeUrl: string;
  /** Storage controller endpoint (gRPC over h2c); the cluster port in the one-port layout. */
  readonly storageUrl: string;
  /** The one-port layout's `ClusterService` endpoint; absent in the two-port layout. */
  readonly clusterUrl?: string;
  /** `/metrics`, `/health`, `/ready` (HTTP/1.1). */
  readonly httpUrl: string;
}

/**
 * - `starting`: first start under way; `online`: ready (started or adopted);
 * - `restarting`: it died and a restart is scheduled or under way; `stopping`: being dropped;
 * - `failed`: it cannot start (bad configuration), no more restarts until `ensureReplica`;
 * - `unclaimed`: recorded by a previous orchestrator and alive, not (yet) wanted by this one.
 */
export type ReplicaState =
  | "starting"
  | "online"
  | "restarting"
  | "stopping"
  | "failed"
  | "unclaimed";

export const REPLICA_STATES: readonly ReplicaState[] = [
  "starting",
  "online",
  "restarting",
  "stopping",
  "failed",
  "unclaimed",
];

export interface ReplicaStatus {
  readonly replicaId: string;
  readonly clusterId: string;
  readonly generation: number;
  readonly workers: number;
  readonly state: ReplicaState;
  /** The current process, when one is running. */
  readonly pid: number | null;
  readonly location: ReplicaLocation | null;
  /** When the current process started. */
  readonly startedAt: Date | null;
  /** Restarts since this orchestrator took the replica on. */
  readonly restarts: number;
  /** Whether the current process was started by a previous orchestrator and adopted. */
  readonly adopted: boolean;
}

/** Lifecycle events, one listener call per transition. */
export type ReplicaEvent =
  | {
      readonly kind: "online";
      readonly replicaId: string;
      readonly pid: number;
      readonly location: ReplicaLocation;
      /** True when the process was adopted rather than started. */
      readonly adopted: boolean;
    }
  | {
      readonly kind: "offline";
      readonly replicaId: string;
      readonly pid: number;
      readonly reason: string;
      readonly exitCode: number | null;
      readonly signal: string | null;
      /** The last lines of the process' stderr log (bounded; "" when empty or unreadable). */
      readonly stderrTail: string;
    }
  | {
      readonly kind: "restarting";
      readonly replicaId: string;
      /** 1 for the first restart after a stable run. */
      readonly attempt: number;
      readonly delayMs: number;
      readonly reason: string;
    }
  | {
      readonly kind: "failed";
      readonly replicaId: string;
      readonly reason: string;
      readonly error: OrchestratorError;
      /** True when no further restart is attempted (bad configuration). */
      readonly permanent: boolean;
    };

export type ReplicaEventListener = (event: ReplicaEvent) => void;

/** What `reconcile` did. */
export interface ReconcileResult {
  /** Every wanted replica that is online, by replica id. */
  readonly locations: ReadonlyMap<string, ReplicaLocation>;
  /** Wanted replicas that could not be started, by replica id. */
  readonly failed: ReadonlyMap<string, OrchestratorError>;
  /** Replicas terminated because they were not wanted. */
  readonly terminated: readonly string[];
}

export interface Orchestrator {
  /**
   * Makes the replica run as specified and resolves with its location once it is online.
   * @throws ReplicaStartFailed when its process cannot start.
   * @throws StaleGeneration when a higher generation claimed the replica.
   * @throws InvalidReplicaSpec when the spec is inconsistent.
   * @throws OrchestratorClosed after `close()`.
   * @throws ReplicaDropped when the replica is dropped while the call waits.
   */
  ensureReplica(spec: ReplicaSpec): Promise<ReplicaLocation>;
  /**
   * Stops the replica's process (SIGTERM, then SIGKILL after the grace period) and forgets it.
   * @throws UnknownReplica when neither running here nor recorded by a previous orchestrator.
   * @throws OrchestratorClosed after `close()`.
   */
  dropReplica(replicaId: string): Promise<void>;
  /**
   * Ensures every wanted replica and terminates every other one (managed or unclaimed).
   * @throws OrchestratorClosed after `close()`.
   */
  reconcile(wanted: readonly ReplicaSpec[]): Promise<ReconcileResult>;
  /** Every replica known to this orchestrator, unclaimed records included. */
  list(): ReplicaStatus[];
  /** Subscribes to lifecycle events; returns the unsubscribe function. */
  onEvent(listener: ReplicaEventListener): () => void;
  /** Gracefully stops every managed replica (unclaimed records are left for the next boot). */
  close(): Promise<void>;
}
