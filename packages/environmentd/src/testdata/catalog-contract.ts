/**
 * The catalog contract suite (see `catalog/catalog.ts`), one function instantiated per store:
 * SQLite and PostgreSQL run exactly the same tests.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Catalog, Generation } from "../catalog/catalog.js";
import {
  CatalogClosed,
  DependencyExists,
  GenerationNotBooted,
  InvalidCatalogInput,
  NameInUse,
  StaleGeneration,
  UnknownObject,
} from "../catalog/errors.js";

export interface CatalogFactory {
  /** A fresh, empty catalog for one test. */
  open(): Promise<Catalog>;
  /** Another handle on the same store as the last `open()` (another environmentd process). */
  openAgain(): Promise<Catalog>;
  /** Cleans up after one test. */
  cleanup?(): Promise<void>;
}

/** A plan in protobuf JSON form, as text (the catalog stores it without interpreting it). */
const PLAN = JSON.stringify({ get: { id: "u3" } });
const SPEC = { loadGenerator: { counter: {} }, seed: "1", tickIntervalMs: 1000 };

export function describeCatalogContract(name: string, factory: CatalogFactory): void {
  describe(`catalog contract: ${name}`, () => {
    let c: Catalog;
    const handles: Catalog[] = [];
    const again = async () => {
      const h = await factory.openAgain();
      handles.push(h);
      return h;
    };
    beforeEach(async () => {
      c = await factory.open();
    });
    afterEach(async () => {
      for (const h of handles.splice(0)) await h.close();
      await c.close();
      await factory.cleanup?.();
    });

    /** A cluster `c1` with a replica, a source, an index and a materialized view on it. */
    async function populate(g: Generation) {
      const cluster = await c.createCluster(g, { name: "c1", options: { logging: true } });
      const replica = await c.createReplica(g, { cluster: "c1", name: "r1", workers: 2 });
      const source = await c.createSource(g, {
        name: "counter",
        cluster: "c1",
        spec: SPEC,
        exports: [{ name: "counter", outputIndex: 0 }],
      });
      const exportId = source.exports[0]!.id;
      const mv = await c.createMaterializedView(g, {
        name: "mv",
        cluster: "c1",
        definition: PLAN,
        dependsOn: [exportId],
      });
      const index = await c.createIndex(g, {
        name: "mv_idx",
        cluster: "c1",
        definition: PLAN,
        key: [0],
        dependsOn: [mv.id],
      });
      return { cluster, replica, source, exportId, mv, index };
    }

    it("boot increments the generation, starting at 1", async () => {
      expect(await c.generation()).toBe(0n);
      expect(await c.boot()).toBe(1n);
      expect(await c.boot()).toBe(2n);
      expect(await c.generation()).toBe(2n);
      const other = await again();
      expect(await other.boot()).toBe(3n);
      expect(await c.generation()).toBe(3n);
    });

    it("refuses writes before boot or with a generation never booted", async () => {
      await expect(c.createCluster(0n, { name: "x" })).rejects.toThrow(GenerationNotBooted);
      const g = await c.boot();
      await expect(c.createCluster(g + 1n, { name: "x" })).rejects.toThrow(
        /generation 2 was never booted.*call boot\(\)/,
      );
      expect(await c.listClusters()).toEqual([]);
    });

    it("allocates ids u<n> from a durable counter and shard ids s<uuid>", async () => {
      const g = await c.boot();
      const o = await populate(g);
      expect(o.cluster.id).toBe("u1");
      expect(o.replica.id).toBe("u2");
      expect(o.source.id).toBe("u3");
      expect(o.exportId).toBe("u4");
      expect(o.mv.id).toBe("u5");
      expect(o.index.id).toBe("u6");
      expect(o.source.exports[0]!.shardId).toMatch(/^s[0-9a-f-]{36}$/);
      expect(o.mv.shardId).toMatch(/^s[0-9a-f-]{36}$/);
      expect(o.mv.shardId).not.toBe(o.source.exports[0]!.shardId);
      expect(o.replica).toMatchObject({ clusterId: "u1", workers: 2, createdGeneration: g });
      // Ids are never reused, also after a drop and across handles and generations.
      await c.dropReplica(g, "c1", "r1");
      const other = await again();
      const g2 = await other.boot();
      expect((await other.createReplica(g2, { cluster: "c1", name: "r1", workers: 1 })).id).toBe(
        "u7",
      );
    });

    it("replica slots: alternate by creation order from the tie slot, balance after a drop, an explicit slot wins, durable", async () => {
      const g = await c.boot();
      await c.createCluster(g, { name: "c1" });
      await c.createCluster(g, { name: "c2" });
      const slot = async (cluster: string, name: string, extra = {}) =>
        (await c.createReplica(g, { cluster, name, workers: 1, ...extra })).slot;
      expect(await slot("c1", "a")).toBe("legacy");
      expect(await slot("c1", "b")).toBe("unified");
      expect(await slot("c1", "c")).toBe("legacy");
      // Another cluster counts its own; a tie goes to tieSlot (the authoritative path, live).
      expect(await slot("c2", "a", { tieSlot: "unified" })).toBe("unified");
      expect(await slot("c2", "b", { tieSlot: "unified" })).toBe("legacy");
      // After a drop the fewer slot is taken; an explicit slot (a roll's successor) wins.
      await c.dropReplica(g, "c1", "b");
      expect(await slot("c1", "d")).toBe("unified");
      expect(await slot("c1", "e", { slot: "unified" })).toBe("unified");
      await expect(slot("c1", "f", { slot: "both" })).rejects.toThrow(InvalidCatalogInput);
      const other = await again();
      expect((await other.listReplicas("c1")).map((r) => [r.name, r.slot])).toEqual([
        ["a", "legacy"],
        ["c", "legacy"],
        ["d", "unified"],
        ["e", "unified"],
      ]);
      // A roll's successor takes its old one's name and keeps its own slot.
      expect((await c.replaceReplica(g, "c1", "a", "e")).slot).toBe("unified");
    });

    it("replaceReplica drops the retired replica and renames its successor, in one write", async () => {
      const g = await c.boot();
      const o = await populate(g);
      const successor = await c.createReplica(g, { cluster: "c1", name: "r1-pending", workers: 3 });
      const renamed = await c.replaceReplica(g, "c1", "r1", "r1-pending");
      expect(renamed).toMatchObject({ id: successor.id, name: "r1", workers: 3, clusterId: "u1" });
      expect((await c.listReplicas("c1")).map((r) => [r.id, r.name])).toEqual([
        [successor.id, "r1"],
      ]);
      // Durable: a new handle sees the rename; the old id is gone.
      const other = await again();
      expect((await other.getReplica("c1", "r1")).id).toBe(successor.id);
      expect(o.replica.id).not.toBe(successor.id);
      await expect(c.replaceReplica(g, "c1", "r1", "r1")).rejects.toThrow(/another replica/);
      await expect(c.replaceReplica(g, "c1", "r1", "nope")).rejects.toThrow(UnknownObject);
      expect((await c.listReplicas("c1")).map((r) => r.name)).toEqual(["r1"]);
    });

    it("a zombie (older generation) write fails with StaleGeneration and changes nothing", async () => {
      const g1 = await c.boot();
      await populate(g1);
      const before = await c.snapshot();
      const newer = await again();
      const g2 = await newer.boot();
      expect(g2).toBe(g1 + 1n);

      const zombieWrites: (() => Promise<unknown>)[] = [
        () => c.createCluster(g1, { name: "zombie" }),
        () => c.createReplica(g1, { cluster: "c1", name: "r2", workers: 1 }),
        () =>
          c.createSource(g1, {
            name: "s2",
            cluster: "c1",
            spec: SPEC,
            exports: [{ name: "s2", outputIndex: 0 }],
          }),
        () =>
          c.createIndex(g1, {
            name: "i2",
            cluster: "c1",
            definition: PLAN,
            key: [],
            dependsOn: [],
          }),
        () =>
          c.createMaterializedView(g1, {
            name: "v2",
            cluster: "c1",
            definition: PLAN,
            dependsOn: [],
          }),
        () => c.dropCluster(g1, "c1", { cascade: true }),
        () => c.dropReplica(g1, "c1", "r1"),
        () => c.replaceReplica(g1, "c1", "r1", "r1"),
        () => c.dropItem(g1, "source", "counter", { cascade: true }),
      ];
      for (const write of zombieWrites) {
        const err = await write().then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(StaleGeneration);
        expect((err as StaleGeneration).generation).toBe(g1);
        expect((err as StaleGeneration).currentGeneration).toBe(g2);
        expect((err as Error).message).toMatch(
          /generation 1 but the catalog is at generation 2; this environmentd was fenced .* must exit/,
        );
      }
      const after = await newer.snapshot();
      expect(after).toEqual({ ...before, generation: g2 });
      // The zombie did not consume ids either: the newer environmentd continues at u7.
      expect((await newer.createCluster(g2, { name: "c2" })).id).toBe("u7");
      // And the zombie stays fenced even for names that are free.
      await expect(c.createCluster(g1, { name: "c3" })).rejects.toThrow(StaleGeneration);
      expect((await c.listClusters()).map((x) => x.name)).toEqual(["c1", "c2"]);
    });

    it("concurrent boots from two handles produce distinct generations", async () => {
      const other = await again();
      const gens = await Promise.all([
        c.boot(),
        other.boot(),
        c.boot(),
        other.boot(),
        c.boot(),
        other.boot(),
      ]);
      expect([...gens].sort((a, b) => (a < b ? -1 : 1))).toEqual([1n, 2n, 3n, 4n, 5n, 6n]);
      expect(await c.generation()).toBe(6n);
    });

    it("a boot racing writes: each write either commits before the boot or is fenced", async () => {
      const g1 = await c.boot();
      const other = await again();
      const writes = Array.from({ length: 10 }, (_, i) =>
        c.createCluster(g1, { name: `c${i}` }).then(
          () => "ok" as const,
          (e: unknown) => {
            if (e instanceof StaleGeneration) return "fenced" as const;
            throw e;
          },
        ),
      );
      const g2 = await other.boot();
      const outcomes = await Promise.all(writes);
      expect(g2).toBe(2n);
      const committed = outcomes.filter((o) => o === "ok").length;
      expect((await other.listClusters()).length).toBe(committed);
    });

    it("create, get and list each kind", async () => {
      const g = await c.boot();
      const o = await populate(g);
      expect(await c.getCluster("c1")).toEqual(o.cluster);
      expect(o.cluster.options).toEqual({ logging: true });
      expect(await c.getReplica("c1", "r1")).toEqual(o.replica);
      expect(await c.getItem("source", "counter")).toEqual(o.source);
      expect(o.source.spec).toEqual(SPEC);
      expect(await c.getItem("materialized-view", "mv")).toEqual(o.mv);
      expect(await c.getItem("index", "mv_idx")).toEqual(o.index);
      expect(o.index).toMatchObject({ key: [0], definition: PLAN, dependsOn: [o.mv.id] });
      expect(await c.listClusters()).toEqual([o.cluster]);
      expect(await c.listReplicas()).toEqual([o.replica]);
      expect(await c.listReplicas("c1")).toEqual([o.replica]);
      expect((await c.listItems()).map((i) => i.name)).toEqual(["counter", "mv", "mv_idx"]);
      expect(await c.listItems("index")).toEqual([o.index]);
      expect((await c.getCluster("c1")).createdGeneration).toBe(g);
    });

    it("unknown names are UnknownObject naming the kind and name", async () => {
      const g = await c.boot();
      await populate(g);
      await expect(c.getCluster("nope")).rejects.toThrow(/unknown cluster "nope"/);
      await expect(c.getReplica("c1", "nope")).rejects.toThrow(
        /unknown replica "nope" in cluster "c1"/,
      );
      await expect(c.getReplica("nope", "r1")).rejects.toThrow(/unknown cluster "nope"/);
      await expect(c.listReplicas("nope")).rejects.toThrow(UnknownObject);
      // An item of another kind does not answer to that kind.
      await expect(c.getItem("index", "mv")).rejects.toThrow(/unknown index "mv"/);
      await expect(c.dropItem(g, "source", "mv")).rejects.toThrow(/unknown source "mv"/);
      await expect(c.dropCluster(g, "nope")).rejects.toThrow(UnknownObject);
      await expect(c.dropReplica(g, "c1", "nope")).rejects.toThrow(UnknownObject);
      await expect(
        c.createReplica(g, { cluster: "nope", name: "r", workers: 1 }),
      ).rejects.toMatchObject({ name: "UnknownObject", kind: "cluster", objectName: "nope" });
      await expect(
        c.createIndex(g, {
          name: "i",
          cluster: "c1",
          definition: PLAN,
          key: [],
          dependsOn: ["u99"],
        }),
      ).rejects.toThrow(/unknown object "u99"/);
      // The replica id is not a collection one can depend on.
      await expect(
        c.createMaterializedView(g, {
          name: "v",
          cluster: "c1",
          definition: PLAN,
          dependsOn: ["u2"],
        }),
      ).rejects.toThrow(UnknownObject);
    });

    it("name rules: clusters unique, replicas unique per cluster, items share a namespace", async () => {
      const g = await c.boot();
      const o = await populate(g);
      await expect(c.createCluster(g, { name: "c1" })).rejects.toThrow(NameInUse);
      await expect(c.createReplica(g, { cluster: "c1", name: "r1", workers: 1 })).rejects.toThrow(
        /cannot create replica "r1": the name is already used by replica u2/,
      );
      await c.createCluster(g, { name: "c2" });
      // The same replica name in another cluster is fine.
      await c.createReplica(g, { cluster: "c2", name: "r1", workers: 1 });
      // A cluster and an item may share a name (different namespaces).
      await c.createMaterializedView(g, {
        name: "c1",
        cluster: "c2",
        definition: PLAN,
        dependsOn: [],
      });
      // Items share one namespace across kinds.
      await expect(
        c.createIndex(g, {
          name: "counter",
          cluster: "c1",
          definition: PLAN,
          key: [],
          dependsOn: [],
        }),
      ).rejects.toMatchObject({ name: "NameInUse", kind: "index", existingKind: "source" });
      await expect(
        c.createSource(g, {
          name: "mv",
          cluster: "c2",
          spec: SPEC,
          exports: [{ name: "x", outputIndex: 0 }],
        }),
      ).rejects.toThrow(/already used by materialized-view u5/);
      // A dropped name can be reused.
      await c.dropItem(g, "index", "mv_idx");
      const again2 = await c.createIndex(g, {
        name: "mv_idx",
        cluster: "c1",
        definition: PLAN,
        key: [1],
        dependsOn: [o.mv.id],
      });
      expect(again2.id).not.toBe(o.index.id);
    });

    it("rejects malformed input with InvalidCatalogInput and writes nothing", async () => {
      const g = await c.boot();
      await c.createCluster(g, { name: "c1" });
      const bad: (() => Promise<unknown>)[] = [
        () => c.createCluster(g, { name: "" }),
        () => c.createCluster(g, { name: "x".repeat(256) }),
        () => c.createReplica(g, { cluster: "c1", name: "r", workers: 0 }),
        () => c.createReplica(g, { cluster: "c1", name: "r", workers: 1.5 }),
        () => c.createSource(g, { name: "s", cluster: "c1", spec: SPEC, exports: [] }),
        () =>
          c.createSource(g, {
            name: "s",
            cluster: "c1",
            spec: { seed: 1n } as never,
            exports: [{ name: "s", outputIndex: 0 }],
          }),
        () =>
          c.createSource(g, {
            name: "s",
            cluster: "c1",
            spec: SPEC,
            exports: [
              { name: "a", outputIndex: 0 },
              { name: "a", outputIndex: 1 },
            ],
          }),
        () =>
          c.createIndex(g, { name: "i", cluster: "c1", definition: "{", key: [], dependsOn: [] }),
        () =>
          c.createIndex(g, {
            name: "i",
            cluster: "c1",
            definition: PLAN,
            key: [-1],
            dependsOn: [],
          }),
      ];
      for (const f of bad) await expect(f()).rejects.toThrow(InvalidCatalogInput);
      const snap = await c.snapshot();
      expect(snap.clusters.length).toBe(1);
      expect(snap.replicas).toEqual([]);
      expect(snap.items).toEqual([]);
      expect((await c.createCluster(g, { name: "c2" })).id).toBe("u2");
    });

    it("drop refuses while dependents exist, naming them", async () => {
      const g = await c.boot();
      const o = await populate(g);
      const err = await c.dropItem(g, "source", "counter").catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DependencyExists);
      expect((err as DependencyExists).dependents).toEqual([
        { kind: "materialized-view", id: o.mv.id, name: "mv" },
      ]);
      expect((err as Error).message).toMatch(
        /cannot drop source "counter": materialized-view "mv" \(u5\) depends on it; .*cascade/,
      );
      // The API's field, not JavaScript syntax.
      expect((err as Error).message).toContain("the request field `cascade` set to true");
      expect((err as Error).message).not.toContain("{ cascade: true }");
      await expect(c.dropItem(g, "materialized-view", "mv")).rejects.toThrow(/index "mv_idx"/);
      const clusterErr = await c.dropCluster(g, "c1").catch((e: unknown) => e);
      expect((clusterErr as DependencyExists).dependents.map((d) => d.name)).toEqual([
        "counter",
        "mv",
        "mv_idx",
      ]);
      expect((await c.snapshot()).items.length).toBe(3);
      // Leaves drop without cascade; a cluster with only replicas drops with them.
      expect((await c.dropItem(g, "index", "mv_idx")).map((x) => x.id)).toEqual([o.index.id]);
      await c.createCluster(g, { name: "empty" });
      await c.createReplica(g, { cluster: "empty", name: "r1", workers: 1 });
      const dropped = await c.dropCluster(g, "empty");
      expect(dropped.map((x) => x.kind)).toEqual(["replica", "cluster"]);
      expect((await c.listReplicas()).map((r) => r.name)).toEqual(["r1"]);
    });

    it("cascade drops the dependents transitively, dependents first", async () => {
      const g = await c.boot();
      const o = await populate(g);
      await c.createCluster(g, { name: "c2" });
      const onOther = await c.createMaterializedView(g, {
        name: "downstream",
        cluster: "c2",
        definition: PLAN,
        dependsOn: [o.index.id],
      });
      const dropped = await c.dropItem(g, "source", "counter", { cascade: true });
      expect(dropped.map((x) => x.name)).toEqual(["downstream", "mv_idx", "mv", "counter"]);
      expect(await c.listItems()).toEqual([]);

      const o2 = await populate2(g);
      const all = await c.dropCluster(g, "c1", { cascade: true });
      expect(all.map((x) => x.id)).toEqual([
        o2.index.id,
        o2.mv.id,
        o2.source.id,
        o.replica.id,
        o2.replica.id,
        o.cluster.id,
      ]);
      expect((await c.listClusters()).map((x) => x.name)).toEqual(["c2"]);
      expect(await c.listReplicas()).toEqual([]);
      expect(onOther.id).toBe("u8");
    });

    /** `populate` on an existing cluster c1 (after its items were dropped). */
    async function populate2(g: Generation) {
      const replica = await c.createReplica(g, { cluster: "c1", name: "r2", workers: 1 });
      const source = await c.createSource(g, {
        name: "counter",
        cluster: "c1",
        spec: SPEC,
        exports: [{ name: "counter", outputIndex: 0 }],
      });
      const mv = await c.createMaterializedView(g, {
        name: "mv",
        cluster: "c1",
        definition: PLAN,
        dependsOn: [source.exports[0]!.id],
      });
      const index = await c.createIndex(g, {
        name: "mv_idx",
        cluster: "c1",
        definition: PLAN,
        key: [0],
        dependsOn: [mv.id],
      });
      return { replica, source, mv, index };
    }

    it("snapshot lists everything, items in dependency order", async () => {
      const g = await c.boot();
      const o = await populate(g);
      await c.createCluster(g, { name: "c2" });
      const r2 = await c.createReplica(g, { cluster: "c2", name: "r", workers: 4 });
      const s2 = await c.createSource(g, {
        name: "auction",
        cluster: "c2",
        spec: { loadGenerator: { auction: {} } },
        exports: [
          { name: "bids", outputIndex: 0 },
          { name: "accounts", outputIndex: 1 },
        ],
      });
      const join = await c.createMaterializedView(g, {
        name: "join",
        cluster: "c2",
        definition: PLAN,
        dependsOn: [s2.exports[1]!.id, o.index.id, s2.exports[0]!.id],
      });
      const snap = await c.snapshot();
      expect(snap.generation).toBe(g);
      expect(snap.clusters.map((x) => x.name)).toEqual(["c1", "c2"]);
      expect(snap.replicas).toEqual([o.replica, r2]);
      expect(snap.items.map((x) => x.name)).toEqual(["counter", "mv", "mv_idx", "auction", "join"]);
      expect(join.dependsOn).toEqual([s2.exports[1]!.id, o.index.id, s2.exports[0]!.id]);
      // Every item comes after what it depends on, and every cluster is listed.
      const seen = new Set<string>();
      const clusterIds = new Set(snap.clusters.map((x) => x.id));
      for (const item of snap.items) {
        expect(clusterIds.has(item.clusterId)).toBe(true);
        if (item.kind !== "source") for (const d of item.dependsOn) expect(seen.has(d)).toBe(true);
        seen.add(item.id);
        if (item.kind === "source") for (const e of item.exports) seen.add(e.id);
      }
    });

    it("reopen persists everything, and the next boot continues the generation", async () => {
      const g = await c.boot();
      await populate(g);
      const before = await c.snapshot();
      await c.close();
      c = await again();
      handles.pop();
      expect(await c.snapshot()).toEqual(before);
      expect(await c.boot()).toBe(g + 1n);
      expect((await c.createCluster(g + 1n, { name: "later" })).id).toBe("u7");
    });

    it("a closed handle refuses calls with CatalogClosed", async () => {
      const other = await again();
      await other.close();
      await other.close();
      await expect(other.boot()).rejects.toThrow(CatalogClosed);
      await expect(other.listClusters()).rejects.toThrow(/is closed; open a new catalog handle/);
    });
  });
}
