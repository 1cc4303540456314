import type { DataflowDescription } from "@mzts/protocol";
import { describe, expect, it } from "vitest";
import { compatibility, deepEqual } from "./reconciliation.js";

const base: DataflowDescription = {
  debugName: "d",
  sourceImports: [{ id: "u1", shardId: "s", arity: 1, upper: 3n }],
  indexImports: [],
  objectsToBuild: [{ id: "u2", plan: { kind: "get", id: "u1", arity: 1 } }],
  indexExports: [{ id: "u3", objectId: "u2", key: [0] }],
  sinkExports: [],
  asOf: 2n,
  until: null,
};
const sinces = new Map([["u3", 2n as bigint | null]]);

describe("reconciliation compatibility", () => {
  it("ignores source uppers and a later as-of", () => {
    const neu = { ...base, asOf: 4n, sourceImports: [{ ...base.sourceImports[0]!, upper: 9n }] };
    expect(compatibility({ desc: base, sinces }, neu)).toBeUndefined();
  });
  it("refuses a changed plan, an earlier as-of, a compaction past the as-of, a subscribe", () => {
    const plan = {
      ...base,
      objectsToBuild: [
        { id: "u2", plan: { kind: "negate", input: base.objectsToBuild[0]!.plan } as const },
      ],
    };
    expect(compatibility({ desc: base, sinces }, plan)).toBe("description changed");
    expect(compatibility({ desc: base, sinces }, { ...base, asOf: 1n })).toMatch(/as-of went back/);
    expect(
      compatibility({ desc: base, sinces: new Map([["u3", 5n]]) }, { ...base, asOf: 3n }),
    ).toMatch(/compacted/);
    const sub = {
      ...base,
      indexExports: [],
      sinkExports: [{ id: "u3", fromId: "u2", connection: { kind: "subscribe" } as const }],
    };
    expect(compatibility({ desc: sub, sinces }, sub)).toBe("exports a subscribe");
  });
  it("deepEqual handles bigint, bytes and maps", () => {
    expect(
      deepEqual(
        { a: [1n, new Uint8Array([1])], m: new Map([["k", 2n]]) },
        { a: [1n, new Uint8Array([1])], m: new Map([["k", 2n]]) },
      ),
    ).toBe(true);
    expect(deepEqual({ a: 1n }, { a: 2n })).toBe(false);
    expect(deepEqual(new Map([["k", 1]]), new Map([["k", 2]]))).toBe(false);
  });
});
