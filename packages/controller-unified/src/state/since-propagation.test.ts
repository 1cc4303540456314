import type { Frontier } from "@mzts/repr";
import { describe, expect, it } from "vitest";
import { CollectionTable } from "./collection-table.js";
import { Holder } from "./read-holds.js";
import { SincePropagation } from "./since-propagation.js";

function setup() {
  const table = new CollectionTable("u1");
  const sent: [string, Frontier][] = [];
  const forgotten: string[] = [];
  const p = new SincePropagation({
    table,
    windowMs: 2n,
    replicas: () => [],
    allowCompaction: (id, since) => sent.push([id, since]),
    forgotten: (id) => forgotten.push(id),
  });
  const src = table.insert({
    id: "u11",
    kind: "sourceExport",
    objectId: "u10",
    shardId: "s",
    since: 0n,
  });
  src.holds.set(Holder.POLICY, 0n);
  const idx = table.insert({
    id: "u20",
    kind: "index",
    objectId: "u20",
    since: 0n,
    dependencies: ["u11"],
  });
  idx.holds.set(Holder.POLICY, 0n);
  src.holds.set(Holder.dependant("u20"), 0n);
  p.addDataflow("u20", { exports: ["u20"], imports: ["u11"], foreign: [] });
  return { table, p, sent, forgotten, src, idx };
}

describe("SincePropagation", () => {
  it("a write frontier moves the policy hold, the since, allowCompaction and the import's hold", () => {
    const { p, sent, src, idx } = setup();
    src.floor = 9n;
    p.updatePolicy(src);
    expect(src.since).toBe(0n); // held by u20 at 0
    idx.write = 7n;
    p.updatePolicy(idx);
    expect(idx.since).toBe(5n);
    expect(sent).toEqual([["u20", 5n]]);
    expect(src.holds.get(Holder.dependant("u20"))).toBe(5n);
    expect(src.since).toBe(5n);
  });

  it("the dataflow releases its imports once its exports' sinces are all empty", () => {
    const { p, sent, src, idx, forgotten } = setup();
    idx.dropped = true;
    idx.holds.release(Holder.POLICY);
    idx.holds.set(Holder.peek("p"), 1n);
    p.settle(idx);
    expect(src.holds.get(Holder.dependant("u20"))).toBe(1n); // still replayed: still held
    idx.holds.release(Holder.peek("p"));
    p.settle(idx);
    expect(sent.at(-1)).toEqual(["u20", null]);
    expect(src.holds.has(Holder.dependant("u20"))).toBe(false);
    expect(forgotten).toEqual(["u20"]); // no replica owes an acknowledgement
    expect(p.dataflow("u20")).toBeUndefined();
  });
});
