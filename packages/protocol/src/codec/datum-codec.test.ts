/**
 * Edge values of the datum, frontier and row-batch codecs through the binary and JSON forms:
 * int64 extremes, -0, NaN, infinities, empty and non-BMP text, big numerics, timestamps before
 * 1970, canonical jsonb, and the empty frontier.
 */
import { create } from "@bufbuild/protobuf";
import { Datum, type Row } from "@mzts/repr";
import { describe, expect, it } from "vitest";
import { DatumSchema, FrontierSchema, UpdateBatchSchema } from "../gen/mz/repr/v1/repr_pb.js";
import { viaBinary, viaJson } from "../testdata/round-trip.js";
import { datumFromProto, datumToProto, rowFromProto, rowToProto } from "./datum-codec.js";
import { frontierFromProto, frontierToProto, optionalFrontierFromProto } from "./frontier-codec.js";
import {
  rowBatchFromProto,
  rowBatchToProto,
  updateBatchFromProto,
  updateBatchToProto,
} from "./row-batch-codec.js";

const datumCodec = {
  schema: DatumSchema,
  toProto: datumToProto,
  fromProto: (m: Parameters<typeof datumFromProto>[0]) => datumFromProto(m, "d"),
};

const EDGES: Datum[] = [
  null,
  true,
  false,
  -(1n << 63n),
  (1n << 63n) - 1n,
  0n,
  0,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
  Number.MIN_VALUE,
  "",
  "日本語 👩‍👩‍👧 \u0000",
  new Uint8Array(0),
  Uint8Array.of(0, 255),
  Datum.numericFromParts(-(10n ** 70n) - 1n, 39),
  Datum.numericFromParts(12300n, 2),
  Datum.timestamp(-86_400_000n),
  Datum.jsonb({ b: [1, "x", null], a: { c: true } }),
  Datum.jsonb("a string"),
];

describe("datum codec", () => {
  it.each(EDGES.map((d) => [Datum.typeOf(d), d] as const))(
    "%s %s round-trips through binary and JSON",
    (_t, d) => {
      expect(viaBinary(datumCodec, d)).toEqual(d);
      expect(viaJson(datumCodec, d)).toEqual(d);
    },
  );

  it("keeps -0 in binary; the JSON form cannot carry the sign of zero", () => {
    expect(Object.is(viaBinary(datumCodec, -0), -0)).toBe(true);
    expect(Object.is(viaJson(datumCodec, -0), 0)).toBe(true);
  });

  it("canonicalises numerics and jsonb on decode", () => {
    const n = create(DatumSchema, {
      value: { case: "numericValue", value: { unscaled: "1200", scale: 2 } },
    });
    expect(datumFromProto(n, "d")).toEqual(Datum.numericFromParts(12n, 0));
    const j = create(DatumSchema, { value: { case: "jsonbValue", value: '{ "b": 1, "a": 2 }' } });
    expect(datumFromProto(j, "d")).toEqual({ kind: "jsonb", text: '{"a":2,"b":1}' });
  });

  it("rejects int64 datums out of range on encode", () => {
    expect(() => datumToProto(1n << 63n)).toThrow(/out of int64 range/);
  });

  it("rows: every datum kind in one row", () => {
    const row: Row = EDGES;
    expect(rowFromProto(rowToProto(row), "r")).toEqual(row);
  });
});

describe("frontier codec", () => {
  it("encodes empty as no elements and a time as one element", () => {
    expect(frontierToProto(null).elements).toEqual([]);
    expect(frontierToProto((1n << 64n) - 1n).elements).toEqual([(1n << 64n) - 1n]);
    expect(frontierFromProto(create(FrontierSchema), "f")).toBeNull();
    expect(frontierFromProto(create(FrontierSchema, { elements: [0n] }), "f")).toBe(0n);
  });
  it("treats unset as absent only where optional", () => {
    expect(optionalFrontierFromProto(undefined, "f")).toBeUndefined();
    expect(() => frontierFromProto(undefined, "f")).toThrow(/f: is unset/);
  });
});

describe("row batch codec", () => {
  it("round-trips peek rows and updates, including empty batches", () => {
    const rows = [
      [[1n, "a"], 3],
      [[], 1],
    ] as const;
    expect(rowBatchFromProto(rowBatchToProto(rows), "b")).toEqual(rows);
    expect(rowBatchFromProto(rowBatchToProto([]), "b")).toEqual([]);
    const updates = [[[Datum.jsonb([1])], 7n, -2]] as const;
    expect(updateBatchFromProto(updateBatchToProto(updates), "u")).toEqual(updates);
    expect(updateBatchToProto(updates).formatVersion).toBe(1);
  });
  it("rejects diffs beyond the safe integer range", () => {
    const b = create(UpdateBatchSchema, {
      formatVersion: 1,
      rows: Uint8Array.of(0),
      times: [0n],
      diffs: [1n << 60n],
    });
    expect(() => updateBatchFromProto(b, "u")).toThrow(/u.diffs\[0\]: .*safe integer/);
  });
});
