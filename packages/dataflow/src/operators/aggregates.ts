/**
 * Aggregate accumulators for `reduce`: each keeps enough per-group state to produce its value
 * after any sequence of insertions and retractions.
 *
 * - `count(*)`, `count(col)`: a signed counter — O(1) per update.
 * - `sum(col)`: exact running sums per number type — O(1) per update, no rescan: int64 in an
 *   unbounded bigint (overflow is checked on the *result*, like Materialize's wide accumulator),
 *   numeric as an unscaled bigint at the largest scale seen, float64 as a JS number (float sums
 *   are approximate under retractions, as float sums are in any engine). Result type: float64 if
 *   any float64 is present, else numeric if any numeric, else int64; null when no non-null value.
 *   A non-number value makes the group's result an error (`type_mismatch`).
 * - `min(col)`, `max(col)`: a multiset of values (datum key → count) with a cached extreme,
 *   rescanned only when the extreme itself leaves. Order is `@mzts/repr`'s total datum order.
 * All skip nulls. Multiplicities are net counts, so intermediate negative counts are fine.
 */

import type { Aggregate } from "@mzts/expr";
import { Datum, datumKey, type Numeric } from "@mzts/repr";
import { EvaluationError } from "../errors.js";
import { checkInt64, makeNumeric } from "../expr/functions.js";

/** One aggregate's state for one group. */
export interface Accumulator {
  /** Adds `diff` copies of `value` (`value` is the aggregated column, or null for count(*)). */
  add(value: Datum, diff: number): void;
  /** The aggregate's value. @throws EvaluationError when it cannot be computed. */
  value(): Datum;
  /** True when the state holds nothing (the group can be dropped). */
  empty(): boolean;
}

class CountStar implements Accumulator {
  n = 0;
  add(_v: Datum, d: number): void {
    this.n += d;
  }
  value(): Datum {
    return BigInt(this.n);
  }
  empty(): boolean {
    return this.n === 0;
  }
}

class CountColumn implements Accumulator {
  n = 0;
  add(v: Datum, d: number): void {
    if (v !== null) this.n += d;
  }
  value(): Datum {
    return BigInt(this.n);
  }
  empty(): boolean {
    return this.n === 0;
  }
}

function isNumeric(v: Datum): v is Numeric {
  return typeof v === "object" && v !== null && !(v instanceof Uint8Array) && v.kind === "numeric";
}

class Sum implements Accumulator {
  /** Net count of non-null values. */
  nonNull = 0;
  ints = 0n;
  floats = 0;
  nFloats = 0;
  /** Numeric sum as unscaled at `scale`. */
  nums = 0n;
  scale = 0;
  nNums = 0;
  /** Net count of values that are not numbers. */
  nBad = 0;

  add(v: Datum, d: number): void {
    if (v === null) return;
    this.nonNull += d;
    if (typeof v === "bigint") {
      if (d === 1) this.ints += v;
      else if (d === -1) this.ints -= v;
      else this.ints += v * BigInt(d);
    } else if (typeof v === "number") {
      this.nFloats += d;
      // Drop rounding residue once no float is left, so it cannot leak into later sums.
      this.floats = this.nFloats === 0 ? 0 : this.floats + v * d;
    } else if (isNumeric(v)) {
      if (v.scale > this.scale) {
        this.nums *= 10n ** BigInt(v.scale - this.scale);
        this.scale = v.scale;
      }
      this.nums += v.unscaled * 10n ** BigInt(this.scale - v.scale) * BigInt(d);
      this.nNums += d;
    } else this.nBad += d;
  }

  value(): Datum {
    if (this.nBad !== 0) throw new EvaluationError("type_mismatch", "sum of a non-numeric value");
    if (this.nonNull === 0) return null;
    if (this.nFloats !== 0) {
      const num =
        this.scale === 0
          ? Number(this.nums)
          : Number(Datum.numericToString(makeNumeric(this.nums, this.scale)));
      return Number(this.ints) + num + this.floats;
    }
    if (this.nNums !== 0)
      return makeNumeric(this.ints * 10n ** BigInt(this.scale) + this.nums, this.scale);
    return checkInt64(this.ints, "sum");
  }

  empty(): boolean {
    return (
      this.nonNull === 0 &&
      this.nBad === 0 &&
      this.nFloats === 0 &&
      this.nNums === 0 &&
      this.ints === 0n &&
      this.nums === 0n
    );
  }
}

class Extreme implements Accumulator {
  /** datum key → [value, net count]; entries at zero are deleted. */
  readonly values = new Map<string, [Datum, number]>();
  /** Cached extreme among positive-count values (undefined: none); valid unless `dirty`. */
  best: Datum | undefined = undefined;
  dirty = false;
  /** +1 for max, -1 for min. */
  readonly sign: number;

  constructor(sign: number) {
    this.sign = sign;
  }

  add(v: Datum, d: number): void {
    if (v === null) return;
    const k = datumKey(v);
    const e = this.values.get(k);
    const before = e ? e[1] : 0;
    const after = before + d;
    if (after === 0) this.values.delete(k);
    else if (e) e[1] = after;
    else this.values.set(k, [v, after]);
    if (this.dirty || before > 0 === after > 0) return;
    if (after > 0) {
      if (this.best === undefined || this.sign * Datum.compare(v, this.best) > 0) this.best = v;
    } else if (this.best !== undefined && Datum.compare(v, this.best) === 0) this.dirty = true;
  }

  value(): Datum {
    if (this.dirty) {
      let best: Datum | undefined;
      for (const [v, n] of this.values.values()) {
        if (n > 0 && (best === undefined || this.sign * Datum.compare(v, best) > 0)) best = v;
      }
      this.best = best;
      this.dirty = false;
    }
    return this.best === undefined ? null : this.best;
  }

  empty(): boolean {
    return this.values.size === 0;
  }
}

/** A fresh accumulator for `agg`. */
export function createAccumulator(agg: Aggregate): Accumulator {
  switch (agg.func) {
    case "count":
      return agg.column === undefined ? new CountStar() : new CountColumn();
    case "sum":
      return new Sum();
    case "min":
      return new Extreme(-1);
    case "max":
      return new Extreme(1);
  }
}
