/**
 * Tests of spec validation and the factory: defaults, accepted seed forms, and an
 * `InvalidSourceSpec` naming the field for every kind of bad input.
 */
import { describe, expect, it } from "vitest";
import { InvalidSourceSpec, StorageError } from "../../errors.js";
import { AuctionGenerator } from "./auction.js";
import { CounterGenerator } from "./counter.js";
import { createLoadGenerator, type LoadGeneratorSpec, validateLoadGeneratorSpec } from "./spec.js";

const clock = { startMs: 0n, intervalMs: 1_000n };

function fieldOf(spec: unknown): string {
  try {
    validateLoadGeneratorSpec(spec);
  } catch (e) {
    expect(e).toBeInstanceOf(InvalidSourceSpec);
    expect(e).toBeInstanceOf(StorageError);
    return (e as InvalidSourceSpec).field;
  }
  throw new Error("expected InvalidSourceSpec");
}

describe("load generator specs", () => {
  it("fills in defaults", () => {
    expect(validateLoadGeneratorSpec({ kind: "counter" })).toEqual({
      kind: "counter",
      seed: 0n,
      maxCardinality: null,
    });
    expect(validateLoadGeneratorSpec({ kind: "auction" })).toEqual({
      kind: "auction",
      seed: 0n,
      maxAuctions: null,
    });
    expect(validateLoadGeneratorSpec({ kind: "auction", maxAuctions: 300 })).toEqual({
      kind: "auction",
      seed: 0n,
      maxAuctions: 300n,
    });
  });

  it("accepts a seed as a bigint, a safe integer or a decimal string", () => {
    for (const seed of [7n, 7, "7"]) {
      expect(validateLoadGeneratorSpec({ kind: "auction", seed })).toEqual({
        kind: "auction",
        seed: 7n,
        maxAuctions: null,
      });
    }
    expect(validateLoadGeneratorSpec({ kind: "auction", seed: "18446744073709551615" })).toEqual({
      kind: "auction",
      seed: (1n << 64n) - 1n,
      maxAuctions: null,
    });
  });

  it("builds the generator of the spec's kind on the given clock", () => {
    const c = createLoadGenerator({ kind: "counter", maxCardinality: 5 }, clock);
    expect(c).toBeInstanceOf(CounterGenerator);
    expect((c as CounterGenerator).maxCardinality).toBe(5n);
    const a = createLoadGenerator({ kind: "auction", seed: 9 }, clock);
    expect(a).toBeInstanceOf(AuctionGenerator);
    expect(a.seed).toBe(9n);
    expect(a.clock.intervalMs).toBe(1_000n);
  });

  it.each<[string, unknown, string]>([
    ["not an object", "counter", "(spec)"],
    ["null", null, "(spec)"],
    ["missing kind", {}, "kind"],
    ["unknown kind", { kind: "tpch" }, "kind"],
    ["unknown field", { kind: "counter", maxCardinalty: 3 }, "maxCardinalty"],
    ["counter-only field on auction", { kind: "auction", maxCardinality: 3 }, "maxCardinality"],
    ["zero cardinality", { kind: "counter", maxCardinality: 0 }, "maxCardinality"],
    ["fractional cardinality", { kind: "counter", maxCardinality: 1.5 }, "maxCardinality"],
    ["bigint cardinality", { kind: "counter", maxCardinality: 3n }, "maxCardinality"],
    ["negative seed", { kind: "auction", seed: -1 }, "seed"],
    ["seed above u64", { kind: "auction", seed: 1n << 64n }, "seed"],
    ["non-decimal seed", { kind: "auction", seed: "0x10" }, "seed"],
    ["unsafe seed number", { kind: "auction", seed: 2 ** 60 }, "seed"],
    ["auctions below the longest auction", { kind: "auction", maxAuctions: 9 }, "maxAuctions"],
    ["fractional auctions", { kind: "auction", maxAuctions: 10.5 }, "maxAuctions"],
  ])("rejects %s, naming the field", (_, spec, field) => {
    expect(fieldOf(spec)).toBe(field);
  });

  it("says what a valid value looks like", () => {
    expect(() =>
      createLoadGenerator({ kind: "counter", maxCardinality: -2 } as LoadGeneratorSpec, clock),
    ).toThrow(/field "maxCardinality" is -2; expected a positive safe integer/);
  });

  it("rejects an invalid clock through the factory", () => {
    expect(() => createLoadGenerator({ kind: "counter" }, { startMs: 0n, intervalMs: 0n })).toThrow(
      /clock\.intervalMs/,
    );
  });
});
