/**
 * `PhaseSet`: the immutable snapshot of which cluster-unification phases are in force for one
 * cluster, and `resolvePhases`, the pure function that computes it from raw flag booleans.
 *
 * ## Rules (shared/design.md §7)
 * - A phase is **in force** iff its flag is on and every prerequisite is in force (recursively).
 * - A phase is **blocked** iff its flag is on and it is not in force. `blocked[p]` lists p's
 *   direct prerequisites that are not in force (for `state` with `client` blocked: `["client"]`).
 *   A blocked phase is never half-enabled: `has(p)` is false.
 * - A phase has **no effect** iff it is in force but its unified code is not built yet
 *   (`builtPhases`). It stays in force, so its dependants resolve as they will once it is built
 *   and the snapshot does not change meaning when it lands; composition roots use
 *   `takesEffect(p)` when they need "in force and built".
 * - So every phase whose flag is on is exactly one of: in force and built (takes effect), in force
 *   but not built (no effect), or blocked. A flag that is off (or absent) is none of these.
 *
 * ## Migration stages (`stages.ts`, docs/design/20261207_migration_stages.md)
 * A flag may also be a stage: `false` is `off`, `true` is `complete`. Only `complete` is "on" in
 * the sense above (in force). A middle stage (`dualwrite`, `shadow`, `live`, `rampdown`) makes
 * the phase **migrating** when every prerequisite is in force, else blocked like an on flag; a
 * migrating phase is not in force, so its dependants stay blocked until it is complete. A
 * migrating phase whose code is not built is listed in `noEffect` too.
 * Both paths run side by side on a cluster's replicas, split by slot (environmentd's
 * `environment/stages/`: a replica on a slot runs `forSlot(slot)`); `path(p)` is the
 * authoritative path (legacy in dualwrite/shadow, unified in live/rampdown), what the cluster as
 * a whole runs, and `takesEffect(p)` is "runs the unified path".
 *
 * ## Serialisation
 * `JSON.stringify(set)` gives `{clusterId, flagsOn, inForce, blocked, noEffect}`, plus `stages`
 * only when some phase is in a middle stage (so a PhaseSet of booleans keeps its form);
 * `PhaseSet.parse` accepts exactly that and re-derives `inForce`/`blocked` from `flagsOn` (and
 * `stages`), rejecting (with `InvalidPhaseSet`) anything inconsistent, so a child process can
 * trust what it is handed.
 */
import { InvalidPhaseSet } from "./errors.js";
import { BUILT_PHASES, isPhase, PHASES, type Phase, PREREQUISITES } from "./keys.js";
import {
  authoritativePath,
  isMigrating,
  isStage,
  type PhaseFlagValue,
  type PhasePath,
  type Stage,
  stageOf,
} from "./stages.js";

/** A boolean per phase. */
export type PhaseFlags = { readonly [P in Phase]: boolean };

/** What `resolvePhases` derives from raw flag values. Frozen. */
export interface PhaseResolution {
  /** Whether each phase's flag is `true`/`complete` (absent = off; a middle stage is not on). */
  readonly flagsOn: PhaseFlags;
  /** Each phase's stage (`true` = complete, `false` or absent = off). */
  readonly stages: { readonly [P in Phase]: Stage };
  /** Phases in a middle stage whose prerequisites are in force, in `PHASES` order. */
  readonly migrating: readonly Phase[];
  /** Whether each phase is in force. */
  readonly inForce: PhaseFlags;
  /** Each phase that is on but blocked → its direct prerequisites that are not in force. */
  readonly blocked: { readonly [P in Phase]?: readonly Phase[] };
  /** Phases in force or migrating whose code is not built, in `PHASES` order. */
  readonly noEffect: readonly Phase[];
}

/**
 * Computes in force / blocked / no effect from raw flag values. Pure and total: a missing entry
 * means off.
 *
 * @param flags the flag value of each phase (a boolean or a stage); absent means off.
 * @param builtPhases the phases whose unified code exists (default `BUILT_PHASES`).
 */
