import { fc, test } from "@fast-check/vitest";
import { describe, expect } from "vitest";
import { Datum } from "./datum.js";
import { Frontier } from "./frontier.js";
import { PartitionedFrontier } from "./mutable-frontier.js";
import { compareRows, decodeRow, encodeRow, type Row, rowKey } from "./row.js";
import { collectionAsOf, consolidateUpdates, type Update } from "./update.js";

const datum: fc.Arbitrary<Datum> = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }),
  fc.double(),
  fc.string({ unit: "grapheme" }),
  fc.uint8Array({ maxLength: 8 }),
  fc
    .tuple(fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }), fc.integer({ min: 0, max: 20 }))
    .map(([u, s]) => Datum.numericFromParts(u, s)),
  fc.bigInt({ min: -(1n << 62n), max: 1n << 62n }).map((ms) => Datum.timestamp(ms)),
  fc.jsonValue().map((v) => Datum.jsonb(v)),
);
const row: fc.Arbitrary<Row> = fc.array(datum, { maxLength: 6 });

describe("repr properties", () => {
  test.prop([row])("row encoding round-trips", (r) => {
    expect(compareRows(decodeRow(encodeRow(r)), r)).toBe(0);
  });

  test.prop([row, row])("row keys agree with row equality", (a, b) => {
    expect(rowKey(a) === rowKey(b)).toBe(compareRows(a, b) === 0);
  });

  test.prop([datum, datum, datum])("datum order is a total order", (a, b, c) => {
    const ab = Datum.compare(a, b);
    expect(Math.sign(Datum.compare(b, a)) + 0).toBe(-Math.sign(ab) + 0);
    if (ab <= 0 && Datum.compare(b, c) <= 0) expect(Datum.compare(a, c)).toBeLessThanOrEqual(0);
  });

  const updates = fc.array(
    fc.tuple(
      fc.array(fc.integer({ min: 0, max: 3 }).map(BigInt), { maxLength: 2 }),
      fc.bigInt({ min: 0n, max: 5n }),
      fc.integer({ min: -3, max: 3 }),
    ),
    { maxLength: 40 },
  );
  test.prop([updates, fc.bigInt({ min: 0n, max: 6n })])(
    "consolidation preserves the collection at every time",
    (us, t) => {
      const u = us as unknown as Update[];
      expect(collectionAsOf(consolidateUpdates(u), t)).toEqual(collectionAsOf(u, t));
    },
  );

  test.prop([
    fc.integer({ min: 1, max: 5 }),
    fc.array(fc.tuple(fc.nat(), fc.nat({ max: 3 })), { maxLength: 60 }),
  ])("a partitioned frontier is the meet of its parts and never regresses", (n, steps) => {
    const p = new PartitionedFrontier("p", n);
    const parts = new Array<Frontier>(n).fill(0n);
    let last: Frontier = 0n;
    for (const [i, by] of steps) {
      const part = i % n;
      const cur = parts[part]!;
      const next: Frontier = cur === null ? null : by === 3 ? null : cur + BigInt(by);
      p.set(part, next);
      parts[part] = next;
      const meet = parts.reduce<Frontier>((m, f) => Frontier.meet(m, f), null);
      expect(p.frontier).toBe(meet);
      expect(Frontier.lessEqual(last, p.frontier)).toBe(true);
      last = p.frontier;
    }
  });
});
