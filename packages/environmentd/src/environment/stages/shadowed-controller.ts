/**
 * `ShadowedClusterController`: the `ClusterController` of a cluster whose `state` phase is in a
 * middle migration stage (docs/design/20261207_migration_stages.md, "Phase 5"). Both controller
 * states are fed the same commands; the authoritative one (legacy in dualwrite/shadow, unified
 * in live/rampdown) drives the replicas and answers every call, the shadow (the other path)
 * runs on mirror replicas (`mirror-replicas.ts`) and dry since handles (`dry-persist.ts`).
 *
 * ## Contract
 * - Every DDL, replica and read call goes to the authoritative controller, then to the shadow;
 *   the authoritative's result or error is the caller's. The shadow never throws to the caller:
 *   an outcome on one side only (or errors of different classes) is an inconsistency, counted
 *   and its first difference logged.
 * - Observation calls (`frontiers`, `replicas`, `status`, …) are the authoritative's.
 * - `path` is the authoritative's, so environmentd treats the cluster as it treats that path
 *   (who owns the since handles, rebuilds); `authoritative` and `shadow` are exposed for the
 *   few places that need a path's own methods (`import-holds.ts`, `flips/hydration.ts`).
 * - When the stage compares (shadow, live): each peek's two answers are compared (rows as
 *   multisets, errors by class); every `compareEveryMs` (and `compareNow()`) the derived states
 *   are compared (`state-comparison.ts`) and the replays recorded by the hub; each comparison is
 *   reported through `onComparison` (consistent / inconsistent; a tick with differences still
 *   inside their convergence window reports nothing).
 * - Foreign read holds given to `createDataflow` are the authoritative's; the shadow gets dry
 *   copies (it must not move or release another controller's holds).
 * - A shadow's subscribe is drained in the background and dropped when the caller's ends.
 */
import { randomUUID } from "node:crypto";
import type { ComparisonMetrics, ComparisonRecord, PathSlot } from "@mzts/compute-client";
import { diffRows } from "@mzts/compute-client";
import type {
  ClusterController,
  ClusterControllerStatus,
  ClusterPeekAnswer,
  ClusterPeekRequest,
  ClusterReplicaLocation,
  ClusterSubscribeBatch,
  CollectionFrontiers,
  ReadHold,
  ReplicaHealthRecord,
} from "@mzts/controller-unified/state";
import { authoritativePath, comparesPaths, type PhasePath, type PhaseSet } from "@mzts/flags";
import type { DataflowDescription, IngestionDescription } from "@mzts/protocol";
import { Frontier, type GlobalId, type ReplicaId } from "@mzts/repr";
import type { PersistReadHolds } from "@mzts/storage-client";
import type { Logger } from "pino";
import type { DrySinces } from "./dry-persist.js";
import { type MirrorHub, type ReplayPair, stableJson } from "./mirror-replicas.js";
import { itemsOf, StateDivergences, type StateSnapshot, snapshotOf } from "./state-comparison.js";

/** How long a derived-state difference may take to converge (ms). */
export const DEFAULT_CONVERGENCE_WINDOW_MS = 3_000;
/** How long the shadow's peek is waited for when the caller gave no timeout (ms). */
const SHADOW_PEEK_TIMEOUT_MS = 30_000;

export interface ShadowedControllerOptions {
  readonly authoritative: ClusterController;
  readonly shadow: ClusterController;
  readonly hub: MirrorHub;
  /** The shadow's since handles, seeded here with the authoritative's durable sinces. */
  readonly drySinces: DrySinces;
  /** Whether the stage compares (shadow, live) or only runs both (dualwrite, rampdown). */
  readonly compares: boolean;
  /** The comparison interval (ms; 0 = only `compareNow`). */
  readonly compareEveryMs: number;
  readonly windowMs?: number;
  readonly onComparison: (record: ComparisonRecord) => void;
  /** Test hook: rewrites the shadow's snapshot before it is compared. */
  readonly perturb?: (snapshot: StateSnapshot) => StateSnapshot;
  /** The shadow's upkeep, run every interval (a legacy shadow's import holds and read holds). */
  readonly shadowUpkeep?: () => Promise<void>;
  /**
   * A legacy shadow's own read holds (dry handles): environmentd raises a materialized view's
   * policy there as it does for a legacy cluster (`dataflows.ts`).
   */
  readonly shadowReadHolds?: PersistReadHolds;
  /** Runs after both controllers closed (a legacy shadow's instances are dropped). */
  readonly onClose?: () => Promise<void>;
  readonly log: Logger;
}

