import { describe, expect, it } from "vitest";
import { backoffDelay, DEFAULT_RESTART_BACKOFF, nextAttempt, restartDelay } from "./backoff.js";

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

  it("restarts at once after a long enough run, else backs off", () => {
    // A replica that ran resetAfterMs or more is back without a pause (issue 16: the pause is
    // rehydration time); one that died sooner waits, and so does every later attempt of a loop.
    expect(restartDelay(b, nextAttempt(b, 4, 5000), 5000)).toBe(0);
    expect(restartDelay(b, nextAttempt(b, 0, 10), 10)).toBe(100);
    expect(restartDelay(b, nextAttempt(b, 1, 10), 10)).toBe(200);
  });
});
