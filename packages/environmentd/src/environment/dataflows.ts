/**
 * Installing catalog items through their cluster's `ClusterController` (`Clusters.controllerOf`):
 * a source becomes an ingestion (one export per subsource), an index or a materialized view a
 * dataflow over its durable inputs, with its as-of chosen by `selectAsOf` and its imports held.
 *
 * ## Invariants
 * - Shards first: `registerShards` opens the owning cluster's since handles on an item's shards
 *   (`Shards.open` → `openShards`) before it is installed (its as-of is chosen from their sinces
 *   and uppers; the unified driver refuses an ingestion or a persist sink whose shard it has not
 *   opened).
 * - A dataflow's imports are held at its as-of, then at its since, until its controller forgets
 *   it: imports of its own cluster by the controller itself; imports owned by another cluster by
 *   a hold from that cluster's controller (`acquireReadHold`), passed as `foreignHolds`.
 * - A materialized view may write (`allowWrites`) once installed, and is never readable below its
 *   readable floor (see `timestamps.ts`): on the legacy path its shard's since is raised to the
 *   as-of its sink starts writing at; the unified state starts the view's one since at its as-of.
 * - `uninstall` is idempotent towards the controllers (a collection they already forgot is fine)
 *   and releases every hold and since handle of the item.
 */

import { CollectionMissing } from "@mzts/controller-unified/state";
import type { DataflowDescription, SourceImport } from "@mzts/protocol";
import type { GlobalId } from "@mzts/repr";
import type { PersistReadHolds } from "@mzts/storage-client";
import type { CatalogItem } from "../catalog/catalog.js";
import { decodeSourceConnection, decodeViewPlan } from "../catalog/specs.js";
import type { Clusters } from "./clusters.js";
import type { Frontiers } from "./frontiers.js";
import { foreignHolds } from "./import-holds.js";
import type { Resolved } from "./objects.js";
import type { Shards } from "./shards.js";
import { ShadowedClusterController } from "./stages/shadowed-controller.js";
import { restartFloor, selectAsOf, sinkFloor } from "./timestamps.js";

export interface DataflowsOptions {
  readonly clusters: Clusters;
  readonly shards: Shards;
  /** The legacy clusters' since handles (a legacy view's readable floor). */
  readonly readHolds: PersistReadHolds;
  readonly frontiers: Frontiers;
}

/** Installs and uninstalls catalog items (see the file comment). */
export class Dataflows {
  readonly #o: DataflowsOptions;

  constructor(opts: DataflowsOptions) {
    this.#o = opts;
  }

  /** A durable collection as a dataflow's source import. */
  sourceImport(r: Resolved): SourceImport {
    return {
      id: r.id,
      shardId: r.shardId ?? "",
      arity: r.arity,
      upper: this.#o.frontiers.upperOf(r) ?? null,
    };
  }

  /** Opens the since handles of an item's shards (subsources, materialized views). */
  async registerShards(item: CatalogItem): Promise<void> {
    const { shards } = this.#o;
    if (item.kind === "source") {
      await shards.open(
        item.clusterId,
        item.exports.map((e) => ({ id: e.id, shardId: e.shardId })),
      );
    } else if (item.kind === "materialized-view") {
      const sinces = await shards.open(item.clusterId, [{ id: item.id, shardId: item.shardId }]);
      // PHASE(state): legacy — delete when cluster-unification-state is retired
      if (this.#isLegacy(item.clusterId)) {
        const { readHolds } = this.#o;
        const floor = restartFloor(sinces.get(item.id) ?? 0n, readHolds.upper(item.id));
        if (floor !== undefined) readHolds.advancePolicy(item.id, floor);
      }
    }
  }