/** How one side's peek ended, and when (ms from issue). */
type PeekSettled =
  | { readonly ok: true; readonly answer: ClusterPeekAnswer; readonly ms: number }
  | { readonly ok: false; readonly error: unknown; readonly ms: number };

/** How a cluster's `state` phase runs both paths (undefined: one path only, off or complete). */
export interface StateStage {
  readonly authoritative: PhasePath;
  /** Whether the two paths are compared (shadow, live) or only both run (dualwrite, rampdown). */
  readonly compares: boolean;
}

/** The `state` stage of `phases` (see `StateStage`). */
export function stateStage(phases: PhaseSet): StateStage | undefined {
  if (!phases.migrating.includes("state") || phases.noEffect.includes("state")) return undefined;
  const stage = phases.stage("state");
  return { authoritative: authoritativePath(stage), compares: comparesPaths(stage) };
}

/**
 * Counts a `state` comparison on compute-client's comparison series (`phase="state"`: peeks and
 * derived-state ticks alike; latencies and errors are the peeks').
 */
export function countStateComparison(
  m: ComparisonMetrics,
  clusterId: string,
  r: ComparisonRecord,
): void {
  m.comparisons.inc({ instance_id: clusterId, phase: "state", result: r.result });
  for (const path of ["legacy", "unified"] as const) {
    const labels = { instance_id: clusterId, phase: "state", path };
    const ms = r.latencyMs[path];
    if (ms !== undefined) m.pathLatency.observe(labels, ms / 1000);
    if (r.errors.includes(path)) m.pathErrors.inc(labels);
  }
}

/** What one `compareNow` found. */
export interface StateComparisonResult {
  readonly inconsistent: readonly string[];
  /** Differences still open (within their window, or reported and not converged). */
  readonly open: number;
}

/** The composite controller of a `state` migration stage (see the file comment). */
export class ShadowedClusterController implements ClusterController {
  readonly clusterId: string;
  readonly path: "legacy" | "unified";
  readonly authoritative: ClusterController;
  readonly shadow: ClusterController;
  readonly #o: ShadowedControllerOptions;
  readonly #log: Logger;
  /** Collections the composite was told about (compared until gone on both sides). */
  readonly #ids = new Set<GlobalId>();
  readonly #divergences: StateDivergences;
  readonly #timer: NodeJS.Timeout | undefined;
  #upkeep: Promise<void> | undefined;
  #closed = false;

