/**
 * Issue 16: what an instance tells its replica tasks about peek answers (`awaitsPeek`): an answer
 * is awaited while its peek is pending (from every replica it went to) and, in a migrating
 * cluster, while the other path's answer is compared; never after the first answer settled it,
 * never for an unknown uuid, never from a stale incarnation. A dropped answer is still counted
 * in `mz_compute_responses_total` (as a delivered one would be); one from a stale incarnation is
 * not (it never was).
 */
import type { ComputeResponse } from "@mzts/protocol";
import pino from "pino";
import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { createComputeController, type PathSplit } from "../src/index.js";
import {
  type FakeReplicas,
  fakeReplicas,
  lastPeek,
  respond,
  withIndexOnTwoReplicas,
} from "./fake-replicas.js";

async function setup(pathSplit?: PathSplit) {
  const fake = fakeReplicas();
  const registry = new Registry();
  const c = createComputeController({
    generation: 1n,
    logger: pino({ level: "silent" }),
    registry,
    compactionWindowMs: 0n,
  });
  c.createInstance(
    "c1",
    { enabled: false, intervalMs: 1000, logLogging: false, indexLogs: new Map() },
    {
      connector: fake.connector,
      ...(pathSplit === undefined ? {} : { pathSplit: () => pathSplit }),
    },
  );
  await withIndexOnTwoReplicas(c, fake);
  return { c, fake, registry };
}

const awaits = (fake: FakeReplicas, replicaId: string, uuid: string) =>
  fake.of(replicaId).opts.awaitsPeek?.(uuid);

const canceled = (uuid: string): ComputeResponse => ({
  kind: "peekResponse",
  uuid,
  response: { kind: "canceled" },
});
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

describe("awaitsPeek", () => {
  it("awaits a pending peek from every replica, and nothing after the first answer", async () => {
    const { c, fake, registry } = await setup();
    const answer = c.peek("c1", { target: "u31", timestamp: 5n });
    const uuid = lastPeek(fake, "u1");
    expect(awaits(fake, "u1", uuid)).toBe(true);
    expect(awaits(fake, "u2", uuid)).toBe(true);
    respond(fake, "u1", [rows(uuid)]);
    await answer;
    // u2's answer is no longer awaited: its task drops it undecoded; it is counted all the same.
    const before = await peekResponses(registry, "u2");
    expect(awaits(fake, "u2", uuid)).toBe(false);
    expect(await peekResponses(registry, "u2")).toBe(before + 1);
    expect(awaits(fake, "u1", "0f9a44f2-5b1e-4c4f-9a55-3c1c7d0b8e21")).toBe(false); // unknown
    await c.close();
  });

  it("never awaits an answer from a stale incarnation (and does not count it)", async () => {
    const { c, fake, registry } = await setup();
    const answer = c.peek("c1", { target: "u31", timestamp: 5n, timeoutMs: 5000 });
    const uuid = lastPeek(fake, "u2");
    const old = fake.of("u2");
    old.opts.onFailed(old.opts.epoch, new Error("connection reset"));
    expect(old.opts.awaitsPeek?.(uuid)).toBe(false);
    expect(await peekResponses(registry, "u2")).toBe(0);
    // The pending peek is still awaited from u1 (and from u2's next incarnation, once it exists).
    expect(awaits(fake, "u1", uuid)).toBe(true);
    respond(fake, "u1", [canceled(uuid)]);
    await expect(answer).rejects.toThrow();
    await c.close();
  });

  it("awaits the other path's answer while a migrating cluster compares it", async () => {
    const { c, fake } = await setup({
      phase: "servers",
      authoritative: "legacy",
      compare: true,
      slotOf: (r) => (r === "u1" ? "legacy" : r === "u2" ? "unified" : undefined),
      timeoutMs: 5000,
    });
    const answer = c.peek("c1", { target: "u31", timestamp: 5n });
    const uuid = lastPeek(fake, "u1");
    respond(fake, "u1", [rows(uuid)]);
    await answer; // the caller is settled …
    expect(awaits(fake, "u2", uuid)).toBe(true); // … and u2's answer is still wanted
    respond(fake, "u2", [rows(uuid)]);
    expect(awaits(fake, "u2", uuid)).toBe(false); // compared: done
    await c.close();
  });

  it("counts every response of a message by kind (one increment per kind and message)", async () => {
    const { c, fake, registry } = await setup();
    const count = async (kind: string) => {
      const m = await registry.getSingleMetric("mz_compute_responses_total")?.get();
      return (
        m?.values.find((x) => x.labels.replica_id === "u1" && x.labels.response_type === kind)
          ?.value ?? 0
      );
    };
    const frontiers0 = await count("frontiers");
    const answer = c.peek("c1", { target: "u31", timestamp: 5n });
    const uuid = lastPeek(fake, "u1");
    const f = (t: bigint): ComputeResponse => ({
      kind: "frontiers",
      id: "u31",
      frontiers: { write: t, input: t, output: t },
    });
    respond(fake, "u1", [f(6n), f(7n), rows(uuid), f(8n)]);
    await answer;
    expect(await count("frontiers")).toBe(frontiers0 + 3);
    expect(await peekResponses(registry, "u1")).toBe(1);
    await c.close();
  });
});
