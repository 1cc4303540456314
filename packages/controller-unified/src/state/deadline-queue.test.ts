/**
 * `DeadlineQueue` (issue 16): one timer for many deadlines — each fires once, no earlier than its
 * duration minus `DEADLINE_RESOLUTION_MS`, in order; a canceled one never fires; deadlines of
 * several durations interleave by time; an idle queue holds no timer.
 */
import { describe, expect, it, vi } from "vitest";
import { DEADLINE_RESOLUTION_MS, DeadlineQueue } from "./deadline-queue.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("DeadlineQueue", () => {
  it("fires each deadline once, not early, in order; canceled ones never", async () => {
    const q = new DeadlineQueue();
    const start = performance.now();
    const fired: [string, number][] = [];
    const at = (name: string) => () => fired.push([name, performance.now() - start]);
    q.add(30, at("a30"));
    const b = q.add(30, at("b30"));
    q.add(10, at("c10"));
    q.add(50, at("d50"));
    q.add(30, at("e30"));
    expect(q.size).toBe(5);
    b.cancel();
    b.cancel(); // twice: no effect
    expect(q.size).toBe(4);
    await vi.waitFor(() => expect(fired.length).toBe(4), { timeout: 2000 });
    await sleep(30);
    expect(fired.map(([n]) => n)).toEqual(["c10", "a30", "e30", "d50"]);
    for (const [name, t] of fired) {
      expect(t, name).toBeGreaterThanOrEqual(Number(name.slice(1)) - DEADLINE_RESOLUTION_MS);
    }
    expect(q.size).toBe(0);
  });

  it("arms one timer for many deadlines and clears it once they are all canceled", () => {
    const setTimeoutSpy = vi.spyOn(globalThis, "setTimeout");
    const clearTimeoutSpy = vi.spyOn(globalThis, "clearTimeout");
    try {
      const q = new DeadlineQueue();
      const ds = Array.from({ length: 1000 }, () => q.add(10_000, () => {}));
      expect(setTimeoutSpy).toHaveBeenCalledTimes(1);
      const timer = setTimeoutSpy.mock.results[0]!.value;
      for (const d of ds.slice(0, 999)) d.cancel();
      expect(clearTimeoutSpy).not.toHaveBeenCalledWith(timer);
      ds[999]!.cancel();
      expect(q.size).toBe(0);
      // An idle queue holds no timer (a ref'd one would keep the process alive).
      expect(clearTimeoutSpy).toHaveBeenCalledWith(timer);
    } finally {
      setTimeoutSpy.mockRestore();
      clearTimeoutSpy.mockRestore();
    }
  });

  it("a deadline added from a firing one fires too; a sooner one re-arms the timer", async () => {
    const q = new DeadlineQueue();
    const fired: string[] = [];
    q.add(20, () => {
      fired.push("first");
      q.add(5, () => fired.push("added"));
    });
    q.add(60_000, () => fired.push("late"));
    q.add(2, () => fired.push("sooner"));
    await vi.waitFor(() => expect(fired).toEqual(["sooner", "first", "added"]), {
      timeout: 2000,
    });
    q.clear();
    await sleep(5);
    expect(q.size).toBe(0);
  });
});
