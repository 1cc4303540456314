/**
 * DDL: creating and dropping clusters, replicas, sources, indexes and materialized views.
 *
 * ## Invariants
 * - Every operation runs in the DDL queue (one at a time) and writes the catalog first, with this
 *   environment's generation, and only then touches the controllers and the orchestrator: a
 *   zombie fails with `StaleGeneration` and changes nothing.
 * - Requests are validated against the resolved objects before the catalog write (an index's key
 *   columns, a view's `get`s and plan); what the catalog refuses (names, dependencies) it names.
 * - A replica that cannot start is removed from the catalog again (best effort) and the error
 *   returned; a replica's PhaseSet is read once, at its start, and resolved for its migration
 *   slot (`stages/replica-slots.ts`: the slot is given at creation, a tie to the authoritative
 *   path, and kept in the catalog).
 * - Drops uninstall dependents first (the catalog returns them in that order), then detach the
 *   replicas, then drop the clusters' instances.
 */
import type { PhaseSet } from "@mzts/flags";
import type { ProcessOrchestrator, ReplicaLocation } from "@mzts/orchestrator";
import {
  type CreateClusterRequest,
  type CreateIndexRequest,
  type CreateMaterializedViewRequest,
  type CreateReplicaRequest,
  type CreateSourceRequest,
  type CreateSourceResponse,
  type DropClusterRequest,
  type DropObjectRequest,
  type DropReplicaRequest,
  introspectionIntervalProblem,
  objectKindPhrase,
} from "@mzts/protocol";
import type { Catalog } from "../catalog/catalog.js";
import { UnknownObject } from "../catalog/errors.js";
import { encodeSourceSpec, encodeViewDefinition } from "../catalog/specs.js";
import { InvalidObjectRequest, ObjectFailed, SubsourceDrop } from "../errors.js";
import { clusterOptions } from "../introspection/log-indexes.js";
import { validateIndexKey } from "../validation/index-key.js";
import { validateViewPlan } from "../validation/plan.js";
import type { Clusters } from "./clusters.js";
import type { Dataflows } from "./dataflows.js";
import type { DdlQueue } from "./ddl-queue.js";
import type { ObjectCache } from "./object-cache.js";
import { GENERATOR_OUTPUTS, planGets } from "./objects.js";
import type { Replicas } from "./replicas.js";
import { replicaPhases, tieSlot } from "./stages/replica-slots.js";

export interface DdlOptions {
  readonly catalog: Catalog;
  readonly generation: bigint;
  readonly queue: DdlQueue;
  readonly objects: ObjectCache;
  readonly orchestrator: ProcessOrchestrator;
  readonly clusters: Clusters;
  readonly replicas: Replicas;
  readonly dataflows: Dataflows;
  readonly readPhases: (clusterId: string) => Promise<PhaseSet>;
}

/** The DDL operations (see the file comment). */
export class Ddl {
  readonly #o: DdlOptions;

  constructor(opts: DdlOptions) {
    this.#o = opts;
  }

