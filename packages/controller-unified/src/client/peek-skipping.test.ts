/**
 * Issue 16 on the phase 4 cluster stream: a compute connection riding the replica's ONE
 * `ClusterService.Control` stream (`createClusterStreams().compute`) drops the compute peek
 * answers its instance no longer awaits before decoding them, and still fails the incarnation on
 * a malformed answer that is awaited — the seam's own check (`measurePeekSkipping`), with a
 * replica serving the plain `ClusterService` (a real replica's wire).
 */
import { MalformedResponse } from "@mzts/protocol";
import { describe, expect, it } from "vitest";
import { AWAITED_PEEK, measurePeekSkipping, UNAWAITED_PEEK } from "../testing/peek-skipping.js";
import { createClusterStreams } from "./cluster-streams.js";

describe("the cluster stream drops unawaited compute peek answers undecoded", () => {
  it("skips the unreadable unawaited answer, fails on the awaited one", async () => {
    const streams = createClusterStreams();
    const report = await measurePeekSkipping(streams.compute, 10_000, "cluster");
    expect(report.asked).toEqual([AWAITED_PEEK, UNAWAITED_PEEK, AWAITED_PEEK]);
    expect(report.delivered).toEqual([
      [
        { kind: "peekResponse", uuid: AWAITED_PEEK, response: { kind: "canceled" } },
        { kind: "frontiers", id: "u1", frontiers: { write: 1n } },
      ],
    ]);
    expect(report.failure).toBeInstanceOf(MalformedResponse);
    expect(report.failure?.message).toMatch(/responses\[0\]\.compute\.peekResponse\.rows/);
    expect(streams.replicaIds()).toEqual([]); // the stream closed with its last member
  });
});
