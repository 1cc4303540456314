/**
 * Reads and validates a local flags file in the LaunchDarkly SDK's file data source format.
 *
 * The SDK's `FileDataSourceFactory` does the real loading and evaluation; this module checks the
 * file first (at startup, and again each time the SDK loads an edit) because the SDK is lenient
 * in ways that would flip phases on garbage: a top-level `[]`, a typo such as `"flagz"` or
 * `"flagValues": "abc"` load as "no phase flags" (= all off), and a string or number value loads
 * as a flag whose evaluation is neither a boolean nor a migration stage.
 *
 * ## Accepted forms (both may be combined; a key may appear in only one)
 * - `{"flagValues": {"cluster-unification-servers": true}}`: the same value for every context.
 * - `{"flags": {"cluster-unification-servers": {key, on, variations, fallthrough, targets,
 *   contextTargets, rules, offVariation, salt, version}}}`: full LaunchDarkly flag definitions.
 * - `"segments"` (for `segmentMatch` rules) is passed through unchecked.
 *
 * ## Checks
 * - JSON syntax (with line and column when the parser reports a position).
 * - Top level: an object whose keys are among `flagValues`, `flags`, `segments`, each an object.
 * - Phase flags: booleans or migration stages (`stages.ts`: `"off"`, `"shadow"`, `"live"`,
 *   `"complete"`, …) in `flagValues`; in `flags`, a definition whose `key` matches, whose `on`
 *   is a boolean, whose variations are all booleans or stages, and whose variation indexes (off,
 *   fallthrough, targets, rules, rollouts) are in range.
 * - Other flags: ignored (reported in `unknownKeys`), except that a definition must be an object.
 */
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { MalformedFlagsFile, MissingFlagsFile, WrongFlagType } from "./errors.js";
import { type PhaseFlagKey, phaseOfFlagKey } from "./keys.js";
import { isPhaseFlagValue, type PhaseFlagValue } from "./stages.js";

/** What a valid flags file holds, as far as the phases are concerned. */
export interface FlagsFileContents {
  /** The file's path. */
  readonly file: string;
  /** Each phase flag in the file → its variations (`flagValues` entries become `[value]`). */
  readonly phaseFlags: ReadonlyMap<PhaseFlagKey, readonly PhaseFlagValue[]>;
  /** Every flag key in the file (`flags` and `flagValues`). */
  readonly keys: ReadonlySet<string>;
  /** Flag keys that are not phase flags; ignored. */
  readonly unknownKeys: readonly string[];
}

const TOP_LEVEL_KEYS = ["flagValues", "flags", "segments"];

/**
 * Reads and validates `file`.
 *
 * @throws MissingFlagsFile when the file cannot be read.
 * @throws MalformedFlagsFile when it is not valid JSON or not in a file form.
 * @throws WrongFlagType when a phase flag is neither a boolean nor a stage.
 */
export async function readFlagsFile(file: string): Promise<FlagsFileContents> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    throw new MissingFlagsFile(file, e instanceof Error ? e.message : String(e));
  }
  return parseFlagsFile(file, text);
}

/** Synchronous `readFlagsFile`, with the same errors. */
export function readFlagsFileSync(file: string): FlagsFileContents {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new MissingFlagsFile(file, e instanceof Error ? e.message : String(e));
  }
  return parseFlagsFile(file, text);
}

/**
 * Validates the text of a flags file.
 *
 * @throws MalformedFlagsFile when it is not valid JSON or not in a file form.
 * @throws WrongFlagType when a phase flag is neither a boolean nor a stage.
 */
