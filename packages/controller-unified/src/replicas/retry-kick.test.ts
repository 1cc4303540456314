/**
 * `RetryKick`: a kick ends the wait between connection attempts at once, also when it came while
 * no wait ran (during an attempt); `connected()` forgets it; the task's abort still ends a wait.
 */
import { describe, expect, it } from "vitest";
import { RetryKick } from "./retry-kick.js";

const elapsed = async (f: () => Promise<unknown>) => {
  const t = performance.now();
  await f();
  return performance.now() - t;
};

describe("RetryKick", () => {
  it("a kick ends the wait at once", async () => {
    const k = new RetryKick();
    const abort = new AbortController();
    setTimeout(() => k.kick(), 20);
    let kicked: boolean | undefined;
    expect(
      await elapsed(async () => {
        kicked = await k.wait(10_000, abort.signal);
      }),
    ).toBeLessThan(5_000);
    expect(kicked).toBe(true);
    expect(await k.wait(1, abort.signal)).toBe(false);
  });

  it("a kick during an attempt ends the next wait; connected() forgets it", async () => {
    const k = new RetryKick();
    const abort = new AbortController();
    k.kick();
    expect(await elapsed(() => k.wait(10_000, abort.signal))).toBeLessThan(5_000);
    k.kick();
    k.connected();
    expect(await elapsed(() => k.wait(50, abort.signal))).toBeGreaterThanOrEqual(45);
  });

  it("the task's abort ends a wait and leaves no listener", async () => {
    const k = new RetryKick();
    const abort = new AbortController();
    let added = 0;
    let removed = 0;
    const add = abort.signal.addEventListener.bind(abort.signal);
    const remove = abort.signal.removeEventListener.bind(abort.signal);
    abort.signal.addEventListener = (...a: Parameters<typeof add>) => {
      added++;
      add(...a);
    };
    abort.signal.removeEventListener = (...a: Parameters<typeof remove>) => {
      removed++;
      remove(...a);
    };
    await k.wait(1, abort.signal);
    setTimeout(() => abort.abort(), 20);
    expect(await elapsed(() => k.wait(10_000, abort.signal))).toBeLessThan(5_000);
    expect(added).toBe(removed);
  });
});
