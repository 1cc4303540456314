/**
 * The command-path benches' dataflow and peek (@internal; `phase1.bench.ts`, `commands.bench.ts`):
 * a 100-row constant collection `u1` (`[i, "row i"]`) indexed on column 0 as `u2`, and a keyed
 * peek of it (`literal_constraints` 7: one row, owned by one worker).
 */
import type { ComputeCommand, DataflowDescription } from "@mzts/protocol";

/** The index the peeks read. */
export const INDEX = "u2";

export const constantIndex: DataflowDescription = {
  debugName: "bench_constant",
  sourceImports: [],
  indexImports: [],
  objectsToBuild: [
    {
      id: "u1",
      plan: {
        kind: "constant",
        rows: Array.from({ length: 100 }, (_, i) => [[BigInt(i), `row ${i}`], 1] as const),
        arity: 2,
      },
    },
  ],
  indexExports: [{ id: INDEX, objectId: "u1", key: [0] }],
  sinkExports: [],
  asOf: 0n,
  until: null,
};

/** The keyed peek of `INDEX` at `timestamp` (one row). */
export function keyedPeek(uuid: string, timestamp = 0n): ComputeCommand {
  return {
    kind: "peek",
    peek: {
      uuid,
      target: { kind: "index", id: INDEX },
      arity: 2,
      timestamp,
      literalConstraints: [[7n]],
      mapFilterProject: { exprs: [], predicates: [], projection: [0, 1] },
      finishing: { orderBy: [], offset: 0, project: [0, 1] },
    },
  };
}
