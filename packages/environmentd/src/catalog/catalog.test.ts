/**
 * Runs the catalog contract against both stores — SQLite (a temp dir, with a second handle as
 * "another environmentd") and PostgreSQL (a unique schema per run, dropped afterwards; skipped
 * with a message when `MZ_TEST_POSTGRES_URL` is unset or unreachable, required under CI) — and
 * the store-specific checks: format versions, pragmas.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { dropSchema, probePostgres, uniqueSchema } from "@mzts/persist/testing";
import Database from "better-sqlite3";
import pg from "pg";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { describeCatalogContract } from "../testdata/catalog-contract.js";
import type { Catalog, ClusterReplica } from "./catalog.js";
import { CorruptCatalog, StaleGeneration, UnsupportedFormatVersion } from "./errors.js";
import { openPostgresCatalog, POSTGRES_CATALOG_SCHEMA_VERSION } from "./postgres.js";
import { openSqliteCatalog, SQLITE_CATALOG_SCHEMA_VERSION } from "./sqlite.js";

/** Two clusters' replicas, created interleaved, all given the same (wrong-for-some) slot. */
async function populateReplicas(c: Catalog): Promise<void> {
  const g = await c.boot();
  await c.createCluster(g, { name: "c1" });
  await c.createCluster(g, { name: "c2" });
  for (const [cluster, name] of [
    ["c1", "a"],
    ["c2", "a"],
    ["c1", "b"],
    ["c1", "c"],
    ["c2", "b"],
  ] as const) {
    await c.createReplica(g, { cluster, name, workers: 1, slot: "unified" });
  }
}

/** What the migration gives `populateReplicas`' replicas: per cluster, alternating by id. */
const MIGRATED = [
  ["c1/a", "legacy"],
  ["c2/a", "legacy"],
  ["c1/b", "unified"],
  ["c1/c", "legacy"],
  ["c2/b", "unified"],
];

const slotsOf = (rs: readonly ClusterReplica[]) =>
  rs.map((r) => [`${r.clusterId === "u1" ? "c1" : "c2"}/${r.name}`, r.slot]);

{
  let dir = "";
  describeCatalogContract("sqlite", {
    async open() {
      dir = mkdtempSync(join(tmpdir(), "mzts-envd-catalog-"));
      return openSqliteCatalog({ path: join(dir, "catalog.sqlite") });
    },
    async openAgain() {
      return openSqliteCatalog({ path: join(dir, "catalog.sqlite") });
    },
    async cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  });
}

describe("sqlite catalog specifics", () => {
  let dir = "";
  let file = "";
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "mzts-envd-catalog-"));
    file = join(dir, "catalog.sqlite");
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it("uses WAL and synchronous=FULL by default", async () => {
    const c = openSqliteCatalog({ path: file });
    const db = new Database(file);
    expect(db.pragma("journal_mode", { simple: true })).toBe("wal");
    db.close();
    await c.close();
  });

  it("refuses a database written by a newer schema version", async () => {
    await openSqliteCatalog({ path: file }).close();
    const db = new Database(file);
    db.pragma(`user_version = ${SQLITE_CATALOG_SCHEMA_VERSION + 1}`);
    db.close();
    expect(() => openSqliteCatalog({ path: file })).toThrow(UnsupportedFormatVersion);
    expect(() => openSqliteCatalog({ path: file })).toThrow(
      /catalog schema format version 3 is newer than the supported version 2; run a newer environmentd/,
    );
  });

  it("migrates a version 1 catalog: replicas gain slots alternating by creation order", async () => {
    const c = openSqliteCatalog({ path: file });
    await populateReplicas(c);
    await c.close();
    // Back to version 1: no slot in the replica rows.
    const db = new Database(file);
    for (const r of db
      .prepare<[], { id: string; body: string }>(
        "SELECT id, body FROM catalog_objects WHERE kind = 'replica'",
      )
      .all()) {
      const { slot: _, ...body } = JSON.parse(r.body) as Record<string, unknown>;
      db.prepare("UPDATE catalog_objects SET body = ? WHERE id = ?").run(
        JSON.stringify(body),
        r.id,
      );
    }
    db.pragma("user_version = 1");
    db.close();
    const again = openSqliteCatalog({ path: file });
    expect(slotsOf(await again.listReplicas())).toEqual(MIGRATED);
    await again.close();
    const check = new Database(file);
    expect(check.pragma("user_version", { simple: true })).toBe(SQLITE_CATALOG_SCHEMA_VERSION);
    check.close();
  });

  it("refuses an object row of a newer format version, and does not rewrite it", async () => {
    const c = openSqliteCatalog({ path: file });
    const g = await c.boot();
    await c.createCluster(g, { name: "c1" });
    const db = new Database(file);
    db.prepare("UPDATE catalog_objects SET format_version = 2 WHERE id = 'u1'").run();
    await expect(c.listClusters()).rejects.toThrow(UnsupportedFormatVersion);
    await expect(c.snapshot()).rejects.toThrow(
      /object u1: catalog object format version 2 is newer than the supported version 1/,
    );
    await expect(c.createCluster(g, { name: "c2" })).rejects.toThrow(UnsupportedFormatVersion);
    expect(db.prepare("SELECT count(*) AS n FROM catalog_objects").get()).toEqual({ n: 1 });
    db.prepare("UPDATE catalog_objects SET body = '{' WHERE id = 'u1'").run();
    db.prepare("UPDATE catalog_objects SET format_version = 1 WHERE id = 'u1'").run();
    await expect(c.listClusters()).rejects.toThrow(CorruptCatalog);
    // The fencing check reads the state row only (not every object: issue 16's idle cost).
    await expect(c.generation()).resolves.toBe(g);
    db.close();
    await c.close();
  });
});

