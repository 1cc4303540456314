/**
 * The flip of one cluster: brings what runs (its controllers' PhaseSet, its replicas' PhaseSets)
 * to the cluster's current PhaseSet, one step at a time (`flip-plan.ts`), and keeps the status of
 * the flip in progress or the last one that failed.
 *
 * ## A flip during a flip: supersede at step boundaries
 * The target is read again before every step, so a flag that changes while a flip runs takes
 * effect at the next step: the newest target wins, intermediate ones are never queued. A step
 * in progress finishes first (a successor hydrating is not killed half-way: its replica then
 * differs from the newest target and is rolled again; a change that is undone before its replica
 * was reached rolls nothing). A change that arrives while no flip runs starts one. Only one flip
 * of a cluster runs at a time.
 *
 * ## Failure
 * A step that fails (a successor that does not hydrate in time, a start that fails) stops the
 * flip: the old replicas keep serving, status shows `failed` with the step and the error until
 * the next flip of the cluster starts (the next flag change, or `poke()`). No automatic retry: a
 * replica that cannot hydrate would otherwise be started again and again.
 *
 * ## Steps and what they report
 * | Step (plan)  | Status `state` | Metric steps                                 |
 * | ------------ | -------------- | -------------------------------------------- |
 * | `rebuild`    | `rebuilding`   | `rebuild`, then `reconcile` (`controller-rebuild.ts`)       |
 * | `reseat`     | `reseating`    | `reseat`, then `reconcile` (every replica caught up again) |
 * | `record`     | (none)         | (none: only the recorded PhaseSet moves)     |
 * | `roll`       | `rolling`      | `start-successor`, `hydrate`, `retire` (`withdraw` on failure) |
 *
 * ## Invariants
 * - `close()` aborts a running flip at its next await (a hydration wait ends at once) and resolves
 *   when it has stopped; nothing runs after it.
 * - A cluster that is dropped during a flip ends it quietly (no failure is reported).
 */
import type { PhaseSet } from "@mzts/flags";
import type { FlipStatus } from "@mzts/protocol";
import type { Logger } from "pino";
import type { Catalog, Cluster, ClusterReplica } from "../../catalog/catalog.js";
import { UnknownObject } from "../../catalog/errors.js";
import type { Clusters } from "../clusters.js";
import type { Replicas } from "../replicas.js";
import { type RebuildDeps, rebuildController } from "./controller-rebuild.js";
import type { FlipKind, FlipMetrics, FlipStepName } from "./flip-metrics.js";
import {
  CONTROLLER_SIDE_PHASES,
  differsIn,
  nextFlipStep,
  phasesText,
  type RunningReplica,
  SERVER_SIDE_PHASES,
  statePathChanges,
} from "./flip-plan.js";
import { markHydration } from "./hydration.js";
import { awaitHydration } from "./hydration-wait.js";
import { type RollDeps, rollReplica, type StepReporter } from "./replica-roll.js";

export interface ClusterFlipDeps extends RollDeps, RebuildDeps {
  readonly catalog: Catalog;
  readonly clusters: Clusters;
  readonly replicas: Replicas;
  readonly readPhases: (clusterId: string) => Promise<PhaseSet>;
  readonly metrics: FlipMetrics;
  readonly log: Logger;
}

/** The flip state machine of one cluster (see the file comment). */
export class ClusterFlip {
  readonly clusterId: string;
  readonly #d: ClusterFlipDeps;
  readonly #abort = new AbortController();
  /** A change arrived that the running flip (if any) may not have seen. */
  #dirty = false;
  /** The running flip loop; undefined when idle. */
  #running: Promise<void> | undefined;
  /** The flip in progress, or the last one that failed; undefined otherwise. */
  #status: FlipStatus | undefined;
  /** When the current step began (performance.now(), for the step histogram). */
  #stepStarted = 0;
  /** The status as of the first step of this flip that failed (a withdraw after it must not hide it). */
  #failedAt: FlipStatus | undefined;

