/**
 * The storage controller behind the `ReplicaConnection` seam, with in-memory connectors:
 * - each instance (cluster) connects its replicas through the connector it was created with;
 * - the replay is read when the stream opens, so commands sent while a replica connects are in it
 *   (and are not sent twice);
 * - a failed incarnation is replaced at the next maintenance with epoch + 1, and the metrics the
 *   legacy task used to count itself (connected gauge, connects, commands, responses) are counted
 *   by the controller for any connector;
 * - with a connector that carries a rehydration policy (the unified task's), the policy replaces
 *   the maintenance tick: at once, crash loops backed off; responses of older epochs are dropped;
 * - `reseatReplicas` (a live flip): every replica reconnects through the new connector.
 */
import { createRehydrationPolicy } from "@mzts/controller-unified/replicas";
import type { StorageCommand, StorageResponse } from "@mzts/protocol";
import { ingestionDescription } from "@mzts/protocol/testing/storage-commands";
import { pino } from "pino";
import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { createStorageController, type StorageReplicaConnector } from "../src/index.js";

type Options = Parameters<StorageReplicaConnector>[0];

/** A connector whose incarnations connect only when told to. */
function fakeConnector(name: string) {
  const incarnations: Array<{
    name: string;
    opts: Options;
    sent: StorageCommand[];
    connect(): void;
    respond(r: StorageResponse): void;
    fail(): void;
  }> = [];
  const connector: StorageReplicaConnector = (opts) => {
    let state: "connecting" | "connected" | "failed" | "closed" = "connecting";
    const sent: StorageCommand[] = [];
    incarnations.push({
      name,
      opts,
      sent,
      connect() {
        state = "connected";
        opts.onConnected(opts.epoch);
        for (const c of opts.replay()) {
          sent.push(c);
          opts.onCommandSent?.(c);
        }
      },
      respond: (r) => opts.onResponses(opts.epoch, [r]),
      fail() {
        state = "failed";
        opts.onFailed(opts.epoch, new Error("stream ended"));
      },
    });
    return {
      epoch: opts.epoch,
      get state() {
        return state;
      },
      send(commands) {
        if (state !== "connected") return;
        for (const c of commands) {
          sent.push(c);
          opts.onCommandSent?.(c);
        }
      },
      close: async () => {
        state = "closed";
      },
    };
  };
  return { connector, incarnations };
}

const value = async (registry: Registry, name: string) =>
  (await registry.getSingleMetric(name)?.get())?.values.reduce((a, v) => a + v.value, 0);

describe("storage controller behind the replica seam", () => {
  it("connects each instance through its own connector, replays what was sent while connecting", async () => {
    const registry = new Registry();
    const c = createStorageController({
      generation: 1n,
      logger: pino({ level: "silent" }),
      registry,
      maintenanceIntervalMs: 60_000,
    });
    const a = fakeConnector("a");
    const b = fakeConnector("b");
    try {
      c.createInstance("c1", { connector: a.connector });
      c.createInstance("c2", { connector: b.connector });
      c.addReplica("c1", "u1", { storageUrl: "http://c1-u1" });
      c.addReplica("c2", "u2", { storageUrl: "http://c2-u2" });
      expect(a.incarnations.map((i) => [i.opts.instanceId, i.opts.replicaId])).toEqual([
        ["c1", "u1"],
      ]);
      expect(b.incarnations.map((i) => [i.opts.instanceId, i.opts.replicaId])).toEqual([
        ["c2", "u2"],
      ]);
      expect(a.incarnations[0]?.opts.location()).toBe("http://c1-u1");

      // Sent while connecting: not queued, but in the replay read at connect.
      c.createIngestion("c1", "u10", ingestionDescription(["u10"]));
      const first = a.incarnations[0];
      if (first === undefined) throw new Error("no incarnation");
      expect(first.sent).toEqual([]);
      first.connect();
      expect(first.sent.map((s) => s.kind)).toEqual([
        "hello",
        "runIngestion",
        "initializationComplete",
        "allowWrites",
      ]);
      expect(c.replicas("c1")).toMatchObject([
        { replicaId: "u1", state: "connected", connects: 1 },
      ]);
      expect(await value(registry, "mz_storage_controller_connected_replica_count")).toBe(1);
      expect(await value(registry, "mz_storage_commands_total")).toBe(4);

      // Live after connect, exactly once.
      c.allowCompaction("u10", 5n);
      expect(first.sent.filter((s) => s.kind === "allowCompaction")).toHaveLength(1);
      first.respond({ kind: "frontierUpper", id: "u10", upper: 7n });
      expect(c.frontier("u10")).toBe(7n);
      expect(await value(registry, "mz_storage_responses_total")).toBe(1);

      // A failure: the replica waits for maintenance, then gets epoch + 1 with a fresh replay.
      first.fail();
      expect(c.replicas("c1")).toMatchObject([{ state: "failed" }]);
      expect(await value(registry, "mz_storage_controller_connected_replica_count")).toBe(0);
      c.rehydrateFailedReplicas();
      const second = a.incarnations[1];
      expect(second?.opts.epoch).toBe(2);
      second?.connect();
      expect(second?.sent.map((s) => s.kind)).toContain("runIngestion");
      first.respond({ kind: "frontierUpper", id: "u10", upper: 100n }); // stale: ignored
      expect(c.frontier("u10")).toBe(7n);
      expect(b.incarnations).toHaveLength(1); // the other cluster is untouched
    } finally {
      await c.close();
    }
    expect(await value(registry, "mz_storage_controller_connected_replica_count")).toBe(0);
  });
});

