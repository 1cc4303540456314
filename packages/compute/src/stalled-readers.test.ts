/**
 * Every reader of a stalled dataflow gets an answer, and the stall leaks nothing (the peeks of
 * the stalled dataflow itself: `stalled-source.test.ts`). A source import stops for good on ONE
 * worker (`SourceImportFailure`: worker 1 builds the dataflow only after worker 0's since handle,
 * the shard's only reader, moved the shard's since past the as-of), which stalls the dataflow
 * and every dataflow importing its index on every worker (`SourceFailures`):
 * - a subscribe of the stalled dataflow and one of a dataflow importing its index, both created
 *   before the stall, and one created after it, each end with the stall's error: merged batches
 *   (`ComputeResponseMerger`) whose result is the error, the last with the empty upper — before,
 *   they waited forever;
 * - a peek of an index importing the stalled index (created before or after) gets the error;
 * - the stalled dataflow's readers stop on every worker: data appended later is not read into it
 *   (before, worker 0 kept reading into an arrangement and persist sink buffer nothing could
 *   complete or compact);
 * - a persist sink on it writes nothing past the stall and does not hang anything;
 * - dropping everything frees every dataflow, sends no `droppedAt` after an error, and the
 *   replica serves a new dataflow.
 * Two `ComputeState`s in process over an in-memory mesh, real persist; once per logging host
 * (compute's legacy one and mz-cluster's unified one), logging on: a failed subscribe is never
 * reported hydrated.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type LoggingHost, UnifiedLoggingHost } from "@mzts/mz-cluster/logging";
import { createPersist, type Shard } from "@mzts/persist";
import type {
  ComputeCommand,
  ComputeResponse,
  DataflowDescription,
  PeekResponse,
  SubscribeResponse,
} from "@mzts/protocol";
import type { Frontier } from "@mzts/repr";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { ComputeState, type WorkerResponse } from "./compute-state.js";
import { LegacyComputeLogging } from "./legacy/logging/legacy-logging.js";
import { conformanceConfig, logIndexId } from "./logging/conformance.js";
import { ComputeResponseMerger } from "./merge.js";
import {
  append,
  cleanups,
  indexOfIndex,
  memoryMesh,
  peekOf,
  runCleanups,
  sleep,
  sourceIndex,
} from "./testdata/in-process-workers.js";

afterEach(runCleanups);

const LOG_INTERVAL_MS = 50;

/** `base` with a subscribe export `id` of its first object. */
function withSubscribe(base: DataflowDescription, id: string): DataflowDescription {
  const fromId = base.objectsToBuild[0]!.id;
  return { ...base, sinkExports: [{ id, fromId, connection: { kind: "subscribe" } }] };
}

/** Imports index `from` → subscribe `id`. */
function subscribeOfIndex(id: string, from: string): DataflowDescription {
  const d = indexOfIndex(`${id}-unused`, from);
  return { ...withSubscribe(d, id), debugName: `sub ${id}`, indexExports: [] };
}

/** Imports index `from` → persist sink `id` into `shardId`. */
function persistSinkOfIndex(id: string, from: string, shardId: string): DataflowDescription {
  const d = indexOfIndex(`${id}-unused`, from);
  return {
    ...d,
    debugName: `mv ${id}`,
    indexExports: [],
    sinkExports: [
      { id, fromId: d.objectsToBuild[0]!.id, connection: { kind: "persist", shardId } },
    ],
  };
}

type HostKind = "legacy" | "unified";

function host(kind: HostKind, worker: number): LoggingHost {
  return kind === "legacy"
    ? new LegacyComputeLogging({ worker, log: pino({ level: "silent" }) })
    : new UnifiedLoggingHost({ worker });
}

/** Two workers of one replica and their process merger. */
class Replica {
  readonly out: WorkerResponse[][] = [[], []];
  readonly merged: ComputeResponse[] = [];
  readonly merger = new ComputeResponseMerger(2);
  readonly states: ComputeState[];

  constructor(dataDir: string, kind: HostKind) {
    const meshes = memoryMesh(2);
    this.states = meshes.map((mesh, i) => {
      const logger = pino({ level: "silent" });
      return new ComputeState(i, 2, {
        mesh,
        config: { dataDir, pollIntervalMs: 5, replicaId: "r1", sinceDowngradeIntervalMs: 10 },
        respond: (r) => {
          this.out[i]!.push(r);
          this.merged.push(...this.merger.absorb(i, r));
        },
        requestStep: () => {},
        logger,
        logging: host(kind, i),
      });
    });
    cleanups.push(() => Promise.all(this.states.map((s) => s.close())));
  }

  apply(cmd: ComputeCommand, workers: readonly number[] = [0, 1]): void {
    this.merger.observeCommand(cmd);
    for (const w of workers) this.states[w]!.apply(cmd);
  }

