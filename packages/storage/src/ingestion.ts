/**
 * An ingestion's description as the replica uses it: validation, equality (for idempotent
 * re-sends and reconciliation), and the load generator and tick clock it runs.
 *
 * The description is the protocol's `IngestionDescription` (plain data). What the protocol does
 * not carry, the resume point, comes from the preparation task (`async-storage-worker.ts`) as an
 * `IngestionResume`: the export shards' uppers when the command was prepared, and the start time
 * of the tick clock (deterministic mode: the command's `startTimeMs`; real-time mode: the clock
 * anchor shard, see there).
 */
import type { IngestionDescription, StorageCommand } from "@mzts/protocol";
import type { Frontier, GlobalId } from "@mzts/repr";
import { InvalidSourceSpec } from "./errors.js";
import type { LoadGenerator } from "./source/load-generator/load-generator.js";
import { createLoadGenerator, type LoadGeneratorSpec } from "./source/load-generator/spec.js";
import { TickClock } from "./source/load-generator/tick-clock.js";

/** A `runIngestion` command. */
export type RunIngestion = Extract<StorageCommand, { kind: "runIngestion" }>;

/** Where an ingestion resumes; computed by the preparation task. */
export interface IngestionResume {
  /** Export id → the export shard's upper when the command was prepared. */
  readonly uppers: Readonly<Record<GlobalId, Frontier>>;
  /** Time of tick 0. */
  readonly startMs: bigint;
}

/**
 * A `runIngestion` with its resume point attached by the preparation task. It is still a
 * `StorageCommand` (a structural subtype), so the runtime's command type stays the protocol's.
 */
export type PreparedRunIngestion = RunIngestion & { readonly resume: IngestionResume };

/** True when `cmd` carries a resume point. */
export function isPrepared(cmd: RunIngestion): cmd is PreparedRunIngestion {
  return typeof (cmd as Partial<PreparedRunIngestion>).resume === "object";
}

/** A canonical string of a description (bigints as `123n`), for equality. */
export function descriptionKey(d: IngestionDescription): string {
  return JSON.stringify(d, (_k, v: unknown) => (typeof v === "bigint" ? `${v}n` : v));
}

/** Deep equality of two descriptions. */
export function sameDescription(a: IngestionDescription, b: IngestionDescription): boolean {
  return descriptionKey(a) === descriptionKey(b);
}

/** The generator spec of a description's connection. */
export function generatorSpec(d: IngestionDescription): LoadGeneratorSpec {
  const g = d.connection.generator;
  if (g.kind === "auction") {
    return g.maxAuctions === undefined
      ? { kind: "auction", seed: d.connection.seed }
      : { kind: "auction", seed: d.connection.seed, maxAuctions: Number(g.maxAuctions) };
  }
  return g.maxCardinality === undefined
    ? { kind: "counter", seed: d.connection.seed }
    : {
        kind: "counter",
        seed: d.connection.seed,
        maxCardinality: Number(g.maxCardinality),
      };
}

/** The generator an ingestion runs with its clock starting at `startMs`. */
export function ingestionGenerator(d: IngestionDescription, startMs: bigint): LoadGenerator {
  const clock = new TickClock({ startMs, intervalMs: BigInt(d.connection.tickIntervalMs) });
  return createLoadGenerator(generatorSpec(d), clock);
}

/**
 * Checks what the replica needs of a description: at least one export, unique export ids and
 * shard ids, output indices the generator has, a positive integer tick interval.
 * @throws InvalidSourceSpec naming the first offending field.
 */
export function validateDescription(d: IngestionDescription): void {
  const c = d.connection;
  if (c.kind !== "loadGenerator") {
    throw new InvalidSourceSpec("connection.kind", c.kind, '"loadGenerator"');
  }
  if (!Number.isSafeInteger(c.tickIntervalMs) || c.tickIntervalMs < 1) {
    throw new InvalidSourceSpec("connection.tickIntervalMs", c.tickIntervalMs, "an integer >= 1");
  }
  const gen = ingestionGenerator(d, c.deterministic?.startTimeMs ?? 0n);
  if (d.sourceExports.length === 0) {
    throw new InvalidSourceSpec("sourceExports", [], "at least one export");
  }
  const ids = new Set<string>();
  const shards = new Set<string>();
  for (const e of d.sourceExports) {
    if (ids.has(e.id)) throw new InvalidSourceSpec("sourceExports.id", e.id, "unique export ids");
    if (shards.has(e.shardId)) {
      throw new InvalidSourceSpec("sourceExports.shardId", e.shardId, "one export per shard");
    }
    ids.add(e.id);
    shards.add(e.shardId);
    if (!Number.isInteger(e.outputIndex) || e.outputIndex < 0) {
      throw new InvalidSourceSpec("sourceExports.outputIndex", e.outputIndex, "an index >= 0");
    }
    if (e.outputIndex >= gen.outputs.length) {
      throw new InvalidSourceSpec(
        "sourceExports.outputIndex",
        e.outputIndex,
        `an output of the ${gen.kind} generator (0..${gen.outputs.length - 1})`,
      );
    }
  }
  const max = c.deterministic?.maxTicks;
  if (max !== undefined && max < 0n) {
    throw new InvalidSourceSpec("connection.deterministic.maxTicks", max, "a tick count >= 0");
  }
}
