/**
 * A dataflow whose source import stops for good answers its peeks in band (both command paths,
 * W = 2, real worker threads and persist): the source shard was compacted past the dataflow's
 * as-of before the replica read its snapshot (no controller hold at the as-of: a bug elsewhere),
 * so the index's frontier can never pass the as-of. A peek at a time it would wait for is answered
 * with an error naming the source, the shard, the since violation and what to do next — before,
 * it waited until the controller's timeout — and the replica carries on: a peek of another index
 * still answers. The stall carries downstream: an index built on the stalled index (before the
 * failure or after it) answers with the same error.
 */
import type { ComputeCommand } from "@mzts/protocol";
import type { Row } from "@mzts/repr";
import { afterEach, describe, expect, it } from "vitest";
import { dataflow, peekOf, replicaOverCompactedShard, START_COMMANDS, show } from "./harness.js";

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const ROWS: Array<[Row, number]> = [[[1n], 1]];

/** A dataflow over the stalled index u3, as of 2: object `obj`, index `ix`. */
function downstream(obj: string, ix: string): ComputeCommand {
  return {
    kind: "createDataflow",
    dataflow: dataflow({
      debugName: `over u3 ${ix}`,
      asOf: 2n,
      indexImports: [{ id: "u3", arity: 1, key: [0] }],
      objectsToBuild: [{ id: obj, plan: { kind: "get", id: "u3", arity: 1 } }],
      indexExports: [{ id: ix, objectId: obj, key: [0] }],
    }),
  };
}

describe("a stalled source import", () => {
  for (const path of ["unified", "legacy"] as const) {
    it(`${path}: a peek waiting on it gets the since violation as a peek error`, async () => {
      const rep = await replicaOverCompactedShard(path, cleanups);
      rep.send(
        ...START_COMMANDS,
        {
          kind: "createDataflow",
          dataflow: dataflow({
            debugName: "stalled",
            asOf: 2n,
            sourceImports: [{ id: "u1", shardId: "nums", arity: 1, upper: 0n }],
            objectsToBuild: [{ id: "u2", plan: { kind: "get", id: "u1", arity: 1 } }],
            indexExports: [{ id: "u3", objectId: "u2", key: [0] }],
          }),
        },
        downstream("u6", "u7"),
        {
          kind: "createDataflow",
          dataflow: dataflow({
            debugName: "constant",
            asOf: 0n,
            objectsToBuild: [{ id: "u4", plan: { kind: "constant", arity: 1, rows: ROWS } }],
            indexExports: [{ id: "u5", objectId: "u4", key: [0] }],
          }),
        },
      );

      const p = peekOf("u3", 1, 2n);
      const answer = await rep.peek(p);
      expect(answer.response.kind).toBe("error");
      const message = answer.response.kind === "error" ? answer.response.message : "";
      expect(message).toMatch(new RegExp(`^peek ${p.uuid} of u3 cannot be answered`));
      expect(message).toMatch(/source u1 \(shard nums\) stopped on worker \d/);
      expect(message).toContain("since violation");
      expect(message).toContain("the shard was compacted to [8], past the dataflow's as-of 2");
      expect(message).toContain("drop and recreate");

      // The replica carries on.
      const other = await rep.peek(peekOf("u5", 1, 0n));
      expect(show(other.response)).toBe(show({ kind: "rows", rows: ROWS }));

      // Downstream of the stalled index: built before the failure, and after it.
      rep.send(downstream("u8", "u9"));
      for (const id of ["u7", "u9"]) {
        const q = peekOf(id, 1, 2n);
        const down = await rep.peek(q);
        expect(down.response.kind).toBe("error");
        const m = down.response.kind === "error" ? down.response.message : "";
        expect(m).toMatch(new RegExp(`^peek ${q.uuid} of ${id} cannot be answered`));
        expect(m).toMatch(/source u1 \(shard nums\) stopped on worker \d: since violation/);
      }
    }, 60_000);
  }
});
