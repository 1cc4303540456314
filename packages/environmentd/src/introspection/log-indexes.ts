/**
 * A cluster's introspection configuration (phase 2, *logging*): its interval, kept in the
 * catalog with the cluster, and the GlobalId of each of its log indexes — one per introspection
 * relation (`LOG_RELATIONS` of `@mzts/protocol`) — sent to its replicas in `CreateInstance`'s
 * `LoggingConfig`.
 *
 * ## Log index ids (stable across restarts, unique in the environment)
 * Derived from the catalog, never stored: relation `r` (its position in `LOG_RELATIONS`) of
 * cluster `u<n>` is the system id `s<n × 1000 + r>`. Cluster ids come from the catalog's one
 * durable counter and are never reused, and `r < LOG_ID_STRIDE`, so no two clusters share one and
 * a restarted environmentd sends every adopted replica the config it runs (reconciliation keeps
 * it). Nothing else in the environment allocates `s<n>` ids. A new relation must therefore be
 * *appended* to `LOG_RELATIONS` (inserting one would renumber the ones after it).
 *
 * ## Interval
 * `ClusterOptions.introspectionIntervalMs` (ms): written at `CreateCluster` (default 1000, 0 =
 * logging off, else 100..3_600_000, `introspectionIntervalProblem`); a cluster created before it
 * existed has the default. A stored value that is not valid (the catalog was edited by hand) is
 * read as the default too, so a boot never fails on it.
 */
import {
  DEFAULT_INTROSPECTION_INTERVAL_MS,
  introspectionIntervalProblem,
  LOG_RELATIONS,
  type LoggingConfig,
} from "@mzts/protocol";
import { GlobalId, InvariantViolation } from "@mzts/repr";
import type { Cluster, ClusterOptions } from "../catalog/catalog.js";

/** How many log ids each cluster reserves (an upper bound on the number of relations). */
export const LOG_ID_STRIDE = 1000;

/** The cluster option holding the interval. */
export const INTERVAL_OPTION = "introspectionIntervalMs";

/** A cluster's introspection interval in ms (0 = logging off). */
export function introspectionIntervalOf(cluster: Pick<Cluster, "options">): number {
  const v = cluster.options[INTERVAL_OPTION];
  return typeof v === "number" && introspectionIntervalProblem(v) === undefined
    ? v
    : DEFAULT_INTROSPECTION_INTERVAL_MS;
}

/** The options a new cluster is stored with. */
export function clusterOptions(intervalMs: number | undefined): ClusterOptions {
  return { [INTERVAL_OPTION]: intervalMs ?? DEFAULT_INTROSPECTION_INTERVAL_MS };
}

/**
 * The log index id of relation `name` of cluster `clusterId` (see the file comment).
 * @throws InvariantViolation for an unknown relation or a cluster id the catalog never allocates.
 */
export function logIndexId(clusterId: GlobalId, name: string): GlobalId {
  const r = LOG_RELATIONS.findIndex((x) => x.name === name);
  if (r < 0) throw new InvariantViolation(`no introspection relation ${name}`);
  if (r >= LOG_ID_STRIDE) throw new InvariantViolation(`more than ${LOG_ID_STRIDE} relations`);
  if (!/^u[0-9]+$/.test(clusterId)) {
    throw new InvariantViolation(`cluster id ${clusterId} is not a catalog id (u<n>)`);
  }
  const id = `s${BigInt(clusterId.slice(1)) * BigInt(LOG_ID_STRIDE) + BigInt(r)}`;
  if (!GlobalId.is(id)) throw new InvariantViolation(`cluster id ${clusterId} is too large`);
  return id;
}

/** Every log index id of a cluster: relation name → id, in `LOG_RELATIONS` order. */
export function logIndexIds(clusterId: GlobalId): ReadonlyMap<string, GlobalId> {
  return new Map(LOG_RELATIONS.map((r) => [r.name, logIndexId(clusterId, r.name)]));
}

/** The `LoggingConfig` a cluster's compute instance is created with. */
export function loggingConfig(cluster: Pick<Cluster, "id" | "options">): LoggingConfig {
  const intervalMs = introspectionIntervalOf(cluster);
  return {
    enabled: intervalMs > 0,
    intervalMs,
    logLogging: false,
    indexLogs: logIndexIds(cluster.id),
  };
}
