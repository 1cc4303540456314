/**
 * The storage workload over real worker threads and real persist (SQLite in a temp dir), in
 * deterministic mode so shard contents can be compared exactly with the generator's output.
 * Imports the BUILT package (`dist/`): worker threads load plain `.js` (style §3).
 */
import { Frontier } from "@mzts/repr";
import { afterEach, describe, expect, it } from "vitest";
import {
  createLoadGenerator,
  generatorSpec,
  SLOT,
  TickClock,
  updatesBetween,
} from "../dist/index.js";
import {
  ALLOW_WRITES,
  auction,
  canonical,
  closedFor,
  counter,
  expected,
  INIT,
  INTERVAL,
  isMonotone,
  type Path,
  readShard,
  START,
  shardUpper,
  startReplica,
  stopAll,
  tempDir,
  until,
  untimed,
  uppersOf,
} from "./harness.js";

afterEach(stopAll);

const PATHS: readonly Path[] = ["unified", "legacy"];

describe.each(PATHS)("storage runtime (%s)", (path) => {
  it("W = 1 writes exactly the counter's output and closes the shard at maxTicks", async () => {
    const dir = await tempDir();
    const r = await startReplica(path, dir, 1);
    const cmd = counter("u1", "u2", "counter-a", 300n);
    r.connect("n1", [cmd, INIT, ALLOW_WRITES]);
    // Both the ingestion (u1) and its export (u2) report the closed upper; not necessarily in the
    // same response batch.
    await until(
      () => closedFor(r.merged, "u1") && closedFor(r.merged, "u2"),
      15_000,
      "u1 and u2 closed",
    );
    if (cmd.kind !== "runIngestion") throw new Error("unreachable");
    expect(await readShard(dir, "counter-a")).toEqual(expected(cmd.description, 0, 300n));
    for (const id of ["u1", "u2"]) {
      const uppers = uppersOf(r.merged, id);
      expect(isMonotone(uppers)).toBe(true);
      expect(uppers.at(-1)).toBe(Frontier.EMPTY);
    }
    const stats = () => r.merged.flatMap((x) => (x.kind === "statisticsUpdates" ? x.sources : []));
    await until(
      () => stats().some((s) => s.id === "u2" && s.offsetCommitted === 300n),
      5000,
      "statistics of the closed shard",
    );
    expect(untimed(r.merged)).toEqual(["status u1 starting", "status u1 running"]);
    const last = stats()
      .filter((s) => s.id === "u2")
      .at(-1);
    expect(last?.snapshotCommitted).toBe(true);
    expect(last?.updatesCommitted).toBe(BigInt(expected(cmd.description, 0, 300n).length));
    expect(last?.messagesReceived).toBe(last?.updatesCommitted);
    expect(r.errors).toEqual([]);
  });

  it("W = 3 writes exactly the auction's five outputs", async () => {
    const dir = await tempDir();
    const r = await startReplica(path, dir, 3);
    const cmd = auction(10, "auction", 150n);
    r.connect("n1", [cmd, INIT, ALLOW_WRITES]);
    await until(() => closedFor(r.merged, "u10"), 20_000, "u10 closed");
    if (cmd.kind !== "runIngestion") throw new Error("unreachable");
    for (let i = 0; i < 5; i++) {
      const got = await readShard(dir, `auction-${i}`);
      expect(got).toEqual(expected(cmd.description, i, 150n));
      expect(isMonotone(uppersOf(r.merged, `u${11 + i}`))).toBe(true);
    }
    expect(r.rt.counters.get(SLOT.updatesAppended)).toBeGreaterThan(0n);
    expect(r.errors).toEqual([]);
  });

  it("resumes after a restart with no duplicates and no gaps", async () => {
    const dir = await tempDir();
    const tuning = { ticksPerBatch: 4, maxTicksInFlight: 8 };
    const cmd = counter("u1", "u2", "counter-r", 400n, 1000n);
    const first = await startReplica(path, dir, 2, tuning);
    first.connect("n1", [cmd, INIT, ALLOW_WRITES]);
    const mid = START + 60n * BigInt(INTERVAL);
    await until(
      () => uppersOf(first.merged, "u2").some((u) => u !== null && u >= mid),
      10_000,
      "progress",
    );
    await first.close();
    const stopped = await shardUpper(dir, "counter-r");
    expect(stopped).not.toBe(Frontier.EMPTY);
    const second = await startReplica(path, dir, 2);
    second.connect("n2", [cmd, INIT, ALLOW_WRITES]);
    await until(() => closedFor(second.merged, "u1"), 15_000, "u1 closed after restart");
    if (cmd.kind !== "runIngestion") throw new Error("unreachable");
    expect(await readShard(dir, "counter-r")).toEqual(expected(cmd.description, 0, 400n));
    // The second run reported the resumed upper first, never below where the first stopped.
    const firstReport = uppersOf(second.merged, "u2")[0];
    expect(Frontier.lessEqual(stopped, firstReport ?? 0n)).toBe(true);
    expect(second.errors).toEqual([]);
  });

  it("two replicas on the same shards write exactly one copy", async () => {
    const dir = await tempDir();
    const a = await startReplica(path, dir, 2, { ticksPerBatch: 8 });
    const b = await startReplica(path, dir, 2, { ticksPerBatch: 8 });
    const cmd = auction(20, "twin", 120n);
    a.connect("a", [cmd, INIT, ALLOW_WRITES]);
    b.connect("b", [cmd, INIT, ALLOW_WRITES]);
    await until(() => closedFor(a.merged, "u20") && closedFor(b.merged, "u20"), 20_000, "closed");
    if (cmd.kind !== "runIngestion") throw new Error("unreachable");
    for (let i = 0; i < 5; i++) {
      expect(await readShard(dir, `twin-${i}`)).toEqual(expected(cmd.description, i, 120n));
    }
    const appended = a.rt.counters.get(SLOT.appendsOk) + b.rt.counters.get(SLOT.appendsOk);
    expect(appended).toBeGreaterThan(0n);
    expect([...a.errors, ...b.errors]).toEqual([]);
  });

  it("drops an ingestion once, stops writing, and keeps the data", async () => {
    const dir = await tempDir();
    const r = await startReplica(path, dir, 2, { ticksPerBatch: 2, maxTicksInFlight: 4 });
    r.connect("n1", [counter("u1", "u2", "counter-d", 1_000_000n), INIT, ALLOW_WRITES]);
    await until(() => uppersOf(r.merged, "u2").length > 3, 10_000, "progress");
    r.submit([{ kind: "allowCompaction", id: "u1", frontier: Frontier.EMPTY }]);
    await until(
      () => r.merged.filter((x) => x.kind === "droppedId").length === 2,
      5000,
      "droppedIds",
    );
    // droppedId is a write fence: an append in flight at the drop landed before it.
    const frozen = await shardUpper(dir, "counter-d");
    await new Promise((res) => setTimeout(res, 150));
    expect(await shardUpper(dir, "counter-d")).toBe(frozen);
    // Worker 0's statuses are ordered; a droppedId leaves when the last worker dropped the id.
    expect(untimed(r.merged).filter((s) => s.startsWith("status"))).toEqual([
      "status u1 starting",
      "status u1 running",
      "status u1 dropped",
    ]);
    expect(
      untimed(r.merged)
        .filter((s) => s.startsWith("dropped"))
        .sort(),
    ).toEqual(["dropped u1", "dropped u2"]);
    const afterDrop = r.merged.length;
    r.submit([{ kind: "allowCompaction", id: "u1", frontier: Frontier.EMPTY }]);
    // Applied (counted as a benign race), not merely sent; then a grace for an answer it must
    // not get.
    await until(
      () => r.rt.counters.get(SLOT.benignCompactionUnknownId) === 1n,
      5000,
      "the repeated drop applied",
    );
    await new Promise((res) => setTimeout(res, 100));
    expect(r.merged.slice(afterDrop).filter((x) => x.kind !== "statisticsUpdates")).toEqual([]);
    expect(r.rt.counters.get(SLOT.benignCompactionUnknownId)).toBe(1n);
    expect((await readShard(dir, "counter-d")).length).toBeGreaterThan(0);
    expect(r.errors).toEqual([]);
  });

  it("answers bad commands in band and keeps the first ingestion running", async () => {
    const dir = await tempDir();
    const r = await startReplica(path, dir, 3);
    const first = counter("u1", "u2", "counter-b", 200n);
    const other = counter("u1", "u3", "counter-c", 200n, 2n);
    r.connect("n1", [first, INIT, ALLOW_WRITES]);
    r.submit([
      other,
      first, // an identical re-send is fine
      { kind: "allowCompaction", id: "u99", frontier: 5n },
      { kind: "allowCompaction", id: "u2", frontier: START + 20n },
      { kind: "allowCompaction", id: "u2", frontier: START + 10n },
    ]);
    await until(() => closedFor(r.merged, "u1"), 15_000, "u1 closed");
    await until(() => untimed(r.merged).length >= 4, 5000, "errors");
    // Errors come from whichever worker applies the command first; statuses from worker 0.
    expect(untimed(r.merged).sort()).toEqual([
      "error u1 runIngestion duplicateId",
      "error u2 allowCompaction frontierRegression",
      "status u1 running",
      "status u1 starting",
    ]);
    if (first.kind !== "runIngestion") throw new Error("unreachable");
    expect(await readShard(dir, "counter-b")).toEqual(expected(first.description, 0, 200n));
    expect(r.rt.counters.get(SLOT.benignCompactionUnknownId)).toBe(1n);
    const metrics = await r.rt.registry.metrics();
    expect(metrics).toContain('mz_storage_benign_races_total{kind="compaction_unknown_id"} 1');
    expect(metrics).toContain('mz_storage_command_errors_total{code="duplicateId"} 1');
    expect(r.errors).toEqual([]);
  });

  it("real-time mode follows the wall clock from the anchored start, exactly", async () => {
    const dir = await tempDir();
    const r = await startReplica(path, dir, 2);
    const cmd = counter("u1", "u2", "counter-rt", undefined);
    if (cmd.kind !== "runIngestion") throw new Error("unreachable");
    const { deterministic: _, ...connection } = cmd.description.connection;
    const realTime: typeof cmd = {
      ...cmd,
      description: { ...cmd.description, connection: { ...connection, tickIntervalMs: 20 } },
    };
    // Every wall-clock bound below is what the code guarantees, with no allowance for scheduling:
    // - preparation (after `connect`, before any upper is reported) anchors the clock at its
    //   `now` rounded down to the interval (`async-storage-worker.ts`), so
    //   `floor(before) <= startMs <= reached`;
    // - a worker only generates ticks that are due (`ticksDue(now)`, `ingestion-dataflow.ts`) and
    //   the writer appends up to the least of them, so once the workers are stopped the shard's
    //   upper is at most `timeAt(ticksDue(now))` for any later `now`.
    const before = BigInt(Date.now());
    r.connect("n1", [realTime, INIT, ALLOW_WRITES]);
    await until(() => uppersOf(r.merged, "u2").length > 5, 10_000, "ticks");
    const reached = BigInt(Date.now());
    await r.close();
    const anchor = await readShard(dir, "counter-rt-clock");
    const startMs = anchor[0]?.[0][0] as bigint;
    const at = `(connect at ${before}, ticks reported by ${reached})`;
    expect(startMs % 20n, `anchored start ${startMs} on the interval`).toBe(0n);
    expect(startMs, `anchored start ${at}`).toBeGreaterThanOrEqual(before - (before % 20n));
    expect(startMs, `anchored start ${at}`).toBeLessThanOrEqual(reached);
    const upper = await shardUpper(dir, "counter-rt");
    if (upper === null) throw new Error("a real-time shard never closes");
    const gen = createLoadGenerator(
      generatorSpec(realTime.description),
      new TickClock({ startMs, intervalMs: 20n }),
    );
    const now = BigInt(Date.now());
    const due = gen.clock.timeAt(gen.clock.ticksDue(now));
    expect(upper, `upper of the stopped shard (start ${startMs}, now ${now})`).toBeLessThanOrEqual(
      due,
    );
    const ticks = gen.clock.firstTickAtOrAfter(upper);
    expect(ticks).toBeGreaterThan(2n);
    expect(await readShard(dir, "counter-rt")).toEqual(
      canonical(updatesBetween(gen, 0n, ticks).get(0) ?? []),
    );
  });

  it("reconciles a new connection: keeps identical ingestions, drops stale ones silently", async () => {
    const dir = await tempDir();
    const r = await startReplica(path, dir, 2, { ticksPerBatch: 2, maxTicksInFlight: 4 });
    const keep = counter("u1", "u2", "counter-k", 1_000_000n);
    const stale = counter("u3", "u4", "counter-s", 1_000_000n);
    const writers = () => r.rt.counters.get(SLOT.shardWriters);
    r.connect("n1", [keep, stale, INIT, ALLOW_WRITES]);
    await until(() => untimed(r.merged).filter((s) => s.endsWith("running")).length === 2);
    await until(() => writers() === 2n, 5000, "both shards' writers");
    const appendedBefore = r.rt.counters.get(SLOT.updatesAppended);
    r.connect("n2", [keep, INIT]);
    await until(() => uppersOf(r.merged, "u2").length > 0, 5000, "fresh upper");
    await until(() => untimed(r.merged).length > 0, 5000, "status re-sent");
    expect(untimed(r.merged)).toEqual(["status u1 running"]);
    // The silent drop answers nothing; its write fence is the stale writer leaving the gauge
    // (stopped, and the append in flight at the drop, if any, settled).
    await until(() => writers() === 1n, 5000, "the stale shard's writer quiet");
    const staleUpper = await shardUpper(dir, "counter-s");
    const keptUpper = await shardUpper(dir, "counter-k");
    // The kept ingestion goes on appending (a reported upper has landed); the stale shard stays.
    await until(
      () => Frontier.lessThan(keptUpper, uppersOf(r.merged, "u2").at(-1) ?? Frontier.MIN),
      5000,
      "the kept shard advancing",
    );
    expect(Frontier.lessThan(keptUpper, await shardUpper(dir, "counter-k"))).toBe(true);
    expect(await shardUpper(dir, "counter-s")).toBe(staleUpper);
    expect(r.rt.counters.get(SLOT.updatesAppended)).toBeGreaterThan(appendedBefore);
    expect(r.rt.counters.get(SLOT.reconciliationKept)).toBe(1n);
    expect(r.rt.counters.get(SLOT.reconciliationDropped)).toBe(1n);
    expect(r.errors).toEqual([]);
  });
});

