/**
 * Activation (issue 16): a worker step runs only the dataflows whose graph was activated, and
 * `maintain()` looks only at dataflows touched since the last tick — exactly, so nothing is
 * missed. In process, real persist on a temp directory, one or two `ComputeState`s (two over an
 * in-memory mesh, so keyed exchanges cross workers):
 * - after a quiet period no graph is stepped and no frontier or statistics message is sent;
 * - a skipped dataflow that then gets source input produces it (peeks right), and a dataflow
 *   importing its index follows through the index tap; an unrelated quiet dataflow stays skipped;
 * - frontier reports still arrive for every index after the quiet period;
 * - with two workers, rows exchanged to the other worker arrive after a quiet period (exchange
 *   arrivals activate the receiving dataflow).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Graph } from "@mzts/dataflow";
import type { ExchangeMesh } from "@mzts/mz-cluster";
import { createPersist, type Shard } from "@mzts/persist";
import type {
  ComputeCommand,
  DataflowDescription,
  FrontiersUpdate,
  Peek,
  PeekResponse,
} from "@mzts/protocol";
import type { Row } from "@mzts/repr";
import { pino } from "pino";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ComputeState, type WorkerResponse } from "./compute-state.js";
import { LegacyComputeLogging } from "./legacy/logging/legacy-logging.js";

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  vi.restoreAllMocks();
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
});

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

type Handler = (payload: unknown, from: number) => void;

/** W in-memory mesh endpoints, delivering on a later macrotask (the `WorkerMesh` contract). */
function memoryMesh(peers: number): ExchangeMesh[] {
  const handlers = Array.from({ length: peers }, () => new Map<string, Handler>());
  return handlers.map((own, index) => ({
    index,
    peers,
    send(to: number, channel: string, payload: unknown) {
      setImmediate(() => handlers[to]!.get(channel)?.(payload, index));
    },
    on(channel: string, handler: Handler) {
      own.set(channel, handler);
    },
  }));
}

/** Source `shard` (arity 1) → index `id` on column 0. */
function sourceIndex(id: string, shard: string): DataflowDescription {
  return {
    debugName: `src ${id}`,
    sourceImports: [{ id: `${id}-src`, shardId: shard, arity: 1, upper: 0n }],
    indexImports: [],
    objectsToBuild: [{ id: `${id}-obj`, plan: { kind: "get", id: `${id}-src`, arity: 1 } }],
    indexExports: [{ id, objectId: `${id}-obj`, key: [0] }],
    sinkExports: [],
    asOf: 0n,
    until: null,
  };
}

/** Imports index `from` → index `id`. */
function indexOfIndex(id: string, from: string): DataflowDescription {
  return {
    debugName: `idx ${id}`,
    sourceImports: [],
    indexImports: [{ id: from, arity: 1, key: [0] }],
    objectsToBuild: [{ id: `${id}-obj`, plan: { kind: "get", id: from, arity: 1 } }],
    indexExports: [{ id, objectId: `${id}-obj`, key: [0] }],
    sinkExports: [],
    asOf: 0n,
    until: null,
  };
}

let peekCount = 0;
function peekOf(id: string, t: bigint): Peek {
  return {
    uuid: `00000000-0000-4000-8000-${(++peekCount).toString(16).padStart(12, "0")}`,
    target: { kind: "index", id },
    arity: 1,
    timestamp: t,
    mapFilterProject: { exprs: [], predicates: [], projection: [0] },
    finishing: { orderBy: [], offset: 0, project: [0] },
  };
}

/** W workers of one replica, in process. */
class Workers {
  readonly out: WorkerResponse[][];
  readonly states: ComputeState[];

  constructor(workers: number, dataDir: string) {
    const meshes = memoryMesh(workers);
    this.out = meshes.map(() => []);
    this.states = meshes.map((mesh, i) => {
      const logger = pino({ level: "silent" });
      return new ComputeState(i, workers, {
        mesh,
        config: { dataDir, pollIntervalMs: 5, replicaId: "r1", sinceDowngradeIntervalMs: 50 },
        respond: (r) => this.out[i]!.push(r),
        requestStep: () => {},
        logger,
        logging: new LegacyComputeLogging({ worker: i, log: logger }),
      });
    });
    cleanups.push(() => Promise.all(this.states.map((s) => s.close())));
  }

  apply(...cmds: ComputeCommand[]): void {
    for (const s of this.states) for (const c of cmds) s.apply(c);
  }

  /** One runtime turn: every worker steps until quiet, then maintains. */
  async turn(): Promise<void> {
    for (const s of this.states) for (let i = 0; i < 100 && s.step(); i++);
    for (const s of this.states) s.maintain();
    await sleep(2);
  }

  async until(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!cond()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await this.turn();
    }
  }

  /** The newest write frontier every worker reported for `id` (min over workers). */
  write(id: string): bigint | null | undefined {
    let min: bigint | null | undefined = null;
    for (const out of this.out) {
      let last: FrontiersUpdate["write"];
      for (const r of out)
        if (r.kind === "frontiers" && r.id === id && r.frontiers.write !== undefined)
          last = r.frontiers.write;
      if (last === undefined) return undefined;
      if (last !== null && (min === null || last < (min as bigint))) min = last;
    }
    return min;
  }

  /** Peeks `id` at `t` on every worker; the union of their rows, sorted. */
  async peek(id: string, t: bigint): Promise<string[]> {
    const p = peekOf(id, t);
    this.apply({ kind: "peek", peek: p });
    const answers = (): PeekResponse[] =>
      this.out.flatMap((out) =>
        out.flatMap((r) => (r.kind === "peekResponse" && r.uuid === p.uuid ? [r.response] : [])),
      );
    await this.until(() => answers().length === this.states.length, `peek of ${id} at ${t}`);
    const rows: Row[] = [];
    for (const a of answers()) {
      if (a.kind !== "rows") throw new Error(`peek of ${id}: ${JSON.stringify(a)}`);
      for (const [row, n] of a.rows) for (let i = 0; i < n; i++) rows.push(row);
    }
    return rows.map((r) => String(r[0])).sort();
  }

  clearOut(): void {
    for (const out of this.out) out.length = 0;
  }
}

