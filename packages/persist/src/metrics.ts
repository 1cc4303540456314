/**
 * Prometheus metrics of persist, registered on an injectable `Registry` (a fresh one per client
 * by default, so several clients in one process never collide).
 *
 * | metric | type | labels | meaning |
 * |---|---|---|---|
 * | `mz_persist_cmd_total` | counter | `cmd`, `outcome` | commands run (`ok` / `error`) |
 * | `mz_persist_append_seconds` | histogram | — | `compareAndAppend` latency (acknowledged) |
 * | `mz_persist_snapshot_seconds` | histogram | — | `snapshot` latency |
 * | `mz_persist_upper_mismatch_total` | counter | — | appends rejected with `UpperMismatch` |
 * | `mz_persist_cas_mismatch_total` | counter | `cmd` | consensus compare-and-set retries |
 * | `mz_persist_blob_bytes` | counter | `op` (`set`/`get`) | bytes written to / read from blob |
 * | `mz_persist_blob_deleted_total` | counter | — | blobs garbage-collected |
 * | `mz_persist_compaction_total` | counter | `outcome` | compactions (`ok` / `merged` beyond the since / `lost_race`) |
 * | `mz_persist_compaction_batches_total` | counter | — | batches merged by compaction |
 * | `mz_persist_consensus_truncated_total` | counter | — | consensus history entries deleted |
 * | `mz_persist_grouped_commands_total` | counter | `cmd` | commands that shared a compare-and-set with others (`applyBatch`, commands queued behind a running one) |
 */
import { Counter, Histogram, type Registry } from "prom-client";
import { MetricsAlreadyRegistered } from "./errors.js";

/** The metric objects of one client. */
export interface PersistMetrics {
  readonly cmd: Counter<"cmd" | "outcome">;
  readonly appendSeconds: Histogram;
  readonly snapshotSeconds: Histogram;
  readonly upperMismatch: Counter;
  readonly casMismatch: Counter<"cmd">;
  readonly blobBytes: Counter<"op">;
  readonly blobDeleted: Counter;
  readonly compaction: Counter<"outcome">;
  readonly compactionBatches: Counter;
  readonly consensusTruncated: Counter;
  readonly groupedCommands: Counter<"cmd">;
}

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

/**
 * Creates and registers the metrics on `registry`, all or none.
 * @throws MetricsAlreadyRegistered when `registry` already holds one of them (another persist
 * client's); the registry is left as it was.
 */
export function createPersistMetrics(registry: Registry): PersistMetrics {
  const metrics = buildMetrics();
  const added: string[] = [];
  for (const metric of Object.values(metrics) as Array<Counter | Histogram>) {
    // `name` is public on prom-client's metrics, but not in its type declarations.
    const name = (metric as unknown as { name: string }).name;
    try {
      registry.registerMetric(metric);
    } catch (e) {
      for (const n of added) registry.removeSingleMetric(n);
      if (registry.getSingleMetric(name) !== undefined) throw new MetricsAlreadyRegistered(name, e);
      throw e;
    }
    added.push(name);
  }
  return metrics;
}

/** The metric objects, registered nowhere yet. */
function buildMetrics(): PersistMetrics {
  const registers: Registry[] = [];
  return {
    cmd: new Counter({
      name: "mz_persist_cmd_total",
      help: "Persist commands run, by command and outcome.",
      labelNames: ["cmd", "outcome"],
      registers,
    }),
    appendSeconds: new Histogram({
      name: "mz_persist_append_seconds",
      help: "Latency of acknowledged compareAndAppend calls.",
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    snapshotSeconds: new Histogram({
      name: "mz_persist_snapshot_seconds",
      help: "Latency of snapshot calls.",
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    upperMismatch: new Counter({
      name: "mz_persist_upper_mismatch_total",
      help: "compareAndAppend calls rejected because the upper moved.",
      registers,
    }),
    casMismatch: new Counter({
      name: "mz_persist_cas_mismatch_total",
      help: "Consensus compare-and-set attempts that lost a race and were retried.",
      labelNames: ["cmd"],
      registers,
    }),
    blobBytes: new Counter({
      name: "mz_persist_blob_bytes",
      help: "Bytes written to (op=set) or read from (op=get) blob storage.",
      labelNames: ["op"],
      registers,
    }),
    blobDeleted: new Counter({
      name: "mz_persist_blob_deleted_total",
      help: "Blobs deleted by garbage collection.",
      registers,
    }),
    compaction: new Counter({
      name: "mz_persist_compaction_total",
      help: "Compactions attempted, by outcome.",
      labelNames: ["outcome"],
      registers,
    }),
    compactionBatches: new Counter({
      name: "mz_persist_compaction_batches_total",
      help: "Batches merged away by compaction.",
      registers,
    }),
    consensusTruncated: new Counter({
      name: "mz_persist_consensus_truncated_total",
      help: "Consensus history entries deleted by truncation.",
      registers,
    }),
    groupedCommands: new Counter({
      name: "mz_persist_grouped_commands_total",
      help: "Commands that shared one consensus compare-and-set with others.",
      labelNames: ["cmd"],
      registers,
    }),
  };
}