describe("legacy and unified paths", () => {
  it("produce identical shard contents and response sequences", async () => {
    const runs: Array<{ contents: unknown[]; untimed: string[]; finals: unknown[] }> = [];
    for (const path of PATHS) {
      const dir = await tempDir();
      const r = await startReplica(path, dir, 3);
      const cmd = auction(30, "same", 100n);
      r.connect("n1", [cmd, counter("u40", "u41", "same-c", 1_000_000n), INIT, ALLOW_WRITES]);
      r.submit([
        counter("u40", "u42", "same-x", 10n),
        { kind: "allowCompaction", id: "u77", frontier: 1n },
        { kind: "allowCompaction", id: "u40", frontier: Frontier.EMPTY },
      ]);
      await until(() => closedFor(r.merged, "u30"), 20_000, `${path} closed`);
      await until(() => untimed(r.merged).includes("dropped u40"), 5000, "drop");
      await until(() => untimed(r.merged).includes("status u30 running"), 5000, "running");
      const contents = [];
      for (let i = 0; i < 5; i++) contents.push(await readShard(dir, `same-${i}`));
      const finals = ["u30", "u31", "u35"].map((id) => uppersOf(r.merged, id).at(-1));
      runs.push({ contents, untimed: untimed(r.merged), finals });
      expect(r.errors).toEqual([]);
      await r.close();
    }
    const [unified, legacy] = runs;
    expect(legacy?.contents).toEqual(unified?.contents);
    expect(legacy?.finals).toEqual(unified?.finals);
    // Per id, the status sequence (worker 0's) is equal; errors and drops are equal as sets
    // (they leave when the first, resp. last, worker answers).
    const statuses = (xs: string[] = [], id: string) =>
      xs.filter((s) => s.startsWith(`status ${id} `));
    for (const id of ["u30", "u40"]) {
      expect(statuses(legacy?.untimed, id)).toEqual(statuses(unified?.untimed, id));
    }
    const others = (xs: string[] = []) => xs.filter((s) => !s.startsWith("status")).sort();
    expect(others(legacy?.untimed)).toEqual(others(unified?.untimed));
    expect(others(unified?.untimed)).toEqual([
      "dropped u40",
      "dropped u41",
      "error u40 runIngestion duplicateId",
    ]);
  });
});
