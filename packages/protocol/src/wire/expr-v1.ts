/** Every generated message and enum of proto package `mz.expr.v1` (plans and expressions). */
export * from "../gen/mz/expr/v1/expr_pb.js";
