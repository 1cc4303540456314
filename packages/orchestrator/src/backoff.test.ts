import { describe, expect, it } from "vitest";
import { backoffDelay, DEFAULT_RESTART_BACKOFF, nextAttempt } from "./backoff.js";

describe("restart backoff", () => {
  const b = { initialMs: 100, maxMs: 1000, factor: 2, resetAfterMs: 5000 };

  it("grows exponentially and is capped", () => {
    expect([1, 2, 3, 4, 5, 6].map((n) => backoffDelay(b, n))).toEqual([
      100, 200, 400, 800, 1000, 1000,
    ]);
    expect(backoffDelay(DEFAULT_RESTART_BACKOFF, 100)).toBe(30_000);
  });

  it("resets after a long enough run", () => {
    expect(nextAttempt(b, 4, 4999)).toBe(5);
    expect(nextAttempt(b, 4, 5000)).toBe(1);
    expect(nextAttempt(b, 0, 10)).toBe(1);
  });
});
