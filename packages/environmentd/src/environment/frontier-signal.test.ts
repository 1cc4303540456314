/**
 * `FrontierSignal`: a waiter is resolved by the notification that makes its condition true, not by
 * polling; it times out with the caller's error, fails with what its condition throws, and is
 * rejected by `close`. Every outcome removes it.
 */
import { describe, expect, it } from "vitest";
import { FrontierSignal } from "./frontier-signal.js";

const timeout = () => new Error("timed out");

describe("FrontierSignal", () => {
  it("resolves at once when the condition already holds", async () => {
    const s = new FrontierSignal();
    await expect(s.until(() => 7n, 10, timeout)).resolves.toBe(7n);
    expect(s.waiting).toBe(0);
  });

  it("re-evaluates the condition only when notified", async () => {
    const s = new FrontierSignal();
    let upper = 0n;
    let evaluations = 0;
    const p = s.until(
      () => {
        evaluations++;
        return upper > 5n ? upper - 1n : undefined;
      },
      5_000,
      timeout,
    );
    await new Promise((r) => setTimeout(r, 100));
    expect(evaluations).toBe(1); // no polling while nothing moves
    upper = 3n;
    s.notify();
    expect(s.waiting).toBe(1);
    upper = 10n;
    s.notify();
    await expect(p).resolves.toBe(9n);
    expect(evaluations).toBe(3);
    expect(s.waiting).toBe(0);
  });

  it("rejects with the caller's error at the timeout, and with what the condition throws", async () => {
    const s = new FrontierSignal();
    await expect(s.until(() => undefined, 20, timeout)).rejects.toThrow("timed out");
    let fail = false;
    const p = s.until(
      () => {
        if (fail) throw new Error("compacted away");
        return undefined;
      },
      5_000,
      timeout,
    );
    fail = true;
    s.notify();
    await expect(p).rejects.toThrow("compacted away");
    expect(s.waiting).toBe(0);
  });

  it("close rejects pending and later waits", async () => {
    const s = new FrontierSignal();
    const p = s.until(() => undefined, 5_000, timeout);
    s.close(new Error("closed"));
    await expect(p).rejects.toThrow("closed");
    await expect(s.until(() => 1n, 10, timeout)).rejects.toThrow("closed");
    expect(s.waiting).toBe(0);
  });
});
