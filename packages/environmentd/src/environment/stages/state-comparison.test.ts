/**
 * `StateDivergences` (`state-comparison.ts`): a difference counts only when it outlives the
 * convergence window, once; a frontier the shadow trails by a moment never counts.
 */
import type { Frontier } from "@mzts/repr";
import { describe, expect, it } from "vitest";
import { itemsOf, StateDivergences, type StateSnapshot } from "./state-comparison.js";

const names = { a: "legacy", s: "unified" };

function snap(
  frontiers: Record<string, [since: Frontier, upper: Frontier] | "missing">,
  failures: Record<string, string> = {},
): StateSnapshot {
  return {
    collections: new Map(
      Object.entries(frontiers).map(([id, f]) => [
        id,
        f === "missing" ? "missing" : { since: f[0], upper: f[1] },
      ]),
    ),
    replicaFrontiers: new Map(),
    failures: new Map(Object.entries(failures)),
  };
}

describe("StateDivergences", () => {
  it("never counts a frontier the other side trails by less than the window", () => {
    const d = new StateDivergences(1000);
    for (let t = 0; t < 20; t++) {
      // The shadow reaches each value the authoritative had one tick (500 ms) before.
      const a = snap({ u1: [BigInt(t), BigInt(t + 1)] });
      const s = snap({ u1: [BigInt(Math.max(0, t - 1)), BigInt(t)] });
      const o = d.observe(t * 500, itemsOf(a, s), names);
      expect(o.inconsistent, `tick ${t}`).toEqual([]);
    }
  });

  it("counts a frontier that stays short of the leader's earlier value, once, until it converges", () => {
    const d = new StateDivergences(1000);
    const stuck = (t: number, upper: bigint) =>
      d.observe(t, itemsOf(snap({ u1: [0n, upper] }), snap({ u1: [0n, 3n] })), names);
    expect(stuck(0, 5n).inconsistent).toEqual([]);
    expect(stuck(500, 6n).inconsistent).toEqual([]);
    expect(stuck(1000, 7n).inconsistent).toEqual(["upper u1: legacy [7], unified [3]"]);
    expect(stuck(1500, 8n).inconsistent).toEqual([]); // reported once
    expect(stuck(1500, 8n).open).toBe(1);
    // Converged: equal again, nothing open.
    const o = d.observe(2000, itemsOf(snap({ u1: [0n, 9n] }), snap({ u1: [0n, 9n] })), names);
    expect(o).toEqual({ inconsistent: [], open: 0 });
  });

  it("counts a value difference (a collection or a failure on one side) after the window, once", () => {
    const d = new StateDivergences(1000);
    const a = snap({ u1: [0n, 1n] });
    const s = snap({ u1: "missing" }, { u2: "quarantined" });
    expect(d.observe(0, itemsOf(a, s), names).inconsistent).toEqual([]);
    expect(d.observe(999, itemsOf(a, s), names).inconsistent).toEqual([]);
    expect(d.observe(1000, itemsOf(a, s), names).inconsistent).toEqual([
      "collection u1: legacy live, unified missing",
      "failure u2: legacy none, unified quarantined",
    ]);
    expect(d.observe(5000, itemsOf(a, s), names).inconsistent).toEqual([]);
    // A transient difference that converged inside the window never counts.
    const e = new StateDivergences(1000);
    expect(e.observe(0, itemsOf(a, s), names).open).toBe(2);
    expect(e.observe(900, itemsOf(a, a), names)).toEqual({ inconsistent: [], open: 0 });
    expect(e.observe(1900, itemsOf(a, s), names).inconsistent).toEqual([]); // a new window
  });
});
