/**
 * `skippablePeekUuid`: which frames are proven skippable peek answers, and that every other shape
 * (another kind, a framing error, a shape the scan does not prove) is left to the full decode.
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { fc, test } from "@fast-check/vitest";
import { describe, expect, it } from "vitest";
import { ComputeResponseSchema } from "../gen/mz/compute/v1/response_pb.js";
import { computeResponse, computeResponses } from "../testdata/arbitraries.js";
import { encodeComputeResponse } from "./codec.js";
import {
  ROWS_RESULT,
  scanPeekAnswer,
  scanRowBatch,
  skippablePeekUuid,
} from "./peek-answer-scan.js";

const UUID = "0f9a44f2-5b1e-4c4f-9a55-3c1c7d0b8e21";
const canceled = (uuid: string) =>
  toBinary(
    ComputeResponseSchema,
    create(ComputeResponseSchema, {
      kind: { case: "peekResponse", value: { uuid, result: { case: "canceled", value: {} } } },
    }),
  );
const cat = (...parts: (Uint8Array | number[])[]) => new Uint8Array(parts.flatMap((p) => [...p]));
/** A length-delimited field `no` carrying `payload`. */
const len = (no: number, payload: Uint8Array | number[]) => [
  (no << 3) | 2,
  payload.length,
  ...payload,
];

describe("skippablePeekUuid", () => {
  test.prop([computeResponse])("names a peek answer's uuid and nothing else", (r) => {
    expect(skippablePeekUuid(encodeComputeResponse(r))).toBe(
      r.kind === "peekResponse" ? r.uuid : undefined,
    );
  });

  test.prop([computeResponses.peekResponse, fc.nat()])(
    "never takes a truncated answer",
    (r, cut) => {
      const bytes = encodeComputeResponse(r);
      expect(skippablePeekUuid(bytes.subarray(0, cut % bytes.length))).toBeUndefined();
    },
  );

  test.prop([computeResponses.peekResponse])(
    "finds the rows of an answer as the decoder does (so they are read without it)",
    (r) => {
      const bytes = encodeComputeResponse(r);
      const answer = scanPeekAnswer(bytes);
      const decoded = fromBinary(ComputeResponseSchema, bytes).kind;
      if (decoded.case !== "peekResponse" || decoded.value.result.case !== "rows") {
        expect(answer?.result).not.toBe(ROWS_RESULT);
        return;
      }
      expect(answer?.result).toBe(ROWS_RESULT);
      const batch = scanRowBatch(bytes, answer?.start ?? 0, answer?.end ?? 0);
      const { formatVersion, rows, diffs } = decoded.value.result.value;
      if (diffs.some((d) => d >= 2n ** 49n)) expect(batch).toBeUndefined();
      else expect(batch).toEqual({ formatVersion, rows, diffs });
    },
  );

  it("ignores unknown fields, as a decode does", () => {
    const answer = canceled(UUID);
    // An unknown varint field (9) at the top and inside the answer.
    const inner = cat(len(1, Buffer.from(UUID)), len(4, []), [9 << 3, 0x96, 0x01]);
    expect(skippablePeekUuid(cat([9 << 3, 1], answer))).toBe(UUID);
    expect(skippablePeekUuid(cat(len(2, inner)))).toBe(UUID);
  });

  it("leaves every shape it does not prove to the full decode", () => {
    const answer = canceled(UUID);
    const cases: Record<string, Uint8Array> = {
      "empty (no kind)": new Uint8Array(),
      "a second kind after the answer": cat(answer, len(4, [])),
      "the answer twice (a decode would merge them)": cat(answer, answer),
      "no result": cat(len(2, len(1, Buffer.from(UUID)))),
      "two results": cat(len(2, cat(len(1, Buffer.from(UUID)), len(3, [0x61]), len(4, [])))),
      "no uuid": cat(len(2, len(4, []))),
      "an uppercase uuid": canceled(UUID.toUpperCase()),
      "a uuid of another length": canceled(`${UUID}0`),
      "a non-ASCII uuid": cat(
        len(2, cat(len(1, Buffer.from(`${UUID.slice(0, 34)}é`)), len(4, []))),
      ),
      "the answer as a varint": cat([2 << 3, 1]),
      "a group": cat([(2 << 3) | 3, (2 << 3) | 4]),
      "field number 0": cat([0 << 3, 1], answer),
      "a length beyond the frame": cat([(2 << 3) | 2, 0x7f], answer),
      "an overlong varint": cat(
        [9 << 3, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01],
        answer,
      ),
      "a tag beyond 32 bits": cat([0xff, 0xff, 0xff, 0xff, 0x7f], answer),
    };
    for (const [name, bytes] of Object.entries(cases)) {
      expect(skippablePeekUuid(bytes), name).toBeUndefined();
    }
  });
});
