/**
 * The persisted per-replica introspection relations as environmentd names, stores and lists
 * them (phase 2, *logging*, materialize.md §5 "Unified introspection"): for each relation of
 * `PERSISTED_INTROSPECTION` (`hydration_times`, `compute_frontiers`, `error_counts`), one
 * environment-wide persist shard whose rows are the replica's own log rows with the replica id
 * prepended, written by environmentd from a replica-targeted subscribe
 * (`replica-introspection.ts`) and readable while the replica is down.
 *
 * ## Names (listed per cluster, like the log relations)
 * | relation            | listed as                                   | shard                                       |
 * | ------------------- | ------------------------------------------- | ------------------------------------------- |
 * | `hydration_times`   | `mz_introspection.replica_hydration_times`   | `mz_introspection.replica_hydration_times`   |
 * | `compute_frontiers` | `mz_introspection.replica_compute_frontiers` | `mz_introspection.replica_compute_frontiers` |
 * | `error_counts`      | `mz_introspection.replica_error_counts`      | `mz_introspection.replica_error_counts`      |
 *
 * `replica_<relation>` = "`<relation>` of every replica, with `replica_id`": the log relation's
 * columns after `replica_id`, its key shifted by one after column 0. A cluster's listing (and a
 * peek naming the cluster) shows the rows of that cluster's replicas.
 *
 * ## Ids (never stored; no catalog id or log index id can equal them)
 * - The collection (its read hold in `PersistReadHolds`): `s<PERSISTED_ID_BASE + i>`, in the
 *   block of cluster `u0`, which the catalog never allocates (its ids start at `u1`).
 * - Listed per cluster `u<n>`: `s<n × LOG_ID_STRIDE + PERSISTED_ID_BASE + i>` — in the cluster's
 *   own block, above its log relations (`LOG_RELATIONS` must stay below `PERSISTED_ID_BASE`
 *   entries; checked here at load).
 */
import {
  INTROSPECTION_SCHEMA,
  LOG_RELATIONS,
  type LogRelation,
  type ObjectInfo,
} from "@mzts/protocol";
import { type GlobalId, InvariantViolation } from "@mzts/repr";
import type { Cluster } from "../catalog/catalog.js";
import { LOG_ID_STRIDE } from "./log-indexes.js";
import {
  PERSISTED_INTROSPECTION,
  type PersistedIntrospection,
  persistedRelationName,
} from "./replica-collections.js";

/** Where the persisted relations' ids start in a `LOG_ID_STRIDE` block (see the file comment). */
export const PERSISTED_ID_BASE = 900;

if (LOG_RELATIONS.length >= PERSISTED_ID_BASE) {
  throw new InvariantViolation(
    `${LOG_RELATIONS.length} log relations reach the persisted introspection ids (${PERSISTED_ID_BASE})`,
  );
}

/**
 * Who a peek answered by environmentd itself names (no replica answered it): `s0` is a system id
 * no replica has (replica ids are `u<n>`).
 */
export const PERSISTED_ANSWERER = { replica: "environmentd", replicaId: "s0" } as const;

/** One persisted relation, as listed and peeked. */
export interface PersistedRelation {
  readonly relation: PersistedIntrospection;
  /** `mz_introspection.replica_<relation>`. */
  readonly objectName: string;
  /** The environment-wide collection id (its read hold). */
  readonly collectionId: GlobalId;
  readonly shardId: string;
  /** `replica_id` then the log relation's columns. */
  readonly columns: ReadonlyArray<{
    name: string;
    type: LogRelation["columns"][number]["type"];
    nullable: boolean;
  }>;
  /** `[0, ...log key + 1]`: unique among the live rows. */
  readonly key: readonly number[];
  readonly description: string;
}

function define(relation: PersistedIntrospection, i: number): PersistedRelation {
  const log = LOG_RELATIONS.find((r) => r.name === relation);
  if (log === undefined) throw new InvariantViolation(`no log relation ${relation}`);
  const objectName = `${INTROSPECTION_SCHEMA}.${persistedRelationName(relation)}`;
  return Object.freeze({
    relation,
    objectName,
    collectionId: `s${PERSISTED_ID_BASE + i}`,
    shardId: objectName,
    columns: Object.freeze([
      { name: "replica_id", type: "text" as const, nullable: false },
      ...log.columns.map((c) => ({ name: c.name, type: c.type, nullable: c.nullable })),
    ]),
    key: Object.freeze([0, ...log.key.map((k) => k + 1)]),
    description: `${log.description}, of every replica (persisted by environmentd; a replica's rows are retracted when it disconnects or is dropped)`,
  });
}

/** Every persisted relation, in `PERSISTED_INTROSPECTION` order. */
export const PERSISTED_RELATIONS: readonly PersistedRelation[] = Object.freeze(
  PERSISTED_INTROSPECTION.map(define),
);

/** The persisted relation listed as `object` (`mz_introspection.replica_<relation>`), if any. */
export function persistedRelation(object: string): PersistedRelation | undefined {
  return PERSISTED_RELATIONS.find((r) => r.objectName === object);
}

/** Whether `shardId` is one of the persisted introspection shards (never garbage). */
export function isPersistedIntrospectionShard(shardId: string): boolean {
  return PERSISTED_RELATIONS.some((r) => r.shardId === shardId);
}

/** The persisted relations as one cluster lists them (see the file comment for the ids). */
export function persistedIntrospectionObjects(cluster: Pick<Cluster, "id" | "name">): ObjectInfo[] {
  if (!/^u[0-9]+$/.test(cluster.id)) {
    throw new InvariantViolation(`cluster id ${cluster.id} is not a catalog id (u<n>)`);
  }
  const block = BigInt(cluster.id.slice(1)) * BigInt(LOG_ID_STRIDE);
  return PERSISTED_RELATIONS.map((r, i) => ({
    id: `s${block + BigInt(PERSISTED_ID_BASE + i)}`,
    name: r.objectName,
    kind: "introspection" as const,
    cluster: cluster.name,
    arity: r.columns.length,
    key: r.key,
    columns: r.columns,
    description: r.description,
  }));
}
