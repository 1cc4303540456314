import { InvariantViolation } from "@mzts/repr";
import { describe, expect, it } from "vitest";
import { Holder, policyHold, ReadHoldSet } from "./read-holds.js";

describe("ReadHoldSet", () => {
  it("the since is the meet of the holds, empty without holds", () => {
    const h = new ReadHoldSet();
    expect(h.since()).toBeNull();
    h.set(Holder.POLICY, 10n);
    h.set(Holder.peek("a"), 7n);
    h.set(Holder.dependant("u5"), 9n);
    expect(h.since()).toBe(7n);
    expect(h.release(Holder.peek("a"))).toBe(true);
    expect(h.release(Holder.peek("a"))).toBe(false);
    expect(h.since()).toBe(9n);
    expect(h.size).toBe(2);
  });

  it("a hold moves forward only (a backward move is a bug, not input)", () => {
    const h = new ReadHoldSet();
    h.set(Holder.replica("u1"), 5n);
    h.set(Holder.replica("u1"), 6n);
    expect(() => h.set(Holder.replica("u1"), 4n)).toThrow(InvariantViolation);
    h.set(Holder.replica("u1"), null);
    expect(h.since()).toBeNull();
  });

  it("lists holders by kind", () => {
    const h = new ReadHoldSet();
    h.set(Holder.replica("u1"), 1n);
    h.set(Holder.replica("u2"), 1n);
    h.set(Holder.external(1), 1n);
    expect(h.holders("replica:").sort()).toEqual(["replica:u1", "replica:u2"]);
    expect([...h.snapshot().keys()]).toHaveLength(3);
  });
});

describe("policyHold", () => {
  it("trails the write frontier by the window, never below the floor or back", () => {
    expect(policyHold(0n, 0n, 10n, 3n)).toBe(7n);
    expect(policyHold(0n, 9n, 10n, 3n)).toBe(9n);
    expect(policyHold(8n, 0n, 10n, 3n)).toBe(8n);
    expect(policyHold(0n, 0n, 2n, 3n)).toBe(0n);
  });

  it("a closed write frontier keeps the hold (empty would mean drop)", () => {
    expect(policyHold(5n, 0n, null, 3n)).toBe(5n);
  });
});
