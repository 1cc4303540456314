/**
 * @mzts/compute-client — the compute controller side (legacy path). So far: the reducing command
 * history replayed to every new or rehydrated replica, its metrics, and the package's errors.
 */

export {
  ComputeCommandHistory,
  dataflowExportIds,
} from "./command-history.js";
export {
  CompactionRegression,
  ControllerError,
  DuplicateInstanceCommand,
  DuplicatePeek,
  MetricsConflict,
} from "./errors.js";
export { HISTORY_COMMAND_COUNT, HISTORY_DATAFLOW_COUNT } from "./metrics.js";
