/** Every generated message, enum and service of proto package `mz.storage.v1`. */
export * from "../gen/mz/storage/v1/command_pb.js";
export * from "../gen/mz/storage/v1/ingestion_pb.js";
export * from "../gen/mz/storage/v1/response_pb.js";
export * from "../gen/mz/storage/v1/service_pb.js";
