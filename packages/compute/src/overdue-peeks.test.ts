/**
 * The merge's guard against a peek left waiting for a worker's answer (`overdue-peeks.ts`): a
 * peek one worker never answers is reported once, after the threshold, naming that worker, and
 * counted; answered peeks, and the peeks of a connection that ended, never are. Fake timers.
 */
import type { ComputeCommand, ComputeResponse } from "@mzts/protocol";
import { Registry } from "prom-client";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ComputeResponseMerger } from "./merge.js";
import { ComputeMetrics, METRIC } from "./metrics.js";
import { type OverduePeek, OverduePeeks } from "./overdue-peeks.js";

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
  it("reports a peek pending over a whole interval once, with the parts not answered", () => {
    const seen: OverduePeek[] = [];
    const w = new OverduePeeks({ parts: 3, sweepMs: 1000, onOverdue: (p) => seen.push(p) });
    w.observe("a");
    w.answered("a", 0);
    w.answered("a", 2);
    vi.advanceTimersByTime(1000); // first sweep: "a" may have been observed just before it
    expect(seen).toEqual([]);
    vi.advanceTimersByTime(1000);
    expect(seen).toEqual([{ uuid: "a", missingParts: [1], waitedAtLeastMs: 1000 }]);
    vi.advanceTimersByTime(5000);
    expect(seen).toHaveLength(1);
    expect(w.pending).toBe(0);
    // Nothing pending: no timer left behind.
    expect(vi.getTimerCount()).toBe(0);
  });

  it("never reports an answered peek, and stops sweeping when nothing is pending", () => {
    const seen: OverduePeek[] = [];
    const w = new OverduePeeks({ parts: 2, sweepMs: 1000, onOverdue: (p) => seen.push(p) });
    for (let i = 0; i < 100; i++) {
      w.observe(`p${i}`);
      vi.advanceTimersByTime(30);
      w.done(`p${i}`);
    }
    vi.advanceTimersByTime(10_000);
    expect(seen).toEqual([]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("a peek observed after the sweeps stopped waits a whole interval again", () => {
    const seen: OverduePeek[] = [];
    const w = new OverduePeeks({ parts: 1, sweepMs: 1000, onOverdue: (p) => seen.push(p) });
    w.observe("a");
    w.done("a");
    vi.advanceTimersByTime(5000);
    w.observe("b");
    vi.advanceTimersByTime(1999);
    expect(seen).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(seen.map((p) => p.uuid)).toEqual(["b"]);
  });
});

describe("ComputeResponseMerger's overdue peeks", () => {
  it("counts and reports a peek one worker never answers; close() forgets the rest", async () => {
    const registry = new Registry();
    const seen: OverduePeek[] = [];
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
    expect(seen).toEqual([{ uuid: "stuck", missingParts: [1], waitedAtLeastMs: 1000 }]);
    expect(await overdueCount(registry)).toBe(1);

    m.observeCommand(peek("orphan"));
    m.close();
    vi.advanceTimersByTime(10_000);
    expect(seen).toHaveLength(1);
    expect(vi.getTimerCount()).toBe(0);
  });
});