async function shards(names: string[]) {
  const dir = await mkdtemp(join(tmpdir(), "mzts-compute-activation-"));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const persist = await createPersist({ dataDir: dir });
  cleanups.push(() => persist.close());
  const out: Record<string, Shard> = {};
  for (const n of names) {
    out[n] = await persist.openShard(n, { create: true });
    // The controller's read hold at the as-of (0): a worker registering its reader after another
    // worker's reader moved on still finds the snapshot readable.
    await out[n].openSinceHandle("controller");
  }
  return { dir, shards: out };
}

/** Appends value `v` at time `t` (the shard's upper is `t`). */
async function append(shard: Shard, v: bigint, t: bigint): Promise<void> {
  await shard.compareAndAppend([[[v], t, 1]], t, t + 1n);
}

const INSTANCE: ComputeCommand = {
  kind: "createInstance",
  config: {
    logging: { enabled: false, intervalMs: 1000, logLogging: false, indexLogs: new Map() },
  },
};

/** Counts `Graph.step()` calls per graph name. */
function countSteps(): Map<string, number> {
  const counts = new Map<string, number>();
  const step = Graph.prototype.step;
  vi.spyOn(Graph.prototype, "step").mockImplementation(function (this: Graph) {
    counts.set(this.name, (counts.get(this.name) ?? 0) + 1);
    return step.call(this);
  });
  return counts;
}

describe("ComputeState activation", () => {
  it("skips quiet dataflows exactly: input after a quiet period is produced, reports still arrive", async () => {
    const { dir, shards: s } = await shards(["a", "b"]);
    await append(s.a!, 1n, 0n);
    await append(s.b!, 10n, 0n);
    const w = new Workers(1, dir);
    w.apply(
      INSTANCE,
      { kind: "createDataflow", dataflow: sourceIndex("ua", "a") },
      { kind: "createDataflow", dataflow: indexOfIndex("ua2", "ua") },
      { kind: "createDataflow", dataflow: sourceIndex("ub", "b") },
      { kind: "initializationComplete" },
    );
    await w.until(() => ["ua", "ua2", "ub"].every((id) => w.write(id) === 1n), "frontiers at 1");
    expect(await w.peek("ua2", 0n)).toEqual(["1"]);

    // Quiet: no graph is stepped, nothing is reported (frontiers and statistics unchanged).
    for (let i = 0; i < 5; i++) await w.turn();
    const steps = countSteps();
    w.clearOut();
    for (let i = 0; i < 20; i++) await w.turn();
    expect(Object.fromEntries(steps)).toEqual({});
    expect(w.out[0]).toEqual([]);

    // Input to `a` only: its dataflow and the one importing its index run and produce it; the
    // frontiers of both are reported; `b`'s dataflow stays skipped.
    await append(s.a!, 2n, 1n);
    await w.until(() => w.write("ua") === 2n && w.write("ua2") === 2n, "ua, ua2 reported at 2");
    expect(await w.peek("ua", 1n)).toEqual(["1", "2"]);
    expect(await w.peek("ua2", 1n)).toEqual(["1", "2"]);
    expect(steps.get("src ua")).toBeGreaterThan(0);
    expect(steps.get("idx ua2")).toBeGreaterThan(0);
    expect(steps.get("src ub")).toBeUndefined();
    expect(w.write("ub")).toBeUndefined(); // nothing reported for it since the quiet period

    // Then `b`, after its long quiet period: produced and reported.
    await append(s.b!, 20n, 1n);
    await append(s.b!, 30n, 2n);
    await w.until(() => w.write("ub") === 3n, "ub reported at 3");
    expect(await w.peek("ub", 2n)).toEqual(["10", "20", "30"]);
    expect(steps.get("src ub")).toBeGreaterThan(0);
    // Statistics are sent again once something changed.
    expect(w.out[0]!.some((r) => r.kind === "workerStats")).toBe(true);
  });

  it("two workers: rows exchanged to the other worker after a quiet period arrive", async () => {
    const { dir, shards: s } = await shards(["a"]);
    await append(s.a!, 0n, 0n);
    const w = new Workers(2, dir);
    w.apply(
      INSTANCE,
      { kind: "createDataflow", dataflow: sourceIndex("ua", "a") },
      { kind: "initializationComplete" },
    );
    await w.until(() => w.write("ua") === 1n, "ua at 1");
    for (let i = 0; i < 10; i++) await w.turn();
    const steps = countSteps();
    for (let i = 0; i < 10; i++) await w.turn();
    expect(Object.fromEntries(steps)).toEqual({});
    // Many values: both workers read some and exchange most by key.
    for (let t = 1n; t <= 20n; t++) await append(s.a!, t, t);
    await w.until(() => w.write("ua") === 21n, "ua at 21");
    const want = Array.from({ length: 21 }, (_, i) => String(i)).sort();
    expect(await w.peek("ua", 20n)).toEqual(want);
  });
});
