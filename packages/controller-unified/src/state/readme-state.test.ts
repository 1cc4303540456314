/**
 * The README's `ClusterState` snippet, run as a test (style §12): keep it in sync with README.md.
 */
import { describe, expect, it } from "vitest";
import { ClusterState } from "./index.js";
import { indexedView, ingestion } from "./testdata/objects.js";

const logging = { enabled: false, intervalMs: 1000, logLogging: false, indexLogs: new Map() };

describe("README: ClusterState", () => {
  it("runs the snippet", () => {
    const state = new ClusterState({
      clusterId: "u1",
      generation: 1n,
      logging,
      compactionWindowMs: 2n,
    });
    const epoch = state.addReplica("u1");
    expect(epoch).toBe(1);
    expect(state.replay("u1").length).toBeGreaterThan(0);
    state.createIngestion("u10", ingestion("u11"));
    state.createDataflow(indexedView("u20", 0n, ["u11"]));
    state.absorb("u1", epoch, {
      kind: "storage",
      response: { kind: "frontierUpper", id: "u11", upper: 10n },
    });
    state.absorb("u1", epoch, {
      kind: "compute",
      response: { kind: "frontiers", id: "u20", frontiers: { write: 10n, input: 10n } },
    });
    expect(state.frontiers("u20")).toEqual({ since: 8n, write: 10n, reported: true });
    expect([...state.holds("u11")]).toEqual([
      ["policy", 8n],
      ["dependant:u20", 8n],
    ]);
    expect(state.takeOutbox().at(-1)).toEqual({
      command: { kind: "compute", command: { kind: "allowCompaction", id: "u20", frontier: 8n } },
    });
    expect(state.tick(1_000).downgrades).toEqual([
      { id: "u11", shardId: "shard-u11", since: 8n, heartbeat: false },
    ]);
  });
});
