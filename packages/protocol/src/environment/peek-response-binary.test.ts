/**
 * `peekResponseToBinary` writes the same bytes as the reflective path it replaces
 * (`toBinary(PeekResponseSchema, environmentCodecs.peekResponse.toProto(d))`) for every datum
 * kind and edge value, and refuses what that path refuses with the same error.
 */
import { toBinary } from "@bufbuild/protobuf";
import { fc, test } from "@fast-check/vitest";
import { Datum, InvalidDatum, type Row } from "@mzts/repr";
import { describe, expect, it } from "vitest";
import { PeekResponseSchema } from "../gen/mz/environment/v1/environment_pb.js";
import { anyRow, datum, replicaId, timestamp } from "../testdata/arbitraries.js";
import type { PeekResponse } from "./api.js";
import { environmentCodecs } from "./codec.js";
import { peekResponseToBinary } from "./peek-response-binary.js";

const reflective = (d: PeekResponse) =>
  toBinary(PeekResponseSchema, environmentCodecs.peekResponse.toProto(d));
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

const response = fc.record({
  rows: fc.array(
    fc.tuple(
      fc.oneof(anyRow, fc.array(datum, { minLength: 5, maxLength: 40 })),
      fc.oneof(fc.integer({ min: 1, max: 300 }), fc.constant(Number.MAX_SAFE_INTEGER)),
    ),
    { maxLength: 30 },
  ),
  timestamp: fc.oneof(fc.constant(0n), timestamp),
  replica: fc.oneof(fc.constant(""), fc.string({ unit: "binary", maxLength: 200 })),
  replicaId: fc.oneof(fc.constant(""), replicaId),
});

describe("peekResponseToBinary", () => {
  test.prop([response], { numRuns: 500 })("equals toBinary(toProto(d))", (d) => {
    expect(hex(peekResponseToBinary(d))).toBe(hex(reflective(d)));
  });

  it("edge values: int64 bounds, -0, NaN, a large row, long strings and counts", () => {
    const big = "x".repeat(300);
    const rows: Array<readonly [Row, number]> = [
      [[-(1n << 63n), (1n << 63n) - 1n, -1n, 0n, 127n, 128n], 1],
      [[-0, Number.NaN, Number.POSITIVE_INFINITY, 0.1], 2 ** 31],
      [[null, false, true, "", new Uint8Array(0), big, Datum.jsonb({ a: [1, "é"] })], 128],
      [[Datum.numericFromParts(0n, 0), Datum.numericFromParts(-12345n, 3)], 1],
      [[Datum.timestamp(-(1n << 63n)), Datum.timestamp(0n)], Number.MAX_SAFE_INTEGER],
      [Array.from({ length: 200 }, (_, i) => BigInt(i)), 1],
    ];
    const d = { rows, timestamp: (1n << 64n) - 1n, replica: big, replicaId: "u1" };
    expect(hex(peekResponseToBinary(d))).toBe(hex(reflective(d)));
  });

  it("refuses a column that is not a datum, like toProto", () => {
    for (const bad of [1n << 63n, "\ud800", { kind: "nope" }, undefined]) {
      const d = {
        rows: [[[bad as Datum], 1] as const],
        timestamp: 1n,
        replica: "r",
        replicaId: "u1",
      };
      expect(() => reflective(d)).toThrow(InvalidDatum);
      expect(() => peekResponseToBinary(d)).toThrow(InvalidDatum);
    }
  });
});
