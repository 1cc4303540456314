/**
 * `allowCompactionFrame` against the reflective encode: byte for byte the same frame whenever it
 * writes one (ids of every length and character class, times up to 2^64 − 1, the empty frontier),
 * and it writes one for every GlobalId with a time below 2^53 (the fast path is the one used);
 * the frame path (`computeCommandFrame`) gives the reflective bytes for every allowCompaction.
 */
import { fc, test } from "@fast-check/vitest";
import type { Frontier } from "@mzts/repr";
import { describe, expect } from "vitest";
import { allowCompactionFrame } from "./allow-compaction-frame.js";
import { encodeComputeCommand } from "./codec.js";
import { computeCommandFrame } from "./control-frames.js";

const frontier = fc.option(
  fc.oneof(
    fc.bigInt({ min: 0n, max: BigInt(Number.MAX_SAFE_INTEGER) }),
    fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
    fc.constantFrom(0n, 127n, 128n, 16383n, 16384n, 2n ** 53n - 1n, 2n ** 53n),
  ),
  { nil: null },
) as fc.Arbitrary<Frontier>;
const globalId = fc
  .tuple(fc.constantFrom("u", "s", "t"), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }))
  .map(([p, n]) => `${p}${n}`);
const anyId = fc.oneof(globalId, fc.string({ maxLength: 140 }), fc.string({ unit: "grapheme" }));

describe("allowCompactionFrame", () => {
  test.prop([anyId, frontier], { numRuns: 3000 })(
    "writes the reflective encode's bytes or declines",
    (id, f) => {
      const fast = allowCompactionFrame(id, f);
      const slow = encodeComputeCommand({ kind: "allowCompaction", id, frontier: f });
      if (fast !== undefined) expect(Buffer.from(fast).equals(Buffer.from(slow))).toBe(true);
      expect(
        Buffer.from(computeCommandFrame({ kind: "allowCompaction", id, frontier: f })).equals(
          Buffer.from(slow),
        ),
      ).toBe(true);
    },
  );

  test.prop([globalId, frontier], { numRuns: 1000 })(
    "takes every GlobalId with a time below 2^53",
    (id, f) => {
      if (f !== null && f >= 2n ** 53n) return;
      expect(allowCompactionFrame(id, f)).toBeDefined();
    },
  );
});
