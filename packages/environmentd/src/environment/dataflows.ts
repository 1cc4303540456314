/**
 * Installing catalog items in the controllers: a source becomes a storage ingestion (one export
 * per subsource), an index or a materialized view a compute dataflow over its durable inputs,
 * with its as-of chosen by `selectAsOf` and its imports held (`ImportHolds`).
 *
 * ## Invariants
 * - Shards first: `registerShards` opens the environment's since handles on an item's shards
 *   before it is installed (its as-of is chosen from their sinces and uppers).
 * - A dataflow's import holds are taken before it is created and kept until it is uninstalled;
 *   a materialized view may write (`allowWrites`) once installed.
 * - A materialized view is never readable below its readable floor (see `timestamps.ts`): its
 *   shard's since is raised to the as-of its sink starts writing at, before anything (an index,
 *   a subscribe) can choose a time on it.
 * - `uninstall` is idempotent towards the controllers (a collection they already forgot is fine)
 *   and releases every hold and since handle of the item.
 */
import {
  CollectionMissing as ComputeCollectionMissing,
  type ComputeController,
} from "@mzts/compute-client";
import type { DataflowDescription, SourceImport } from "@mzts/protocol";
import type { GlobalId } from "@mzts/repr";
import type { PersistReadHolds, StorageController } from "@mzts/storage-client";
import type { CatalogItem } from "../catalog/catalog.js";
import { decodeSourceConnection, decodeViewPlan } from "../catalog/specs.js";
import type { Frontiers } from "./frontiers.js";
import type { ImportHolds } from "./import-holds.js";
import type { Resolved } from "./objects.js";
import { restartFloor, selectAsOf, sinkFloor } from "./timestamps.js";

export interface DataflowsOptions {
  readonly compute: ComputeController;
  readonly storage: StorageController;
  readonly readHolds: PersistReadHolds;
  readonly importHolds: ImportHolds;
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
    const { readHolds } = this.#o;
    if (item.kind === "source") {
      for (const e of item.exports) await readHolds.register(e.id, e.shardId);
    } else if (item.kind === "materialized-view") {
      const since = await readHolds.register(item.id, item.shardId);
      const floor = restartFloor(since, readHolds.upper(item.id));
      if (floor !== undefined) readHolds.advancePolicy(item.id, floor);
    }
  }

  /** The dataflow of an index or materialized view (undefined: a source, or its input is gone). */
  dataflowFor(
    item: CatalogItem,
    byId: ReadonlyMap<GlobalId, Resolved>,
  ): DataflowDescription | undefined {
    const { readHolds } = this.#o;
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
        asOf: selectAsOf(readHolds, [on.id]),
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
          readHolds,
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
    const { compute, storage, importHolds } = this.#o;
    if (item.kind === "source") {
      storage.createIngestion(item.clusterId, item.id, {
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
    if (item.kind === "materialized-view") {
      const floor = sinkFloor(this.#o.readHolds.upper(item.id), df.asOf);
      if (floor !== undefined) this.#o.readHolds.advancePolicy(item.id, floor);
    }
    const imports = df.sourceImports.map((i) => i.id);
    importHolds.holdWhile(item.id, imports, df.asOf, () =>
      compute.createDataflow(item.clusterId, df),
    );
    if (item.kind === "materialized-view") compute.allowWrites(item.clusterId, item.id);
  }

  /** Uninstalls an item: its ingestion or dataflow, holds and since handles. */
  uninstall(item: CatalogItem): void {
    const { compute, storage, readHolds, importHolds } = this.#o;
    if (item.kind === "source") {
      if (storage.hasCollection(item.id)) storage.dropIngestion(item.id);
      for (const e of item.exports) void readHolds.unregister(e.id);
      return;
    }
    importHolds.release(item.id);
    if (item.kind === "materialized-view") void readHolds.unregister(item.id);
    try {
      compute.dropCollection(item.id);
    } catch (e) {
      if (!(e instanceof ComputeCollectionMissing)) throw e;
    }
  }
}
