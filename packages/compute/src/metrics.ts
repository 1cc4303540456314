/**
 * Metrics of the compute workload: names, the per-worker statistics message, and the process
 * registry that turns workers' statistics into Prometheus metrics.
 *
 * Workers run in their own threads and cannot share a prom-client registry with the main
 * thread, so each worker sends a `WorkerStatsMessage` (an internal response, never forwarded
 * to the controller) from `maintain()` whenever its statistics changed; the process merger
 * (`merge.ts`) absorbs it into `ComputeMetrics`. Both paths (unified and legacy) send the same
 * message and so emit identical metric names with no extra label (style §18).
 *
 * Counting rule: every worker applies every command, so command-derived counters
 * (reconciliation, benign races, command errors) are taken from worker 0 only; gauges
 * (dataflows, arrangement records, pending peeks) are summed over workers.
 */
import { Counter, Gauge, Registry } from "prom-client";

/** Metric names (identical on the legacy and unified paths). */
export const METRIC = {
  reused: "mz_compute_reconciliation_reused_dataflows_count_total",
  replaced: "mz_compute_reconciliation_replaced_dataflows_count_total",
  benignRaces: "mz_compute_benign_races_total",
  commandErrors: "mz_compute_command_errors_total",
  dataflows: "mz_compute_dataflows",
  arrangementRecords: "mz_compute_arrangement_records",
  pendingPeeks: "mz_compute_pending_peeks",
  overduePeeks: "mz_compute_peeks_overdue_total",
} as const;

/** One worker's statistics: gauges (current values) and cumulative counters. */
export interface WorkerStats {
  /** Live dataflows. */
  readonly dataflows: number;
  /** Live index exports. */
  readonly indexes: number;
  /** Entries held by this worker's arrangements (index exports and error arrangements). */
  readonly arrangementRecords: number;
  readonly pendingPeeks: number;
  readonly subscribes: number;
  readonly persistSinks: number;
  /** Cumulative: dataflows kept by reconciliation. */
  readonly reused: number;
  /** Cumulative: dataflows (re)built by reconciliation. */
  readonly replaced: number;
  /** Cumulative benign races by kind (e.g. `cancelPeek`, `allowCompaction`). */
  readonly benignRaces: Readonly<Record<string, number>>;
  /** Cumulative command errors by code. */
  readonly commandErrors: Readonly<Record<string, number>>;
}

/** The internal response carrying a worker's statistics (not a `ComputeResponse`). */
export interface WorkerStatsMessage {
  readonly kind: "workerStats";
  readonly stats: WorkerStats;
}

/** True for the internal statistics message. */
export function isWorkerStats(r: unknown): r is WorkerStatsMessage {
  return typeof r === "object" && r !== null && (r as { kind?: unknown }).kind === "workerStats";
}

/** Empty statistics. */
export function emptyStats(): WorkerStats {
  return {
    dataflows: 0,
    indexes: 0,
    arrangementRecords: 0,
    pendingPeeks: 0,
    subscribes: 0,
    persistSinks: 0,
    reused: 0,
    replaced: 0,
    benignRaces: {},
    commandErrors: {},
  };
}

/** Process-level compute metrics, fed by workers' statistics. */
export class ComputeMetrics {
  readonly registry: Registry;
  /** Latest statistics per worker. */
  readonly #latest = new Map<number, WorkerStats>();
  readonly #reused: Counter;
  readonly #replaced: Counter;
  readonly #benign: Counter<"kind">;
  readonly #errors: Counter<"code">;
  readonly #dataflows: Gauge;
  readonly #records: Gauge;
  readonly #peeks: Gauge;
  readonly #overdue: Counter;

