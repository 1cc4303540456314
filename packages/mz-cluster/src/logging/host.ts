/**
 * `LoggingHost`: one worker's introspection — the contract both logging paths implement, so the
 * workload that answers peeks (compute) does not care which one it runs:
 * - legacy (flag `cluster-unification-logging` off): compute's own, `@mzts/compute`
 *   `legacy/logging/` (compute relations only);
 * - unified (on): this folder's logging dataflows, fed by every workload of the replica (storage
 *   events travel from the storage runtime's workers to the compute worker hosting them).
 *
 * ## Lifecycle (per worker)
 * 1. Built by the worker's composition root with the path the replica's PhaseSet selects.
 * 2. `configure(config)` at `CreateInstance`: when `enabled` and `intervalMs > 0`, installs one
 *    log index per `indexLogs` entry (relation name → GlobalId; unknown names are ignored and
 *    counted); otherwise installs nothing and `logger` stays `NO_LOGGER` (interval 0 costs
 *    nothing). A second `configure` with the same config (reconciliation) keeps everything.
 * 3. Events go to `logger` as they happen; `step(nowMs)` applies them at their log times and
 *    advances every log index's upper to one past the last interval multiple `<= nowMs`, then
 *    compacts each index to `upper - retentionMs` (rounded to the interval), so memory stays
 *    bounded however long the replica runs.
 * 4. Peeks of a log index go through `index(id)` exactly like peeks of any index.
 * 5. A dataflow of the same worker imports a log index like an index: `attach(feed)` sends its
 *    complete history and upper, then every later change once complete (`log-feeds.ts`);
 *    `detach(feed)` when the dataflow is dropped. Reconfiguring or closing detaches every feed.
 */
import type { Arrangement } from "@mzts/dataflow";
import type { LoggingConfig, LogRelation } from "@mzts/protocol";
import type { ComputeEventLogger } from "./events.js";
import type { LogIndexFeed } from "./log-feeds.js";

/** A log index as the peek path and importing dataflows see it. */
export interface LogIndex {
  readonly id: string;
  readonly relation: LogRelation;
  /** The relation's key columns. */
  readonly key: readonly number[];
  readonly arity: number;
  readonly arrangement: Arrangement;
  /** Always empty; its upper follows `arrangement`'s (peeks read both). */
  readonly errors: Arrangement;
  /** Attaches an importer: complete history, the upper, then changes (see `log-feeds.ts`). */
  attach(feed: LogIndexFeed): void;
  /** Detaches an importer. */
  detach(feed: LogIndexFeed): void;
}

/** One worker's introspection. */
export interface LoggingHost {
  /** Where this worker's events go (`NO_LOGGER` until configured with logging enabled). */
  readonly logger: ComputeEventLogger;
  /** Applies the instance's logging configuration (see the lifecycle above). Never throws. */
  configure(config: LoggingConfig): void;
  /** The log index of this id on this worker, if installed. */
  index(id: string): LogIndex | undefined;
  /** Applies pending events and advances log times; true when it did work. */
  step(nowMs: number): boolean;
  /** Frees every log index. */
  close(): void;
}

/**
 * How long log indexes keep history behind their upper (Materialize keeps ~the interval). Ten
 * seconds: room for a reader that picks its time from its own clock (environmentd's
 * introspection subscribes start one interval back) and for clock skew between hosts, while the
 * history held stays small. Every change of a row is held this long, so the history (and the
 * garbage collector's work over it) grows with dataflows × changes per second × this figure: at
 * 1,000 idle indexes a minute of it held ~300 MB of heap, ten seconds ~120 MB (issue 16).
 */
export const LOG_RETENTION_MS = 10_000;
