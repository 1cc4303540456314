/**
 * `StorageIntrospection`: what a storage worker tells the unified logging (phase 2, *logging*,
 * flag on; the legacy path has no storage introspection, as Materialize 2023): one sample of the
 * worker's state per maintenance tick, turned into the introspection events that changed since
 * the last sample.
 *
 * ## What is sampled (this worker only; rows carry its worker id)
 * - `ingestionFrontier` per source export whose shard this worker writes: the shard's upper as
 *   this worker knows it (`null` once the shard is closed);
 * - `ingestionStatistics` per source export of every rendered ingestion, and per ingestion (the
 *   sums over its exports): `updates` = updates this worker's writer appended, `messages` =
 *   updates this worker generated, `bytes` their encoded size, `snapshotCommitted` once the
 *   export's shard upper has passed tick 0 (every export's, for the ingestion);
 * - `sourceStatus` per ingestion (worker 0, which owns the statuses);
 * - `sourceDropped` for an id logged before that is in none of the above any more (dropped, or
 *   reconciled away).
 *
 * ## Cost
 * Nothing at all while the logger is disabled (`enabled` false: interval 0, legacy path, no
 * storage relation installed). A **new** logger object (forwarding re-armed for a fresh log
 * index) forgets what was logged, so the whole current state is sent again.
 */
import type { EventLogger, LogEventBody } from "@mzts/mz-cluster/logging";
import type { Frontier, GlobalId } from "@mzts/repr";
import type { IngestionDataflow } from "./ingestion-dataflow.js";
import type { ShardWriter } from "./shard-writer.js";
import type { IngestionStatuses } from "./status.js";

/** The state a sample reads (the state machine's own maps, read only). */
export interface IntrospectionSources {
  /** Shard id → this worker's writer. */
  readonly writers: ReadonlyMap<string, ShardWriter>;
  /** Ingestion id → this worker's rendered dataflow. */
  readonly dataflows: ReadonlyMap<GlobalId, IngestionDataflow>;
  /** Shard id → the greatest upper this worker knows. */
  readonly knownUppers: ReadonlyMap<string, Frontier>;
  /** Worker 0's statuses (empty on the other workers). */
  readonly statuses: IngestionStatuses;
}

/** What was last logged of one id (signatures; absent = not logged). */
interface Logged {
  frontier?: string;
  statistics?: string;
  status?: string;
}

type Statistics = Extract<LogEventBody, { kind: "ingestionStatistics" }>;

/** One worker's storage introspection; see the file comment. */
export class StorageIntrospection {
  readonly #sources: IntrospectionSources;
  /** The logger of the last sample: another one means a fresh log index. */
  #logger: EventLogger | undefined;
  /** Id → what was logged of it with `#logger`. */
  readonly #logged = new Map<GlobalId, Logged>();

  constructor(sources: IntrospectionSources) {
    this.#sources = sources;
  }

  /** Samples the state and logs what changed (call once per maintenance tick). */
  sample(logger: EventLogger | undefined): void {
    if (logger !== this.#logger) {
      this.#logged.clear();
      this.#logger = logger;
    }
    if (logger === undefined || !logger.enabled) return;
    const seen = new Set<GlobalId>();
    const written = new Set<GlobalId>();
    const { writers, knownUppers } = this.#sources;
    for (const w of writers.values()) {
      const upper = knownUppers.get(w.shardId);
      if (upper === undefined) continue;
      seen.add(w.exportId);
      written.add(w.exportId);
      this.#log(logger, w.exportId, "frontier", String(upper), () => ({
        kind: "ingestionFrontier",
        sourceId: w.exportId,
        upper,
      }));
    }
    for (const stats of this.#statistics()) {
      seen.add(stats.sourceId);
      this.#log(logger, stats.sourceId, "statistics", JSON.stringify(stats), () => stats);
    }
    for (const [sourceId, s] of this.#sources.statuses.entries()) {
      seen.add(sourceId);
      const error = s.error ?? null;
      this.#log(logger, sourceId, "status", `${s.status}:${error}`, () => ({
        kind: "sourceStatus",
        sourceId,
        status: s.status,
        error,
      }));
    }
    for (const [id, logged] of this.#logged) {
      if (!seen.has(id)) {
        this.#logged.delete(id);
        logger.log({ kind: "sourceDropped", sourceId: id });
      } else if (logged.frontier !== undefined && !written.has(id)) {
        // Still a source here, but this worker no longer writes the export.
        delete logged.frontier;
        logger.log({ kind: "ingestionFrontier", sourceId: id, upper: null });
      }
    }
  }

  /** Logs `make()` when `signature` differs from what was logged for `id`'s `part`. */
  #log(
    logger: EventLogger,
    id: GlobalId,
    part: keyof Logged,
    signature: string,
    make: () => LogEventBody,
  ): void {
    let logged = this.#logged.get(id);
    if (logged === undefined) this.#logged.set(id, (logged = {}));
    if (logged[part] === signature) return;
    logged[part] = signature;
    logger.log(make());
  }

  /** This worker's statistics per live export and per ingestion. */
  *#statistics(): Generator<Statistics> {
    const { writers, dataflows, knownUppers } = this.#sources;
    for (const df of dataflows.values()) {
      const total = { updates: 0, bytes: 0, messages: 0, snapshot: true, exports: 0 };
      for (const x of df.exports.values()) {
        if (!x.live) continue;
        const upper = knownUppers.get(x.shardId);
        const snapshotCommitted =
          upper !== undefined &&
          (upper === null || df.generator.clock.firstTickAtOrAfter(upper) > 0n);
        const s: Statistics = {
          kind: "ingestionStatistics",
          sourceId: x.id,
          updates: Number(writers.get(x.shardId)?.committed ?? 0n),
          bytes: Number(x.bytes),
          messages: Number(x.generated),
          snapshotCommitted,
        };
        total.updates += s.updates;
        total.bytes += s.bytes;
        total.messages += s.messages;
        total.snapshot &&= snapshotCommitted;
        total.exports++;
        yield s;
      }
      yield {
        kind: "ingestionStatistics",
        sourceId: df.id,
        updates: total.updates,
        bytes: total.bytes,
        messages: total.messages,
        snapshotCommitted: total.exports > 0 && total.snapshot,
      };
    }
  }
}
