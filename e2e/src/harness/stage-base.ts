/**
 * The all-off cluster of the migration-stage e2e tests (`tests/migration-stages*.e2e.test.ts`):
 * cluster `base` with one replica, the deterministic auction (`auction-workload.ts`), the
 * materialized view `winning_bids` and indexes `bids_base` / `winning_base` on it. Its answers at
 * `T` are the baseline every stage must give (`bids`, `winning`).
 */
import type { Environment } from "@mzts/environmentd";
import { expect } from "vitest";
import { deterministicAuction, T } from "./auction-workload.js";
import { type Rows, sortRows } from "./environment.js";

/** Creates the base cluster (run it while the flags give new clusters no phase). */
export async function createStageBase(
  env: Environment,
): Promise<{ readonly baseId: string; readonly baseline: ReadonlyMap<string, Rows> }> {
  const base = await env.createCluster({ name: "base" });
  await env.createReplica({ cluster: "base", name: "r1", size: 1 });
  await env.createSource({
    name: "auction",
    cluster: "base",
    loadGenerator: deterministicAuction(42n),
  });
  const bids = (await env.listObjects({})).objects.find((o) => o.name === "auction_bids");
  if (bids === undefined) throw new Error("auction has no auction_bids subsource");
  await env.createMaterializedView({
    name: "winning_bids",
    cluster: "base",
    plan: {
      kind: "reduce",
      input: { kind: "get", id: bids.id, arity: 5 },
      groupKey: [2],
      aggregates: [{ func: "max", column: 3 }, { func: "count" }],
    },
  });
  await env.createIndex({ name: "bids_base", cluster: "base", on: "auction_bids", key: [2] });
  await env.createIndex({ name: "winning_base", cluster: "base", on: "winning_bids", key: [0] });
  const baseline = new Map<string, Rows>();
  for (const object of ["bids", "winning"]) {
    const res = await env.peek({ object: `${object}_base`, timestamp: T, timeoutMs: 30_000 });
    expect(res.rows.length, `${object} at T`).toBeGreaterThan(0);
    baseline.set(object, sortRows(res.rows));
  }
  return { baseId: base.id, baseline };
}
