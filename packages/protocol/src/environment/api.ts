/**
 * Domain types of the environment API (`mz.environment.v1.EnvironmentService`, environmentd's
 * public API): one request type per rpc and the responses environmentd builds, over
 * `@mzts/repr`/`@mzts/expr`. `codec.ts` converts them to and from the wire messages.
 *
 * Invariants (checked by the codec's `…FromProto`):
 * - every name (`name`, `cluster`, `on`, `object`) is an identifier: `[a-z_][a-z0-9_]*`, at most
 *   63 characters (`isObjectName`);
 * - replica sizes (worker counts) are ≥ 1; tick intervals and timeouts are > 0;
 * - a materialized view's plan passes `validatePlan`; its `get` nodes name their inputs by
 *   GlobalId (not by name), and every `get` of one id states the same arity;
 * - peek key rows all have one width; finishing columns index the MFP output when an MFP is given
 *   (columns against the object's arity are checked by environmentd with `checkPeekColumns`).
 *
 * Rpc semantics and error cases are the comments of `proto/mz/environment/v1/environment.proto`.
 */
import type { Plan } from "@mzts/expr";
import type { Frontier, GlobalId, ReplicaId, Row, Timestamp, Update } from "@mzts/repr";
import type { MapFilterProject, RowSetFinishing } from "../compute/command.js";
import { INTROSPECTION_SCHEMA } from "../introspection/relations.js";
import type { IngestionConnection } from "../storage/command.js";

/** Longest object name (Postgres' NAMEDATALEN - 1). */
export const MAX_NAME_LENGTH = 63;

const NAME = /^[a-z_][a-z0-9_]*$/;

/** True for a valid cluster/replica/object name: `[a-z_][a-z0-9_]*`, 1–63 characters. */
export function isObjectName(v: string): boolean {
  return v.length <= MAX_NAME_LENGTH && NAME.test(v);
}

/** The listed name of an introspection relation: `mz_introspection.<relation>`. */
export function introspectionObjectName(relation: string): string {
  return `${INTROSPECTION_SCHEMA}.${relation}`;
}

/**
 * True for `mz_introspection.<name>` with `<name>` a valid object name (whether such a relation
 * exists is environmentd's to say: it lists the valid ones).
 */
export function isIntrospectionObjectName(v: string): boolean {
  const prefix = `${INTROSPECTION_SCHEMA}.`;
  return v.startsWith(prefix) && isObjectName(v.slice(prefix.length));
}

// ---------------------------------------------------------------------------------------------
// Requests

export interface CreateClusterRequest {
  readonly name: string;
  /**
   * Absent = `DEFAULT_INTROSPECTION_INTERVAL_MS`; 0 = logging off; else 100..3_600_000
   * (`introspectionIntervalProblem`).
   */
  readonly introspectionIntervalMs?: number;
}
export interface DropClusterRequest {
  readonly name: string;
  /** Also drop the objects installed on the cluster. */
  readonly cascade: boolean;
}
export type ListClustersRequest = Readonly<Record<string, never>>;
export interface CreateReplicaRequest {
  readonly cluster: string;
  readonly name: string;
  /** Worker threads (≥ 1). */
  readonly size: number;
}
export interface DropReplicaRequest {
  readonly cluster: string;
  readonly name: string;
}
export interface CreateSourceRequest {
  readonly name: string;
  readonly cluster: string;
  /** Generator, seed, tick interval (> 0 ms), optional deterministic mode. */
  readonly loadGenerator: IngestionConnection;
}
export interface CreateIndexRequest {
  readonly name: string;
  readonly cluster: string;
  /** Name of the indexed source, subsource or materialized view. */
  readonly on: string;
  /** Key columns; empty = the whole row. */
  readonly key: readonly number[];
}
export interface CreateMaterializedViewRequest {
  readonly name: string;
  readonly cluster: string;
  /** Valid plan; `get` nodes name inputs by GlobalId. */
  readonly plan: Plan;
}
export interface DropObjectRequest {
  readonly name: string;
  /** Also drop dependents. */
  readonly cascade: boolean;
}
export interface ListObjectsRequest {
  /** Absent = every cluster. */
  readonly cluster?: string;
}
export interface PeekRequest {
  /** Name of the object read, or `mz_introspection.<relation>`. */
  readonly object: string;
  /** Absent = the freshest complete time. */
  readonly timestamp?: Timestamp;
  /** Absent = every row; else only rows whose index key is one of these (all one width). */
  readonly literalConstraints?: readonly Row[];
  /** Absent = identity. */
  readonly mapFilterProject?: MapFilterProject;
  /** Absent = no ordering, limit or offset; all columns. */
  readonly finishing?: RowSetFinishing;
  /** Absent = the server default; else > 0. */
  readonly timeoutMs?: number;
  /**
   * Absent = every replica (first answer wins; introspection: an online replica environmentd
   * picks); else the replica of that name answers.
   */
  readonly replica?: string;
  /** Introspection: whose relation (absent = the only cluster); otherwise the object's cluster. */
  readonly cluster?: string;
}
export interface SubscribeRequest {
  readonly object: string;
  /** Absent = the freshest complete time. */
  readonly asOf?: Timestamp;
  /** Absent = until cancelled; else > asOf (when both are set). */
  readonly upTo?: Timestamp;
}
export interface StatusRequest {
  /** Absent = every cluster. */
  readonly cluster?: string;
}
export interface GetFlagsRequest {
  /** Absent = every cluster. */
  readonly cluster?: string;
}

