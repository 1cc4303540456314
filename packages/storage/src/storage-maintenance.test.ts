/**
 * Storage maintenance on demand (issue 16): one `StorageState` driven as the unified worker loop
 * drives it — steps on request, `maintain()` through mz-cluster's `MaintenanceTimer` (10 ms
 * interval) — over real persist on a temp directory, with a real-time counter source:
 * - a tick reaches the shard and the `frontierUpper` report about as promptly as on the fixed
 *   10 ms cadence (the old loop, run beside it in the same test: its maintenance returns
 *   nothing and every run is followed by a step, as `worker-main.ts` does for such workloads);
 * - between ticks nothing runs every 10 ms: a few maintenance runs per tick, not 100 a second;
 * - a shard writer whose open fails is retried when its backoff is over (maintenance is told
 *   when): the ingestion is `stalled`, then runs and its data lands, once.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { MaintenanceTimer } from "@mzts/mz-cluster";
import { TestWorkerLoop, until as untilFor } from "@mzts/mz-cluster/testing";
import { createPersist, type PersistClient, StorageUnavailable } from "@mzts/persist";
import type { StorageCommand, StorageResponse } from "@mzts/protocol";
import { pino } from "pino";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { StorageCounters } from "./metrics.js";
import { StorageState } from "./storage-state.js";
import { DEFAULT_STATE_OPTIONS } from "./storage-state-deps.js";

let dir: string;
let persist: PersistClient;
const loops: Loop[] = [];
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "mzts-storage-maint-"));
  persist = await createPersist({ dataDir: dir });
});
afterEach(async () => {
  for (const l of loops.splice(0)) l.close();
  await persist.close();
  rmSync(dir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One worker and the loop around it. `fixed`: the old loop (10 ms cadence, a step after each). */
class Loop {
  readonly out: Array<{ at: number; r: StorageResponse }> = [];
  readonly state: StorageState;
  readonly timer: MaintenanceTimer;
  runs = 0;
  readonly #loop: TestWorkerLoop;
  #seq = 0;