  #isLegacy(clusterId: GlobalId): boolean {
    return this.#o.clusters.findController(clusterId)?.path !== "unified";
  }

  /** The dataflow of an index or materialized view (undefined: a source, or its input is gone). */
  dataflowFor(
    item: CatalogItem,
    byId: ReadonlyMap<GlobalId, Resolved>,
  ): DataflowDescription | undefined {
    const { shards } = this.#o;
    if (item.kind === "index") {
      const on = byId.get(item.dependsOn[0] ?? "");
      if (on === undefined) return undefined;
      return {
        debugName: item.name,
        sourceImports: [this.sourceImport(on)],
        indexImports: [],
        objectsToBuild: [{ id: item.id, plan: { kind: "get", id: on.id, arity: on.arity } }],
        indexExports: [{ id: item.id, objectId: item.id, key: item.key }],
        sinkExports: [],
        asOf: selectAsOf(shards, [on.id]),
        until: null,
      };
    }
    if (item.kind === "materialized-view") {
      const inputs = item.dependsOn.flatMap((id) => {
        const r = byId.get(id);
        return r === undefined ? [] : [this.sourceImport(r)];
      });
      return {
        debugName: item.name,
        sourceImports: inputs,
        indexImports: [],
        objectsToBuild: [{ id: item.id, plan: decodeViewPlan(item.definition) }],
        indexExports: [],
        sinkExports: [
          { id: item.id, fromId: item.id, connection: { kind: "persist", shardId: item.shardId } },
        ],
        asOf: selectAsOf(
          shards,
          inputs.map((i) => i.id),
          item.id,
        ),
        until: null,
      };
    }
    return undefined;
  }

  /** Installs an item: an ingestion, or a dataflow holding its imports. */
  install(item: CatalogItem, byId: ReadonlyMap<GlobalId, Resolved>): void {
    const controller = this.#o.clusters.controllerOf(item.clusterId, "install");
    if (item.kind === "source") {
      controller.createIngestion(item.id, {
        sourceExports: item.exports.map((e) => ({
          id: e.id,
          shardId: e.shardId,
          outputIndex: e.outputIndex,
          name: e.name,
        })),
        connection: decodeSourceConnection(item.spec),
      });
      return;
    }
    const df = this.dataflowFor(item, byId);
    if (df === undefined) return;
    // PHASE(state): legacy — delete when cluster-unification-state is retired
    if (item.kind === "materialized-view" && controller.path === "legacy") {
      const { readHolds } = this.#o;
      const floor = sinkFloor(readHolds.upper(item.id), df.asOf);
      if (floor !== undefined) readHolds.advancePolicy(item.id, floor);
    }
    // A `state` stage's legacy shadow keeps its own (dry) read holds: the same floor there.
    const shadowHolds =
      controller instanceof ShadowedClusterController ? controller.shadowReadHolds : undefined;
    if (item.kind === "materialized-view" && shadowHolds?.has(item.id) === true) {
      const floor = sinkFloor(shadowHolds.upper(item.id), df.asOf);
      if (floor !== undefined) shadowHolds.advancePolicy(item.id, floor);
    }
    const foreign = foreignHolds(this.#o.shards, item.clusterId, df);
    try {
      controller.createDataflow(df, { foreignHolds: foreign });
    } catch (e) {
      for (const h of foreign) h.release();
      throw e;
    }
    if (item.kind === "materialized-view") controller.allowWrites(item.id);
  }

  /** Uninstalls an item: its ingestion or dataflow, holds and since handles. */
  uninstall(item: CatalogItem): void {
    const controller = this.#o.clusters.findController(item.clusterId);
    if (item.kind === "source") {
      if (controller?.hasCollection(item.id) === true) controller.drop(item.id);
      for (const e of item.exports) this.#forgetShard(e.id);
      return;
    }
    try {
      controller?.drop(item.id);
    } catch (e) {
      if (!(e instanceof CollectionMissing)) throw e;
    }
    if (item.kind === "materialized-view") this.#forgetShard(item.id);
  }

  /**
   * A dropped collection's since handle: the unified owner expired it with the drop; a legacy
   * one is in the environment's `PersistReadHolds`.
   */
  #forgetShard(id: GlobalId): void {
    const legacy = this.#o.shards.ownerOf(id)?.path !== "unified";
    this.#o.shards.forget(id);
    // PHASE(state): legacy — delete when cluster-unification-state is retired (the adapter's
    // ingestion drop already let go of its subsources' handles)
    if (legacy && this.#o.readHolds.has(id)) void this.#o.readHolds.unregister(id);
  }
}
