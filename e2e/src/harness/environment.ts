/**
 * Driving a real `environmentd` process from e2e tests: start it on a data directory (free ports,
 * loopback), talk to its API with the same Connect gRPC client as `mzctl` (h2c), read the
 * orchestrator's replica records, scrape Prometheus metrics, watch `Status` for frontier
 * regressions, and compute reference answers directly from the persist shards.
 *
 * ## Invariants
 * - Every environmentd is started with `startNode` (`processes.ts`), so `stopAll()` kills it.
 *   Replicas are detached processes that outlive environmentd by design; `ReplicaReaper` kills
 *   every clusterd pid ever recorded for the data directory, after checking `/proc/<pid>/cmdline`
 *   still names that data directory (pids are reused), SIGCONT first so a stopped one dies too.
 * - The API wrapper speaks domain types (`@mzts/protocol` codecs on both sides), so tests compare
 *   bigint rows and frontiers, not wire messages.
 * - The reference evaluator shares nothing with the engine: a tree walk over `get`, `project` and
 *   `reduce` (count, sum, min, max) on consolidated snapshots; any other plan node throws.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Client, createClient } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import * as environmentd from "@mzts/environmentd";
import type { Plan } from "@mzts/expr";
import { createPersist } from "@mzts/persist";
import {
  type CreateIndexRequest,
  type CreateMaterializedViewRequest,
  type CreateSourceRequest,
  type CreateSourceResponse,
  environmentCodecs as codecs,
  type EnvironmentPeekResponse,
  type ListClustersResponse,
  type ListObjectsResponse,
  type PeekRequest,
  type StatusResponse,
  type SubscribeRequest,
  type EnvironmentSubscribeResponse as SubscribeResponse,
} from "@mzts/protocol";
import { EnvironmentService } from "@mzts/protocol/wire";
import { compareRows, consolidateRows, Datum, type Frontier, type Row, rowKey } from "@mzts/repr";
import { type Started, startNode } from "./processes.js";
import { profileNodeArgs } from "./profile.js";

const ENVIRONMENTD = fileURLToPath(
  new URL("../../../packages/environmentd/dist/main.js", import.meta.url),
);

/** Rows with their counts, in `compareRows` order (a canonical form to compare answers). */
export type Rows = ReadonlyArray<readonly [Row, number]>;

/** The API of one environmentd, in domain types. */
export interface EnvironmentApi {
  /** `introspectionIntervalMs`: absent = the server default (1000); 0 = logging off. */
  createCluster(name: string, introspectionIntervalMs?: number): Promise<string>;
  createReplica(cluster: string, name: string, size: number): Promise<string>;
  listClusters(): Promise<ListClustersResponse>;
  createSource(req: CreateSourceRequest): Promise<CreateSourceResponse>;
  createIndex(req: CreateIndexRequest): Promise<string>;
  createMaterializedView(req: CreateMaterializedViewRequest): Promise<string>;
  dropObject(name: string, cascade?: boolean): Promise<void>;
  /** A peek; the rows come back sorted (`sortRows`). */
  peek(req: PeekRequest): Promise<EnvironmentPeekResponse>;
  status(cluster?: string): Promise<StatusResponse>;
  listObjects(cluster?: string): Promise<ListObjectsResponse>;
  /** A subscribe's batches until the stream ends, `signal` aborts it, or it fails. */
  subscribe(req: SubscribeRequest, signal?: AbortSignal): AsyncIterable<SubscribeResponse>;
  /** The generated client (for requests the wrapper does not cover, e.g. raw wire messages). */
  readonly client: Client<typeof EnvironmentService>;
  /** Closes the HTTP/2 session. */
  close(): void;
}

