/**
 * Load generator specs (plain data, as a command carries them) and the factory that validates a
 * spec and builds its generator.
 *
 * A spec is `{kind: "counter", seed?, maxCardinality?}` or `{kind: "auction", seed?, maxAuctions?}`. It may come
 * from JSON (protobuf's JSON mapping writes int64 as strings), so validation happens at run time:
 * an unknown kind, an unknown field (a typo such as `maxCardinalty` would otherwise be ignored
 * silently) or an out-of-range value throws `InvalidSourceSpec` naming the field. The validated
 * form (`ValidatedSpec`) has every default filled in: `seed` 0, no cardinality bound.
 */
import { InvalidSourceSpec } from "../../errors.js";
import { AuctionGenerator, MAX_AUCTION_TICKS } from "./auction.js";
import { CounterGenerator } from "./counter.js";
import type { LoadGenerator, LoadGeneratorKind } from "./load-generator.js";
import { TickClock, type TickClockSpec } from "./tick-clock.js";

/** A seed as plain data: a u64 as a bigint, a safe integer or a decimal string. */
export type SeedSpec = bigint | number | string;

/** `LOAD GENERATOR COUNTER [(MAX CARDINALITY m)]`. */
export interface CounterSpec {
  readonly kind: "counter";
  readonly seed?: SeedSpec;
  /** At most this many rows live at once: a positive safe integer. Absent = unbounded. */
  readonly maxCardinality?: number;
}

/** `LOAD GENERATOR AUCTION`. */
export interface AuctionSpec {
  readonly kind: "auction";
  readonly seed?: SeedSpec;
  /**
   * Keep only the newest this many auctions (a safe integer ≥ `MAX_AUCTION_TICKS`), retracting an
   * older auction with its bids. Absent = keep everything (the data grows forever).
   */
  readonly maxAuctions?: number;
}

/** Any load generator spec. */
export type LoadGeneratorSpec = CounterSpec | AuctionSpec;

/** A spec with defaults filled in and values normalised. */
export type ValidatedSpec =
  | { readonly kind: "counter"; readonly seed: bigint; readonly maxCardinality: bigint | null }
  | { readonly kind: "auction"; readonly seed: bigint; readonly maxAuctions: bigint | null };

const KINDS: readonly LoadGeneratorKind[] = ["counter", "auction"];
const FIELDS: Record<LoadGeneratorKind, readonly string[]> = {
  counter: ["kind", "seed", "maxCardinality"],
  auction: ["kind", "seed", "maxAuctions"],
};
const U64_MAX = (1n << 64n) - 1n;

/**
 * Validates a spec (of unknown provenance) and fills in its defaults.
 * @throws InvalidSourceSpec naming the first offending field.
 */
export function validateLoadGeneratorSpec(spec: unknown): ValidatedSpec {
  if (typeof spec !== "object" || spec === null || Array.isArray(spec)) {
    throw new InvalidSourceSpec("(spec)", spec, 'an object such as {kind: "counter"}');
  }
  const o = spec as Record<string, unknown>;
  const kind = o.kind;
  if (typeof kind !== "string" || !(KINDS as readonly string[]).includes(kind)) {
    throw new InvalidSourceSpec("kind", kind, `one of ${KINDS.map((k) => `"${k}"`).join(", ")}`);
  }
  const k = kind as LoadGeneratorKind;
  for (const field of Object.keys(o)) {
    if (!FIELDS[k].includes(field) && o[field] !== undefined) {
      throw new InvalidSourceSpec(
        field,
        o[field],
        `no such field for a ${k} generator; its fields are ${FIELDS[k].join(", ")}`,
      );
    }
  }
  const seed = parseSeed(o.seed);
  if (k === "auction") return { kind: k, seed, maxAuctions: parseMaxAuctions(o.maxAuctions) };
  return { kind: k, seed, maxCardinality: parseMaxCardinality(o.maxCardinality) };
}

/**
 * Builds the generator a spec describes, on the given tick clock.
 * @throws InvalidSourceSpec when the spec or the clock is invalid (the field is named).
 */
export function createLoadGenerator(
  spec: LoadGeneratorSpec,
  clock: TickClock | TickClockSpec,
): LoadGenerator {
  const v = validateLoadGeneratorSpec(spec);
  const c = clock instanceof TickClock ? clock : new TickClock(clock);
  switch (v.kind) {
    case "counter":
      return new CounterGenerator({ seed: v.seed, clock: c, maxCardinality: v.maxCardinality });
    case "auction":
      return new AuctionGenerator({ seed: v.seed, clock: c, maxAuctions: v.maxAuctions });
  }
}

function parseSeed(seed: unknown): bigint {
  const expected = "a u64: a bigint, a safe integer or a decimal string in [0, 2^64)";
  let v: bigint;
  if (seed === undefined) return 0n;
  if (typeof seed === "bigint") v = seed;
  else if (typeof seed === "number" && Number.isSafeInteger(seed)) v = BigInt(seed);
  else if (typeof seed === "string" && /^[0-9]{1,20}$/.test(seed)) v = BigInt(seed);
  else throw new InvalidSourceSpec("seed", seed, expected);
  if (v < 0n || v > U64_MAX) throw new InvalidSourceSpec("seed", seed, expected);
  return v;
}

function parseMaxAuctions(m: unknown): bigint | null {
  if (m === undefined) return null;
  if (typeof m !== "number" || !Number.isSafeInteger(m) || m < MAX_AUCTION_TICKS) {
    throw new InvalidSourceSpec(
      "maxAuctions",
      m,
      `a safe integer >= ${MAX_AUCTION_TICKS} (the longest auction in ticks: only closed auctions are retracted), or no field`,
    );
  }
  return BigInt(m);
}

function parseMaxCardinality(m: unknown): bigint | null {
  if (m === undefined) return null;
  if (typeof m !== "number" || !Number.isSafeInteger(m) || m < 1) {
    throw new InvalidSourceSpec(
      "maxCardinality",
      m,
      "a positive safe integer (at most that many counter rows stay live), or no field",
    );
  }
  return BigInt(m);
}
