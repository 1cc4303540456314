/**
 * The SQLite catalog reuses the objects it last read or committed while no other connection
 * committed (`data_version`): a DDL then reads and decodes no object rows (issue 16: creating
 * N indexes decoded the whole catalog per create, O(N²)). Another connection's commit — another
 * environmentd, or any writer of the file — makes the next call read every row again.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Catalog } from "./catalog.js";
import { NameInUse, StaleGeneration } from "./errors.js";
import { openSqliteCatalog } from "./sqlite.js";

let dir = "";
const opened: Catalog[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "mzts-envd-catalog-reuse-"));
});
afterEach(async () => {
  vi.restoreAllMocks();
  for (const c of opened.splice(0)) await c.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Counts the statements that read every object row (`SELECT … FROM catalog_objects`). */
function countRowReads(): () => number {
  const probe = new Database(":memory:");
  const Statement = Object.getPrototypeOf(probe.prepare("SELECT 1")) as {
    all: (...a: unknown[]) => unknown[];
  };
  probe.close();
  let n = 0;
  const all = Statement.all;
  vi.spyOn(Statement, "all").mockImplementation(function (this: { source: string }, ...a) {
    if (/FROM catalog_objects/.test(this.source)) n++;
    return all.apply(this, a);
  });
  return () => n;
}

function open(): Catalog {
  const c = openSqliteCatalog({ path: join(dir, "catalog.sqlite"), synchronous: "NORMAL" });
  opened.push(c);
  return c;
}

const index = (i: number, on: string) => ({
  name: `i${i}`,
  cluster: "c",
  definition: JSON.stringify({ on }),
  key: [0],
  dependsOn: [on],
});

describe("SQLite catalog: decoded objects reused", () => {
  it("DDL through one connection reads the object rows once, not once per DDL", async () => {
    const c = open();
    const g = await c.boot();
    await c.createCluster(g, { name: "c" });
    const src = await c.createSource(g, {
      name: "t",
      cluster: "c",
      spec: {},
      exports: [{ name: "t_0", outputIndex: 0 }],
    });
    const reads = countRowReads();
    for (let i = 0; i < 20; i++) await c.createIndex(g, index(i, src.exports[0]!.id));
    const snap = await c.snapshot();
    expect(reads()).toBe(0);
    expect(snap.items.map((i) => i.name)).toEqual([
      "t",
      ...Array.from({ length: 20 }, (_, i) => `i${i}`),
    ]);
    // Reopened, the catalog holds what the reused objects said — field for field, in order.
    await c.close();
    const again = open();
    const text = (x: unknown) => JSON.stringify(x, (_, v) => (typeof v === "bigint" ? `${v}n` : v));
    expect(text(await again.snapshot())).toBe(text(snap));
  });

  it("another connection's commit is read; a refused write drops the reused objects", async () => {
    const c = open();
    const g = await c.boot();
    await c.createCluster(g, { name: "c" });
    const reads = countRowReads();
    await c.snapshot();
    expect(reads()).toBe(0);
    // Another writer of the file (not through this store): a cluster row of the same format.
    const other = new Database(join(dir, "catalog.sqlite"));
    const row = other
      .prepare<[], { body: string }>("SELECT body FROM catalog_objects WHERE name = 'c'")
      .get()!;
    other
      .prepare(
        "INSERT INTO catalog_objects (id, kind, namespace, scope, name, format_version, body) VALUES ('u99', 'cluster', 'cluster', '', 'theirs', 1, ?)",
      )
      .run(row.body);
    other.close();
    expect((await c.listClusters()).map((x) => x.name)).toEqual(["c", "theirs"]);
    expect(reads()).toBe(1);
    // Refused from the reused objects; they are dropped, so the next DDL reads the rows again.
    await expect(c.createCluster(g, { name: "theirs" })).rejects.toBeInstanceOf(NameInUse);
    expect(reads()).toBe(1);
    await c.createCluster(g, { name: "d" });
    expect(reads()).toBe(2);
    await c.createCluster(g, { name: "e" });
    expect(reads()).toBe(2);

    // A newer environmentd boots and writes: this one is fenced and then reads its writes.
    const newer = open();
    const g2 = await newer.boot();
    await newer.createCluster(g2, { name: "newer" });
    await expect(c.createCluster(g, { name: "zombie" })).rejects.toBeInstanceOf(StaleGeneration);
    expect((await c.listClusters()).map((x) => x.name)).toEqual(["c", "d", "e", "newer", "theirs"]);
  });
});
