import { describe, expect, it } from "vitest";
import { MalformedPlan } from "./errors.js";
import type { Plan } from "./plan.js";
import { validatePlan } from "./validate.js";

const bids: Plan = { kind: "get", id: "u1", arity: 3 };
const auctions: Plan = { kind: "get", id: "u2", arity: 2 };
const arities: Record<string, number> = { u1: 3, u2: 2 };
const importArity = (id: string) => arities[id];

function malformed(plan: unknown): MalformedPlan {
  try {
    validatePlan(plan as Plan, importArity);
  } catch (e) {
    if (e instanceof MalformedPlan) return e;
    throw e;
  }
  throw new Error("expected MalformedPlan");
}

describe("validatePlan", () => {
  it("infers the arity of a join + reduce + topK plan", () => {
    const joined: Plan = {
      kind: "join",
      inputs: [bids, auctions],
      equivalences: [
        [
          [0, 1],
          [1, 0],
        ],
      ],
    };
    expect(validatePlan(joined, importArity)).toBe(5);
    const reduced: Plan = {
      kind: "reduce",
      input: joined,
      groupKey: [1],
      aggregates: [{ func: "count" }, { func: "max", column: 2 }],
    };
    expect(validatePlan(reduced, importArity)).toBe(3);
    const top: Plan = {
      kind: "topK",
      input: reduced,
      groupKey: [],
      orderBy: [{ column: 2, desc: true, nullsLast: true }],
      limit: 10,
      offset: 0,
    };
    expect(validatePlan(top, importArity)).toBe(3);
    const mapped: Plan = {
      kind: "map",
      input: bids,
      exprs: [
        {
          kind: "binary",
          op: "mul",
          left: { kind: "column", index: 2 },
          right: { kind: "literal", value: 2n },
        },
        { kind: "unary", op: "isNull", arg: { kind: "column", index: 3 } },
      ],
    };
    expect(validatePlan(mapped, importArity)).toBe(5);
    expect(validatePlan({ kind: "project", input: mapped, columns: [4, 0] }, importArity)).toBe(2);
  });

  it("names the path of a bad column reference", () => {
    const e = malformed({
      kind: "filter",
      input: bids,
      predicates: [{ kind: "column", index: 3 }],
    });
    expect(e.path).toBe("plan.filter.predicates[0].column");
    expect(e.message).toContain("column 3 out of range for arity 3");
  });

  it("rejects unknown imports, wrong arities and unknown operators", () => {
    expect(malformed({ kind: "get", id: "u9", arity: 1 }).message).toContain("unknown import u9");
    expect(malformed({ kind: "get", id: "u1", arity: 2 }).message).toContain("has arity 3");
    expect(malformed({ kind: "explode", input: bids }).message).toContain(
      "unknown plan kind explode",
    );
    expect(malformed({ kind: "union", inputs: [bids, auctions] }).path).toBe(
      "plan.union.inputs[1]",
    );
    expect(
      malformed({ kind: "reduce", input: bids, groupKey: [], aggregates: [{ func: "sum" }] })
        .message,
    ).toContain("sum needs a column");
    expect(
      malformed({
        kind: "map",
        input: bids,
        exprs: [{ kind: "unary", op: "explode", arg: { kind: "column", index: 0 } }],
      }).message,
    ).toContain("unknown unary function explode");
    expect(
      malformed({
        kind: "join",
        inputs: [bids, auctions],
        equivalences: [
          [
            [2, 0],
            [0, 0],
          ],
        ],
      }).message,
    ).toContain("no join input 2");
    expect(
      malformed({ kind: "topK", input: bids, groupKey: [], orderBy: [], limit: -1, offset: 0 })
        .message,
    ).toContain("limit must be a non-negative integer");
    expect(malformed({ kind: "constant", arity: 2, rows: [[[1n], 1]] }).message).toContain(
      "row has 1 columns",
    );
  });
});
