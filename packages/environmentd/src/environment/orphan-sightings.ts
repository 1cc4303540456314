/**
 * `OrphanSightings`: shard garbage collection's memory of orphaned persist shards, kept on disk so
 * that it survives restarts.
 *
 * Shard GC drops a shard no catalog object references only once it has seen it orphaned, with no
 * reader and the same upper, at two passes at least `confirmMs` apart (nobody writes it any
 * more). Kept in memory, that needed one environmentd to live through two passes: under churn
 * (environmentd killed every few seconds) no orphan was ever dropped. Here each sighting — the
 * upper and when it was first seen with that upper — is written to `<dataDir>/shard-gc.json`
 * (temp file + rename), so the pass of a later boot completes what an earlier one saw.
 *
 * The file is advisory: a missing or unreadable file starts empty (the next pass records the
 * sightings again; nothing is dropped early), and a failed write is logged and retried at the
 * next pass.
 */
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { Frontier } from "@mzts/repr";
import type { Logger } from "pino";

/** An orphaned shard as last seen: its upper, and since when it has had that upper. */
export interface Sighting {
  readonly upper: Frontier;
  readonly sinceMs: number;
}

/** What to do with an orphaned shard seen now. */
export type OrphanVerdict = "drop" | "wait";

/**
 * Whether an orphaned shard seen now (with `readers` readers and upper `upper`) can be dropped,
 * given its previous sighting: only with no reader, the same upper as before, and at least
 * `confirmMs` since that upper was first seen.
 */
export function orphanVerdict(
  before: Sighting | undefined,
  readers: number,
  upper: Frontier,
  nowMs: number,
  confirmMs: number,
): OrphanVerdict {
  if (readers > 0 || before === undefined || !Frontier.equal(before.upper, upper)) return "wait";
  return nowMs - before.sinceMs >= confirmMs ? "drop" : "wait";
}

export class OrphanSightings {
  readonly #path: string;
  readonly #log: Logger;
  readonly #seen = new Map<string, Sighting>();
  #dirty = false;

  /** Loads the sightings at `path` (an absent or unreadable file is empty). */
  constructor(path: string, log: Logger) {
    this.#path = path;
    this.#log = log;
    let text: string;
    try {
      text = readFileSync(path, "utf8");
    } catch {
      return; // no sightings yet
    }
    try {
      const json = JSON.parse(text) as Record<string, { upper: string | null; sinceMs: number }>;
      for (const [shardId, s] of Object.entries(json)) {
        if (typeof s?.sinceMs !== "number") continue;
        const upper = s.upper === null ? Frontier.EMPTY : BigInt(s.upper);
        this.#seen.set(shardId, { upper, sinceMs: s.sinceMs });
      }
    } catch (e) {
      this.#log.warn(
        { path, err: e },
        "shard GC: unreadable orphan sightings; starting afresh (orphans are dropped a pass later)",
      );
    }
  }

  get(shardId: string): Sighting | undefined {
    return this.#seen.get(shardId);
  }

  /**
   * Records that `shardId` was seen orphaned with `upper` at `nowMs`; keeps the earlier time
   * when the upper is unchanged.
   */
  see(shardId: string, upper: Frontier, nowMs: number): void {
    const before = this.#seen.get(shardId);
    if (before !== undefined && Frontier.equal(before.upper, upper)) return;
    this.#seen.set(shardId, { upper, sinceMs: nowMs });
    this.#dirty = true;
  }

  /** Forgets `shardId` (dropped, or no longer an orphan). */
  forget(shardId: string): void {
    if (this.#seen.delete(shardId)) this.#dirty = true;
  }

  /** Forgets every shard not in `current` (gone, or referenced again). */
  retainOnly(current: ReadonlySet<string>): void {
    for (const id of [...this.#seen.keys()]) if (!current.has(id)) this.forget(id);
  }

  /** Writes the sightings if they changed (atomically). Failures are logged, not thrown. */
  save(): void {
    if (!this.#dirty) return;
    const json: Record<string, { upper: string | null; sinceMs: number }> = {};
    for (const [id, s] of this.#seen) {
      json[id] = { upper: s.upper === null ? null : s.upper.toString(), sinceMs: s.sinceMs };
    }
    const tmp = `${this.#path}.tmp`;
    try {
      writeFileSync(tmp, `${JSON.stringify(json)}\n`);
      renameSync(tmp, this.#path);
      this.#dirty = false;
    } catch (e) {
      this.#log.warn({ path: this.#path, err: e }, "shard GC: saving orphan sightings failed");
    }
  }
}
