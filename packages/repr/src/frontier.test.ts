import { describe, expect, it } from "vitest";
import { FrontierRegression } from "./errors.js";
import { Frontier, MonotoneFrontier } from "./frontier.js";
import { MutableFrontier, PartitionedFrontier } from "./mutable-frontier.js";

describe("Frontier", () => {
  it("orders the empty frontier after every time", () => {
    expect(Frontier.lessEqual(5n, Frontier.EMPTY)).toBe(true);
    expect(Frontier.lessEqual(Frontier.EMPTY, 5n)).toBe(false);
    expect(Frontier.lessEqual(Frontier.EMPTY, Frontier.EMPTY)).toBe(true);
    expect(Frontier.lessThan(3n, 4n)).toBe(true);
    expect(Frontier.lessThan(4n, 4n)).toBe(false);
    expect(Frontier.join(3n, Frontier.EMPTY)).toBe(null);
    expect(Frontier.meet(3n, Frontier.EMPTY)).toBe(3n);
    expect(Frontier.meet(7n, 3n)).toBe(3n);
  });

  it("answers readability of a time between since and upper", () => {
    expect(Frontier.readable(2n, 5n, 2n)).toBe(true);
    expect(Frontier.readable(2n, 5n, 4n)).toBe(true);
    expect(Frontier.readable(2n, 5n, 5n)).toBe(false);
    expect(Frontier.readable(2n, 5n, 1n)).toBe(false);
    expect(Frontier.readable(2n, Frontier.EMPTY, 1000n)).toBe(true);
    expect(Frontier.readable(Frontier.EMPTY, Frontier.EMPTY, 0n)).toBe(false);
    expect(Frontier.includes(5n, 5n)).toBe(true);
    expect(Frontier.includes(5n, 4n)).toBe(false);
    expect(Frontier.includes(Frontier.EMPTY, 4n)).toBe(false);
  });

  it("formats frontiers as antichains", () => {
    expect(Frontier.format(Frontier.EMPTY)).toBe("[]");
    expect(Frontier.format(12n)).toBe("[12]");
  });
});

describe("MonotoneFrontier", () => {
  it("advances and reports whether it moved", () => {
    const f = new MonotoneFrontier("u1");
    expect(f.current).toBe(0n);
    expect(f.advance(3n)).toBe(true);
    expect(f.advance(3n)).toBe(false);
    expect(f.advance(Frontier.EMPTY)).toBe(true);
    expect(f.current).toBe(null);
  });

  it("refuses a backward move with a typed error naming both frontiers", () => {
    const f = new MonotoneFrontier("collection u7", 10n);
    const err = (() => {
      try {
        f.advance(9n);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(FrontierRegression);
    const r = err as FrontierRegression;
    expect(r.current).toBe(10n);
    expect(r.proposed).toBe(9n);
    expect(r.message).toContain("collection u7");
    expect(r.message).toContain("[10]");
    expect(r.message).toContain("[9]");
    expect(f.current).toBe(10n);
    const closed = new MonotoneFrontier("x", Frontier.EMPTY);
    expect(() => closed.advance(100n)).toThrow(FrontierRegression);
  });
});

describe("MutableFrontier", () => {
  it("is the least time with a positive count", () => {
    const m = new MutableFrontier();
    expect(m.frontier()).toBe(null);
    m.update(5n, 1);
    m.update(3n, 2);
    expect(m.frontier()).toBe(3n);
    m.update(3n, -1);
    expect(m.frontier()).toBe(3n);
    m.update(3n, -1);
    expect(m.frontier()).toBe(5n);
    m.update(5n, -1);
    expect(m.frontier()).toBe(null);
    expect(() => m.update(1n, -1)).toThrow(/negative/);
  });
});

describe("PartitionedFrontier", () => {
  it("reports the meet only when it strictly advances", () => {
    const p = new PartitionedFrontier("u1", 3);
    expect(p.frontier).toBe(0n);
    expect(p.set(0, 5n)).toBeUndefined();
    expect(p.set(1, 7n)).toBeUndefined();
    expect(p.set(2, 6n)).toBe(5n);
    expect(p.set(0, 6n)).toBe(6n);
    expect(p.set(2, 8n)).toBeUndefined();
    expect(p.set(0, null)).toBe(7n);
    expect(p.set(1, null)).toBe(8n);
    expect(p.set(2, null)).toBe(null);
    expect(p.isEmpty).toBe(true);
  });

  it("refuses a part moving backward", () => {
    const p = new PartitionedFrontier("u1", 2);
    p.set(0, 5n);
    expect(() => p.set(0, 4n)).toThrow(FrontierRegression);
    expect(p.part(0)).toBe(5n);
  });
});
