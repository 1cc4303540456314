/**
 * @mzts/protocol — the compute, storage and unified cluster protocols: domain command and
 * response types over `@mzts/repr`/`@mzts/expr`, their validating protobuf codecs, the hello
 * (fencing) helpers, and the per-process merge of worker responses.
 *
 * Transport code gets the generated schemas and service descriptors from `@mzts/protocol/wire`.
 */

export {
  type ClusterCommand,
  type ClusterResponse,
  checkClusterHellos,
  clusterCommandFromProto,
  clusterCommandToProto,
  clusterRequestFromProto,
  clusterRequestToProto,
  clusterResponseFromProto,
  clusterResponsesFromProto,
  clusterResponsesToProto,
  clusterResponseToProto,
  decodeClusterCommand,
  decodeClusterResponse,
  encodeClusterCommand,
  encodeClusterResponse,
} from "./cluster/cluster-command.js";
export {
  type CommandError,
  ERROR_CODES,
  type ErrorCode,
} from "./cluster/command-error.js";
export {
  clusterCommandFrame,
  clusterRequestFrames,
  clusterResponsesFromFrames,
  parseClusterResponseFrames,
} from "./cluster/control-frames.js";
export {
  BUILD_VERSION,
  checkHello,
  createHello,
  HELLO_PROOF_BYTES,
  type Hello,
  PROTOCOL_VERSION,
} from "./cluster/hello.js";
export {
  formatReplicaSecret,
  generateReplicaSecret,
  type HelloProofCheck,
  type HelloStream,
  helloProof,
  InvalidReplicaSecret,
  parseReplicaSecret,
  REPLICA_SECRET_BYTES,
  signHello,
  verifyHelloProof,
} from "./cluster/hello-auth.js";
export {
  type HelloRefusal,
  HIGHEST_GENERATION_TRAILER,
  helloRefusalOf,
  REFUSAL_TRAILER,
} from "./cluster/hello-refusal.js";
export { SHARD_ID } from "./codec/field.js";
export {
  decodeForwardedCommand,
  forwardedFrame,
} from "./codec/forwarded-commands.js";
// Peek answers encoded on the workers, passed through the merge (issue 16).
export {
  FramedPeekResponse,
  framePeekAnswers,
  isPeekRowsFrame,
  type PeekRowsFrame,
  peekResponseFrame,
  peekRowsOfFrame,
} from "./codec/peek-answer-frames.js";
export { clusterRequestFromFrames, computeRequestFromFrames } from "./codec/request-frames.js";
export {
  clusterResponsesFramed,
  computeResponsesFramed,
  storageResponsesFramed,
} from "./codec/response-frames.js";
// Bulk row encoding version.
export { ROW_FORMAT_VERSION } from "./codec/row-batch-codec.js";
export {
  computeCommandFromProto,
  computeCommandToProto,
  computeRequestFromProto,
  computeRequestToProto,
  computeResponseFromProto,
  computeResponsesFromProto,
  computeResponsesToProto,
  computeResponseToProto,
  decodeComputeCommand,
  decodeComputeResponse,
  encodeComputeCommand,
  encodeComputeResponse,
} from "./compute/codec.js";
export {
  type BuildDesc,
  COMPUTE_COMMAND_KINDS,
  type ComputeCommand,
  type ComputeCommandKind,
  type ComputeParameters,
  type DataflowDescription,
  type IndexExport,
  type IndexImport,
  type InstanceConfig,
  type LoggingConfig,
  type MapFilterProject,
  type Peek,
  type PeekTarget,
  type RowSetFinishing,
  type SinkConnection,
  type SinkExport,
  type SourceImport,
} from "./compute/command.js";
// Compute: commands, responses, codec, response merge, the controller's command history.
export {
  ComputeCommandHistory,
  type ComputeHistoryMetrics,
  dataflowExportIds,
} from "./compute/command-history.js";
export {
  computeCommandFrame,
  computeRequestFrames,
  computeResponsesFromFrames,
  parseResponseFrames,
} from "./compute/control-frames.js";
export { maxResultSizeError, PartitionedComputeState } from "./compute/partitioned-state.js";
export { skippablePeekUuid } from "./compute/peek-answer-scan.js";
export { buildPeek, type PeekSpec } from "./compute/peek-command.js";
export type {
  CollectionHydration,
  ComputeResponse,
  ComputeResponseKind,
  FrontiersUpdate,
  PeekResponse,
  SubscribeBatchResult,
  SubscribeResponse,
} from "./compute/response.js";
// Environment API (environmentd's public EnvironmentService): requests, responses, codecs.
export type {
  ClusterFlags,
  ClusterInfo,
  ClusterStatus,
  CollectionStatus,
  ColumnInfo,
  ControllerPath,
  CreateClusterRequest,
  CreatedObject,
  CreateIndexRequest,
  CreateMaterializedViewRequest,
  CreateReplicaRequest,
  CreateSourceRequest,
  CreateSourceResponse,
  DropClusterRequest,
  DropObjectRequest,
  DropReplicaRequest,
  EnvironmentRequest,
  EnvironmentRpc,
  FlagState,
  FlipStatus,
  GetFlagsRequest,
  GetFlagsResponse,
  ListClustersRequest,
  ListClustersResponse,
  ListObjectsRequest,
  ListObjectsResponse,
  MigrationPath,
  MigrationStatus,
  ObjectInfo,
  ObjectKind,
  PathLatency,
  PeekRequest,
  PeekResponse as EnvironmentPeekResponse,
  ReplicaHealth,
  ReplicaInfo,
  ReplicaStatus,
  StatusRequest,
  StatusResponse,
  SubscribeRequest,
  SubscribeResponse as EnvironmentSubscribeResponse,
} from "./environment/api.js";
export {
  introspectionObjectName,
  isIntrospectionObjectName,
  isObjectName,
  MAX_NAME_LENGTH,
  objectKindPhrase,
} from "./environment/api.js";
export {
  checkPeekColumns,
  type EnvironmentCodec,
  environmentCodecs,
  OBJECT_KINDS,
  REPLICA_HEALTHS,
} from "./environment/codec.js";
export { MalformedApiResponse, MalformedRequest } from "./environment/errors.js";
export { peekRequestFromBinary } from "./environment/peek-request-binary.js";
export { peekResponseToBinary } from "./environment/peek-response-binary.js";
// Errors.
export {
  CommandHistoryError,
  CompactionRegression,
  DuplicateInstanceCommand,
  DuplicatePeek,
  type GenerationAuthority,
  type HelloFields,
  HelloMismatch,
  MalformedCommand,
  MalformedResponse,
  ProtocolError,
  type ProtocolName,
  ProtocolVersionMismatch,
  StaleGeneration,
} from "./errors.js";
// Hello, fencing, the shared in-band error and the unified cluster stream.
export { grpcEnvelope } from "./grpc-envelope.js";
export {
  DEFAULT_INTROSPECTION_INTERVAL_MS,
  introspectionIntervalProblem,
  MAX_INTROSPECTION_INTERVAL_MS,
  MIN_INTROSPECTION_INTERVAL_MS,
} from "./introspection/interval.js";
export {
  CONTROLLER_CLIENT_TRANSPORT_OPTIONS,
  MAX_API_MESSAGE_BYTES,
  MAX_COMMAND_MESSAGE_BYTES,
  MAX_RESPONSE_MESSAGE_BYTES,
} from "./limits.js";
export {
  decodeStorageCommand,
  decodeStorageResponse,
  encodeStorageCommand,
  encodeStorageResponse,
  OBJECT_STATUSES,
  storageCommandFromProto,
  storageCommandToProto,
  storageRequestFromProto,
  storageRequestToProto,
  storageResponseFromProto,
  storageResponsesFromProto,
  storageResponsesToProto,
  storageResponseToProto,
} from "./storage/codec.js";
export {
  type DeterministicMode,
  type IngestionConnection,
  type IngestionDescription,
  type LoadGenerator,
  type SinkDescription,
  type SourceExport,
  STORAGE_COMMAND_KINDS,
  type StorageCommand,
  type StorageCommandKind,
  type StorageSinkConnection,
} from "./storage/command.js";
// Storage: commands, responses, codec, response merge, the controller's command history.
export {
  ingestionCollectionIds,
  StorageCommandHistory,
  type StorageCommandHistoryOptions,
  type StorageHistoryMetrics,
} from "./storage/command-history.js";
export { PartitionedStorageState } from "./storage/partitioned-state.js";
export type {
  ObjectStatus,
  SinkStatistics,
  SourceStatistics,
  StatusUpdate,
  StorageResponse,
  StorageResponseKind,
} from "./storage/response.js";

// ---------------------------------------------------------------------------------------------
// Internal — no semver. Shared codec pieces for sibling packages' tests and tools.

/** @internal */
export { datumFromProto, datumToProto, rowFromProto, rowToProto } from "./codec/datum-codec.js";
/** @internal */
export { frontierFromProto, frontierToProto } from "./codec/frontier-codec.js";
/** @internal */
export { planEncodedBytes, planFromProto, planToProto } from "./codec/plan-codec.js";
/** @internal */
export {
  rowBatchFromProto,
  rowBatchToProto,
  updateBatchFromProto,
  updateBatchToProto,
} from "./codec/row-batch-codec.js";
// The plain-data helpers (relations, log limits, load generator outputs): one list, `domain.ts`.
export * from "./domain.js";
/** @internal */
export { FieldError } from "./errors.js";
