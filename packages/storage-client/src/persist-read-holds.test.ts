import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createPersist, type PersistClient } from "@mzts/persist";
import type { Update } from "@mzts/repr";
import pino from "pino";
import { Registry } from "prom-client";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CollectionMissing, ReadHoldBelowSince } from "./errors.js";
import { PersistReadHolds } from "./persist-read-holds.js";

let dir: string;
let persist: PersistClient;
let holds: PersistReadHolds;
const logger = pino({ level: "silent" });

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "mzts-read-holds-"));
  persist = await createPersist({ dataDir: dir, compactAfterBatches: 4 });
});
afterEach(async () => {
  await holds?.close();
  await persist.close();
  rmSync(dir, { recursive: true, force: true });
});

let registry = new Registry();

/** `mz_storage_collection_read_holds` of `id` (the policy hold counts one). */
async function holdCount(id: string): Promise<number | undefined> {
  const m = await registry.getSingleMetric("mz_storage_collection_read_holds")?.get();
  return m?.values.find((v) => v.labels.collection_id === id)?.value;
}

function make(window = 10n, extra: { maintenanceEveryMs?: number } = {}): PersistReadHolds {
  registry = new Registry();
  holds = new PersistReadHolds({
    persist,
    readerId: "environmentd",
    compactionWindowMs: window,
    tickMs: 0,
    logger,
    registry,
    ...extra,
  });
  return holds;
}

/** Appends one row per time in [from, to) (a batch each). */
async function write(shardId: string, from: bigint, to: bigint): Promise<void> {
  const shard = await persist.openShard(shardId, { create: true });
  for (let t = from; t < to; t++) {
    const u: Update = [[t], t, 1];
    await shard.compareAndAppend([u], t, t + 1n);
  }
}

describe("PersistReadHolds", () => {
  it("hands a handle off without expiring it: the next owner re-attaches it at its since", async () => {
    const h = make(10n);
    await h.register("u1", "s1");
    await write("s1", 0n, 50n);
    await h.tick();
    expect(h.appliedSince("u1")).toBe(40n);
    await h.handOff("u1");
    expect(h.has("u1")).toBe(false);
    const shard = await persist.openShard("s1");
    // Still registered (an expired reader would be gone), its since where the tracker left it.
    expect(Object.keys((await shard.info()).readers)).toEqual(["environmentd"]);
    expect(await shard.since()).toBe(40n);
    // Ticks after the hand-off leave it alone; the next owner re-attaches at the same since.
    await write("s1", 50n, 80n);
    await h.tick();
    expect(await shard.since()).toBe(40n);
    expect((await shard.openSinceHandle("environmentd")).since).toBe(40n);
    // unregister (a drop) does expire it.
    await h.register("u1", "s1");
    await h.unregister("u1");
    expect(Object.keys((await shard.info()).readers)).toEqual([]);
  });

  it("trails the upper by the window and compacts the shard's batches", async () => {
    const h = make(10n);
    expect(await h.register("u1", "s1")).toBe(0n);
    await write("s1", 0n, 100n);
    await h.tick();
    expect(h.upper("u1")).toBe(100n);
    expect(h.since("u1")).toBe(90n);
    expect(h.appliedSince("u1")).toBe(90n);
    const shard = await persist.openShard("s1");
    expect(await shard.since()).toBe(90n);
    await shard.maintenance();
    // 100 one-row batches below and around the since were merged: far fewer blobs remain.
    const blobs = readdirSync(join(dir, "blob", "s1"));
    expect(blobs.length).toBeLessThan(30);
    // Reads at the since see every row; below it they are refused.
    expect((await shard.snapshot(90n)).length).toBe(91);
    await expect(shard.snapshot(50n)).rejects.toThrow(/since/i);
  });

  it("holds keep the since back; downgrade and release let it move", async () => {
    const h = make(10n);
    await h.register("u1", "s1");
    await write("s1", 0n, 20n);
    expect(await holdCount("u1")).toBe(1);
    const hold = h.acquire("u1", 5n);
    // Counted at once, not only when the since moves.
    expect(await holdCount("u1")).toBe(2);
    await h.tick();
    expect(h.since("u1")).toBe(5n);
    expect(await (await persist.openShard("s1")).since()).toBe(5n);
    hold.downgrade(3n); // never back: stays at 5
    expect(hold.frontier).toBe(5n);
    hold.downgrade(8n);
    expect(h.since("u1")).toBe(8n);
    hold.release();
    expect(await holdCount("u1")).toBe(1);
    expect(h.since("u1")).toBe(10n);
    await h.tick();
    expect(await (await persist.openShard("s1")).since()).toBe(10n);
  });

  it("advancePolicy raises the since at once; the tick applies it once the upper passes it", async () => {
    const h = make(10n);
    await h.register("u1", "s1");
    const below = h.acquire("u1", 0n);
    expect(h.advancePolicy("u1", 25n)).toBe(0n); // a reader below keeps it back
    below.release();
    expect(h.since("u1")).toBe(25n);
    expect(() => h.acquire("u1", 24n)).toThrow(ReadHoldBelowSince);
    expect(h.advancePolicy("u1", 3n)).toBe(25n); // never back
    // Not written yet: persist's since cannot pass the upper.
    await h.tick();
    const shard = await persist.openShard("s1");
    expect(await shard.since()).toBe(0n);
    await write("s1", 0n, 30n);
    await h.tick();
    expect(await shard.since()).toBe(25n);
    // The window moves it on from there, never back below it.
    await write("s1", 30n, 40n);
    await h.tick();
    expect(h.since("u1")).toBe(30n);
    expect(() => h.advancePolicy("u9", 1n)).toThrow(CollectionMissing);
  });

  it("refuses a hold below the since and unknown ids, each with its error", async () => {
    const h = make(10n);
    await h.register("u1", "s1");
    await write("s1", 0n, 50n);
    await h.tick();
    expect(() => h.acquire("u1", 39n)).toThrow(ReadHoldBelowSince);
    expect(() => h.acquire("u1", 39n)).toThrow(/compacted to \[40\]/);
    expect(() => h.acquire("u9", 0n)).toThrow(CollectionMissing);
    expect(h.acquire("u1", 40n).frontier).toBe(40n);
  });

  it("a restarted controller re-attaches to its handle and keeps the since", async () => {
    const h = make(10n);
    await h.register("u1", "s1");
    await write("s1", 0n, 30n);
    await h.tick();
    await h.close();
    const again = make(10n);
    expect(await again.register("u1", "s1")).toBe(20n);
    const shard = await persist.openShard("s1");
    expect(Object.keys((await shard.info()).readers)).toHaveLength(1);
  });

  it("unregister expires the handle", async () => {
    const h = make(10n);
    await h.register("u1", "s1");
    await write("s1", 0n, 30n);
    await h.tick();
    await h.unregister("u1");
    expect(h.has("u1")).toBe(false);
    expect(() => h.since("u1")).toThrow(CollectionMissing);
    const shard = await persist.openShard("s1");
    expect(Object.keys((await shard.info()).readers)).toHaveLength(0);
  });
});