export function parseFlagsFile(file: string, text: string): FlagsFileContents {
  if (text.trim() === "") {
    throw new MalformedFlagsFile(
      file,
      'the file is empty; write {} for "no flags" (all phases off)',
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw syntaxError(file, text, e);
  }
  const bad = (problem: string, key?: string): MalformedFlagsFile => {
    const line = key === undefined ? undefined : lineOf(text, key);
    return new MalformedFlagsFile(file, problem, line);
  };
  if (!isObject(parsed)) {
    throw bad(`the top level must be an object with flagValues and/or flags, not ${kind(parsed)}`);
  }
  for (const key of Object.keys(parsed)) {
    if (!TOP_LEVEL_KEYS.includes(key)) {
      throw bad(
        `unknown top-level key ${JSON.stringify(key)}; expected flagValues, flags or segments`,
        key,
      );
    }
  }
  for (const key of TOP_LEVEL_KEYS) {
    if (parsed[key] !== undefined && !isObject(parsed[key])) {
      throw bad(`${key} must be an object, not ${kind(parsed[key])}`, key);
    }
  }
  const flagValues = (parsed.flagValues ?? {}) as Record<string, unknown>;
  const flags = (parsed.flags ?? {}) as Record<string, unknown>;
  const segments = (parsed.segments ?? {}) as Record<string, unknown>;

  const phaseFlags = new Map<PhaseFlagKey, readonly PhaseFlagValue[]>();
  const keys = new Set<string>();
  const unknownKeys: string[] = [];

  for (const [key, value] of Object.entries(flagValues)) {
    keys.add(key);
    if (phaseOfFlagKey(key) === undefined) {
      unknownKeys.push(key);
      continue;
    }
    if (!isPhaseFlagValue(value)) throw new WrongFlagType(key, value, file, lineOf(text, key));
    phaseFlags.set(key as PhaseFlagKey, [value]);
  }
  for (const [key, def] of Object.entries(flags)) {
    if (keys.has(key)) {
      throw bad(`flag ${key} is in both flagValues and flags; keep one of them`, key);
    }
    keys.add(key);
    if (!isObject(def)) {
      throw bad(`flags.${key} must be a flag definition object, not ${kind(def)}`, key);
    }
    if (def.key !== key) {
      throw bad(`flags.${key} must have "key": ${JSON.stringify(key)}`, key);
    }
    if (phaseOfFlagKey(key) === undefined) {
      unknownKeys.push(key);
      continue;
    }
    phaseFlags.set(key as PhaseFlagKey, checkDefinition(file, text, key, def));
  }
  for (const [key, def] of Object.entries(segments)) {
    if (!isObject(def) || def.key !== key) {
      throw bad(`segments.${key} must be a segment object with "key": ${JSON.stringify(key)}`, key);
    }
  }
  return Object.freeze({ file, phaseFlags, keys, unknownKeys: Object.freeze(unknownKeys) });
}

/** Checks a full definition of a phase flag; returns its variations. */
function checkDefinition(
  file: string,
  text: string,
  key: string,
  def: Record<string, unknown>,
): PhaseFlagValue[] {
  const line = lineOf(text, key);
  const bad = (problem: string) => new MalformedFlagsFile(file, `flags.${key}: ${problem}`, line);
  if (typeof def.on !== "boolean") throw bad('"on" must be true or false');
  const variations = def.variations;
  if (!Array.isArray(variations) || variations.length === 0) {
    throw bad('"variations" must be a non-empty array, e.g. [true, false]');
  }
  for (const v of variations) {
    if (!isPhaseFlagValue(v)) throw new WrongFlagType(key, v, file, line);
  }
  const index = (v: unknown, where: string) => {
    if (!Number.isInteger(v) || (v as number) < 0 || (v as number) >= variations.length) {
      throw bad(`${where} must be a variation index in 0..${variations.length - 1}`);
    }
  };
  const variationOrRollout = (v: unknown, where: string) => {
    if (!isObject(v)) throw bad(`${where} must be an object with "variation" or "rollout"`);
    if (v.variation !== undefined) return index(v.variation, `${where}.variation`);
    const rollout = v.rollout;
    if (
      !isObject(rollout) ||
      !Array.isArray(rollout.variations) ||
      rollout.variations.length === 0
    ) {
      throw bad(`${where} needs "variation" or a "rollout" with "variations"`);
    }
    rollout.variations.forEach((wv: unknown, i: number) => {
      if (!isObject(wv) || typeof wv.weight !== "number" || wv.weight < 0) {
        throw bad(`${where}.rollout.variations[${i}] must be {"variation": i, "weight": w}`);
      }
      index(wv.variation, `${where}.rollout.variations[${i}].variation`);
    });
  };
  if (
    def.version !== undefined &&
    !(Number.isInteger(def.version) && (def.version as number) >= 0)
  ) {
    throw bad('"version" must be a non-negative integer');
  }
  if (def.salt !== undefined && typeof def.salt !== "string") throw bad('"salt" must be a string');
  if (def.offVariation !== undefined) index(def.offVariation, '"offVariation"');
  if (def.on === true) variationOrRollout(def.fallthrough, '"fallthrough"');
  else if (def.fallthrough !== undefined) variationOrRollout(def.fallthrough, '"fallthrough"');
  for (const field of ["targets", "contextTargets"] as const) {
    const list = def[field];
    if (list === undefined) continue;
    if (!Array.isArray(list)) throw bad(`"${field}" must be an array`);
    list.forEach((t: unknown, i: number) => {
      if (!isObject(t) || !Array.isArray(t.values)) {
        throw bad(`${field}[${i}] must be {"values": [...], "variation": i}`);
      }
      if (field === "contextTargets" && typeof t.contextKind !== "string") {
        throw bad(`contextTargets[${i}] needs a "contextKind" such as "cluster"`);
      }
      index(t.variation, `${field}[${i}].variation`);
    });
  }
  if (def.rules !== undefined) {
    if (!Array.isArray(def.rules)) throw bad('"rules" must be an array');
    def.rules.forEach((r: unknown, i: number) => {
      if (!isObject(r) || !Array.isArray(r.clauses)) {
        throw bad(`rules[${i}] must be an object with "clauses"`);
      }
      variationOrRollout(r, `rules[${i}]`);
    });
  }
  return variations as PhaseFlagValue[];
}

function syntaxError(file: string, text: string, e: unknown): MalformedFlagsFile {
  const message = (e instanceof Error ? e.message : String(e)).split("\n")[0] ?? "";
  if (/Unexpected end of JSON input/.test(message)) {
    const { line, column } = lineAndColumn(text, text.length);
    return new MalformedFlagsFile(file, "invalid JSON: the file ends early", line, column);
  }
  // V8 gives a position for some errors only; find it ourselves otherwise.
  const given = /at position (\d+)/.exec(message)?.[1];
  const offset = given === undefined ? syntaxErrorOffset(text) : Number(given);
  const problem =
    given === undefined ? "invalid JSON: unexpected input" : `invalid JSON: ${message}`;
  if (offset === undefined) return new MalformedFlagsFile(file, `invalid JSON: ${message}`);
  const { line, column } = lineAndColumn(text, offset);
  return new MalformedFlagsFile(file, problem, line, column);
}

/**
 * The offset of the first JSON syntax error in `text` (a small recursive-descent scanner; used
 * only after `JSON.parse` failed without saying where), or undefined if it finds none.
 */
function syntaxErrorOffset(text: string): number | undefined {
  let i = 0;
  const fail = (): never => {
    throw i;
  };
  const ws = () => {
    while (i < text.length && " \t\n\r".includes(text.charAt(i))) i++;
  };
  const literal = (word: string) => {
    for (const ch of word) {
      if (text.charAt(i) !== ch) fail();
      i++;
    }
  };
  const string = () => {
    i++; // opening quote
    while (i < text.length && text.charAt(i) !== '"') {
      if (text.charCodeAt(i) < 0x20) fail();
      i += text.charAt(i) === "\\" ? 2 : 1;
    }
    if (i >= text.length) fail();
    i++;
  };
  const number = () => {
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i));
    if (m === null) fail();
    i += m?.[0].length ?? 0;
  };
  const value = (): void => {
    ws();
    const ch = text.charAt(i);
    if (ch === "{") container("}", true);
    else if (ch === "[") container("]", false);
    else if (ch === '"') string();
    else if (ch === "t") literal("true");
    else if (ch === "f") literal("false");
    else if (ch === "n") literal("null");
    else number();
  };
  const container = (close: string, keyed: boolean) => {
    i++;
    ws();
    if (text.charAt(i) === close) return void i++;
    for (;;) {
      if (keyed) {
        ws();
        if (text.charAt(i) !== '"') fail();
        string();
        ws();
        if (text.charAt(i) !== ":") fail();
        i++;
      }
      value();
      ws();
      if (text.charAt(i) === ",") {
        i++;
        continue;
      }
      if (text.charAt(i) === close) return void i++;
      fail();
    }
  };
  try {
    value();
    ws();
    return i < text.length ? i : undefined;
  } catch (at) {
    return typeof at === "number" ? at : undefined;
  }
}

function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const line = before.split("\n").length;
  const column = offset - (before.lastIndexOf("\n") + 1) + 1;
  return { line, column };
}

/** 1-based line of the first occurrence of `"key"`, if any. */
function lineOf(text: string, key: string): number | undefined {
  const at = text.indexOf(JSON.stringify(key));
  return at < 0 ? undefined : lineAndColumn(text, at).line;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function kind(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return `a ${typeof value}`;
}