  createCluster(req: CreateClusterRequest): Promise<{ id: string }> {
    const { catalog, generation, clusters } = this.#o;
    return this.#o.queue.run(async () => {
      const problem =
        req.introspectionIntervalMs === undefined
          ? undefined
          : introspectionIntervalProblem(req.introspectionIntervalMs);
      if (problem !== undefined) throw new InvalidObjectRequest("introspectionIntervalMs", problem);
      const c = await catalog.createCluster(generation, {
        name: req.name,
        options: clusterOptions(req.introspectionIntervalMs),
      });
      await clusters.build(c);
      return { id: c.id };
    });
  }

  dropCluster(req: DropClusterRequest): Promise<void> {
    const { catalog, generation, clusters, replicas, dataflows } = this.#o;
    return this.#o.queue.run(async () => {
      const dropped = await catalog.dropCluster(generation, req.name, { cascade: req.cascade });
      for (const o of dropped) {
        if (o.kind === "source" || o.kind === "index" || o.kind === "materialized-view")
          dataflows.uninstall(o);
      }
      for (const o of dropped) {
        if (o.kind === "replica") await replicas.detach(o.clusterId, o.id);
      }
      for (const o of dropped) {
        if (o.kind === "cluster") await clusters.drop(o.id);
      }
    });
  }

  createReplica(req: CreateReplicaRequest): Promise<{ id: string }> {
    const { catalog, generation, orchestrator, replicas } = this.#o;
    return this.#o.queue.run(async () => {
      const cluster = await catalog.getCluster(req.cluster);
      const current = await this.#o.readPhases(cluster.id); // once, at replica start (style §16)
      const r = await catalog.createReplica(generation, {
        cluster: req.cluster,
        name: req.name,
        workers: req.size,
        tieSlot: tieSlot(current),
      });
      const phases = replicaPhases(current, r.slot);
      let location: ReplicaLocation;
      try {
        location = await orchestrator.ensureReplica(
          replicas.spec(r.clusterId, r.id, r.workers, phases),
        );
      } catch (e) {
        await catalog.dropReplica(generation, req.cluster, req.name).catch(() => undefined);
        throw e;
      }
      replicas.attach(r.clusterId, r.id, r.name, r.workers, phases, location, r.slot);
      return { id: r.id };
    });
  }

  dropReplica(req: DropReplicaRequest): Promise<void> {
    const { catalog, generation, replicas } = this.#o;
    return this.#o.queue.run(async () => {
      const r = await catalog.dropReplica(generation, req.cluster, req.name);
      await replicas.detach(r.clusterId, r.id);
    });
  }

  createSource(req: CreateSourceRequest): Promise<CreateSourceResponse> {
    const { catalog, generation, dataflows } = this.#o;
    return this.#o.queue.run(async () => {
      const outputs = GENERATOR_OUTPUTS[req.loadGenerator.generator.kind];
      const source = await catalog.createSource(generation, {
        name: req.name,
        cluster: req.cluster,
        spec: encodeSourceSpec(req),
        exports: outputs.map((o, i) => ({ name: `${req.name}_${o.name}`, outputIndex: i })),
      });
      await dataflows.registerShards(source);
      dataflows.install(source, new Map());
      return {
        id: source.id,
        subsources: source.exports.map((e) => ({ id: e.id, name: e.name })),
      };
    });
  }

  createIndex(req: CreateIndexRequest): Promise<{ id: string }> {
    const { catalog, generation, dataflows } = this.#o;
    return this.#o.queue.run(async () => {
      const { byName, byId } = await this.#o.objects.get();
      const on = byName.get(req.on);
      if (on === undefined) throw new UnknownObject("object", req.on);
      if (on.kind === "index" || on.kind === "source") {
        throw new InvalidObjectRequest(
          "on",
          `${req.on} is ${objectKindPhrase(on.kind)}; index a subsource or materialized view instead`,
        );
      }
      const key = validateIndexKey(req.key, req.on, on.arity);
      const index = await catalog.createIndex(generation, {
        name: req.name,
        cluster: req.cluster,
        definition: JSON.stringify({ on: on.id }),
        key,
        dependsOn: [on.id],
      });
      dataflows.install(index, byId);
      return { id: index.id };
    });
  }

  createMaterializedView(req: CreateMaterializedViewRequest): Promise<{ id: string }> {
    const { catalog, generation, dataflows } = this.#o;
    return this.#o.queue.run(async () => {
      const { byId } = await this.#o.objects.get();
      const gets = planGets(req.plan);
      for (const id of gets) {
        const r = byId.get(id);
        if (r === undefined) throw new UnknownObject("object", id);
        if (r.kind !== "subsource" && r.kind !== "materializedView") {
          throw new InvalidObjectRequest(
            "plan",
            `get ${id} names ${r.name}, ${objectKindPhrase(r.kind)}; read subsources or materialized views`,
          );
        }
        if (r.failed !== undefined) throw new ObjectFailed(r.name, r.failed);
      }
      validateViewPlan(req.plan, (id) => byId.get(id)?.arity);
      const view = await catalog.createMaterializedView(generation, {
        name: req.name,
        cluster: req.cluster,
        definition: encodeViewDefinition(req),
        dependsOn: [...gets],
      });
      await dataflows.registerShards(view);
      const after = await this.#o.objects.get();
      dataflows.install(view, after.byId);
      return { id: view.id };
    });
  }

  dropObject(req: DropObjectRequest): Promise<void> {
    const { catalog, generation, dataflows } = this.#o;
    return this.#o.queue.run(async () => {
      const { byName, byId } = await this.#o.objects.get();
      const r = byName.get(req.name);
      if (r === undefined) throw new UnknownObject("object", req.name);
      if (r.kind === "subsource") {
        throw new SubsourceDrop(req.name, byId.get(r.on ?? "")?.name ?? "its source");
      }
      const kind =
        r.kind === "materializedView"
          ? "materialized-view"
          : r.kind === "index"
            ? "index"
            : "source";
      const dropped = await catalog.dropItem(generation, kind, req.name, { cascade: req.cascade });
      for (const item of dropped) dataflows.uninstall(item);
    });
  }
}
