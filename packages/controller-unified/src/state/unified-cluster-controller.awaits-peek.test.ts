/**
 * Issue 16 in phase 5: what the unified driver tells a replica incarnation's connections about
 * peek answers (`awaitsPeek`), as compute-client's instance does for the legacy state. An answer
 * is awaited while its peek is pending in the cluster state — from every replica it went to, a
 * targeted one from its target only — and never after the first answer settled it (phase 5
 * compares no paths), never after a timeout, never for an unknown uuid, never from a stale
 * incarnation. A current incarnation's dropped answer is still counted in
 * `mz_compute_responses_total` (as a delivered one would be); a stale one's is not.
 */
import type { ComputeResponse } from "@mzts/protocol";
import { Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import { indexedView, ingestion } from "./testdata/objects.js";
import { flush } from "./testdata/scenario.js";
import { type UnifiedCluster, unifiedCluster } from "./testdata/unified-cluster.js";

const twoPort = {
  layout: "two-port",
  computeUrl: "http://127.0.0.1:1",
  storageUrl: "http://127.0.0.1:2",
} as const;
const UNKNOWN = "0f9a44f2-5b1e-4c4f-9a55-3c1c7d0b8e21";

let open: UnifiedCluster[] = [];
afterEach(async () => {
  for (const u of open) await u.controller.close();
  open = [];
});

/** Replicas u1 and u2 connected, source u10 (u11) and index u20 over u11 at 0. */
async function setup(): Promise<UnifiedCluster & { registry: Registry }> {
  const registry = new Registry();
  const u = unifiedCluster(0n, 0, 60_000, { metrics: { registry } });
  open.push(u);
  const c = u.controller;
  c.addReplica("u1", twoPort);
  c.addReplica("u2", twoPort);
  await flush();
  await c.openShards([{ id: "u11", shardId: "shard-u11" }]);
  c.createIngestion("u10", ingestion("u11"));
  c.createDataflow(indexedView("u20", 0n, ["u11"]));
  return { ...u, registry };
}

const awaits = (u: UnifiedCluster, replicaId: string, uuid: string) =>
  u.computeFake.current(replicaId)?.opts.awaitsPeek?.(uuid);

function lastPeek(u: UnifiedCluster, replicaId: string): string {
  const p = u.computeFake
    .current(replicaId)
    ?.sent.filter((x) => x.kind === "peek")
    .at(-1);
  if (p?.kind !== "peek") throw new Error(`no peek sent to ${replicaId}`);
  return p.peek.uuid;
}

const rows = (uuid: string): ComputeResponse => ({
  kind: "peekResponse",
  uuid,
  response: { kind: "rows", rows: [[[1n], 1]] },
});

async function peekResponses(registry: Registry, replicaId: string): Promise<number> {
  const m = await registry.getSingleMetric("mz_compute_responses_total")?.get();
  const v = m?.values.find(
    (x) => x.labels.replica_id === replicaId && x.labels.response_type === "peekResponse",
  );
  return v?.value ?? 0;
}

describe("UnifiedClusterController: awaitsPeek", () => {
  it("awaits a pending peek from every replica, and nothing after the first answer", async () => {
    const u = await setup();
    const answer = u.controller.peek({ target: "u20", timestamp: 1n });
    const uuid = lastPeek(u, "u1");
    expect(lastPeek(u, "u2")).toBe(uuid);
    expect(awaits(u, "u1", uuid)).toBe(true);
    expect(awaits(u, "u2", uuid)).toBe(true);
    u.computeFake.respond("u1", [rows(uuid)]);
    expect(await answer).toEqual({ rows: [[[1n], 1]], replicaId: "u1" });
    // u2's answer is no longer awaited: its task drops it undecoded; it is counted all the same.
    const before = await peekResponses(u.registry, "u2");
    expect(awaits(u, "u2", uuid)).toBe(false);
    expect(await peekResponses(u.registry, "u2")).toBe(before + 1);
    expect(awaits(u, "u1", uuid)).toBe(false);
    expect(awaits(u, "u1", UNKNOWN)).toBe(false);
  });

  it("a targeted peek is awaited from its target only; a timed-out one from nobody", async () => {
    const u = await setup();
    const targeted = u.controller.peek({ target: "u20", timestamp: 1n, targetReplica: "u2" });
    const uuid = lastPeek(u, "u2");
    expect(awaits(u, "u2", uuid)).toBe(true);
    expect(awaits(u, "u1", uuid)).toBe(false);
    u.computeFake.respond("u2", [rows(uuid)]);
    await targeted;
    await expect(
      u.controller.peek({ target: "u20", timestamp: 1n, timeoutMs: 5 }),
    ).rejects.toThrow();
    const timedOut = lastPeek(u, "u1");
    expect(awaits(u, "u1", timedOut)).toBe(false);
    expect(awaits(u, "u2", timedOut)).toBe(false);
  });

  it("never awaits an answer from a stale incarnation (and does not count it)", async () => {
    const u = await setup();
    const answer = u.controller.peek({ target: "u20", timestamp: 1n });
    const uuid = lastPeek(u, "u2");
    const old = u.computeFake.current("u2");
    if (old === undefined) throw new Error("no incarnation of u2");
    u.computeFake.fail("u2", "connection reset");
    await flush();
    const next = u.computeFake.current("u2");
    expect(next?.epoch).toBe(old.epoch + 1);
    expect(old.opts.awaitsPeek?.(uuid)).toBe(false);
    expect(await peekResponses(u.registry, "u2")).toBe(0);
    // The pending peek is still awaited from u1 and from u2's current incarnation.
    expect(awaits(u, "u1", uuid)).toBe(true);
    expect(next?.opts.awaitsPeek?.(uuid)).toBe(true);
    u.computeFake.respond("u1", [rows(uuid)]);
    await answer;
  });
});
