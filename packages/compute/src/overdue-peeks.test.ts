/**
 * The merge's guard against a peek left waiting for a worker's answer (`overdue-peeks.ts`): a
 * peek one worker never answers is reported once, after the threshold, naming that worker, and
 * counted; answered peeks, and the peeks of a connection that ended, never are. Fake timers.
 */
import type { ComputeCommand, ComputeResponse } from "@mzts/protocol";
import { Registry } from "prom-client";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ComputeResponseMerger, OVERDUE_DETAILS, type OverduePeeks as Report } from "./merge.js";
import { ComputeMetrics, METRIC } from "./metrics.js";
import { OverduePeeks } from "./overdue-peeks.js";

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

const peek = (uuid: string): ComputeCommand => ({
  kind: "peek",
  peek: {
    uuid,
    target: { kind: "index", id: "u2" },
    arity: 1,
    timestamp: 0n,
    mapFilterProject: { exprs: [], predicates: [], projection: [0] },
    finishing: { orderBy: [], offset: 0, project: [0] },
  },
});
const answer = (uuid: string): ComputeResponse => ({
  kind: "peekResponse",
  uuid,
  response: { kind: "rows", rows: [] },
});

async function overdueCount(registry: Registry): Promise<number> {
  const m = await registry.getSingleMetric(METRIC.overduePeeks)?.get();
  return m?.values[0]?.value ?? 0;
}

describe("OverduePeeks", () => {
  /** A guard over a pending set the test controls. */
  function guard(sweepMs = 1000) {
    const pending = new Set<string>();
    const seen: string[] = [];
    let calls = 0;
    const w = new OverduePeeks({
      sweepMs,
      pending: () => pending,
      onOverdue: (uuids) => {
        calls++;
        seen.push(...uuids);
      },
    });
    const add = (u: string) => {
      pending.add(u);
      w.observe();
    };
    return { pending, seen, w, add, calls: () => calls };
  }

  it("reports a peek pending over a whole interval once, all of a sweep's in one call", () => {
    const { pending, seen, add, calls: callCount } = guard();
    add("a");
    vi.advanceTimersByTime(1000); // first sweep: "a" may have been observed just before it
    expect(seen).toEqual([]);
    add("b");
    vi.advanceTimersByTime(1000);
    expect(seen).toEqual(["a"]);
    vi.advanceTimersByTime(1000);
    expect(seen).toEqual(["a", "b"]);
    vi.advanceTimersByTime(5000);
    expect(seen).toEqual(["a", "b"]);
    expect(callCount()).toBe(2);
    // Only reported peeks left: no timer left behind; a new peek starts the sweeps again.
    expect(vi.getTimerCount()).toBe(0);
    add("c");
    vi.advanceTimersByTime(2000);
    expect(seen).toEqual(["a", "b", "c"]);
    expect(pending.size).toBe(3);
  });

  it("never reports a peek answered within the interval, and stops sweeping when none is pending", () => {
    const { pending, seen, add } = guard();
    for (let i = 0; i < 100; i++) {
      add(`p${i}`);
      vi.advanceTimersByTime(30);
      pending.delete(`p${i}`);
    }
    vi.advanceTimersByTime(10_000);
    expect(seen).toEqual([]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("a peek observed after the sweeps stopped waits a whole interval again", () => {
    const { pending, seen, add } = guard();
    add("a");
    pending.delete("a");
    vi.advanceTimersByTime(5000);
    add("b");
    vi.advanceTimersByTime(1999);
    expect(seen).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(seen).toEqual(["b"]);
  });
});

describe("ComputeResponseMerger's overdue peeks", () => {
  it("counts and reports a peek one worker never answers; close() forgets the rest", async () => {
    const registry = new Registry();
    const seen: Report[] = [];
    const m = new ComputeResponseMerger(2, new ComputeMetrics(registry), {
      overduePeekMs: 1000,
      onOverdue: (p) => seen.push(p),
    });
    m.observeCommand(peek("ok"));
    m.observeCommand(peek("stuck"));
    expect(m.absorb(1, answer("ok"))).toEqual([]);
    expect(m.absorb(0, answer("ok"))).toHaveLength(1);
    expect(m.absorb(0, answer("stuck"))).toEqual([]);
    vi.advanceTimersByTime(2000);
    expect(seen).toEqual([
      { count: 1, peeks: [{ uuid: "stuck", missingParts: [1] }], waitedAtLeastMs: 1000 },
    ]);
    expect(await overdueCount(registry)).toBe(1);

    // Many at once: one report, its count all of them, its details the first few.
    for (let i = 0; i < 25; i++) m.observeCommand(peek(`many${i}`));
    vi.advanceTimersByTime(2000);
    expect(seen).toHaveLength(2);
    expect(seen[1]!.count).toBe(25);
    expect(seen[1]!.peeks).toHaveLength(OVERDUE_DETAILS);
    expect(seen[1]!.peeks[0]!.missingParts).toEqual([0, 1]);
    expect(await overdueCount(registry)).toBe(26);

    m.observeCommand(peek("orphan"));
    m.close();
    vi.advanceTimersByTime(10_000);
    expect(seen).toHaveLength(2);
    expect(vi.getTimerCount()).toBe(0);
  });
});
