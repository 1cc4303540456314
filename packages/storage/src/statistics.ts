/**
 * `StorageStatistics`: the `statisticsUpdates` response — per-export and per-ingestion counters
 * summed over the replica's workers on worker 0.
 *
 * ## Flow
 * 1. Every worker, every `statisticsIntervalMs` (the `storage_statistics_interval_ms`
 *    configuration parameter, else the option), sends its counters of every live export
 *    (`exportStats` in `ingestion-dataflow.ts`) to worker 0 as a `stats` mesh message (`due`).
 * 2. Worker 0 keeps each worker's latest counters (`absorb`) and, when not buffering a new
 *    connection's commands, answers with `summarize`: per export the sums over workers
 *    (`offsetKnown` the greatest), `offsetCommitted` the tick its shard's upper has reached
 *    (`maxTicks`, or the greatest known offset, once the shard is closed); per ingestion the sums
 *    over its exports, `snapshotCommitted` while running, and the rehydration latency once known.
 */
import type { SourceStatistics } from "@mzts/protocol";
import type { Frontier, GlobalId } from "@mzts/repr";
import type { ExportStats } from "./mesh-messages.js";
import type { TickClock } from "./source/load-generator/tick-clock.js";
import type { StorageStateOptions } from "./storage-state-deps.js";

/** What worker 0's summary reads of the state. */
export interface StatisticsView {
  /** Recorded ingestions: id → live export ids. */
  ingestions(): Iterable<readonly [GlobalId, Iterable<GlobalId>]>;
  /** The clock and deterministic end tick of a rendered ingestion, if rendered here. */
  dataflow(
    id: GlobalId,
  ): { readonly clock: TickClock; readonly endTick: bigint | null } | undefined;
  /** The greatest known upper of an export's shard, if any. */
  exportUpper(exportId: GlobalId): Frontier | undefined;
  /** Whether the ingestion's status is `running`. */
  isRunning(id: GlobalId): boolean;
  /** The ingestion's rehydration latency (ms), once known. */
  rehydrationMs(id: GlobalId): number | undefined;
}

/** The statistics interval: the configuration parameter if set and positive, else the option. */
export function statisticsIntervalMs(
  params: ReadonlyMap<string, string>,
  options: StorageStateOptions,
): number {
  const p = Number(params.get("storage_statistics_interval_ms"));
  return Number.isFinite(p) && p > 0 ? p : options.statisticsIntervalMs;
}

/** Statistics scheduling (every worker) and summing (worker 0); see the file comment. */
export class StorageStatistics {
  /** Worker → its latest export counters (worker 0). */
  readonly #workerStats = new Map<number, ReadonlyMap<GlobalId, ExportStats>>();
  /** When this worker next sends its counters. */
  #nextAtMs = 0;

  /** Whether statistics are due at `now`; if so, the next ones are due `intervalMs` later. */
  due(now: number, intervalMs: number): boolean {
    if (now < this.#nextAtMs) return false;
    this.#nextAtMs = now + intervalMs;
    return true;
  }

  /** When statistics are next due (ms, the clock `due` was given). */
  get nextAtMs(): number {
    return this.#nextAtMs;
  }

  /** Worker `from`'s latest counters (replacing its earlier ones). */
  absorb(from: number, entries: readonly ExportStats[]): void {
    this.#workerStats.set(from, new Map(entries.map((e) => [e.exportId, e])));
  }

  /** The sums over workers of every recorded ingestion and its exports. */
  summarize(view: StatisticsView): SourceStatistics[] {
    const sources: SourceStatistics[] = [];
    for (const [id, exports] of view.ingestions()) {
      const df = view.dataflow(id);
      const clock = df?.clock;
      const total = { generated: 0n, bytes: 0n, committed: 0n };
      for (const x of exports) {
        let generated = 0n;
        let bytes = 0n;
        let committed = 0n;
        let offsetKnown = 0n;
        for (const stats of this.#workerStats.values()) {
          const s = stats.get(x);
          if (s === undefined) continue;
          generated += s.generated;
          bytes += s.bytes;
          committed += s.committed;
          if (s.offsetKnown > offsetKnown) offsetKnown = s.offsetKnown;
        }
        total.generated += generated;
        total.bytes += bytes;
        total.committed += committed;
        const upper = view.exportUpper(x);
        const endTick = df?.endTick ?? null;
        const committedTick =
          upper === undefined || clock === undefined
            ? 0n
            : upper === null
              ? (endTick ?? offsetKnown)
              : clock.firstTickAtOrAfter(upper);
        sources.push({
          id: x,
          messagesReceived: generated,
          bytesReceived: bytes,
          updatesStaged: generated,
          updatesCommitted: committed,
          recordsIndexed: 0n,
          snapshotCommitted: committedTick > 0n,
          offsetKnown,
          offsetCommitted: committedTick,
        });
      }
      const rehydration = view.rehydrationMs(id);
      sources.push({
        id,
        messagesReceived: total.generated,
        bytesReceived: total.bytes,
        updatesStaged: total.generated,
        updatesCommitted: total.committed,
        recordsIndexed: 0n,
        snapshotCommitted: view.isRunning(id),
        ...(rehydration === undefined ? {} : { rehydrationLatencyMs: BigInt(rehydration) }),
      });
    }
    return sources;
  }
}
