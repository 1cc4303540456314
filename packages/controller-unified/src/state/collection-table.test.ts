import { describe, expect, it } from "vitest";
import { CollectionTable, workloadOf } from "./collection-table.js";
import { CollectionMissing } from "./errors.js";
import { Holder } from "./read-holds.js";

describe("CollectionTable", () => {
  it("holds compute and storage rows side by side", () => {
    const t = new CollectionTable("u1");
    const s = t.insert({
      id: "u10",
      kind: "sourceExport",
      objectId: "u9",
      shardId: "s",
      since: 0n,
    });
    const i = t.insert({
      id: "u11",
      kind: "index",
      objectId: "u11",
      since: 4n,
      dependencies: ["u10"],
    });
    expect(s.workload).toBe("storage");
    expect(i.workload).toBe("compute");
    expect(s.write).toBe(0n); // storage: the minimum until a replica reports
    expect(i.write).toBe(4n); // compute: the as-of
    expect(t.frontiers("u11")).toEqual({ since: 4n, write: 4n, reported: false });
    expect(workloadOf("materializedView")).toBe("compute");
    expect(workloadOf("ingestion")).toBe("storage");
  });

  it("the write frontier is the join over replicas; a replica's regression is ignored", () => {
    const t = new CollectionTable("u1");
    const c = t.insert({ id: "u10", kind: "index", objectId: "u10", since: 0n });
    expect(t.absorbWrite(c, "u1", 5n)).toBe(true);
    expect(t.absorbWrite(c, "u2", 3n)).toBe(false);
    expect(t.absorbWrite(c, "u1", 4n)).toBe(false);
    expect(c.replicaWrite.get("u1")).toBe(5n);
    expect(t.absorbWrite(c, "u2", 8n)).toBe(true);
    expect(c.write).toBe(8n);
    expect(c.reported).toBe(true);
    expect(t.absorbWrite(c, "u2", null)).toBe(true);
    expect(c.write).toBeNull();
  });

  it("publishes the since only when the meet of the holds advanced", () => {
    const t = new CollectionTable("u1");
    const c = t.insert({ id: "u10", kind: "index", objectId: "u10", since: 2n });
    c.holds.set(Holder.POLICY, 2n);
    c.holds.set(Holder.peek("p"), 3n);
    expect(t.advanceSince(c)).toBe(false);
    c.holds.set(Holder.POLICY, 5n);
    expect(t.advanceSince(c)).toBe(true);
    expect(c.since).toBe(3n);
    c.holds.release(Holder.POLICY);
    c.holds.release(Holder.peek("p"));
    expect(t.advanceSince(c)).toBe(true);
    expect(c.since).toBeNull();
  });

  it("live() refuses dropped and unknown ids with CollectionMissing; known() answers dropped", () => {
    const t = new CollectionTable("u1");
    const c = t.insert({ id: "u10", kind: "index", objectId: "u10", since: 0n });
    c.dropped = true;
    expect(() => t.live("u10", "peek")).toThrow(CollectionMissing);
    expect(t.known("u10", "frontiers").id).toBe("u10");
    t.delete("u10");
    expect(() => t.known("u10", "frontiers")).toThrow(/not a live collection of cluster u1/);
  });
});