/** Every request, tagged with its rpc (for logs and generic handling). */
export type EnvironmentRequest =
  | { readonly rpc: "createCluster"; readonly request: CreateClusterRequest }
  | { readonly rpc: "dropCluster"; readonly request: DropClusterRequest }
  | { readonly rpc: "listClusters"; readonly request: ListClustersRequest }
  | { readonly rpc: "createReplica"; readonly request: CreateReplicaRequest }
  | { readonly rpc: "dropReplica"; readonly request: DropReplicaRequest }
  | { readonly rpc: "createSource"; readonly request: CreateSourceRequest }
  | { readonly rpc: "createIndex"; readonly request: CreateIndexRequest }
  | { readonly rpc: "createMaterializedView"; readonly request: CreateMaterializedViewRequest }
  | { readonly rpc: "dropObject"; readonly request: DropObjectRequest }
  | { readonly rpc: "listObjects"; readonly request: ListObjectsRequest }
  | { readonly rpc: "peek"; readonly request: PeekRequest }
  | { readonly rpc: "subscribe"; readonly request: SubscribeRequest }
  | { readonly rpc: "status"; readonly request: StatusRequest }
  | { readonly rpc: "getFlags"; readonly request: GetFlagsRequest };

/** The rpc names (camelCase method names of `EnvironmentService`). */
export type EnvironmentRpc = EnvironmentRequest["rpc"];

// ---------------------------------------------------------------------------------------------
// Responses

export interface ReplicaInfo {
  readonly id: ReplicaId;
  readonly name: string;
  readonly size: number;
}
export interface ClusterInfo {
  readonly id: string;
  readonly name: string;
  readonly replicas: readonly ReplicaInfo[];
  /** 0 = logging off. */
  readonly introspectionIntervalMs: number;
}
export interface ListClustersResponse {
  readonly clusters: readonly ClusterInfo[];
}

/** A collection created with another object (a source's subsources). */
export interface CreatedObject {
  readonly id: GlobalId;
  readonly name: string;
}
export interface CreateSourceResponse {
  readonly id: GlobalId;
  /** At least one, in output order. */
  readonly subsources: readonly CreatedObject[];
}

export type ObjectKind = "source" | "subsource" | "index" | "materializedView" | "introspection";

const KIND_PHRASE: Readonly<Record<ObjectKind, string>> = {
  source: "a source",
  subsource: "a subsource",
  index: "an index",
  materializedView: "a materialized view",
  introspection: "an introspection relation",
};

/** An object kind in prose with its article, for messages: "an index", "a materialized view". */
export function objectKindPhrase(kind: ObjectKind): string {
  return KIND_PHRASE[kind] ?? `a ${String(kind)}`;
}
export interface ObjectInfo {
  readonly id: GlobalId;
  readonly name: string;
  readonly kind: ObjectKind;
  readonly cluster: string;
  readonly arity: number;
  /** Index: the indexed object; subsource: its source. */
  readonly on?: string;
  /** Index (and introspection relation) key columns (empty otherwise). */
  readonly key: readonly number[];
  /** Introspection relations: their columns (absent otherwise). */
  readonly columns?: readonly ColumnInfo[];
  /** Introspection relations: one line on what they hold. */
  readonly description?: string;
}
/** One column of an introspection relation, as listed. */
export interface ColumnInfo {
  readonly name: string;
  /** A `DatumType` of `@mzts/repr` (e.g. `int64`, `text`). */
  readonly type: string;
  readonly nullable: boolean;
}
export interface ListObjectsResponse {
  readonly objects: readonly ObjectInfo[];
}

export interface PeekResponse {
  /** Distinct rows with their counts (≥ 1). */
  readonly rows: ReadonlyArray<readonly [row: Row, count: number]>;
  /** The time read at. */
  readonly timestamp: Timestamp;
  /** The name of the replica that answered. */
  readonly replica: string;
  /** Its id. */
  readonly replicaId: ReplicaId;
}

/** One subscribe batch: the changes with time below `upper` not sent before. */
export interface SubscribeResponse {
  /** Non-zero diffs. */
  readonly updates: readonly Update[];
  /** Empty = complete. */
  readonly upper: Frontier;
}

export type ReplicaHealth = "online" | "offline" | "restarting";
export interface ReplicaStatus {
  readonly id: ReplicaId;
  readonly name: string;
  readonly size: number;
  readonly health: ReplicaHealth;
  /** Empty when online. */
  readonly reason: string;
}
/**
 * A collection's progress: one row of `ClusterStatus.collections` (on the wire, one row of the
 * cluster's columnar `CollectionTable`: `collection-table-codec.ts`).
 */
