/**
 * Phase 1 (servers): the same deterministic scenario with `cluster-unification-servers` off
 * (legacy compute and storage servers) and on (the unified `mz-cluster` runtime). Both must give
 * identical peek answers and subscribe streams, equal to a reference computed from the shards,
 * with frontiers that never move backward.
 */
import { Frontier } from "@mzts/repr";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { liveCount, stopAll } from "../src/harness/processes.js";
import { type Phase1Observations, runPhase1Scenario } from "../src/suites/phase1-servers.suite.js";

afterEach(stopAll);
afterAll(() => {
  expect(liveCount()).toBe(0);
});

function monotone(fs: readonly Frontier[]): boolean {
  return fs.every((f, i) => i === 0 || Frontier.lessEqual(fs[i - 1]!, f));
}

const runs: Record<string, Phase1Observations> = {};

describe.each([
  ["off", false],
  ["on", true],
])("phase 1 servers, flag %s", (name, on) => {
  it("answers peeks, streams the subscribe, compacts and drops", async () => {
    const obs = await runPhase1Scenario({ flags: { servers: on }, workers: 2 });
    runs[name] = obs;
    for (const [t, rows] of obs.peeks) {
      expect(rows, `peek at ${t}`).toEqual(obs.reference.get(t));
      expect(rows.length).toBeGreaterThan(0);
    }
    expect(obs.subscribe.length).toBeGreaterThan(0);
    expect(obs.belowSinceError).toMatch(/since|compact/i);
    expect(monotone(obs.subscribeUppers)).toBe(true);
    expect(monotone(obs.indexWriteFrontiers)).toBe(true);
    expect(monotone(obs.bidsUppers)).toBe(true);
    expect(obs.indexWriteFrontiers.at(-1)).toBe(null);
  });
});

describe("phase 1 servers, off vs on", () => {
  it("observes identical results", () => {
    const off = runs.off;
    const on = runs.on;
    expect(off && on, "both runs completed").toBeTruthy();
    expect(on!.peeks).toEqual(off!.peeks);
    expect(on!.subscribe).toEqual(off!.subscribe);
    expect(on!.belowSinceError).toEqual(off!.belowSinceError);
  });
});
