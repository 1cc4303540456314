/**
 * A cluster's introspection config: the interval kept with the cluster in the catalog, and the
 * log index ids derived from the catalog — one per relation, unique across clusters, the same
 * after a restart on the same catalog (so an adopted replica reconciles with the config it runs).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LOG_RELATIONS } from "@mzts/protocol";
import { GlobalId } from "@mzts/repr";
import { afterEach, describe, expect, it } from "vitest";
import { openSqliteCatalog } from "../catalog/sqlite.js";
import {
  clusterOptions,
  introspectionIntervalOf,
  loggingConfig,
  logIndexId,
  logIndexIds,
} from "./log-indexes.js";
import { introspectionNow } from "./relations.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe("log index ids", () => {
  it("one per relation, system ids, unique across clusters", () => {
    const ids = ["u1", "u2", "u10", "u999"].flatMap((c) => [...logIndexIds(c).values()]);
    expect(ids).toHaveLength(4 * LOG_RELATIONS.length);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(GlobalId.is(id) && id.startsWith("s")).toBe(true);
    expect([...logIndexIds("u7").keys()]).toEqual(LOG_RELATIONS.map((r) => r.name));
    expect(logIndexId("u7", "dataflows")).toBe("s7000");
    expect(logIndexId("u7", LOG_RELATIONS.at(-1)?.name ?? "")).toBe(
      `s${7000 + LOG_RELATIONS.length - 1}`,
    );
  });

  it("refuses what the catalog never allocates", () => {
    expect(() => logIndexId("u1", "nope")).toThrow(/no introspection relation nope/);
    expect(() => logIndexId("s1", "dataflows")).toThrow(/not a catalog id/);
    expect(() => logIndexId(`u${"9".repeat(19)}`, "dataflows")).toThrow(/too large/);
  });

  it("are the same after a restart on the same catalog, with the stored interval", async () => {
    const dir = mkdtempSync(join(tmpdir(), "log-env-catalog-"));
    dirs.push(dir);
    const path = join(dir, "catalog.sqlite");
    const first = openSqliteCatalog({ path });
    const g1 = await first.boot();
    await first.createCluster(g1, { name: "a", options: clusterOptions(undefined) });
    await first.createCluster(g1, { name: "b", options: clusterOptions(250) });
    await first.createCluster(g1, { name: "off", options: clusterOptions(0) });
    await first.createCluster(g1, { name: "legacy" }); // created before intervals existed
    const before = (await first.snapshot()).clusters.map(loggingConfig);
    await first.close();

    const second = openSqliteCatalog({ path });
    await second.boot();
    const after = (await second.snapshot()).clusters.map(loggingConfig);
    await second.close();
    expect(after).toEqual(before);
    expect(after.map((c) => [c.enabled, c.intervalMs])).toEqual([
      [true, 1000],
      [true, 250],
      [false, 0],
      [true, 1000],
    ]);
    const all = after.flatMap((c) => [...c.indexLogs.values()]);
    expect(new Set(all).size).toBe(4 * LOG_RELATIONS.length);
  });
});

describe("introspection interval", () => {
  it("is the stored one when valid, else the default", () => {
    expect(introspectionIntervalOf({ options: { introspectionIntervalMs: 0 } })).toBe(0);
    expect(introspectionIntervalOf({ options: { introspectionIntervalMs: 3_600_000 } })).toBe(
      3_600_000,
    );
    expect(introspectionIntervalOf({ options: {} })).toBe(1000);
    expect(introspectionIntervalOf({ options: { introspectionIntervalMs: 5 } })).toBe(1000);
    expect(introspectionIntervalOf({ options: { introspectionIntervalMs: "1s" } })).toBe(1000);
  });
});

describe("introspection now", () => {
  it("is the wall clock rounded down to the interval (the newest completed log time)", () => {
    expect(introspectionNow(1000, 1_700_000_000_999)).toBe(1_700_000_000_000n);
    expect(introspectionNow(250, 1_700_000_000_260)).toBe(1_700_000_000_250n);
    expect(introspectionNow(3_600_000, 7_300_000)).toBe(7_200_000n);
    const t = introspectionNow(1000);
    expect(Number(t) % 1000).toBe(0);
    expect(Date.now() - Number(t)).toBeLessThan(1100);
  });
});
