/**
 * The compute controller behind the `ReplicaConnection` seam: each instance (cluster) connects its
 * replicas through the connector it was created with (no controller default), hands it the
 * replica's compute URL, and discards responses of a replaced incarnation (epoch).
 */
import type { ComputeResponse } from "@mzts/protocol";
import { dataflowDesc } from "@mzts/protocol/testing/compute-commands";
import { pino } from "pino";
import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { type ComputeReplicaConnector, createComputeController } from "../src/index.js";

type Options = Parameters<ComputeReplicaConnector>[0];

function fakeConnector() {
  const incarnations: Options[] = [];
  const connector: ComputeReplicaConnector = (opts) => {
    incarnations.push(opts);
    queueMicrotask(() => opts.onConnected(opts.epoch));
    return { epoch: opts.epoch, state: "connected", send: () => {}, close: async () => {} };
  };
  return { connector, incarnations };
}

const LOGGING = { enabled: false, intervalMs: 1000, logLogging: false, indexLogs: new Map() };

describe("compute controller behind the replica seam", () => {
  it("connects each instance through its own connector and drops stale epochs", async () => {
    const c = createComputeController({
      generation: 1n,
      logger: pino({ level: "silent" }),
      registry: new Registry(),
    });
    const a = fakeConnector();
    const b = fakeConnector();
    try {
      c.createInstance("c1", LOGGING, { connector: a.connector });
      c.createInstance("c2", LOGGING, { connector: b.connector });
      c.addReplica("c1", "u1", { computeUrl: "http://c1-u1" });
      c.addReplica("c2", "u2", { computeUrl: "http://c2-u2" });
      expect(a.incarnations.map((o) => [o.instanceId, o.replicaId, o.location()])).toEqual([
        ["c1", "u1", "http://c1-u1"],
      ]);
      expect(b.incarnations.map((o) => [o.instanceId, o.replicaId, o.location()])).toEqual([
        ["c2", "u2", "http://c2-u2"],
      ]);
      c.createDataflow("c1", dataflowDesc(["u10"], 0n));
      const first = a.incarnations[0];
      if (first === undefined) throw new Error("no incarnation");
      const frontier = (write: bigint): ComputeResponse => ({
        kind: "frontiers",
        id: "u10",
        frontiers: { write },
      });
      first.onResponses(1, [frontier(5n)]);
      expect(c.frontiers("u10").write).toBe(5n);
      first.onFailed(1, new Error("stream ended")); // rehydrated at once: epoch 2
      expect(a.incarnations.map((o) => o.epoch)).toEqual([1, 2]);
      first.onResponses(1, [frontier(50n)]); // the old incarnation: discarded
      expect(c.frontiers("u10").write).toBe(5n);
      expect(b.incarnations).toHaveLength(1); // the other cluster is untouched
    } finally {
      await c.close();
    }
  });
});
