/**
 * Introspection on a replica (phase 2, *logging*), real worker threads and persist, W = 2, on
 * both runtimes with compute's legacy logging and on the unified runtime with mz-cluster's
 * unified logging (`ctx.logging`), with the same expectations: a dataflow over a persist source shows up in the log
 * indexes, a peek of a log index id is answered like an index peek with every worker answering
 * its own `worker_id` rows, and the log indexes' uppers are reported as frontiers.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { createPersist } from "@mzts/persist";
import type { ComputeCommand, DataflowDescription } from "@mzts/protocol";
import { consolidateRows, type Row } from "@mzts/repr";
import { afterEach, describe, expect, it } from "vitest";
import {
  dataflow,
  holdSinceLikeController,
  type PathKind,
  peekOf,
  Replica,
  show,
  until,
} from "./harness.js";

const INTERVAL = 100;
const LOGS = new Map(
  ["dataflows", "compute_frontiers", "compute_import_frontiers", "arrangement_sizes"].map(
    (n) => [n, `log-${n}`] as [string, string],
  ),
);
const START: ComputeCommand[] = [
  {
    kind: "createInstance",
    config: {
      logging: { enabled: true, intervalMs: INTERVAL, logLogging: false, indexLogs: LOGS },
    },
  },
  { kind: "initializationComplete" },
];
const DF: DataflowDescription = dataflow({
  debugName: "logged",
  asOf: 0n,
  sourceImports: [{ id: "u1", shardId: "items", arity: 2, upper: 0n }],
  objectsToBuild: [{ id: "u10", plan: { kind: "get", id: "u1", arity: 2 } }],
  indexExports: [{ id: "u11", objectId: "u10", key: [0] }],
});

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function rowsAt(rep: Replica, name: string, arity: number, t: bigint): Promise<Row[]> {
  const r = await rep.peek(peekOf(`log-${name}`, arity, t));
  if (r.response.kind !== "rows") throw new Error(`${name}: ${show(r.response)}`);
  for (const [, n] of r.response.rows) expect(n, `${name} row count`).toBe(1);
  return consolidateRows(r.response.rows).map(([row]) => row);
}

async function run(path: PathKind) {
  const dir = await mkdtemp("/tmp/log-compute-");
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const persist = await createPersist({ dataDir: dir });
  cleanups.push(() => persist.close());
  const shard = await persist.openShard("items", { create: true });
  await shard.compareAndAppend(
    [
      [[1n, "a"], 0n, 1],
      [[2n, "b"], 1n, 1],
      [[3n, "c"], 2n, 1],
    ],
    0n,
    3n,
  );
  await holdSinceLikeController(shard);
  const rep = new Replica(path, 2, dir);
  cleanups.push(() => rep.close());
  await rep.rt.ready;
  rep.connect("n1");
  rep.send(...START, { kind: "createDataflow", dataflow: DF });
  await until(() => rep.frontier("u11", "write") === 3n, "the index at the shard's upper");
  // A log time after the dataflow and its sampled frontiers: the peek waits for the log upper.
  const t = BigInt(Math.ceil((Date.now() + 3 * INTERVAL) / INTERVAL) * INTERVAL);
  expect(await rowsAt(rep, "dataflows", 3, t)).toEqual([
    [0n, 0n, "logged"],
    [0n, 1n, "logged"],
  ]);
  expect(await rowsAt(rep, "compute_frontiers", 3, t)).toEqual([
    ["u11", 0n, 3n],
    ["u11", 1n, 3n],
  ]);
  expect(await rowsAt(rep, "compute_import_frontiers", 4, t)).toEqual([
    ["u11", "u1", 0n, 3n],
    ["u11", "u1", 1n, 3n],
  ]);
  const sizes = await rowsAt(rep, "arrangement_sizes", 5, t);
  expect(sizes.map((r) => r.slice(0, 2))).toEqual([
    ["u11", 0n],
    ["u11", 1n],
  ]);
  // Each worker holds its part of the three records.
  expect(sizes.reduce((n, r) => n + (r[2] as bigint), 0n)).toBe(3n);
  // Log index uppers are reported (merged over both workers) past the peeked time.
  const upper = rep.frontier("log-dataflows", "write");
  expect(typeof upper === "bigint" && upper > t).toBe(true);
  // Dropped: its rows go.
  rep.send({ kind: "allowCompaction", id: "u11", frontier: null });
  await until(() => rep.frontier("u11", "write") === null, "the drop");
  const later = BigInt(Math.ceil((Date.now() + 3 * INTERVAL) / INTERVAL) * INTERVAL);
  expect(await rowsAt(rep, "dataflows", 3, later)).toEqual([]);
  expect(await rowsAt(rep, "compute_frontiers", 3, later)).toEqual([]);
  expect(rep.out.filter((r) => r.kind === "commandError")).toEqual([]);
  // With unified logging the rows came from the runtime's hosts (ctx.logging), not compute's own.
  const hosted = rep.rt.logging?.role === "host" ? rep.rt.logging.stats().events.compute : 0;
  expect(hosted > 0).toBe(path === "unified-logging");
}

describe("introspection on a replica (W = 2)", () => {
  it("unified runtime (compute's legacy logging)", () => run("unified"), 30_000);
  it("unified runtime with unified logging (ctx.logging)", () => run("unified-logging"), 30_000);
  // PHASE(servers): legacy — delete when cluster-unification-servers is retired
  it("legacy runtime", () => run("legacy"), 30_000);
});
