/**
 * The counter load generator (Materialize's `LOAD GENERATOR COUNTER`).
 *
 * One output, `counter`, with one non-null int64 column `counter`. Tick `n` (n >= 0) inserts the
 * value `n + 1`. With `maxCardinality = m`, tick `n` also retracts `n + 1 - m` when that is >= 1,
 * so as of tick `n` exactly the last `min(n + 1, m)` values `max(1, n + 2 - m) ..= n + 1` are live.
 * Without a cardinality bound the collection grows by one row per tick.
 *
 * The generator has no random choices (the seed is kept for uniformity) and tick `n` is O(1).
 */

import { COUNTER_OUTPUTS } from "@mzts/protocol/domain";
import type { GeneratedUpdate, LoadGenerator } from "./load-generator.js";
import { checkTick, type TickClock } from "./tick-clock.js";

export { COUNTER_OUTPUTS };

/** Options of the counter generator, already validated (see `createLoadGenerator`). */
export interface CounterOptions {
  readonly seed: bigint;
  readonly clock: TickClock;
  /** At most this many rows live at once (>= 1), or `null` for no bound. */
  readonly maxCardinality: bigint | null;
}

/** `LOAD GENERATOR COUNTER [(MAX CARDINALITY m)]`. */
export class CounterGenerator implements LoadGenerator {
  readonly kind = "counter" as const;
  readonly seed: bigint;
  readonly clock: TickClock;
  readonly outputs = COUNTER_OUTPUTS;
  /** Live-row bound, or `null`; fixed at construction. */
  readonly maxCardinality: bigint | null;

  constructor(options: CounterOptions) {
    this.seed = options.seed;
    this.clock = options.clock;
    this.maxCardinality = options.maxCardinality;
  }

  updatesAt(tick: bigint): GeneratedUpdate[] {
    checkTick(tick);
    this.clock.timeAt(tick); // rejects ticks whose time does not fit a timestamp
    const out: GeneratedUpdate[] = [{ output: 0, row: [tick + 1n], diff: 1 }];
    if (this.maxCardinality !== null) {
      const retired = tick + 1n - this.maxCardinality;
      if (retired >= 1n) out.push({ output: 0, row: [retired], diff: -1 });
    }
    return out;
  }
}
