/**
 * `peekRequestFromBinary` (issue 16) returns what protobuf-es's `fromBinary` returns for a
 * scalar-only `PeekRequest`, and undefined (leave it to `fromBinary`) for everything else: nested
 * fields, unknown fields, malformed bytes.
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { PeekRequestSchema } from "../gen/mz/environment/v1/environment_pb.js";
import { peekRequestFromBinary } from "./peek-request-binary.js";

const scalarRequest = fc.record(
  {
    object: fc.string({ unit: "grapheme" }),
    timestamp: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
    timeoutMs: fc.integer({ min: 0, max: 0xffff_ffff }),
    replica: fc.string(),
    cluster: fc.string(),
  },
  { requiredKeys: [] },
);

const decode = (b: Uint8Array) => fromBinary(PeekRequestSchema, b, { readUnknownFields: true });

describe("peekRequestFromBinary", () => {
  it("decodes scalar-only requests as fromBinary does", () => {
    fc.assert(
      fc.property(scalarRequest, (r) => {
        const bytes = toBinary(PeekRequestSchema, create(PeekRequestSchema, r));
        expect(peekRequestFromBinary(bytes)).toEqual(decode(bytes));
      }),
      { numRuns: 500 },
    );
  });

  it("the last of a repeated scalar wins; a uint32 takes a varint's low 32 bits", () => {
    const a = toBinary(
      PeekRequestSchema,
      create(PeekRequestSchema, { object: "a", timestamp: 1n }),
    );
    const b = toBinary(
      PeekRequestSchema,
      create(PeekRequestSchema, { object: "b", timestamp: 2n }),
    );
    const both = Buffer.concat([a, b]);
    expect(peekRequestFromBinary(both)).toEqual(decode(both));
    // field 6 (timeoutMs), varint 2^32 + 5 (6 bytes)
    const wide = Uint8Array.from([0x30, 0x85, 0x80, 0x80, 0x80, 0x10]);
    expect(peekRequestFromBinary(wide)).toEqual(decode(wide));
    expect(peekRequestFromBinary(wide)?.timeoutMs).toBe(5);
    // invalid UTF-8 in `object`: left to fromBinary, which refuses it
    const bad = Uint8Array.from([0x0a, 0x03, 0x61, 0xff, 0x62]);
    expect(peekRequestFromBinary(bad)).toBeUndefined();
    expect(() => decode(bad)).toThrow();
  });

  it("leaves nested fields, unknown fields and malformed bytes to fromBinary", () => {
    const nested = create(PeekRequestSchema, {
      object: "o",
      finishing: { limit: 3n },
    });
    expect(peekRequestFromBinary(toBinary(PeekRequestSchema, nested))).toBeUndefined();
    const withLiterals = create(PeekRequestSchema, { object: "o", literalConstraints: {} });
    expect(peekRequestFromBinary(toBinary(PeekRequestSchema, withLiterals))).toBeUndefined();
    expect(peekRequestFromBinary(Uint8Array.from([0x48, 0x01]))).toBeUndefined(); // field 9
    expect(peekRequestFromBinary(Uint8Array.from([0x0a, 0x05, 0x61]))).toBeUndefined(); // short
    expect(peekRequestFromBinary(Uint8Array.from([0x10, 0x80]))).toBeUndefined(); // cut varint
    expect(peekRequestFromBinary(Uint8Array.from([0x12, 0x00]))).toBeUndefined(); // wire type
    expect(peekRequestFromBinary(Uint8Array.from([0x10, ...Array(10).fill(0xff), 0x01]))).toBe(
      undefined,
    ); // 11-byte varint
  });

  it("random bytes: undefined, or what fromBinary decodes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (bytes) => {
        const ours = peekRequestFromBinary(bytes);
        if (ours === undefined) return;
        expect(ours).toEqual(decode(bytes));
      }),
      { numRuns: 3000 },
    );
  });
});
