/**
 * The introspection relations (phase 2, *logging*): names, column schemas, index keys and which
 * workload feeds each. One definition for every side: the replica's logging (compute's legacy
 * logging and mz-cluster's unified logging) writes rows of these shapes, environmentd lists them
 * under the reserved schema `mz_introspection` and checks peeks of them against these columns,
 * and `mzctl introspection` prints them.
 *
 * ## Rules shared by every relation
 * - Every row has `worker_id` (the worker that logged it; for storage relations the storage
 *   worker, whichever compute worker hosts its log index).
 * - Rows are current state: a change retracts the old row and inserts the new one at the same
 *   log time, so a peek at time t sees one row per key as of t.
 * - Log times are wall-clock milliseconds rounded **up** to the introspection interval
 *   (`logTime`); a log index's upper is one past the last complete multiple of the interval.
 * - `deterministic` lists the columns whose values are equal on every run of a deterministic
 *   workload, on either path (ids, names, frontiers, record counts); the others are timings and
 *   memory. Phase 2's e2e compares those columns off and on.
 */
import type { DatumType } from "@mzts/repr";

/** One column of an introspection relation. */
export interface LogColumn {
  readonly name: string;
  readonly type: DatumType;
  readonly nullable: boolean;
}

/** Which workload's events feed a relation. */
export type LogWorkload = "compute" | "storage";

/**
 * What a relation's rows belong to (named by its first column): dropping that object retracts
 * them. `worker` rows (histograms) live as long as the worker.
 */
export type LogScope = "dataflow" | "export" | "peek" | "worker" | "source";

/** One introspection relation (a "log variant"). */
export interface LogRelation {
  /** The relation's name without schema, e.g. `"compute_frontiers"`; the `index_logs` key. */
  readonly name: string;
  readonly workload: LogWorkload;
  /** Whose drop retracts its rows (see `LogScope`). */
  readonly scope: LogScope;
  readonly columns: readonly LogColumn[];
  /** The log index's key columns (unique among the live rows). */
  readonly key: readonly number[];
  /** Columns whose values are run-independent on a deterministic workload. */
  readonly deterministic: readonly number[];
  /** One line for listings. */
  readonly description: string;
}

/** The reserved schema the relations are listed under. */
export const INTROSPECTION_SCHEMA = "mz_introspection";

const c = (name: string, type: DatumType, nullable = false): LogColumn =>
  Object.freeze({ name, type, nullable });

function relation(
  name: string,
  workload: LogWorkload,
  scope: LogScope,
  description: string,
  columns: LogColumn[],
  key: number[],
  nondeterministic: string[] = [],
): LogRelation {
  const deterministic = columns
    .map((col, i) => (nondeterministic.includes(col.name) ? -1 : i))
    .filter((i) => i >= 0);
  return Object.freeze({
    name,
    workload,
    scope,
    description,
    columns: Object.freeze(columns),
    key: Object.freeze(key),
    deterministic: Object.freeze(deterministic),
  });
}

