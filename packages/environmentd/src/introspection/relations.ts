/**
 * The introspection relations as environmentd's API shows them (phase 2, *logging*): listed per
 * cluster under the reserved schema (`mz_introspection.<relation>`, `ObjectKind` introspection,
 * with their columns, key and description) — each replica's own log relations, then the persisted
 * `replica_<relation>` ones (`persisted-relations.ts`, read from persist by environmentd) — and
 * resolved for a peek of a replica's log: which relation, which cluster, which replica.
 *
 * ## Resolution of an introspection peek (`resolveIntrospectionPeek`)
 * 1. The relation: `LOG_RELATIONS` by name (`UnknownIntrospectionRelation`, NotFound, lists the
 *    valid names).
 * 2. The cluster: `cluster` by name (`UnknownObject`), or the only cluster (several:
 *    `InvalidObjectRequest` naming them). Logging off (interval 0): `IntrospectionDisabled`. A storage relation on a
 *    replica started without unified logging: `StorageIntrospectionUnavailable`.
 * 3. The request against the relation like any peek: `checkPeekColumns` (MFP, finishing) over its
 *    arity, `validatePeekKeys` (key rows: the relation's key columns and their types).
 * 4. The replica: `replica` by name among the cluster's (`UnknownObject`), or the first online
 *    one by name (`NoReadyReplica`): each replica logs itself, so one must be chosen.
 * 5. The time (when none is requested): `introspectionNow`, the wall clock rounded down to the
 *    interval.
 */
import {
  checkPeekColumns,
  INTROSPECTION_SCHEMA,
  introspectionObjectName,
  LOG_RELATIONS,
  type LogRelation,
  logRelation,
  type ObjectInfo,
  type PeekRequest,
  type ReplicaHealth,
} from "@mzts/protocol";
import type { GlobalId, ReplicaId } from "@mzts/repr";
import type { Cluster, ClusterReplica } from "../catalog/catalog.js";
import { UnknownObject } from "../catalog/errors.js";
import {
  IntrospectionDisabled,
  InvalidObjectRequest,
  NoReadyReplica,
  StorageIntrospectionUnavailable,
  UnknownIntrospectionRelation,
} from "../errors.js";
import { validatePeekKeys } from "../validation/peek.js";
import { introspectionIntervalOf, logIndexId } from "./log-indexes.js";
import { PERSISTED_RELATIONS, persistedIntrospectionObjects } from "./persisted-relations.js";

/** Whether a peek's object names the reserved schema. */
export function isIntrospectionObject(object: string): boolean {
  return object.startsWith(`${INTROSPECTION_SCHEMA}.`);
}

/**
 * The `mz_introspection.<relation>` objects of one cluster, in `LOG_RELATIONS` order, then its
 * persisted `mz_introspection.replica_<relation>` ones.
 */
export function introspectionObjects(cluster: Pick<Cluster, "id" | "name">): ObjectInfo[] {
  const logs = LOG_RELATIONS.map((r) => ({
    id: logIndexId(cluster.id, r.name),
    name: introspectionObjectName(r.name),
    kind: "introspection" as const,
    cluster: cluster.name,
    arity: r.columns.length,
    key: r.key,
    columns: r.columns.map((c) => ({ name: c.name, type: c.type, nullable: c.nullable })),
    description: r.description,
  }));
  return [...logs, ...persistedIntrospectionObjects(cluster)];
}

/** What an introspection peek reads. */
export interface IntrospectionTarget {
  readonly relation: LogRelation;
  readonly clusterId: GlobalId;
  /** The log index of the relation on that cluster. */
  readonly logIndex: GlobalId;
  readonly replicaId: ReplicaId;
  readonly replicaName: string;
  /** The cluster's introspection interval (ms, > 0). */
  readonly intervalMs: number;
}

