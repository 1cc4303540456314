/**
 * `createPersist` closes the stores it opened when a later step of opening fails (here: the
 * registry already holds persist's metrics), so a caller that retries opens (the storage shard
 * writer) leaks no SQLite handle per failed attempt. Observed from outside: the process's open
 * file descriptors under the data directory (`/proc/self/fd`, Linux).
 */
import { mkdtemp, readdir, readlink, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import { createPersist } from "./client.js";
import { createPersistMetrics } from "./metrics.js";

let dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
  dirs = [];
});

/** The process's open file descriptors that point under `dir`. */
async function openUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const fd of await readdir("/proc/self/fd")) {
    const target = await readlink(`/proc/self/fd/${fd}`).catch(() => "");
    if (target.startsWith(dir)) out.push(target);
  }
  return out;
}

describe.skipIf(process.platform !== "linux")("createPersist: a failed open", () => {
  it("closes the SQLite consensus it opened when a later step throws", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "persist-open-"));
    dirs.push(dataDir);
    const registry = new Registry();
    createPersistMetrics(registry); // another client's series: registering them again throws
    await expect(createPersist({ dataDir, registry })).rejects.toThrow(/already been registered/);
    expect(await openUnder(dataDir)).toEqual([]);
    // Each retry fails the same way and leaves nothing open either.
    for (let i = 0; i < 3; i++)
      await expect(createPersist({ dataDir, registry })).rejects.toThrow();
    expect(await openUnder(dataDir)).toEqual([]);
    // The stores are usable afterwards (nothing half-open holds them).
    const ok = await createPersist({ dataDir });
    expect((await openUnder(dataDir)).length).toBeGreaterThan(0);
    await ok.close();
    expect(await openUnder(dataDir)).toEqual([]);
  });
});
