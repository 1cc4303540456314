/**
 * Compute commands (controller → replica) as domain values over `@mzts/repr` and `@mzts/expr`.
 *
 * ## Stages (one protocol iteration = one connection; materialize.md §2.1)
 * 1. **Creation**: `hello`, then `createInstance`. The replica sends no responses yet.
 * 2. **Initialization**: the reduced command history (any computation commands), terminated by
 *    exactly one `initializationComplete`. The replica reconciles with what it already runs
 *    (keeping compatible dataflows) and may answer now or defer.
 * 3. **Computation**: `createDataflow`, `schedule`, `allowWrites`, `allowCompaction`, `peek`,
 *    `cancelPeek`, `updateConfiguration`, in any order that respects the dependencies below.
 *
 * ## The controller must
 * - send `hello` first and `createInstance` second, and `initializationComplete` exactly once;
 * - create an object before it schedules, peeks, compacts, imports or allows writes on it;
 * - keep export ids and peek uuids unique within the iteration;
 * - never move a collection's compaction frontier backward; after `allowCompaction(empty)` send
 *   nothing more for that id;
 * - apply `updateConfiguration` globally and immediately (unset fields keep their values), so
 *   history reduction may fold all of them into one.
 *
 * ## The replica must / may
 * - answer every `peek` with exactly one `peekResponse` (`canceled` only after `cancelPeek`);
 *   a `cancelPeek` of an answered or unknown peek is a benign race and is ignored;
 * - report `frontiers` only for indexes and persist sinks, never regressing, first report ≥
 *   `asOf`, every kind empty once after `allowCompaction(empty)`, nothing after empty;
 * - emit subscribe batches that are contiguous, non-empty, consolidated, in `[lower, upper)`;
 * - not write persist sinks before `allowWrites(id)` (read-only mode);
 * - answer semantic errors on one object (duplicate id, unknown id, frontier regression,
 *   malformed plan) with an in-band `commandError` and carry on; end the stream with a Connect
 *   error for protocol violations (first command not a hello, wrong stage, second
 *   `initializationComplete`, undecodable payload);
 * - *may* build dataflows suspended and compute them once all their exports are scheduled.
 */
import type { Expr, OrderKey, Plan } from "@mzts/expr";
import type { Frontier, GlobalId, ReplicaId, Row, Timestamp } from "@mzts/repr";
import type { Hello } from "../cluster/hello.js";

/** Introspection (logging) configuration of an instance. */
export interface LoggingConfig {
  /** Whether logging dataflows run. */
  readonly enabled: boolean;
  /** Granularity of logged times, in ms (> 0 when enabled). */
  readonly intervalMs: number;
  /** Whether logging dataflows log themselves. */
  readonly logLogging: boolean;
  /** Log variant (e.g. "compute.operators") → GlobalId of its index. */
  readonly indexLogs: ReadonlyMap<string, GlobalId>;
}

/** Instance configuration, sent once by `createInstance`. */
export interface InstanceConfig {
  readonly logging: LoggingConfig;
  /** Absent = no expiration; else time-dependent dataflows stop at start + offset. */
  readonly expirationOffsetMs?: bigint;
}

/** Instance-wide parameters; every absent field keeps its current value. */
export interface ComputeParameters {
  /** Largest peek result / subscribe batch in encoded row bytes (initially unlimited). */
  readonly maxResultSize?: bigint;
  /** Workload class label; "" clears it. */
  readonly workloadClass?: string;
  /** Dynamic configuration updates: name → value; names not listed keep their values. */
  readonly dyncfgUpdates: ReadonlyMap<string, string>;
}

/** A persist shard the dataflow reads. */
export interface SourceImport {
  readonly id: GlobalId;
  readonly shardId: string;
  readonly arity: number;
  /** The collection's upper when the command was sent (refreshed before each replay). */
  readonly upper: Frontier;
}

/** An index exported by an earlier dataflow. */
export interface IndexImport {
  readonly id: GlobalId;
  /** Key columns of the arrangement (each < arity). */
  readonly key: readonly number[];
  readonly arity: number;
}

/** One object the dataflow computes; `plan` may `get` imports and earlier objects. */
export interface BuildDesc {
  readonly id: GlobalId;
  readonly plan: Plan;
}

