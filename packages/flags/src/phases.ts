/**
 * `@mzts/flags/phases`: the phase keys and `PhaseSet` alone, without the LaunchDarkly provider —
 * for processes that only parse and read a PhaseSet they were handed (clusterd). Importing the
 * package root loads the LaunchDarkly server SDK (~240 ms of CPU at process start, about 40 % of
 * clusterd's main-thread module loading), which a restarted replica pays before it can serve
 * (issue 16, rehydration).
 */
export { InvalidPhaseSet } from "./errors.js";
export {
  BUILT_PHASES,
  CONTROLLER_SIDE_PHASES,
  FLAG_KEYS,
  isPhase,
  PHASES,
  type Phase,
  type PhaseFlagKey,
  PREREQUISITES,
  phaseOfFlagKey,
  SERVER_SIDE_PHASES,
} from "./keys.js";
export {
  type PhaseFlags as PhaseBooleans,
  type PhaseResolution,
  PhaseSet,
  type PhaseSetJson,
  resolvePhases,
} from "./phase-set.js";
