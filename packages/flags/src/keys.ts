/**
 * The five cluster-unification phases: their names, LaunchDarkly flag keys and prerequisite graph.
 *
 * Invariants:
 * - `PHASES` is in dependency order: every phase comes after all of its prerequisites, so one
 *   pass over `PHASES` resolves the graph (`resolvePhases` relies on this; a test checks it).
 * - The graph is acyclic and closed under `PHASES` (every prerequisite is itself a phase).
 * - `PREREQUISITES` lists direct prerequisites only; the transitive closure (state needs servers
 *   and replicas through client) follows from "in force" being defined recursively.
 */

/** The phases, in dependency order (see `shared/design.md` §7). */
export const PHASES = ["servers", "replicas", "logging", "client", "state"] as const;

/** One cluster-unification phase. */
export type Phase = (typeof PHASES)[number];

/** LaunchDarkly flag key of each phase. */
export const FLAG_KEYS: { readonly [P in Phase]: `cluster-unification-${P}` } = Object.freeze({
  servers: "cluster-unification-servers",
  replicas: "cluster-unification-replicas",
  logging: "cluster-unification-logging",
  client: "cluster-unification-client",
  state: "cluster-unification-state",
});

/** A flag key of one of the phases. */
export type PhaseFlagKey = (typeof FLAG_KEYS)[Phase];

/**
 * Direct prerequisites of each phase: logging needs servers; client needs servers and replicas;
 * state needs client (and so, transitively, servers and replicas); servers and replicas need
 * nothing.
 */
export const PREREQUISITES: { readonly [P in Phase]: readonly Phase[] } = Object.freeze({
  servers: Object.freeze([]),
  replicas: Object.freeze([]),
  logging: Object.freeze(["servers"] as const),
  client: Object.freeze(["servers", "replicas"] as const),
  state: Object.freeze(["client"] as const),
});

/**
 * The phases whose unified code exists in this build. A phase that is not built is accepted (its
 * flag may be on) and reported as having no effect. Grows as phases land.
 */
export const BUILT_PHASES: readonly Phase[] = Object.freeze([
  "servers",
  "replicas",
  "logging",
  "client",
  "state",
]);

/**
 * Phases clusterd reads at replica start (servers, logging, client): what a replica process
 * serves. The others (replicas, state) are read when a cluster's controllers are built, so a
 * running replica serves both of their paths and never needs replacing for them.
 */
export const SERVER_SIDE_PHASES: readonly Phase[] = Object.freeze(["servers", "logging", "client"]);
/** Phases read when a cluster's controllers are built (environmentd's side). */
export const CONTROLLER_SIDE_PHASES: readonly Phase[] = Object.freeze(["replicas", "state"]);

const PHASE_BY_KEY: ReadonlyMap<string, Phase> = new Map(PHASES.map((p) => [FLAG_KEYS[p], p]));

/** Whether `value` names a phase. */
export function isPhase(value: unknown): value is Phase {
  return typeof value === "string" && (PHASES as readonly string[]).includes(value);
}

/** The phase whose flag key is `key`, or `undefined` for any other flag. */
export function phaseOfFlagKey(key: string): Phase | undefined {
  return PHASE_BY_KEY.get(key);
}