/** A client of `EnvironmentService` at `grpcUrl` (gRPC over h2c, as `mzctl` builds it). */
export function environmentApi(grpcUrl: string): EnvironmentApi {
  const sessions = new Http2SessionManager(grpcUrl);
  const client: Client<typeof EnvironmentService> = createClient(
    EnvironmentService,
    // A request racing environmentd's close (e.g. fenced) is Unavailable, not Internal.
    createGrpcTransport({
      baseUrl: grpcUrl,
      sessionManager: sessions,
      // Read off the namespace: `pnpm bench --compare <ref>` runs this harness against older
      // builds, whose `@mzts/environmentd` has no such export (a named import fails to link).
      interceptors:
        environmentd.refusedStreamIsUnavailable === undefined
          ? []
          : [environmentd.refusedStreamIsUnavailable],
    }),
  );
  return {
    async createCluster(name, introspectionIntervalMs) {
      const req =
        introspectionIntervalMs === undefined ? { name } : { name, introspectionIntervalMs };
      return (await client.createCluster(codecs.createClusterRequest.toProto(req))).id;
    },
    async createReplica(cluster, name, size) {
      return (
        await client.createReplica(codecs.createReplicaRequest.toProto({ cluster, name, size }))
      ).id;
    },
    async listClusters() {
      return codecs.listClustersResponse.fromProto(
        await client.listClusters(codecs.listClustersRequest.toProto({})),
      );
    },
    async createSource(req) {
      return codecs.createSourceResponse.fromProto(
        await client.createSource(codecs.createSourceRequest.toProto(req)),
      );
    },
    async createIndex(req) {
      return (await client.createIndex(codecs.createIndexRequest.toProto(req))).id;
    },
    async createMaterializedView(req) {
      return (
        await client.createMaterializedView(codecs.createMaterializedViewRequest.toProto(req))
      ).id;
    },
    async dropObject(name, cascade = false) {
      await client.dropObject(codecs.dropObjectRequest.toProto({ name, cascade }));
    },
    async peek(req) {
      const res = codecs.peekResponse.fromProto(await client.peek(codecs.peekRequest.toProto(req)));
      return { ...res, rows: sortRows(res.rows) };
    },
    async status(cluster) {
      return codecs.statusResponse.fromProto(
        await client.status(codecs.statusRequest.toProto(cluster === undefined ? {} : { cluster })),
      );
    },
    async listObjects(cluster) {
      return codecs.listObjectsResponse.fromProto(
        await client.listObjects(
          codecs.listObjectsRequest.toProto(cluster === undefined ? {} : { cluster }),
        ),
      );
    },
    async *subscribe(req, signal) {
      const stream = client.subscribe(
        codecs.subscribeRequest.toProto(req),
        signal === undefined ? {} : { signal },
      );
      for await (const res of stream) yield codecs.subscribeResponse.fromProto(res);
    },
    client,
    close() {
      sessions.abort();
    },
  };
}

/** A running environmentd. */
export interface EnvironmentdHandle {
  readonly process: Started;
  /** The boot generation it printed. */
  readonly generation: bigint;
  readonly grpcUrl: string;
  /** Connect JSON, `/metrics`, `/health`. */
  readonly httpUrl: string;
  readonly api: EnvironmentApi;
}

export interface EnvironmentdOptions {
  readonly dataDir: string;
  /** Seconds replicas live on without a controller (default 20). */
  readonly controllerAbsentTimeoutS?: number;
  /** pino level of environmentd's stderr logs (default warn). */
  readonly logLevel?: string;
  /** Pass `--demo` (create the demo objects, print the live status). */
  readonly demo?: boolean;
  /** How long to wait for the ready line (default 30 000 ms). */
  readonly readyTimeoutMs?: number;
  /** Extra environment variables (e.g. `MZ_CLUSTERD_NODE_ARGS` for profiles). */
  readonly env?: NodeJS.ProcessEnv;
  /** `--flags-file` (default: environmentd's `<dataDir>/flags.json`, every phase off). */
  readonly flagsFile?: string;
  /** environmentd's entry script (default this tree's; the A/B benches pass another build's). */
  readonly entry?: string;
}

const READY = /^environmentd: generation (\d+); API gRPC (\S+), Connect JSON \+ \/metrics (\S+)$/;

