/**
 * The compute instance with a connector that carries a rehydration policy (the unified task's,
 * phase 3): the policy decides when the next incarnation starts — at once after the first
 * failure, crash loops backed off by its own numbers — and removing the replica cancels a pending
 * respawn. Without one (the legacy tasks), the instance's own policy applies (`seam.test.ts`).
 */
import { createRehydrationPolicy } from "@mzts/controller-unified/replicas";
import { pino } from "pino";
import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import {
  type ComputeReplicaConnector,
  connectUnifiedComputeReplica,
  createComputeController,
} from "../src/index.js";

type Options = Parameters<ComputeReplicaConnector>[0];
const LOGGING = { enabled: false, intervalMs: 1000, logLogging: false, indexLogs: new Map() };

describe("compute instance with the unified rehydration policy", () => {
  it("is what the unified compute connector carries", () => {
    expect(connectUnifiedComputeReplica.rehydration).toBeDefined();
  });

  it("follows the connector's policy and cancels it when the replica goes", async () => {
    const incarnations: Options[] = [];
    const fake: ComputeReplicaConnector = (opts) => {
      incarnations.push(opts);
      queueMicrotask(() => opts.onConnected(opts.epoch));
      return { epoch: opts.epoch, state: "connected", send: () => {}, close: async () => {} };
    };
    const connector = Object.assign(fake, {
      // 300 ms pauses: distinguishable from the legacy policy's 125 ms.
      rehydration: createRehydrationPolicy(
        { quickFailureMs: 60_000, backoff: { initialMs: 300, maxMs: 300, jitter: 0 } },
        { random: () => 0 },
      ),
    });
    const c = createComputeController({
      generation: 1n,
      logger: pino({ level: "silent" }),
      registry: new Registry(),
    });
    try {
      c.createInstance("c1", LOGGING, { connector });
      c.addReplica("c1", "u1", { computeUrl: "http://c1-u1" });
      incarnations[0]?.onFailed(1, new Error("stream ended"));
      expect(incarnations.map((o) => o.epoch)).toEqual([1, 2]); // at once
      incarnations[1]?.onFailed(2, new Error("stream ended"));
      await new Promise((r) => setTimeout(r, 200));
      expect(incarnations).toHaveLength(2); // the legacy policy would have respawned by now
      await new Promise((r) => setTimeout(r, 200));
      expect(incarnations.map((o) => o.epoch)).toEqual([1, 2, 3]);
      incarnations[2]?.onFailed(3, new Error("stream ended"));
      await c.dropReplica("c1", "u1");
      await new Promise((r) => setTimeout(r, 400));
      expect(incarnations).toHaveLength(3);
    } finally {
      await c.close();
    }
  });
});