  constructor(opts: ShadowedControllerOptions) {
    this.#o = opts;
    this.authoritative = opts.authoritative;
    this.shadow = opts.shadow;
    this.clusterId = opts.authoritative.clusterId;
    this.path = opts.authoritative.path;
    this.#log = opts.log.child({
      component: "state-shadow",
      cluster_id: this.clusterId,
      authoritative: this.path,
    });
    this.#divergences = new StateDivergences(opts.windowMs ?? DEFAULT_CONVERGENCE_WINDOW_MS);
    if (opts.compareEveryMs > 0) {
      this.#timer = setInterval(() => this.#tick(), opts.compareEveryMs);
      this.#timer.unref();
    }
  }

  /** A legacy shadow's read holds (see the option). */
  get shadowReadHolds(): PersistReadHolds | undefined {
    return this.#o.shadowReadHolds;
  }

  /** The cluster's mirror hub (a reseat taps its new connectors through it). */
  get hub(): MirrorHub {
    return this.#o.hub;
  }

  get #shadowPath(): PathSlot {
    return this.shadow.path;
  }

  // --- replicas -------------------------------------------------------------------------------

  addReplica(replicaId: ReplicaId, location: ClusterReplicaLocation): void {
    this.#both(
      "addReplica",
      () => this.authoritative.addReplica(replicaId, location),
      () => this.shadow.addReplica(replicaId, twoPort(location)),
    );
  }

  updateReplicaLocation(replicaId: ReplicaId, location: ClusterReplicaLocation): void {
    this.#both(
      "updateReplicaLocation",
      () => this.authoritative.updateReplicaLocation(replicaId, location),
      () => this.shadow.updateReplicaLocation(replicaId, twoPort(location)),
    );
  }

  async dropReplica(replicaId: ReplicaId): Promise<void> {
    // The shadow first: its mirror closes quietly instead of failing with the real connection.
    const [s, a] = await Promise.allSettled([
      this.shadow.dropReplica(replicaId),
      this.authoritative.dropReplica(replicaId),
    ]);
    this.#o.hub.forgetReplica(replicaId);
    this.#outcomes("dropReplica", a, s);
    if (a.status === "rejected") throw a.reason;
  }

  replicas(): readonly ReplicaHealthRecord[] {
    return this.authoritative.replicas();
  }

  replicaFrontiers(replicaId: ReplicaId): ReadonlyMap<GlobalId, Frontier> {
    return this.authoritative.replicaFrontiers(replicaId);
  }

  // --- objects --------------------------------------------------------------------------------

  async openShards(
    shards: readonly { readonly id: GlobalId; readonly shardId: string }[],
  ): Promise<ReadonlyMap<GlobalId, Frontier>> {
    const sinces = await this.authoritative.openShards(shards);
    for (const s of shards) this.#o.drySinces.seed(s.shardId, sinces.get(s.id) ?? Frontier.MIN);
    try {
      await this.shadow.openShards(shards);
    } catch (e) {
      this.#oneSided("openShards", this.#shadowPath, e);
    }
    return sinces;
  }

  createIngestion(id: GlobalId, description: IngestionDescription): void {
    this.#both(
      "createIngestion",
      () => this.authoritative.createIngestion(id, description),
      () => this.shadow.createIngestion(id, description),
    );
    this.#ids.add(id);
    for (const e of description.sourceExports) this.#ids.add(e.id);
  }

  createDataflow(
    desc: DataflowDescription,
    options: { readonly foreignHolds?: readonly ReadHold[] } = {},
  ): void {
    const foreign = options.foreignHolds;
    this.#both(
      "createDataflow",
      () => this.authoritative.createDataflow(desc, options),
      () =>
        this.shadow.createDataflow(
          desc,
          foreign === undefined ? {} : { foreignHolds: foreign.map(dryHold) },
        ),
    );
    for (const e of [...desc.indexExports, ...desc.sinkExports]) this.#ids.add(e.id);
  }

  allowWrites(id: GlobalId): void {
    this.#both(
      "allowWrites",
      () => this.authoritative.allowWrites(id),
      () => this.shadow.allowWrites(id),
    );
  }

  allowCompaction(id: GlobalId, frontier: Frontier): void {
    this.#both(
      "allowCompaction",
      () => this.authoritative.allowCompaction(id, frontier),
      () => this.shadow.allowCompaction(id, frontier),
    );
  }

  drop(id: GlobalId): void {
    this.#both(
      "drop",
      () => this.authoritative.drop(id),
      () => this.shadow.drop(id),
    );
  }

  // --- reads ----------------------------------------------------------------------------------

  acquireReadHold(id: GlobalId, at: Frontier): ReadHold {
    let shadow: ReadHold | undefined;
    const hold = this.#both(
      "acquireReadHold",
      () => this.authoritative.acquireReadHold(id, at),
      () => {
        shadow = this.shadow.acquireReadHold(id, at);
      },
    );
    if (shadow === undefined) return hold;
    const s = shadow;
    return {
      collectionId: hold.collectionId,
      get frontier() {
        return hold.frontier;
      },
      downgrade(f) {
        hold.downgrade(f);
        s.downgrade(f);
      },
      release() {
        hold.release();
        s.release();
      },
    };
  }

  peek(req: ClusterPeekRequest): Promise<ClusterPeekAnswer> {
    const startedAt = performance.now();
    const answer = this.authoritative.peek(req);
    let other: Promise<ClusterPeekAnswer>;
    try {
      other = this.shadow.peek({ ...req, timeoutMs: req.timeoutMs ?? SHADOW_PEEK_TIMEOUT_MS });
    } catch (e) {
      other = Promise.reject(e);
    }
    const timed = (p: Promise<ClusterPeekAnswer>): Promise<PeekSettled> =>
      p.then(
        (answer) => ({ ok: true, answer, ms: performance.now() - startedAt }),
        (error: unknown) => ({ ok: false, error, ms: performance.now() - startedAt }),
      );
    void Promise.all([timed(answer), timed(other)]).then(([a, s]) => {
      if (this.#o.compares && !this.#closed) this.#peekCompared(a, s);
    });
    return answer;
  }

  #peekCompared(a: PeekSettled, s: PeekSettled): void {
    let difference: string | undefined;
    if (a.ok && s.ok) difference = diffRows(a.answer.rows, s.answer.rows);
    else if (!a.ok && !s.ok) {
      if (errorName(a.error) !== errorName(s.error))
        difference = `peek errors differ: ${errorText(a.error)} vs ${errorText(s.error)}`;
    } else if (!a.ok) difference = `the ${this.path} peek failed: ${errorText(a.error)}`;
    else if (!s.ok) difference = `the ${this.#shadowPath} peek failed: ${errorText(s.error)}`;
    const errors: PathSlot[] = [];
    if (!a.ok) errors.push(this.path);
    if (!s.ok) errors.push(this.#shadowPath);
    this.#report({
      result: difference === undefined ? "consistent" : "inconsistent",
      latencyMs: { [this.path]: a.ms, [this.#shadowPath]: s.ms },
      errors,
      ...(difference === undefined ? {} : { difference: `peek: ${difference}` }),
    });
  }

  subscribe(
    desc: DataflowDescription,
    options: { readonly targetReplica?: ReplicaId } = {},
  ): AsyncIterable<ClusterSubscribeBatch> {
    let shadowStream: AsyncIterable<ClusterSubscribeBatch> | undefined;
    const stream = this.#both(
      "subscribe",
      () => this.authoritative.subscribe(desc, options),
      () => {
        shadowStream = this.shadow.subscribe(desc, options);
      },
    );
    const sinkId = desc.sinkExports[0]?.id;
    if (sinkId !== undefined) this.#ids.add(sinkId);
    if (shadowStream === undefined) return stream;
    const it = shadowStream[Symbol.asyncIterator]();
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      try {
        // Not `hasCollection`: the legacy adapter's does not count subscribes.
        if (sinkId !== undefined) this.shadow.drop(sinkId);
      } catch {
        // already gone on the shadow
      }
      void it.return?.()?.catch(() => {});
    };
    void (async () => {
      try {
        while (!ended) if ((await it.next()).done === true) break;
      } catch {
        // the shadow's stream failed or was dropped; its state is compared, not its stream
      }
    })();
    return {
      [Symbol.asyncIterator]: () => {
        const inner = stream[Symbol.asyncIterator]();
        return {
          next: () =>
            inner.next().then(
              (r) => {
                if (r.done === true) end();
                return r;
              },
              (e: unknown) => {
                end();
                throw e;
              },
            ),
          return: async (value?: unknown) => {
            end();
            return (await inner.return?.(value)) ?? { done: true as const, value: undefined };
          },
        };
      },
    };
  }

  // --- observation ----------------------------------------------------------------------------

  logIndexes() {
    return this.authoritative.logIndexes();
  }

  hasCollection(id: GlobalId): boolean {
    return this.authoritative.hasCollection(id);
  }

  frontiers(id: GlobalId): CollectionFrontiers {
    return this.authoritative.frontiers(id);
  }

  waitForUpper(
    id: GlobalId,
    target: Frontier,
    options?: { readonly timeoutMs?: number },
  ): Promise<void> {
    return this.authoritative.waitForUpper(id, target, options);
  }

  onWriteFrontier(listener: (id: GlobalId) => void): () => void {
    return this.authoritative.onWriteFrontier(listener);
  }

  failures(): ReadonlyMap<GlobalId, string> {
    return this.authoritative.failures();
  }

  objectStatus(id: GlobalId) {
    return this.authoritative.objectStatus(id);
  }

  status(): ClusterControllerStatus {
    return this.authoritative.status();
  }

  // --- comparison -----------------------------------------------------------------------------

  /**
   * Compares the two derived states now (and the replays recorded since the last call),
   * reporting the comparison as the timer does. Returns what it found (tests).
   */
  compareNow(now: number = Date.now()): StateComparisonResult {
    const replicaIds = this.authoritative.replicas().map((r) => r.replicaId);
    const a = snapshotOf(this.authoritative, this.#ids, replicaIds);
    const raw = snapshotOf(this.shadow, this.#ids, replicaIds);
    const s = this.#o.perturb?.(raw) ?? raw;
    const found = this.#divergences.observe(now, itemsOf(a, s), {
      a: this.path,
      s: this.#shadowPath,
    });
    for (const [id, f] of a.collections)
      if (f === "missing" && s.collections.get(id) === "missing") this.#ids.delete(id);
    const replays = this.#o.hub.takeReplays();
    const inconsistent = [...found.inconsistent, ...replays.flatMap(diffReplay)];
    if (inconsistent.length > 0) {
      this.#log.warn(
        { differences: inconsistent.slice(0, 10), count: inconsistent.length },
        "state shadow: the controllers' derived states differ",
      );
      this.#report({
        result: "inconsistent",
        latencyMs: {},
        errors: [],
        difference: inconsistent.join("; "),
      });
    } else if (found.open === 0) {
      this.#report({ result: "consistent", latencyMs: {}, errors: [] });
    }
    return { inconsistent, open: found.open };
  }

  #tick(): void {
    if (this.#closed) return;
    if (this.#o.compares) this.compareNow();
    const upkeep = this.#o.shadowUpkeep;
    if (upkeep === undefined || this.#upkeep !== undefined) return;
    this.#upkeep = upkeep()
      .catch((err: unknown) => this.#log.warn({ err }, "state shadow: the shadow's upkeep failed"))
      .finally(() => {
        this.#upkeep = undefined;
      });
  }

  /** Calls both sides; the authoritative's outcome is the caller's (see the file comment). */
  #both<T>(op: string, authoritative: () => T, shadow: () => void): T {
    let a: PromiseSettledResult<T>;
    try {
      a = { status: "fulfilled", value: authoritative() };
    } catch (reason) {
      a = { status: "rejected", reason };
    }
    let s: PromiseSettledResult<void>;
    try {
      shadow();
      s = { status: "fulfilled", value: undefined };
    } catch (reason) {
      s = { status: "rejected", reason };
    }
    this.#outcomes(op, a, s);
    if (a.status === "rejected") throw a.reason;
    return a.value;
  }

  #outcomes(op: string, a: PromiseSettledResult<unknown>, s: PromiseSettledResult<unknown>): void {
    if (a.status === "fulfilled" && s.status === "fulfilled") return;
    if (a.status === "rejected" && s.status === "rejected") {
      if (errorName(a.reason) === errorName(s.reason)) return;
      this.#differs(op, `errors differ: ${errorText(a.reason)} vs ${errorText(s.reason)}`, [
        this.path,
        this.#shadowPath,
      ]);
      return;
    }
    this.#oneSided(
      op,
      a.status === "rejected" ? this.path : this.#shadowPath,
      a.status === "rejected" ? a.reason : (s as PromiseRejectedResult).reason,
    );
  }

  #oneSided(op: string, failed: PathSlot, error: unknown): void {
    this.#differs(op, `only the ${failed} controller failed: ${errorText(error)}`, [failed]);
  }

  #differs(op: string, difference: string, errors: PathSlot[]): void {
    this.#log.warn(
      { op, difference },
      "state shadow: a call's outcome differs between the controllers",
    );
    if (this.#o.compares)
      this.#report({
        result: "inconsistent",
        latencyMs: {},
        errors,
        difference: `${op}: ${difference}`,
      });
  }

  #report(r: Omit<ComparisonRecord, "uuid" | "phase" | "servedBy">): void {
    try {
      this.#o.onComparison({ uuid: randomUUID(), phase: "state", servedBy: this.path, ...r });
    } catch (err) {
      this.#log.warn({ err }, "state shadow: reporting a comparison failed; ignored");
    }
  }

  // --- lifecycle ------------------------------------------------------------------------------

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    // The hub first: the authoritative's connections closing must not fail the shadow's mirrors
    // (the shadow would start reconnecting while it closes).
    this.#o.hub.close();
    await Promise.allSettled([this.authoritative.close(), this.shadow.close()]);
    await this.#upkeep;
    await this.#o.onClose?.();
  }
}

