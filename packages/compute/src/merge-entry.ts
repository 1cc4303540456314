/**
 * `@mzts/compute/merge` — the main thread's merge of the workers' responses and its metrics,
 * without the rest of the package (rendering, persist, logging: the workers' work). clusterd's
 * main thread loads this, not the root, while its workers start (issue 16, rehydration).
 */
export {
  type ComputeMergerOptions,
  ComputeResponseMerger,
  computeMergerFactory,
  OVERDUE_DETAILS,
  type OverduePeeks,
} from "./merge.js";
export { ComputeMetrics } from "./metrics.js";
export { OVERDUE_PEEK_MS } from "./overdue-peeks.js";
