/**
 * `isUuid` (a char-code loop: issue 16) accepts exactly what the canonical lowercase UUID
 * RegExp accepts.
 */
import { randomUUID } from "node:crypto";
import { fc, test } from "@fast-check/vitest";
import { describe, expect, it } from "vitest";
import { isUuid } from "./field.js";

const CANONICAL = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** Strings near a UUID: one character of a real one replaced, inserted or removed. */
const nearUuid = fc
  .tuple(
    fc.constant(null).map(() => randomUUID()),
    fc.nat(36),
    fc.constantFrom("", "0", "f", "g", "A", "F", "-", "/", ":", "`", "\u0660", "é"),
    fc.constantFrom(0, 1),
  )
  .map(([u, at, ch, drop]) => u.slice(0, at) + ch + u.slice(at + drop));

describe("isUuid", () => {
  it("accepts randomUUID and refuses uppercase, braces and other lengths", () => {
    for (let i = 0; i < 100; i++) expect(isUuid(randomUUID())).toBe(true);
    const u = randomUUID();
    for (const bad of [u.toUpperCase(), `{${u}}`, u.slice(1), `${u}0`, "", u.replaceAll("-", "")]) {
      expect(isUuid(bad)).toBe(false);
    }
  });

  test.prop([fc.oneof(nearUuid, fc.string({ maxLength: 40 }), fc.uuid())], { numRuns: 2000 })(
    "agrees with the canonical RegExp",
    (s) => {
      expect(isUuid(s)).toBe(CANONICAL.test(s));
    },
  );
});
