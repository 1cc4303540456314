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
import { MetricsAlreadyRegistered, PersistError } from "./errors.js";
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
    await expect(createPersist({ dataDir, registry })).rejects.toThrow(MetricsAlreadyRegistered);
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

describe("createPersist: a registry that already holds persist's metrics", () => {
  it("throws MetricsAlreadyRegistered saying what to do, with prom-client's error as cause", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "persist-open-"));
    dirs.push(dataDir);
    const registry = new Registry();
    const first = await createPersist({ dataDir, registry });
    try {
      const e = await createPersist({ dataDir, registry }).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(e).toBeInstanceOf(PersistError);
      expect(e).toBeInstanceOf(MetricsAlreadyRegistered);
      const m = e as MetricsAlreadyRegistered;
      expect(m.metric).toBe("mz_persist_cmd_total");
      expect(m.message).toMatch(/one persist client per registry/);
      expect(m.message).toMatch(/fresh registry/);
      expect((m.cause as Error).message).toMatch(/already been registered/);
      // The first client's metrics are untouched; a fresh registry opens fine.
      expect(registry.getSingleMetric("mz_persist_cmd_total")).toBeDefined();
      const second = await createPersist({ dataDir, registry: new Registry() });
      await second.close();
    } finally {
      await first.close();
    }
  });

  it("registers all of persist's metrics or none (a conflict on a later one)", () => {
    const registry = new Registry();
    const other = new Registry();
    // Only a later metric is taken: the earlier ones registered by the failed call are removed.
    createPersistMetrics(other);
    registry.registerMetric(other.getSingleMetric("mz_persist_grouped_commands_total")!);
    expect(() => createPersistMetrics(registry)).toThrow(MetricsAlreadyRegistered);
    expect(registry.getMetricsAsArray().map((m) => m.name)).toEqual([
      "mz_persist_grouped_commands_total",
    ]);
  });
});
