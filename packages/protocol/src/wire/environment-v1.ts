/** Every generated message, enum and service of proto package `mz.environment.v1`. */
export * from "../gen/mz/environment/v1/environment_pb.js";
export * from "../gen/mz/environment/v1/service_pb.js";
