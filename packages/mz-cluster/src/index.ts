/**
 * @mzts/mz-cluster — the unified cluster runtime: worker threads, one total order of commands
 * (the sequencer, led from the main thread), an optional async preparation task, connection nonces.
 * Serving (Connect, hello and fencing) and response merging build on top of this. The worker
 * mesh and the dataflow exchange over it (`communication/`) are public too: the legacy runtimes
 * and the workloads build on them.
 */

export { AsyncQueue } from "./async-queue.js";
export {
  type ClusterStreamHandlerOptions,
  createClusterStreamHandler,
  type SubProtocol,
} from "./cluster-stream.js";
export {
  ConnectionSuperseded,
  ControllerConnection,
  ControllerConnections,
  type ControllerConnectionsOptions,
  type HelloInfo,
  HelloUnauthenticated,
  ProtocolViolation,
  type Stage,
  type ViolationCode,
} from "./controller-connections.js";
export {
  type ControllerServer,
  type ControllerServerOptions,
  listenControllerServer,
  type TransportCounts,
} from "./controller-server.js";
export { SequencerClosed, SequencerProtocolError } from "./errors.js";
export type { ForwardRuntimeLogging, HostRuntimeLogging } from "./logging/runtime-logging.js";
// What worker threads build on (also `@mzts/mz-cluster/runtime`): one list, `runtime-entry.ts`.
export * from "./runtime-entry.js";
export { createRuntimeSessions, type ResponseMerger } from "./runtime-session.js";
export {
  CONTROLLER_STREAM_SERVER_OPTIONS,
  type CommandClass,
  createStreamHandler,
  type StreamCodec,
  type StreamHandlerOptions,
  type StreamSession,
  toConnectError,
} from "./server.js";
export { computeStreamCodec, storageStreamCodec } from "./stream-codecs.js";
export {
  type Sequenced,
  Sequencer,
  type SequencerMessage,
  type SequencerSend,
} from "./synchronization/sequencer.js";
// internal — no semver
/** @internal A test controller of the unified cluster stream (clusterd's tests use it). */
export {
  openClusterStream,
  type TestClusterStream,
} from "./testing/cluster-stream-client.js";
/** @internal A tiny workload for runtime tests and benchmarks. */
export type { EchoCommand, EchoResponse } from "./testing/echo-worker.js";
export type { ForwardingStats } from "./worker/messages.js";
