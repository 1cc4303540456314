/**
 * Phase 2 (logging): the deterministic scenario with `cluster-unification-logging` off (compute's
 * legacy logging) and on (the unified logging dataflows), both on the unified servers runtime so
 * only logging differs. Compute relations must hold the same rows in their deterministic columns
 * both ways; storage relations exist only with the flag on and agree with storage's own reports.
 */
import { LOG_RELATIONS } from "@mzts/protocol";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { liveCount, stopAll } from "../src/harness/processes.js";
import {
  deterministicRows,
  type Phase2Observations,
  runPhase2Scenario,
} from "../src/suites/phase2-logging.suite.js";
import { ids } from "../src/suites/scenario.js";

afterEach(stopAll);
afterAll(() => {
  expect(liveCount()).toBe(0);
});

const runs: Record<string, Phase2Observations> = {};
const WORKERS = 2;

function rows(obs: Phase2Observations, name: string) {
  const read = obs.relations.get(name);
  if (read?.kind !== "rows") throw new Error(`${name} was not readable: ${JSON.stringify(read)}`);
  return read.rows.map(([row]) => row);
}

describe.each([
  ["off", false],
  ["on", true],
])("phase 2 logging, flag %s", (name, on) => {
  it("logs compute's dataflows, exports, operators, hydration and peeks per worker", async () => {
    const obs = await runPhase2Scenario({
      flags: { servers: true, logging: on },
      workers: WORKERS,
    });
    runs[name] = obs;
    for (const p of obs.peeks) expect(p.length).toBeGreaterThan(0);
    for (const rel of LOG_RELATIONS.filter((r) => r.workload === "compute")) {
      expect(obs.relations.get(rel.name)?.kind, rel.name).toBe("rows");
    }
    // One dataflow, built on every worker, with its index export and its operators.
    const dataflows = rows(obs, "dataflows");
    expect(dataflows.map((r) => r[1]).sort()).toEqual([0n, 1n]);
    expect(dataflows.every((r) => r[2] === "winning_bids")).toBe(true);
    const exports = rows(obs, "dataflow_exports");
    expect(exports.filter((r) => r[0] === ids.index && r[3] === "index")).toHaveLength(WORKERS);
    expect(rows(obs, "operators").length).toBeGreaterThan(2 * WORKERS);
    // Hydrated on every worker (the shards are closed): a non-null time each.
    const hydration = rows(obs, "hydration_times").filter((r) => r[0] === ids.index);
    expect(hydration).toHaveLength(WORKERS);
    for (const r of hydration) expect(typeof r[2]).toBe("bigint");
    // The index holds records; no error rows; no peek pending; two peeks answered in all.
    const sizes = rows(obs, "arrangement_sizes").filter((r) => r[0] === ids.index);
    expect(sizes.reduce((n, r) => n + Number(r[2]), 0)).toBeGreaterThan(0);
    expect(rows(obs, "error_counts")).toEqual([]);
    expect(rows(obs, "active_peeks")).toEqual([]);
    const answered = rows(obs, "peek_durations").reduce((n, r) => n + Number(r[2]), 0);
    expect(answered).toBeGreaterThanOrEqual(2);
    for (const r of rows(obs, "scheduling_elapsed"))
      expect(r[3] as bigint).toBeGreaterThanOrEqual(0n);
  });
});

describe("phase 2 logging, off vs on", () => {
  it("compute relations agree in their deterministic columns", () => {
    const off = runs.off;
    const on = runs.on;
    expect(off && on, "both runs completed").toBeTruthy();
    expect(on!.peeks).toEqual(off!.peeks);
    for (const rel of LOG_RELATIONS.filter((r) => r.workload === "compute")) {
      expect(deterministicRows(rel, on!.relations.get(rel.name)!), rel.name).toEqual(
        deterministicRows(rel, off!.relations.get(rel.name)!),
      );
    }
  });

  it("storage relations exist only with the flag on, and agree with storage's reports", () => {
    const off = runs.off!;
    const on = runs.on!;
    for (const rel of LOG_RELATIONS.filter((r) => r.workload === "storage")) {
      expect(off.relations.get(rel.name)?.kind, `${rel.name} off`).toBe("error");
      expect(on.relations.get(rel.name)?.kind, `${rel.name} on`).toBe("rows");
    }
    // Frontiers: a closed shard has no row (its upper is empty), as storage reported.
    const frontiers = rows(on, "ingestion_frontiers");
    for (const [id, upper] of on.storageUppers) {
      const logged = frontiers.filter((r) => r[0] === id);
      if (upper === null) expect(logged, id).toEqual([]);
      else for (const r of logged) expect(r[2] as bigint).toBeLessThanOrEqual(upper);
    }
    // Statistics: the per-worker rows sum to what storage's statistics say was ingested.
    const stats = rows(on, "ingestion_statistics");
    for (const id of [ids.auctions, ids.bids]) {
      const mine = stats.filter((r) => r[0] === id);
      expect(mine.length, `statistics rows of ${id}`).toBeGreaterThan(0);
      const updates = mine.reduce((n, r) => n + (r[2] as bigint), 0n);
      expect(updates, `updates of ${id}`).toBe(on.storageStatistics.get(id)?.updatesCommitted);
      expect(updates, `updates of ${id} cover the shard`).toBeGreaterThanOrEqual(
        BigInt(on.shardRows.get(id) ?? 0),
      );
    }
    expect(rows(on, "source_status").length).toBeGreaterThan(0);
  });
});
