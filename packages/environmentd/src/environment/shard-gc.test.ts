/**
 * `ShardGc` never collects environmentd's own shards: the persisted introspection collections are
 * referenced by no catalog object and — between two environmentd runs, once the since handle's
 * lease lapsed — read by nobody, yet they hold every replica's last known introspection.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createPersist } from "@mzts/persist";
import { pino } from "pino";
import { Registry } from "prom-client";
import { afterEach, beforeEach, expect, it } from "vitest";
import { openSqliteCatalog } from "../catalog/sqlite.js";
import { PERSISTED_RELATIONS } from "../introspection/persisted-relations.js";
import { ShardGc } from "./shard-gc.js";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "mzts-shard-gc-own-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

it("keeps the persisted introspection shards; drops a true orphan beside them", async () => {
  const log = pino({ level: "silent" });
  const catalog = openSqliteCatalog({ path: join(dir, "catalog.sqlite") });
  const persist = await createPersist({
    dataDir: join(dir, "persist"),
    logger: log,
    registry: new Registry(),
  });
  try {
    for (const r of PERSISTED_RELATIONS) {
      const shard = await persist.openShard(r.shardId, { create: true });
      await shard.compareAndAppend([[["u1", "u7", 0n, 5n], 0n, 1]], 0n, 1n);
    }
    await persist.openShard("orphan", { create: true });
    const gc = new ShardGc({
      catalog,
      persist,
      log,
      sightingsPath: join(dir, "shard-gc.json"),
      confirmMs: 0,
    });
    expect(await gc.collect()).toBe(0); // first sighting
    expect(await gc.collect()).toBe(1); // the orphan only
    expect(await gc.collect()).toBe(0);
    for (const r of PERSISTED_RELATIONS) {
      const shard = await persist.openShard(r.shardId);
      expect(await shard.snapshot(0n)).toHaveLength(1);
    }
  } finally {
    await persist.close();
    await catalog.close();
  }
});
