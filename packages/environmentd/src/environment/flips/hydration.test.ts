/**
 * The hydration rule (`hydration.ts`) on the unified path: every live compute export counts,
 * also one the replica has not reported on yet (a successor that built nothing yet is not
 * hydrated; before, only the exports it had reported on were looked at, so a fresh successor
 * counted as hydrated at once and a roll retired the replica it replaced before it served).
 */
import type { ClusterController, CollectionFrontiers } from "@mzts/controller-unified/state";
import type { Frontier, GlobalId } from "@mzts/repr";
import { describe, expect, it } from "vitest";
import { hydrationOf, markHydration } from "./hydration.js";

/** A unified controller's hydration surface: two exports, since 5, written up to 10. */
function unified(reported: Map<GlobalId, Frontier>): ClusterController {
  const exports = ["u20", "u21"];
  const fake = {
    path: "unified",
    replicaFrontiers: () => reported,
    computeExports: () => exports,
    hasCollection: (id: GlobalId) => exports.includes(id),
    frontiers: (): CollectionFrontiers => ({ since: 5n, write: 10n, reported: true }),
  };
  return fake as unknown as ClusterController;
}

describe("hydration on the unified path", () => {
  it("an export the replica has not reported on is pending", () => {
    const reported = new Map<GlobalId, Frontier>();
    const c = unified(reported);
    const mark = markHydration(c, "u1");
    expect(hydrationOf(c, "u1", mark)).toEqual({
      hydrated: false,
      pending: ["u20", "u21"],
      total: 2,
    });
    reported.set("u20", 10n);
    expect(hydrationOf(c, "u1", mark)).toEqual({ hydrated: false, pending: ["u21"], total: 2 });
    // Beyond the as-of (since) but short of the frontier seen at the mark: still pending.
    reported.set("u21", 7n);
    expect(hydrationOf(c, "u1", mark).pending).toEqual(["u21"]);
    reported.set("u21", null);
    expect(hydrationOf(c, "u1", mark)).toEqual({ hydrated: true, pending: [], total: 2 });
  });
});
