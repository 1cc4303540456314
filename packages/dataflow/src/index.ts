/**
 * @mzts/dataflow — the differential dataflow engine: operators over totally ordered bigint
 * times, frontiers per operator output, arrangements with since/upper and compaction, an
 * exchange between W workers, an expression compiler, and `render(plan)` for `@mzts/expr` plans.
 */

export { Arrangement, type EntryRef } from "./arrangement/arrangement.js";
export { Batch } from "./batch.js";
export {
  DataflowError,
  type EvalErrorCode,
  EvaluationError,
  ExchangeMisuse,
  InvalidUpdate,
  NotYetAvailable,
  SinceViolation,
  UnknownImport,
  UpdateBeforeFrontier,
} from "./errors.js";
export {
  type Allocator,
  type Channel,
  createInMemoryExchange,
  type ExchangeMessage,
  InMemoryExchange,
  type InMemoryExchangeOptions,
  type RunWorkersOptions,
  runWorkers,
} from "./exchange.js";
export { type CompiledExpr, compileExpr, compilePredicates } from "./expr/compile.js";
/** @internal */
export { applyBinary, applyUnary, compareValues } from "./expr/functions.js";
export { createGraph, Graph, type GraphOptions, Operator } from "./graph.js";
export { ArrangeByOperator, arrangeBy } from "./operators/arrange-by.js";
export { CaptureOperator, capture } from "./operators/capture.js";
export { ConstantOperator, constant } from "./operators/constant.js";
export { DistinctOperator, distinct } from "./operators/distinct.js";
export { ExchangeOperator, exchange } from "./operators/exchange.js";
export { FilterOperator, filter } from "./operators/filter.js";
export { batchOf, createInput, InputHandle } from "./operators/input.js";
export { JoinOperator, join } from "./operators/join.js";
export type { Key } from "./operators/key.js";
export { MapOperator, map } from "./operators/map.js";
export { compileMfp, MfpOperator, type MfpStep, mfp } from "./operators/mfp.js";
export { NegateOperator, negate } from "./operators/negate.js";
export { ProjectOperator, project } from "./operators/project.js";
export { ReduceOperator, reduce } from "./operators/reduce.js";
/** @internal */
export { RowCountOperator } from "./operators/row-counts.js";
export { ThresholdOperator, threshold } from "./operators/threshold.js";
/** @internal */
export { orderComparator, TopKOperator, topK } from "./operators/top-k.js";
export { UnionOperator, union } from "./operators/union.js";
// ---------------------------------------------------------------------------------------------
// Internal — no semver. Exported for tests, benchmarks and the runtime's own plumbing.
// ---------------------------------------------------------------------------------------------
/** @internal */
export { PendingUpdates, type TimeGroup } from "./pending.js";
export { type Rendered, type RenderOptions, render } from "./render.js";
export { InputPort, type Pipeable, Stream } from "./stream.js";
