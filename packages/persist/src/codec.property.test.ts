/**
 * Property: any batch of valid updates survives encode → decode exactly, and any single-bit
 * flip is detected (never decoded as data).
 */
import { fc, test } from "@fast-check/vitest";
import type { Datum, Update } from "@mzts/repr";
import { expect } from "vitest";
import { decodeBatch, encodeBatch } from "./codec.js";

const datum: fc.Arbitrary<Datum> = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
  fc.double({ noNaN: true }),
  fc.string(),
  fc.uint8Array({ maxLength: 8 }),
);
const update: fc.Arbitrary<Update> = fc.tuple(
  fc.array(datum, { maxLength: 4 }),
  fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
  fc.integer({ min: -(2 ** 40), max: 2 ** 40 }),
);

test.prop([fc.array(update, { maxLength: 30 })])("batch round trip", (updates) => {
  const decoded = decodeBatch("k", encodeBatch(updates));
  expect(decoded.length).toBe(updates.length);
  for (let i = 0; i < updates.length; i++) {
    expect(decoded[i]![1]).toBe(updates[i]![1]);
    expect(decoded[i]![2]).toBe(updates[i]![2]);
    expect(decoded[i]![0]).toEqual(updates[i]![0]);
  }
});

test.prop([
  fc.array(update, { minLength: 1, maxLength: 10 }),
  fc.nat(),
  fc.integer({ min: 0, max: 7 }),
])("a flipped bit is always detected", (updates, at, bit) => {
  const bytes = encodeBatch(updates);
  const i = at % bytes.byteLength;
  bytes[i]! ^= 1 << bit;
  expect(() => decodeBatch("k", bytes)).toThrow();
});