  constructor(fixed: boolean, openPersist: () => Promise<PersistClient> = async () => persist) {
    this.#loop = new TestWorkerLoop({
      step: () => this.state.step(),
      maintain: () => {
        this.runs++;
        const due = this.state.maintain();
        if (!fixed) return due;
        this.#loop.requestStep();
        return undefined;
      },
    });
    this.timer = this.#loop.timer;
    this.state = new StorageState({
      index: 0,
      peers: 1,
      respond: (r) => this.out.push({ at: Date.now(), r }),
      send: () => {
        throw new Error("one worker sends nothing");
      },
      requestStep: this.#loop.requestStep,
      ...(fixed ? {} : { requestMaintenance: this.#loop.requestMaintenance }),
      openPersist,
      counters: new StorageCounters(),
      logger: pino({ level: "silent" }),
      nowMs: () => Date.now(),
      options: DEFAULT_STATE_OPTIONS,
    });
    loops.push(this);
    this.timer.request();
  }

  apply(cmd: StorageCommand): void {
    this.#seq++;
    for (const a of this.state.applyCommand(cmd)) {
      if (a.kind === "render") this.state.render(this.#seq, a.id, a.description, a.resume);
      else if (a.kind === "drop") this.state.dropDataflow(this.#seq, a.id);
      else this.state.dropExport(this.#seq, a.ingestionId, a.exportId);
    }
  }

  /** Every status of `id`, in order. */
  statuses(id: string): string[] {
    return this.out.flatMap(({ r }) =>
      r.kind === "statusUpdate" && r.update.id === id ? [r.update.status] : [],
    );
  }

  /** Arrival time and upper of every `frontierUpper` of `id`. */
  uppers(id: string): Array<{ at: number; upper: bigint }> {
    return this.out.flatMap(({ at, r }) =>
      r.kind === "frontierUpper" && r.id === id && r.upper !== null ? [{ at, upper: r.upper }] : [],
    );
  }

  close(): void {
    this.#loop.close();
    this.state.close();
  }
}

/** A real-time counter ingestion `u1` (export `u2` on `shardId`) ticking every `intervalMs`. */
function counter(shardId: string, startMs: bigint, intervalMs: number): StorageCommand {
  return {
    kind: "runIngestion",
    id: "u1",
    description: {
      sourceExports: [{ id: "u2", shardId, outputIndex: 0, name: "counter" }],
      connection: {
        kind: "loadGenerator",
        generator: { kind: "counter" },
        seed: 0n,
        tickIntervalMs: intervalMs,
      },
    },
    resume: { startMs, uppers: {} },
  } as StorageCommand;
}

/** Ms from each tick's time to the report of the upper just past it (ticks after the first). */
function latencies(uppers: Array<{ at: number; upper: bigint }>, intervalMs: number): number[] {
  return uppers.slice(1).map(({ at, upper }) => at - Number(upper - BigInt(intervalMs)));
}

const until = (cond: () => boolean) => untilFor(cond, "the first upper", 10_000, 5);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

describe("storage maintenance on demand", () => {
  it("reports a real-time tick as promptly as the fixed 10 ms cadence did", async () => {
    const interval = 100;
    const start = BigInt(Date.now());
    const loops = { onDemand: new Loop(false), fixed: new Loop(true) };
    loops.onDemand.apply(counter("s-demand", start, interval));
    loops.fixed.apply(counter("s-fixed", start, interval));
    for (const l of Object.values(loops)) l.apply({ kind: "allowWrites" });
    // Both shards open and written once (slow under load), then six ticks.
    await until(() => Object.values(loops).every((l) => l.uppers("u2").length > 0));
    await sleep(6 * interval);
    const demand = latencies(loops.onDemand.uppers("u2"), interval);
    const fixed = latencies(loops.fixed.uppers("u2"), interval);
    if (process.env.MZ_TEST_PRINT) console.log({ demand, fixed });
    expect(demand.length).toBeGreaterThanOrEqual(4);
    expect(fixed.length).toBeGreaterThanOrEqual(4);
    // Every report is of data in the shard.
    const last = loops.onDemand.uppers("u2").at(-1)!.upper;
    const shard = await persist.openShard("s-demand");
    expect((await shard.upper())! >= last).toBe(true);
    // Same promptness: the median within a few ms of the fixed cadence's (both include a
    // persist append; a lost wakeup would cost a whole tick interval).
    expect(median(demand)).toBeLessThanOrEqual(median(fixed) + interval / 4);
    // The ingestion's own id is reported too (the meet over its exports).
    expect(loops.onDemand.uppers("u1").length).toBeGreaterThanOrEqual(4);
  });

  it("does not run maintenance every 10 ms between once-a-second ticks", async () => {
    const loop = new Loop(false);
    loop.apply(counter("s-idle", BigInt(Date.now()), 1000));
    loop.apply({ kind: "allowWrites" });
    await until(() => loop.uppers("u2").length > 0); // render, open, tick 0
    const before = loop.runs;
    await sleep(1500);
    const runs = loop.runs - before;
    if (process.env.MZ_TEST_PRINT) console.log({ runs });
    // One or two ticks (each: the tick, its part, the append settling, the upper) and the
    // statistics; the fixed cadence ran ~150 times.
    expect(runs).toBeLessThanOrEqual(25);
    expect(loop.uppers("u2").length).toBeGreaterThanOrEqual(2);
    expect(loop.timer.armed).toBe(true); // the next tick or statistics, not a 10 ms tick
  });
});

describe("a shard writer whose open fails", () => {
  it("is retried by maintenance until it opens: stalled, then running, its data written once", async () => {
    let attempts = 0;
    const loop = new Loop(false, async () => {
      if (++attempts <= 3) {
        throw new StorageUnavailable("consensus", "open", new Error("SQLITE_BUSY"));
      }
      return persist;
    });
    loop.apply(counter("s-retry", BigInt(Date.now()), 50));
    loop.apply({ kind: "allowWrites" });
    // Backoff 100 + 200 + 400 ms, then the open and the first append.
    await until(() => loop.uppers("u2").length >= 2);
    expect(attempts).toBe(4);
    expect(loop.statuses("u1")).toEqual(["starting", "stalled", "running"]);
    // What the shard holds: each tick's update once (the counter inserts `n + 1` at tick `n`).
    const upper = loop.uppers("u2").at(-1)!.upper;
    const shard = await persist.openShard("s-retry");
    const rows = (await shard.snapshot(upper - 1n)).map(([row]) =>
      JSON.stringify(row, (_, v) => (typeof v === "bigint" ? `${v}` : v)),
    );
    expect(rows.length).toBeGreaterThan(0);
    expect(new Set(rows).size).toBe(rows.length);
  });
});
