/** Every generated message, enum and service of proto package `mz.cluster.v1`. */
export * from "../gen/mz/cluster/v1/cluster_pb.js";
export * from "../gen/mz/cluster/v1/control_frames_pb.js";
export * from "../gen/mz/cluster/v1/error_pb.js";
export * from "../gen/mz/cluster/v1/hello_pb.js";
