/**
 * Runs the blob contract against the memory and file implementations, plus file specifics:
 * atomic writes leave no temp files, empty directories disappear, temp leftovers are swept.
 */
import { mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { InvalidShardId } from "../errors.js";
import { describeBlobContract } from "../testdata/blob-contract.js";
import { createFileBlob } from "./fs.js";
import { createMemoryBlob } from "./memory.js";

describeBlobContract("memory", { open: async () => createMemoryBlob() });

{
  let dir = "";
  describeBlobContract("file", {
    async open() {
      dir = mkdtempSync(join(tmpdir(), "mzts-persist-blob-"));
      return createFileBlob(join(dir, "blob"));
    },
    async cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  });
}

describe("file blob specifics", () => {
  it("leaves no temp files, removes emptied directories and sweeps stale temp files", async () => {
    const dir = mkdtempSync(join(tmpdir(), "mzts-persist-blob-"));
    try {
      const root = join(dir, "blob");
      const b = createFileBlob(root);
      await b.set("shard/one", Uint8Array.from([1]));
      expect(readdirSync(join(root, "shard"))).toEqual(["one"]);
      await b.delete("shard/one");
      expect(readdirSync(root)).toEqual([]);

      await b.set("shard/two", Uint8Array.from([2]));
      const stale = join(root, "shard", ".tmp-two-dead");
      writeFileSync(stale, "partial");
      const old = new Date(Date.now() - 3_600_000);
      utimesSync(stale, old, old);
      expect(await b.list("shard/")).toEqual(["shard/two"]);
      expect(await b.sweepTempFiles(60_000)).toBe(1);
      expect(readdirSync(join(root, "shard"))).toEqual(["two"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("refuses keys that would escape the root", async () => {
    const dir = mkdtempSync(join(tmpdir(), "mzts-persist-blob-"));
    try {
      const b = createFileBlob(dir);
      await expect(b.set("../x", Uint8Array.from([1]))).rejects.toThrow(InvalidShardId);
      await expect(b.get("a/.hidden")).rejects.toThrow(InvalidShardId);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
