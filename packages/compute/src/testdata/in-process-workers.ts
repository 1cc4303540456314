/**
 * Test helpers (not built): W `ComputeState`s of one replica in process over an in-memory mesh,
 * real persist shards on a temp directory, and the plain source → index dataflows the
 * activation and shared-source tests drive. Everything started registers its cleanup in
 * `cleanups`; a test file runs them in `afterEach` (`runCleanups`).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
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
import { ComputeState, type WorkerResponse } from "../compute-state.js";
import { LegacyComputeLogging } from "../legacy/logging/legacy-logging.js";

/** Cleanups of what the helpers started, run in reverse by `runCleanups`. */
export const cleanups: Array<() => Promise<unknown>> = [];

export async function runCleanups(): Promise<void> {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

type Handler = (payload: unknown, from: number) => void;

/** W in-memory mesh endpoints, delivering on a later macrotask (the `WorkerMesh` contract). */
export function memoryMesh(peers: number): ExchangeMesh[] {
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

/** Source `shard` (arity 1) → index `id` on column 0, as of `asOf`. */
export function sourceIndex(id: string, shard: string, asOf = 0n): DataflowDescription {
  return {
    debugName: `src ${id}`,
    sourceImports: [{ id: `${id}-src`, shardId: shard, arity: 1, upper: asOf }],
    indexImports: [],
    objectsToBuild: [{ id: `${id}-obj`, plan: { kind: "get", id: `${id}-src`, arity: 1 } }],
    indexExports: [{ id, objectId: `${id}-obj`, key: [0] }],
    sinkExports: [],
    asOf,
    until: null,
  };
}

/** Imports index `from` → index `id`. */
export function indexOfIndex(id: string, from: string): DataflowDescription {
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
export function peekOf(id: string, t: bigint): Peek {
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
export class Workers {
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

export async function shards(names: string[]) {
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
  return { dir, persist, shards: out };
}

/** Appends value `v` at time `t` (the shard's upper is `t`). */
export async function append(shard: Shard, v: bigint, t: bigint): Promise<void> {
  await shard.compareAndAppend([[[v], t, 1]], t, t + 1n);
}

export const INSTANCE: ComputeCommand = {
  kind: "createInstance",
  config: {
    logging: { enabled: false, intervalMs: 1000, logLogging: false, indexLogs: new Map() },
  },
};
