/**
 * `ClusterStages`: migration stages for every cluster of the environment (design
 * docs/design/20261207_migration_stages.md): the split each cluster's compute instance compares
 * peeks by (`pathSplit`, read for every new peek), what becomes of each comparison (tallied for
 * status, sent to LaunchDarkly's migration tracking), and the `migrations` field of status.
 *
 * ## Invariants
 * - The split is the one the cluster's controllers run (`Clusters.selection(...).phases`, moved
 *   by a live flip's reseat/record step), never a fresher flag value: a stage change takes
 *   effect when the flip applies it, as every phase change does.
 * - A replica's path is its catalog slot when it runs that slot's phases (`slotOfReplica`), so
 *   the comparison follows what each replica really runs, also mid-flip.
 * - The tally restarts when the split changes (phases or stages): status shows this stage's
 *   comparisons.
 * - `onComparison` never throws into compute-client; the migration tracking is fire-and-forget
 *   (`PhaseFlags.trackComparison` never rejects).
 */
import type {
  ComparisonRecord,
  ComputeInstanceOptions,
  PathSplit,
  PeekOutcome,
} from "@mzts/compute-client";
import { comparesPaths, FLAG_KEYS, type PhaseFlags, type PhaseSet } from "@mzts/flags";
import type { MigrationStatus } from "@mzts/protocol";
import type { GlobalId } from "@mzts/repr";
import type { Logger } from "pino";
import type { ReplicaSlot } from "../../catalog/catalog.js";
import { ComparisonTally } from "./comparison-tally.js";
import { type SlotSplit, slotOfReplica, slotSplit } from "./replica-slots.js";
import { stateStage } from "./shadowed-controller.js";
import type { StateSnapshot } from "./state-comparison.js";

export interface ClusterStagesOptions {
  /** The PhaseSet a cluster's controllers run (`Clusters.selection`). */
  readonly clusterPhases: (clusterId: GlobalId) => PhaseSet | undefined;
  /** The PhaseSet a replica was started with (`Replicas.phasesOf`). */
  readonly replicaPhases: (replicaId: string) => PhaseSet | undefined;
  /** A replica's migration slot (`Replicas.slotOf`). */
  readonly replicaSlot: (replicaId: string) => ReplicaSlot | undefined;
  /** LaunchDarkly's migration tracking (the flags service; absent when phases come from a function). */
  readonly tracker?: Pick<PhaseFlags, "trackComparison">;
  /** How long the other path's answer is waited for (compute-client's default: 5 s). */
  readonly comparisonTimeoutMs?: number;
  /**
   * Test hook: rewrites a cluster's non-authoritative answers before they are compared (never
   * what a caller is served), so a test proves a difference is counted.
   */
  readonly perturbOther?: (clusterId: GlobalId, outcome: PeekOutcome) => PeekOutcome;
  /**
   * Test hook of a `state` stage: rewrites a cluster's shadow snapshot before it is compared
   * (`shadowed-controller.ts`), so a test proves a difference is counted.
   */
  readonly perturbState?: (clusterId: GlobalId, snapshot: StateSnapshot) => StateSnapshot;
  readonly log: Logger;
}

/** The replicas of a cluster, as status lists them. */
export interface NamedReplica {
  readonly id: string;
  readonly name: string;
}

/** Migration stages of the environment's clusters (see the file comment). */
export class ClusterStages {
  readonly #o: ClusterStagesOptions;
  readonly #tallies = new Map<GlobalId, { key: string; tally: ComparisonTally }>();
  /** A `state` stage's comparisons per cluster (keyed by the stage, counted afresh when it changes). */
  readonly #stateTallies = new Map<GlobalId, { key: string; tally: ComparisonTally }>();

  constructor(opts: ClusterStagesOptions) {
    this.#o = opts;
  }

  /** What a cluster's compute instance is created with (`createInstance` options). */
  instanceOptions(clusterId: GlobalId): Pick<ComputeInstanceOptions, "pathSplit" | "onComparison"> {
    return {
      pathSplit: () => this.pathSplit(clusterId),
      onComparison: (record) => this.compared(clusterId, record),
    };
  }

