/** Every generated message of proto package `mz.repr.v1` (frontiers, datums, rows, batches). */
export * from "../gen/mz/repr/v1/repr_pb.js";
