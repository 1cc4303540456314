/**
 * Properties of the compute response merge: the merged peek answer does not depend on the order
 * in which parts answer and follows canceled > error > rows; merged frontiers are the meet of the
 * parts' frontiers and are reported exactly when it advances.
 */
import { fc, test } from "@fast-check/vitest";
import { Frontier } from "@mzts/repr";
import { describe, expect } from "vitest";
import { anyRow } from "../testdata/arbitraries.js";
import { PartitionedComputeState } from "./partitioned-state.js";
import type { PeekResponse } from "./response.js";

const UUID = "5b0f6c1e-2f4a-4d7b-9a51-0e3c7d9b8a21";
const answer: fc.Arbitrary<PeekResponse> = fc.oneof(
  fc.array(fc.tuple(anyRow, fc.integer({ min: 1, max: 3 })), { maxLength: 3 }).map((rows) => ({
    kind: "rows" as const,
    rows,
  })),
  fc.string({ minLength: 1, maxLength: 5 }).map((message) => ({ kind: "error" as const, message })),
  fc.constant({ kind: "canceled" as const }),
);

function merge(answers: readonly PeekResponse[], order: readonly number[]): PeekResponse {
  const s = new PartitionedComputeState(answers.length);
  const out = order.flatMap((part) =>
    s.absorb(part, { kind: "peekResponse", uuid: UUID, response: answers[part]! }),
  );
  expect(out).toHaveLength(1);
  const r = out[0]!;
  if (r.kind !== "peekResponse") throw new Error("expected a peek response");
  return r.response;
}

describe("peek merge", () => {
  test.prop(
    [
      fc
        .array(answer, { minLength: 1, maxLength: 5 })
        .chain((answers) =>
          fc.tuple(
            fc.constant(answers),
            fc.shuffledSubarray([...answers.keys()], { minLength: answers.length }),
          ),
        ),
    ],
    { numRuns: 150 },
  )("is independent of arrival order and follows canceled > error > rows", ([answers, order]) => {
    const inOrder = merge(answers, [...answers.keys()]);
    expect(merge(answers, order)).toEqual(inOrder);
    if (answers.some((a) => a.kind === "canceled")) expect(inOrder).toEqual({ kind: "canceled" });
    else if (answers.some((a) => a.kind === "error")) {
      expect(inOrder).toEqual(answers.find((a) => a.kind === "error"));
    } else {
      expect(inOrder).toEqual({
        kind: "rows",
        rows: answers.flatMap((a) => (a.kind === "rows" ? a.rows : [])),
      });
    }
  });
});

describe("frontier merge", () => {
  test.prop(
    [
      fc
        .integer({ min: 1, max: 4 })
        .chain((n) =>
          fc.tuple(
            fc.constant(n),
            fc.array(fc.tuple(fc.nat(n - 1), fc.integer({ min: 0, max: 3 })), { maxLength: 30 }),
          ),
        ),
    ],
    { numRuns: 150 },
  )("reports the meet of the parts exactly when it advances", ([n, steps]) => {
    const s = new PartitionedComputeState(n);
    const parts: Frontier[] = new Array(n).fill(0n);
    let reported: Frontier = 0n;
    for (const [part, delta] of steps) {
      const cur = parts[part]!;
      const next: Frontier = cur === null ? null : delta === 3 ? null : cur + BigInt(delta);
      parts[part] = next;
      const out = s.absorb(part, { kind: "frontiers", id: "u1", frontiers: { write: next } });
      const meet = parts.reduce<Frontier>((a, b) => Frontier.meet(a, b), null);
      if (Frontier.lessThan(reported, meet)) {
        expect(out).toEqual([{ kind: "frontiers", id: "u1", frontiers: { write: meet } }]);
        reported = meet;
      } else {
        expect(out).toEqual([]);
      }
    }
  });
});