/** What resolution reads: the catalog's clusters and replicas, and the replicas' health. */
export interface IntrospectionContext {
  readonly clusters: readonly Cluster[];
  readonly replicas: readonly ClusterReplica[];
  readonly health: (
    clusterId: GlobalId,
    replicaId: ReplicaId,
  ) => { health: ReplicaHealth; reason: string };
  /**
   * Whether the replica keeps storage relations (it was started with the unified logging path);
   * undefined = not known here (e.g. not started by this environmentd): the replica answers.
   */
  readonly logsStorage?: (replicaId: ReplicaId) => boolean | undefined;
}

/**
 * Resolves (and validates) a peek of `mz_introspection.<relation>` (see the file comment).
 * @throws UnknownIntrospectionRelation, UnknownObject (cluster, replica), InvalidObjectRequest,
 *   MalformedRequest (columns), IntrospectionDisabled, NoReadyReplica,
 *   StorageIntrospectionUnavailable (a storage relation on a replica on legacy logging)
 */
export function resolveIntrospectionPeek(
  req: PeekRequest,
  ctx: IntrospectionContext,
): IntrospectionTarget {
  const relation = logRelation(req.object);
  if (relation === undefined || !isIntrospectionObject(req.object)) {
    throw new UnknownIntrospectionRelation(req.object, [
      ...LOG_RELATIONS.map((r) => introspectionObjectName(r.name)),
      ...PERSISTED_RELATIONS.map((r) => r.objectName),
    ]);
  }
  const cluster = pickCluster(req.cluster, ctx.clusters);
  const intervalMs = introspectionIntervalOf(cluster);
  if (intervalMs === 0) throw new IntrospectionDisabled(cluster.name);
  checkPeekColumns(req, relation.columns.length);
  validatePeekKeys(req.literalConstraints, {
    name: req.object,
    key: relation.key,
    types: relation.columns.map((c) => c.type),
  });
  const replicas = ctx.replicas
    .filter((r) => r.clusterId === cluster.id)
    .sort((a, b) => (a.name < b.name ? -1 : 1));
  let replica: ClusterReplica | undefined;
  if (req.replica !== undefined) {
    replica = replicas.find((r) => r.name === req.replica);
    if (replica === undefined) throw new UnknownObject("replica", req.replica, cluster.name);
  } else {
    const healths = replicas.map((r) => ({ r, ...ctx.health(cluster.id, r.id) }));
    replica = healths.find((h) => h.health === "online")?.r;
    if (replica === undefined) {
      throw new NoReadyReplica(
        cluster.name,
        healths.map((h) => `${h.r.name} (${h.health}${h.reason === "" ? "" : `: ${h.reason}`})`),
      );
    }
  }
  if (relation.workload === "storage" && ctx.logsStorage?.(replica.id) === false) {
    throw new StorageIntrospectionUnavailable(req.object, cluster.name, replica.name);
  }
  return {
    relation,
    clusterId: cluster.id,
    logIndex: logIndexId(cluster.id, relation.name),
    replicaId: replica.id,
    replicaName: replica.name,
    intervalMs,
  };
}

/**
 * The default time of an introspection peek: now (wall-clock ms) rounded down to the interval —
 * the newest log time a replica has completed (its log indexes' upper is one past the last
 * interval multiple it stepped to), so the peek is answered at once instead of waiting up to one
 * interval (an hour, at the largest) for the next multiple.
 */
export function introspectionNow(intervalMs: number, nowMs: number = Date.now()): bigint {
  return BigInt(Math.floor(nowMs / intervalMs) * intervalMs);
}

/** The named cluster, or the only one. @throws UnknownObject, InvalidObjectRequest */
export function pickCluster(name: string | undefined, clusters: readonly Cluster[]): Cluster {
  if (name !== undefined) {
    const c = clusters.find((x) => x.name === name);
    if (c === undefined) throw new UnknownObject("cluster", name);
    return c;
  }
  const [only, ...more] = clusters;
  if (only !== undefined && more.length === 0) return only;
  throw new InvalidObjectRequest(
    "cluster",
    only === undefined
      ? "is unset and there is no cluster; create one (CreateCluster) first"
      : `is unset; an introspection relation exists per cluster: name one of ${clusters
          .map((c) => c.name)
          .sort()
          .join(", ")}`,
  );
}
