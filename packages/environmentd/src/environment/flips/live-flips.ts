/**
 * Live flips: environmentd watches the phase flags of every cluster it has built and, when a
 * cluster's PhaseSet changes, flips what runs to it (`cluster-flip.ts`) — rolling the replicas
 * for a server-side phase, reseating the controllers for a controller-side one, rebuilding the
 * cluster's controller when whether `state` takes effect changes (`controller-rebuild.ts`;
 * design §7, §9).
 *
 * ## Flow
 * 0. `start()` (once, after the boot's rebuild): a roll the previous environmentd left half-done
 *    (`roll-journal.ts`) is undone — its successor, still under its `_pending` name, is dropped
 *    (catalog, controllers, process); a swapped one is kept — then every cluster is watched.
 * 1. `Clusters.onChange`: a cluster built (boot, `createCluster`) is watched — subscribed to the
 *    flags (`subscribe`, the `@mzts/flags` provider's change events; file and LaunchDarkly
 *    sources alike) — and poked once, in case its flags changed since it was built; a dropped
 *    one is forgotten (its flip aborted).
 * 2. A change event pokes the cluster's `ClusterFlip`, which plans and runs the steps.
 * 3. Without change events (a PhaseSet function injected by tests), `poke(clusterId)` does it.
 *
 * ## Invariants
 * - One `ClusterFlip` per watched cluster; flips of different clusters run independently.
 * - `close()` unsubscribes, aborts every flip and resolves when they have stopped; it runs before
 *   the environment closes its DDL queue and controllers.
 */
import type { PhaseSet, PhaseSetListener } from "@mzts/flags";
import type { FlipStatus } from "@mzts/protocol";
import type { Registry } from "prom-client";
import { ClusterFlip, type ClusterFlipDeps } from "./cluster-flip.js";
import { flipMetrics } from "./flip-metrics.js";
import { RollJournal } from "./roll-journal.js";

export interface LiveFlipsOptions extends Omit<ClusterFlipDeps, "metrics" | "journal"> {
  readonly registry: Registry;
  /** Where the roll journal lives (`<dataDir>/flips.json`). */
  readonly journalPath: string;
  /** The flags' change events; undefined when the phase source has none. */
  readonly subscribe?: (clusterId: string, listener: PhaseSetListener) => () => void;
}

/** Every watched cluster's flip (see the file comment). */
export class LiveFlips {
  readonly #o: LiveFlipsOptions;
  readonly #deps: ClusterFlipDeps;
  readonly #flips = new Map<string, { flip: ClusterFlip; unsubscribe: () => void }>();
  readonly #unwatch: () => void;
  #closed = false;

  constructor(opts: LiveFlipsOptions) {
    this.#o = opts;
    this.#deps = {
      ...opts,
      metrics: flipMetrics(opts.registry),
      journal: new RollJournal(opts.journalPath),
    };
    this.#unwatch = opts.clusters.onChange((clusterId, built) => {
      if (built) this.watch(clusterId);
      else this.forget(clusterId);
    });
  }

  /** Undoes the rolls a previous environmentd left half-done, then watches every cluster. */
  async start(): Promise<void> {
    const d = this.#deps;
    for (const roll of d.journal.entries()) {
      await d.queue
        .run(async () => {
          const cluster = (await d.catalog.listClusters()).find((c) => c.id === roll.clusterId);
          const successor =
            cluster === undefined
              ? undefined
              : (await d.catalog.listReplicas(cluster.name)).find((r) => r.id === roll.successorId);
          if (cluster !== undefined && successor?.name === roll.successorName) {
            await d.catalog.dropReplica(d.generation, cluster.name, successor.name);
            await d.replicas.detach(cluster.id, successor.id);
            d.log.warn(
              { cluster_id: cluster.id, successor_id: successor.id, replica: roll.retiredName },
              "flip: withdrew the successor of a roll a previous environmentd left half-done",
            );
          }
          d.journal.end(roll.successorId);
        })
        .catch((e: unknown) =>
          d.log.error(
            { err: e, successor_id: roll.successorId },
            "flip: could not undo a half-done roll; its successor stays as a replica — drop it",
          ),
        );
    }
    for (const c of await d.catalog.listClusters()) this.watch(c.id);
  }

  /** Watches a cluster's flags (idempotent) and checks it once. */
  watch(clusterId: string): void {
    if (this.#closed) return;
    let entry = this.#flips.get(clusterId);
    if (entry === undefined) {
      const flip = new ClusterFlip(clusterId, this.#deps);
      const unsubscribe =
        this.#o.subscribe?.(clusterId, (next: PhaseSet, previous: PhaseSet) => {
          this.#deps.log.info(
            { cluster_id: clusterId, next: next.phases, previous: previous.phases },
            "flip: the cluster's phases changed",
          );
          flip.poke();
        }) ?? (() => {});
      entry = { flip, unsubscribe };
      this.#flips.set(clusterId, entry);
    }
    entry.flip.poke();
  }

  /** Stops watching a cluster and aborts its flip. */
  forget(clusterId: string): void {
    const entry = this.#flips.get(clusterId);
    if (entry === undefined) return;
    this.#flips.delete(clusterId);
    entry.unsubscribe();
    void entry.flip.close();
  }

  /** Checks a cluster's phases now (a source without change events; tests). */
  poke(clusterId: string): void {
    this.#flips.get(clusterId)?.flip.poke();
  }

  /** The flip in progress, or the last one that failed, of a cluster. */
  statusOf(clusterId: string): FlipStatus | undefined {
    return this.#flips.get(clusterId)?.flip.status;
  }

  /** Resolves when no flip runs (every cluster's, or one's). */
  async idle(clusterId?: string): Promise<void> {
    const flips = [...this.#flips]
      .filter(([id]) => clusterId === undefined || id === clusterId)
      .map(([, e]) => e.flip.idle());
    await Promise.all(flips);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#unwatch();
    const entries = [...this.#flips.values()];
    this.#flips.clear();
    for (const e of entries) e.unsubscribe();
    await Promise.all(entries.map((e) => e.flip.close()));
  }
}