  /** The split of a cluster's replicas for its next peek (undefined: nothing migrates). */
  pathSplit(clusterId: GlobalId): PathSplit | undefined {
    const split = this.#split(clusterId);
    if (split === undefined) return undefined;
    const { comparisonTimeoutMs, perturbOther } = this.#o;
    return {
      phase: split.phases.join("+"),
      authoritative: split.authoritative,
      compare: split.compare,
      slotOf: (replicaId) => this.#slotOf(split, replicaId),
      ...(comparisonTimeoutMs === undefined ? {} : { timeoutMs: comparisonTimeoutMs }),
      ...(perturbOther === undefined
        ? {}
        : { perturbOther: (o: PeekOutcome) => perturbOther(clusterId, o) }),
    };
  }

  /** Counts a finished comparison of a cluster and reports it to the migration tracking. */
  compared(clusterId: GlobalId, record: ComparisonRecord): void {
    const split = this.#split(clusterId);
    if (split === undefined) return;
    this.#tally(clusterId, split).add(record);
    const tracker = this.#o.tracker;
    if (tracker === undefined) return;
    const consistent =
      record.result === "consistent" ? true : record.result === "inconsistent" ? false : undefined;
    for (const phase of split.phases) {
      void tracker.trackComparison(clusterId, phase, {
        latencyMs: record.latencyMs,
        ...(consistent === undefined ? {} : { consistent }),
        errors: record.errors,
      });
    }
  }

  /** The `state` stage's perturbation hook (tests), if any. */
  get perturbState(): ClusterStagesOptions["perturbState"] {
    return this.#o.perturbState;
  }

