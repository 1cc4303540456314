/**
 * Property: under any sequence of appends (including empty ones and rejected stale ones), since
 * downgrades, opportunistic and explicit compaction, every snapshot at a readable time equals the
 * model (the sum of all appended updates as of that time), and a listener from the since sees
 * exactly the appended updates at times >= its start, contiguously.
 */
import { fc, test } from "@fast-check/vitest";
import type { Update } from "@mzts/repr";
import { expect } from "vitest";
import { createMemoryBlob } from "./blob/memory.js";
import { createPersist } from "./client.js";
import { createMemoryConsensus } from "./consensus/memory.js";
import { UpperMismatch } from "./errors.js";
import { contents, expectedAsOf } from "./testdata/shard-suite.js";

type Op =
  | { kind: "append"; width: number; rows: Array<[number, number, number]> }
  | { kind: "stale" }
  | { kind: "downgrade"; frac: number }
  | { kind: "maintenance" }
  | { kind: "snapshot"; frac: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant("append" as const),
      width: fc.integer({ min: 1, max: 5 }),
      // [row id, offset into the batch, diff]
      rows: fc.array(
        fc.tuple(fc.integer({ min: 0, max: 4 }), fc.nat(), fc.integer({ min: -2, max: 2 })),
        { maxLength: 4 },
      ),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: "stale" as const }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("downgrade" as const),
      frac: fc.integer({ min: 0, max: 100 }).map((p) => p / 100),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: "maintenance" as const }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("snapshot" as const),
      // Often exactly at the since: the edge where compacted times land.
      frac: fc.oneof(
        fc.constant(0),
        fc.integer({ min: 0, max: 100 }).map((p) => p / 100),
      ),
    }),
  },
);

test.prop([fc.array(op, { minLength: 5, maxLength: 40 }), fc.integer({ min: 2, max: 5 })], {
  numRuns: 100,
})(
  "snapshots and listens match the model under appends, downgrades and compaction",
  async (ops, compactAfterBatches) => {
    const client = await createPersist({
      consensus: createMemoryConsensus(),
      blob: createMemoryBlob(),
      compactAfterBatches,
      truncateEvery: 3,
    });
    const s = await client.openShard("p", { create: true });
    const h = await s.openSinceHandle("r");
    const listener = s.listen(0n);
    const all: Update[] = [];
    let upper = 0n;
    let since = 0n;
    const pick = (frac: number, lo: bigint, hi: bigint) =>
      lo + BigInt(Math.floor(frac * Number(hi - lo + 1n))) > hi
        ? hi
        : lo + BigInt(Math.floor(frac * Number(hi - lo + 1n)));
    let listened: Update[] = [];
    let listenedUpTo = 0n;
    for (const o of ops) {
      if (o.kind === "append") {
        const batch: Update[] = o.rows.map(([id, off, diff]) => [
          [BigInt(id)],
          upper + BigInt(off % o.width),
          diff,
        ]);
        await s.compareAndAppend(batch, upper, upper + BigInt(o.width));
        all.push(...batch);
        upper += BigInt(o.width);
      } else if (o.kind === "stale" && upper > 0n) {
        await expect(s.compareAndAppend([], upper - 1n, upper + 1n)).rejects.toThrow(UpperMismatch);
      } else if (o.kind === "downgrade") {
        since = pick(o.frac, since, upper);
        await h.downgradeSince(since);
      } else if (o.kind === "maintenance") {
        await s.maintenance();
      } else if (o.kind === "snapshot" && upper > since) {
        const t = pick(o.frac, since, upper - 1n);
        expect(contents(await s.snapshot(t))).toEqual(expectedAsOf(all, t));
      }
      // The listener started at 0 while the since was 0; it may only be drained up to the since
      // while its batches are uncompacted, so drain it whenever it is still at or above the since.
      if (listenedUpTo >= since && listenedUpTo < upper) {
        while (listenedUpTo < upper) {
          const ev = await listener.next();
          expect(ev.done).toBe(false);
          const e = ev.value!;
          expect(e.lower).toBe(listenedUpTo);
          listened = listened.concat(e.updates);
          listenedUpTo = e.upper as bigint;
        }
        const want = all.filter((u) => u[1] < listenedUpTo);
        expect(contents(listened)).toEqual(contents(want));
      }
    }
    listener.close();
    const info = await s.info();
    expect(info.upper).toBe(upper);
    expect(info.since).toBe(since);
    await client.close();
  },
);
