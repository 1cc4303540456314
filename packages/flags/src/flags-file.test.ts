/** Tests of the flags file validator: both forms, the examples, and every kind of bad input. */
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { MalformedFlagsFile, MissingFlagsFile, WrongFlagType } from "./errors.js";
import { parseFlagsFile, readFlagsFile, readFlagsFileSync } from "./flags-file.js";
import { booleanFlag, type Harness, harness } from "./testdata/harness.js";

const example = (name: string) => fileURLToPath(new URL(`../examples/${name}`, import.meta.url));
const SERVERS = "cluster-unification-servers";
const F = "/etc/flags.json";

function malformed(text: string): MalformedFlagsFile {
  try {
    parseFlagsFile(F, text);
  } catch (e) {
    if (e instanceof MalformedFlagsFile) return e;
    throw e;
  }
  throw new Error(`accepted: ${text}`);
}

describe("flags file", () => {
  let h: Harness;
  afterEach(async () => {
    await h?.cleanup();
  });

  it("reads both example files", async () => {
    const values = await readFlagsFile(example("flag-values.json"));
    expect(values.phaseFlags.get(SERVERS)).toEqual([true]);
    expect(values.phaseFlags.size).toBe(5);
    expect(values.unknownKeys).toEqual([]);
    const defs = readFlagsFileSync(example("flag-definitions.json"));
    expect(defs.phaseFlags.get(SERVERS)).toEqual([true, false]);
    expect(defs.phaseFlags.get("cluster-unification-logging")).toEqual([false]);
    expect([...defs.keys].sort()).toEqual([
      "cluster-unification-logging",
      "cluster-unification-replicas",
      SERVERS,
    ]);
  });

  it("accepts {} and lists unknown keys, whatever their values", () => {
    expect(parseFlagsFile(F, "{}").phaseFlags.size).toBe(0);
    const c = parseFlagsFile(
      F,
      JSON.stringify({
        flagValues: { other: "yes", [SERVERS]: false },
        flags: { "some-flag": { key: "some-flag", anything: [1] } },
      }),
    );
    expect(c.unknownKeys).toEqual(["other", "some-flag"]);
    expect(c.phaseFlags.get(SERVERS)).toEqual([false]);
  });

  it("reports invalid JSON with the file, line and column", () => {
    const e = malformed('{\n  "flagValues": {\n    "cluster-unification-servers": true,\n  }\n}');
    expect(e.file).toBe(F);
    expect(e.line).toBe(4);
    expect(e.column).toBe(3);
    expect(e.message).toContain(F);
    expect(e.message).toContain("line 4, column 3");
    expect(malformed('{"flagValues": tru').message).toMatch(/ends early/);
    expect(malformed("   ").message).toMatch(/empty.*write \{\}/);
    expect(malformed("{ garbage").message).toMatch(/invalid JSON/);
  });

  it("rejects shapes the SDK would silently load as 'no flags'", () => {
    expect(malformed("[]").problem).toMatch(/top level must be an object/);
    expect(malformed('"x"').problem).toMatch(/top level/);
    expect(malformed('{"flagz": {}}').problem).toMatch(/unknown top-level key "flagz"/);
    expect(malformed('{"flagValues": "abc"}').problem).toMatch(/flagValues must be an object/);
    expect(malformed('{"flags": [1]}').problem).toMatch(/flags must be an object/);
    expect(malformed('{"flags": {"x": 5}}').problem).toMatch(/flags.x must be a flag definition/);
    expect(malformed('{"flags": {"x": {"key": "y"}}}').problem).toMatch(/"key": "x"/);
    expect(malformed('{"segments": {"s": {}}}').problem).toMatch(/segments.s/);
  });

  it("rejects a flag in both forms", () => {
    const text = JSON.stringify({
      flagValues: { [SERVERS]: true },
      flags: { [SERVERS]: booleanFlag(SERVERS) },
    });
    expect(malformed(text).problem).toMatch(/both flagValues and flags/);
  });

  it("reports a wrong-typed value with the flag, the value, the file and the line", () => {
    for (const value of ["yes", 1, null, { on: true }]) {
      const text = `{\n  "flagValues": {\n    "${SERVERS}": ${JSON.stringify(value)}\n  }\n}`;
      let error: unknown;
      try {
        parseFlagsFile(F, text);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(WrongFlagType);
      const e = error as WrongFlagType;
      expect(e.flagKey).toBe(SERVERS);
      expect(e.value).toEqual(value);
      expect(e.source).toBe(F);
      expect(e.line).toBe(3);
      expect(e.message).toContain(SERVERS);
      expect(e.message).toContain(F);
    }
    const defs = JSON.stringify({
      flags: { [SERVERS]: booleanFlag(SERVERS, { variations: [true, "no"] }) },
    });
    expect(() => parseFlagsFile(F, defs)).toThrow(WrongFlagType);
  });

  it("checks full definitions of phase flags", () => {
    const def = (fields: Record<string, unknown>) =>
      JSON.stringify({ flags: { [SERVERS]: booleanFlag(SERVERS, fields) } });
    expect(malformed(def({ on: "true" })).problem).toMatch(/"on" must be true or false/);
    expect(malformed(def({ variations: [] })).problem).toMatch(/non-empty array/);
    expect(malformed(def({ offVariation: 2 })).problem).toMatch(/offVariation/);
    expect(malformed(def({ fallthrough: undefined })).problem).toMatch(/fallthrough/);
    expect(malformed(def({ fallthrough: { variation: -1 } })).problem).toMatch(/index in 0..1/);
    expect(
      malformed(def({ fallthrough: { rollout: { variations: [{ variation: 5, weight: 1 }] } } }))
        .problem,
    ).toMatch(/rollout.variations\[0\].variation/);
    expect(malformed(def({ targets: [{ values: ["u1"], variation: 3 }] })).problem).toMatch(
      /targets\[0\]/,
    );
    expect(malformed(def({ contextTargets: [{ values: ["u1"], variation: 0 }] })).problem).toMatch(
      /contextKind/,
    );
    expect(malformed(def({ rules: [{ variation: 0 }] })).problem).toMatch(/clauses/);
    expect(malformed(def({ version: -1 })).problem).toMatch(/version/);
    // An off flag needs no fallthrough.
    expect(() => parseFlagsFile(F, def({ on: false, fallthrough: undefined }))).not.toThrow();
  });

  it("reports a missing file with what to do", async () => {
    h = harness();
    const missing = `${h.dir}/nope.json`;
    await expect(readFlagsFile(missing)).rejects.toBeInstanceOf(MissingFlagsFile);
    expect(() => readFlagsFileSync(missing)).toThrow(/create it/);
  });
});

describe("flags file syntax errors", () => {
  it("locates errors V8 reports without a position", () => {
    const cases: [string, number, number][] = [
      ['{\n  "flagValues": {\n    "x": tru\n  }\n}', 3, 13],
      ['{"a": }', 1, 7],
      ['{"a": 1,\n "b": [1, 2,, 3]}', 2, 13],
      ['{"a": "x\n"}', 1, 9],
    ];
    for (const [text, line, column] of cases) {
      let error: unknown;
      try {
        parseFlagsFile(F, text);
      } catch (e) {
        error = e;
      }
      expect(error, text).toBeInstanceOf(MalformedFlagsFile);
      expect(
        [(error as MalformedFlagsFile).line, (error as MalformedFlagsFile).column],
        text,
      ).toEqual([line, column]);
    }
  });
});
