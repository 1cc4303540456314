/**
 * Builds a cluster's controller for a `state` migration stage (`Clusters.build` calls it when
 * `stateStage(phases)` is set; docs/design/20261207_migration_stages.md, "Phase 5"): one
 * `MirrorHub`, the authoritative controller built by `Clusters` on connectors tapped through it,
 * the shadow controller on the hub's mirrors and dry since handles, and the composite that
 * feeds both (`shadowed-controller.ts`), its comparisons counted in `ClusterStages` and on
 * compute-client's comparison series.
 *
 * - Legacy authoritative (dualwrite, shadow): the shadow is a `UnifiedClusterController` with a
 *   dry `SinceHandleIo`, no metrics.
 * - Unified authoritative (live, rampdown): the shadow is a `LegacyClusterController` over compute
 *   and storage controllers of its own (a registry of its own: the environment's series and
 *   frontier events stay the authoritative's) and its own `PersistReadHolds` over a dry persist
 *   client (real uppers, read only); all of it closes with the composite.
 */
import {
  type ComparisonRecord,
  comparisonMetrics,
  createComputeController,
} from "@mzts/compute-client";
import type { ReplicaConnector } from "@mzts/controller-unified";
import { type ClusterController, UnifiedClusterController } from "@mzts/controller-unified/state";
import type {
  ComputeCommand,
  ComputeResponse,
  LoggingConfig,
  StorageCommand,
  StorageResponse,
} from "@mzts/protocol";
import type { GlobalId } from "@mzts/repr";
import { createStorageController, PersistReadHolds } from "@mzts/storage-client";
import type { Logger } from "pino";
import { Registry } from "prom-client";
import { LegacyClusterController } from "../../cluster-controllers/legacy-cluster-controller.js";
import type { ShardUpperSource } from "../shards.js";
import type { ClusterStages } from "./cluster-stages.js";
import { DrySinces, dryPersist, drySinceHandleIo } from "./dry-persist.js";
import { MirrorHub, type Workload } from "./mirror-replicas.js";
import {
  countStateComparison,
  ShadowedClusterController,
  type StateStage,
} from "./shadowed-controller.js";
import type { StateSnapshot } from "./state-comparison.js";

type Command = ComputeCommand | StorageCommand;
type Response = ComputeResponse | StorageResponse;

/** What the build needs from `Clusters` (see the file comment). */
export interface ShadowedBuildOptions {
  readonly clusterId: GlobalId;
  readonly stage: StateStage;
  readonly logging: LoggingConfig;
  readonly generation: bigint;
  readonly compactionWindowMs: bigint;
  /** The comparison and upkeep interval (ms; the read-hold tick). */
  readonly tickMs: number;
  /** The reader id of environmentd's since handles (a legacy shadow's dry ones carry it too). */
  readonly readerId: string;
  readonly logger: Logger;
  /** The environment's registry (the comparison series). */
  readonly registry?: Registry;
  readonly stages?: ClusterStages;
  /** Where a legacy shadow reads its shards' uppers (read only). */
  readonly uppers?: ShardUpperSource;
  /** Builds the authoritative legacy controller, its connectors passed through `tap`. */
  legacy(tap: <C>(workload: Workload, connector: C) => C): ClusterController;
  /** Builds the authoritative unified controller on connectors tapped through `hub`. */
  unified(hub: MirrorHub): ClusterController;
}

/** The composite controller of a `state` stage (see the file comment). */
export function buildShadowed(o: ShadowedBuildOptions): ShadowedClusterController {
  const log = o.logger.child({ component: "state-shadow", cluster_id: o.clusterId });
  const hub = new MirrorHub(log);
  const drySinces = new DrySinces();
  const metrics = o.registry === undefined ? undefined : comparisonMetrics(o.registry);
  const perturb = o.stages?.perturbState;
  const common = {
    hub,
    drySinces,
    compares: o.stage.compares,
    compareEveryMs: o.tickMs,
    onComparison: (r: ComparisonRecord) => {
      o.stages?.stateCompared(o.clusterId, r);
      if (metrics !== undefined) countStateComparison(metrics, o.clusterId, r);
    },
    ...(perturb === undefined ? {} : { perturb: (s: StateSnapshot) => perturb(o.clusterId, s) }),
    log: o.logger,
  };
  if (o.stage.authoritative === "legacy") {
    const authoritative = o.legacy(
      (w, c) => hub.tap(w, c as ReplicaConnector<Command, Response>) as typeof c,
    );
    const shadow = new UnifiedClusterController({
      clusterId: o.clusterId,
      generation: o.generation,
      logging: o.logging,
      compactionWindowMs: o.compactionWindowMs,
      connectors: { compute: hub.mirror("compute"), storage: hub.mirror("storage") },
      sinceHandles: drySinceHandleIo(drySinces),
      logger: log,
      tickIntervalMs: o.tickMs,
    });
    return new ShadowedClusterController({ ...common, authoritative, shadow });
  }
  const authoritative = o.unified(hub);
  // PHASE(state): legacy — delete when cluster-unification-state is retired
  const registry = new Registry();
  const compute = createComputeController({
    generation: o.generation,
    logger: log,
    registry,
    compactionWindowMs: o.compactionWindowMs,
  });
  const storage = createStorageController({ generation: o.generation, logger: log, registry });
  compute.createInstance(o.clusterId, o.logging, { connector: hub.mirror("compute") });
  storage.createInstance(o.clusterId, { connector: hub.mirror("storage") });
  const readHolds = new PersistReadHolds({
    persist: dryPersist(drySinces, o.uppers),
    readerId: o.readerId,
    compactionWindowMs: o.compactionWindowMs,
    tickMs: 0,
    logger: log,
    registry,
  });
  const shadow = new LegacyClusterController({
    clusterId: o.clusterId,
    compute,
    storage,
    readHolds,
  });
  return new ShadowedClusterController({
    ...common,
    authoritative,
    shadow,
    shadowReadHolds: readHolds,
    shadowUpkeep: () => shadow.upkeep(),
    onClose: async () => {
      await readHolds.close();
      await Promise.allSettled([compute.close(), storage.close()]);
    },
  });
}
