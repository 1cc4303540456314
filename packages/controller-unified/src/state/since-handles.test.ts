import { describe, expect, it } from "vitest";
import { type ShardCollection, SinceHandles } from "./since-handles.js";

const rows = (m: Record<string, ShardCollection>) => (id: string) => m[id];

describe("SinceHandles", () => {
  it("downgrades to meet(since, upper) once, then waits for the settlement", () => {
    const h = new SinceHandles();
    h.register("u1", "s1", 0n, 0);
    const r = rows({ u1: { id: "u1", since: 8n, write: 5n, dropped: false } });
    expect(h.plan(r, 10, 60_000).downgrades).toEqual([
      { id: "u1", shardId: "s1", since: 5n, heartbeat: false },
    ]);
    expect(h.plan(r, 20, 60_000).downgrades).toEqual([]); // in flight
    h.settled("u1", 5n, 30);
    expect(h.durableSince("u1")).toBe(5n);
    expect(h.plan(r, 40, 60_000).downgrades).toEqual([]);
  });

  it("a failed downgrade is retried; an idle handle is heartbeated", () => {
    const h = new SinceHandles();
    h.register("u1", "s1", 0n, 0);
    const r = rows({ u1: { id: "u1", since: 3n, write: null, dropped: false } });
    expect(h.plan(r, 1, 100).downgrades).toHaveLength(1);
    h.failed("u1");
    expect(h.plan(r, 2, 100).downgrades[0]?.since).toBe(3n); // a closed upper does not bound it
    h.settled("u1", 3n, 2);
    expect(h.plan(r, 50, 100).downgrades).toEqual([]);
    expect(h.plan(r, 102, 100).downgrades).toEqual([
      { id: "u1", shardId: "s1", since: 3n, heartbeat: true },
    ]);
  });

  it("a dropped collection that something still holds keeps its handle", () => {
    const h = new SinceHandles();
    h.register("u1", "s1", 0n, 0);
    const held = rows({ u1: { id: "u1", since: 2n, write: 4n, dropped: true } });
    expect(h.plan(held, 1, 100)).toEqual({
      downgrades: [{ id: "u1", shardId: "s1", since: 2n, heartbeat: false }],
      expiries: [],
    });
  });

  it("a dropped or forgotten collection's handle is expired once", () => {
    const h = new SinceHandles();
    h.register("u1", "s1", 0n, 0);
    const dropped = rows({ u1: { id: "u1", since: null, write: 4n, dropped: true } });
    expect(h.plan(dropped, 1, 100).expiries).toEqual([{ id: "u1", shardId: "s1" }]);
    expect(h.plan(dropped, 2, 100).expiries).toEqual([]);
    expect(h.plan(rows({}), 3, 100).expiries).toEqual([]);
    expect(h.size).toBe(0);
  });
});
