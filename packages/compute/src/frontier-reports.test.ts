import type { FrontiersUpdate } from "@mzts/protocol";
import type { Frontier, GlobalId } from "@mzts/repr";
import { describe, expect, it } from "vitest";
import { type CurrentFrontiers, FrontierReports } from "./frontier-reports.js";

/** Exports' current frontiers, and what a report sent; counts the look-ups. */
function harness() {
  const now = new Map<GlobalId, { write?: Frontier; input?: Frontier; output?: Frontier }>();
  const sent: Array<[GlobalId, FrontiersUpdate]> = [];
  let lookups = 0;
  const reports = new FrontierReports();
  const report = () => {
    sent.length = 0;
    reports.report(
      (id, out: CurrentFrontiers) => {
        lookups++;
        const f = now.get(id);
        if (f === undefined) return false;
        out.write = f.write;
        out.input = f.input;
        out.output = f.output;
        return true;
      },
      [],
      (id, f) => sent.push([id, f]),
    );
    return [...sent];
  };
  return { now, reports, report, lookups: () => lookups };
}

describe("FrontierReports", () => {
  it("reports touched collections once each, only what advanced, never below the as-of", () => {
    const h = harness();
    h.reports.track("u1", 5n);
    h.now.set("u1", { write: 3n, input: 5n, output: 3n });
    // Below the lower: only the input frontier is reportable.
    expect(h.report()).toEqual([["u1", { input: 5n }]]);
    // Not touched: not looked at.
    h.now.set("u1", { write: 6n, input: 6n, output: 6n });
    expect(h.report()).toEqual([]);
    expect(h.lookups()).toBe(1);
    h.reports.touch("u1");
    h.reports.touch("u1");
    expect(h.report()).toEqual([["u1", { write: 6n, input: 6n, output: 6n }]]);
    expect(h.lookups()).toBe(2);
    // Touched with nothing advanced: looked at, nothing sent.
    h.reports.touch("u1");
    h.now.set("u1", { write: 6n, input: 7n, output: 6n });
    expect(h.report()).toEqual([["u1", { input: 7n }]]);
    h.reports.touch("nope");
    expect(h.report()).toEqual([]);
  });

  it("reports the empty frontiers of a dropped collection once, and forgets it", () => {
    const h = harness();
    h.reports.track("u1", 0n);
    h.now.set("u1", { write: 1n, input: 1n, output: 1n });
    h.reports.touch("u1");
    h.reports.drop("u1", true);
    expect(h.report()).toEqual([["u1", { write: null, input: null, output: null }]]);
    expect(h.lookups()).toBe(0);
    h.reports.touch("u1");
    expect(h.report()).toEqual([]);
    // Tracked anew (reconciliation): its next report is a first one again.
    h.reports.track("u1", 0n);
    expect(h.report()).toEqual([["u1", { write: 1n, input: 1n, output: 1n }]]);
    h.reports.drop("u1", false);
    expect(h.report()).toEqual([]);
  });
});