export function resolvePhases(
  flags: { readonly [P in Phase]?: PhaseFlagValue },
  builtPhases: readonly Phase[] = BUILT_PHASES,
): PhaseResolution {
  const flagsOn = {} as Record<Phase, boolean>;
  const stages = {} as Record<Phase, Stage>;
  const inForce = {} as Record<Phase, boolean>;
  const blocked: { [P in Phase]?: readonly Phase[] } = {};
  const migrating: Phase[] = [];
  const noEffect: Phase[] = [];
  // PHASES is in dependency order, so every prerequisite is resolved before its dependants.
  for (const phase of PHASES) {
    const value = flags[phase];
    const stage = isStage(value) || typeof value === "boolean" ? stageOf(value) : "off";
    const on = stage === "complete";
    const middle = isMigrating(stage);
    const missing = PREREQUISITES[phase].filter((p) => !inForce[p]);
    stages[phase] = stage;
    flagsOn[phase] = on;
    inForce[phase] = on && missing.length === 0;
    if ((on || middle) && missing.length > 0) blocked[phase] = Object.freeze(missing);
    if (middle && missing.length === 0) migrating.push(phase);
    const running = inForce[phase] || (middle && missing.length === 0);
    if (running && !builtPhases.includes(phase)) noEffect.push(phase);
  }
  return Object.freeze({
    flagsOn: Object.freeze(flagsOn),
    stages: Object.freeze(stages),
    migrating: Object.freeze(migrating),
    inForce: Object.freeze(inForce),
    blocked: Object.freeze(blocked),
    noEffect: Object.freeze(noEffect),
  });
}

/** The JSON form of a `PhaseSet`. */
export interface PhaseSetJson {
  clusterId: string;
  flagsOn: Record<Phase, boolean>;
  inForce: Record<Phase, boolean>;
  blocked: { [P in Phase]?: Phase[] };
  noEffect: Phase[];
  /** Present only when some phase is in a middle stage. */
  stages?: Record<Phase, Stage>;
}

const construct = Symbol("PhaseSet.construct");

/** The phases of one cluster: an immutable, comparable, serialisable snapshot. */
export class PhaseSet implements PhaseResolution {
  /** The cluster this snapshot is for. */
  readonly clusterId: string;
  readonly flagsOn: PhaseFlags;
  readonly stages: { readonly [P in Phase]: Stage };
  readonly migrating: readonly Phase[];
  readonly inForce: PhaseFlags;
  readonly blocked: { readonly [P in Phase]?: readonly Phase[] };
  readonly noEffect: readonly Phase[];

  /** @internal use `PhaseSet.of`, `PhaseSet.parse` or `createPhaseFlags().phases()`. */
  constructor(token: typeof construct, clusterId: string, resolution: PhaseResolution) {
    if (token !== construct) throw new TypeError("use PhaseSet.of() or PhaseSet.parse()");
    this.clusterId = clusterId;
    this.flagsOn = resolution.flagsOn;
    this.stages = resolution.stages;
    this.migrating = resolution.migrating;
    this.inForce = resolution.inForce;
    this.blocked = resolution.blocked;
    this.noEffect = resolution.noEffect;
    Object.freeze(this);
  }

  /**
   * The PhaseSet of `clusterId` for raw flag values (absent = off). Tests and composition roots
   * that do not read flags use this to inject a PhaseSet.
   */
  static of(
    clusterId: string,
    flags: { readonly [P in Phase]?: PhaseFlagValue } = {},
    builtPhases: readonly Phase[] = BUILT_PHASES,
  ): PhaseSet {
    return new PhaseSet(construct, clusterId, resolvePhases(flags, builtPhases));
  }

  /**
   * Parses the JSON text produced by `JSON.stringify(phaseSet)`.
   *
   * @throws InvalidPhaseSet when the text is not JSON, not of that shape, or inconsistent (e.g.
   *   a phase in force whose prerequisite is not).
   */
  static parse(text: string): PhaseSet {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (e) {
      throw new InvalidPhaseSet(`not JSON (${e instanceof Error ? e.message : String(e)})`);
    }
    return PhaseSet.fromJSON(value);
  }

