/**
 * Tests only: the two `ClusterController`s side by side under one workload — the legacy adapter
 * (`cluster-controllers/legacy-cluster-controller.ts` over the real compute and storage
 * controllers) and the unified driver (no timer: `maintain()` is the upkeep) — each behind the
 * same in-memory replica fakes, so a test drives both through the interface and the same
 * replica traffic, then compares what they answer (`observe`): existence, frontiers and sinces, replicas, pending peeks, peek outcomes.
 */

import type { ClusterController } from "@mzts/controller-unified/state";
import { type FakeConnector, unifiedCluster } from "@mzts/controller-unified/testing";
import type {
  ComputeCommand,
  ComputeResponse,
  StorageCommand,
  StorageResponse,
} from "@mzts/protocol";
import type { GlobalId, ReplicaId } from "@mzts/repr";
import { flush, LegacyCluster } from "./legacy-cluster.js";

/** One path under test. */
export interface Side {
  readonly name: "legacy" | "unified";
  readonly c: ClusterController;
  readonly computeFake: FakeConnector<ComputeCommand, ComputeResponse>;
  readonly storageFake: FakeConnector<StorageCommand, StorageResponse>;
  storageRespond(replicaId: ReplicaId, r: StorageResponse): void;
  /** Both replica streams of `replicaId` fail (the next incarnation is replayed). */
  reconnect(replicaId: ReplicaId): void;
  /** The maintenance step: legacy = environmentd's upkeep, unified = `maintain()`. */
  upkeep(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Both sides with their compaction windows (equal, unless a test injects a difference);
 * `shards` maps subsources to shards.
 */
export async function controllerSides(
  [legacyWindowMs, unifiedWindowMs]: readonly [bigint, bigint],
  shards: ReadonlyMap<GlobalId, string>,
): Promise<[Side, Side]> {
  const l = new LegacyCluster(legacyWindowMs);
  for (const [id, shard] of shards) l.shards.set(id, shard);
  const adapter = l.controller();
  const legacy: Side = {
    name: "legacy",
    c: adapter,
    computeFake: l.computeFake,
    storageFake: l.storageFake,
    storageRespond: (r, x) => l.storageRespond(r, x),
    reconnect: (r) => l.reconnect(r),
    upkeep: () => adapter.upkeep(),
    close: async () => {
      await adapter.close();
      await l.close();
    },
  };
  const u = unifiedCluster(unifiedWindowMs);
  const unified: Side = {
    name: "unified",
    c: u.controller,
    computeFake: u.computeFake,
    storageFake: u.storageFake,
    storageRespond: (r, x) => u.storageFake.respond(r, [x]),
    // One stream failing fails the incarnation: the storage stream is closed with it.
    reconnect: (r) => u.computeFake.fail(r, "reconnect"),
    upkeep: () => u.controller.maintain(),
    close: () => u.controller.close(),
  };
  return [legacy, unified];
}

/** What a side answers about `ids` and its replicas (comparable with `toEqual`). */
export function observe(side: Side, ids: readonly GlobalId[]): unknown {
  const c = side.c;
  const collections = ids.map((id) => {
    if (!c.hasCollection(id)) return { id, live: false };
    const f = c.frontiers(id);
    return { id, since: f.since, write: f.write };
  });
  const replicas = c.replicas().map((r) => ({
    replicaId: r.replicaId,
    epoch: r.epoch,
    state: r.state,
    failures: r.failures,
  }));
  return { collections, replicas, pendingPeeks: c.status().pendingPeeks };
}

/** How a peek ended, comparably. */
export type PeekOutcome = { rows: unknown; replicaId: string } | { error: string };

/**
 * Peeks `target` at `timestamp` on a side; `answer` (rows and the replica that answers, or
 * undefined: nobody answers and it times out after 20 ms) is injected on its wire.
 */
export async function peekOn(
  side: Side,
  target: GlobalId,
  timestamp: bigint,
  answer: { readonly replicaId: ReplicaId; readonly rows: [bigint, number][] } | undefined,
): Promise<PeekOutcome> {
  // An answered peek must not time out on a loaded machine; an unanswered one times out soon.
  const timeoutMs = answer === undefined ? 20 : 10_000;
  // Incarnations are listed oldest first, not in send order: the new uuid is the one not seen.
  const before = new Set(sentPeeks(side));
  const promise = side.c.peek({ target, timestamp, timeoutMs }).then(
    (a) => ({ rows: a.rows, replicaId: a.replicaId }),
    (e: Error) => ({ error: e.name }),
  );
  await flush();
  const uuid = sentPeeks(side).find((u) => !before.has(u));
  if (answer !== undefined && uuid !== undefined) {
    side.computeFake.respond(answer.replicaId, [
      {
        kind: "peekResponse",
        uuid,
        response: { kind: "rows", rows: answer.rows.map(([v, n]) => [[v], n] as const) },
      },
    ]);
  }
  return promise;
}

function sentPeeks(side: Side): string[] {
  return side.computeFake.incarnations.flatMap((i) =>
    i.sent.flatMap((c) => (c.kind === "peek" ? [c.peek.uuid] : [])),
  );
}
