/**
 * `fetchBatch` shares reads of one batch between the readers of a process (a replica has one
 * listener per dataflow and worker): blobs are immutable, so N listeners of a new batch cost one
 * blob read and decode, and each gets its own array. A missing blob is never remembered.
 */
import { describe, expect, it } from "vitest";
import type { Blob } from "./blob/blob.js";
import { createMemoryBlob } from "./blob/memory.js";
import { createPersist } from "./client.js";
import { createMemoryConsensus } from "./consensus/memory.js";

function countingBlob(inner: Blob): Blob & { gets: number } {
  const b = Object.create(inner) as Blob & { gets: number };
  b.gets = 0;
  b.get = (key: string) => {
    b.gets++;
    return inner.get(key);
  };
  return b;
}

describe("fetchBatch", () => {
  it("reads a batch once for many readers, each getting its own copy", async () => {
    const blob = countingBlob(createMemoryBlob());
    const persist = await createPersist({ consensus: createMemoryConsensus(), blob });
    try {
      const shard = await persist.openShard("b1", { create: true });
      await shard.compareAndAppend([[[1n], 0n, 1]], 0n, 1n);
      blob.gets = 0;
      const snaps = await Promise.all(Array.from({ length: 10 }, () => shard.snapshot(0n)));
      expect(blob.gets).toBe(1);
      for (const s of snaps) expect(s).toEqual([[[1n], 0n, 1]]);
      expect(snaps[0]).not.toBe(snaps[1]);
    } finally {
      await persist.close();
    }
  });
});
