/**
 * Several processes write one shard at once: three child processes append to the same shard
 * through their own SQLite connections, retrying on `UpperMismatch`. Every acknowledged batch
 * must be in the shard exactly once, at the bounds its writer was told, and nothing else.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createPersist } from "../src/index.js";
import { killAllFixtures, startFixture } from "./child.js";

let dir = "";
afterEach(async () => {
  await killAllFixtures();
  if (dir !== "") rmSync(dir, { recursive: true, force: true });
});

describe("multi-process writers", () => {
  it("three processes appending to one shard lose nothing and duplicate nothing", async () => {
    dir = mkdtempSync(join(tmpdir(), "mzts-persist-multi-"));
    const setup = await createPersist({ dataDir: dir });
    await setup.openShard("shared", { create: true });
    await setup.close();
    const count = 15;
    const writers = ["w0", "w1", "w2"].map((w) => ({
      w,
      f: startFixture("concurrent-writer.ts", [dir, "shared", w, String(count)]),
    }));
    for (const { f } of writers) expect(await f.exited, f.stderr()).toBe(0);

    const client = await createPersist({ dataDir: dir });
    try {
      const shard = await client.openShard("shared");
      expect(await shard.upper()).toBe(BigInt(3 * count));
      // Each time [t, t+1) was acknowledged to exactly one writer; check its row is there.
      const owner = new Map<bigint, string>();
      for (const { w, f } of writers) {
        for (const l of f.lines) {
          const [, lower, upper] = l.split(" ");
          expect(BigInt(upper!)).toBe(BigInt(lower!) + 1n);
          expect(owner.has(BigInt(lower!))).toBe(false);
          owner.set(BigInt(lower!), w);
        }
      }
      expect(owner.size).toBe(3 * count);
      const l = shard.listen(0n);
      const seen = new Map<bigint, string>();
      while (seen.size < 3 * count) {
        const ev = (await l.next()).value!;
        for (const [row, t, d] of ev.updates) {
          expect(d).toBe(1);
          expect(seen.has(t)).toBe(false);
          seen.set(t, row[0] as string);
        }
      }
      l.close();
      expect(seen).toEqual(owner);
    } finally {
      await client.close();
    }
  }, 60_000);
});
