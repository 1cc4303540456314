/**
 * Status and ListClusters read the resolved-object cache, not the catalog (issue 16): each
 * catalog read loads and decodes every object row, and at 1,000 indexes the two a Status call
 * made (clusters, replicas) were most of its time. The cache lives until the next DDL, so a new
 * cluster still shows at once; an unknown cluster name is still NotFound (the catalog's error).
 * No replica is needed.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PhaseSet } from "@mzts/flags";
import { pino } from "pino";
import { Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import type { Catalog } from "../src/catalog/catalog.js";
import { UnknownObject } from "../src/catalog/errors.js";
import { openSqliteCatalog } from "../src/catalog/sqlite.js";
import { createEnvironment, type Environment } from "../src/environment.js";

const READS = ["getCluster", "listClusters", "listReplicas", "listItems", "snapshot"] as const;

/** `inner` with its object reads counted (the fencing check's `generation()` is not one). */
function counting(inner: Catalog): Catalog & { reads: number } {
  const c = { ...inner, reads: 0 } as Catalog & { reads: number };
  for (const m of READS) {
    const f = inner[m] as (...a: unknown[]) => Promise<unknown>;
    (c as unknown as Record<string, unknown>)[m] = (...a: unknown[]) => {
      c.reads++;
      return f(...a);
    };
  }
  return c;
}

let cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const f of cleanup.reverse()) await f().catch(() => undefined);
  cleanup = [];
});

async function start(): Promise<{ env: Environment; catalog: Catalog & { reads: number } }> {
  const dataDir = mkdtempSync(join(tmpdir(), "mzts-envd-status-reads-"));
  cleanup.push(async () => rmSync(dataDir, { recursive: true, force: true }));
  const catalog = counting(openSqliteCatalog({ path: join(dataDir, "catalog.sqlite") }));
  const env = await createEnvironment({
    dataDir,
    catalog,
    phaseFlags: (id) => PhaseSet.of(id, {}),
    logger: pino({ level: "silent" }),
    registry: new Registry(),
  });
  cleanup.push(() => env.close());
  return { env, catalog };
}

describe("Status reads", () => {
  it("answer from the object cache: no catalog read per call once warm", async () => {
    const { env, catalog } = await start();
    await env.createCluster({ name: "b" });
    await env.createCluster({ name: "a" });
    await env.status({}); // warms the cache
    catalog.reads = 0;
    for (let i = 0; i < 5; i++) {
      const s = await env.status({});
      expect(s.clusters.map((c) => c.name)).toEqual(["a", "b"]);
      expect((await env.status({ cluster: "b" })).clusters.map((c) => c.name)).toEqual(["b"]);
      const l = await env.listClusters();
      expect(l.clusters.map((c) => c.name)).toEqual(["a", "b"]);
    }
    expect(catalog.reads).toBe(0);
    // A DDL invalidates the cache: the new cluster shows at once.
    await env.createCluster({ name: "c" });
    expect((await env.status({})).clusters.map((c) => c.name)).toEqual(["a", "b", "c"]);
    expect((await env.listClusters()).clusters.map((c) => c.name)).toEqual(["a", "b", "c"]);
    // An unknown name is still the catalog's typed error.
    await expect(env.status({ cluster: "nope" })).rejects.toThrow(UnknownObject);
  }, 30_000);
});