  async turn(): Promise<void> {
    for (const s of this.states) for (let i = 0; i < 100 && s.step(); i++);
    for (const s of this.states) s.maintain();
    await sleep(2);
  }

  async until(cond: () => boolean | Promise<boolean>, what: string, ms = 15_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!(await cond())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await this.turn();
    }
  }

  /** The newest input frontier worker `w` reported for `id`. */
  input(w: number, id: string): Frontier | undefined {
    let last: Frontier | undefined;
    for (const x of this.out[w]!)
      if (x.kind === "frontiers" && x.id === id && x.frontiers.input !== undefined)
        last = x.frontiers.input;
    return last;
  }

  /** The merged responses of subscribe `id`. */
  subscribe(id: string): SubscribeResponse[] {
    return this.merged.flatMap((r) =>
      r.kind === "subscribeResponse" && r.id === id ? [r.response] : [],
    );
  }

  /** Waits for the merged end of subscribe `id` (a batch with the empty upper, or droppedAt). */
  async subscribeEnd(id: string): Promise<SubscribeResponse> {
    const end = () => this.subscribe(id).find((r) => r.kind === "droppedAt" || r.upper === null);
    await this.until(() => end() !== undefined, `the end of subscribe ${id}`);
    return end()!;
  }

  /** Peeks `id` at `t`; the merged answer. */
  async peek(id: string, t: bigint, arity = 1): Promise<PeekResponse> {
    const all = Array.from({ length: arity }, (_, i) => i);
    const p = {
      ...peekOf(id, t),
      arity,
      mapFilterProject: { exprs: [], predicates: [], projection: all },
      finishing: { orderBy: [], offset: 0, project: all },
    };
    this.apply({ kind: "peek", peek: p });
    const answer = () =>
      this.merged.find(
        (r): r is Extract<ComputeResponse, { kind: "peekResponse" }> =>
          r.kind === "peekResponse" && r.uuid === p.uuid,
      );
    await this.until(() => answer() !== undefined, `the answer to the peek of ${id} at ${t}`);
    return answer()!.response;
  }
}

/** The stall's error, as a subscribe's or peek's reason carries it. */
function expectStallError(message: string): void {
  expect(message).toContain("its dataflow is stalled");
  expect(message).toContain("source ix-src (shard nums) stopped on worker 1");
  expect(message).toContain("since violation");
  expect(message).toContain("drop and recreate");
}

/**
 * The subscribe's merged responses end with an error batch with the empty upper, and from the
 * first error on (the one a controller ends the client's stream with) every batch is that error
 * (the merger's error is sticky: a worker that had emitted further releases `[lower, its upper)`
 * as the error first).
 */
function expectErrorEnd(responses: readonly SubscribeResponse[], end: SubscribeResponse): void {
  expect(end.kind).toBe("batch");
  if (end.kind !== "batch") return;
  expect(end.upper).toBeNull();
  expect(end.result.kind).toBe("error");
  if (end.result.kind === "error") expectStallError(end.result.message);
  expect(responses.at(-1)).toBe(end);
  const first = responses.findIndex((r) => r.kind === "batch" && r.result.kind === "error");
  for (const r of responses.slice(first)) expect(r).toMatchObject({ result: end.result });
  expect(responses.filter((r) => r.kind === "droppedAt")).toEqual([]);
}

/**
 * A replica (2 workers, logging on) with the dataflow `ix` (+ subscribe `s1`) of shard `nums`
 * and `ix2` (+ subscribe `s2`) importing it, stalled: worker 1 builds both only after worker 0's
 * since handle, the shard's only reader, took the shard's since past the as-of 0.
 */
async function stalledReplica(kind: HostKind) {
  const dir = await mkdtemp(join(tmpdir(), "mzts-compute-stalled-readers-"));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const persist = await createPersist({ dataDir: dir });
  cleanups.push(() => persist.close());
  const nums = await persist.openShard("nums", { create: true });
  for (let t = 0n; t < 5n; t++) await append(nums, t, t);

  const r = new Replica(dir, kind);
  r.apply({ kind: "createInstance", config: { logging: conformanceConfig(LOG_INTERVAL_MS) } });
  r.apply({ kind: "initializationComplete" });
  // Created before the stall: the stalled dataflow (index ix + subscribe s1) and one importing
  // its index (index ix2 + subscribe s2), built at once after it on each worker.
  const d1 = withSubscribe(sourceIndex("ix", "nums", 0n), "s1");
  const d2 = withSubscribe(indexOfIndex("ix2", "ix"), "s2");
  r.apply({ kind: "createDataflow", dataflow: d1 }, [0]);
  r.apply({ kind: "createDataflow", dataflow: d2 }, [0]);
  // Worker 0 reads on; its handle, the shard's only reader, takes the since past the as-of.
  await r.until(async () => (await nums.since()) !== 0n, "the shard's since past the as-of 0");
  r.apply({ kind: "createDataflow", dataflow: d1 }, [1]);
  r.apply({ kind: "createDataflow", dataflow: d2 }, [1]);
  // The stall is known to every worker once the peek of ix waiting on it is answered.
  const a = await r.peek("ix", 2n);
  expect(a.kind).toBe("error");
  return { r, persist, nums };
}