/** Starts `environmentd` on `dataDir` (ports 0) and waits for its "generation …; API …" line. */
export async function startEnvironmentd(opts: EnvironmentdOptions): Promise<EnvironmentdHandle> {
  const proc = startNode(
    opts.entry ?? ENVIRONMENTD,
    [
      ...(opts.demo === true ? ["--demo"] : []),
      ...(opts.flagsFile === undefined ? [] : ["--flags-file", opts.flagsFile]),
      "--data-dir",
      opts.dataDir,
      "--grpc-port",
      "0",
      "--http-port",
      "0",
      "--controller-absent-timeout",
      String(opts.controllerAbsentTimeoutS ?? 20),
      "--log-level",
      opts.logLevel ?? "warn",
    ],
    {
      // Profiling (`MZ_E2E_PROFILE_DIR`): environmentd's replicas too, unless the caller chose.
      ...(profileNodeArgs("clusterd").length > 0
        ? { MZ_CLUSTERD_NODE_ARGS: profileNodeArgs("clusterd").join(" ") }
        : {}),
      ...opts.env,
    },
    profileNodeArgs("environmentd"),
  );
  const line = await proc.waitForLine((l) => READY.test(l), opts.readyTimeoutMs ?? 30_000);
  const m = READY.exec(line);
  if (m === null) throw new Error(`unexpected ready line: ${line}`);
  const grpcUrl = m[2] as string;
  return {
    process: proc,
    generation: BigInt(m[1] as string),
    grpcUrl,
    httpUrl: m[3] as string,
    api: environmentApi(grpcUrl),
  };
}

// ---- replicas ---------------------------------------------------------------------------------

/** One entry of `<dataDir>/orchestrator/replicas.json`. */
export interface ReplicaRecordView {
  readonly replicaId: string;
  readonly clusterId: string;
  readonly generation: number;
  /** The phases the replica was started with (`PhaseSet` JSON). */
  readonly phases?: { readonly inForce: Readonly<Record<string, boolean>> };
  readonly pid: number;
  readonly host: string;
  /** `{cluster, http}` for a one-port replica (`cluster-unification-client`). */
  readonly ports:
    | { readonly compute: number; readonly storage: number; readonly http: number }
    | { readonly cluster: number; readonly http: number }
    | null;
}

/** The orchestrator's replica records (empty when the file does not exist yet). */
export function readReplicaRecords(dataDir: string): ReplicaRecordView[] {
  try {
    const file = JSON.parse(
      readFileSync(join(dataDir, "orchestrator", "replicas.json"), "utf8"),
    ) as { replicas: ReplicaRecordView[] };
    return file.replicas;
  } catch {
    return [];
  }
}

/**
 * Whether `pid` runs a clusterd of `dataDir` (its command line names the data directory). Check
 * before signalling a recorded pid: a record outlives its process and the pid may have been
 * reused (a stale record's pid once named this machine's PostgreSQL postmaster).
 */
export function isOurClusterd(pid: number, dataDir: string): boolean {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    return argv.some((a) => a.includes("clusterd")) && argv.some((a) => a.startsWith(dataDir));
  } catch {
    return false;
  }
}

/**
 * Remembers every replica pid recorded for a data directory (`observe()`, called whenever a test
 * reads the records) and kills them all at the end (`reap()`).
 */
export class ReplicaReaper {
  readonly #dataDir: string;
  /** Every pid seen in the records; only grows. */
  readonly #pids = new Set<number>();

  constructor(dataDir: string) {
    this.#dataDir = dataDir;
  }

