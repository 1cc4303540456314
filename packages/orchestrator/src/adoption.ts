/**
 * Adoption of the replicas a previous orchestrator recorded: at boot, which records stand for a
 * live clusterd worth keeping `unclaimed` (a dead pid's record is dropped; a pid that is not that
 * replica's clusterd, per `/proc/<pid>/cmdline`, is left alone and its record dropped; a clusterd
 * that does not answer `/health` for its replica is terminated), and later, whether an unclaimed
 * process can serve a wanted spec (same shape, still alive and healthy on the same host) and the
 * `Running` it becomes.
 */
import { PhaseSet } from "@mzts/flags";
import type { Logger } from "pino";
import type { Running } from "./clusterd-process.js";
import type { OrchestratorMetrics } from "./metrics.js";
import type { ReplicaSpec } from "./orchestrator.js";
import { isAlive, isClusterdFor, probeHealth, terminatePid } from "./process-probe.js";
import { sameShape } from "./replica-entry.js";
import type { ReplicaRecord } from "./replica-records.js";

function phasesOf(record: ReplicaRecord): PhaseSet | null {
  try {
    return PhaseSet.fromJSON(record.phases);
  } catch {
    return null;
  }
}

/**
 * Checks one record at boot: true when its process is a live, healthy clusterd for its replica
 * (to be kept unclaimed); an unhealthy one is terminated first.
 */
export async function checkRecordAtBoot(
  rec: ReplicaRecord,
  graceMs: number,
  log: Logger,
  metrics: OrchestratorMetrics,
): Promise<boolean> {
  const fields = { replica_id: rec.replicaId, pid: rec.pid, generation: rec.generation };
  if (!isAlive(rec.pid)) {
    log.info(fields, "stale replica record removed: its process is gone");
    return false;
  }
  if (!isClusterdFor(rec.pid, rec.clusterdPath, rec.clusterId, rec.replicaId)) {
    log.warn(fields, "replica record removed: its pid now belongs to another process");
    return false;
  }
  const healthy =
    rec.ports !== null &&
    (await probeHealth(rec.host, rec.ports.http, rec.clusterId, rec.replicaId));
  if (!healthy) {
    log.warn(fields, "recorded clusterd is not healthy; terminating it");
    await terminatePid(rec.pid, graceMs);
    metrics.terminations.inc({ reason: "unhealthy" });
    return false;
  }
  log.info(fields, "live replica found; unclaimed until ensureReplica or reconcile");
  return true;
}

/** Whether an unclaimed recorded process can serve `spec`, and why not. */
export interface Adoptability {
  readonly shapeOk: boolean;
  readonly live: boolean;
  /** The process the replica's entry gets when adoptable; null otherwise. */
  readonly running: Running | null;
}

/**
 * Checks an unclaimed record against `spec` for an orchestrator running `clusterdPath` on `host`.
 */
export async function checkAdoptable(
  spec: ReplicaSpec,
  rec: ReplicaRecord,
  clusterdPath: string,
  host: string,
): Promise<Adoptability> {
  const id = spec.replicaId;
  const phases = phasesOf(rec);
  const shapeOk =
    phases !== null &&
    sameShape(spec, { ...rec, phases }, rec.clusterdPath, clusterdPath) &&
    rec.clusterdPath === clusterdPath;
  const live =
    rec.ports !== null &&
    isAlive(rec.pid) &&
    isClusterdFor(rec.pid, rec.clusterdPath, rec.clusterId, id) &&
    (await probeHealth(rec.host, rec.ports.http, rec.clusterId, id));
  if (!shapeOk || !live || rec.ports === null || rec.host !== host) {
    return { shapeOk, live, running: null };
  }
  return {
    shapeOk,
    live,
    running: {
      pid: rec.pid,
      child: null,
      ports: rec.ports,
      startedAt: new Date(rec.startedAt),
      onlineSince: Date.now(),
      stopping: false,
      healthFailures: 0,
      exit: null,
    },
  };
}
