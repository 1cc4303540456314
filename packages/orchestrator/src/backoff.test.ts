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
    expect(restartDelay(b, nextAttempt(b, 0, 10), 10)).toBe(90);
    expect(restartDelay(b, nextAttempt(b, 1, 10), 10)).toBe(190);
  });

  it("pauses only for what is left of the delay after the run (issue 16: repeated kills)", () => {
    // A replica killed every few seconds after serving: the attempts grow (it never ran
    // resetAfterMs), but each run outlasted its delay, so no restart waits — the replay after
    // the n-th kill does not grow with n. Before: 100, 200, 400, 800, 1000, 1000.
    let attempt = 0;
    const pauses: number[] = [];
    for (let kill = 0; kill < 6; kill++) {
      attempt = nextAttempt(b, attempt, 1500);
      pauses.push(restartDelay(b, attempt, 1500));
    }
    expect(pauses).toEqual([0, 0, 0, 0, 0, 0]);
    // A shorter run waits the rest of its delay: starts stay at least the delay apart.
    expect(restartDelay(b, 4, 300)).toBe(500);
    expect(restartDelay(b, 6, 999)).toBe(1);
    // A crash loop at start-up (uptime 0) still backs off fully, up to the cap.
    expect(restartDelay(b, 6, 0)).toBe(1000);
  });
});
