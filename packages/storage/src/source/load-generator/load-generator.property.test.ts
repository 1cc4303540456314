/**
 * Property tests over random specs, seeds, clocks and tick ranges: determinism, tick independence,
 * the counter's cardinality bound, positive multiplicities and unique keys as of every tick, bids
 * on open auctions, resume without duplicates or gaps, and the worker partition union.
 */
import { fc, test } from "@fast-check/vitest";
import {
  collectionAsOf,
  consolidateUpdates,
  rowKey,
  type TimestampDatum,
  type Update,
} from "@mzts/repr";
import { describe, expect } from "vitest";
import { AuctionOutput } from "./auction.js";
import type { LoadGenerator } from "./load-generator.js";
import { updatesBetween } from "./render.js";
import { createLoadGenerator, type LoadGeneratorSpec } from "./spec.js";
import { TickClock } from "./tick-clock.js";

const seedArb = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });
const counterArb: fc.Arbitrary<LoadGeneratorSpec> = fc.record(
  {
    kind: fc.constant("counter" as const),
    seed: seedArb,
    maxCardinality: fc.integer({ min: 1, max: 12 }),
  },
  { requiredKeys: ["kind"] },
);
const auctionArb: fc.Arbitrary<LoadGeneratorSpec> = fc.record({
  kind: fc.constant("auction" as const),
  seed: seedArb,
});
const specArb = fc.oneof(counterArb, auctionArb);
const clockArb = fc
  .record({
    startMs: fc.bigInt({ min: 0n, max: 1n << 44n }),
    intervalMs: fc.bigInt({ min: 1n, max: 60_000n }),
  })
  .map((s) => new TickClock(s));
const ticksArb = fc.integer({ min: 1, max: 40 }).map(BigInt);

const concat = (a: Map<number, Update[]>, b: Map<number, Update[]>): Map<number, Update[]> =>
  new Map([...a].map(([k, v]) => [k, [...v, ...b.get(k)!]]));

/**
 * Walks the ticks in order, keeping each output's live multiplicities incrementally, and checks
 * after every tick that the rows it touched are not negative and that no key has more than one
 * live row (O(updates), not O(ticks × rows)). At the end, cross-checks with `collectionAsOf`.
 */
function checkCollections(gen: LoadGenerator, n: bigint): void {
  const all = updatesBetween(gen, 0n, n);
  gen.outputs.forEach((output, i) => {
    const updates = all.get(i)!;
    const live = new Map<string, number>();
    const perKey = new Map<string, number>();
    let next = 0;
    for (let t = 0n; t < n; t++) {
      const time = gen.clock.timeAt(t);
      const touched = new Set<string>();
      const touchedKeys = new Set<string>();
      for (; next < updates.length && updates[next]![1] === time; next++) {
        const [row, , diff] = updates[next]!;
        const rk = rowKey(row);
        const kk = rowKey(output.key.map((c) => row[c] ?? null));
        live.set(rk, (live.get(rk) ?? 0) + diff);
        perKey.set(kk, (perKey.get(kk) ?? 0) + diff);
        touched.add(rk);
        touchedKeys.add(kk);
      }
      for (const rk of touched) expect(live.get(rk)).toBeGreaterThanOrEqual(0);
      if (output.key.length > 0) {
        for (const kk of touchedKeys) expect(perKey.get(kk)).toBeLessThanOrEqual(1);
      }
    }
    expect(next).toBe(updates.length);
    const final = collectionAsOf(updates, gen.clock.timeAt(n - 1n));
    expect(final.length).toBe([...live.values()].filter((c) => c !== 0).length);
    for (const [row, count] of final) {
      expect(count).toBeGreaterThan(0);
      expect(live.get(rowKey(row))).toBe(count);
    }
  });
}

