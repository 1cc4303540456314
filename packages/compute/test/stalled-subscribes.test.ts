/**
 * A subscribe on a stalled dataflow ends in band with the stall's error on every runtime (unified
 * with compute's legacy logging, unified with mz-cluster's unified logging host, legacy compute;
 * W = 2, real worker threads and persist): the source shard was compacted past the dataflow's
 * as-of before the replica read its snapshot (no controller hold at the as-of), so the dataflow
 * can never advance. A subscribe exported by the stalled dataflow itself (built before the
 * failure) and one of a dataflow importing its index built after the failure each get merged
 * error batches ending with the empty upper — before, no batch ever came and the subscribe
 * waited forever. The replica carries on (a peek of another index answers), and dropping the
 * failed subscribes sends nothing more (no `droppedAt` after the end).
 */
import type { ComputeCommand, SubscribeResponse } from "@mzts/protocol";
import type { Row } from "@mzts/repr";
import { afterEach, describe, expect, it } from "vitest";
import {
  dataflow,
  peekOf,
  type Replica,
  replicaOverCompactedShard,
  START_COMMANDS,
  show,
  until,
} from "./harness.js";

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const ROWS: Array<[Row, number]> = [[[1n], 1]];

/** The merged responses of subscribe `id`. */
function responses(rep: Replica, id: string): SubscribeResponse[] {
  return rep.out.flatMap((r) =>
    r.kind === "subscribeResponse" && r.id === id ? [r.response] : [],
  );
}

/** Waits for subscribe `id`'s end and checks it is the stall's error. */
async function expectStallEnd(rep: Replica, id: string): Promise<void> {
  await until(
    () => responses(rep, id).some((r) => r.kind === "droppedAt" || r.upper === null),
    `the end of subscribe ${id}`,
  );
  const all = responses(rep, id);
  const end = all.at(-1)!;
  expect(end).toMatchObject({ kind: "batch", upper: null, result: { kind: "error" } });
  const message = end.kind === "batch" && end.result.kind === "error" ? end.result.message : "";
  expect(message).toMatch(
    /^its dataflow is stalled: source u1 \(shard nums\) stopped on worker \d: since violation/,
  );
  expect(message).toContain("the shard was compacted to [8], past the dataflow's as-of 2");
  expect(message).toContain("drop and recreate");
  // Nothing but the error was ever released (no worker got past the as-of).
  for (const r of all) expect(r).toMatchObject({ kind: "batch", result: { kind: "error" } });
}

describe("a subscribe on a stalled dataflow", () => {
  for (const path of ["unified", "unified-logging", "legacy"] as const) {
    it(`${path}: ends with the stall's error, before and after the failure`, async () => {
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
            sinkExports: [{ id: "u10", fromId: "u2", connection: { kind: "subscribe" } }],
          }),
        },
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
      await expectStallEnd(rep, "u10");

      // Built after the failure, over the stalled index.
      const over: ComputeCommand = {
        kind: "createDataflow",
        dataflow: dataflow({
          debugName: "subscribe over u3",
          asOf: 2n,
          indexImports: [{ id: "u3", arity: 1, key: [0] }],
          objectsToBuild: [{ id: "u11", plan: { kind: "get", id: "u3", arity: 1 } }],
          sinkExports: [{ id: "u12", fromId: "u11", connection: { kind: "subscribe" } }],
        }),
      };
      rep.send(over);
      await expectStallEnd(rep, "u12");

      // The replica carries on.
      const other = await rep.peek(peekOf("u5", 1, 0n));
      expect(show(other.response)).toBe(show({ kind: "rows", rows: ROWS }));

      // Dropping the ended subscribes sends nothing more for them.
      const before = rep.out.length;
      rep.send(
        { kind: "allowCompaction", id: "u10", frontier: null },
        { kind: "allowCompaction", id: "u12", frontier: null },
      );
      await rep.peek(peekOf("u5", 1, 0n));
      expect(
        rep.out
          .slice(before)
          .filter((r) => r.kind === "subscribeResponse" && (r.id === "u10" || r.id === "u12")),
      ).toEqual([]);
    }, 60_000);
  }
});
