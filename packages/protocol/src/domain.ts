/**
 * `@mzts/protocol/domain` — the protocol's plain-data helpers without its codecs: log truncation,
 * the consolidation check of subscribe batches, the introspection relations and the load
 * generators' outputs. The package root also builds the protobuf registry of every schema
 * (`gen/`, ~130 modules and ~200 ms of CPU per thread), which worker threads never use: they get
 * commands as structured clones. Worker-side code imports this entry (issue 16, rehydration: each
 * worker thread of a restarting replica loads its own modules before the replica serves).
 * `domain.test.ts` guards that it stays codec-free.
 */
// Worker threads read the commands forwarded to them as bytes (issue 16).
export { decodeForwardedCommand } from "./codec/forwarded-commands.js";
// …and encode their peek answers' rows before they cross back (issue 16).
export { framePeekAnswers } from "./codec/peek-answer-frames.js";
export { isStrictlyConsolidated } from "./compute/consolidated-runs.js";
export {
  durationBucket,
  INTROSPECTION_SCHEMA,
  LOG_RELATIONS,
  type LogColumn,
  type LogRelation,
  type LogScope,
  type LogWorkload,
  logRelation,
  logTime,
  relationsOfScope,
} from "./introspection/relations.js";
export { MAX_LOGGED_STRING_CHARS, truncateForLog } from "./limits.js";
export {
  AUCTION_OUTPUTS,
  COUNTER_OUTPUTS,
  type ColumnSpec,
  LOAD_GENERATOR_OUTPUTS,
  type LoadGeneratorKind,
  type LoadGeneratorOutput,
} from "./storage/load-generator-outputs.js";