  constructor(clusterId: string, deps: ClusterFlipDeps) {
    this.clusterId = clusterId;
    this.#d = deps;
  }

  /** What status shows for this cluster's flip. */
  get status(): FlipStatus | undefined {
    return this.#status;
  }

  /** Whether a flip is running. */
  get running(): boolean {
    return this.#running !== undefined;
  }

  /** The phases may have changed: start a flip, or let the running one see the change. */
  poke(): void {
    if (this.#abort.signal.aborted) return;
    this.#dirty = true;
    this.#running ??= this.#loop().finally(() => {
      this.#running = undefined;
    });
  }

  /** Resolves when no flip is running (for tests and `close`). */
  async idle(): Promise<void> {
    while (this.#running !== undefined) await this.#running;
  }

  /** Aborts a running flip and resolves once it stopped. */
  async close(): Promise<void> {
    this.#abort.abort(new Error("the environment is closing"));
    await this.idle();
  }

  async #loop(): Promise<void> {
    while (this.#dirty && !this.#abort.signal.aborted) {
      this.#dirty = false;
      await this.#flip();
    }
  }

  /** One flip: steps until what runs matches the newest target, or a step fails. */
  async #flip(): Promise<void> {
    const d = this.#d;
    const signal = this.#abort.signal;
    let kind: FlipKind | undefined;
    let log = d.log.child({ cluster_id: this.clusterId });
    try {
      for (;;) {
        if (signal.aborted) return;
        const cluster = await this.#cluster();
        const controllers = d.clusters.selection(this.clusterId)?.phases;
        if (cluster === undefined || controllers === undefined) return; // dropped
        const target = await d.readPhases(this.clusterId);
        const replicas = await this.#replicasOf(cluster);
        const next = nextFlipStep(
          controllers,
          replicas.map((r) => r.running),
          target,
        );
        if (next.kind === "done") {
          if (kind !== undefined) {
            d.metrics.completed(kind);
            log.info({ kind }, `flip done: cluster ${cluster.name} runs [${phasesText(target)}]`);
          }
          this.#status = undefined;
          return;
        }
        if (kind === undefined) {
          this.#failedAt = undefined;
          kind = flipKind(
            controllers,
            replicas.map((r) => r.running),
            target,
          );
          log = log.child({ flip_kind: kind, target: phasesText(target) });
          d.metrics.started(kind);
          log.info(
            { from_controllers: phasesText(controllers) },
            `flip started: cluster ${cluster.name} to [${phasesText(target)}]`,
          );
          const now = Date.now();
          this.#status = {
            state: "rolling",
            step: "planning",
            stepSinceMs: now,
            startedMs: now,
            target: phasesText(target),
          };
        }
        this.#status = { ...(this.#status as FlipStatus), target: phasesText(target) };
        if (next.kind === "record") {
          await d.clusters.reseat(this.clusterId, target);
          continue;
        }
        if (next.kind === "reseat") {
          await this.#reseat(target, log);
          continue;
        }
        if (next.kind === "rebuild") {
          const done = await rebuildController(
            d,
            cluster,
            this.#reporter("rebuilding", log),
            signal,
            log,
          );
          log.info(
            done,
            `flip: cluster ${cluster.name}'s controller rebuilt (${done.from} → ${done.to})`,
          );
          continue;
        }
        const old = replicas.find((r) => r.running.id === next.replica.id)?.catalog;
        if (old === undefined) continue; // raced with a drop: plan again
        await rollReplica(d, cluster, old, target, this.#reporter("rolling", log), signal);
      }
    } catch (e) {
      if (signal.aborted) return;
      if ((await this.#cluster().catch(() => undefined)) === undefined) {
        this.#status = undefined; // the cluster was dropped: nothing to report
        return;
      }
      if (kind !== undefined) d.metrics.failed(kind);
      const error = e instanceof Error ? e.message : String(e);
      log.error({ err: e, step: this.#status?.step }, `flip failed: ${error}`);
      const now = Date.now();
      const at = this.#failedAt ?? this.#status;
      this.#status = {
        state: "failed",
        step: at?.step ?? "planning",
        ...(at?.replica === undefined ? {} : { replica: at.replica }),
        stepSinceMs: at?.stepSinceMs ?? now,
        startedMs: at?.startedMs ?? now,
        target: at?.target ?? "",
        error,
      };
    }
  }

  /** Reseats the controllers, then waits until every replica caught up again. */
  async #reseat(target: PhaseSet, log: Logger): Promise<void> {
    const d = this.#d;
    const report = this.#reporter("reseating", log);
    const controller = d.clusters.controllerOf(this.clusterId, "reseat");
    const ids = controller.replicas().map((r) => r.replicaId);
    const marks = new Map(ids.map((id) => [id, markHydration(controller, id)]));
    report.begin("reseat", `reseating the controllers on [${phasesText(target)}]`);
    try {
      await d.clusters.reseat(this.clusterId, target);
      report.end("reseat", true);
    } catch (e) {
      report.end("reseat", false);
      throw e;
    }
    report.begin("reconcile", `awaiting reconciliation of ${ids.length} replica(s)`);
    try {
      await Promise.all(
        [...marks].map(([replicaId, mark]) =>
          awaitHydration({
            controller: d.clusters.controllerOf(this.clusterId, "reseat"),
            replicaId,
            label: replicaId,
            mark,
            timeoutMs: d.hydrationTimeoutMs,
            signal: this.#abort.signal,
          }),
        ),
      );
      report.end("reconcile", true);
    } catch (e) {
      report.end("reconcile", false);
      throw e;
    }
  }

  #reporter(state: FlipStatus["state"], log: Logger): StepReporter {
    return {
      begin: (step: FlipStepName, text: string, replica?: string) => {
        this.#stepStarted = performance.now();
        const s = this.#status as FlipStatus;
        const { replica: _r, ...rest } = s;
        this.#status = {
          ...rest,
          state,
          step: text,
          stepSinceMs: Date.now(),
          ...(replica === undefined ? {} : { replica }),
        };
        log.info({ step, replica }, `flip step: ${text}`);
      },
      end: (step: FlipStepName, ok: boolean) => {
        this.#d.metrics.step(step, (performance.now() - this.#stepStarted) / 1000, ok);
        if (!ok) this.#failedAt ??= this.#status;
      },
    };
  }

  async #cluster(): Promise<Cluster | undefined> {
    try {
      return (await this.#d.catalog.listClusters()).find((c) => c.id === this.clusterId);
    } catch (e) {
      if (e instanceof UnknownObject) return undefined;
      throw e;
    }
  }

  /** The cluster's catalog replicas that run here, with the PhaseSet each was started with. */
  async #replicasOf(
    cluster: Cluster,
  ): Promise<{ catalog: ClusterReplica; running: RunningReplica }[]> {
    const out: { catalog: ClusterReplica; running: RunningReplica }[] = [];
    for (const r of await this.#d.catalog.listReplicas(cluster.name)) {
      const phases = this.#d.replicas.phasesOf(r.id);
      if (phases !== undefined)
        out.push({ catalog: r, running: { id: r.id, name: r.name, phases, slot: r.slot } });
    }
    return out;
  }
}

/** Which sides a flip changes, from what runs and the target. */
function flipKind(
  controllers: PhaseSet,
  replicas: readonly RunningReplica[],
  target: PhaseSet,
): FlipKind {
  const server = replicas.some((r) =>
    differsIn(r.phases, target.forSlot(r.slot), SERVER_SIDE_PHASES),
  );
  const controller = differsIn(controllers, target, CONTROLLER_SIDE_PHASES);
  if (server && controller) return "both";
  if (statePathChanges(controllers, target)) return "rebuild";
  return server ? "roll" : controller ? "reseat" : "record";
}
