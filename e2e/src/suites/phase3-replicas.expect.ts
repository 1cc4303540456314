/**
 * The phase 3 scenario (`phase3-replicas.suite.ts`) as a test suite factory and its assertions,
 * shared by the phase 3 test (replicas off and on) and the phase 4 test (client off and on,
 * replicas on), so the failure suite runs with each phase's flag on without a copy of its checks:
 * `describePhase3Runs` runs the scenario once per flag setting (each with `expectPhase3Run` plus
 * the caller's own checks), then compares the first run with every other (`expectSameObservations`).
 */
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { liveCount, stopAll } from "../harness/processes.js";
import {
  type Phase3Flags,
  type Phase3Observations,
  runPhase3Scenario,
} from "./phase3-replicas.suite.js";

/** What `describePhase3Runs` runs. */
export interface Phase3Runs {
  /** The suite's title ("phase 3 replicas"); runs are "<title>, flag <name>". */
  readonly title: string;
  /** Each run's name ("off", "on") and flags; the first is the baseline of the comparison. */
  readonly runs: ReadonlyArray<readonly [string, Phase3Flags]>;
  /** The run test's name. */
  readonly test: string;
  readonly timeoutMs: number;
  /** Checks of the caller's phase on one run, after `expectPhase3Run`. */
  check?(o: Phase3Observations, flags: Phase3Flags): void;
}

/** Registers one test per run and the comparison of the runs (see the file comment). */
export function describePhase3Runs(spec: Phase3Runs): void {
  afterEach(stopAll);
  afterAll(() => {
    expect(liveCount()).toBe(0);
  });
  const seen: Record<string, Phase3Observations> = {};
  describe.each(spec.runs.map(([name, flags]) => [name, flags] as const))(
    `${spec.title}, flag %s`,
    (name, flags) => {
      it(
        spec.test,
        async () => {
          const o = await runPhase3Scenario(flags);
          seen[name] = o;
          console.log(describeRun(`${spec.title} ${name}`, o));
          expectPhase3Run(o, flags.replicas);
          spec.check?.(o, flags);
        },
        spec.timeoutMs,
      );
    },
  );
  const [baseline, ...others] = spec.runs.map(([name]) => name);
  describe(`${spec.title}, ${spec.runs.map(([n]) => n).join(" vs ")}`, () => {
    it("observes the same results and the same metric names", () => {
      for (const other of others) expectSameObservations(seen[baseline ?? ""], seen[other]);
    });
  });
}

/**
 * One run's checks: kill -9 under peeks with no failed or differing peek, SIGSTOP detected,
 * history bounded, the same answers as the shards, adoption after an environmentd restart.
 * `unifiedReplicas`: the unified replica task's tighter detection bound applies.
 */
export function expectPhase3Run(o: Phase3Observations, unifiedReplicas: boolean): void {
  const d = o.detection;
  const path = unifiedReplicas ? "unified" : "legacy";
  expect(o.paths.filter((p) => p.seam.endsWith("-replicas")).map((p) => p.path)).toEqual([
    path,
    path,
  ]);
  expect(o.failover.errors).toEqual([]);
  expect(o.failover.mismatches).toEqual([]);
  expect(o.failover.okDuringOutage).toBeGreaterThan(0);
  expect(o.failover.monotone).toBe(true);
  expect(o.survivedStop).toBe(true);
  expect(o.r1AtT).toEqual(o.atT);
  expect(o.rehydrated).toEqual(o.atT);
  expect(o.final).toEqual(o.atT);
  expect(d.computeMs).toBeLessThanOrEqual(10_000);
  expect(d.storageMs).toBeLessThanOrEqual(10_000);
  expect(d.statusMs).toBeLessThanOrEqual(10_000);
  if (unifiedReplicas) {
    // The unified task's keepalive: 250 ms PINGs, 1.5 s timeout (≤ 1.75 s), plus the polling.
    expect(d.computeMs).toBeLessThanOrEqual(2500);
    expect(d.storageMs).toBeLessThanOrEqual(2500);
  }
  expect(o.historyAfterPeeks).toBeGreaterThan(0);
  expect(o.historyAfterPeeks).toBeLessThan(100);
  expect(o.atT.bids).toEqual(o.reference.bids);
  expect(o.atT.winning).toEqual(o.reference.winning);
  // Both controllers rehydrated r1 after the kill and r2 after the stop.
  expect(o.connects.compute).toBeGreaterThanOrEqual(4);
  expect(o.connects.storage).toBeGreaterThanOrEqual(4);
  // environmentd restarted: adopted and reconciled replicas, the same paths and answers.
  const r = o.restart;
  expect(r.nextGeneration).toBe(true);
  expect(r.adopted).toBe(true);
  expect({ reused: r.reused, replaced: r.replaced }).toEqual({ reused: r.expected, replaced: 0 });
  expect(r.paths).toEqual(o.paths);
  expect(r.answers).toEqual(o.atT);
}

/** Two runs of the scenario observe the same results and the same metric names. */
export function expectSameObservations(
  off: Phase3Observations | undefined,
  on: Phase3Observations | undefined,
): void {
  expect(off && on, "both runs completed").toBeTruthy();
  if (off === undefined || on === undefined) return;
  expect(on.atT).toEqual(off.atT);
  expect(on.final).toEqual(off.final);
  expect(on.restart.answers).toEqual(off.restart.answers);
  expect(on.rehydrated).toEqual(off.rehydrated);
  expect(on.reference).toEqual(off.reference);
  expect(on.closedFrontiers).toEqual(off.closedFrontiers);
  expect(on.metricNames).toEqual(off.metricNames);
  expect(on.metricNames.length).toBeGreaterThan(5);
}

/** The one-line summary of a run a test prints. */
export function describeRun(name: string, o: Phase3Observations): string {
  const d = o.detection;
  const conns = [...o.connections]
    .map(([r, c]) => `${r}: ${c.sockets} sockets / gauge ${c.metric}`)
    .join(", ");
  return (
    `${name}: r1 back after ${o.failover.restartMs} ms, ${o.failover.ok} peeks ` +
    `(${o.failover.okDuringOutage} during the outage); SIGSTOP detected by compute ` +
    `${d.computeMs ?? "never"} ms, storage ${d.storageMs ?? "never"} ms, status ` +
    `${d.statusMs ?? "never"} ms; history ${o.historyAfterPeeks} commands after 400 peeks; ` +
    `connects compute ${o.connects.compute}, storage ${o.connects.storage}; after an ` +
    `environmentd restart reused ${o.restart.reused}, replaced ${o.restart.replaced}; ` +
    `controller connections ${conns}`
  );
}
