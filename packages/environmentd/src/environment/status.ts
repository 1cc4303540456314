/**
 * What the environment reports: the cluster listing, status (replica health, collection
 * frontiers, since and lag, the phase flags and the controller paths per cluster) and flags.
 *
 * ## Invariants
 * - Lists are ordered by name (clusters, replicas, collections) or key (flags).
 * - A collection is listed once its write frontier is known (an index once a replica reported on
 *   it); lag = now − (upper − 1) ms, absent for an empty or not started upper. A failed one (an
 *   invalid stored definition, or quarantined by compute) is listed with `failed`, frontiers 0.
 * - Flags per cluster: `applied` is what runs — for a server-side phase every running replica's
 *   PhaseSet (the controllers' when no replica runs), for a controller-side phase the
 *   controllers' (`flips/flip-plan.ts` says which is which); `flipping` when the current PhaseSet
 *   differs from what runs, or the replicas disagree: a live flip is on its way (`flip`).
 * - `flip`: the cluster's live flip in progress, or the last one that failed (`flips/`); a
 *   rebuild of the cluster's controller in progress shows as `rebuilding` (its flip's, or one of
 *   its own). Meanwhile a collection its controller cannot answer for yet (a new controller
 *   still installing, the old one closed) is left out instead of failing the call.
 * - `controllers`: what `selectControllers` chose when the cluster's controllers were built.
 * - `migrations`: the cluster's phases in a middle migration stage, with the replicas' slots
 *   and the peek comparisons so far (`stages/cluster-stages.ts`); absent when none migrates.
 * - `introspectionIntervalMs` (listing and status): the cluster's, as stored (0 = logging off).
 */
import { FLAG_KEYS, PHASES, type PhaseSet } from "@mzts/flags";
import type {
  ClusterStatus,
  CollectionStatus,
  FlagState,
  FlipStatus,
  GetFlagsRequest,
  GetFlagsResponse,
  ListClustersResponse,
  StatusRequest,
  StatusResponse,
} from "@mzts/protocol";
import type { Frontier, GlobalId } from "@mzts/repr";
import type { Catalog, Cluster } from "../catalog/catalog.js";
import type { ClusterControllers } from "../controllers.js";
import { introspectionIntervalOf } from "../introspection/log-indexes.js";
import { byName, collectionsByCluster } from "./cluster-collections.js";
import type { Clusters } from "./clusters.js";
import { phasesText, SERVER_SIDE_PHASES } from "./flips/flip-plan.js";
import type { Frontiers } from "./frontiers.js";
import type { ObjectCache } from "./object-cache.js";
import type { Replicas } from "./replicas.js";
import type { ClusterStages } from "./stages/cluster-stages.js";

export interface StatusOptions {
  readonly catalog: Catalog;
  readonly objects: ObjectCache;
  readonly frontiers: Frontiers;
  readonly replicas: Replicas;
  /** Also the collections each cluster's controller quarantined (`failures`). */
  readonly clusters: Clusters;
  readonly readPhases: (clusterId: string) => Promise<PhaseSet>;
  /** Migration stages: each migrating cluster's split and comparisons (`stages/`). */
  readonly stages?: ClusterStages;
  /** The live flip of a cluster, if any (`flips/live-flips.ts`). */
  readonly flipOf?: (clusterId: GlobalId) => FlipStatus | undefined;
}

/** The environment's reports (see the file comment). */
export class Status {
  readonly #o: StatusOptions;

  constructor(opts: StatusOptions) {
    this.#o = opts;
  }

  async listClusters(): Promise<ListClustersResponse> {
    const { clusters, replicas: reps } = await this.#o.objects.get();
    return {
      clusters: [...clusters].sort(byName).map((c) => ({
        id: c.id,
        name: c.name,
        replicas: reps
          .filter((r) => r.clusterId === c.id)
          .sort(byName)
          .map((r) => ({ id: r.id, name: r.name, size: r.workers })),
        introspectionIntervalMs: introspectionIntervalOf(c),
      })),
    };
  }

