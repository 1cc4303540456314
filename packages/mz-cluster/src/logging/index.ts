/**
 * `@mzts/mz-cluster/logging` — phase 2 (*logging*): the introspection events every workload
 * raises, the per-worker logging contract (`LoggingHost`) that compute's legacy logging and
 * the unified logging dataflows both implement, and the unified implementation: the hosting
 * `UnifiedLoggingHost` (logging dataflows) and the `ForwardingHost` of workloads whose events
 * another runtime hosts.
 */
export {
  type ComputeEventLogger,
  type ComputeLogEvent,
  type EventLogger,
  type ExportKind,
  eventLogger,
  type LogEvent,
  type LogEventBody,
  NO_LOGGER,
  type StorageLogEvent,
} from "./events.js";
export { ForwardingHost, type ForwardingHostOptions, routeLogEvents } from "./forwarder.js";
export { HeldDataflows } from "./held-dataflows.js";
export { LOG_RETENTION_MS, type LoggingHost, type LogIndex } from "./host.js";
export { LogFeeds, type LogIndexFeed } from "./log-feeds.js";
export { bucketOf } from "./peek-updates.js";
export { DataflowRowKeys, type KeyCell, type RowKeyer } from "./row-keys.js";
export type {
  ForwardRuntimeLogging,
  HostRuntimeLogging,
  RuntimeLogging,
} from "./runtime-logging.js";
export {
  type LoggingDemand,
  type LoggingStats,
  UnifiedLoggingHost,
  type UnifiedLoggingHostOptions,
} from "./unified-host.js";