/** Every introspection relation, compute's first. The order is the listing order. */
export const LOG_RELATIONS: readonly LogRelation[] = Object.freeze([
  relation(
    "dataflows",
    "compute",
    "dataflow",
    "dataflows installed on the worker (id = build order on the replica)",
    [c("dataflow_id", "int64"), c("worker_id", "int64"), c("name", "text")],
    [0, 1],
  ),
  relation(
    "dataflow_exports",
    "compute",
    "export",
    "exports (indexes, subscribes, persist sinks) and the dataflow that builds each",
    [c("export_id", "text"), c("worker_id", "int64"), c("dataflow_id", "int64"), c("kind", "text")],
    [0, 1],
  ),
  relation(
    "operators",
    "compute",
    "dataflow",
    "operators of each dataflow (id = position in the dataflow's graph)",
    [
      c("dataflow_id", "int64"),
      c("operator_id", "int64"),
      c("worker_id", "int64"),
      c("name", "text"),
    ],
    [0, 1, 2],
  ),
  relation(
    "scheduling_elapsed",
    "compute",
    "dataflow",
    "time each operator spent running, nanoseconds",
    [
      c("dataflow_id", "int64"),
      c("operator_id", "int64"),
      c("worker_id", "int64"),
      c("elapsed_ns", "int64"),
    ],
    [0, 1, 2],
    ["elapsed_ns"],
  ),
  relation(
    "compute_frontiers",
    "compute",
    "export",
    "write frontier of each index and persist sink (absent once empty)",
    [c("export_id", "text"), c("worker_id", "int64"), c("time", "int64")],
    [0, 1],
    ["time"],
  ),
  relation(
    "compute_import_frontiers",
    "compute",
    "export",
    "frontier of each import of each export's dataflow",
    [c("export_id", "text"), c("import_id", "text"), c("worker_id", "int64"), c("time", "int64")],
    [0, 1, 2],
    ["time"],
  ),
  relation(
    "arrangement_sizes",
    "compute",
    "export",
    "records, batches (distinct times held) and estimated bytes of each index arrangement",
    [
      c("export_id", "text"),
      c("worker_id", "int64"),
      c("records", "int64"),
      c("batches", "int64"),
      c("size_bytes", "int64"),
    ],
    [0, 1],
    ["batches", "size_bytes"],
  ),
  relation(
    "active_peeks",
    "compute",
    "peek",
    "peeks pending on the worker",
    [c("uuid", "text"), c("worker_id", "int64"), c("object_id", "text"), c("time", "int64")],
    [0, 1],
    ["uuid", "time"],
  ),
  relation(
    "peek_durations",
    "compute",
    "worker",
    "histogram of answered peeks: count per power-of-two duration bucket (upper bound, ns)",
    [c("worker_id", "int64"), c("duration_ns", "int64"), c("count", "int64")],
    [0, 1],
    ["duration_ns", "count"],
  ),
  relation(
    "hydration_times",
    "compute",
    "export",
    "time from dataflow creation to hydration per export, ns (null until hydrated)",
    [c("export_id", "text"), c("worker_id", "int64"), c("time_ns", "int64", true)],
    [0, 1],
    ["time_ns"],
  ),
  relation(
    "error_counts",
    "compute",
    "export",
    "rows in each export's error collection (absent when zero)",
    [c("export_id", "text"), c("worker_id", "int64"), c("count", "int64")],
    [0, 1],
  ),
  relation(
    "ingestion_frontiers",
    "storage",
    "source",
    "upper each storage worker has written for each ingestion export (a subsource's shard)",
    [c("source_id", "text"), c("worker_id", "int64"), c("upper", "int64")],
    [0, 1],
    ["upper"],
  ),
  relation(
    "ingestion_statistics",
    "storage",
    "source",
    "what each storage worker has ingested per source",
    [
      c("source_id", "text"),
      c("worker_id", "int64"),
      c("updates", "int64"),
      c("bytes", "int64"),
      c("messages", "int64"),
      c("snapshot_committed", "boolean"),
    ],
    [0, 1],
    ["updates", "bytes", "messages"],
  ),
  relation(
    "source_status",
    "storage",
    "source",
    "last status each storage worker reported per source",
    [
      c("source_id", "text"),
      c("worker_id", "int64"),
      c("status", "text"),
      c("error", "text", true),
    ],
    [0, 1],
    ["error"],
  ),
]);

/** The names of the relations whose rows `scope`'s drop retracts, in listing order. */
export function relationsOfScope(scope: LogScope): readonly string[] {
  return LOG_RELATIONS.filter((r) => r.scope === scope).map((r) => r.name);
}

/** The relation of a name (`"operators"` or `"mz_introspection.operators"`), or undefined. */
export function logRelation(name: string): LogRelation | undefined {
  const bare = name.startsWith(`${INTROSPECTION_SCHEMA}.`)
    ? name.slice(INTROSPECTION_SCHEMA.length + 1)
    : name;
  return LOG_RELATIONS.find((r) => r.name === bare);
}

/**
 * The log time of an event at wall-clock `wallMs`: rounded up to a multiple of `intervalMs`
 * (Materialize's rule, so logs join with tables at interval granularity).
 * @throws RangeError for an interval that is not a positive integer.
 */
export function logTime(wallMs: number, intervalMs: number): bigint {
  if (!Number.isInteger(intervalMs) || intervalMs <= 0) {
    throw new RangeError(`introspection interval must be a positive integer, got ${intervalMs}`);
  }
  const w = Math.max(0, Math.ceil(wallMs));
  return BigInt(Math.ceil(w / intervalMs) * intervalMs);
}

/** Upper bound (ns) of the power-of-two histogram bucket holding `durationNs` (≥ 1). */
export function durationBucket(durationNs: number): bigint {
  let b = 1n;
  const d = BigInt(Math.max(1, Math.ceil(durationNs)));
  while (b < d) b <<= 1n;
  return b;
}