export interface CollectionStatus {
  readonly id: GlobalId;
  readonly name: string;
  readonly writeFrontier: Frontier;
  readonly since: Frontier;
  /** Absent when the write frontier is empty or the collection has not started. */
  readonly lagMs?: number;
  /** Present when the collection failed (quarantined, or an invalid stored definition): why. */
  readonly failed?: string;
}
/** A phase flag for one cluster (`shared/design.md` §7). */
export interface FlagState {
  /** `cluster-unification-<phase>` (lowercase letters, digits, `-`). */
  readonly key: string;
  /** The flag's value (absent flag = off). */
  readonly enabled: boolean;
  /** On and every prerequisite in force. */
  readonly inForce: boolean;
  /** Prerequisites not in force (only when enabled and blocked). */
  readonly blockedBy: readonly string[];
  /** Whether what runs now was started with the phase in force (every replica / the controller). */
  readonly applied: boolean;
  /**
   * What runs does not match `inForce` yet — always when `inForce !== applied`, also while the
   * replicas disagree: a live flip is rolling replicas, reseating or rebuilding controllers, or it failed
   * (`ClusterStatus.flip`).
   */
  readonly flipping: boolean;
}
/** A live flip of a cluster's phases: in progress, or the last one that failed. */
export interface FlipStatus {
  /**
   * `rolling` (replicas replaced), `reseating` (controllers take the new phases), `rebuilding`
   * (the cluster's controller rebuilt on the other `state` path; replicas reconcile), `failed`.
   */
  readonly state: "rolling" | "reseating" | "rebuilding" | "failed";
  /** The step in progress or that failed. */
  readonly step: string;
  /** The replica the step is about (its name), if any. */
  readonly replica?: string;
  /** When the step started (wall clock ms). */
  readonly stepSinceMs: number;
  /** When the flip started (wall clock ms). */
  readonly startedMs: number;
  /** The phases being flipped to (in force), comma-separated; "" = none. */
  readonly target: string;
  /** Why it failed (state `failed`). */
  readonly error?: string;
}
/** One controller-side seam of a cluster and the path it runs (design §7, §9 phases 3–5). */
export interface ControllerPath {
  /** `compute-replicas`, `storage-replicas`, `client` or `state`. */
  readonly seam: string;
  /** The flag key of the phase that switches it. */
  readonly flag: string;
  readonly path: "legacy" | "unified";
  /** What runs (a phase in force but not built: "accepted, no effect yet"). */
  readonly note: string;
}
export interface ClusterStatus {
  readonly id: string;
  readonly name: string;
  readonly replicas: readonly ReplicaStatus[];
  readonly collections: readonly CollectionStatus[];
  readonly flags: readonly FlagState[];
  /** The path of each controller-side seam; absent when not reported. */
  readonly controllers?: readonly ControllerPath[];
  /** The cluster's introspection interval (ms; 0 = logging off). */
  readonly introspectionIntervalMs: number;
  /** The live flip in progress, or the last one that failed; absent when none. */
  readonly flip?: FlipStatus;
  /** The cluster's phases in a middle migration stage, in phase order; absent when none. */
  readonly migrations?: readonly MigrationStatus[];
}
/** A path of a migrating phase (docs/design/20261207_migration_stages.md). */
export type MigrationPath = "legacy" | "unified";
/**
 * A phase of a cluster in a middle migration stage: both paths run on the cluster's replicas
 * (split by slot), one authoritative, the other's peek answers compared.
 */
export interface MigrationStatus {
  /** The phase's flag key. */
  readonly flag: string;
  /** `dualwrite`, `shadow`, `live` or `rampdown`. */
  readonly stage: string;
  readonly authoritative: MigrationPath;
  /** Whether the stage compares (shadow, live). */
  readonly compares: boolean;
  /** Each running replica's path by name; undefined = neither (started before the stage changed). */
  readonly slots: readonly { readonly replica: string; readonly slot?: MigrationPath }[];
  /** Comparisons so far (shared by the phases migrating together). */
  readonly consistent: number;
  readonly inconsistent: number;
  readonly timeout: number;
  readonly fallback: number;
  /** The first difference of the last inconsistent comparison. */
  readonly lastInconsistency?: string;
  /** First-answer latency and errors per path (legacy, unified). */
  readonly paths: readonly PathLatency[];
  /** What keeps the stage from comparing, e.g. "needs a second replica to compare". */
  readonly note?: string;
}
/** One path's first answers to compared peeks. */
export interface PathLatency {
  readonly path: MigrationPath;
  /** Answers measured (the quantiles cover the most recent up to 1024). */
  readonly answers: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly errors: number;
}
export interface StatusResponse {
  readonly clusters: readonly ClusterStatus[];
}
export interface ClusterFlags {
  readonly cluster: string;
  readonly flags: readonly FlagState[];
}
export interface GetFlagsResponse {
  readonly clusters: readonly ClusterFlags[];
}
