/**
 * `runPhase2Scenario(flags)`: the deterministic scenario (`scenario.ts`) against a real clusterd
 * whose compute instance has logging on (a short introspection interval, every relation of
 * `LOG_RELATIONS` indexed), with `cluster-unification-logging` off (compute's legacy logging) or
 * on (the unified logging dataflows; storage relations appear). It returns what a user could
 * observe of the introspection relations so the test can assert:
 * - compute relations have the same rows in their deterministic columns both ways;
 * - storage relations exist only with the flag on, and agree with what storage itself reports
 *   (frontier uppers, statistics) and with the shards.
 *
 * Each relation is read with one peek of its log index at a wall-clock time after the scenario
 * settled; a relation whose index the replica does not have answers with an error, recorded as
 * such.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createPersist } from "@mzts/persist";
import {
  type ComputeCommand,
  LOG_RELATIONS,
  type LogRelation,
  type SourceStatistics,
  type StorageResponse,
} from "@mzts/protocol";
import { compareRows, type Frontier, type Row } from "@mzts/repr";
import { END_MS, ids, peekAll, START_MS, TICK_MS } from "./scenario.js";
import {
  peekOnce,
  type ScenarioReplica,
  startScenario,
  untilShardsClosed,
} from "./scenario-driver.js";

/** The introspection interval of the scenario (short, so reads settle quickly). */
export const INTERVAL_MS = 200;

export interface Phase2Config {
  readonly flags: { readonly [phase: string]: boolean };
  readonly workers: number;
}

/** One relation as read: its rows (with counts), or the replica's error. */
export type RelationRead =
  | { readonly kind: "rows"; readonly rows: ReadonlyArray<readonly [Row, number]> }
  | { readonly kind: "error"; readonly message: string };

export interface Phase2Observations {
  /** Relation name → what a peek of its log index answered. */
  readonly relations: ReadonlyMap<string, RelationRead>;
  /** The scenario's own peek answers (must be unaffected by logging). */
  readonly peeks: ReadonlyArray<ReadonlyArray<readonly [Row, number]>>;
  /** Storage's last reported upper per export and its last statistics per export. */
  readonly storageUppers: ReadonlyMap<string, Frontier>;
  readonly storageStatistics: ReadonlyMap<string, SourceStatistics>;
  /** Updates per shard as read back from persist (consolidated), by export id. */
  readonly shardRows: ReadonlyMap<string, number>;
}

/** The log index id of each relation (system ids, as environmentd assigns them). */
export function logIndexIds(): Map<string, string> {
  return new Map(LOG_RELATIONS.map((r, i) => [r.name, `s${900 + i}`]));
}

let peekCounter = 0;
function peekLog(relation: LogRelation, id: string, t: bigint): ComputeCommand & { kind: "peek" } {
  peekCounter++;
  const all = relation.columns.map((_, i) => i);
  return {
    kind: "peek",
    peek: {
      uuid: `00000000-0000-4000-9000-${peekCounter.toString(16).padStart(12, "0")}`,
      target: { kind: "index", id },
      arity: relation.columns.length,
      timestamp: t,
      mapFilterProject: { exprs: [], predicates: [], projection: all },
      finishing: { orderBy: [], offset: 0, project: all },
    },
  };
}

export async function runPhase2Scenario(cfg: Phase2Config): Promise<Phase2Observations> {
  const dir = mkdtempSync(join(tmpdir(), "mzts-e2e-phase2-"));
  const shardPrefix = "s";
  const logIds = logIndexIds();
  try {
    const { clusterd, storage, compute } = await startScenario({
      dir,
      workers: cfg.workers,
      flags: cfg.flags,
      shardPrefix,
      logging: { enabled: true, intervalMs: INTERVAL_MS, logLogging: false, indexLogs: logIds },
    });
    await untilShardsClosed(storage);
    const peeks: Array<ReadonlyArray<readonly [Row, number]>> = [];
    for (const t of [START_MS + 5n * TICK_MS, START_MS + 20n * TICK_MS]) {
      const r = await ask(compute, peekAll(t));
      if (r.kind !== "rows") throw new Error(`scenario peek at ${t} failed: ${r.message}`);
      peeks.push(r.rows);
    }
    // Let the statistics and the logs settle: two statistics rounds and several log intervals.
    await new Promise((r) => setTimeout(r, Math.max(3 * INTERVAL_MS, 2_500)));
    const relations = new Map<string, RelationRead>();
    const now = BigInt(Date.now());
    for (const rel of LOG_RELATIONS) {
      relations.set(rel.name, await ask(compute, peekLog(rel, logIds.get(rel.name)!, now)));
    }
    const storageUppers = new Map<string, Frontier>();
    const storageStatistics = new Map<string, SourceStatistics>();
    for (const r of storage.responses as StorageResponse[]) {
      if (r.kind === "frontierUpper") storageUppers.set(r.id, r.upper);
      if (r.kind === "statisticsUpdates") for (const s of r.sources) storageStatistics.set(s.id, s);
    }
    await compute.close();
    await storage.close();
    const stopped = await clusterd.stop();
    if (stopped.code !== 0) {
      throw new Error(
        `clusterd exited with ${stopped.code} on SIGTERM; stderr: ${clusterd.process.stderr().slice(-2000)}`,
      );
    }
    const shardRows = new Map<string, number>();
    const persist = await createPersist({ dataDir: dir });
    try {
      for (const [id, name] of [
        [ids.auctions, "auctions"],
        [ids.bids, "bids"],
      ] as const) {
        const shard = await persist.openShard(`${shardPrefix}-${name}`);
        const upper = await shard.upper();
        const at = upper === null ? END_MS - 1n : upper - 1n;
        shardRows.set(
          id,
          (await shard.snapshot(at)).reduce((n, [, , d]) => n + d, 0),
        );
      }
    } finally {
      await persist.close();
    }
    return { relations, peeks, storageUppers, storageStatistics, shardRows };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function ask(
  compute: ScenarioReplica["compute"],
  p: ComputeCommand & { kind: "peek" },
): Promise<RelationRead> {
  const r = await peekOnce(compute, p);
  if (r.kind === "rows") {
    const rows = [...r.rows].sort((a, b) => compareRows(a[0], b[0]));
    return { kind: "rows", rows };
  }
  return { kind: "error", message: r.kind === "error" ? r.message : "canceled" };
}

/** A relation's rows reduced to its deterministic columns, sorted (for off/on comparison). */
export function deterministicRows(rel: LogRelation, read: RelationRead): string[] {
  if (read.kind !== "rows") return [`error: ${read.message}`];
  return read.rows
    .map(([row, n]) =>
      JSON.stringify([rel.deterministic.map((c) => row[c] ?? null), n], (_k, v) =>
        typeof v === "bigint" ? `${v}n` : v,
      ),
    )
    .sort();
}
