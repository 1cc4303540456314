/**
 * `WorkerShards` opens the worker's persist client on first use; an open that failed is not
 * kept: once the store can be opened, the next shard open succeeds (before, every later open of
 * that worker got the first failure again, and each of its dataflows stalled). A persist peek
 * waiting for its shard's upper ends when canceled (`cancelPeek`, `cancelPeeks`), and is
 * forgotten once answered.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { StorageUnavailable } from "@mzts/persist";
import type { Peek } from "@mzts/protocol";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { WorkerShards } from "./worker-shards.js";

let dir = "";
afterEach(() => {
  if (dir !== "") rmSync(dir, { recursive: true, force: true });
});

describe("WorkerShards", () => {
  it("does not keep a persist client whose open failed: the next open tries again", async () => {
    dir = mkdtempSync(join(tmpdir(), "mzts-compute-worker-shards-"));
    const dataDir = join(dir, "persist");
    writeFileSync(dataDir, "a file where the data directory should be");
    const shards = new WorkerShards(0, 1, { dataDir }, pino({ level: "silent" }));
    try {
      await expect(shards.open("s1")).rejects.toBeInstanceOf(StorageUnavailable);
      rmSync(dataDir);
      const shard = await shards.open("s1");
      expect(await shard.upper()).toBe(0n);
    } finally {
      await shards.close();
    }
  });

  it("a persist peek's wait ends when it is canceled; an answered one is forgotten", async () => {
    dir = mkdtempSync(join(tmpdir(), "mzts-compute-worker-shards-"));
    const shards = new WorkerShards(
      0,
      1,
      { dataDir: dir, pollIntervalMs: 5 },
      pino({ level: "silent" }),
    );
    const peek = (uuid: string, timestamp: bigint): Peek => ({
      uuid,
      target: { kind: "persist", id: "u1", shardId: "s1" },
      arity: 1,
      timestamp,
      mapFilterProject: { exprs: [], predicates: [], projection: [0] },
      finishing: { orderBy: [], offset: 0, project: [0] },
    });
    try {
      const shard = await shards.open("s1");
      const a = shards.peek(peek("a", 5n), "s1");
      const b = shards.peek(peek("b", 5n), "s1");
      const c = shards.peek(peek("c", 5n), "s1");
      await new Promise((r) => setTimeout(r, 20));
      expect(shards.pendingPeeks).toBe(3);
      shards.cancelPeek("a");
      expect(await a).toMatchObject({ kind: "error", message: expect.stringMatching(/abort/i) });
      expect(shards.pendingPeeks).toBe(2);
      shards.cancelPeeks();
      expect(await b).toMatchObject({ kind: "error" });
      expect(await c).toMatchObject({ kind: "error" });
      expect(shards.pendingPeeks).toBe(0);
      const d = shards.peek(peek("d", 0n), "s1");
      expect(shards.pendingPeeks).toBe(1);
      await shard.compareAndAppend([[[7n], 0n, 1]], 0n, 1n);
      expect(await d).toEqual({ kind: "rows", rows: [[[7n], 1]] });
      expect(shards.pendingPeeks).toBe(0);
    } finally {
      await shards.close();
    }
  });
});
