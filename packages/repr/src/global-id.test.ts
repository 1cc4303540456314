import { describe, expect, it } from "vitest";
import { InvalidId } from "./errors.js";
import { GlobalId, ReplicaId } from "./global-id.js";
import { Timestamp } from "./timestamp.js";

describe("ids and timestamps", () => {
  it("checks id shapes with a typed error", () => {
    expect(GlobalId.parse("u12")).toBe("u12");
    expect(GlobalId.is("t3")).toBe(true);
    expect(() => GlobalId.parse("x1")).toThrow(InvalidId);
    expect(() => ReplicaId.parse("t1")).toThrow(/u<n> or s<n>/);
    expect(["u10", "u2", "u1"].sort(ReplicaId.compare)).toEqual(["u1", "u2", "u10"]);
  });

  it("checks timestamps are u64", () => {
    expect(Timestamp.parse("18446744073709551615")).toBe(Timestamp.MAX);
    expect(() => Timestamp.check(-1n)).toThrow(/invalid timestamp/);
    expect(() => Timestamp.parse("1.5")).toThrow(/invalid timestamp/);
    expect(Timestamp.roundUp(1001n, 1000n)).toBe(2000n);
    expect(Timestamp.roundUp(2000n, 1000n)).toBe(2000n);
  });
});
