/**
 * `createComputeSpec()`: compute as a workload of mz-cluster's unified runtime.
 *
 * No preparation task: compute commands need no I/O before they are sequenced (storage's
 * reading of resume uppers is the one user). The workers' configuration (`ComputeConfig`: the
 * persist data directory, …) is the runtime's `config`, plain data.
 */
import type { ClusterSpec } from "@mzts/mz-cluster/runtime";
import type { ComputeCommand } from "@mzts/protocol";

export interface ComputeSpecOptions {
  /** The worker module (default: this package's built `compute-worker.js`). */
  readonly workerModule?: URL;
}

/** The `ClusterSpec` of the compute workload. */
export function createComputeSpec(opts: ComputeSpecOptions = {}): ClusterSpec<ComputeCommand> {
  return {
    name: "compute",
    workerModule: opts.workerModule ?? new URL("./compute-worker.js", import.meta.url),
  };
}
