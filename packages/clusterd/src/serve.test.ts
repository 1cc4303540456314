/**
 * `countResponses`: the response counter gets one increment per run of equal kinds, with the
 * run's length, and the totals per kind are those of counting one by one.
 */
import { fc, test } from "@fast-check/vitest";
import { describe, expect, it } from "vitest";
import { countResponses } from "./serve.js";

function counted(resps: readonly { kind: string }[]) {
  const calls: Array<[string, number]> = [];
  countResponses(resps, (kind, n) => calls.push([kind, n]));
  return calls;
}

describe("countResponses", () => {
  it("counts a batch of one kind with one increment", () => {
    const resps = Array.from({ length: 1000 }, () => ({ kind: "frontiers" }));
    expect(counted(resps)).toEqual([["frontiers", 1000]]);
    expect(counted([])).toEqual([]);
  });

  test.prop([fc.array(fc.constantFrom("frontiers", "peekResponse", "status"), { maxLength: 50 })])(
    "totals per kind equal one-by-one counting",
    (kinds) => {
      const want = new Map<string, number>();
      for (const k of kinds) want.set(k, (want.get(k) ?? 0) + 1);
      const got = new Map<string, number>();
      for (const [k, n] of counted(kinds.map((kind) => ({ kind })))) {
        expect(n).toBeGreaterThan(0);
        got.set(k, (got.get(k) ?? 0) + n);
      }
      expect(got).toEqual(want);
    },
  );
});
