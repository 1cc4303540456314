/**
 * Poison-command quarantine: the rule (a command that made one replica fail twice within the
 * window is not replayed again) lives in `@mzts/controller-unified/state`
 * (`poison-quarantine.ts`), shared with the unified cluster controller; see there for the rules.
 */
export {
  PoisonQuarantine,
  QUARANTINE_STRIKES,
  type Quarantined,
  SUSPECT_WINDOW_MS,
} from "@mzts/controller-unified/state";
