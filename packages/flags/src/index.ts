/**
 * @mzts/flags — the five cluster-unification phase flags, evaluated per cluster on LaunchDarkly's
 * server SDK (or a local flags file through the SDK's file data source), resolved against the
 * prerequisite graph into immutable `PhaseSet` snapshots. Composition roots (clusterd,
 * environmentd) call this package; nothing below them reads flags (style §16).
 */

export { CLUSTER_CONTEXT_KIND, clusterContext, ENVIRONMENT_CONTEXT_KIND } from "./context.js";
export {
  FlagEvaluationFailed,
  FlagsError,
  FlagsLifecycleError,
  FlagsUnavailable,
  InvalidClusterId,
  InvalidFlagsConfig,
  InvalidPhaseSet,
  MalformedFlagsFile,
  MissingFlagsFile,
  WrongFlagType,
} from "./errors.js";
// internal — no semver
/** @internal */
export { type FlagsFileContents, parseFlagsFile, readFlagsFile } from "./flags-file.js";
export {
  FLAGS_ERRORS_METRIC,
  PHASE_BLOCKED_METRIC,
  PHASE_ENABLED_METRIC,
  PHASE_NO_EFFECT_METRIC,
  PHASE_STAGE_METRIC,
} from "./metrics.js";
// The keys and PhaseSet (also `@mzts/flags/phases`, without the provider).
export * from "./phases.js";
export {
  type ComparisonObservation,
  createPhaseFlags,
  type PhaseFlags,
  type PhaseFlagsOptions,
  type PhaseSetListener,
} from "./provider.js";
export {
  authoritativePath,
  comparesPaths,
  isMigrating,
  isPhaseFlagValue,
  isStage,
  type PhaseFlagValue,
  type PhasePath,
  STAGES,
  type Stage,
  stageOf,
} from "./stages.js";
