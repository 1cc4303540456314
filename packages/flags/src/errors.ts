/**
 * Error classes of `@mzts/flags`: one root (`FlagsError`) and a narrow class per failure.
 *
 * Every error carries structured fields and a message that says what to do next. Errors about
 * flag data (a malformed file, a wrong-typed value) are thrown at startup and, for a running
 * process, recorded (`PhaseFlags.lastError`, a log line, a counter) while the last good values
 * stay in force.
 */

/** Root of every error thrown or recorded by `@mzts/flags`. */
export class FlagsError extends Error {
  override name = "FlagsError";
}

/** The options given to `createPhaseFlags` cannot work (no source, two sources, bad ids). */
export class InvalidFlagsConfig extends FlagsError {
  override name = "InvalidFlagsConfig";
  constructor(
    /** The option at fault. */
    readonly option: string,
    /** What is wrong and what to do. */
    readonly reason: string,
  ) {
    super(`invalid flags option ${option}: ${reason}`);
  }
}

/** The flags file does not exist or cannot be read. */
export class MissingFlagsFile extends FlagsError {
  override name = "MissingFlagsFile";
  constructor(
    readonly file: string,
    /** The operating-system reason (`ENOENT: no such file or directory`, …). */
    readonly reason: string,
    /** Whether it went missing under a running process (rather than at start). */
    readonly whileRunning = false,
  ) {
    super(
      whileRunning
        ? `the flags file ${file} went missing (${reason}); the last good flags stay in force, ` +
            "but the SDK no longer watches the file: restore it and restart the process"
        : `cannot read the flags file ${file} (${reason}); create it — e.g. copy ` +
            "packages/flags/examples/flag-values.json, whose phases are all off — or pass an SDK " +
            "key to read the flags from LaunchDarkly",
    );
  }
}

/** The flags file is not valid JSON or not in one of the SDK's file forms. */
export class MalformedFlagsFile extends FlagsError {
  override name = "MalformedFlagsFile";
  constructor(
    readonly file: string,
    /** What is wrong, e.g. `expected an object at flagValues`. */
    readonly problem: string,
    /** 1-based line of the problem when known. */
    readonly line?: number,
    /** 1-based column of the problem when known. */
    readonly column?: number,
  ) {
    super(
      `malformed flags file ${file}${where(line, column)}: ${problem}; fix the file (forms: ` +
        'packages/flags/README.md, "Flags file forms") — a running process keeps the last ' +
        "good flags until it is valid again",
    );
  }
}

/** A phase flag has a value that is not a boolean. */
export class WrongFlagType extends FlagsError {
  override name = "WrongFlagType";
  constructor(
    /** The flag key, e.g. `cluster-unification-servers`. */
    readonly flagKey: string,
    /** The offending value. */
    readonly value: unknown,
    /** Where it came from: the flags file path or `"data source"`. */
    readonly source: string,
    /** 1-based line of the flag in the file when known. */
    readonly line?: number,
  ) {
    super(
      `flag ${flagKey} in ${source}${where(line, undefined)} has the value ${show(value)} ` +
        "but phase flags are booleans or migration stages; set it to true or false, or to one " +
        'of "off", "shadow", "live", "complete" (or "dualwrite", "rampdown") — the last good ' +
        `value of ${flagKey} stays in force until then`,
    );
  }
}

/** The SDK could not evaluate a phase flag for a cluster (a malformed flag definition, …). */
export class FlagEvaluationFailed extends FlagsError {
  override name = "FlagEvaluationFailed";
  constructor(
    readonly flagKey: string,
    readonly clusterId: string,
    /** The SDK's error kind (`MALFORMED_FLAG`, `EXCEPTION`, …). */
    readonly errorKind: string,
  ) {
    super(
      `flag ${flagKey} could not be evaluated for cluster ${clusterId} (${errorKind}); check ` +
        "the flag's definition (variation indexes, rules) — its last good value stays in force",
    );
  }
}

/** The flag source did not deliver its first data in time. */
export class FlagsUnavailable extends FlagsError {
  override name = "FlagsUnavailable";
  constructor(
    readonly source: string,
    readonly reason: string,
  ) {
    super(
      `flags from ${source} are unavailable (${reason}); check the SDK key and network, or ` +
        "run without an SDK key on a local flags file",
    );
  }
}

/** A method was called in the wrong lifecycle state (before `ready()`, after `close()`). */
export class FlagsLifecycleError extends FlagsError {
  override name = "FlagsLifecycleError";
  constructor(
    readonly method: string,
    readonly state: "not started" | "failed" | "closed",
  ) {
    super(
      state === "not started"
        ? `${method}() needs the flags to be ready; await ready() first`
        : state === "failed"
          ? `${method}() cannot run: ready() failed; fix the cause it reported and start again`
          : `${method}() cannot run: the flags were closed; create new ones`,
    );
  }
}

/** A cluster id is not usable as a LaunchDarkly context key. */
export class InvalidClusterId extends FlagsError {
  override name = "InvalidClusterId";
  constructor(readonly clusterId: unknown) {
    super(`invalid cluster id ${show(clusterId)}: pass a non-empty string such as "u1"`);
  }
}

/** `PhaseSet.parse` was given something that is not a serialised, consistent PhaseSet. */
export class InvalidPhaseSet extends FlagsError {
  override name = "InvalidPhaseSet";
  constructor(readonly reason: string) {
    super(
      `invalid PhaseSet: ${reason}; pass exactly the JSON produced by PhaseSet.toJSON() ` +
        "(JSON.stringify(phaseSet))",
    );
  }
}

function where(line: number | undefined, column: number | undefined): string {
  if (line === undefined) return "";
  return column === undefined ? ` (line ${line})` : ` (line ${line}, column ${column})`;
}

function show(value: unknown): string {
  try {
    const s = JSON.stringify(value);
    if (s !== undefined) return s.length > 80 ? `${s.slice(0, 77)}...` : s;
  } catch {
    // fall through
  }
  return String(value);
}
