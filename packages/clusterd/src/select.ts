/**
 * The phase seam of the replica side (style §15–16): `selectRuntimes(phases)` picks, once, at
 * replica start:
 * - phase 1 (*servers*): the unified runtime (`@mzts/mz-cluster`) or each workload's legacy
 *   server;
 * - phase 2 (*logging*, needs servers; `PhaseSet` resolves the prerequisite): unified logging —
 *   the compute runtime's workers host the log indexes (`logging: {role: "host"}`: each worker's
 *   `ctx.logging` is a `UnifiedLoggingHost`), the storage runtime's workers forward their events
 *   (`{role: "forward"}`), and this file wires the two (`wireUnifiedLogging`). Off: no
 *   `ctx.logging`, compute logs on its own (its legacy logging) and storage not at all.
 * Nothing below this file reads flags.
 *
 * Startup order (issue 16, rehydration): `selectRuntimes` imports only the chosen path's runtime
 * entries (`@mzts/compute/runtime`, `@mzts/storage/runtime` or `/legacy-runtime`: a few dozen
 * modules) and creates the runtimes — which spawns the worker threads — before it loads the
 * response mergers (the compute package's root: rendering, peeks, persist). clusterd's main
 * thread loads its serving modules after this returns, while the workers load theirs.
 * `startup-imports.test.ts` guards the order.
 */

import type { PhaseSet } from "@mzts/flags/phases";
import type { ClusterRuntime, ResponseMerger, RuntimeLogging } from "@mzts/mz-cluster";
import type {
  ComputeCommand,
  ComputeResponse,
  StorageCommand,
  StorageResponse,
} from "@mzts/protocol";
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
  /** Phase 2: unified logging (`mz-cluster/logging`) or compute's own (legacy). */
  readonly logging: "unified" | "legacy";
  readonly compute: ClusterRuntime<ComputeCommand, ComputeResponse>;
  readonly storage: ClusterRuntime<StorageCommand, StorageResponse>;
  readonly newComputeMerger: (workers: number) => ResponseMerger<ComputeCommand, ComputeResponse>;
  readonly newStorageMerger: (workers: number) => ResponseMerger<StorageCommand, StorageResponse>;
}

/**
 * Builds the compute and storage runtimes of the path the PhaseSet selects (their worker threads
 * start loading at once), then their response mergers.
 */
export async function selectRuntimes(
  phases: PhaseSet,
  opts: RuntimeOptions,
): Promise<SelectedRuntimes> {
  const unified = phases.takesEffect("servers");
  // Needs servers: never true without `unified`.
  const unifiedLogging = unified && phases.takesEffect("logging");
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
  // The hot commands (peeks, allowCompaction) go to the compute workers as their wire bytes,
  // remembered by the protocol's decoder (`forwardedFrame`; loaded below, once the workers are
  // spawned, and before any command can arrive).
  let forwardedFrame: ((command: ComputeCommand) => Uint8Array | undefined) | undefined;
  const commandFrame = (command: ComputeCommand) => forwardedFrame?.(command);
  // Compute first: its workers have the most to load (rendering, persist, logging).
  const computeRuntime = await import("@mzts/compute/runtime");
  const compute: ClusterRuntime<ComputeCommand, ComputeResponse> = unified
    ? (await import("@mzts/mz-cluster/runtime")).createClusterRuntime<
        ComputeCommand,
        ComputeResponse
      >(computeRuntime.createComputeSpec(), {
        workers: opts.workers,
        config: computeConfig,
        commandFrame,
        ...(unifiedLogging
          ? { logging: { role: "host" } as const }
          : // PHASE(logging): legacy — delete when cluster-unification-logging is retired
            {}),
      })
    : // PHASE(servers): legacy — delete when cluster-unification-servers is retired
      computeRuntime.createLegacyComputeRuntime({
        workers: opts.workers,
        config: computeConfig,
        commandFrame,
      });
  const storage: ClusterRuntime<StorageCommand, StorageResponse> = unified
    ? (await import("@mzts/storage/runtime")).createStorageRuntime({
        ...storageOptions,
        ...(unifiedLogging
          ? { logging: { role: "forward" } as const }
          : // PHASE(logging): legacy — delete when cluster-unification-logging is retired
            {}),
      })
    : // PHASE(servers): legacy — delete when cluster-unification-servers is retired
      (await import("@mzts/storage/legacy-runtime")).createLegacyStorageRuntime(storageOptions);
  if (unifiedLogging) wireUnifiedLogging(compute.logging, storage.logging);
  // The workers are loading: now the main thread's share.
  const [{ ComputeMetrics, computeMergerFactory }, protocol] = await Promise.all([
    import("@mzts/compute/merge"),
    import("@mzts/protocol"),
  ]);
  forwardedFrame = protocol.forwardedFrame;
  const { PartitionedStorageState } = protocol;
  const newComputeMerger: (n: number) => ResponseMerger<ComputeCommand, ComputeResponse> =
    computeMergerFactory(new ComputeMetrics(opts.registry), {
      // A peek left waiting on a worker's answer says so (`mz_compute_peeks_overdue_total`).
      onOverdue: (report) =>
        opts.logger.warn(
          {
            workload: "compute",
            count: report.count,
            waited_ms: report.waitedAtLeastMs,
            peeks: report.peeks.map((p) => ({ uuid: p.uuid, missing_workers: p.missingParts })),
          },
          "compute: peeks have waited this long for the answers of these workers",
        ),
    });
  return {
    path: unified ? "unified" : "legacy",
    logging: unifiedLogging ? "unified" : "legacy",
    compute,
    storage,
    newComputeMerger,
    newStorageMerger: (n) => new PartitionedStorageState(n),
  };
}

/**
 * Phase 2: storage's introspection events go to the compute workers that host the log indexes
 * (storage worker `s` → compute worker `s % W`, rows keep `s`), and the compute hosts'
 * configuration decides whether storage builds events at all (only when a storage relation is
 * installed; interval 0 installs none).
 * @throws Error when a runtime lacks its logging role (a wiring bug in this file).
 */
export function wireUnifiedLogging(
  compute: RuntimeLogging | undefined,
  storage: RuntimeLogging | undefined,
): void {
  if (compute?.role !== "host" || storage?.role !== "forward") {
    throw new Error("unified logging needs a hosting compute runtime and a forwarding storage one");
  }
  storage.onLogEvents((events) => compute.injectLogEvents(events));
  compute.onDemand((demand) => storage.setForwarding(demand.storage));
}
