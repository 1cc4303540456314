/**
 * `@mzts/mz-cluster/logging` — phase 2 (*logging*): the introspection events every workload
 * raises, and the per-worker logging contract (`LoggingHost`) that compute's legacy logging and
 * the unified logging dataflows both implement.
 */
export {
  type ComputeLogEvent,
  type EventLogger,
  type ExportKind,
  type LogEvent,
  type LogEventBody,
  NO_LOGGER,
  type StorageLogEvent,
} from "./events.js";
export { LOG_RETENTION_MS, type LoggingHost, type LogIndex } from "./host.js";
