import { afterEach, describe, expect, it, vi } from "vitest";
import { MaintenanceTimer } from "./maintenance-timer.js";

/**
 * A timer (10 ms interval) on vitest's fake clock whose runs are recorded (`at`: `Date.now()` of
 * each); `due` is what each run returns (default: nothing periodic).
 */
function recorded(due: () => number | undefined = () => Number.POSITIVE_INFINITY) {
  vi.useFakeTimers();
  vi.setSystemTime(0);
  const at: number[] = [];
  const timer = new MaintenanceTimer({
    intervalMs: 10,
    run: () => {
      at.push(Date.now());
      return due();
    },
    now: () => Date.now(),
  });
  return { at, timer };
}

/**
 * A timer on the real clock that records its runs in `order` (with whatever the test adds);
 * `maintained` settles at its first run. Tests wait on that run, not on a wall-clock allowance: a
 * loaded machine can let any fixed timeout expire before the run's check phase comes.
 */
function ordered() {
  const order: string[] = [];
  let ran = () => {};
  const maintained = new Promise<void>((r) => {
    ran = r;
  });
  const timer = new MaintenanceTimer({
    intervalMs: 10,
    run: () => {
      order.push("maintain");
      ran();
      return Number.POSITIVE_INFINITY;
    },
  });
  return { order, timer, maintained };
}

describe("MaintenanceTimer", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("is not armed at idle when the workload says nothing is due", async () => {
    const { at, timer } = recorded();
    expect(timer.armed).toBe(false);
    timer.request();
    expect(timer.armed).toBe(true);
    await vi.advanceTimersByTimeAsync(1000);
    // One run for the one request, then nothing: no timer while idle.
    expect(at).toHaveLength(1);
    expect(timer.armed).toBe(false);
    expect(vi.getTimerCount()).toBe(0);
    timer.close();
  });

  it("runs a request after a quiet spell at once, not an interval later", async () => {
    const { at, timer } = recorded();
    vi.setSystemTime(5_000);
    timer.request();
    await vi.advanceTimersByTimeAsync(1);
    expect(at).toHaveLength(1);
    expect(at[0]! - 5_000).toBeLessThanOrEqual(1);
    timer.close();
  });

  it("reads no clock for a request while a run is armed within the interval (issue 16)", () => {
    vi.useFakeTimers();
    vi.setSystemTime(0);
    let reads = 0;
    let runs = 0;
    const timer = new MaintenanceTimer({
      intervalMs: 10,
      run: () => {
        runs++;
        return Number.POSITIVE_INFINITY;
      },
      now: () => {
        reads++;
        return Date.now();
      },
    });
    timer.request();
    vi.runAllTimers();
    expect(runs).toBe(1);
    // Within the interval after a run: the first request arms a run 10 ms after the last one …
    vi.setSystemTime(2);
    const before = reads;
    timer.request();
    expect(timer.armed).toBe(true);
    const armingReads = reads - before;
    // … and the next ones cannot make it earlier: no clock read, same single run.
    for (let i = 0; i < 100; i++) timer.request();
    expect(reads - before).toBe(armingReads);
    vi.advanceTimersByTime(10);
    expect(runs).toBe(2);
    timer.close();
  });

  it("runs at most once per interval under a stream of requests", async () => {
    const { at, timer } = recorded();
    for (let ms = 0; ms < 50; ms++) {
      timer.request();
      await vi.advanceTimersByTimeAsync(1);
    }
    await vi.advanceTimersByTimeAsync(20);
    // At most one run per 10 ms, each as soon as allowed.
    expect(at).toHaveLength(6);
    for (let i = 1; i < at.length; i++) expect(at[i]! - at[i - 1]!).toBeGreaterThanOrEqual(10);
    timer.close();
  });

  it("runs again when due (the workload's delay) without being asked", async () => {
    // The next log interval boundary (1 s).
    const { at, timer } = recorded(() => 1000 - (Date.now() % 1000));
    vi.setSystemTime(250);
    timer.request();
    await vi.advanceTimersByTimeAsync(3000);
    expect(at).toHaveLength(4);
    expect(at.slice(1)).toEqual([1000, 2000, 3000]);
    timer.close();
    await vi.advanceTimersByTimeAsync(3000);
    expect(at).toHaveLength(4);
  });

  it("keeps the fixed cadence for a workload whose maintain returns nothing", async () => {
    const { at, timer } = recorded(() => undefined);
    timer.request();
    await vi.advanceTimersByTimeAsync(95);
    expect(at).toHaveLength(10);
    timer.close();
  });

  it("a request runs after the immediates queued with it (a step goes first)", async () => {
    const { order, timer, maintained } = ordered();
    // A command: asks for maintenance and a step, in that order.
    timer.request();
    setImmediate(() => order.push("step"));
    await maintained;
    expect(order).toEqual(["step", "maintain"]);
    timer.close();
  });

  it("a step goes first also when the turn is slow and the request comes from an immediate", async () => {
    // A 0 ms timeout would run first here: the request is made in the check phase and the turn
    // outlasts the timer's millisecond, so the next timers phase comes before the next immediates.
    for (let round = 0; round < 20; round++) {
      const { order, timer, maintained } = ordered();
      await new Promise<void>((resolve) =>
        setImmediate(() => {
          timer.request();
          setImmediate(() => order.push("step"));
          const until = performance.now() + 2;
          while (performance.now() < until) {
            // a busy turn (a loaded machine)
          }
          resolve();
        }),
      );
      await maintained;
      expect(order).toEqual(["step", "maintain"]);
      timer.close();
    }
  });

  it("a request during a run is honoured an interval after it", async () => {
    let again = true;
    const { at, timer } = recorded(() => {
      if (again) {
        again = false;
        timer.request();
      }
      return Number.POSITIVE_INFINITY;
    });
    timer.request();
    await vi.advanceTimersByTimeAsync(100);
    expect(at).toHaveLength(2);
    expect(at[1]! - at[0]!).toBeGreaterThanOrEqual(10);
    timer.close();
  });
});
