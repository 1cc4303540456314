import { describe, expect, it } from "vitest";
import { type Collection, CollectionTable } from "./collection-table.js";
import { Holder } from "./read-holds.js";
import { computeRules, storageRules } from "./replica-rules.js";

function row(kind: "index" | "sourceExport", since = 5n): Collection {
  const c = new CollectionTable("u1").insert({ id: "u10", kind, objectId: "u10", since });
  c.holds.set(Holder.POLICY, since);
  return c;
}

describe("computeRules", () => {
  it("every replica holds a new collection at its as-of, a spawn re-holds at the since", () => {
    const c = row("index");
    computeRules.created(c, ["u1", "u2"]);
    expect(c.holds.get(Holder.replica("u1"))).toBe(5n);
    c.replicaWrite.set("u1", 9n);
    computeRules.spawned(c, "u1");
    expect(c.replicaWrite.has("u1")).toBe(false);
    expect(c.holds.get(Holder.replica("u1"))).toBe(5n);
  });

  it("a drop releases the policy and replica holds; forgotten once every replica reported empty", () => {
    const c = row("index");
    computeRules.created(c, ["u1", "u2"]);
    c.dropped = true;
    computeRules.dropped(c);
    expect(c.holds.size).toBe(0);
    c.since = null;
    c.replicaWrite.set("u1", null);
    expect(computeRules.forgettable(c, ["u1", "u2"])).toBe(false);
    // u2 restarts after the drop was sent: its replay does not have it, so it is acknowledged.
    computeRules.spawned(c, "u2");
    expect(computeRules.forgettable(c, ["u1", "u2"])).toBe(true);
  });

  it("a replay without the collection acknowledges it for that replica", () => {
    const c = row("index");
    c.dropped = true;
    c.since = null;
    computeRules.replayed(c, "u3");
    expect(c.replicaWrite.get("u3")).toBeNull();
  });

  it("a removed replica's frontiers and holds go", () => {
    const c = row("index");
    computeRules.created(c, ["u1"]);
    c.replicaWrite.set("u1", 7n);
    computeRules.removed(c, "u1");
    expect(c.replicaWrite.size).toBe(0);
    expect(c.holds.has(Holder.replica("u1"))).toBe(false);
  });
});

describe("storageRules", () => {
  it("the replicas that reported on their connection owe a droppedId; a failure owes nothing", () => {
    const c = row("sourceExport");
    c.replicaWrite.set("u1", 3n);
    c.replicaWrite.set("u2", 3n);
    c.dropped = true;
    storageRules.dropped(c);
    expect([...(c.owed ?? [])].sort()).toEqual(["u1", "u2"]);
    expect(storageRules.forgettable(c, [])).toBe(false);
    storageRules.failed(c, "u1");
    c.owed?.delete("u2");
    expect(storageRules.forgettable(c, [])).toBe(true);
  });

  it("a late upper of a dropped collection adds its replica to the owed, unless it delivered", () => {
    const c = row("sourceExport");
    c.dropped = true;
    storageRules.dropped(c);
    expect(storageRules.lateWrite(c, "u3")).toBe(false);
    expect(c.owed?.has("u3")).toBe(true);
    c.owed?.delete("u3");
    c.delivered.add("u3");
    storageRules.lateWrite(c, "u3");
    expect(c.owed?.has("u3")).toBe(false);
  });

  it("spawns and replays change nothing; no replica hold is ever taken", () => {
    const c = row("sourceExport");
    storageRules.created(c, ["u1"]);
    storageRules.spawned(c, "u1");
    storageRules.replayed(c, "u1");
    expect(c.holds.holders("replica:")).toEqual([]);
  });
});
