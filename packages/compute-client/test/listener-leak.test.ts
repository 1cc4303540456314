/**
 * Issue 10: the legacy compute replica task must not pile up abort listeners while a replica is
 * unreachable (one per connect attempt or pause raised `MaxListenersExceededWarning` after about
 * a dozen replica kills). The check is the seam's own (`@mzts/controller-unified/testing`).
 */
import { measureAbortListeners } from "@mzts/controller-unified/testing";
import { describe, expect, it } from "vitest";
import { connectLegacyComputeReplica } from "../src/index.js";

describe("legacy compute replica task", () => {
  it("leaves no abort listeners behind across many failed connect attempts", async () => {
    const report = await measureAbortListeners(connectLegacyComputeReplica, 25);
    expect(report.attempts).toBeGreaterThanOrEqual(25);
    expect(report.state).toBe("connecting");
    expect(report.mostListeners).toBeLessThanOrEqual(2);
  });
});
