/**
 * `PersistReadHolds` under churn: environmentd killed every few seconds, never living one
 * maintenance interval (a chaos run: 241 kills in 25 minutes). Each boot opens the holds,
 * re-attaches, ticks a few times while the source writes, and dies without unregistering. The
 * shard's since must keep moving (a dead replica incarnation's reader expires when its lease
 * runs out) and its blobs stay bounded.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createPersist, type PersistClient } from "@mzts/persist";
import { Frontier } from "@mzts/repr";
import pino from "pino";
import { Registry } from "prom-client";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { PersistReadHolds } from "./persist-read-holds.js";

const logger = pino({ level: "silent" });
const LEASE_MS = 15_000;
let dir: string;
let persist: PersistClient;
/** Persist's wall clock (leases, blob ages), advanced by the test. */
let clock = 1_000_000_000;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "mzts-read-holds-churn-"));
  clock = 1_000_000_000;
  persist = await createPersist({
    dataDir: dir,
    now: () => clock,
    readerLeaseMs: LEASE_MS,
    orphanGraceMs: 5_000,
  });
});
afterEach(async () => {
  await persist.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("PersistReadHolds across short-lived environmentd boots", () => {
  it("the since advances, dead readers expire and blobs stay bounded", async () => {
    const shard = await persist.openShard("bids", { create: true });
    // A replica incarnation that died: registered at 0, never heard of again.
    await shard.openSinceHandle("compute:u2:u5:u9:w0");
    // A blob of a writer that died between writing it and committing it.
    const orphan = `bids/${clock - 60_000}-deadbeef`;
    await persist.blob.set(orphan, Uint8Array.of(1));
    let upper = 0n;
    const blobCounts: number[] = [];
    for (let boot = 0; boot < 40; boot++) {
      const holds = new PersistReadHolds({
        persist,
        readerId: "environmentd",
        compactionWindowMs: 1000n,
        tickMs: 0,
        logger,
        registry: new Registry(),
      });
      await holds.register("u1", "bids");
      // This incarnation lives three seconds: a batch a second, a tick after each.
      for (let i = 0; i < 3; i++) {
        await shard.compareAndAppend([[[upper], upper, 1]], upper, upper + 1000n);
        upper += 1000n;
        clock += 1000;
        await holds.tick();
      }
      await holds.close(); // killed: nothing unregistered
      blobCounts.push((await persist.blob.list("bids/")).length);
    }
    const info = await shard.info();
    expect(Object.keys(info.readers)).toEqual(["environmentd"]);
    // The policy hold trails the upper by the window; the durable since follows it.
    expect(Frontier.lessEqual(upper - 2000n, info.since)).toBe(true);
    expect(await persist.blob.list("bids/")).not.toContain(orphan);
    // 120 batches were written; compaction keeps far fewer, and the count does not grow.
    expect(Math.max(...blobCounts.slice(20))).toBeLessThan(20);
    expect(info.batches.length).toBeLessThan(20);
  });

  it("a boot shorter than the maintenance interval still runs maintenance", async () => {
    await persist.openShard("s", { create: true });
    const orphan = `s/${clock - 60_000}-0123abcd`;
    await persist.blob.set(orphan, Uint8Array.of(1));
    const holds = new PersistReadHolds({
      persist,
      readerId: "environmentd",
      tickMs: 0,
      maintenanceEveryMs: 60_000,
      logger,
      registry: new Registry(),
    });
    await holds.register("u1", "s");
    await holds.tick();
    await holds.close();
    expect(await persist.blob.list("s/")).not.toContain(orphan);
  });
});
