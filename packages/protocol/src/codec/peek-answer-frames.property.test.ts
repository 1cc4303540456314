/**
 * Peek answers encoded on the workers (`peek-answer-frames.ts`) against the decoded path:
 * - a frame's bytes are the reflective encoding of its answer, its rows decode back, its size is
 *   `RowPacker`'s; what the direct writer refuses stays an object; one buffer per message;
 * - the merge (`PartitionedComputeState`) of any mix of framed and decoded parts, in any arrival
 *   order, under any `maxResultSize`, gives the answer the all-decoded merge gives: the same
 *   value, and on the wire (`computeResponsesFramed`) the same bytes as the reflective encoding
 *   of the all-decoded answer.
 */
import { toBinary } from "@bufbuild/protobuf";
import { fc, test } from "@fast-check/vitest";
import { type Row, RowPacker } from "@mzts/repr";
import { describe, expect } from "vitest";
import { computeResponsesToProto, encodeComputeResponse } from "../compute/codec.js";
import { PartitionedComputeState } from "../compute/partitioned-state.js";
import type { ComputeResponse, PeekResponse } from "../compute/response.js";
import { ControlResponseSchema } from "../gen/mz/compute/v1/service_pb.js";
import { anyRow } from "../testdata/arbitraries.js";
import {
  FramedPeekResponse,
  framePeekAnswers,
  isPeekRowsFrame,
  type PeekRowsFrame,
  peekRowsOfFrame,
} from "./peek-answer-frames.js";
import { computeResponsesFramed } from "./response-frames.js";

const UUID = "5b0f6c1e-2f4a-4d7b-9a51-0e3c7d9b8a21";
const count = fc.oneof(
  fc.integer({ min: 1, max: 3 }),
  fc.constantFrom(127, 128, 2 ** 31, Number.MAX_SAFE_INTEGER),
);
const rowsAnswer = fc
  .array(fc.tuple(anyRow, count), { maxLength: 4 })
  .map((rows): PeekResponse => ({ kind: "rows", rows }));
const answer: fc.Arbitrary<PeekResponse> = fc.oneof(
  { arbitrary: rowsAnswer, weight: 4 },
  fc.string({ minLength: 1, maxLength: 5 }).map((message) => ({ kind: "error" as const, message })),
  fc.constant({ kind: "canceled" as const }),
);

const peekAnswer = (response: PeekResponse, uuid = UUID): ComputeResponse => ({
  kind: "peekResponse",
  uuid,
  response,
});

/** The worker side: `response` as it crosses (framed when the writer takes it). */
function crossed(response: PeekResponse, frame: boolean): ComputeResponse | PeekRowsFrame {
  const batch: unknown[] = [peekAnswer(response)];
  if (frame) framePeekAnswers(batch);
  return batch[0] as ComputeResponse | PeekRowsFrame;
}

function merge(
  parts: readonly (ComputeResponse | PeekRowsFrame)[],
  order: readonly number[],
  maxResultSize: bigint | undefined,
): ComputeResponse {
  const s = new PartitionedComputeState(parts.length);
  if (maxResultSize !== undefined) {
    s.observeCommand({
      kind: "updateConfiguration",
      params: { maxResultSize, dyncfgUpdates: new Map() },
    });
  }
  const out = order.flatMap((p) => {
    const r = parts[p]!;
    return isPeekRowsFrame(r) ? s.absorbFrame(p, r) : s.absorb(p, r);
  });
  expect(out).toHaveLength(1);
  return out[0]!;
}

const wire = (rs: readonly ComputeResponse[]) =>
  toBinary(ControlResponseSchema, computeResponsesFramed(rs));
const reflective = (rs: readonly ComputeResponse[]) =>
  toBinary(ControlResponseSchema, computeResponsesToProto(rs));