describe("load generator properties", () => {
  test.prop([specArb, clockArb, ticksArb])(
    "deterministic: the same spec, clock and tick give identical updates",
    (spec, clock, n) => {
      const a = createLoadGenerator(spec, clock);
      const b = createLoadGenerator(structuredClone(spec), clock.toSpec());
      expect(b.updatesAt(n)).toEqual(a.updatesAt(n));
      expect(b.updatesAt(0n)).toEqual(a.updatesAt(0n));
    },
  );

  test.prop([seedArb, seedArb, clockArb])(
    "auction: different seeds give different data",
    (s1, s2, clock) => {
      fc.pre(s1 !== s2);
      const a = createLoadGenerator({ kind: "auction", seed: s1 }, clock);
      const b = createLoadGenerator({ kind: "auction", seed: s2 }, clock);
      expect(updatesBetween(a, 0n, 3n)).not.toEqual(updatesBetween(b, 0n, 3n));
    },
  );

  test.prop([specArb, clockArb, ticksArb])(
    "tick independence: tick n alone equals tick n after ticks 0..n-1",
    (spec, clock, n) => {
      const warm = createLoadGenerator(spec, clock);
      for (let t = 0n; t < n; t++) warm.updatesAt(t);
      const cold = createLoadGenerator(spec, clock);
      expect(cold.updatesAt(n)).toEqual(warm.updatesAt(n));
      // And in reverse order, each tick matches the forward computation.
      const forward = updatesBetween(warm, 0n, n + 1n);
      const backward = createLoadGenerator(spec, clock);
      const rev = new Map<number, Update[]>(warm.outputs.map((_, i) => [i, []]));
      for (let t = n; t >= 0n; t--) {
        const time = clock.timeAt(t);
        for (const u of backward.updatesAt(t)) rev.get(u.output)!.unshift([u.row, time, u.diff]);
      }
      for (const [i, v] of forward)
        expect(consolidateUpdates(rev.get(i)!)).toEqual(consolidateUpdates(v));
    },
  );

  test.prop([fc.integer({ min: 1, max: 12 }), clockArb, ticksArb])(
    "counter: as of tick t exactly the last min(t+1, m) values are live",
    (m, clock, n) => {
      const gen = createLoadGenerator({ kind: "counter", maxCardinality: m }, clock);
      const all = updatesBetween(gen, 0n, n).get(0)!;
      for (let t = 0n; t < n; t++) {
        const live = collectionAsOf(all, clock.timeAt(t));
        expect(live.length).toBeLessThanOrEqual(m);
        const lo = t + 2n - BigInt(m) > 1n ? t + 2n - BigInt(m) : 1n;
        const expected: Array<[bigint[], number]> = [];
        for (let v = lo; v <= t + 1n; v++) expected.push([[v], 1]);
        expect(live).toEqual(expected);
      }
    },
  );

  test.prop([specArb, clockArb, ticksArb])(
    "no negative multiplicities and unique keys per output as of every tick",
    (spec, clock, n) => checkCollections(createLoadGenerator(spec, clock), n),
  );

  test.prop([seedArb, clockArb, ticksArb])(
    "auction: every bid references an auction open at the bid's time",
    (seed, clock, n) => {
      const gen = createLoadGenerator({ kind: "auction", seed }, clock);
      const all = updatesBetween(gen, 0n, n);
      const auctions = new Map<unknown, [bigint, bigint]>();
      for (const [row, time] of all.get(AuctionOutput.auctions)!) {
        auctions.set(row[0], [time, (row[3] as TimestampDatum).ms]);
      }
      for (const [row, time] of all.get(AuctionOutput.bids)!) {
        const a = auctions.get(row[2]);
        expect(a).toBeDefined();
        const [created, end] = a!;
        expect((row[4] as TimestampDatum).ms).toBe(time);
        expect(created <= time && time < end).toBe(true);
      }
    },
  );

  test.prop([specArb, clockArb, ticksArb, fc.bigInt({ min: 0n, max: 1n << 16n })])(
    "resume: writing up to a shard upper, then resuming at firstTickAtOrAfter(upper), equals one run",
    (spec, clock, n, offset) => {
      const gen = createLoadGenerator(spec, clock);
      const whole = updatesBetween(gen, 0n, n);
      // An arbitrary upper between (or before) tick times: the shard holds exactly the ticks below it.
      const upper = clock.startMs + (offset % (clock.timeAt(n) - clock.startMs + 1n));
      const k = clock.firstTickAtOrAfter(upper);
      const first = updatesBetween(gen, 0n, k);
      for (const v of first.values()) for (const [, t] of v) expect(t < upper).toBe(true);
      expect(concat(first, updatesBetween(gen, k, n))).toEqual(whole);
      // The aligned case: after writing [0, k) the upper is upperAfter(k) and resuming lands on k.
      expect(clock.firstTickAtOrAfter(clock.upperAfter(k))).toBe(k);
    },
  );

  test.prop([specArb, clockArb, ticksArb, fc.integer({ min: 1, max: 5 })])(
    "partition: the union over W workers is the unpartitioned output, each update once",
    (spec, clock, n, workers) => {
      const gen = createLoadGenerator(spec, clock);
      const whole = updatesBetween(gen, 0n, n);
      const parts = Array.from({ length: workers }, (_, worker) =>
        updatesBetween(gen, 0n, n, { partition: { worker, workers } }),
      );
      for (const [i, all] of whole) {
        const union = parts.flatMap((p) => p.get(i)!);
        expect(union.length).toBe(all.length);
        const sortKey = (u: Update) => `${u[1]}|${rowKey(u[0])}|${u[2]}`;
        expect(union.map(sortKey).sort()).toEqual(all.map(sortKey).sort());
      }
    },
  );
});
