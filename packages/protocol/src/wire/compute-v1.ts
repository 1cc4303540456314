/** Every generated message and service of proto package `mz.compute.v1`. */
export * from "../gen/mz/compute/v1/command_pb.js";
export * from "../gen/mz/compute/v1/control_frames_pb.js";
export * from "../gen/mz/compute/v1/dataflow_pb.js";
export * from "../gen/mz/compute/v1/peek_pb.js";
export * from "../gen/mz/compute/v1/response_pb.js";
export * from "../gen/mz/compute/v1/service_pb.js";