  /**
   * Validates an already-parsed JSON value (see `parse`).
   *
   * @throws InvalidPhaseSet as `parse`.
   */
  static fromJSON(value: unknown): PhaseSet {
    const obj = record(value, "the top level");
    const keys = Object.keys(obj).sort().join(",");
    if (
      keys !== "blocked,clusterId,flagsOn,inForce,noEffect" &&
      keys !== "blocked,clusterId,flagsOn,inForce,noEffect,stages"
    ) {
      throw new InvalidPhaseSet(
        `expected exactly the fields blocked, clusterId, flagsOn, inForce, noEffect (and stages); got ${keys || "none"}`,
      );
    }
    const clusterId = obj.clusterId;
    if (typeof clusterId !== "string" || clusterId === "") {
      throw new InvalidPhaseSet("clusterId must be a non-empty string");
    }
    const flagsOn = phaseBooleans(obj.flagsOn, "flagsOn");
    const stagesIn = obj.stages === undefined ? undefined : phaseStages(obj.stages);
    const inForce = phaseBooleans(obj.inForce, "inForce");
    const noEffect = phaseList(obj.noEffect, "noEffect");
    const blockedIn = record(obj.blocked, "blocked");
    if (stagesIn !== undefined) {
      for (const phase of PHASES) {
        if (flagsOn[phase] !== (stagesIn[phase] === "complete")) {
          throw new InvalidPhaseSet(
            `flagsOn.${phase} is ${flagsOn[phase]} but stages.${phase} is ${stagesIn[phase]}`,
          );
        }
      }
      if (!PHASES.some((p) => isMigrating(stagesIn[p]))) {
        throw new InvalidPhaseSet("stages is written only when some phase is in a middle stage");
      }
    }
    const flags = stagesIn ?? flagsOn;
    const running = resolvePhases(flags, PHASES);
    for (const phase of noEffect) {
      if (!running.inForce[phase] && !running.migrating.includes(phase))
        throw new InvalidPhaseSet(
          `noEffect lists ${phase}, which is neither in force nor migrating`,
        );
    }
    // noEffect ⊆ in force or migrating, so "built = every phase not in noEffect" reproduces it.
    const resolution = resolvePhases(
      flags,
      PHASES.filter((p) => !noEffect.includes(p)),
    );
    for (const phase of PHASES) {
      if (resolution.inForce[phase] !== inForce[phase]) {
        throw new InvalidPhaseSet(
          `inForce.${phase} is ${inForce[phase]} but the flags and prerequisites make it ${resolution.inForce[phase]}`,
        );
      }
    }
    for (const key of Object.keys(blockedIn)) {
      if (!isPhase(key))
        throw new InvalidPhaseSet(`blocked has an unknown phase ${JSON.stringify(key)}`);
    }
    for (const phase of PHASES) {
      const expected = resolution.blocked[phase];
      const given =
        blockedIn[phase] === undefined
          ? undefined
          : phaseList(blockedIn[phase], `blocked.${phase}`);
      if (!sameList(given, expected)) {
        throw new InvalidPhaseSet(
          `blocked.${phase} is ${JSON.stringify(given ?? null)} but the flags and prerequisites make it ${JSON.stringify(expected ?? null)}`,
        );
      }
    }
    return new PhaseSet(construct, clusterId, resolution);
  }

  /** Whether `phase` is in force (flag on and all prerequisites in force). */
  has(phase: Phase): boolean {
    return this.inForce[phase];
  }

  /**
   * Whether the unified path of `phase` runs: in force (or migrating with the unified path
   * authoritative, see the file comment) and its code is built, i.e. selecting it changes what
   * runs.
   */
  takesEffect(phase: Phase): boolean {
    return this.path(phase) === "unified";
  }

  /**
   * The path of `phase` a composition root runs: unified when it is in force and built; for a
   * migrating, built phase its stage's authoritative path (a replica of a split cluster runs its
   * slot's, `forSlot`); legacy otherwise.
   */
  path(phase: Phase): PhasePath {
    if (this.noEffect.includes(phase)) return "legacy";
    if (this.inForce[phase]) return "unified";
    if (this.migrating.includes(phase)) return authoritativePath(this.stages[phase]);
    return "legacy";
  }

  /**
   * The PhaseSet a replica on `slot` of a migrating cluster runs and is driven with: every
   * migrating phase resolved to `complete` (unified slot) or `off` (legacy slot), the other
   * phases as they are (docs/design/20261207_migration_stages.md). A PhaseSet with nothing
   * migrating is returned as it is.
   */
  forSlot(slot: PhasePath): PhaseSet {
    if (this.migrating.length === 0) return this;
    const flags = { ...this.stages } as Record<Phase, PhaseFlagValue>;
    for (const p of this.migrating) flags[p] = slot === "unified";
    // Built = every phase not listed as having no effect (noEffect ⊆ in force or migrating).
    return PhaseSet.of(
      this.clusterId,
      flags,
      PHASES.filter((p) => !this.noEffect.includes(p)),
    );
  }

