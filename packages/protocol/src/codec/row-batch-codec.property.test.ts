/**
 * `rowBatchFromProto`'s diff checks (issue 16: the error path is built only for a failing diff):
 * the same rows, and the same errors (message and path) as checking every diff with `safeI64` and
 * the positivity rule.
 */
import { create } from "@bufbuild/protobuf";
import { fc, test } from "@fast-check/vitest";
import { expect } from "vitest";
import { RowBatchSchema } from "../gen/mz/repr/v1/repr_pb.js";
import { fail, safeI64 } from "./field.js";
import { rowBatchFromProto, rowBatchToProto } from "./row-batch-codec.js";

/** The diffs' checks as written before: one path string per diff. */
function referenceCounts(diffs: readonly bigint[], path: string): number[] {
  return diffs.map((d, i) => {
    const count = safeI64(d, `${path}.diffs[${i}]`);
    if (count <= 0) {
      fail(
        `${path}.diffs[${i}]`,
        `multiplicity ${count} is not positive; report negative accumulations as a peek error`,
      );
    }
    return count;
  });
}

const outcome = (f: () => unknown) => {
  try {
    return { ok: f() };
  } catch (e) {
    return { err: String(e), name: (e as Error).name };
  }
};

const diff = fc.oneof(
  fc.bigInt({ min: 1n, max: 1000n }),
  fc.constantFrom(
    0n,
    -1n,
    BigInt(Number.MAX_SAFE_INTEGER),
    BigInt(Number.MAX_SAFE_INTEGER) + 1n,
    -(1n << 63n),
    (1n << 63n) - 1n,
  ),
);

test.prop([fc.array(diff, { maxLength: 6 })])(
  "rowBatchFromProto: the rows and errors of checking every diff",
  (diffs) => {
    const packed = rowBatchToProto(diffs.map((_, i) => [[BigInt(i)], 1] as const));
    const batch = create(RowBatchSchema, { ...packed, diffs });
    const got = outcome(() => rowBatchFromProto(batch, "r.rows"));
    const want = outcome(() =>
      referenceCounts(diffs, "r.rows").map((c, i) => [[BigInt(i)], c] as const),
    );
    expect(got).toEqual(want);
  },
);
