/**
 * `@mzts/compute/peek`: how a peek's rows are finished — map/filter/project, consolidation and
 * pre-limit of one read (`finishPart`), and the full ORDER BY / OFFSET / LIMIT / projection
 * (`applyFinishing`). A subpath without the rest of compute (no runtime, no mz-cluster), so a
 * controller answering a peek itself (environmentd's persisted introspection) finishes rows
 * exactly as a replica does.
 */
export { applyFinishing, preLimit } from "./finishing.js";
export { finishPart } from "./peek.js";
