/**
 * A materialized view's readable floor (see `timestamps.ts`): when its dataflow's as-of raises
 * its shard's since, and what a restart infers from a re-attached shard.
 */
import { expect, it } from "vitest";
import { restartFloor, sinkFloor } from "./timestamps.js";

it("a view built at or past its shard's upper is readable from its as-of only", () => {
  expect(sinkFloor(0n, 1_000n)).toBe(1_000n); // a new view: the sink writes [0, 1001)
  expect(sinkFloor(1_000n, 1_000n)).toBe(1_000n); // behind: it writes [1000, 1001)
  expect(sinkFloor(600n, 1_000n)).toBe(1_000n); // inputs compacted past its upper
  expect(sinkFloor(1_001n, 1_000n)).toBeUndefined(); // the sink continues the shard
  expect(sinkFloor(0n, 0n)).toBeUndefined(); // nothing below 0
  expect(sinkFloor(null, 1_000n)).toBeUndefined(); // closed: nothing is written any more
});

it("a restart that finds a written shard whose since never moved reads from upper − 1", () => {
  // Crashed between the sink's first append ([0, 1001)) and the tick that applies the floor.
  expect(restartFloor(0n, 1_001n)).toBe(1_000n);
  // The tick applied it (or the window moved it): the handle's since is the floor.
  expect(restartFloor(1_000n, 5_000n)).toBeUndefined();
  expect(restartFloor(0n, 0n)).toBeUndefined(); // never written
  expect(restartFloor(0n, 1n)).toBeUndefined(); // written only at 0: readable from 0
  expect(restartFloor(0n, null)).toBeUndefined();
});
