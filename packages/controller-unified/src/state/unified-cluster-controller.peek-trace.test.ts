/**
 * A traced peek through the unified cluster controller (issue 16): its `issued` and `answered`
 * stages are marked, in order (the unified replica tasks mark no `written`/`replied`; the trace
 * skips them).
 */
import { afterEach, describe, expect, it } from "vitest";
import { PeekStageIndex, PeekTrace } from "./peek-trace.js";
import { unifiedCluster, withReadableIndex } from "./testdata/unified-cluster.js";
import type { UnifiedClusterController } from "./unified-cluster-controller.js";

let open: UnifiedClusterController[] = [];
afterEach(async () => {
  for (const c of open) await c.close();
  open = [];
});

describe("UnifiedClusterController: a traced peek", () => {
  it("marks issued, then answered", async () => {
    const u = unifiedCluster(2n, 0, 60_000, { reportSent: true });
    const { controller: c, computeFake: compute } = u;
    open.push(c);
    await withReadableIndex(u);
    const trace = new PeekTrace();
    const peeked = c.peek({ target: "u20", timestamp: 4n, trace });
    const issued = trace.at[PeekStageIndex.issued]!;
    expect(issued).toBeGreaterThan(0);
    expect(trace.at[PeekStageIndex.answered]).toBe(0);
    const sent = compute.current("u1")?.sent.find((x) => x.kind === "peek");
    if (sent?.kind !== "peek") throw new Error("no peek");
    compute.respond("u1", [
      { kind: "peekResponse", uuid: sent.peek.uuid, response: { kind: "rows", rows: [] } },
    ]);
    await peeked;
    expect(trace.at[PeekStageIndex.answered]).toBeGreaterThanOrEqual(issued);
  });
});
