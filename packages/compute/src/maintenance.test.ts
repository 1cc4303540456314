/**
 * Maintenance on demand (issue 16): a `ComputeState` driven like the worker loops drive it —
 * steps on request, `maintain()` through mz-cluster's `MaintenanceTimer` (10 ms interval) — real
 * persist on a temp directory:
 * - at idle with logging off no maintenance timer is armed and `maintain()` does not run;
 * - a source tick after the quiet spell still reaches the index: its frontier is reported and a
 *   peek at the new time answered (the only maintenance runs are the ones the state asked for);
 * - with logging on, an idle worker runs maintenance about once per log interval (at the
 *   boundary, when the log indexes advance), and their uppers are reported at each.
 */
import type { MaintenanceTimer } from "@mzts/mz-cluster";
import { TestWorkerLoop, until } from "@mzts/mz-cluster/testing";
import type { ComputeCommand, PeekResponse } from "@mzts/protocol";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { ComputeState, type WorkerResponse } from "./compute-state.js";
import { LegacyComputeLogging } from "./legacy/logging/legacy-logging.js";
import { conformanceConfig, logIndexId } from "./logging/conformance.js";
import {
  append,
  cleanups,
  INSTANCE,
  peekOf,
  runCleanups,
  shards,
  sleep,
  sourceIndex,
} from "./testdata/in-process-workers.js";

afterEach(runCleanups);

/** One worker and the loop around it (steps on request, maintenance by `MaintenanceTimer`). */
class Loop {
  readonly out: WorkerResponse[] = [];
  readonly state: ComputeState;
  readonly timer: MaintenanceTimer;
  /** `Date.now()` of every maintenance run. */
  readonly runs: number[] = [];
  /** What happened, in order: `maintain` runs and `answer`s (peek responses). */
  readonly events: string[] = [];
  readonly #loop: TestWorkerLoop;

  constructor(dir: string) {
    const log = pino({ level: "silent" });
    this.#loop = new TestWorkerLoop({
      step: () => this.state.step(),
      maintain: () => {
        this.runs.push(Date.now());
        this.events.push("maintain");
        return this.state.maintain();
      },
    });
    this.timer = this.#loop.timer;
    this.state = new ComputeState(0, 1, {
      mesh: { index: 0, peers: 1, send() {}, on() {} },
      config: { dataDir: dir, pollIntervalMs: 5, replicaId: "r1", sinceDowngradeIntervalMs: 50 },
      respond: (r) => {
        this.out.push(r);
        if (r.kind === "peekResponse") this.events.push("answer");
      },
      requestStep: this.#loop.requestStep,
      requestMaintenance: this.#loop.requestMaintenance,
      logger: log,
      logging: new LegacyComputeLogging({ worker: 0, log }),
    });
    cleanups.push(async () => {
      this.#loop.close();
      await this.state.close();
    });
  }

  apply(...cmds: ComputeCommand[]): void {
    for (const c of cmds) this.state.apply(c);
  }

  /** The last output frontier reported for `id`. */
  output(id: string): bigint | null | undefined {
    let last: bigint | null | undefined;
    for (const r of this.out) {
      if (r.kind === "frontiers" && r.id === id && r.frontiers.output !== undefined) {
        last = r.frontiers.output;
      }
    }
    return last;
  }

  until(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
    return until(cond, what, ms);
  }

  async peek(id: string, t: bigint): Promise<PeekResponse> {
    const p = peekOf(id, t);
    this.apply({ kind: "peek", peek: p });
    let answer: PeekResponse | undefined;
    await this.until(() => {
      for (const r of this.out)
        if (r.kind === "peekResponse" && r.uuid === p.uuid) answer = r.response;
      return answer !== undefined;
    }, `peek of ${id} at ${t}`);
    return answer!;
  }
}

describe("maintenance on demand", () => {
  it("arms no timer at idle; a source tick still reaches the frontier report and a peek", async () => {
    const { dir, shards: s } = await shards(["a"]);
    await append(s.a!, 1n, 0n);
    const w = new Loop(dir);
    w.apply(
      INSTANCE,
      { kind: "createDataflow", dataflow: sourceIndex("ua", "a") },
      { kind: "initializationComplete" },
    );
    await w.until(() => w.output("ua") === 1n, "ua reported at 1");

    // Quiet: after the last asked-for run, nothing is armed and nothing runs.
    await sleep(100);
    const runs = w.runs.length;
    expect(w.timer.armed).toBe(false);
    await sleep(300);
    expect(w.runs.length).toBe(runs);
    expect(w.timer.armed).toBe(false);

    // A tick: the index steps, asks for maintenance, and its new frontier is reported.
    await append(s.a!, 2n, 1n);
    await w.until(() => w.output("ua") === 2n, "ua reported at 2");
    expect(w.runs.length).toBeGreaterThan(runs);
    const r = await w.peek("ua", 1n);
    expect(r).toEqual({
      kind: "rows",
      rows: [
        [[1n], 1],
        [[2n], 1],
      ],
    });
    // And quiet again.
    await sleep(100);
    expect(w.timer.armed).toBe(false);

    // A peek after the quiet spell is answered before the maintenance it asked for runs.
    w.events.length = 0;
    await w.peek("ua", 1n);
    await w.until(() => w.events.includes("maintain"), "the peek's maintenance");
    expect(w.events.slice(0, 2)).toEqual(["answer", "maintain"]);
  });

  it("with logging on, an idle worker maintains about once per log interval; log uppers advance", async () => {
    const { dir, shards: s } = await shards(["a"]);
    await append(s.a!, 1n, 0n);
    const w = new Loop(dir);
    const interval = 200;
    w.apply(
      { kind: "createInstance", config: { logging: conformanceConfig(interval) } },
      { kind: "createDataflow", dataflow: sourceIndex("ua", "a") },
      { kind: "initializationComplete" },
    );
    await w.until(() => w.output("ua") === 1n, "ua reported at 1");
    const logId = logIndexId("dataflows");
    await sleep(2 * interval);
    const from = w.runs.length;
    const upperBefore = w.output(logId);
    await sleep(5 * interval);
    const idleRuns = w.runs.slice(from);
    // The fixed 10 ms tick ran ~100 times here; on demand: one per boundary (5, give or take one).
    expect(idleRuns.length).toBeGreaterThanOrEqual(3);
    expect(idleRuns.length).toBeLessThanOrEqual(7);
    const upperAfter = w.output(logId);
    expect(typeof upperBefore).toBe("bigint");
    expect(upperAfter! >= (upperBefore as bigint) + BigInt(4 * interval)).toBe(true);
  });
});
