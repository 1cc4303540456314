/**
 * `IngestionDataflow`: one worker's rendered ingestion — the generating side of the write path
 * (step 1 of `storage-state.ts`'s walk-through), from `render` until its drop.
 *
 * Every worker generates *its partition* of the generator's ticks (`updatesBetween` with
 * `{worker, workers}`), in chunks of at most `ticksPerBatch` ticks, and sends each live export's
 * updates of the chunk `[from, to)` to the shard's writer (`shard-writer.ts`) as a `part`, also
 * when empty (the writer needs every worker's part of a range). A worker runs at most
 * `maxTicksInFlight` ticks ahead of its live exports' shard uppers (as broadcast by the writers);
 * deterministic mode generates as fast as that window allows (up to `maxTicks`, or forever
 * without it), real-time mode only ticks whose time has come (`ticksDue(now)`).
 *
 * ## Render
 * `renderIngestion()` builds the generator from the description and the resume point that the
 * preparation task read (`IngestionResume`: every export shard's upper, the clock's start), and
 * starts at the least first tick not yet in any live export's shard (`firstTickAtOrAfter(upper)`;
 * a writer drops what its shard already holds).
 */
import type { IngestionDescription } from "@mzts/protocol";
import { encodeRow, Frontier, type GlobalId } from "@mzts/repr";
import { type IngestionResume, ingestionGenerator } from "./ingestion.js";
import type { ExportStats } from "./mesh-messages.js";
import { SLOT } from "./metrics.js";
import { NO_TICK_BOUND, writerOf } from "./shard-writer.js";
import type { LoadGenerator } from "./source/load-generator/load-generator.js";
import { updatesBetween } from "./source/load-generator/render.js";
import type { SendTo, StorageStateDeps } from "./storage-state-deps.js";

/** One export of a rendered dataflow. */
export interface DataflowExport {
  readonly id: GlobalId;
  readonly shardId: string;
  readonly outputIndex: number;
  /** The worker that writes the export's shard. */
  readonly writer: number;
  /** False once the export alone was dropped (`dropExport`). */
  live: boolean;
  /** Updates this worker generated for the export. */
  generated: bigint;
  /** Their encoded size. */
  bytes: bigint;
}

/** A rendered ingestion on this worker. */
export interface IngestionDataflow {
  readonly id: GlobalId;
  /** The position of the render in the shared order. */
  readonly gen: number;
  readonly generator: LoadGenerator;
  readonly deterministic: boolean;
  /** Deterministic `maxTicks`, else null. */
  readonly endTick: bigint | null;
  /** Next tick this worker generates; starts at the render's start tick. */
  nextTick: bigint;
  readonly exports: Map<GlobalId, DataflowExport>;
}

/** What the render needs of the state. */
export interface RenderScope {
  readonly peers: number;
  /** Whether an export id was dropped (skipped). */
  isDropped(exportId: GlobalId): boolean;
  /** Joins `upper` into the state's knowledge of the shard's upper; returns the result. */
  learnUpper(shardId: string, upper: Frontier): Frontier;
}

/** Builds ingestion `id`'s dataflow at position `gen`; see the file comment. */
export function renderIngestion(
  scope: RenderScope,
  gen: number,
  id: GlobalId,
  description: IngestionDescription,
  resume: IngestionResume,
): IngestionDataflow {
  const generator = ingestionGenerator(description, resume.startMs);
  const clock = generator.clock;
  const det = description.connection.deterministic;
  const endTick = det?.maxTicks ?? null;
  const exports = new Map<GlobalId, DataflowExport>();
  let start = NO_TICK_BOUND;
  for (const e of description.sourceExports) {
    if (scope.isDropped(e.id)) continue;
    const upper = scope.learnUpper(e.shardId, resume.uppers[e.id] ?? Frontier.MIN);
    const tick = upper === null ? (endTick ?? NO_TICK_BOUND) : clock.firstTickAtOrAfter(upper);
    if (tick < start) start = tick;
    exports.set(e.id, {
      id: e.id,
      shardId: e.shardId,
      outputIndex: e.outputIndex,
      writer: writerOf(e.shardId, scope.peers),
      live: true,
      generated: 0n,
      bytes: 0n,
    });
  }
  if (endTick !== null && start > endTick) start = endTick;
  return {
    id,
    gen,
    generator,
    deterministic: det !== undefined,
    endTick,
    nextTick: start === NO_TICK_BOUND ? 0n : start,
    exports,
  };
}

/** What generating needs of the state. */
export interface GenerateScope {
  readonly deps: StorageStateDeps;
  readonly sendTo: SendTo;
  /** The greatest upper this worker knows of a shard, if any. */
  knownUpper(shardId: string): Frontier | undefined;
}

/** Generates this worker's next chunk of `df`; true when it generated one. */
export function generateChunk(scope: GenerateScope, df: IngestionDataflow): boolean {
  const { deps } = scope;
  const clock = df.generator.clock;
  let acked = NO_TICK_BOUND;
  let live = 0;
  for (const x of df.exports.values()) {
    if (!x.live) continue;
    live++;
    const u = scope.knownUpper(x.shardId) ?? Frontier.MIN;
    const t = u === null ? NO_TICK_BOUND : clock.firstTickAtOrAfter(u);
    if (t < acked) acked = t;
  }
  if (live === 0 || acked === NO_TICK_BOUND) return false;
  let limit = df.endTick ?? NO_TICK_BOUND;
  if (!df.deterministic) limit = min(limit, clock.ticksDue(BigInt(deps.nowMs())));
  limit = min(limit, acked + BigInt(deps.options.maxTicksInFlight));
  limit = min(limit, df.nextTick + BigInt(deps.options.ticksPerBatch));
  if (limit <= df.nextTick) return false;
  const from = df.nextTick;
  const parts = updatesBetween(df.generator, from, limit, {
    partition: { worker: deps.index, workers: deps.peers },
  });
  df.nextTick = limit;
  let generated = 0;
  for (const x of df.exports.values()) {
    if (!x.live) continue;
    const updates = parts.get(x.outputIndex) ?? [];
    x.generated += BigInt(updates.length);
    for (const u of updates) x.bytes += BigInt(encodeRow(u[0]).length);
    generated += updates.length;
    scope.sendTo(x.writer, {
      kind: "part",
      gen: df.gen,
      shardId: x.shardId,
      from,
      to: limit,
      updates,
    });
  }
  deps.counters.add(SLOT.updatesGenerated, generated);
  return true;
}

/** This worker's counters of `df`'s live exports (sent to worker 0 for statistics). */
export function exportStats(
  df: IngestionDataflow,
  committedOf: (shardId: string) => bigint,
): ExportStats[] {
  const out: ExportStats[] = [];
  for (const x of df.exports.values()) {
    if (!x.live) continue;
    out.push({
      exportId: x.id,
      generated: x.generated,
      bytes: x.bytes,
      committed: committedOf(x.shardId),
      offsetKnown: df.nextTick,
    });
  }
  return out;
}

function min(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}
