/**
 * `ReplicaIntrospectionCollections` against a real persist (files under /tmp): subscribe batches
 * land with the replica id prepended, a replica's rows are retracted (at or above the upper, in
 * order with appends issued around it), boot keeps only live replicas, and a batch arriving
 * after a retraction is forwarded to the upper instead of being refused.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createPersist, type PersistClient, type Shard } from "@mzts/persist";
import pino from "pino";
import { Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import {
  PERSISTED_INTROSPECTION,
  type PersistedIntrospection,
  ReplicaIntrospectionCollections,
} from "./replica-collections.js";

let dir: string | undefined;
let persist: PersistClient | undefined;
afterEach(async () => {
  await persist?.close();
  persist = undefined;
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

async function open(now: () => number, fenced?: () => Promise<boolean>) {
  dir = await mkdtemp(join(tmpdir(), "persisted-intro-"));
  persist = await createPersist({
    dataDir: dir,
    logger: pino({ level: "silent" }),
    registry: new Registry(),
  });
  const shards = new Map<PersistedIntrospection, Shard>();
  for (const r of PERSISTED_INTROSPECTION)
    shards.set(r, await persist.openShard(`intro-${r}`, { create: true }));
  return {
    shards,
    c: new ReplicaIntrospectionCollections({ shards, now, ...(fenced ? { fenced } : {}) }),
  };
}

describe("persisted per-replica introspection", () => {
  it("prepends the replica id, retracts a replica's rows in order, keeps the others", async () => {
    let ms = 5000;
    const { c, shards } = await open(() => ms);
    await c.append("hydration_times", "u1", [[["u7", 0n, null], 1000n, 1]], 2001n);
    await c.append("hydration_times", "u2", [[["u7", 0n, 12n], 2000n, 1]], 2001n);
    await c.append("error_counts", "u1", [[["u7", 0n, 3n], 2000n, 1]], 3001n);
    expect(await c.read("hydration_times")).toEqual([
      ["u1", "u7", 0n, null],
      ["u2", "u7", 0n, 12n],
    ]);
    // u1 hydrates (its batch), then goes away; both issued without waiting: applied in order.
    const hydrated = c.append(
      "hydration_times",
      "u1",
      [
        [["u7", 0n, null], 3000n, -1],
        [["u7", 0n, 40n], 3000n, 1],
      ],
      3001n,
    );
    const gone = c.retract("u1");
    await Promise.all([hydrated, gone]);
    expect(await c.read("hydration_times")).toEqual([["u2", "u7", 0n, 12n]]);
    expect(await c.read("error_counts")).toEqual([]);
    expect(await shards.get("hydration_times")!.upper()).toBe(5001n);
    // A late batch of u2 at a time below the upper is forwarded to it, not refused.
    ms = 6000;
    await c.append("compute_frontiers", "u2", [[["u7", 0n, 9n], 100n, 1]], 101n);
    await c.append(
      "hydration_times",
      "u2",
      [
        [["u7", 0n, 12n], 4000n, -1],
        [["u7", 0n, 13n], 4000n, 1],
      ],
      4001n,
    );
    expect(await c.read("hydration_times")).toEqual([["u2", "u7", 0n, 13n]]);
    // Boot: only u3 exists now (u2 was dropped while environmentd was down).
    await c.append("hydration_times", "u3", [[["u8", 1n, 1n], 5500n, 1]], 5501n);
    await c.retainOnly(new Set(["u3"]));
    expect(await c.read("hydration_times")).toEqual([["u3", "u8", 1n, 1n]]);
    expect(await c.read("compute_frontiers")).toEqual([]);
  });

  it("retracts nothing once a newer environmentd booted", async () => {
    let fenced = false;
    const { c } = await open(
      () => 5000,
      async () => fenced,
    );
    await c.append("hydration_times", "u1", [[["u7", 0n, 1n], 1000n, 1]], 1001n);
    fenced = true; // the newer environmentd now writes u1's rows
    await c.retract("u1");
    await c.retainOnly(new Set());
    expect(await c.read("hydration_times")).toEqual([["u1", "u7", 0n, 1n]]);
    fenced = false;
    await c.retract("u1");
    expect(await c.read("hydration_times")).toEqual([]);
  });
});
