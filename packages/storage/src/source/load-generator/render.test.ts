/**
 * Tests of `updatesBetween` and worker partitioning: timestamps per tick, an entry per output,
 * range and partition validation, and a fixed-seed union check (the random-input version is in
 * `load-generator.property.test.ts`).
 */
import { consolidateUpdates, type Update } from "@mzts/repr";
import { describe, expect, it } from "vitest";
import { InvalidPartition, InvalidTick } from "../../errors.js";
import { updatesBetween, workerForRow } from "./render.js";
import { createLoadGenerator } from "./spec.js";

const clock = { startMs: 10_000n, intervalMs: 100n };

describe("updatesBetween", () => {
  it("stamps each tick's updates with the tick's time", () => {
    const gen = createLoadGenerator({ kind: "counter", maxCardinality: 2 }, clock);
    expect(updatesBetween(gen, 1n, 4n).get(0)).toEqual([
      [[2n], 10_100n, 1],
      [[3n], 10_200n, 1],
      [[1n], 10_200n, -1],
      [[4n], 10_300n, 1],
      [[2n], 10_300n, -1],
    ]);
  });

  it("has an entry for every output, empty for an empty range", () => {
    const gen = createLoadGenerator({ kind: "auction" }, clock);
    const m = updatesBetween(gen, 5n, 5n);
    expect([...m.keys()]).toEqual([0, 1, 2, 3, 4]);
    for (const v of m.values()) expect(v).toEqual([]);
  });

  it("rejects a reversed or negative range", () => {
    const gen = createLoadGenerator({ kind: "counter" }, clock);
    expect(() => updatesBetween(gen, 3n, 2n)).toThrow(InvalidTick);
    expect(() => updatesBetween(gen, -1n, 2n)).toThrow(InvalidTick);
  });

  it("rejects invalid partitions", () => {
    const gen = createLoadGenerator({ kind: "counter" }, clock);
    for (const p of [
      { worker: 2, workers: 2 },
      { worker: -1, workers: 2 },
      { worker: 0, workers: 0 },
      { worker: 0.5, workers: 2 },
    ]) {
      expect(() => updatesBetween(gen, 0n, 1n, { partition: p })).toThrow(InvalidPartition);
    }
    expect(() => workerForRow([1n], 0)).toThrow(InvalidPartition);
  });

  it("splits the updates between workers by row hash, each exactly once", () => {
    const gen = createLoadGenerator({ kind: "auction", seed: 3 }, clock);
    const whole = updatesBetween(gen, 0n, 30n);
    const workers = 3;
    const parts = Array.from({ length: workers }, (_, worker) =>
      updatesBetween(gen, 0n, 30n, { partition: { worker, workers } }),
    );
    for (const [output, all] of whole) {
      const union: Update[] = parts.flatMap((p) => p.get(output)!);
      expect(union).toHaveLength(all.length);
      expect(consolidateUpdates(union)).toEqual(consolidateUpdates(all));
      parts.forEach((p, w) => {
        for (const [row] of p.get(output)!) expect(workerForRow(row, workers)).toBe(w);
      });
    }
    // The split is not degenerate: every worker gets some bids.
    for (const p of parts) expect(p.get(4)!.length).toBeGreaterThan(0);
  });
});
