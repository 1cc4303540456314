/**
 * What a flip must do: which phases are read where (design §7), and the next step that brings a
 * cluster from what runs to a target PhaseSet.
 *
 * ## Sides
 * - Server side (`SERVER_SIDE_PHASES`: servers, logging, client): clusterd reads them once, at
 *   start (`--phases`). A change needs new replica processes: the cluster's replicas are rolled.
 * - Controller side (`CONTROLLER_SIDE_PHASES`: replicas, state): read when a cluster's
 *   controllers are built (`selectControllers`). A change reseats the cluster's controllers; a
 *   change of whether `state` takes effect (legacy ↔ unified, also when a prerequisite turns it
 *   off or on) rebuilds the cluster's controller (`controller-rebuild.ts`).
 *   (Phase 4's client is read by both ends, per replica; a replica rolled onto it gets the
 *   matching controller path from its own PhaseSet, so it rolls like a server-side phase.)
 *
 * ## Invariants
 * - Pure: the plan is a function of what runs and the target.
 * - Phases compare by what runs: in force (what status reports as `applied`), the path a
 *   composition root runs (`PhaseSet.path`: a migration stage's authoritative path, design
 *   §9 "Migration stages"), and whether the phase is migrating. A phase whose flag is on but
 *   blocked is none of these, so turning it on changes nothing that runs.
 * - A replica is compared with `target.forSlot(its slot)` (migration stages: the PhaseSet a
 *   replica on that slot runs), not with the target itself: `shadow` → `live` changes no
 *   replica's PhaseSet (only which path is authoritative), `off` → `shadow` rolls the replicas
 *   of the unified slot, `live` → `complete` those of the legacy slot.
 * - The controllers go first (a rebuild or a reseat takes seconds; a roll takes a hydration per
 *   replica) — a rebuild before a reseat (the rebuilt controller reads every controller-side
 *   phase anew) — then
 *   the replicas one at a time in name order, so a step always leaves the other replicas serving.
 */
import {
  CONTROLLER_SIDE_PHASES,
  PHASES,
  type Phase,
  type PhaseSet,
  SERVER_SIDE_PHASES,
} from "@mzts/flags";
import type { ReplicaSlot } from "../../catalog/catalog.js";
import { stateStage } from "../stages/shadowed-controller.js";

export { CONTROLLER_SIDE_PHASES, SERVER_SIDE_PHASES };

/** Whether `a` and `b` run any of `phases` differently (in force, path, migrating). */
export function differsIn(a: PhaseSet, b: PhaseSet, phases: readonly Phase[]): boolean {
  return phases.some(
    (p) =>
      a.inForce[p] !== b.inForce[p] ||
      a.path(p) !== b.path(p) ||
      a.migrating.includes(p) !== b.migrating.includes(p),
  );
}

/**
 * Whether the controller is built otherwise under `target`: another path (legacy ↔ unified), or
 * another `state` migration stage (one path ↔ both, which is authoritative, whether compared).
 */
export function statePathChanges(controllers: PhaseSet, target: PhaseSet): boolean {
  const a = stateStage(controllers);
  const b = stateStage(target);
  return (
    controllers.takesEffect("state") !== target.takesEffect("state") ||
    a?.authoritative !== b?.authoritative ||
    a?.compares !== b?.compares
  );
}

/** The phases in force, comma-separated in `PHASES` order ("" for none). */
export function phasesText(s: PhaseSet): string {
  return PHASES.filter((p) => s.inForce[p]).join(",");
}

/** A running replica as the plan sees it. */
export interface RunningReplica {
  readonly id: string;
  readonly name: string;
  readonly phases: PhaseSet;
  /** Its migration slot (catalog). */
  readonly slot: ReplicaSlot;
}

/** The next step of a flip (see the file comment). */
export type FlipStep =
  /** Whether `state` takes effect changes: rebuild the cluster's controller on the other path. */
  | { readonly kind: "rebuild" }
  /** The controllers' connectors change: reseat every replica's connection. */
  | { readonly kind: "reseat" }
  /** Only the recorded PhaseSet of the controllers changes (nothing they run differs). */
  | { readonly kind: "record" }
  /** Replace `replica` by a successor started with the target phases. */
  | { readonly kind: "roll"; readonly replica: RunningReplica }
  | { readonly kind: "done" };

/**
 * The next step towards `target`, given the controllers' PhaseSet and the running replicas.
 * Replicas of a PhaseSet that differs only in what clusterd does not read are not rolled.
 */
export function nextFlipStep(
  controllers: PhaseSet,
  replicas: readonly RunningReplica[],
  target: PhaseSet,
): FlipStep {
  if (statePathChanges(controllers, target)) return { kind: "rebuild" };
  if (differsIn(controllers, target, CONTROLLER_SIDE_PHASES)) return { kind: "reseat" };
  const stale = [...replicas]
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .find((r) => differsIn(r.phases, target.forSlot(r.slot), SERVER_SIDE_PHASES));
  if (stale !== undefined) return { kind: "roll", replica: stale };
  if (!controllers.equals(target)) return { kind: "record" };
  return { kind: "done" };
}
