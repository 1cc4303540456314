/**
 * The process merge (`ComputeResponseMerger`) of peek answers encoded on the workers (issue 16)
 * against the decoded merge: for any peek (ORDER BY, OFFSET, LIMIT, projection), any W, any
 * workers' rows finished as a worker finishes them (`finishPart`), each part crossing encoded or
 * decoded, in any arrival order, the answer that leaves is the decoded merge's — the same value,
 * and on the wire (`computeResponsesFramed`) the bytes of its reflective encoding. When the
 * finishing keeps one part's rows as they are (`finishingKeeps`) and at most one part has rows,
 * the answer is that part's frame, passed through.
 */
import { fc, test } from "@fast-check/vitest";
import {
  type ComputeResponse,
  computeResponsesFramed,
  encodeComputeResponse,
  FramedPeekResponse,
  framePeekAnswers,
  type Peek,
  type PeekRowsFrame,
} from "@mzts/protocol";
import type { Row } from "@mzts/repr";
import { describe, expect } from "vitest";
import { ComputeResponseMerger, finishingKeeps } from "./merge.js";
import { finishPart } from "./peek/peek.js";

const UUID = "5b0f6c1e-2f4a-4d7b-9a51-0e3c7d9b8a21";
const row: fc.Arbitrary<Row> = fc.tuple(
  fc.bigInt({ min: 0n, max: 5n }),
  fc.option(fc.constantFrom("a", "b", "c"), { nil: null }),
);
const partRows = fc.array(fc.tuple(row, fc.integer({ min: 1, max: 3 })), { maxLength: 5 });
const project = fc.oneof(
  fc.constant<number[]>([]),
  fc.constant([0, 1]),
  fc.constant([1, 0]),
  fc.constant([1]),
  fc.constant([0, 1, 0]),
);
const peek: fc.Arbitrary<Peek> = fc
  .record({
    orderBy: fc.array(
      fc.record({ column: fc.nat(1), desc: fc.boolean(), nullsLast: fc.boolean() }),
      { maxLength: 2 },
    ),
    offset: fc.oneof(fc.constant(0), fc.nat(3)),
    limit: fc.option(fc.nat(4), { nil: undefined }),
    project,
  })
  .map(({ orderBy, offset, limit, project }) => ({
    uuid: UUID,
    target: { kind: "index", id: "u2" },
    arity: 2,
    timestamp: 0n,
    mapFilterProject: { exprs: [], predicates: [], projection: [0, 1] },
    finishing:
      limit === undefined ? { orderBy, offset, project } : { orderBy, offset, project, limit },
  }));

function merged(
  p: Peek,
  parts: readonly (ComputeResponse | PeekRowsFrame)[],
  order: readonly number[],
): ComputeResponse {
  const m = new ComputeResponseMerger(parts.length);
  m.observeCommand({ kind: "peek", peek: p });
  const out = order.flatMap((w) => m.absorb(w, parts[w]!));
  expect(out).toHaveLength(1);
  return out[0]!;
}

/** What the stream's framer writes for `r`: its one field's length varint and bytes. */
const bytes = (r: ComputeResponse) => computeResponsesFramed([r]).$unknown?.[0]?.data;
/** The length varint and the reflective encoding of `r`. */
function reflective(r: ComputeResponse): Uint8Array {
  const b = encodeComputeResponse(r);
  const len: number[] = [];
  for (let n = b.length; ; n = Math.floor(n / 128)) {
    if (n < 128) {
      len.push(n);
      break;
    }
    len.push((n % 128) | 128);
  }
  return Uint8Array.from([...len, ...b]);
}

describe("ComputeResponseMerger with workers' encoded answers", () => {
  test.prop(
    [
      peek,
      fc
        .array(fc.tuple(partRows, fc.boolean()), { minLength: 1, maxLength: 3 })
        .chain((parts) =>
          fc.tuple(
            fc.constant(parts),
            fc.shuffledSubarray([...parts.keys()], { minLength: parts.length }),
          ),
        ),
    ],
    { numRuns: 300 },
  )("answers what the decoded merge answers, byte for byte", (p, [parts, order]) => {
    // Each worker's answer, as the worker finishes it; framed or not as it crosses.
    const answers = parts.map(([raw]) => finishPart(p, raw));
    const crossed = (framed: (w: number) => boolean) =>
      answers.map((response, w) => {
        const batch: unknown[] = [{ kind: "peekResponse", uuid: UUID, response }];
        if (framed(w)) framePeekAnswers(batch);
        return batch[0] as ComputeResponse | PeekRowsFrame;
      });
    const decoded = merged(
      p,
      crossed(() => false),
      order,
    );
    const framed = merged(
      p,
      crossed((w) => parts[w]![1]),
      order,
    );
    expect(bytes(framed)).toEqual(reflective(decoded));
    expect(framed).toEqual(decoded);
    const withRows = answers.filter((a) => a.kind === "rows" && a.rows.length > 0).length;
    const single = answers.findIndex((a) => a.kind === "rows" && a.rows.length > 0);
    const passes =
      finishingKeeps(p) && withRows <= 1 && parts[single === -1 ? 0 : single]![1] === true;
    if (passes && (single !== -1 || parts.every(([, f]) => f))) {
      expect(framed).toBeInstanceOf(FramedPeekResponse);
    }
  });
});