  constructor(registry: Registry = new Registry()) {
    this.registry = registry;
    const reg = [registry];
    const existing = <T>(name: string): T | undefined =>
      registry.getSingleMetric(name) as T | undefined;
    this.#reused =
      existing<Counter>(METRIC.reused) ??
      new Counter({
        name: METRIC.reused,
        help: "Dataflows kept by reconciliation",
        registers: reg,
      });
    this.#replaced =
      existing<Counter>(METRIC.replaced) ??
      new Counter({
        name: METRIC.replaced,
        help: "Dataflows rebuilt by reconciliation",
        registers: reg,
      });
    this.#benign =
      existing<Counter<"kind">>(METRIC.benignRaces) ??
      new Counter({
        name: METRIC.benignRaces,
        help: "Benign command races tolerated (cancel of an answered peek, traffic for a dropped id)",
        labelNames: ["kind"],
        registers: reg,
      });
    this.#errors =
      existing<Counter<"code">>(METRIC.commandErrors) ??
      new Counter({
        name: METRIC.commandErrors,
        help: "Commands refused with an in-band commandError",
        labelNames: ["code"],
        registers: reg,
      });
    this.#dataflows =
      existing<Gauge>(METRIC.dataflows) ??
      new Gauge({
        name: METRIC.dataflows,
        help: "Live dataflows (summed over workers)",
        registers: reg,
      });
    this.#records =
      existing<Gauge>(METRIC.arrangementRecords) ??
      new Gauge({
        name: METRIC.arrangementRecords,
        help: "Arrangement entries held (summed over workers)",
        registers: reg,
      });
    this.#peeks =
      existing<Gauge>(METRIC.pendingPeeks) ??
      new Gauge({
        name: METRIC.pendingPeeks,
        help: "Peeks waiting (summed over workers)",
        registers: reg,
      });
    this.#overdue =
      existing<Counter>(METRIC.overduePeeks) ??
      new Counter({
        name: METRIC.overduePeeks,
        help: "Peeks still waiting for a worker's answer after 10 s (main thread's merge; overdue-peeks.ts)",
        registers: reg,
      });
  }

  /** `n` peeks waited overlong for their workers' answers (`overdue-peeks.ts`). */
  peekOverdue(n = 1): void {
    this.#overdue.inc(n);
  }

  /** Absorbs worker `part`'s latest statistics. */
  absorb(part: number, stats: WorkerStats): void {
    const prev = this.#latest.get(part) ?? emptyStats();
    this.#latest.set(part, stats);
    if (part === 0) {
      if (stats.reused > prev.reused) this.#reused.inc(stats.reused - prev.reused);
      if (stats.replaced > prev.replaced) this.#replaced.inc(stats.replaced - prev.replaced);
      for (const [kind, n] of Object.entries(stats.benignRaces)) {
        const d = n - (prev.benignRaces[kind] ?? 0);
        if (d > 0) this.#benign.inc({ kind }, d);
      }
      for (const [code, n] of Object.entries(stats.commandErrors)) {
        const d = n - (prev.commandErrors[code] ?? 0);
        if (d > 0) this.#errors.inc({ code }, d);
      }
    }
    const total = this.totals();
    this.#dataflows.set(total.dataflows);
    this.#records.set(total.arrangementRecords);
    this.#peeks.set(total.pendingPeeks);
  }

  /** Worker `part`'s latest statistics (empty before its first report). */
  worker(part: number): WorkerStats {
    return this.#latest.get(part) ?? emptyStats();
  }

  /** Gauges summed over workers; counters from worker 0. */
  totals(): WorkerStats {
    const w0 = this.worker(0);
    let dataflows = 0;
    let indexes = 0;
    let arrangementRecords = 0;
    let pendingPeeks = 0;
    let subscribes = 0;
    let persistSinks = 0;
    for (const s of this.#latest.values()) {
      dataflows += s.dataflows;
      indexes += s.indexes;
      arrangementRecords += s.arrangementRecords;
      pendingPeeks += s.pendingPeeks;
      subscribes += s.subscribes;
      persistSinks += s.persistSinks;
    }
    return {
      dataflows,
      indexes,
      arrangementRecords,
      pendingPeeks,
      subscribes,
      persistSinks,
      reused: w0.reused,
      replaced: w0.replaced,
      benignRaces: w0.benignRaces,
      commandErrors: w0.commandErrors,
    };
  }
}
