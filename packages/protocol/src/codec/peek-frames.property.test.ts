/**
 * Peek answers written directly by the framed compute and cluster stream messages
 * (`response-frames.ts`, `peekRowsBytes`) against the reflective codec: byte-for-byte the same
 * for answers with no rows, many rows (multi-byte lengths), counts at the varint edges and
 * negative, uuids empty, long and non-ASCII (those go the reflective way), and a count the
 * reflective codec refuses is refused by the framed message too.
 */
import { toBinary } from "@bufbuild/protobuf";
import { fc, test } from "@fast-check/vitest";
import { describe, expect } from "vitest";
import { type ClusterResponse, clusterResponsesToProto } from "../cluster/cluster-command.js";
import { computeResponsesToProto } from "../compute/codec.js";
import type { ComputeResponse } from "../compute/response.js";
import { ControlResponseSchema as ClusterControlResponseSchema } from "../gen/mz/cluster/v1/cluster_pb.js";
import { ControlResponseSchema as ComputeControlResponseSchema } from "../gen/mz/compute/v1/service_pb.js";
import { anyRow } from "../testdata/arbitraries.js";
import { clusterResponsesFramed, computeResponsesFramed } from "./response-frames.js";

const edgeUuid = fc.oneof(
  fc.uuid(),
  fc.constantFrom("", "x".repeat(127), "y".repeat(200), "ü-uuid", "u\uD800"),
);
const edgeCount = fc.oneof(
  fc.constantFrom(1, 2, 127, 128, 16_384, Number.MAX_SAFE_INTEGER, -1, -300),
  fc.integer({ min: 1, max: 1_000_000 }),
);
const peekAnswer: fc.Arbitrary<ComputeResponse> = fc
  .tuple(edgeUuid, fc.array(fc.tuple(anyRow, edgeCount), { maxLength: 150 }))
  .map(([uuid, rows]) => ({ kind: "peekResponse", uuid, response: { kind: "rows", rows } }));
const otherAnswer: fc.Arbitrary<ComputeResponse> = fc
  .tuple(edgeUuid, fc.string())
  .map(([uuid, message]) => ({
    kind: "peekResponse",
    uuid,
    response: message === "" ? { kind: "canceled" } : { kind: "error", message },
  }));
const batch = fc.array(fc.oneof(peekAnswer, otherAnswer), { minLength: 1, maxLength: 20 });

function bytesOrError(f: () => Uint8Array): Uint8Array | Error {
  try {
    return f();
  } catch (e) {
    return e as Error;
  }
}

describe("peek answers framed directly serialize to the reflective bytes", () => {
  test.prop([batch], { numRuns: 200 })("compute stream", (rs) => {
    const want = toBinary(ComputeControlResponseSchema, computeResponsesToProto(rs));
    const got = toBinary(ComputeControlResponseSchema, computeResponsesFramed(rs));
    expect(Buffer.from(got).equals(want)).toBe(true);
  });

  test.prop([batch], { numRuns: 200 })("cluster stream", (rs) => {
    const crs: ClusterResponse[] = rs.map((response) => ({ kind: "compute", response }));
    const want = toBinary(ClusterControlResponseSchema, clusterResponsesToProto(crs));
    const got = toBinary(ClusterControlResponseSchema, clusterResponsesFramed(crs));
    expect(Buffer.from(got).equals(want)).toBe(true);
  });

  test("a 100-row answer (the phase-1 bench's index) equals the reflective bytes", () => {
    const rows = Array.from({ length: 100 }, (_, i) => [[BigInt(i), `row ${i}`], 1] as const);
    const rs: ComputeResponse[] = [
      {
        kind: "peekResponse",
        uuid: "0f8fad5b-d9cb-469f-a165-70867728950e",
        response: { kind: "rows", rows },
      },
    ];
    const want = toBinary(ComputeControlResponseSchema, computeResponsesToProto(rs));
    const got = toBinary(ComputeControlResponseSchema, computeResponsesFramed(rs));
    expect(Buffer.from(got).equals(want)).toBe(true);
  });

  test.prop([fc.constantFrom<unknown>(1.5, Number.NaN, 2 ** 60, "1", 2n ** 64n)])(
    "a count the reflective codec cannot encode is its to judge",
    (count) => {
      const rs = [
        {
          kind: "peekResponse",
          uuid: "u",
          response: { kind: "rows", rows: [[["x"], count]] },
        } as unknown as ComputeResponse,
      ];
      const want = bytesOrError(() =>
        toBinary(ComputeControlResponseSchema, computeResponsesToProto(rs)),
      );
      const got = bytesOrError(() =>
        toBinary(ComputeControlResponseSchema, computeResponsesFramed(rs)),
      );
      if (want instanceof Error) expect(got).toBeInstanceOf(Error);
      else expect(Buffer.from(got as Uint8Array).equals(want)).toBe(true);
    },
  );
});