  /** The stage of `phase`'s flag. */
  stage(phase: Phase): Stage {
    return this.stages[phase];
  }

  /** The phases in force, in `PHASES` order. */
  get phases(): readonly Phase[] {
    return PHASES.filter((p) => this.inForce[p]);
  }

  /** Structural equality (cluster, flags, in force, blocked, no effect). */
  equals(other: PhaseSet): boolean {
    if (this === other) return true;
    return (
      this.clusterId === other.clusterId &&
      PHASES.every(
        (p) =>
          this.flagsOn[p] === other.flagsOn[p] &&
          this.stages[p] === other.stages[p] &&
          this.inForce[p] === other.inForce[p] &&
          sameList(this.blocked[p], other.blocked[p]),
      ) &&
      sameList(this.noEffect, other.noEffect) &&
      sameList(this.migrating, other.migrating)
    );
  }

  /** The JSON form (`JSON.stringify(set)` uses it). */
  toJSON(): PhaseSetJson {
    const blocked: { [P in Phase]?: Phase[] } = {};
    for (const p of PHASES) {
      const missing = this.blocked[p];
      if (missing !== undefined) blocked[p] = [...missing];
    }
    const json: PhaseSetJson = {
      clusterId: this.clusterId,
      flagsOn: { ...this.flagsOn },
      inForce: { ...this.inForce },
      blocked,
      noEffect: [...this.noEffect],
    };
    if (PHASES.some((p) => isMigrating(this.stages[p]))) json.stages = { ...this.stages };
    return json;
  }

  /** A one-line summary for logs, e.g. `u1: servers [blocked client←replicas]`. */
  toString(): string {
    const parts = [`${this.clusterId}: ${this.phases.join(", ") || "(none in force)"}`];
    const blocked = PHASES.flatMap((p) => {
      const missing = this.blocked[p];
      return missing === undefined ? [] : [`${p}←${missing.join("+")}`];
    });
    const migrating = this.migrating.map((p) => `${p} ${this.stages[p]}`);
    if (migrating.length > 0) parts.push(`[migrating ${migrating.join(", ")}]`);
    if (blocked.length > 0) parts.push(`[blocked ${blocked.join(", ")}]`);
    if (this.noEffect.length > 0) parts.push(`[no effect ${this.noEffect.join(", ")}]`);
    return parts.join(" ");
  }
}

function record(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new InvalidPhaseSet(`${what} must be an object`);
  }
  return value as Record<string, unknown>;
}

function phaseBooleans(value: unknown, what: string): Record<Phase, boolean> {
  const obj = record(value, what);
  const out = {} as Record<Phase, boolean>;
  for (const key of Object.keys(obj)) {
    if (!isPhase(key))
      throw new InvalidPhaseSet(`${what} has an unknown phase ${JSON.stringify(key)}`);
  }
  for (const phase of PHASES) {
    const v = obj[phase];
    if (typeof v !== "boolean") throw new InvalidPhaseSet(`${what}.${phase} must be a boolean`);
    out[phase] = v;
  }
  return out;
}

function phaseStages(value: unknown): Record<Phase, Stage> {
  const obj = record(value, "stages");
  const out = {} as Record<Phase, Stage>;
  for (const key of Object.keys(obj)) {
    if (!isPhase(key))
      throw new InvalidPhaseSet(`stages has an unknown phase ${JSON.stringify(key)}`);
  }
  for (const phase of PHASES) {
    const v = obj[phase];
    if (!isStage(v)) {
      throw new InvalidPhaseSet(
        `stages.${phase} must be a stage (off, dualwrite, shadow, live, rampdown, complete)`,
      );
    }
    out[phase] = v;
  }
  return out;
}

function phaseList(value: unknown, what: string): Phase[] {
  if (!Array.isArray(value)) throw new InvalidPhaseSet(`${what} must be an array of phases`);
  const out: Phase[] = [];
  for (const v of value) {
    if (!isPhase(v)) throw new InvalidPhaseSet(`${what} has an unknown phase ${JSON.stringify(v)}`);
    if (out.includes(v)) throw new InvalidPhaseSet(`${what} lists ${v} twice`);
    out.push(v);
  }
  return out;
}

function sameList(a: readonly Phase[] | undefined, b: readonly Phase[] | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.length === b.length && a.every((p) => b.includes(p));
}
