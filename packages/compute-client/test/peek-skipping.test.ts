/**
 * Issue 16: both compute replica tasks (legacy and unified) drop the peek answers their instance
 * no longer awaits before decoding them — the losing replica's answer of every peek — and still
 * fail on a malformed answer that is awaited. The check is the seam's own
 * (`@mzts/controller-unified/testing`); the wire is the plain `ComputeService` (a real replica's).
 */
import {
  AWAITED_PEEK,
  measurePeekSkipping,
  UNAWAITED_PEEK,
} from "@mzts/controller-unified/testing";
import { MalformedResponse } from "@mzts/protocol";
import { describe, expect, it } from "vitest";
import { connectLegacyComputeReplica, connectUnifiedComputeReplica } from "../src/index.js";

describe("compute replica tasks drop unawaited peek answers undecoded", () => {
  for (const [name, connector] of [
    ["legacy", connectLegacyComputeReplica],
    ["unified", connectUnifiedComputeReplica],
  ] as const) {
    it(`${name}: skips the unreadable unawaited answer, fails on the awaited one`, async () => {
      const report = await measurePeekSkipping(connector);
      expect(report.asked).toEqual([AWAITED_PEEK, UNAWAITED_PEEK, AWAITED_PEEK]);
      expect(report.delivered).toEqual([
        [
          { kind: "peekResponse", uuid: AWAITED_PEEK, response: { kind: "canceled" } },
          { kind: "frontiers", id: "u1", frontiers: { write: 1n } },
        ],
      ]);
      expect(report.failure).toBeInstanceOf(MalformedResponse);
      expect(report.failure?.message).toMatch(/responses\[0\]\.peekResponse\.rows/);
    });
  }
});
