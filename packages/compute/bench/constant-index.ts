/**
 * The benches' dataflow: a constant of `rows` rows `(i, "row i")` and an index on column 0 —
 * no source, so it hydrates in its first steps and never changes again.
 */
import type { DataflowDescription } from "@mzts/protocol";

export function constantIndex(id: string, rows: number): DataflowDescription {
  return {
    debugName: `bench ${id}`,
    sourceImports: [],
    indexImports: [],
    objectsToBuild: [
      {
        id: `${id}o`,
        plan: {
          kind: "constant",
          rows: Array.from({ length: rows }, (_, i) => [[BigInt(i), `row ${i}`], 1] as const),
          arity: 2,
        },
      },
    ],
    indexExports: [{ id, objectId: `${id}o`, key: [0] }],
    sinkExports: [],
    asOf: 0n,
    until: null,
  };
}
