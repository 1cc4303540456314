/**
 * The phase seam of the replica side (style §15–16): `selectRuntimes(phases)` picks the unified
 * runtime (`@mzts/mz-cluster`, phase 1 *servers*) or each workload's legacy server, once, at
 * replica start. Nothing below this file reads flags.
 */

import {
  ComputeMetrics,
  type ComputeResponseMerger,
  computeMergerFactory,
  createComputeSpec,
  // PHASE(servers): legacy — delete when cluster-unification-servers is retired
  createLegacyComputeRuntime,
} from "@mzts/compute";
import type { PhaseSet } from "@mzts/flags";
import { type ClusterRuntime, createClusterRuntime, type ResponseMerger } from "@mzts/mz-cluster";
import {
  type ComputeCommand,
  type ComputeResponse,
  PartitionedStorageState,
  type StorageCommand,
  type StorageResponse,
} from "@mzts/protocol";
import {
  // PHASE(servers): legacy — delete when cluster-unification-servers is retired
  createLegacyStorageRuntime,
  createStorageRuntime,
} from "@mzts/storage";
import type { Logger } from "pino";
import type { Registry } from "prom-client";

export interface RuntimeOptions {
  readonly workers: number;
  /** This replica's id (`--replica-id`): names its persist since handles. */
  readonly replicaId: string;
  /** The workers' pino level (`--log-level`); they were silent before. */
  readonly logLevel: string;
  readonly persistDir: string;
  readonly registry: Registry;
  readonly logger: Logger;
}

export interface SelectedRuntimes {
  readonly path: "unified" | "legacy";
  readonly compute: ClusterRuntime<ComputeCommand, ComputeResponse>;
  readonly storage: ClusterRuntime<StorageCommand, StorageResponse>;
  readonly newComputeMerger: (workers: number) => ResponseMerger<ComputeCommand, ComputeResponse>;
  readonly newStorageMerger: (workers: number) => ResponseMerger<StorageCommand, StorageResponse>;
}

/** Builds the compute and storage runtimes of the path the PhaseSet selects. */
export function selectRuntimes(phases: PhaseSet, opts: RuntimeOptions): SelectedRuntimes {
  const unified = phases.takesEffect("servers");
  // The replica id names the replica's persist since handles, so a restart re-attaches to them.
  const computeConfig = {
    dataDir: opts.persistDir,
    replicaId: opts.replicaId,
    logLevel: opts.logLevel,
  };
  const storageOptions = {
    workers: opts.workers,
    workerLogLevel: opts.logLevel,
    dataDir: opts.persistDir,
    registry: opts.registry,
    logger: opts.logger,
  };
  const compute = unified
    ? createClusterRuntime<ComputeCommand, ComputeResponse>(createComputeSpec(), {
        workers: opts.workers,
        config: computeConfig,
      })
    : // PHASE(servers): legacy — delete when cluster-unification-servers is retired
      createLegacyComputeRuntime({ workers: opts.workers, config: computeConfig });
  const storage = unified
    ? createStorageRuntime(storageOptions)
    : // PHASE(servers): legacy — delete when cluster-unification-servers is retired
      createLegacyStorageRuntime(storageOptions);
  const newComputeMerger: (n: number) => ComputeResponseMerger = computeMergerFactory(
    new ComputeMetrics(opts.registry),
  );
  return {
    path: unified ? "unified" : "legacy",
    compute,
    storage,
    newComputeMerger,
    newStorageMerger: (n) => new PartitionedStorageState(n),
  };
}
