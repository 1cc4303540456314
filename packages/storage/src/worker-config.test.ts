/**
 * `lazyPersist`: a worker's persist client opens on first use, and a failed open is not kept — a
 * shard writer's retry opens it again (a data directory unusable for a moment is not fatal).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { StorageCounters } from "./metrics.js";
import { DEFAULT_STATE_OPTIONS } from "./storage-state-deps.js";
import { lazyPersist, type StorageWorkerConfig } from "./worker-config.js";

let dir: string | undefined;
afterEach(() => {
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

describe("lazyPersist", () => {
  it("opens again after a failed open, and closes what it opened", async () => {
    dir = mkdtempSync(join(tmpdir(), "mzts-storage-lazy-"));
    const dataDir = join(dir, "data");
    writeFileSync(dataDir, "not a directory"); // persist cannot open a data directory here
    const config: StorageWorkerConfig = {
      dataDir,
      counters: new StorageCounters().buffer,
      logLevel: "silent",
      options: DEFAULT_STATE_OPTIONS,
    };
    const persist = lazyPersist(config, pino({ level: "silent" }));
    await expect(persist.open()).rejects.toThrow();
    rmSync(dataDir);
    mkdirSync(dataDir);
    const client = await persist.open();
    expect(await persist.open()).toBe(client); // once open, kept
    const shard = await client.openShard("s", { create: true });
    expect(await shard.upper()).toBe(0n);
    await persist.close();
  });
});
