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
