/**
 * The load generator contract: a deterministic function from a tick to that tick's updates.
 *
 * ## Invariants every generator keeps
 * 1. **Pure in (spec, seed, clock, tick).** `updatesAt(n)` returns the same updates every time, in
 *    every replica and process, whatever was computed before. This is what lets every replica run
 *    the ingestion and compare-and-append make the duplicate writes harmless (design §5).
 * 2. **Tick independence.** Tick `n` is computed without replaying ticks `0..n-1`: at most a small,
 *    bounded amount of work derived from `n` (the auction generator re-derives the few auctions that
 *    can still be open). A restarted ingestion thus resumes at any tick in O(1).
 * 3. **Tick 0 carries the initial snapshot** (for example the auction's organizations and users);
 *    later ticks carry the changes.
 * 4. **Never negative.** Every retraction cancels a row inserted at an earlier tick, so the
 *    collection as of every tick has only positive multiplicities.
 * 5. Updates of tick `n` are stamped `clock.timeAt(n)` when rendered (`updatesBetween`).
 */
import type { ColumnSpec, LoadGeneratorKind, LoadGeneratorOutput } from "@mzts/protocol";
import type { Row } from "@mzts/repr";
import { InvalidSourceSpec } from "../../errors.js";
import type { TickClock } from "./tick-clock.js";

/** The output schemas live in `@mzts/protocol` (environmentd checks against them too). */
export type { ColumnSpec, LoadGeneratorKind, LoadGeneratorOutput };

/** The generators this package implements (Materialize's `COUNTER` and `AUCTION`). */

/** One column of an output. */

/** One update of one tick: `diff` copies of `row` enter (`> 0`) or leave (`< 0`) an output. */
export interface GeneratedUpdate {
  /** Index into `LoadGenerator.outputs`. */
  readonly output: number;
  readonly row: Row;
  readonly diff: number;
}

/** A deterministic load generator; see the file doc for the invariants. */
export interface LoadGenerator {
  readonly kind: LoadGeneratorKind;
  /** The seed (u64) every random choice derives from. */
  readonly seed: bigint;
  /** The tick ↔ time mapping; rows with times and rendered updates both use it. */
  readonly clock: TickClock;
  readonly outputs: readonly LoadGeneratorOutput[];
  /**
   * The updates of tick `tick`, in a deterministic order.
   * @throws InvalidTick when `tick` is negative or its time is beyond the largest timestamp.
   */
  updatesAt(tick: bigint): GeneratedUpdate[];
}

/**
 * The index of the output named `name`.
 * @throws InvalidSourceSpec when the generator has no such output.
 */
export function outputIndex(gen: LoadGenerator, name: string): number {
  const i = gen.outputs.findIndex((o) => o.name === name);
  if (i < 0) {
    throw new InvalidSourceSpec(
      "output",
      name,
      `one of ${gen.outputs.map((o) => `"${o.name}"`).join(", ")} (outputs of the ${gen.kind} generator)`,
    );
  }
  return i;
}