  /**
   * Everything from the resolved-object cache (one catalog read per DDL, not per call): at 1,000
   * indexes the two catalog reads it made per call (clusters, replicas; each loads and decodes
   * every catalog row) were most of a Status call's time (issue 16). Each cluster's collections
   * come already by name (`cluster-collections.ts`, derived once per DDL), and their frontiers
   * with one controller lookup per cluster (`Frontiers.progressIn`).
   */
  async status(req: StatusRequest): Promise<StatusResponse> {
    const { frontiers, replicas } = this.#o;
    const { byId, clusters: all, replicas: reps } = await this.#o.objects.get();
    const clusters = await this.#cachedClustersFor(req.cluster, all);
    const now = BigInt(Date.now());
    const out: ClusterStatus[] = [];
    const listed = collectionsByCluster(byId);
    for (const c of clusters) {
      const collections: CollectionStatus[] = [];
      const controller = this.#o.clusters.findController(c.id);
      const failures = controller?.failures();
      // A rebuild in progress (a live flip of `state`): its controller may not know every
      // collection yet; those are left out until it is done and the flip shows `rebuilding`.
      const rebuildingSince = this.#o.clusters.rebuildingSince(c.id);
      // Already by name (`cluster-collections.ts`): the rows keep that order.
      for (const r of listed.get(c.id) ?? []) {
        const failed = r.failed ?? failures?.get(r.id);
        if (failed !== undefined) {
          collections.push({ id: r.id, name: r.name, writeFrontier: 0n, since: 0n, failed });
          continue;
        }
        let p: { readonly write: Frontier; readonly since: Frontier } | undefined;
        try {
          p = frontiers.progressIn(controller, r);
        } catch (e) {
          if (rebuildingSince === undefined) throw e;
          continue;
        }
        if (p === undefined) continue;
        const { write, since } = p;
        if (write === null || write === 0n) {
          collections.push({ id: r.id, name: r.name, writeFrontier: write, since });
          continue;
        }
        const lag = now - (write - 1n);
        collections.push({
          id: r.id,
          name: r.name,
          writeFrontier: write,
          since,
          lagMs: lag > 0n ? Number(lag) : 0,
        });
      }
      const selection = this.#o.clusters.selection(c.id);
      const ofCluster = reps.filter((r) => r.clusterId === c.id);
      const migrations = this.#o.stages?.migrations(c.id, ofCluster) ?? [];
      out.push({
        id: c.id,
        name: c.name,
        replicas: [...ofCluster].sort(byName).map((r) => ({
          id: r.id,
          name: r.name,
          size: r.workers,
          ...replicas.healthOf(c.id, r.id),
        })),
        collections,
        flags: await this.flagStates(c.id),
        introspectionIntervalMs: introspectionIntervalOf(c),
        ...(selection === undefined ? {} : { controllers: [...selection.paths] }),
        ...flipField(this.#o.flipOf?.(c.id) ?? rebuildFlip(rebuildingSince, selection)),
        ...(migrations.length === 0 ? {} : { migrations }),
      });
    }
    return { clusters: out };
  }

  async getFlags(req: GetFlagsRequest): Promise<GetFlagsResponse> {
    const clusters = await this.#clustersFor(req.cluster);
    return {
      clusters: await Promise.all(
        clusters.map(async (c) => ({ cluster: c.name, flags: await this.flagStates(c.id) })),
      ),
    };
  }

  /** The phase flags of a cluster: in force now, applied in what runs, flipping. */
  async flagStates(clusterId: GlobalId): Promise<FlagState[]> {
    const now = await this.#o.readPhases(clusterId);
    const running = this.#o.replicas.ofCluster(clusterId);
    const built = this.#o.clusters.selection(clusterId)?.phases ?? now;
    return PHASES.map((p) => {
      const inForce = now.inForce[p];
      const serverSide = SERVER_SIDE_PHASES.includes(p) && running.length > 0;
      const applied = serverSide ? running.every((r) => r.phases.inForce[p]) : built.inForce[p];
      // A replica of a migrating cluster runs its slot's phases (`stages/`), not the cluster's.
      const mixed =
        serverSide && running.some((r) => r.phases.inForce[p] !== now.forSlot(r.slot).inForce[p]);
      return {
        key: FLAG_KEYS[p],
        enabled: now.flagsOn[p],
        inForce,
        blockedBy: (now.blocked[p] ?? []).map((q) => FLAG_KEYS[q]),
        applied,
        flipping: inForce !== applied || mixed,
      };
    }).sort((a, b) => (a.key < b.key ? -1 : 1));
  }

  /** `#clustersFor` over the cached clusters; an unknown name asks the catalog (its error). */
  async #cachedClustersFor(
    name: string | undefined,
    all: readonly Cluster[],
  ): Promise<readonly Cluster[]> {
    if (name === undefined) return [...all].sort(byName);
    const c = all.find((x) => x.name === name);
    return c === undefined ? this.#clustersFor(name) : [c];
  }

  async #clustersFor(name: string | undefined): Promise<readonly Cluster[]> {
    const { catalog } = this.#o;
    if (name !== undefined) return [await catalog.getCluster(name)];
    return [...(await catalog.listClusters())].sort(byName);
  }
}

const flipField = (flip: FlipStatus | undefined) => (flip === undefined ? {} : { flip });

/**
 * A rebuild no flip reports (a flip reports its own, as `rebuilding`): shown as one, so a
 * collection left out meanwhile is explained.
 */
function rebuildFlip(
  since: number | undefined,
  selection: ClusterControllers | undefined,
): FlipStatus | undefined {
  if (since === undefined) return undefined;
  return {
    state: "rebuilding",
    step: "rebuilding the cluster's controller (its replicas keep running)",
    stepSinceMs: since,
    startedMs: since,
    target: selection === undefined ? "" : phasesText(selection.phases),
  };
}
