/**
 * `WorkerShards` opens the worker's persist client on first use; an open that failed is not
 * kept: once the store can be opened, the next shard open succeeds (before, every later open of
 * that worker got the first failure again, and each of its dataflows stalled).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { StorageUnavailable } from "@mzts/persist";
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
});
