/**
 * Issue 16: both compute replica tasks (legacy and unified) send the commands they are given
 * during one event-loop turn in one stream message — 256 concurrent API peeks were 2 × 256
 * request messages per replica (each peek, then its cancel). The check is the seam's own
 * (`@mzts/controller-unified/testing`).
 */
import { measureCoalescing } from "@mzts/controller-unified/testing";
import { describe, expect, it } from "vitest";
import { connectLegacyComputeReplica, connectUnifiedComputeReplica } from "../src/index.js";

describe("compute replica tasks coalesce one turn's commands", () => {
  for (const [name, connector] of [
    ["legacy", connectLegacyComputeReplica],
    ["unified", connectUnifiedComputeReplica],
  ] as const) {
    it(`${name}: 20 sends in one turn leave in one message`, async () => {
      const report = await measureCoalescing(connector, 20);
      expect(report.commands).toBe(20);
      expect(report.messages).toBe(1);
    });
  }
});
