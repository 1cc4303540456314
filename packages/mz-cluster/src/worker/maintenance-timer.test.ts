import { afterEach, describe, expect, it, vi } from "vitest";
import { MaintenanceTimer } from "./maintenance-timer.js";

/** A fake monotonic clock driven by vitest's fake timers. */
const clock = () => Date.now();

describe("MaintenanceTimer", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("is not armed at idle when the workload says nothing is due", async () => {
    vi.useFakeTimers();
    let runs = 0;
    const t = new MaintenanceTimer({
      intervalMs: 10,
      run: () => {
        runs++;
        return Number.POSITIVE_INFINITY;
      },
      now: clock,
    });
    expect(t.armed).toBe(false);
    t.request();
    expect(t.armed).toBe(true);
    await vi.advanceTimersByTimeAsync(1000);
    // One run for the one request, then nothing: no timer while idle.
    expect(runs).toBe(1);
    expect(t.armed).toBe(false);
    expect(vi.getTimerCount()).toBe(0);
    t.close();
  });

  it("runs a request after a quiet spell at once, not an interval later", async () => {
    vi.useFakeTimers();
    const at: number[] = [];
    const t = new MaintenanceTimer({
      intervalMs: 10,
      run: () => {
        at.push(Date.now());
        return Number.POSITIVE_INFINITY;
      },
      now: clock,
    });
    vi.setSystemTime(5_000);
    t.request();
    await vi.advanceTimersByTimeAsync(1);
    expect(at).toHaveLength(1);
    expect(at[0]! - 5_000).toBeLessThanOrEqual(1);
    t.close();
  });

  it("runs at most once per interval under a stream of requests", async () => {
    vi.useFakeTimers();
    vi.setSystemTime(0);
    const at: number[] = [];
    const t = new MaintenanceTimer({
      intervalMs: 10,
      run: () => {
        at.push(Date.now());
        return Number.POSITIVE_INFINITY;
      },
      now: clock,
    });
    for (let ms = 0; ms < 50; ms++) {
      t.request();
      await vi.advanceTimersByTimeAsync(1);
    }
    await vi.advanceTimersByTimeAsync(20);
    // At most one run per 10 ms, each as soon as allowed.
    expect(at).toHaveLength(6);
    for (let i = 1; i < at.length; i++) expect(at[i]! - at[i - 1]!).toBeGreaterThanOrEqual(10);
    t.close();
  });

  it("runs again when due (the workload's delay) without being asked", async () => {
    vi.useFakeTimers();
    vi.setSystemTime(0);
    const at: number[] = [];
    const t = new MaintenanceTimer({
      intervalMs: 10,
      run: () => {
        at.push(Date.now());
        // The next log interval boundary (1 s).
        return 1000 - (Date.now() % 1000);
      },
      now: clock,
    });
    vi.setSystemTime(250);
    t.request();
    await vi.advanceTimersByTimeAsync(3000);
    expect(at).toHaveLength(4);
    expect(at.slice(1)).toEqual([1000, 2000, 3000]);
    t.close();
    await vi.advanceTimersByTimeAsync(3000);
    expect(at).toHaveLength(4);
  });

  it("keeps the fixed cadence for a workload whose maintain returns nothing", async () => {
    vi.useFakeTimers();
    vi.setSystemTime(0);
    let runs = 0;
    const t = new MaintenanceTimer({
      intervalMs: 10,
      run: () => {
        runs++;
      },
      now: clock,
    });
    t.request();
    await vi.advanceTimersByTimeAsync(95);
    expect(runs).toBe(10);
    t.close();
  });

  it("a request runs after the immediates queued with it (a step goes first)", async () => {
    const order: string[] = [];
    const t = new MaintenanceTimer({
      intervalMs: 10,
      run: () => {
        order.push("maintain");
        return Number.POSITIVE_INFINITY;
      },
    });
    // A command: asks for maintenance and a step, in that order.
    t.request();
    setImmediate(() => order.push("step"));
    await new Promise((r) => setTimeout(r, 20));
    expect(order).toEqual(["step", "maintain"]);
    t.close();
  });

  it("a request during a run is honoured an interval after it", async () => {
    vi.useFakeTimers();
    vi.setSystemTime(0);
    const at: number[] = [];
    let again = true;
    const t = new MaintenanceTimer({
      intervalMs: 10,
      run: () => {
        at.push(Date.now());
        if (again) {
          again = false;
          t.request();
        }
        return Number.POSITIVE_INFINITY;
      },
      now: clock,
    });
    t.request();
    await vi.advanceTimersByTimeAsync(100);
    expect(at).toHaveLength(2);
    expect(at[1]! - at[0]!).toBeGreaterThanOrEqual(10);
    t.close();
  });
});