for (const kind of ["legacy", "unified"] as const) {
  describe(`readers of a stalled dataflow (${kind} logging host)`, () => {
    it("subscribes created before and after the stall end with its error", async () => {
      const { r } = await stalledReplica(kind);
      for (const id of ["s1", "s2"]) {
        const end = await r.subscribeEnd(id);
        expectErrorEnd(r.subscribe(id), end);
      }
      // Worker 0 had read the snapshot, worker 1 nothing: no updates were ever released.
      expect(r.subscribe("s1").every((x) => x.kind === "batch" && x.result.kind === "error")).toBe(
        true,
      );
      // Created after the stall: a subscribe of a dataflow importing the stalled index.
      r.apply({ kind: "createDataflow", dataflow: subscribeOfIndex("s3", "ix") });
      const s3End = await r.subscribeEnd("s3");
      expectErrorEnd(r.subscribe("s3"), s3End);

      // Logging: a failed subscribe is not hydrated on the worker whose reader stopped
      // (`hydration_times`: export, worker, ns since created — null while not hydrated).
      const now = Math.floor(Date.now() / LOG_INTERVAL_MS) * LOG_INTERVAL_MS;
      const hydration = await r.peek(logIndexId("hydration_times"), BigInt(now), 3);
      expect(hydration.kind).toBe("rows");
      const rows = hydration.kind === "rows" ? hydration.rows.map(([row]) => row) : [];
      expect(rows.some(([id]) => id === "ix")).toBe(true);
      for (const [id, worker, ns] of rows)
        if ((id === "s1" || id === "s3") && worker === 1n) expect(ns).toBeNull();
    }, 60_000);

    it("peeks of indexes importing the stalled index, built before and after, get its error", async () => {
      const { r } = await stalledReplica(kind);
      r.apply({ kind: "createDataflow", dataflow: indexOfIndex("ix3", "ix") });
      for (const id of ["ix2", "ix3"]) {
        const a = await r.peek(id, 2n);
        expect(a.kind).toBe("error");
        if (a.kind === "error") expectStallError(a.message);
      }
    }, 60_000);

    it("its readers stop on every worker; a persist sink on it writes nothing past the stall", async () => {
      const { r, persist, nums } = await stalledReplica(kind);
      r.apply({ kind: "createDataflow", dataflow: persistSinkOfIndex("mv", "ix", "mv-shard") });
      r.apply({ kind: "allowWrites", id: "mv" });
      for (let i = 0; i < 5; i++) await r.turn();
      // Later data is not read into the stalled dataflow: worker 0's input frontier of ix (its
      // reader's position) stays where it was; it used to follow the shard's upper.
      const input = () => r.input(0, "ix");
      const before = input();
      expect(before).toBe(5n);
      for (let t = 5n; t < 8n; t++) await append(nums, t, t);
      for (let i = 0; i < 40; i++) await r.turn();
      expect(input()).toBe(before);
      const mv = await persist.openShard("mv-shard", { create: true });
      expect(await mv.upper()).toBe(0n);
    }, 60_000);

    it("dropping it frees everything, sends no droppedAt after the error; the replica serves on", async () => {
      const { r, persist } = await stalledReplica(kind);
      const other: Shard = await persist.openShard("other", { create: true });
      await other.openSinceHandle("controller");
      for (let t = 0n; t < 3n; t++) await append(other, t + 10n, t);
      r.apply({ kind: "createDataflow", dataflow: subscribeOfIndex("s3", "ix") });
      r.apply({ kind: "createDataflow", dataflow: persistSinkOfIndex("mv", "ix", "mv-shard") });
      for (const id of ["s1", "s2", "s3"]) await r.subscribeEnd(id);

      for (const id of ["s1", "s2", "s3", "mv", "ix2", "ix"])
        r.apply({ kind: "allowCompaction", id, frontier: null });
      for (let i = 0; i < 5; i++) await r.turn();
      for (const s of r.states) {
        expect(s.stats()).toMatchObject({
          dataflows: 0,
          indexes: 0,
          subscribes: 0,
          persistSinks: 0,
          pendingPeeks: 0,
          arrangementRecords: 0,
        });
      }
      for (const id of ["s1", "s2", "s3"])
        expect(r.subscribe(id).filter((x) => x.kind === "droppedAt")).toEqual([]);

      // The replica serves a new dataflow.
      r.apply({ kind: "createDataflow", dataflow: sourceIndex("ox", "other", 0n) });
      expect(await r.peek("ox", 2n)).toEqual({
        kind: "rows",
        rows: expect.arrayContaining([
          [[10n], 1],
          [[11n], 1],
          [[12n], 1],
        ]),
      });
    }, 60_000);
  });
}
