/**
 * Rolling one replica onto new phases (a server-side phase flipped): a successor starts beside
 * it, hydrates, and takes its place — Materialize's graceful reconfiguration (`ALTER CLUSTER …
 * WITH (WAIT UNTIL READY)`: `-pending` replicas (`_pending` here: API names take no `-`), swapped in once hydrated).
 *
 * ## Why a surge and not a restart in place
 * clusterd reads its phases once, at start, so the new phases need a new process. Starting it
 * beside the old one (a surge) means the cluster never has fewer hydrated replicas than before:
 * the old one answers every peek until the successor has caught up, and a one-replica cluster
 * keeps serving too. The successor is a catalog replica of its own (a fresh `u<n>` id: the
 * controllers and the orchestrator key replicas by id), named `<name>_pending` until the swap.
 *
 * ## Steps (numbered walk-through)
 * 1. `start-successor` (in the DDL queue): create `<name>_pending` in the catalog, start it with
 *    the target PhaseSet (`orchestrator.ensureReplica`), attach it to its cluster's controller (its
 *    replay builds every dataflow and ingestion of the cluster), and mark the global frontiers
 *    it must reach (`hydration.ts`). A start that fails removes the catalog entry again.
 * 2. `hydrate` (outside the queue, so DDL goes on): wait until the successor has caught up.
 * 3. `retire` (in the DDL queue): in one catalog write the old replica is dropped and the
 *    successor takes its name (`Catalog.replaceReplica`); then the old replica leaves both
 *    controllers and its process stops.
 * A successor that does not hydrate in time is withdrawn (`withdraw`: dropped from the catalog,
 * the controllers and the orchestrator) and the roll fails with `ReplicaNotHydrated`: the old
 * replica never stopped serving. A replica the user dropped meanwhile is not replaced: its
 * successor is withdrawn and the roll ends. Each roll is journaled (`roll-journal.ts`) from the
 * successor's creation to its swap or withdrawal: an environmentd that dies in between leaves the
 * next one a successor to withdraw (`LiveFlips.start`).
 *
 * ## Invariants
 * - Catalog writes go through the DDL queue with this environment's generation (fencing holds).
 * - At every moment the cluster has at least the replicas it had before the roll, hydrated.
 * - Peeks targeted at the retired replica by id fail once it is gone (as after a drop); the
 *   replica's name answers to the successor from the swap on.
 */
import type { PhaseSet } from "@mzts/flags";
import type { ProcessOrchestrator } from "@mzts/orchestrator";
import type { Logger } from "pino";
import type { Catalog, Cluster, ClusterReplica } from "../../catalog/catalog.js";
import type { Clusters } from "../clusters.js";
import type { DdlQueue } from "../ddl-queue.js";
import type { Replicas } from "../replicas.js";
import type { FlipStepName } from "./flip-metrics.js";
import { markHydration } from "./hydration.js";
import { awaitHydration } from "./hydration-wait.js";
import type { RollJournal } from "./roll-journal.js";

export interface RollDeps {
  readonly catalog: Catalog;
  readonly generation: bigint;
  readonly queue: DdlQueue;
  readonly orchestrator: ProcessOrchestrator;
  readonly replicas: Replicas;
  /** The clusters' controllers (hydration is read from the cluster's). */
  readonly clusters: Clusters;
  readonly log: Logger;
  /** How long a successor may take to hydrate (ms). */
  readonly hydrationTimeoutMs: number;
  /** Rolls under way, for the next environmentd should this one die mid-roll. */
  readonly journal: RollJournal;
}

/** Reports each step as it starts (status, logs) and how it went (metrics). */
export interface StepReporter {
  begin(step: FlipStepName, text: string, replica?: string): void;
  end(step: FlipStepName, ok: boolean): void;
}

/** The longest API name (`[a-z_][a-z0-9_]*`, at most 63 characters). */
const MAX_NAME = 63;

/**
 * The name `<name>_pending` (`_pending2`, … when taken) for a successor: a valid API name, the
 * original shortened when it would be too long.
 */
export function successorName(name: string, taken: ReadonlySet<string>): string {
  for (let i = 1; ; i++) {
    const suffix = i === 1 ? "_pending" : `_pending${i}`;
    const candidate = `${name.slice(0, MAX_NAME - suffix.length)}${suffix}`;
    if (!taken.has(candidate)) return candidate;
  }
}

