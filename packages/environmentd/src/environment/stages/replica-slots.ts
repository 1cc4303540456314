/**
 * Replica slots of migration stages (docs/design/20261207_migration_stages.md): which phases a
 * cluster's replicas are split on, which path is authoritative, the slot a new replica takes and
 * the PhaseSet a replica on a slot runs.
 *
 * ## Rules
 * - The split phases are the migrating, built phases whose two paths run per replica: the
 *   replica-side phases (servers, logging, client) and replicas (phase 3: the replica's slot picks
 *   its controller replica task). `state` (phase 5) is not split by replica: both controller
 *   states are fed the same commands on the cluster's one set of replicas, the authoritative
 *   one driving them (`shadowed-controller.ts`, `mirror-replicas.ts`).
 * - A replica on slot `s` runs `phases.forSlot(s)`: every migrating phase off (legacy) or
 *   complete (unified). That PhaseSet is what the orchestrator launches it with and what the
 *   controllers speak to it (`Replicas.layoutOf`, `selectControllers`).
 * - The authoritative path is the split phases' stage's (legacy in dualwrite/shadow, unified in
 *   live/rampdown). Phases migrating in different stages disagree: legacy is then authoritative
 *   (the conservative answer) and status says to migrate one phase at a time. The answers are
 *   compared when some split phase's stage compares (shadow, live).
 * - A replica's path is its catalog slot, provided it was started with that slot's server-side
 *   phases (`slotOfReplica`; one started before the stage changed runs neither until a live flip
 *   rolls it). The controller-side split (`replicas`) follows the slot at once.
 * - A new replica takes the slot fewer of its cluster's replicas have, a tie going to the
 *   authoritative path (`Catalog.createReplica`'s `tieSlot`): the first replica answers.
 */
import { authoritativePath, comparesPaths, type Phase, type PhaseSet } from "@mzts/flags";
import type { ReplicaSlot } from "../../catalog/catalog.js";
import { SERVER_SIDE_PHASES } from "../flips/flip-plan.js";

/** The phases whose paths can be split by replica (`state` is not). */
export const REPLICA_SPLIT_PHASES: readonly Phase[] = Object.freeze([
  "servers",
  "logging",
  "replicas",
  "client",
]);

/** The phases `phases` splits its cluster's replicas on, in `PHASES` order. */
export function splitPhases(phases: PhaseSet): readonly Phase[] {
  return phases.migrating.filter(
    (p) => REPLICA_SPLIT_PHASES.includes(p) && !phases.noEffect.includes(p),
  );
}

/** How a migrating cluster's replicas are split (undefined: nothing splits). */
export interface SlotSplit {
  readonly phases: readonly Phase[];
  readonly authoritative: ReplicaSlot;
  readonly compare: boolean;
  /** Set when the split phases' stages disagree on the authoritative path. */
  readonly conflict?: string;
}

/** The split of `phases` (see the file comment). */
export function slotSplit(phases: PhaseSet): SlotSplit | undefined {
  const split = splitPhases(phases);
  if (split.length === 0) return undefined;
  const paths = new Set(split.map((p) => authoritativePath(phases.stage(p))));
  const compare = split.some((p) => comparesPaths(phases.stage(p)));
  if (paths.size === 1) return { phases: split, authoritative: [...paths][0]!, compare };
  return {
    phases: split,
    authoritative: "legacy",
    compare,
    conflict: `phases in stages with different authoritative paths (${split
      .map((p) => `${p} ${phases.stage(p)}`)
      .join(", ")}): legacy answers; migrate one phase at a time`,
  };
}

/** The slot a tie goes to when a replica of a cluster with `phases` is created. */
export function tieSlot(phases: PhaseSet): ReplicaSlot {
  return slotSplit(phases)?.authoritative ?? "legacy";
}

/** The PhaseSet a replica on `slot` of a cluster with `phases` runs. */
export function replicaPhases(phases: PhaseSet, slot: ReplicaSlot): PhaseSet {
  return phases.forSlot(slot);
}

/**
 * The path a replica on catalog slot `slot`, started with PhaseSet `started`, runs in a cluster
 * split on `split`: its slot, provided it runs that slot's server-side phases (a replica started
 * before the stage changed may not: none until a live flip rolls it). Controller-side split
 * phases (`replicas`) follow the slot alone: the controllers choose them per replica now.
 */
export function slotOfReplica(
  split: readonly Phase[],
  slot: ReplicaSlot | undefined,
  started: PhaseSet | undefined,
): ReplicaSlot | undefined {
  if (slot === undefined || started === undefined || split.length === 0) return undefined;
  const expected = slot === "unified" ? "complete" : "off";
  const runs = split.every((p) => !SERVER_SIDE_PHASES.includes(p) || started.stage(p) === expected);
  return runs ? slot : undefined;
}