describe("storage controller with a connector that carries a rehydration policy", () => {
  it("rehydrates by the policy, not the tick, and drops responses of older epochs", async () => {
    const c = createStorageController({
      generation: 1n,
      logger: pino({ level: "silent" }),
      registry: new Registry(),
      maintenanceIntervalMs: 60_000,
    });
    const fake = fakeConnector("unified");
    const connector = Object.assign(fake.connector, {
      rehydration: createRehydrationPolicy(
        { quickFailureMs: 60_000, backoff: { initialMs: 200, maxMs: 200, jitter: 0 } },
        { random: () => 0 },
      ),
    });
    try {
      c.createInstance("c1", { connector });
      c.addReplica("c1", "u1", { storageUrl: "http://c1-u1" });
      c.createIngestion("c1", "u10", ingestionDescription(["u10"]));
      const first = fake.incarnations[0];
      first?.connect();
      first?.respond({ kind: "frontierUpper", id: "u10", upper: 7n });
      expect(c.frontier("u10")).toBe(7n);
      // The first failure: the next incarnation at once, no maintenance needed.
      first?.fail();
      const second = fake.incarnations[1];
      expect(second?.opts.epoch).toBe(2);
      second?.connect();
      expect(second?.sent.map((s) => s.kind)).toContain("runIngestion");
      // An older epoch's responses are dropped, even through the current incarnation's callback.
      second?.opts.onResponses(1, [{ kind: "frontierUpper", id: "u10", upper: 100n }]);
      expect(c.frontier("u10")).toBe(7n);
      second?.respond({ kind: "frontierUpper", id: "u10", upper: 8n });
      expect(c.frontier("u10")).toBe(8n);
      // A second quick failure is a crash loop: backed off, and the tick does not bypass it.
      second?.fail();
      c.rehydrateFailedReplicas();
      expect(fake.incarnations).toHaveLength(2);
      expect(c.replicas("c1")).toMatchObject([{ state: "failed" }]);
      await new Promise((r) => setTimeout(r, 300));
      expect(fake.incarnations.map((i) => i.opts.epoch)).toEqual([1, 2, 3]);
      // Dropping the replica cancels a pending respawn.
      fake.incarnations[2]?.connect();
      fake.incarnations[2]?.fail();
      await c.dropReplica("c1", "u1");
      await new Promise((r) => setTimeout(r, 300));
      expect(fake.incarnations).toHaveLength(3);
    } finally {
      await c.close();
    }
  });
});

describe("storage controller reseated on a new connector (a live flip)", () => {
  it("gives every replica its next incarnation through the new connector; ingestions stay", async () => {
    const c = createStorageController({
      generation: 1n,
      logger: pino({ level: "silent" }),
      registry: new Registry(),
      maintenanceIntervalMs: 60_000,
    });
    const legacy = fakeConnector("legacy");
    const unified = fakeConnector("unified");
    try {
      c.createInstance("c1", { connector: legacy.connector });
      c.addReplica("c1", "u1", { storageUrl: "http://c1-u1" });
      c.addReplica("c1", "u2", { storageUrl: "http://c1-u2" });
      c.createIngestion("c1", "u10", ingestionDescription(["u10"]));
      for (const i of legacy.incarnations) i.connect();
      legacy.incarnations[0]?.respond({ kind: "frontierUpper", id: "u10", upper: 7n });

      await c.reseatReplicas("c1", unified.connector);
      expect(unified.incarnations.map((i) => [i.opts.replicaId, i.opts.epoch])).toEqual([
        ["u1", 2],
        ["u2", 2],
      ]);
      // The next incarnation replays the ingestion; the old ones' responses no longer count.
      for (const i of unified.incarnations) i.connect();
      expect(unified.incarnations[0]?.sent.map((s) => s.kind)).toContain("runIngestion");
      legacy.incarnations[0]?.respond({ kind: "frontierUpper", id: "u10", upper: 100n });
      expect(c.frontier("u10")).toBe(7n); // never backward, the stale answer ignored
      unified.incarnations[0]?.respond({ kind: "frontierUpper", id: "u10", upper: 9n });
      expect(c.frontier("u10")).toBe(9n);
      // Later failures respawn through the new connector.
      unified.incarnations[1]?.fail();
      c.rehydrateFailedReplicas();
      expect(unified.incarnations.map((i) => i.opts.epoch)).toEqual([2, 2, 3]);
      expect(legacy.incarnations).toHaveLength(2);
    } finally {
      await c.close();
    }
  });
});
