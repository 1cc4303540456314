import { describe, expect, it } from "vitest";
import { Datum } from "./datum.js";
import { InvalidDatum } from "./errors.js";

describe("Datum", () => {
  it("parses numerics exactly and canonically", () => {
    expect(Datum.numeric("1.2300")).toEqual({ kind: "numeric", unscaled: 123n, scale: 2 });
    expect(Datum.numeric("-0.5")).toEqual({ kind: "numeric", unscaled: -5n, scale: 1 });
    expect(Datum.numeric("1e3")).toEqual({ kind: "numeric", unscaled: 1000n, scale: 0 });
    expect(Datum.numeric("12.5e-2")).toEqual({ kind: "numeric", unscaled: 125n, scale: 3 });
    expect(Datum.numericToString(Datum.numeric("-0.05"))).toBe("-0.05");
    expect(Datum.numericToString(Datum.numeric("100"))).toBe("100");
    expect(() => Datum.numeric("abc")).toThrow(InvalidDatum);
    expect(() => Datum.numeric(".")).toThrow(InvalidDatum);
  });

  it("orders numbers by value across int64, float64 and numeric", () => {
    expect(Datum.compare(1n, Datum.numeric("1.5"))).toBeLessThan(0);
    expect(Datum.compare(Datum.numeric("2.5"), 2n)).toBeGreaterThan(0);
    expect(Datum.compare(2.5, 3n)).toBeLessThan(0);
    expect(Datum.compare(Number.NaN, 1e300)).toBeGreaterThan(0);
    expect(Datum.compare(null, false)).toBeLessThan(0);
    expect(Datum.compare("a", 1n)).toBeGreaterThan(0);
  });

  it("keeps jsonb canonical so equal documents are equal", () => {
    expect(Datum.jsonbFromText('{"b":1,"a":[true,null]}')).toEqual(
      Datum.jsonb({ a: [true, null], b: 1 }),
    );
    expect(() => Datum.jsonbFromText("{bad")).toThrow(InvalidDatum);
    expect(Datum.jsonb("x").text).toBe('"x"');
  });

  it("checks int64 range", () => {
    expect(Datum.int64(5)).toBe(5n);
    expect(() => Datum.int64(1n << 63n)).toThrow(/int64/);
    expect(() => Datum.int64(1.5)).toThrow(InvalidDatum);
  });

  it("names each type", () => {
    expect(Datum.typeOf(Datum.timestamp(new Date(0)))).toBe("timestamp");
    expect(Datum.typeOf(new Uint8Array())).toBe("bytes");
    expect(Datum.format(Datum.timestamp(0))).toBe("1970-01-01T00:00:00.000Z");
  });
});
