/**
 * `ShardSinceHolds` while the store is unavailable: a registration that fails with
 * `StorageUnavailable` (here: the worker's `openShard`, failing a few times like a persist client
 * whose consensus open hit SQLITE_BUSY) is retried with backoff, so the leases that joined before
 * it end protected (before, each gave up at the first failure — "no since handle at or below a
 * source import's as-of … registering failed" — and its reader went on unprotected). A lease
 * released during the retries stops waiting, the last one stops the retries, and the genuine
 * give-up (the shard's since is beyond the as-of) stays. Real persist on a temp directory.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createPersist, type Shard, StorageUnavailable } from "@mzts/persist";
import { Frontier } from "@mzts/repr";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { ShardSinceHolds, sourceHoldIds } from "./shard-since-holds.js";

const SHARD = "s1";
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
});

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A persist client and `SHARD`, and holds whose `openShard` fails while `unavailable > 0`. */
async function setup(unavailable: number) {
  const dir = await mkdtemp(join(tmpdir(), "mzts-compute-holds-"));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const persist = await createPersist({ dataDir: dir, pollIntervalMs: 5 });
  cleanups.push(() => persist.close());
  const shard = await persist.openShard(SHARD, { create: true });
  const lines: string[] = [];
  const logger = pino({ level: "warn" }, { write: (l: string) => lines.push(l) });
  const state = { unavailable, opens: 0 };
  const holds = new ShardSinceHolds({
    replicaId: "r1",
    worker: 0,
    logger,
    downgradeIntervalMs: 10,
    openShard: async (id: string) => {
      state.opens++;
      if (state.unavailable-- > 0) {
        throw new StorageUnavailable("consensus", "open", new Error("database is locked"));
      }
      return persist.openShard(id);
    },
  });
  return { shard, holds, lines, state };
}

async function computeReaders(shard: Shard): Promise<string[]> {
  return Object.keys((await shard.info()).readers)
    .filter((r) => r.startsWith("compute:"))
    .sort();
}

/** Whether `p` settled within `ms`. */
async function settles(p: Promise<unknown>, ms: number): Promise<boolean> {
  return Promise.race([p.then(() => true), sleep(ms).then(() => false)]);
}

describe("ShardSinceHolds while the store is unavailable", () => {
  it("retries a registration that failed with StorageUnavailable; the lease ends protected", async () => {
    const { shard, holds, lines, state } = await setup(3);
    const lease = holds.join(SHARD, 0n);
    await lease.ready;
    // Before: ready settled after the first failure, with no handle.
    expect(lease.handleSince).toBe(0n);
    expect(lease.readerId).toBe(sourceHoldIds("r1", 0)[0]);
    expect(await computeReaders(shard)).toEqual(sourceHoldIds("r1", 0).slice(0, 1));
    expect(state.opens).toBe(4);
    expect(lines.filter((l) => l.includes("storage unavailable); retrying"))).toHaveLength(3);
    expect(lines.join("\n")).not.toContain("no since handle at or below");
    // It holds: the since follows the lease, not beyond.
    lease.advance(5n);
    await shard.compareAndAppend([[[1n], 0n, 1]], 0n, 10n);
    const ctrl = await shard.openSinceHandle("controller");
    await ctrl.downgradeSince(9n);
    const deadline = Date.now() + 3000;
    while (!Frontier.lessEqual(5n, lease.handleSince ?? null) && Date.now() < deadline) {
      await sleep(5);
    }
    expect(lease.handleSince).toBe(5n);
    expect((await shard.info()).since).toBe(5n);
    await lease.release();
    expect(await computeReaders(shard)).toEqual([]);
  });

  it("leases that join during the retries share them and all end protected", async () => {
    const { holds, state } = await setup(4);
    const first = holds.join(SHARD, 0n);
    await sleep(20);
    const second = holds.join(SHARD, 0n);
    await Promise.all([first.ready, second.ready]);
    expect(first.handleSince).toBe(0n);
    expect(second.handleSince).toBe(0n);
    expect(state.opens).toBe(5);
    await Promise.all([first.release(), second.release()]);
  });

  it("a lease released during the retries stops waiting; the others wait on, then are held", async () => {
    const { holds, state } = await setup(1_000_000);
    const gone = holds.join(SHARD, 0n);
    const stays = holds.join(SHARD, 0n);
    await sleep(50);
    expect(state.opens).toBeGreaterThan(1);
    void gone.release();
    expect(await settles(gone.ready, 1000)).toBe(true);
    expect(await settles(stays.ready, 50)).toBe(false);
    state.unavailable = 0;
    expect(await settles(stays.ready, 3000)).toBe(true);
    expect(stays.handleSince).toBe(0n);
    await stays.release();
  });

  it("the last lease released stops the retries", async () => {
    const { holds, state } = await setup(1_000_000);
    const lease = holds.join(SHARD, 0n);
    await sleep(50);
    await lease.release();
    expect(await settles(lease.ready, 1000)).toBe(true);
    expect(lease.handleSince).toBeUndefined();
    const opens = state.opens;
    await sleep(100);
    expect(state.opens).toBe(opens);
    expect(holds.size).toBe(0);
  });

  it("control: a shard whose since is beyond the as-of still gives up (no retry)", async () => {
    const { shard, holds, lines, state } = await setup(0);
    await shard.compareAndAppend([[[1n], 0n, 1]], 0n, 20n);
    const ctrl = await shard.openSinceHandle("controller");
    await ctrl.downgradeSince(15n);
    const lease = holds.join(SHARD, 4n);
    expect(await settles(lease.ready, 3000)).toBe(true);
    expect(lease.handleSince).toBe(15n);
    expect(state.opens).toBe(1);
    expect(lines.join("\n")).toContain("no since handle at or below");
    await lease.release();
  });
});