  /** Reads the records, remembers their pids and returns them. */
  observe(): ReplicaRecordView[] {
    const records = readReplicaRecords(this.#dataDir);
    for (const r of records) this.#pids.add(r.pid);
    return records;
  }

  /** How many recorded replicas of `clusterId` run now (their recorded pid is a live clusterd). */
  running(clusterId: string): number {
    return this.observe().filter(
      (r) => r.clusterId === clusterId && isOurClusterd(r.pid, this.#dataDir),
    ).length;
  }

  /**
   * Waits until the record of `replicaId` names a pid other than `oldPid` (the orchestrator
   * restarted it) and returns that pid.
   */
  waitForRestart(
    replicaId: string,
    oldPid: number,
    timeoutMs = 20_000,
    everyMs = 100,
  ): Promise<number> {
    return waitFor(
      `the orchestrator to restart ${replicaId}`,
      () => {
        const p = recordedPid(this.observe(), replicaId);
        return p !== undefined && p !== oldPid ? p : undefined;
      },
      timeoutMs,
      everyMs,
    );
  }

  /** SIGCONT + SIGKILL to every remembered (and currently recorded) clusterd of the directory. */
  reap(): void {
    this.observe();
    for (const pid of this.#pids) {
      if (!isOurClusterd(pid, this.#dataDir)) continue;
      try {
        process.kill(pid, "SIGCONT");
        process.kill(pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
  }
}

/** The pid recorded for `replicaId`, or undefined. */
export function recordedPid(
  records: readonly ReplicaRecordView[],
  replicaId: string,
): number | undefined {
  return records.find((r) => r.replicaId === replicaId)?.pid;
}

// ---- metrics ----------------------------------------------------------------------------------

/** One Prometheus sample. */
export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** How long `scrape` waits for a complete `/metrics` answer by default. */
export const SCRAPE_TIMEOUT_MS = 10_000;

/** A `/metrics` scrape that got no complete answer in time. */
export class ScrapeTimeout extends Error {
  constructor(
    readonly url: string,
    readonly timeoutMs: number,
  ) {
    super(
      `GET ${url}: no complete answer within ${timeoutMs} ms (is the process stopped, hung or overloaded?)`,
    );
    this.name = "ScrapeTimeout";
  }
}

/**
 * GET `<baseUrl>/metrics`, parsed (`parseMetrics`), the answer's headers and body within
 * `timeoutMs`. @throws ScrapeTimeout when it is not complete in time (a stopped or hung process
 * would otherwise hang the caller for good); Error on a status other than 2xx.
 */
export async function scrape(baseUrl: string, timeoutMs = SCRAPE_TIMEOUT_MS): Promise<Sample[]> {
  const url = `${baseUrl}/metrics`;
  const signal = AbortSignal.timeout(timeoutMs);
  let text: string;
  try {
    const res = await fetch(url, { signal });
    if (!res.ok) throw new Error(`GET ${url}: ${res.status}`);
    text = await res.text();
  } catch (e) {
    if (signal.aborted) throw new ScrapeTimeout(url, timeoutMs);
    throw e;
  }
  return parseMetrics(text);
}

/** Prometheus text format, parsed (comments skipped). */
export function parseMetrics(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (m === null) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[l[1] as string] = l[2] as string;
    }
    out.push({ name: m[1] as string, labels, value: Number(m[3]) });
  }
  return out;
}

/** Sum of the samples named `name` whose labels include `labels` (0 when none). */
export function metricSum(
  samples: readonly Sample[],
  name: string,
  labels: Readonly<Record<string, string>> = {},
): number {
  let sum = 0;
  for (const s of samples) {
    if (s.name !== name) continue;
    if (Object.entries(labels).every(([k, v]) => s.labels[k] === v)) sum += s.value;
  }
  return sum;
}

/** Sum of a counter over the replicas' own /metrics. */
export async function replicaCounter(
  records: readonly ReplicaRecordView[],
  name: string,
): Promise<number> {
  let sum = 0;
  for (const r of records) {
    if (r.ports === null) throw new Error(`replica ${r.replicaId} has no ports yet`);
    sum += metricSum(await scrape(`http://127.0.0.1:${r.ports.http}`), name);
  }
  return sum;
}

/** The replicas' compute reconciliation counters: dataflows reused and replaced so far. */
export interface Reconciliation {
  readonly reused: number;
  readonly replaced: number;
}

/** The reconciliation counters summed over the replicas' own /metrics. */
export async function reconciliationCounts(
  records: readonly ReplicaRecordView[],
): Promise<Reconciliation> {
  return {
    reused: await replicaCounter(records, "mz_compute_reconciliation_reused_dataflows_count_total"),
    replaced: await replicaCounter(
      records,
      "mz_compute_reconciliation_replaced_dataflows_count_total",
    ),
  };
}

/**
 * Polls the reconciliation counters (every 200 ms, up to `timeoutMs`) until `expected` dataflows
 * were reused or replaced since `before`; returns what was counted since then.
 */
export async function reconciledSince(
  records: readonly ReplicaRecordView[],
  before: Reconciliation,
  expected: number,
  timeoutMs = 10_000,
): Promise<Reconciliation> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const now = await reconciliationCounts(records);
    const since = { reused: now.reused - before.reused, replaced: now.replaced - before.replaced };
    if (since.reused + since.replaced >= expected || Date.now() >= deadline) return since;
    await sleep(200);
  }
}

/** Whether any sample is named `name` (a metric that exists, even at 0). */
export function hasMetric(samples: readonly Sample[], name: string): boolean {
  return samples.some((s) => s.name === name);
}

// ---- frontiers --------------------------------------------------------------------------------

/** `a ≤ b` with `null` as the empty (top) frontier. */
export function frontierLessEqual(a: Frontier, b: Frontier): boolean {
  if (b === null) return true;
  if (a === null) return false;
  return a <= b;
}

/** A frontier moving backward between two status samples. */
export interface FrontierRegression {
  readonly collection: string;
  readonly field: "write" | "since";
  readonly from: Frontier;
  readonly to: Frontier;
}

/** One replica health seen by a status sample. */
export interface HealthSample {
  readonly atMs: number;
  readonly replica: string;
  readonly health: string;
  readonly reason: string;
}

/** What `watchStatus` saw. */
export interface StatusWatch {
  /** Status calls that answered. */
  readonly samples: number;
  /** Status calls that failed (message). */
  readonly errors: readonly string[];
  /** The largest write frontier per collection name. */
  readonly maxWrite: ReadonlyMap<string, Frontier>;
  /** The first write frontier per collection name. */
  readonly firstWrite: ReadonlyMap<string, Frontier>;
  readonly regressions: readonly FrontierRegression[];
  /** Every replica health, per sample. */
  readonly health: readonly HealthSample[];
}

/**
 * Polls `Status` of `cluster` every `intervalMs` until `stop()`, keeping the max write frontier
 * and since per collection and every backward move.
 */
export function watchStatus(
  api: EnvironmentApi,
  cluster: string,
  intervalMs = 100,
): { stop(): Promise<StatusWatch> } {
  const maxWrite = new Map<string, Frontier>();
  const firstWrite = new Map<string, Frontier>();
  const maxSince = new Map<string, Frontier>();
  const regressions: FrontierRegression[] = [];
  const health: HealthSample[] = [];
  const errors: string[] = [];
  let samples = 0;
  let stopped = false;
  const track = (
    max: Map<string, Frontier>,
    name: string,
    f: Frontier,
    field: "write" | "since",
  ) => {
    const prev = max.get(name);
    if (prev === undefined || frontierLessEqual(prev, f)) max.set(name, f);
    else regressions.push({ collection: name, field, from: prev, to: f });
  };
  const loop = (async () => {
    while (!stopped) {
      try {
        const s = await api.status(cluster);
        samples++;
        const atMs = Date.now();
        for (const c of s.clusters) {
          for (const col of c.collections) {
            if (!firstWrite.has(col.name)) firstWrite.set(col.name, col.writeFrontier);
            track(maxWrite, col.name, col.writeFrontier, "write");
            track(maxSince, col.name, col.since, "since");
          }
          for (const r of c.replicas) {
            health.push({ atMs, replica: r.name, health: r.health, reason: r.reason });
          }
        }
      } catch (e) {
        errors.push((e as Error).message);
      }
      await sleep(intervalMs);
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      return { samples, errors, maxWrite, firstWrite, regressions, health };
    },
  };
}

// ---- reference answers ------------------------------------------------------------------------

type Collection = Array<[Row, number]>;

/** Consolidates `[row, count]` pairs (zeros dropped), in `compareRows` order. */
function consolidate(rows: Iterable<readonly [Row, number]>): Collection {
  return consolidateRows(rows).sort((a, b) => compareRows(a[0], b[0]));
}

/** Rows in `compareRows` order. */
export function sortRows(rows: Rows): Rows {
  return [...rows].sort((a, b) => compareRows(a[0], b[0]));
}

/** Evaluates `get`/`project`/`reduce` plans on consolidated inputs (see the file comment). */
export function evaluatePlan(plan: Plan, inputs: ReadonlyMap<string, Collection>): Collection {
  switch (plan.kind) {
    case "get": {
      const c = inputs.get(plan.id);
      if (c === undefined) throw new Error(`reference: no input ${plan.id}`);
      return c;
    }
    case "project":
      return consolidate(
        evaluatePlan(plan.input, inputs).map(([row, n]) => [plan.columns.map((i) => row[i]!), n]),
      );
    case "reduce": {
      const groups = new Map<string, { key: Row; rows: Collection }>();
      for (const [row, n] of evaluatePlan(plan.input, inputs)) {
        const key = plan.groupKey.map((i) => row[i]!);
        const k = rowKey(key);
        const g = groups.get(k) ?? { key, rows: [] };
        g.rows.push([row, n]);
        groups.set(k, g);
      }
      const out: Collection = [];
      for (const { key, rows } of groups.values()) {
        const aggs = plan.aggregates.map((a): Datum => {
          const values = rows.flatMap(([row, n]) =>
            a.column === undefined ? [[true as Datum, n] as const] : [[row[a.column]!, n] as const],
          );
          const present = values.filter(([v]) => v !== null);
          switch (a.func) {
            case "count":
              return BigInt(present.reduce((s, [, n]) => s + n, 0));
            case "sum":
              return present.length === 0
                ? null
                : present.reduce((s, [v, n]) => s + (v as bigint) * BigInt(n), 0n);
            case "min":
            case "max": {
              let best: Datum = null;
              for (const [v] of present) {
                if (best === null) best = v;
                const c = Datum.compare(v, best);
                if ((a.func === "max" && c > 0) || (a.func === "min" && c < 0)) best = v;
              }
              return best;
            }
          }
          throw new Error(`reference: aggregate ${String(a.func)} is not supported`);
        });
        out.push([[...key, ...aggs], 1]);
      }
      return consolidate(out);
    }
    default:
      throw new Error(`reference: plan node ${plan.kind} is not supported`);
  }
}

/** Subsource and materialized-view shards by GlobalId, from the catalog of `dataDir`. */
export async function shardsByGlobalId(dataDir: string): Promise<Map<string, string>> {
  const catalog = environmentd.openSqliteCatalog({ path: join(dataDir, "catalog.sqlite") });
  try {
    const snap = await catalog.snapshot();
    const out = new Map<string, string>();
    for (const item of snap.items) {
      if (item.kind === "source") for (const e of item.exports) out.set(e.id, e.shardId);
      if (item.kind === "materialized-view") out.set(item.id, item.shardId);
    }
    return out;
  } finally {
    await catalog.close();
  }
}

/**
 * The reference answer of `plan` as of `asOf`: each `get` input read from its persist shard under
 * `<dataDir>/persist` (snapshot at `asOf`, consolidated), then `evaluatePlan`.
 */
export async function referenceAnswer(dataDir: string, plan: Plan, asOf: bigint): Promise<Rows> {
  const shards = await shardsByGlobalId(dataDir);
  const ids = new Set<string>();
  const collect = (p: Plan): void => {
    if (p.kind === "get") ids.add(p.id);
    else if ("input" in p) collect(p.input);
    else if ("inputs" in p) for (const q of p.inputs) collect(q);
  };
  collect(plan);
  const persist = await createPersist({ dataDir: join(dataDir, "persist") });
  try {
    const inputs = new Map<string, Collection>();
    for (const id of ids) {
      const shardId = shards.get(id);
      if (shardId === undefined) throw new Error(`reference: no shard for ${id} in the catalog`);
      const shard = await persist.openShard(shardId);
      const updates = await shard.snapshot(asOf, { wait: true, timeoutMs: 10_000 });
      inputs.set(id, consolidate(updates.map(([row, , diff]) => [row, diff] as const)));
    }
    return evaluatePlan(plan, inputs);
  } finally {
    await persist.close();
  }
}

// ---- misc -------------------------------------------------------------------------------------

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls `check` every `everyMs` until it returns a value other than undefined. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 30_000,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${last === undefined ? "" : `; last error: ${(last as Error).message}`}`,
      );
    }
    await sleep(everyMs);
  }
}