/** The shadow's location: two ports (its mirror connectors serve both workloads separately). */
function twoPort(location: ClusterReplicaLocation): ClusterReplicaLocation {
  return location.layout === "two-port"
    ? location
    : { layout: "two-port", computeUrl: location.clusterUrl, storageUrl: location.clusterUrl };
}

/** A copy of another controller's hold that moves nothing (the shadow's). */
function dryHold(h: ReadHold): ReadHold {
  let frontier = h.frontier;
  return {
    collectionId: h.collectionId,
    get frontier() {
      return frontier;
    },
    downgrade(f) {
      frontier = Frontier.join(frontier, f);
    },
    release() {},
  };
}

function diffReplay(p: ReplayPair): string[] {
  if (!p.comparable) return [];
  const a = p.authoritative.map((c) => stableJson(c));
  const s = p.shadow.map((c) => stableJson(c));
  if (a.length === s.length && a.every((c, i) => c === s[i])) return [];
  const i = a.findIndex((c, k) => c !== s[k]);
  const at = i === -1 ? a.length : i;
  return [
    `replay ${p.replicaId} ${p.workload}: ${a.length} vs ${s.length} commands, first difference at ${at}: ` +
      `${(a[at] ?? "(none)").slice(0, 200)} vs ${(s[at] ?? "(none)").slice(0, 200)}`,
  ];
}

function errorName(e: unknown): string {
  return e instanceof Error ? e.name : typeof e;
}

function errorText(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}
