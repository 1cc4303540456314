/**
 * The per-workload reduction rules of the one cluster history (design.md §9 phase 5): each rule
 * reduces one workload's commands, in their order, to what a new replica must be replayed. The
 * rules are the protocol's own — `ComputeCommandHistory` and `StorageCommandHistory` of
 * `@mzts/protocol` (their file headers state them) — applied to a slice of the cluster history,
 * never restated here, so the unified and the legacy reductions cannot drift apart.
 *
 * A rule is a pure function of the commands (and, for compute, the peeks answered since they
 * were pushed): a fresh protocol history is fed the slice and read back. Feeding it is
 * amortised O(n) (the protocol history reduces whenever it doubles).
 */
import {
  type ComputeCommand,
  ComputeCommandHistory,
  type StorageCommand,
  StorageCommandHistory,
} from "@mzts/protocol";

/** One workload's reduction. */
export interface ReductionRule<C> {
  /**
   * The reduced commands, in replay order.
   * @param retiredPeeks peeks answered since they were pushed (compute: left out).
   * @throws the protocol history's errors (`CompactionRegression`, `DuplicatePeek`, …) when the
   *   slice breaks its guard: the state validates every command first, so that is a bug.
   */
  reduce(commands: readonly C[], retiredPeeks: ReadonlySet<string>): readonly C[];
}

/** Compute: `ComputeCommandHistory`'s rules (hello, createInstance, config fold, as-of folding…). */
export const computeReduction: ReductionRule<ComputeCommand> = {
  reduce(commands, retiredPeeks) {
    const h = new ComputeCommandHistory();
    for (const c of commands) h.push(c);
    for (const uuid of retiredPeeks) h.retirePeek(uuid);
    return h.commands();
  },
};

/** Storage: `StorageCommandHistory`'s rules (latest definition per object, drops, compactions…). */
export const storageReduction: ReductionRule<StorageCommand> = {
  reduce(commands) {
    const h = new StorageCommandHistory();
    for (const c of commands) h.push(c);
    h.reduce();
    return h.commands();
  },
};
