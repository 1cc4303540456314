/**
 * `ReadCursor.ascii`: short and long strings (the long ones read by `latin1Slice`, issue 16) give
 * the bytes' characters, refuse a non-ASCII byte anywhere without moving, and refuse a length past
 * the end.
 */
import { fc, test } from "@fast-check/vitest";
import { describe, expect } from "vitest";
import { ReadCursor } from "./read-cursor.js";

describe("ReadCursor.ascii", () => {
  test.prop(
    [
      fc.string({
        unit: fc.integer({ min: 0, max: 0x7f }).map((c) => String.fromCharCode(c)),
        maxLength: 60,
      }),
      fc.nat(3),
    ],
    { numRuns: 300 },
  )("reads ASCII at any offset as the same string", (s, lead) => {
    const b = new Uint8Array(lead + s.length + 2);
    for (let i = 0; i < s.length; i++) b[lead + i] = s.charCodeAt(i);
    const c = new ReadCursor(b, lead, b.length);
    expect(c.ascii(s.length)).toBe(s);
    expect(c.pos).toBe(lead + s.length);
  });

  test.prop([fc.integer({ min: 1, max: 60 }), fc.nat(), fc.integer({ min: 0x80, max: 0xff })], {
    numRuns: 200,
  })("refuses a non-ASCII byte anywhere, and a length past the end", (len, at, byte) => {
    const b = new Uint8Array(len).fill(0x61);
    b[at % len] = byte;
    const c = new ReadCursor(b, 0, len);
    expect(c.ascii(len)).toBeUndefined();
    expect(c.pos).toBe(0);
    expect(new ReadCursor(b.fill(0x61), 0, len).ascii(len + 1)).toBeUndefined();
  });
});