const probe = await probePostgres("environmentd");
if (probe.ok) {
  const schemas: string[] = [];
  let current = "";
  describeCatalogContract("postgres", {
    async open() {
      current = uniqueSchema("contract");
      schemas.push(current);
      return openPostgresCatalog({ url: probe.url, schema: current });
    },
    async openAgain() {
      return openPostgresCatalog({ url: probe.url, schema: current });
    },
  });

  describe("postgres catalog specifics", () => {
    it("refuses a newer schema version and a newer object format version", async () => {
      const schema = uniqueSchema("format");
      schemas.push(schema);
      const c = await openPostgresCatalog({ url: probe.url, schema });
      const g = await c.boot();
      await c.createCluster(g, { name: "c1" });
      const client = new pg.Client({ connectionString: probe.url });
      await client.connect();
      try {
        await client.query(`UPDATE "${schema}".catalog_objects SET format_version = 2`);
        await expect(c.listClusters()).rejects.toThrow(UnsupportedFormatVersion);
        // The fencing check reads the state row only (not every object).
        await expect(c.generation()).resolves.toBe(g);
        await expect(c.createCluster(g, { name: "c2" })).rejects.toThrow(
          /object u1: catalog object format version 2/,
        );
        await client.query(`UPDATE "${schema}".catalog_state SET schema_version = $1`, [
          POSTGRES_CATALOG_SCHEMA_VERSION + 1,
        ]);
        await expect(openPostgresCatalog({ url: probe.url, schema })).rejects.toThrow(
          /catalog schema format version 3 is newer than the supported version 2/,
        );
      } finally {
        await client.end();
        await c.close();
      }
    });

    it("migrates a version 1 catalog: replicas gain slots alternating by creation order", async () => {
      const schema = uniqueSchema("migrate");
      schemas.push(schema);
      const c = await openPostgresCatalog({ url: probe.url, schema });
      await populateReplicas(c);
      await c.close();
      const client = new pg.Client({ connectionString: probe.url });
      await client.connect();
      try {
        await client.query(
          `UPDATE "${schema}".catalog_objects SET body = (body::jsonb - 'slot')::text WHERE kind = 'replica'`,
        );
        await client.query(`UPDATE "${schema}".catalog_state SET schema_version = 1`);
        const again = await openPostgresCatalog({ url: probe.url, schema });
        expect(slotsOf(await again.listReplicas())).toEqual(MIGRATED);
        await again.close();
        const v = await client.query(`SELECT schema_version FROM "${schema}".catalog_state`);
        expect(v.rows[0]?.schema_version).toBe(POSTGRES_CATALOG_SCHEMA_VERSION);
      } finally {
        await client.end();
      }
    });

    it("a write waiting behind an uncommitted boot is fenced once the boot commits", async () => {
      const schema = uniqueSchema("race");
      schemas.push(schema);
      const c = await openPostgresCatalog({ url: probe.url, schema });
      const g = await c.boot();
      const booter = new pg.Client({ connectionString: probe.url });
      await booter.connect();
      try {
        // Another environmentd's boot, holding the state row until it commits.
        await booter.query("BEGIN");
        await booter.query(
          `UPDATE "${schema}".catalog_state SET generation = generation + 1 WHERE id = 1`,
        );
        let settled = false;
        const write = c.createCluster(g, { name: "zombie" }).finally(() => {
          settled = true;
        });
        write.catch(() => {});
        await new Promise((r) => setTimeout(r, 200));
        expect(settled).toBe(false); // the check waits for the boot: no stale read
        await booter.query("COMMIT");
        await expect(write).rejects.toThrow(StaleGeneration);
        expect(await c.listClusters()).toEqual([]);
      } finally {
        await booter.end();
        await c.close();
      }
    });

    it("rejects a schema name that is not a plain identifier", async () => {
      await expect(openPostgresCatalog({ url: probe.url, schema: 'x"; DROP' })).rejects.toThrow(
        RangeError,
      );
    });

    it("reports an unreachable server as CatalogUnavailable", async () => {
      await expect(
        openPostgresCatalog({ url: "postgres://postgres:postgres@127.0.0.1:1/postgres" }),
      ).rejects.toMatchObject({ name: "CatalogUnavailable" });
    });
  });

  afterAll(async () => {
    for (const s of schemas) await dropSchema(probe.url, s);
  });
}
