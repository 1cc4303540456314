/**
 * Tests only: a `UnifiedClusterController` wired to in-memory fakes — the compute and storage
 * connectors of the two-port layout (`fake-connector.ts`, the same fake the legacy cluster uses,
 * so both paths see identical replicas) and the since handles (`fake-since-handles.ts`). No timer:
 * tests step the maintenance with `maintain()` and the clock with `clock.now`.
 */
import type {
  ComputeCommand,
  ComputeResponse,
  StorageCommand,
  StorageResponse,
} from "@mzts/protocol";
import pino from "pino";
import {
  UnifiedClusterController,
  type UnifiedClusterControllerOptions,
} from "../unified-cluster-controller.js";
import { createFakeConnector, type FakeConnector } from "./fake-connector.js";
import { type FakeSinceHandles, fakeSinceHandles } from "./fake-since-handles.js";
import { CLUSTER, LOGGING } from "./legacy-fakes.js";
import { indexedView, ingestion } from "./objects.js";

/** The driver and its fakes. */
export interface UnifiedCluster {
  readonly controller: UnifiedClusterController;
  readonly computeFake: FakeConnector<ComputeCommand, ComputeResponse>;
  readonly storageFake: FakeConnector<StorageCommand, StorageResponse>;
  readonly io: FakeSinceHandles;
  readonly clock: { now: number };
}

/** Other options of the driver, and whether the fakes report what they write (`reportSent`). */
export type UnifiedClusterExtras = Partial<
  Pick<UnifiedClusterControllerOptions, "logging" | "metrics" | "placement">
> & { readonly reportSent?: boolean };

/** Builds one (compaction window `windowMs`, as the legacy cluster's). */
export function unifiedCluster(
  windowMs: bigint,
  tickIntervalMs = 0,
  heartbeatMs = 60_000,
  extras: UnifiedClusterExtras = {},
): UnifiedCluster {
  const { reportSent, ...options } = extras;
  const fakes = { reportSent: reportSent ?? false };
  const computeFake = createFakeConnector<ComputeCommand, ComputeResponse>(fakes);
  const storageFake = createFakeConnector<StorageCommand, StorageResponse>(fakes);
  const io = fakeSinceHandles();
  const clock = { now: 0 };
  const controller = new UnifiedClusterController({
    clusterId: CLUSTER,
    generation: 1n,
    logging: LOGGING,
    compactionWindowMs: windowMs,
    connectors: { compute: computeFake.connector, storage: storageFake.connector },
    sinceHandles: io,
    logger: pino({ level: "silent" }),
    tickIntervalMs,
    maintenance: { heartbeatMs },
    now: () => clock.now,
    ...options,
  });
  return { controller, computeFake, storageFake, io, clock };
}

/**
 * The common start of a peek test: replica u1 (two-port fakes), the ingestion u10 into u11 and the
 * indexed view u20 on it, both reported at 5 (so u20 answers a peek at 4).
 */
export async function withReadableIndex(u: UnifiedCluster): Promise<void> {
  const c = u.controller;
  c.addReplica("u1", {
    layout: "two-port",
    computeUrl: "http://127.0.0.1:1",
    storageUrl: "http://127.0.0.1:2",
  });
  // The fakes' connections open (as `scenario.ts`'s `flush`, which this module, shipped in
  // `@mzts/controller-unified/testing`, must not import: it reaches the legacy controllers' dist).
  await new Promise((resolve) => setImmediate(resolve));
  await c.openShards([{ id: "u11", shardId: "shard-u11" }]);
  c.createIngestion("u10", ingestion("u11"));
  c.createDataflow(indexedView("u20", 0n, ["u11"]));
  u.computeFake.respond("u1", [{ kind: "frontiers", id: "u20", frontiers: { write: 5n } }]);
  u.storageFake.respond("u1", [{ kind: "frontierUpper", id: "u11", upper: 5n }]);
}
