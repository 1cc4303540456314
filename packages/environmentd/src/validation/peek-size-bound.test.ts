/**
 * `scalarPeekSizeBound` (issue 16: `validatePeekSize` no longer encodes a request of names and
 * scalars): never below the encoded size, whatever the names (non-ASCII, astral, long) and
 * scalars; undefined for requests with key rows, map/filter/project or finishing; and
 * `validatePeekSize` still refuses an oversized request of names only.
 */
import { toBinary } from "@bufbuild/protobuf";
import { MAX_ENCODED_BYTES } from "@mzts/expr";
import { environmentCodecs, type PeekRequest } from "@mzts/protocol";
import { prng } from "@mzts/repr";
import { describe, expect, it } from "vitest";
import { InvalidObjectRequest } from "../errors.js";
import { scalarPeekSizeBound, validatePeekSize } from "./peek.js";

const encoded = (req: PeekRequest) => {
  const c = environmentCodecs.peekRequest;
  return toBinary(c.schema, c.toProto(req)).length;
};

/** A random string: ASCII, two-byte, three-byte and astral (surrogate pairs) code points. */
function randomString(next: () => number): string {
  const n = Math.floor(next() * (next() < 0.1 ? 400 : 40));
  let out = "";
  for (let i = 0; i < n; i++) {
    const kind = Math.floor(next() * 4);
    const cp =
      kind === 0
        ? Math.floor(next() * 0x80)
        : kind === 1
          ? 0x80 + Math.floor(next() * 0x780)
          : kind === 2
            ? 0x800 + Math.floor(next() * 0xd000)
            : 0x10000 + Math.floor(next() * 0xfffff);
    out += String.fromCodePoint(cp);
  }
  return out;
}

describe("scalarPeekSizeBound", () => {
  it("is never below the encoded size (2,000 random requests)", () => {
    const next = prng(16);
    for (let i = 0; i < 2000; i++) {
      const maybe = <T>(v: () => T): T | undefined => (next() < 0.5 ? undefined : v());
      const replica = maybe(() => randomString(next));
      const cluster = maybe(() => randomString(next));
      const timestamp = maybe(() => BigInt(Math.floor(next() * 2 ** 53)) << 11n);
      const timeoutMs = maybe(() => 1 + Math.floor(next() * (2 ** 31 - 2)));
      const req: PeekRequest = {
        object: randomString(next),
        ...(replica === undefined ? {} : { replica }),
        ...(cluster === undefined ? {} : { cluster }),
        ...(timestamp === undefined ? {} : { timestamp }),
        ...(timeoutMs === undefined ? {} : { timeoutMs }),
      };
      expect(scalarPeekSizeBound(req)).toBeGreaterThanOrEqual(encoded(req));
    }
  });

  it("gives none for key rows, a map/filter/project or a finishing", () => {
    expect(scalarPeekSizeBound({ object: "x", literalConstraints: [] })).toBeUndefined();
    expect(
      scalarPeekSizeBound({
        object: "x",
        mapFilterProject: { exprs: [], predicates: [], projection: [] },
      }),
    ).toBeUndefined();
    expect(
      scalarPeekSizeBound({ object: "x", finishing: { orderBy: [], offset: 0, project: [] } }),
    ).toBeUndefined();
  });

  it("an oversized request of names only is still refused", () => {
    expect(() => validatePeekSize({ object: "é".repeat(MAX_ENCODED_BYTES) })).toThrow(
      InvalidObjectRequest,
    );
    expect(() => validatePeekSize({ object: "top_bidders_idx", replica: "r1" })).not.toThrow();
  });
});
