/**
 * A replica the process orchestrator manages (`Entry`: its latest spec, state, current process,
 * restart bookkeeping and the `ensureReplica` calls waiting for it), the checks on a wanted spec
 * (`validateSpec`, `sameShape`: what decides adopt/keep versus replace) and the records on disk
 * that the managed and unclaimed replicas amount to (`recordsOf`), and their `list()` status.
 */
import { type PhaseSet, SERVER_SIDE_PHASES } from "@mzts/flags";
import { locationOf, type Ports, type Running } from "./clusterd-process.js";
import { InvalidReplicaSpec, type OrchestratorError } from "./errors.js";
import type { ReplicaLocation, ReplicaSpec, ReplicaState, ReplicaStatus } from "./orchestrator.js";
import type { ReplicaRecord } from "./replica-records.js";

/** A replica this orchestrator manages (started or adopted). */
export interface Entry {
  /** The latest spec asked for (its generation is the claiming generation). */
  spec: ReplicaSpec;
  state: ReplicaState;
  /** The current process, from spawn until it is seen dead. */
  running: Running | null;
  /** The clusterd entry the current process runs. */
  clusterdPath: string;
  /** Restarts since this orchestrator took the replica on. */
  restarts: number;
  /** Backoff attempt of the pending/last restart. */
  attempt: number;
  /** Ports the next restart asks for; null = any free port. */
  preferredPorts: Ports | null;
  adopted: boolean;
  restartTimer: NodeJS.Timeout | null;
  /** Set by drop/close/replacement: no restart may follow. */
  removed: boolean;
  /** `ensureReplica` calls waiting for the next `online`. */
  waiters: { resolve(l: ReplicaLocation): void; reject(e: OrchestratorError): void }[];
}

/** A fresh entry, `starting`, with no process yet. */
export function newEntry(spec: ReplicaSpec, clusterdPath: string): Entry {
  return {
    spec,
    state: "starting",
    running: null,
    clusterdPath,
    restarts: 0,
    attempt: 0,
    preferredPorts: null,
    adopted: false,
    restartTimer: null,
    removed: false,
    waiters: [],
  };
}

/**
 * Whether a process of `other`'s shape, running `clusterdPath`, can serve `spec` (same cluster,
 * workers, server-side phases in effect and clusterd entry as the orchestrator's
 * `currentClusterdPath`). Only the phases clusterd reads (`SERVER_SIDE_PHASES`) shape a process:
 * a replica started before a controller-side flip (replicas, state) serves either controller
 * path, so an environmentd restarted after one adopts it instead of replacing it.
 */
export function sameShape(
  spec: ReplicaSpec,
  other: { clusterId: string; workers: number; phases: PhaseSet },
  clusterdPath: string,
  currentClusterdPath: string,
): boolean {
  return (
    spec.clusterId === other.clusterId &&
    spec.workers === other.workers &&
    SERVER_SIDE_PHASES.every((p) => spec.phases.takesEffect(p) === other.phases.takesEffect(p)) &&
    clusterdPath === currentClusterdPath
  );
}

/** @throws InvalidReplicaSpec naming the field that is wrong */
export function validateSpec(spec: ReplicaSpec): void {
  const id = spec.replicaId;
  if (!/^[A-Za-z0-9_.-]+$/.test(id)) {
    throw new InvalidReplicaSpec(id, "replicaId", "must be letters, digits, '_', '.' or '-'");
  }
  if (spec.clusterId === "") throw new InvalidReplicaSpec(id, "clusterId", "must not be empty");
  if (spec.phases.clusterId !== spec.clusterId) {
    throw new InvalidReplicaSpec(
      id,
      "phases",
      `is the PhaseSet of cluster ${spec.phases.clusterId}, not of ${spec.clusterId}`,
    );
  }
  if (!Number.isSafeInteger(spec.generation) || spec.generation < 0) {
    throw new InvalidReplicaSpec(id, "generation", "must be a non-negative integer");
  }
}

/** The records to save: every unclaimed one, and every managed replica with a known pid. */
export function recordsOf(
  unclaimed: Iterable<ReplicaRecord>,
  entries: Iterable<Entry>,
  host: string,
): ReplicaRecord[] {
  const out: ReplicaRecord[] = [...unclaimed];
  for (const e of entries) {
    const r = e.running;
    if (r === null) continue;
    out.push({
      replicaId: e.spec.replicaId,
      clusterId: e.spec.clusterId,
      workers: e.spec.workers,
      phases: e.spec.phases.toJSON(),
      generation: e.spec.generation,
      pid: r.pid,
      clusterdPath: e.clusterdPath,
      ports: r.ports,
      host,
      startedAt: r.startedAt.toISOString(),
    });
  }
  return out;
}

/** The status of a managed replica (listening on `host`). */
export function entryStatus(e: Entry, host: string): ReplicaStatus {
  const r = e.running;
  return {
    replicaId: e.spec.replicaId,
    clusterId: e.spec.clusterId,
    generation: e.spec.generation,
    workers: e.spec.workers,
    state: e.state,
    pid: r?.pid ?? null,
    location: r?.ports ? locationOf(host, r.ports) : null,
    startedAt: r?.startedAt ?? null,
    restarts: e.restarts,
    adopted: e.adopted,
  };
}

/** The status of a recorded process no one has claimed yet. */
export function unclaimedStatus(rec: ReplicaRecord): ReplicaStatus {
  return {
    replicaId: rec.replicaId,
    clusterId: rec.clusterId,
    generation: rec.generation,
    workers: rec.workers,
    state: "unclaimed",
    pid: rec.pid,
    location: rec.ports ? locationOf(rec.host, rec.ports) : null,
    startedAt: new Date(rec.startedAt),
    restarts: 0,
    adopted: false,
  };
}
