/**
 * `@mzts/protocol/wire`: the generated protobuf-es schemas and service descriptors, for transport
 * code only (Connect servers and clients). Everything else uses the domain types and codecs of
 * the main entry point.
 *
 * Services are exported by name; message schemas per proto package as namespaces (`computeV1`,
 * `storageV1`, …), because the compute and storage packages reuse message names
 * (`ControlRequest`, `AllowCompaction`, …).
 */

export { ClusterFramesService } from "./cluster/control-frames.js";
export {
  ClusterServerFramesService,
  ComputeServerFramesService,
} from "./codec/server-frames-service.js";
export { ComputeFramesService } from "./compute/control-frames.js";
export { ClusterService } from "./gen/mz/cluster/v1/cluster_pb.js";
export { ComputeService } from "./gen/mz/compute/v1/service_pb.js";
export { EnvironmentService } from "./gen/mz/environment/v1/service_pb.js";
export { StorageService } from "./gen/mz/storage/v1/service_pb.js";
export { LivenessProbe, type LivenessTuning } from "./liveness.js";
export * as clusterV1 from "./wire/cluster-v1.js";
export * as computeV1 from "./wire/compute-v1.js";
export * as environmentV1 from "./wire/environment-v1.js";
export * as exprV1 from "./wire/expr-v1.js";
export * as reprV1 from "./wire/repr-v1.js";
export * as storageV1 from "./wire/storage-v1.js";
