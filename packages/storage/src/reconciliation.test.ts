/**
 * `planReconciliation()`: which recorded ingestions a reconnection keeps (same id, equal
 * description re-sent) and which it drops, in recorded order. The runtime behaviour around it
 * (no restart, silent drops, re-sent statuses) is tested in `test/storage-runtime.test.ts`.
 */
import type { IngestionDescription, StorageCommand } from "@mzts/protocol";
import { describe, expect, it } from "vitest";
import { planReconciliation } from "./reconciliation.js";

function description(shardId: string, seed = 0n): IngestionDescription {
  return {
    sourceExports: [{ id: `${shardId}-x`, shardId, outputIndex: 0, name: "counter" }],
    connection: {
      kind: "loadGenerator",
      generator: { kind: "counter", maxCardinality: 5n },
      seed,
      tickIntervalMs: 10,
      deterministic: { startTimeMs: 0n, maxTicks: 10n },
    },
  };
}

const run = (id: string, d: IngestionDescription): StorageCommand => ({
  kind: "runIngestion",
  id,
  description: d,
});

describe("planReconciliation", () => {
  it("keeps ingestions re-sent unchanged and drops the others, in recorded order", () => {
    const recorded = new Map([
      ["u1", { description: description("a") }],
      ["u2", { description: description("b") }],
      ["u3", { description: description("c") }],
      ["u4", { description: description("d") }],
    ]);
    const plan = planReconciliation(recorded, [
      { kind: "updateConfiguration", params: new Map() },
      run("u3", description("c")),
      run("u2", description("b", 7n)), // same id, different description
      run("u9", description("z")), // new
      run("u1", description("a")),
      { kind: "allowWrites" },
    ]);
    expect(plan).toEqual({ kept: ["u1", "u3"], dropped: ["u2", "u4"] });
  });

  it("drops everything when the new connection re-sends nothing", () => {
    const recorded = new Map([["u1", { description: description("a") }]]);
    expect(planReconciliation(recorded, [])).toEqual({ kept: [], dropped: ["u1"] });
  });
});
