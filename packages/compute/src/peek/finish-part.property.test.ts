/**
 * `finishPart`'s fast paths (issue 16: a projection-only map/filter/project applied without
 * compiling it, one pair without the consolidation map, `preLimit` of one row without sorting)
 * answer what the general path answers: compiled map/filter/project, `consolidateRows`, the
 * negative-count error, then sort and cut.
 */

import { fc, test } from "@fast-check/vitest";
import { compileMfp, orderComparator } from "@mzts/dataflow";
import type { Peek, PeekResponse } from "@mzts/protocol";
import { consolidateRows, type Row } from "@mzts/repr";
import { describe, expect } from "vitest";
import { finishPart } from "./peek.js";

/** The general path, written out: what `finishPart` answered before its fast paths. */
function reference(peek: Peek, raw: ReadonlyArray<readonly [Row, number]>): PeekResponse {
  const { exprs, predicates, projection } = peek.mapFilterProject;
  const fn = compileMfp([
    { kind: "map", exprs },
    { kind: "filter", predicates },
    { kind: "project", columns: projection },
  ]);
  const mapped: Array<[Row, number]> = [];
  for (const [row, n] of raw) {
    const out = fn(row);
    if (out !== null) mapped.push([out, n]);
  }
  const rows = consolidateRows(mapped);
  const negative = rows.find(([, n]) => n < 0);
  if (negative) {
    return {
      kind: "error",
      message: `Invalid data in source, saw retractions (${-negative[1]}) for a row that does not exist`,
    };
  }
  const f = peek.finishing;
  const cmp = orderComparator(f.orderBy);
  const s = rows.slice().sort((a, b) => cmp(a[0], b[0]));
  if (f.limit === undefined) return { kind: "rows", rows: s };
  const out: Array<[Row, number]> = [];
  let left = f.offset + f.limit;
  for (const [row, n] of s) {
    if (left <= 0) break;
    const k = Math.min(n, left);
    out.push([row, k]);
    left -= k;
  }
  return { kind: "rows", rows: out };
}

const row = fc.tuple(fc.bigInt({ min: 0n, max: 3n }), fc.constantFrom("a", "b"));
const peek: fc.Arbitrary<Peek> = fc
  .record({
    projection: fc.constantFrom([0, 1], [1, 0], [1], [], [0, 0]),
    offset: fc.nat(2),
    limit: fc.option(fc.nat(3), { nil: undefined }),
    desc: fc.boolean(),
  })
  .map(({ projection, offset, limit, desc }) => ({
    uuid: "5b0f6c1e-2f4a-4d7b-9a51-0e3c7d9b8a21",
    target: { kind: "index", id: "u2" },
    arity: 2,
    timestamp: 0n,
    mapFilterProject: { exprs: [], predicates: [], projection },
    finishing: {
      orderBy: projection.length === 0 ? [] : [{ column: 0, desc, nullsLast: true }],
      offset,
      project: [],
      ...(limit === undefined ? {} : { limit }),
    },
  }));

describe("finishPart", () => {
  test.prop([peek, fc.array(fc.tuple(row, fc.integer({ min: -2, max: 3 })), { maxLength: 3 })], {
    numRuns: 500,
  })("answers what the general path answers", (p, raw) => {
    expect(finishPart(p, raw)).toEqual(reference(p, raw));
  });

  // Reads of many rows, mostly distinct (an index read: consolidated already), some equal after
  // projection or equal as datums though not identical (-0 and 0), zero and negative counts.
  const wideRow = fc.tuple(
    fc.oneof(fc.bigInt({ min: 0n, max: 20n }), fc.constantFrom(0, -0, 1.5, Number.NaN, null)),
    fc.constantFrom("a", "b", "c", ""),
  );
  test.prop(
    [peek, fc.array(fc.tuple(wideRow, fc.integer({ min: -1, max: 3 })), { maxLength: 24 })],
    { numRuns: 800 },
  )("answers what the general path answers on wider reads", (p, raw) => {
    expect(finishPart(p, raw)).toEqual(reference(p, raw));
  });

  test.prop([
    peek,
    fc.uniqueArray(fc.tuple(fc.bigInt({ min: 0n, max: 50n }), fc.constantFrom("a", "b")), {
      maxLength: 40,
      selector: ([k, v]) => `${k}|${v}`,
    }),
  ])(
    "an index read (distinct rows, positive counts) answers what the general path answers",
    (p, rows) => {
      const raw = rows.map((r, i): [Row, number] => [r, 1 + (i % 3)]);
      expect(finishPart(p, raw)).toEqual(reference(p, raw));
    },
  );
});
