/**
 * Test harness: a replica (unified or legacy path) driven like a server drives it — one merger
 * per connection, commands observed by the merger then submitted — over real worker threads
 * (the BUILT dist, style §3) and real persist on a temp directory.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ClusterRuntime, createClusterRuntime } from "@mzts/mz-cluster";
import { createPersist, type Shard } from "@mzts/persist";
import type { ComputeCommand, ComputeResponse, DataflowDescription, Peek } from "@mzts/protocol";
import type { Frontier, Row } from "@mzts/repr";
import {
  ComputeMetrics,
  ComputeResponseMerger,
  createComputeSpec,
  // PHASE(servers): legacy — delete when cluster-unification-servers is retired
  createLegacyComputeRuntime,
} from "../dist/index.js";

/**
 * The runtime: unified (mz-cluster, compute's legacy logging), unified with mz-cluster's unified
 * logging hosted by the workers (phase 2), or legacy compute.
 */
export type PathKind = "unified" | "unified-logging" | "legacy";

export async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), "mzts-compute-"));
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

export async function until(
  cond: () => boolean | Promise<boolean>,
  what: string,
  ms = 15000,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** The reader id of the tests' stand-in for environmentd's read holds. */
export const CONTROLLER_HOLD = "controller";

/**
 * Holds `shard`'s since where it is (0 for a new shard) for the rest of the test, as
 * environmentd's read holds do for the as-of of every dataflow it sends. A replica relies on it
 * (`ShardSinceHolds`, step 3): each worker holds the shard with its own since handle and
 * downgrades it as it reads, so without this hold the first worker to read a source moves the
 * shard's since past the as-of before a slower worker (a thread still starting under load) has
 * registered; that worker's snapshot then fails with a since violation, its frontiers never
 * advance and peeks wait forever.
 */
export async function holdSinceLikeController(shard: Shard): Promise<void> {
  await shard.openSinceHandle(CONTROLLER_HOLD);
}

export class Replica {
  readonly rt: ClusterRuntime<ComputeCommand, ComputeResponse>;
  readonly metrics = new ComputeMetrics();
  /** Merged responses of the current connection. */
  out: ComputeResponse[] = [];
  #merger: ComputeResponseMerger | undefined;

  /** `config` adds `ComputeConfig` fields (e.g. `replicaId`) to the defaults. */
  constructor(path: PathKind, workers: number, dataDir: string, config: object = {}) {
    const full = { dataDir, pollIntervalMs: 10, ...config };
    this.rt =
      path !== "legacy"
        ? createClusterRuntime<ComputeCommand, ComputeResponse>(createComputeSpec(), {
            workers,
            config: full,
            ...(path === "unified-logging" ? { logging: { role: "host" } as const } : {}),
          })
        : // PHASE(servers): legacy — delete when cluster-unification-servers is retired
          createLegacyComputeRuntime({ workers, config: full });
    this.rt.onResponse((w, r) => {
      if (this.#merger) this.out.push(...this.#merger.absorb(w, r));
    });
  }

  connect(nonce: string): void {
    this.#merger = new ComputeResponseMerger(this.rt.workers, this.metrics);
    this.out = [];
    this.rt.connect(nonce);
  }

  send(...cmds: ComputeCommand[]): void {
    for (const c of cmds) this.#merger!.observeCommand(c);
    this.rt.submit(cmds);
  }

  async peek(p: Peek): Promise<ComputeResponse & { kind: "peekResponse" }> {
    this.send({ kind: "peek", peek: p });
    let r: (ComputeResponse & { kind: "peekResponse" }) | undefined;
    await until(() => {
      r = this.out.find(
        (x): x is ComputeResponse & { kind: "peekResponse" } =>
          x.kind === "peekResponse" && x.uuid === p.uuid,
      );
      return r !== undefined;
    }, `peek ${p.uuid}`);
    return r!;
  }

  /** The latest merged frontier of `kind` reported for `id` (undefined = none yet). */
  frontier(id: string, kind: "write" | "input" | "output"): Frontier | undefined {
    let f: Frontier | undefined;
    for (const r of this.out) {
      if (r.kind === "frontiers" && r.id === id && r.frontiers[kind] !== undefined) {
        f = r.frontiers[kind];
      }
    }
    return f;
  }

  close(): Promise<void> {
    return this.rt.close();
  }
}

/** The first commands of a fresh connection: `createInstance` (no logging), `initializationComplete`. */
export const START_COMMANDS: readonly ComputeCommand[] = [
  {
    kind: "createInstance",
    config: {
      logging: { enabled: false, intervalMs: 1000, logLogging: false, indexLogs: new Map() },
    },
  },
  { kind: "initializationComplete" },
];

let peekCounter = 0;

/** A peek of index `id` at `t` returning every column. */
export function peekOf(
  id: string,
  arity: number,
  t: bigint,
  extra: Partial<Pick<Peek, "literalConstraints" | "finishing">> = {},
): Peek {
  const uuid = `00000000-0000-4000-8000-${(++peekCounter).toString(16).padStart(12, "0")}`;
  const all = Array.from({ length: arity }, (_, i) => i);
  return {
    uuid,
    target: { kind: "index", id },
    arity,
    timestamp: t,
    mapFilterProject: { exprs: [], predicates: [], projection: all },
    finishing: extra.finishing ?? { orderBy: [], offset: 0, project: all },
    ...(extra.literalConstraints ? { literalConstraints: extra.literalConstraints } : {}),
  };
}

export function dataflow(
  d: Partial<DataflowDescription> & Pick<DataflowDescription, "asOf">,
): DataflowDescription {
  return {
    debugName: d.debugName ?? "df",
    sourceImports: d.sourceImports ?? [],
    indexImports: d.indexImports ?? [],
    objectsToBuild: d.objectsToBuild ?? [],
    indexExports: d.indexExports ?? [],
    sinkExports: d.sinkExports ?? [],
    asOf: d.asOf,
    until: d.until ?? null,
  };
}

/** JSON with bigints, for comparisons. */
export function show(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => (typeof x === "bigint" ? `${x}n` : x));
}

export type Counted = ReadonlyArray<readonly [Row, number]>;

/**
 * A started replica (`path`, W = 2, connected as `n1`) whose data directory holds shard `nums`
 * (rows 0…9 at times 0…9) compacted past 2: a reader took its since to 8 and went, so a dataflow
 * as of 2 importing it stalls (its source import fails with a since violation). Everything is
 * closed and removed by `cleanups` (run in reverse).
 */
export async function replicaOverCompactedShard(
  path: PathKind,
  cleanups: Array<() => Promise<void>>,
): Promise<Replica> {
  const dir = await tempDir();
  cleanups.push(() => removeDir(dir));
  const persist = await createPersist({ dataDir: dir });
  cleanups.push(() => persist.close());
  const nums = await persist.openShard("nums", { create: true });
  for (let t = 0n; t < 10n; t++) await nums.compareAndAppend([[[t], t, 1]], t, t + 1n);
  await (await nums.openSinceHandle("gone")).downgradeSince(8n);
  for (let i = 0; i < 3; i++) await nums.maintenance();
  const rep = new Replica(path, 2, dir, { replicaId: "r1" });
  cleanups.push(() => rep.close());
  await rep.rt.ready;
  rep.connect("n1");
  return rep;
}
