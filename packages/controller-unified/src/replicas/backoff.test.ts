import { describe, expect, it } from "vitest";
import { InvalidBackoff } from "../errors.js";
import { backoffDelayMs, checkBackoff, DEFAULT_BACKOFF } from "./backoff.js";

describe("backoffDelayMs", () => {
  it("doubles from 125 ms, caps at 1 s, jitters by ±20 %", () => {
    const mid = () => 0.5;
    expect([1, 2, 3, 4, 5, 30, 10_000].map((a) => backoffDelayMs(a, undefined, mid))).toEqual([
      125, 250, 500, 1000, 1000, 1000, 1000,
    ]);
    expect(backoffDelayMs(1, DEFAULT_BACKOFF, () => 0)).toBe(100);
    expect(backoffDelayMs(9, DEFAULT_BACKOFF, () => 0.999999)).toBe(1200);
  });

  it("counts an attempt below 1 as the first", () => {
    expect(backoffDelayMs(0, undefined, () => 0.5)).toBe(125);
    expect(backoffDelayMs(-3, undefined, () => 0.5)).toBe(125);
  });

  it("follows a custom backoff, without jitter when jitter is 0", () => {
    const b = { initialMs: 10, maxMs: 35, jitter: 0 };
    expect([1, 2, 3, 4].map((a) => backoffDelayMs(a, b, Math.random))).toEqual([10, 20, 35, 35]);
  });
});

describe("checkBackoff", () => {
  it("accepts the default and refuses fields out of range with what to give", () => {
    expect(checkBackoff(DEFAULT_BACKOFF)).toBe(DEFAULT_BACKOFF);
    expect(() => checkBackoff({ initialMs: 0, maxMs: 1, jitter: 0 })).toThrow(InvalidBackoff);
    expect(() => checkBackoff({ initialMs: 100, maxMs: 50, jitter: 0 })).toThrow(/maxMs is 50/);
    expect(() => checkBackoff({ initialMs: 1, maxMs: 1, jitter: 1 })).toThrow(
      /fraction in \[0, 1\)/,
    );
    expect(() => checkBackoff({ initialMs: Number.NaN, maxMs: 1, jitter: 0 })).toThrow(
      /initialMs is NaN/,
    );
  });
});
