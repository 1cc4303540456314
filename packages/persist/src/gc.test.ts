/**
 * Bounded storage on the embedded default (SQLite + files): a steady workload keeps the blob
 * count, the data directory's bytes and the consensus history flat; dropping a shard leaves no
 * file of it; orphaned blobs are swept.
 */
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Update } from "@mzts/repr";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createPersist, type PersistClient } from "./client.js";
import { decodeState, encodeBatch } from "./codec.js";
import { filesUnder } from "./testdata/files.js";

let dir = "";
let client: PersistClient;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "mzts-persist-gc-"));
  client = await createPersist({ dataDir: dir, compactAfterBatches: 4 });
});
afterEach(async () => {
  await client.close();
  rmSync(dir, { recursive: true, force: true });
});

const bytesUnder = (d: string) => filesUnder(d).reduce((n, f) => n + statSync(join(d, f)).size, 0);

describe("garbage collection", () => {
  it("a steady workload keeps blobs, bytes and consensus history flat", async () => {
    const s = await client.openShard("steady", { create: true });
    const h = await s.openSinceHandle("follower");
    const samples: Array<{
      i: number;
      blobs: number;
      blobBytes: number;
      db: number;
      total: number;
      history: number;
    }> = [];
    for (let i = 0n; i < 400n; i++) {
      // Insert row i, retract row i-1: the collection always holds one row.
      const batch: Update[] = [[[i, "payload".repeat(20)], i, 1]];
      if (i > 0n) batch.push([[i - 1n, "payload".repeat(20)], i, -1]);
      await s.compareAndAppend(batch, i, i + 1n);
      await h.downgradeSince(i); // just behind the upper (i + 1)
      if (i % 25n === 24n) {
        const blobFiles = filesUnder(join(dir, "blob"));
        samples.push({
          i: Number(i),
          blobs: blobFiles.length,
          blobBytes: bytesUnder(join(dir, "blob")),
          db: statSync(join(dir, "consensus.sqlite")).size,
          total: bytesUnder(dir),
          history: (await client.consensus.scan("steady", 0n, 1000)).length,
        });
      }
    }
    const warm = samples.filter((x) => x.i >= 100);
    if (process.env.MZ_PERSIST_TEST_VERBOSE) console.table(samples);
    for (const x of warm) {
      expect(x.blobs, `blob files at ${x.i}`).toBeLessThanOrEqual(6);
      expect(x.blobBytes, `blob bytes at ${x.i}`).toBeLessThan(6 * 1024);
      expect(x.history, `consensus entries at ${x.i}`).toBeLessThanOrEqual(16);
      // The database file reuses freed pages; the WAL is capped by journal_size_limit (4 MiB)
      // and reset at checkpoints.
      expect(x.db, `db bytes at ${x.i}`).toBeLessThan(256 * 1024);
      expect(x.total, `data dir bytes at ${x.i}`).toBeLessThan(6 * 1024 * 1024);
    }
    expect((await s.snapshot(399n)).length).toBe(1);
  }, 30_000);

  it("a since held back keeps the blob count bounded, and every read stays exact", async () => {
    // A reader that never downgrades (a stalled subscribe's hold, issue 10): nothing lies below
    // the since, yet the tail beyond it is merged without advancing times.
    const s = await client.openShard("held", { create: true });
    await s.openSinceHandle("stalled");
    const listener = s.listen(0n);
    const expected: Update[] = [];
    const maxBlobs: number[] = [];
    for (let i = 0n; i < 300n; i++) {
      const batch: Update[] = [[[i % 7n, "x".repeat(40)], i, i % 3n === 0n ? -1 : 1]];
      expected.push(...batch);
      await s.compareAndAppend(batch, i, i + 1n);
      if (i % 20n === 19n) maxBlobs.push(filesUnder(join(dir, "blob")).length);
    }
    // Before: one blob per append (300). After: the tail is merged once it reaches 16 batches.
    expect(Math.max(...maxBlobs)).toBeLessThanOrEqual(40);
    const head = await client.consensus.head("held");
    const state = decodeState("held", head!.data);
    expect(state.since).toBe(0n);
    expect(state.batches.every((b) => b.since === undefined)).toBe(true);
    // Every time is still distinguishable: snapshots at any time and the listen are exact.
    for (const t of [0n, 57n, 150n, 299n]) {
      const want = new Map<bigint, number>();
      for (const [row, time, diff] of expected) {
        if (time <= t) want.set(row[0] as bigint, (want.get(row[0] as bigint) ?? 0) + diff);
      }
      const got = new Map<bigint, number>();
      for (const [row, time, diff] of await s.snapshot(t)) {
        expect(time).toBe(t);
        got.set(row[0] as bigint, (got.get(row[0] as bigint) ?? 0) + diff);
      }
      for (const [k, v] of [...want]) if (v === 0) want.delete(k);
      for (const [k, v] of [...got]) if (v === 0) got.delete(k);
      expect(got).toEqual(want);
    }
    const heard: Update[] = [];
    let lower = 0n;
    while (lower < 300n) {
      const { value } = await listener.next();
      expect(value!.lower).toBe(lower);
      heard.push(...value!.updates);
      lower = value!.upper as bigint;
    }
    listener.close();
    const key = (u: Update) => `${u[0][0]}@${u[1]}:${u[2]}`;
    expect(heard.map(key).sort()).toEqual(expected.map(key).sort());
  });

  it("dropping a shard leaves no file of it and truncates its history", async () => {
    const s = await client.openShard("doomed", { create: true });
    for (let i = 0n; i < 20n; i++) await s.compareAndAppend([[[i], i, 1]], i, i + 1n);
    // A leftover temp file of a crashed write in the shard's directory is removed too.
    writeFileSync(join(dir, "blob", "doomed", ".tmp-x-123"), "partial");
    // (No reader: the since stays 0, so the tail of 20 batches was merged, times kept.)
    expect(filesUnder(join(dir, "blob")).length).toBeGreaterThan(2);
    await client.dropShard("doomed");
    expect(filesUnder(join(dir, "blob"))).toEqual([]);
    expect(existsSync(join(dir, "blob", "doomed"))).toBe(false);
    expect((await client.consensus.scan("doomed", 0n, 100)).length).toBe(1);
  });

  it("maintenance sweeps orphaned blobs older than the grace period, not young ones", async () => {
    let now = 10_000_000;
    const c = await createPersist({ dataDir: dir, now: () => now, orphanGraceMs: 1000 });
    try {
      const s = await c.openShard("o", { create: true });
      await s.compareAndAppend([[[1n], 0n, 1]], 0n, 1n);
      // Blobs written by a writer that died before its compare-and-set.
      await c.blob.set(`o/${now - 5000}-deadbeef`, encodeBatch([[[9n], 5n, 1]]));
      await c.blob.set(`o/${now - 10}-cafe`, encodeBatch([[[9n], 5n, 1]]));
      const report = await s.maintenance();
      expect(report.deletedBlobs).toBe(1);
      const keys = await c.blob.list("o/");
      expect(keys).toHaveLength(2);
      expect(keys).toContain(`o/${now - 10}-cafe`);
      now += 2000;
      await s.maintenance();
      expect(await c.blob.list("o/")).toHaveLength(1);
      expect((await s.snapshot(0n)).length).toBe(1);
    } finally {
      await c.close();
    }
  });
});
