/**
 * README examples are tests (shared/style.md §12): every ```ts block of README.md must appear
 * verbatim in this file, and each runs here.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { PhaseSet } from "@mzts/flags";
import { dropSchema, probePostgres, uniqueSchema } from "@mzts/persist/testing";
import { pino } from "pino";
import { Registry } from "prom-client";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  createEnvironment,
  openPostgresCatalog,
  openSqliteCatalog,
  StaleGeneration,
  startApiServer,
} from "./index.js";

const pg = await probePostgres("environmentd");
const here = dirname(fileURLToPath(import.meta.url));
let dataDir = "";
beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), "mzts-envd-readme-"));
});
afterEach(() => {
  rmSync(dataDir, { recursive: true, force: true });
});

describe("README", () => {
  it("every ts block of README.md is in this file", () => {
    const readme = readFileSync(join(here, "..", "README.md"), "utf8");
    const self = readFileSync(fileURLToPath(import.meta.url), "utf8");
    const norm = (s: string) => s.replace(/\s+/g, " ").trim();
    const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
    expect(blocks.length).toBe(6);
    for (const b of blocks) expect(norm(self), b).toContain(norm(b));
  });

  it("openSqliteCatalog, snapshot, fencing, drops", async () => {
    const catalog = openSqliteCatalog({ path: join(dataDir, "catalog.sqlite") });
    const generation = await catalog.boot(); // 1 on a fresh catalog
    await catalog.createCluster(generation, { name: "quickstart" });
    await catalog.createReplica(generation, { cluster: "quickstart", name: "r1", workers: 2 });
    const source = await catalog.createSource(generation, {
      name: "counter",
      cluster: "quickstart",
      spec: { loadGenerator: { counter: {} }, seed: "1", tickIntervalMs: 1000 },
      exports: [{ name: "counter", outputIndex: 0 }],
    });
    await catalog.createMaterializedView(generation, {
      name: "counter_mv",
      cluster: "quickstart",
      definition: JSON.stringify({ get: { id: source.exports[0]?.id } }), // plan, protobuf JSON
      dependsOn: [source.exports[0]?.id ?? ""],
    });
    expect(generation).toBe(1n);

    const next = openSqliteCatalog({ path: join(dataDir, "catalog.sqlite") });
    const nextGeneration = await next.boot(); // 2
    const snap = await next.snapshot();
    const clusters = snap.clusters.map((c) => c.name); // ["quickstart"]
    const items = snap.items.map((i) => i.name); // ["counter", "counter_mv"]
    expect(nextGeneration).toBe(2n);
    expect(clusters).toEqual(["quickstart"]);
    expect(items).toEqual(["counter", "counter_mv"]);
    expect(snap.replicas.map((r) => r.workers)).toEqual([2]);

    try {
      await catalog.createCluster(generation, { name: "late" });
    } catch (e) {
      if (!(e instanceof StaleGeneration)) throw e;
      // e.generation === 1n, e.currentGeneration === 2n: shut this environmentd down
    }
    await expect(next.getCluster("late")).rejects.toThrow(/unknown cluster "late"/);
    await expect(catalog.createCluster(generation, { name: "late" })).rejects.toMatchObject({
      name: "StaleGeneration",
      generation: 1n,
      currentGeneration: 2n,
    });

    const dropped = await next.dropItem(nextGeneration, "source", "counter", { cascade: true });
    // dropped: [counter_mv, counter]
    await next.close();
    await catalog.close();
    expect(dropped.map((d) => d.name)).toEqual(["counter_mv", "counter"]);
  });

  it("createEnvironment and startApiServer", async () => {
    const logger = pino({ level: "warn" });
    const registry = new Registry();
    const env = await createEnvironment({
      dataDir,
      phaseFlags: (id) => PhaseSet.of(id, {}),
      logger,
      registry,
    });
    const api = await startApiServer({ environment: env, registry, grpcPort: 0, httpPort: 0 });
    await env.createCluster({ name: "quickstart" });
    await env.createReplica({ cluster: "quickstart", name: "r1", size: 1 }); // a clusterd process
    const res = await fetch(`${api.httpUrl}/mz.environment.v1.EnvironmentService/ListClusters`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    }); // {"clusters":[{"id":"u1","name":"quickstart","replicas":[{"id":"u2","name":"r1","size":1}],"introspectionIntervalMs":1000}]}
    await api.close();
    await env.close(); // stops the replicas; { keepReplicas: true } leaves them for the next boot
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      clusters: [
        {
          id: "u1",
          name: "quickstart",
          replicas: [{ id: "u2", name: "r1", size: 1 }],
          introspectionIntervalMs: 1000,
        },
      ],
    });
    expect(env.orchestrator.list()).toEqual([]); // the replica was stopped
  }, 60_000);

  const schemas: string[] = [];
  it.skipIf(!pg.ok)("openPostgresCatalog", async () => {
    const postgresUrl = pg.ok ? pg.url : "";
    const schema = uniqueSchema("readme");
    schemas.push(schema);
    const pgCatalog = await openPostgresCatalog({ url: postgresUrl, schema });
    const pgGeneration = await pgCatalog.boot();
    await pgCatalog.createCluster(pgGeneration, { name: "quickstart" });
    await pgCatalog.close();
    expect(pgGeneration).toBe(1n);
  });
  afterAll(async () => {
    if (pg.ok) for (const s of schemas) await dropSchema(pg.url, s);
  });
});