/** An index the dataflow maintains on one of its objects. */
export interface IndexExport {
  readonly id: GlobalId;
  /** The built object that is indexed. */
  readonly objectId: GlobalId;
  /** Key columns (each < the object's arity). */
  readonly key: readonly number[];
}

/** Where a sink writes. */
export type SinkConnection =
  /** A persist shard (materialized view); nothing is written before `allowWrites`. */
  | { readonly kind: "persist"; readonly shardId: string }
  /** SubscribeResponses to the controller. */
  | { readonly kind: "subscribe" };

/** A sink the dataflow feeds. */
export interface SinkExport {
  readonly id: GlobalId;
  /** The object (built or imported) whose updates are written. */
  readonly fromId: GlobalId;
  readonly connection: SinkConnection;
}

/** A dataflow: imports, plans, exports and the times it covers. */
export interface DataflowDescription {
  readonly debugName: string;
  readonly sourceImports: readonly SourceImport[];
  readonly indexImports: readonly IndexImport[];
  /** In dependency order. */
  readonly objectsToBuild: readonly BuildDesc[];
  readonly indexExports: readonly IndexExport[];
  readonly sinkExports: readonly SinkExport[];
  /** Results are correct for times ≥ asOf; empty = the dataflow produces nothing. */
  readonly asOf: Frontier;
  /** Times ≥ until are never produced; empty (`null`) = no limit. */
  readonly until: Frontier;
}

/** What a peek reads. */
export type PeekTarget =
  | { readonly kind: "index"; readonly id: GlobalId }
  | { readonly kind: "persist"; readonly id: GlobalId; readonly shardId: string };

/** Map, then filter, then project each row of the target. */
export interface MapFilterProject {
  /** Appended columns; expression i sees the input plus the i columns before it. */
  readonly exprs: readonly Expr[];
  /** Evaluated over input + appended columns; all must be `true`. */
  readonly predicates: readonly Expr[];
  /** Output columns (indexes into input + appended columns). */
  readonly projection: readonly number[];
}

/** ORDER BY / LIMIT / OFFSET and final projection over the map/filter/project output. */
export interface RowSetFinishing {
  readonly orderBy: readonly OrderKey[];
  /** Absent = no limit. */
  readonly limit?: number;
  readonly offset: number;
  readonly project: readonly number[];
}

/** A read of `target` as of `timestamp`. */
export interface Peek {
  /** Lowercase UUID, unique per iteration. */
  readonly uuid: string;
  readonly target: PeekTarget;
  /** Arity of the target collection (the input of `mapFilterProject`). */
  readonly arity: number;
  readonly timestamp: Timestamp;
  /** Absent = read every key; present = only these key rows (empty = nothing). */
  readonly literalConstraints?: readonly Row[];
  readonly mapFilterProject: MapFilterProject;
  readonly finishing: RowSetFinishing;
  /** Absent = any replica may answer; present = only that replica's answer counts. */
  readonly targetReplica?: ReplicaId;
}

/** A compute command. */
export type ComputeCommand =
  | { readonly kind: "hello"; readonly hello: Hello }
  | { readonly kind: "createInstance"; readonly config: InstanceConfig }
  | { readonly kind: "initializationComplete" }
  | { readonly kind: "updateConfiguration"; readonly params: ComputeParameters }
  | { readonly kind: "createDataflow"; readonly dataflow: DataflowDescription }
  | { readonly kind: "schedule"; readonly id: GlobalId }
  /** Readers no longer need times before `frontier`; empty = drop. */
  | { readonly kind: "allowCompaction"; readonly id: GlobalId; readonly frontier: Frontier }
  | { readonly kind: "peek"; readonly peek: Peek }
  | { readonly kind: "cancelPeek"; readonly uuid: string }
  | { readonly kind: "allowWrites"; readonly id: GlobalId };

export type ComputeCommandKind = ComputeCommand["kind"];

/** Every compute command kind, in protocol (field number) order. */
export const COMPUTE_COMMAND_KINDS: readonly ComputeCommandKind[] = [
  "hello",
  "createInstance",
  "initializationComplete",
  "updateConfiguration",
  "createDataflow",
  "schedule",
  "allowCompaction",
  "peek",
  "cancelPeek",
  "allowWrites",
];