describe("framePeekAnswers", () => {
  test.prop([fc.array(rowsAnswer, { minLength: 1, maxLength: 4 })], { numRuns: 150 })(
    "writes each answer's reflective bytes into one buffer; the rows decode back",
    (answers) => {
      const batch: unknown[] = answers.map((a, i) => peekAnswer(a, `${UUID.slice(0, -1)}${i}`));
      batch.push({ kind: "frontiers", id: "u1", frontiers: { write: 5n } });
      const before = [...batch] as ComputeResponse[];
      const buffer = framePeekAnswers(batch);
      expect(buffer).toBeDefined();
      expect(batch.at(-1)).toBe(before.at(-1));
      let total = 0;
      answers.forEach((a, i) => {
        const f = batch[i] as PeekRowsFrame;
        expect(isPeekRowsFrame(f)).toBe(true);
        expect(f.bytes.buffer).toBe(buffer);
        total += f.bytes.length;
        expect(f.bytes).toEqual(encodeComputeResponse(before[i]!));
        const rows = (a as Extract<PeekResponse, { kind: "rows" }>).rows;
        expect(f.rows).toBe(rows.length);
        const p = new RowPacker();
        for (const [row] of rows) p.pack(row);
        expect(f.rowsBytes).toBe(p.length);
        expect(peekRowsOfFrame(f)).toEqual(rows);
      });
      expect(buffer!.byteLength).toBe(total);
    },
  );

  test("leaves what the direct writer refuses, and what is not rows, as objects", () => {
    const refused: unknown[] = [
      peekAnswer({ kind: "rows", rows: [[[1n], 1]] }, "ü-not-ascii"),
      peekAnswer({ kind: "rows", rows: [[[undefined as unknown as null], 1]] }),
      peekAnswer({ kind: "rows", rows: [[[1n], 2 ** 60]] }),
      peekAnswer({ kind: "error", message: "boom" }),
      peekAnswer({ kind: "canceled" }),
    ];
    const before = [...refused];
    expect(framePeekAnswers(refused)).toBeUndefined();
    expect(refused).toEqual(before);
    // One refused answer does not stop the others (nor leave bytes behind in the buffer).
    const mixed: unknown[] = [before[1], peekAnswer({ kind: "rows", rows: [[["a"], 1]] })];
    const buffer = framePeekAnswers(mixed);
    expect(mixed[0]).toBe(before[1]);
    expect((mixed[1] as PeekRowsFrame).bytes.byteLength).toBe(buffer!.byteLength);
  });
});

describe("the merge of framed parts", () => {
  test.prop(
    [
      fc
        .array(fc.tuple(answer, fc.boolean()), { minLength: 1, maxLength: 4 })
        .chain((parts) =>
          fc.tuple(
            fc.constant(parts),
            fc.shuffledSubarray([...parts.keys()], { minLength: parts.length }),
            fc.option(fc.bigInt({ min: 0n, max: 200n }), { nil: undefined }),
          ),
        ),
    ],
    { numRuns: 300 },
  )(
    "gives the decoded merge's answer, and its bytes on the wire",
    ([parts, order, maxResultSize]) => {
      const decoded = merge(
        parts.map(([a]) => crossed(a, false)),
        order,
        maxResultSize,
      );
      const framed = merge(
        parts.map(([a, f]) => crossed(a, f)),
        order,
        maxResultSize,
      );
      expect(wire([framed])).toEqual(reflective([decoded]));
      expect(framed.kind).toBe("peekResponse");
      expect((framed as Extract<ComputeResponse, { kind: "peekResponse" }>).response).toEqual(
        (decoded as Extract<ComputeResponse, { kind: "peekResponse" }>).response,
      );
    },
  );

  test("passes one part's frame through when the other parts have no rows", () => {
    const rows: Array<[Row, number]> = [[[7n, "row 7"], 1]];
    const s = new PartitionedComputeState(3);
    expect(s.absorbFrame(1, crossed({ kind: "rows", rows: [] }, true) as PeekRowsFrame)).toEqual(
      [],
    );
    const mine = crossed({ kind: "rows", rows }, true) as PeekRowsFrame;
    expect(s.absorbFrame(2, mine)).toEqual([]);
    const [out] = s.absorb(0, peekAnswer({ kind: "rows", rows: [] }));
    expect(out).toBeInstanceOf(FramedPeekResponse);
    expect((out as FramedPeekResponse).bytes).toBe(mine.bytes);
    expect(out).toEqual(peekAnswer({ kind: "rows", rows }));
  });

  test("decodes the frames when several parts have rows (part order)", () => {
    const s = new PartitionedComputeState(2);
    const a: Array<[Row, number]> = [[["b"], 1]];
    const b: Array<[Row, number]> = [[["a"], 2]];
    expect(s.absorbFrame(1, crossed({ kind: "rows", rows: b }, true) as PeekRowsFrame)).toEqual([]);
    const [out] = s.absorbFrame(0, crossed({ kind: "rows", rows: a }, true) as PeekRowsFrame);
    expect(out).not.toBeInstanceOf(FramedPeekResponse);
    expect(out).toEqual(peekAnswer({ kind: "rows", rows: [...a, ...b] }));
  });

  test("a frame over maxResultSize becomes the size error, and two frames of one part throw", () => {
    const s = new PartitionedComputeState(1);
    s.observeCommand({
      kind: "updateConfiguration",
      params: { maxResultSize: 3n, dyncfgUpdates: new Map() },
    });
    const [out] = s.absorbFrame(
      0,
      crossed({ kind: "rows", rows: [[["abcdef"], 1]] }, true) as PeekRowsFrame,
    );
    expect(out).toEqual(
      peekAnswer({ kind: "error", message: "total result exceeds max size of 3 bytes" }),
    );
    const two = new PartitionedComputeState(2);
    const f = crossed({ kind: "rows", rows: [] }, true) as PeekRowsFrame;
    two.absorbFrame(0, f);
    expect(() => two.absorbFrame(0, f)).toThrow(/answered peek .* twice/);
  });
});
