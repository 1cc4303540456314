import { describe, expect, it } from "vitest";
import { DEFAULT_MAINTENANCE, maintenanceStep } from "./maintenance.js";
import { ReplicaHealthTable } from "./replica-health.js";
import { SinceHandles } from "./since-handles.js";

describe("maintenanceStep", () => {
  it("is a pure step of the time: since handles and stale replicas, no timer", () => {
    const handles = new SinceHandles();
    handles.register("u1", "s1", 0n, 0);
    const health = new ReplicaHealthTable();
    health.add("u9");
    health.spawned("u9", 1);
    health.connected("u9", 1, 0);
    const parts = {
      handles,
      health,
      rows: () => ({ id: "u1", since: 2n, write: 9n, dropped: false }),
    };
    const tuning = { ...DEFAULT_MAINTENANCE, staleAfterMs: 5000 };
    const first = maintenanceStep(parts, 1000, tuning);
    expect(first.downgrades.map((d) => d.since)).toEqual([2n]);
    expect(first.staleReplicas).toEqual([]);
    const later = maintenanceStep(parts, 6000, tuning);
    expect(later.downgrades).toEqual([]); // still in flight
    expect(later.staleReplicas).toEqual(["u9"]);
  });
});