async function step<T>(
  report: StepReporter,
  name: FlipStepName,
  text: string,
  replica: string,
  f: () => Promise<T>,
): Promise<T> {
  report.begin(name, text, replica);
  try {
    const out = await f();
    report.end(name, true);
    return out;
  } catch (e) {
    report.end(name, false);
    throw e;
  }
}

/**
 * Replaces `old` by a successor started with `target` (see the file comment). Resolves when the
 * successor serves under `old`'s name (or `old` was dropped meanwhile).
 * @throws ReplicaNotHydrated, the orchestrator's start errors, catalog errors, `signal.reason`
 */
export async function rollReplica(
  d: RollDeps,
  cluster: Pick<Cluster, "id" | "name">,
  old: ClusterReplica,
  target: PhaseSet,
  report: StepReporter,
  signal: AbortSignal,
): Promise<void> {
  const log = d.log.child({ cluster_id: cluster.id, replica_id: old.id, replica: old.name });
  const { successor, mark } = await step(
    report,
    "start-successor",
    `starting a successor for ${old.name} with phases [${target.phases.join(",")}]`,
    old.name,
    () =>
      d.queue.run(async () => {
        const taken = new Set((await d.catalog.listReplicas(cluster.name)).map((r) => r.name));
        const name = successorName(old.name, taken);
        const r = await d.catalog.createReplica(d.generation, {
          cluster: cluster.name,
          name,
          workers: old.workers,
          slot: old.slot, // the successor takes its old one's migration slot
        });
        const phases = target.forSlot(r.slot);
        const entry = { clusterId: cluster.id, retiredId: old.id, retiredName: old.name };
        d.journal.begin({ ...entry, successorId: r.id, successorName: r.name });
        try {
          const spec = d.replicas.spec(cluster.id, r.id, r.workers, phases);
          const location = await d.orchestrator.ensureReplica(spec);
          d.replicas.attach(cluster.id, r.id, r.name, r.workers, phases, location, r.slot);
        } catch (e) {
          await d.catalog.dropReplica(d.generation, cluster.name, name).catch(() => undefined);
          await d.orchestrator.dropReplica(r.id).catch(() => undefined);
          d.journal.end(r.id);
          throw e;
        }
        log.info({ successor_id: r.id, successor: r.name }, "flip: successor started");
        return { successor: r, mark: markHydration(d.clusters.controllerOf(cluster.id), r.id) };
      }),
  );
  const label = `${successor.name} (${successor.id})`;
  const withdraw = () =>
    step(report, "withdraw", `withdrawing ${label}`, old.name, () =>
      d.queue.run(async () => {
        await d.catalog
          .dropReplica(d.generation, cluster.name, successor.name)
          .catch(() => undefined);
        await d.replicas.detach(cluster.id, successor.id);
        d.journal.end(successor.id);
        log.warn({ successor_id: successor.id }, "flip: successor withdrawn");
      }),
    );
  try {
    await step(report, "hydrate", `awaiting hydration of ${label}`, old.name, () =>
      awaitHydration({
        controller: d.clusters.controllerOf(cluster.id),
        replicaId: successor.id,
        label,
        mark,
        timeoutMs: d.hydrationTimeoutMs,
        signal,
        onProgress: (p) =>
          log.debug(
            { successor_id: successor.id, pending: p.pending.length, total: p.total },
            "flip: hydrating",
          ),
      }),
    );
  } catch (e) {
    if (!signal.aborted) await withdraw().catch(() => undefined);
    throw e;
  }
  log.info({ successor_id: successor.id }, "flip: successor hydrated");
  const retired = await step(report, "retire", `retiring ${old.name} (${old.id})`, old.name, () =>
    d.queue.run(async () => {
      const names = new Set((await d.catalog.listReplicas(cluster.name)).map((r) => r.name));
      if (!names.has(old.name)) return false; // dropped by the user meanwhile
      await d.catalog.replaceReplica(d.generation, cluster.name, old.name, successor.name);
      d.replicas.rename(successor.id, old.name);
      d.journal.end(successor.id);
      await d.replicas.detach(cluster.id, old.id);
      return true;
    }),
  );
  if (!retired) {
    await withdraw();
    log.info("flip: the replica was dropped during its roll; its successor is withdrawn");
    return;
  }
  log.info({ successor_id: successor.id }, "flip: replica rolled (successor took its name)");
}