  /** Counts a finished comparison of a cluster's `state` stage (`shadowed-controller.ts`). */
  stateCompared(clusterId: GlobalId, record: ComparisonRecord): void {
    const phases = this.#o.clusterPhases(clusterId);
    if (phases === undefined || stateStage(phases) === undefined) return;
    this.#stateTally(clusterId, phases).add(record);
    const consistent =
      record.result === "consistent" ? true : record.result === "inconsistent" ? false : undefined;
    void this.#o.tracker?.trackComparison(clusterId, "state", {
      latencyMs: record.latencyMs,
      ...(consistent === undefined ? {} : { consistent }),
      errors: record.errors,
    });
  }

  /** The `migrations` of a cluster's status (empty: nothing migrates). */
  migrations(clusterId: GlobalId, replicas: readonly NamedReplica[]): MigrationStatus[] {
    return [
      ...this.#splitMigrations(clusterId, replicas),
      ...this.#stateMigration(clusterId, replicas),
    ];
  }

  /** The `state` stage's entry: both controllers run, compared by derived state, no slots. */
  #stateMigration(clusterId: GlobalId, replicas: readonly NamedReplica[]): MigrationStatus[] {
    const phases = this.#o.clusterPhases(clusterId);
    const stage = phases === undefined ? undefined : stateStage(phases);
    if (phases === undefined || stage === undefined) return [];
    const tally = this.#stateTally(clusterId, phases);
    const other = stage.authoritative === "legacy" ? "unified" : "legacy";
    return [
      {
        flag: FLAG_KEYS.state,
        stage: phases.stage("state"),
        authoritative: stage.authoritative,
        compares: stage.compares,
        slots: [...replicas]
          .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
          .map((r) => ({ replica: r.name })),
        ...tally.counts,
        ...(tally.lastInconsistency === undefined
          ? {}
          : { lastInconsistency: tally.lastInconsistency }),
        paths: tally.paths(),
        note:
          `both controllers run: the ${stage.authoritative} one drives the replicas, the ` +
          `${other} one runs on their mirrored traffic` +
          (stage.compares ? "; derived state and peek answers compared" : "; not compared"),
      },
    ];
  }

  #stateTally(clusterId: GlobalId, phases: PhaseSet): ComparisonTally {
    const key = phases.stage("state");
    const t = this.#stateTallies.get(clusterId);
    if (t !== undefined && t.key === key) return t.tally;
    const tally = new ComparisonTally();
    this.#stateTallies.set(clusterId, { key, tally });
    return tally;
  }

  #splitMigrations(clusterId: GlobalId, replicas: readonly NamedReplica[]): MigrationStatus[] {
    const phases = this.#o.clusterPhases(clusterId);
    const split = this.#split(clusterId);
    if (phases === undefined || split === undefined) return [];
    const tally = this.#tally(clusterId, split);
    const slots = [...replicas]
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      .map((r) => {
        const slot = this.#slotOf(split, r.id);
        return { replica: r.name, ...(slot === undefined ? {} : { slot }) };
      });
    const note = noteOf(split, slots);
    return split.phases.map((p) => ({
      flag: FLAG_KEYS[p],
      stage: phases.stage(p),
      authoritative: split.authoritative,
      compares: comparesPaths(phases.stage(p)),
      slots,
      ...tally.counts,
      ...(tally.lastInconsistency === undefined
        ? {}
        : { lastInconsistency: tally.lastInconsistency }),
      paths: tally.paths(),
      ...(note === undefined ? {} : { note }),
    }));
  }

  /** Drops a cluster's tally (the cluster was dropped). */
  forget(clusterId: GlobalId): void {
    this.#tallies.delete(clusterId);
    this.#stateTallies.delete(clusterId);
  }

  #slotOf(split: SlotSplit, replicaId: string): ReplicaSlot | undefined {
    const { replicaSlot, replicaPhases } = this.#o;
    return slotOfReplica(split.phases, replicaSlot(replicaId), replicaPhases(replicaId));
  }

  #split(clusterId: GlobalId): SlotSplit | undefined {
    const phases = this.#o.clusterPhases(clusterId);
    return phases === undefined ? undefined : slotSplit(phases);
  }

  #tally(clusterId: GlobalId, split: SlotSplit): ComparisonTally {
    const phases = this.#o.clusterPhases(clusterId);
    const key = split.phases.map((p) => `${p}:${phases?.stage(p)}`).join(",");
    const t = this.#tallies.get(clusterId);
    if (t !== undefined && t.key === key) return t.tally;
    if (t !== undefined) {
      this.#o.log.info(
        { cluster_id: clusterId, from: t.key, to: key, ...t.tally.counts },
        "migration stage changed: comparisons counted afresh",
      );
    }
    const tally = new ComparisonTally();
    this.#tallies.set(clusterId, { key, tally });
    return tally;
  }
}

/** What keeps a split from comparing (status `note`), if anything. */
function noteOf(
  split: SlotSplit,
  slots: readonly { readonly slot?: "legacy" | "unified" }[],
): string | undefined {
  const notes: string[] = [];
  if (split.conflict !== undefined) notes.push(split.conflict);
  const on = (s: "legacy" | "unified") => slots.filter((x) => x.slot === s).length;
  const auth = split.authoritative;
  const other = auth === "legacy" ? "unified" : "legacy";
  if (split.compare && on(auth) + on(other) === 0) {
    notes.push("needs two replicas to compare: no replica runs either path; add two");
  } else if (split.compare && on(auth) + on(other) === 1) {
    const runs = on(auth) > 0 ? auth : other;
    const missing = runs === auth ? other : auth;
    notes.push(
      `needs a second replica to compare: only the ${runs} path runs; add one (it takes the ${missing} slot)`,
    );
  } else if (split.compare && on(other) === 0) {
    notes.push(`no replica on the ${other} path: nothing to compare`);
  } else if (on(auth) === 0) {
    notes.push(
      `no replica on the authoritative ${auth} path: the ${other} path answers (fallback)`,
    );
  }
  const stale = slots.filter((x) => x.slot === undefined).length;
  if (stale > 0) notes.push(`${stale} replica(s) run neither path's phases (a flip rolls them)`);
  return notes.length === 0 ? undefined : notes.join("; ");
}
