/**
 * The outputs of each load generator: names, column schemas and keys, in output order.
 *
 * One definition for both sides: storage's generators (`@mzts/storage`) write rows of these
 * shapes into one subsource per output, and environmentd names the subsources and checks peeks
 * and plans against these columns before it sends anything. A generator's outputs change here
 * only, with the protocol version.
 */
import type { DatumType } from "@mzts/repr";

/** One column of a generator output. */
export interface ColumnSpec {
  readonly name: string;
  readonly type: DatumType;
  readonly nullable: boolean;
}

/** One output of a load generator (one subsource). */
export interface LoadGeneratorOutput {
  /** The output's name, e.g. `"bids"`: the subsource's suffix. */
  readonly name: string;
  readonly columns: readonly ColumnSpec[];
  /** Indices of the primary-key columns (unique among the live rows), empty when none. */
  readonly key: readonly number[];
}

export type LoadGeneratorKind = "counter" | "auction";

const col = (name: string, type: "int64" | "text" | "timestamp"): ColumnSpec =>
  Object.freeze({ name, type, nullable: false });

const output = (name: string, columns: ColumnSpec[]): LoadGeneratorOutput =>
  Object.freeze({ name, columns: Object.freeze(columns), key: Object.freeze([0]) });

/** The counter generator's only output. */
export const COUNTER_OUTPUTS: readonly LoadGeneratorOutput[] = Object.freeze([
  output("counter", [col("counter", "int64")]),
]);

/** The auction generator's five outputs, in `AuctionOutput` order. */
export const AUCTION_OUTPUTS: readonly LoadGeneratorOutput[] = Object.freeze([
  output("organizations", [col("id", "int64"), col("name", "text")]),
  output("users", [col("id", "int64"), col("org_id", "int64"), col("name", "text")]),
  output("accounts", [col("id", "int64"), col("org_id", "int64"), col("balance", "int64")]),
  output("auctions", [
    col("id", "int64"),
    col("seller", "int64"),
    col("item", "text"),
    col("end_time", "timestamp"),
  ]),
  output("bids", [
    col("id", "int64"),
    col("buyer", "int64"),
    col("auction_id", "int64"),
    col("amount", "int64"),
    col("bid_time", "timestamp"),
  ]),
]);

/** Every generator's outputs. */
export const LOAD_GENERATOR_OUTPUTS: {
  readonly [k in LoadGeneratorKind]: readonly LoadGeneratorOutput[];
} = Object.freeze({ counter: COUNTER_OUTPUTS, auction: AUCTION_OUTPUTS });
