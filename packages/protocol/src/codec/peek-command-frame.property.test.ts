/**
 * `peekCommandFrameDirect` (issue 16): its bytes are the reference encoder's
 * (`encodeComputeCommand`) for every peek it writes; it writes every peek of ASCII strings and
 * wire-range numbers, and leaves the rest (non-ASCII strings, out-of-range values) to the
 * `BinaryWriter` encoder (its bytes are the reference's; it fails where the reference fails).
 */
import { fc, test } from "@fast-check/vitest";
import { describe, expect } from "vitest";
import { encodeComputeCommand } from "../compute/codec.js";
import type { Peek } from "../compute/command.js";
import { peekCommandFrame, peekCommandFrameByWriter } from "../compute/peek-frame.js";
import { peek } from "../testdata/arbitrary-dataflows.js";
import { peekCommandFrameDirect } from "./peek-command-frame.js";

const reference = (p: Peek) => encodeComputeCommand({ kind: "peek", peek: p });

/** Peeks with wider numbers than the shared arbitrary: large timestamps, columns, limits. */
const widePeek: fc.Arbitrary<Peek> = fc
  .tuple(
    peek,
    fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
    fc.array(fc.nat({ max: 0xffffffff }), { maxLength: 5 }),
    fc.option(fc.maxSafeNat(), { nil: undefined }),
    fc.maxSafeNat(),
    fc.nat({ max: 0xffffffff }),
  )
  .map(([p, timestamp, project, limit, offset, arity]) => {
    const { limit: _, ...finishing } = p.finishing;
    return {
      ...p,
      arity,
      timestamp,
      finishing: { ...finishing, project, offset, ...(limit === undefined ? {} : { limit }) },
    };
  });

describe("peekCommandFrameDirect", () => {
  test.prop([peek], { numRuns: 500 })("writes the reference bytes of every peek", (p) => {
    const direct = peekCommandFrameDirect(p);
    expect(direct).toBeDefined(); // the shared arbitrary's strings are ASCII
    expect(direct).toEqual(reference(p));
  });

  test.prop([widePeek], { numRuns: 500 })(
    "writes the reference bytes at the edges of the wire ranges",
    (p) => {
      const direct = peekCommandFrameDirect(p);
      expect(direct).toBeDefined();
      expect(direct).toEqual(reference(p));
    },
  );

  test.prop([peek, fc.string({ unit: "grapheme", minLength: 1, maxLength: 12 })])(
    "leaves non-ASCII strings to the writer, whose bytes are the reference's",
    (p, s) => {
      const odd: Peek = { ...p, uuid: `${s}\u00e9`, targetReplica: `r\u{1f600}${s}` };
      expect(peekCommandFrameDirect(odd)).toBeUndefined();
      expect(peekCommandFrame(odd)).toEqual(reference(odd));
    },
  );

  test.prop([
    peek,
    fc.oneof(
      fc.constant({ arity: -1 }),
      fc.constant({ arity: 1.5 }),
      fc.constant({ arity: 2 ** 32 }),
      fc.constant({ timestamp: -1n }),
      fc.constant({ timestamp: 1n << 64n }),
    ),
  ])(
    "leaves out-of-range values to the writer (fails as before, and where the reference fails)",
    (p, patch) => {
      const bad = { ...p, ...patch } as Peek;
      expect(peekCommandFrameDirect(bad)).toBeUndefined();
      const outcome = (f: () => unknown) => {
        try {
          return { ok: f() };
        } catch (e) {
          return { err: String(e) };
        }
      };
      const got = outcome(() => peekCommandFrame(bad));
      expect(got).toEqual(outcome(() => peekCommandFrameByWriter(bad)));
      expect("err" in got).toBe("err" in outcome(() => reference(bad)));
    },
  );
});
