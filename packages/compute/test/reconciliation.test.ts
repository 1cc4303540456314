/**
 * Reconciliation on a running replica (materialize §1.7): a new connection replaying the same
 * history keeps every dataflow (reused = all, replaced = 0) and gets fresh frontier reports; a
 * changed plan replaces that dataflow only; pending peeks of the old connection are dropped.
 * Both paths, W = 2, real worker threads and persist.
 */
import { createPersist } from "@mzts/persist";
import type { ComputeCommand, DataflowDescription } from "@mzts/protocol";
import { consolidateRows, type Row } from "@mzts/repr";
import { afterEach, describe, expect, it } from "vitest";
import {
  dataflow,
  holdSinceLikeController,
  peekOf,
  Replica,
  removeDir,
  show,
  tempDir,
  until,
} from "./harness.js";

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const SRC = dataflow({
  debugName: "src_index",
  asOf: 0n,
  sourceImports: [{ id: "u1", shardId: "nums", arity: 2, upper: 0n }],
  objectsToBuild: [{ id: "u2", plan: { kind: "get", id: "u1", arity: 2 } }],
  indexExports: [{ id: "u3", objectId: "u2", key: [0] }],
});
function sumDf(agg: "sum" | "max"): DataflowDescription {
  return dataflow({
    debugName: `by_key_${agg}`,
    asOf: 0n,
    indexImports: [{ id: "u3", key: [0], arity: 2 }],
    objectsToBuild: [
      {
        id: "u4",
        plan: {
          kind: "reduce",
          input: { kind: "get", id: "u3", arity: 2 },
          groupKey: [0],
          aggregates: [{ func: agg, column: 1 }],
        },
      },
    ],
    indexExports: [{ id: "u5", objectId: "u4", key: [0] }],
  });
}

function history(second: DataflowDescription): ComputeCommand[] {
  return [
    {
      kind: "createInstance",
      config: {
        logging: { enabled: false, intervalMs: 1000, logLogging: false, indexLogs: new Map() },
      },
    },
    { kind: "createDataflow", dataflow: SRC },
    { kind: "createDataflow", dataflow: second },
    { kind: "initializationComplete" },
  ];
}

describe("reconciliation", () => {
  for (const path of ["unified", "legacy"] as const) {
    it(`${path}: same history reuses every dataflow; a changed plan replaces only it`, async () => {
      const dir = await tempDir();
      cleanups.push(() => removeDir(dir));
      const persist = await createPersist({ dataDir: dir });
      cleanups.push(() => persist.close());
      const nums = await persist.openShard("nums", { create: true });
      await nums.compareAndAppend(
        [
          [["a", 1n], 0n, 1],
          [["a", 5n], 1n, 1],
          [["b", 2n], 1n, 1],
        ],
        0n,
        3n,
      );
      await holdSinceLikeController(nums);
      const rep = new Replica(path, 2, dir);
      cleanups.push(() => rep.close());
      await rep.rt.ready;

      const check = async (agg: "sum" | "max") => {
        const r = await rep.peek(peekOf("u5", 2, 2n));
        if (r.response.kind !== "rows") throw new Error(show(r.response));
        const want: Array<[Row, number]> =
          agg === "sum"
            ? [
                [["a", 6n], 1],
                [["b", 2n], 1],
              ]
            : [
                [["a", 5n], 1],
                [["b", 2n], 1],
              ];
        expect(show(consolidateRows(r.response.rows))).toBe(show(want));
      };

      rep.connect("n1");
      rep.send(...history(sumDf("sum")));
      await check("sum");
      await until(() => rep.frontier("u5", "write") === 3n, "u5 frontier on n1");
      // A peek that can never be answered on n1 (time beyond the upper) is pending at reconnect.
      rep.send({ kind: "peek", peek: peekOf("u5", 2, 100n) });
      await until(() => rep.metrics.totals().pendingPeeks === 2, "pending peek");

      // Same history: every dataflow reused, nothing rebuilt; fresh frontier reports.
      rep.connect("n2");
      rep.send(...history(sumDf("sum")));
      await until(() => rep.metrics.totals().reused === 2, "reused count");
      expect(rep.metrics.totals().replaced).toBe(0);
      await until(() => rep.frontier("u5", "write") === 3n, "u5 frontier reported again on n2");
      await until(() => rep.metrics.totals().pendingPeeks === 0, "pending peek dropped");
      expect(rep.out.filter((r) => r.kind === "peekResponse")).toEqual([]);
      await check("sum");

      // A changed plan: the source dataflow is reused, the changed one replaced.
      rep.connect("n3");
      rep.send(...history(sumDf("max")));
      await until(() => rep.metrics.totals().replaced === 1, "replaced count");
      expect(rep.metrics.totals().reused).toBe(3);
      await check("max");
      await until(() => rep.metrics.totals().dataflows === 4, "two dataflows per worker");
    }, 60_000);
  }
});
