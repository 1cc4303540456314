import { describe, expect, it } from "vitest";
import { ReplicaHealthTable } from "./replica-health.js";

describe("ReplicaHealthTable", () => {
  it("one record per replica through its incarnations; other epochs are ignored", () => {
    const t = new ReplicaHealthTable();
    t.add("u1");
    expect(t.spawned("u1", 1)).toBe(true);
    expect(t.spawned("u1", 1)).toBe(false);
    expect(t.connected("u1", 1, 100)).toBe(true);
    expect(t.failed("u1", 0, "old")).toBe(false);
    expect(t.failed("u1", 1, "boom")).toBe(true);
    expect(t.failed("u1", 1, "again")).toBe(false);
    expect(t.spawned("u1", 2)).toBe(true);
    expect(t.get("u1")).toMatchObject({
      epoch: 2,
      state: "starting",
      failures: 1,
      lastError: "boom",
    });
    expect(t.connected("u1", 1, 200)).toBe(false);
  });

  it("a connected replica silent for the threshold becomes stale once; a response clears it", () => {
    const t = new ReplicaHealthTable();
    t.add("u1");
    t.spawned("u1", 1);
    t.connected("u1", 1, 0);
    expect(t.checkStale(500, 1000)).toEqual([]);
    expect(t.checkStale(1000, 1000)).toEqual(["u1"]);
    expect(t.checkStale(2000, 1000)).toEqual([]);
    expect(t.get("u1")?.stale).toBe(true);
    t.heard("u1", 1, 2100);
    expect(t.get("u1")?.stale).toBe(false);
  });

  it("remove drops the record", () => {
    const t = new ReplicaHealthTable();
    t.add("u1");
    expect(t.remove("u1")).toBe(true);
    expect(t.records()).toEqual([]);
    expect(t.epoch("u1")).toBeUndefined();
  });
});
