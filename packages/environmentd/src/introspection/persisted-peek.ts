/**
 * The peek path of the persisted introspection relations (`mz_introspection.replica_<relation>`,
 * `persisted-relations.ts`): no replica holds them, so environmentd answers from the shard.
 *
 * ## Flow of `peekPersisted`
 * 1. Validate at the edge, as every peek: the cluster (`pickCluster`: named, or the only one;
 *    logging off → `IntrospectionDisabled`), the request's columns (`checkPeekColumns` over the
 *    relation's arity), key rows (`validatePeekKeys` over `replica_id` + the log key), size
 *    (`validatePeekSize`), and a named replica among the cluster's (`UnknownObject`).
 * 2. The time: the requested one — below the collection's since → `PeekBelowSince`; at or past
 *    the shard's upper, awaited (woken by every write) until the deadline, then
 *    `UpperWaitTimeout` — or the freshest complete time (`upper - 1`; nothing written yet: an
 *    empty answer at 0).
 * 3. A read hold at that time (so the policy cannot compact past it meanwhile), the shard's
 *    consolidated rows as of it; only the cluster's replicas' rows (or the named replica's), only
 *    those matching a key row.
 * 4. The replica's own finishing code (`@mzts/compute/peek`: `finishPart` — map, filter,
 *    project, consolidation — then `applyFinishing` — order by, offset, limit, projection), so an
 *    answer is what a replica would give for the same rows. An evaluation error is `PeekFailed`,
 *    as from a replica.
 * 5. The answer names the named replica, or `environmentd` (id `s0`, `PERSISTED_ANSWERER`): the
 *    rows came from persist, not from a replica.
 */
import { randomUUID } from "node:crypto";
import { applyFinishing, finishPart } from "@mzts/compute/peek";
import { buildPeek, PeekFailed } from "@mzts/compute-client";
import { checkPeekColumns, type EnvironmentPeekResponse, type PeekRequest } from "@mzts/protocol";
import { type Row, rowKey, type Timestamp } from "@mzts/repr";
import type { PersistReadHolds } from "@mzts/storage-client";
import type { Cluster, ClusterReplica } from "../catalog/catalog.js";
import { UnknownObject } from "../catalog/errors.js";
import type { FrontierSignal } from "../environment/frontier-signal.js";
import { IntrospectionDisabled, PeekBelowSince, UpperWaitTimeout } from "../errors.js";
import { validatePeekKeys, validatePeekSize } from "../validation/peek.js";
import { introspectionIntervalOf } from "./log-indexes.js";
import { PERSISTED_ANSWERER, type PersistedRelation } from "./persisted-relations.js";
import { pickCluster } from "./relations.js";
import type { ReplicaIntrospectionCollections } from "./replica-collections.js";

/** What a persisted peek reads. */
export interface PersistedPeekContext {
  readonly clusters: readonly Cluster[];
  readonly replicas: readonly ClusterReplica[];
  readonly collections: ReplicaIntrospectionCollections;
  readonly readHolds: PersistReadHolds;
  /** Woken by every write of the collections. */
  readonly signal: FrontierSignal;
  /** The request's timeout, or the default (ms). */
  readonly timeoutMs: number;
}

/** A peek of a persisted relation (see the file comment). */
export async function peekPersisted(
  req: PeekRequest,
  rel: PersistedRelation,
  ctx: PersistedPeekContext,
): Promise<EnvironmentPeekResponse> {
  const deadline = Date.now() + ctx.timeoutMs;
  const cluster = pickCluster(req.cluster, ctx.clusters);
  if (introspectionIntervalOf(cluster) === 0) throw new IntrospectionDisabled(cluster.name);
  checkPeekColumns(req, rel.columns.length);
  validatePeekKeys(req.literalConstraints, {
    name: req.object,
    key: rel.key,
    types: rel.columns.map((c) => c.type),
  });
  validatePeekSize(req);
  const ofCluster = ctx.replicas.filter((r) => r.clusterId === cluster.id);
  let named: ClusterReplica | undefined;
  if (req.replica !== undefined) {
    named = ofCluster.find((r) => r.name === req.replica);
    if (named === undefined) throw new UnknownObject("replica", req.replica, cluster.name);
  }
  const answerer =
    named === undefined ? PERSISTED_ANSWERER : { replica: named.name, replicaId: named.id };
  const timestamp = await readTime(req, rel, ctx, deadline);
  if (timestamp === undefined) return { rows: [], timestamp: 0n, ...answerer };

  const hold = ctx.readHolds.acquire(rel.collectionId, timestamp);
  let raw: Array<[Row, number]>;
  try {
    raw = await ctx.collections.snapshot(rel.relation, timestamp);
  } finally {
    hold.release();
  }
  const replicaIds = new Set(named === undefined ? ofCluster.map((r) => r.id) : [named.id]);
  const keys =
    req.literalConstraints === undefined
      ? undefined
      : new Set(req.literalConstraints.map((k) => rowKey(k)));
  const mine = raw.filter(
    ([row]) =>
      replicaIds.has(String(row[0])) &&
      (keys === undefined || keys.has(rowKey(rel.key.map((k) => row[k] ?? null)))),
  );
  const peek = buildPeek(
    randomUUID(),
    {
      target: rel.collectionId,
      timestamp,
      ...(req.mapFilterProject === undefined ? {} : { mapFilterProject: req.mapFilterProject }),
      ...(req.finishing === undefined ? {} : { finishing: req.finishing }),
    },
    rel.columns.length,
  );
  const part = finishPart(peek, mine);
  if (part.kind !== "rows") {
    throw new PeekFailed(peek.uuid, part.kind === "error" ? part.message : "canceled");
  }
  return { rows: applyFinishing(part.rows, peek.finishing), timestamp, ...answerer };
}

/** The time to read at (undefined: nothing was ever written), per the file comment. */
async function readTime(
  req: PeekRequest,
  rel: PersistedRelation,
  ctx: PersistedPeekContext,
  deadline: number,
): Promise<Timestamp | undefined> {
  const since = ctx.readHolds.since(rel.collectionId);
  const requested = req.timestamp;
  if (requested === undefined) {
    // Nothing written yet (or, never for these shards, closed): nothing to read.
    const upper = ctx.collections.upper(rel.relation);
    if (upper === undefined || upper === null || upper === 0n) return undefined;
    const fresh = upper - 1n;
    return since !== null && fresh < since ? since : fresh;
  }
  if (since === null || requested < since) {
    throw new PeekBelowSince(req.object, requested, since);
  }
  return ctx.signal.until(
    () => {
      const upper = ctx.collections.upper(rel.relation);
      return upper === null || (upper !== undefined && upper > requested) ? requested : undefined;
    },
    Math.max(0, deadline - Date.now()),
    () => new UpperWaitTimeout(req.object, requested, ctx.timeoutMs),
  );
}
