/**
 * Response-path benchmark (issue 16): the replica main thread's work per source tick at idle with
 * N indexes — merge W workers' frontier reports (`PartitionedComputeState`, one report per index
 * per worker) and serialize what leaves as Connect does (`toBinary` of the stream message) — in
 * process, no sockets, no workers.
 *
 * Rows (runs interleaved, medians; µs per tick = the main thread's CPU per second at one tick/s):
 * - `base`: the merge and the reflective encoder of another build of `@mzts/protocol`
 *   (`BENCH_BASE=<its dist/index.js>`, e.g. a copy of main's dist; the row is skipped without it);
 *   `base framed`, `base framed/cluster`, `base merge only`, `base encode only`: that build's
 *   rows of the same names, for an A/B of this build's rows against it;
 * - `reflective`: this build's merge, the reflective encoder (`computeResponsesToProto`), as a
 *   JSON stream still is;
 * - `framed`: this build's merge, the pre-encoded message (`computeResponsesFramed`) — what a
 *   binary stream sends;
 * - `…/cluster`: the same on the unified cluster stream (`clusterResponsesFramed`);
 * - `merge only` / `encode only`: the two halves of `framed`;
 * - `structuredClone`: the worker message's deserialization, for scale (unchanged by either).
 * It checks first that every row's bytes are equal.
 *
 * Usage: `npx tsx bench/response-path.bench.ts [N=1000]` with BENCH_WORKERS (default 1,2),
 * BENCH_TICKS (per run, default 50), BENCH_RUNS (default 5), BENCH_BASE, BENCH_SUBSCRIBE=1 (add a
 * subscribe batch of 2N updates per worker and tick: rows `[export id, worker id, time]`, distinct
 * per worker, consolidated as the worker's sink sends them).
 */
import os from "node:os";
import { toBinary } from "@bufbuild/protobuf";
import {
  type ClusterResponse,
  type ComputeResponse,
  clusterResponsesFramed,
  clusterResponsesToProto,
  computeResponsesFramed,
  computeResponsesToProto,
  PartitionedComputeState,
} from "@mzts/protocol";
import { clusterV1, computeV1 } from "@mzts/protocol/wire";
import { consolidateUpdates } from "@mzts/repr";

const N = Number(process.argv[2] ?? 1000);
const WORKERS = (process.env.BENCH_WORKERS ?? "1,2").split(",").map(Number);
const TICKS = Number(process.env.BENCH_TICKS ?? 50);
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const T0 = 1_700_000_000_000n;
const SUBSCRIBE = process.env.BENCH_SUBSCRIBE === "1";

interface Merger {
  absorb(part: number, r: ComputeResponse): ComputeResponse[];
}
interface Pipeline {
  readonly name: string;
  /** A fresh merger per run (frontiers start at the minimum). */
  merger(workers: number): Merger | undefined;
  /** Serializes the merged responses as the stream's message; undefined = skip. */
  encode(rs: ComputeResponse[]): Uint8Array | undefined;
}

const ids = Array.from({ length: N }, (_, i) => `u${1000 + i}`);
/**
 * Worker `w`'s reports of tick `k` (fresh objects, as a worker message delivers them); with
 * BENCH_SUBSCRIBE=1 also the batch of a subscribe over the frontier log (environmentd's
 * introspection subscribe): a retraction and an insertion per index of the rows
 * `[export id, worker id, time]` (`compute_frontiers`), consolidated as the worker's subscribe
 * sink sends it.
 */
const reports = (k: number, w = 0): ComputeResponse[] => {
  const t = T0 + BigInt(k) * 1000n;
  const out: ComputeResponse[] = ids.map((id) => ({
    kind: "frontiers",
    id,
    frontiers: { write: t, input: t, output: t },
  }));
  if (SUBSCRIBE) {
    const worker = BigInt(w);
    const updates = consolidateUpdates(
      ids.flatMap((id) => [
        [[id, worker, t - 1000n], t - 1n, -1] as const,
        [[id, worker, t], t - 1n, 1] as const,
      ]),
    );
    out.push({
      kind: "subscribeResponse",
      id: "t1",
      response: { kind: "batch", lower: t - 1000n, upper: t, result: { kind: "updates", updates } },
    });
  }
  return out;
};
const asCluster = (rs: ComputeResponse[]): ClusterResponse[] =>
  rs.map((response) => ({ kind: "compute", response }));

const current = (w: number) => new PartitionedComputeState(w);
const pipelines: Pipeline[] = [
  {
    name: "reflective",
    merger: current,
    encode: (rs) => toBinary(computeV1.ControlResponseSchema, computeResponsesToProto(rs)),
  },
  {
    name: "framed",
    merger: current,
    encode: (rs) => toBinary(computeV1.ControlResponseSchema, computeResponsesFramed(rs)),
  },
  {
    name: "reflective/cluster",
    merger: current,
    encode: (rs) =>
      toBinary(clusterV1.ControlResponseSchema, clusterResponsesToProto(asCluster(rs))),
  },
  {
    name: "framed/cluster",
    merger: current,
    encode: (rs) =>
      toBinary(clusterV1.ControlResponseSchema, clusterResponsesFramed(asCluster(rs))),
  },
  { name: "merge only", merger: current, encode: () => undefined },
  {
    name: "encode only",
    merger: () => undefined,
    encode: (rs) => toBinary(computeV1.ControlResponseSchema, computeResponsesFramed(rs)),
  },
];
if (process.env.BENCH_BASE) {
  const base = (await import(process.env.BENCH_BASE)) as typeof import("@mzts/protocol");
  pipelines.unshift(
    {
      name: "base",
      merger: (w) => new base.PartitionedComputeState(w),
      encode: (rs) => toBinary(computeV1.ControlResponseSchema, base.computeResponsesToProto(rs)),
    },
    {
      name: "base framed",
      merger: (w) => new base.PartitionedComputeState(w),
      encode: (rs) => toBinary(computeV1.ControlResponseSchema, base.computeResponsesFramed(rs)),
    },
    {
      name: "base framed/cluster",
      merger: (w) => new base.PartitionedComputeState(w),
      encode: (rs) =>
        toBinary(clusterV1.ControlResponseSchema, base.clusterResponsesFramed(asCluster(rs))),
    },
    {
      name: "base merge only",
      merger: (w) => new base.PartitionedComputeState(w),
      encode: () => undefined,
    },
    {
      name: "base encode only",
      merger: () => undefined,
      encode: (rs) => toBinary(computeV1.ControlResponseSchema, base.computeResponsesFramed(rs)),
    },
  );
}

/** Runs `ticks` ticks; returns µs per tick and the bytes of the last message. */
function run(p: Pipeline, workers: number, first: number, ticks: number) {
  const merger = p.merger(workers);
  let last: Uint8Array | undefined;
  let us = 0;
  for (let k = first; k < first + ticks; k++) {
    const batches = Array.from({ length: workers }, (_, w) => reports(k, w));
    const start = performance.now();
    for (let w = 0; w < workers; w++) {
      let merged: ComputeResponse[];
      if (merger === undefined) merged = w === workers - 1 ? (batches[w] as ComputeResponse[]) : [];
      else {
        merged = [];
        for (const r of batches[w] as ComputeResponse[]) {
          for (const m of merger.absorb(w, r)) merged.push(m);
        }
      }
      if (merged.length > 0) last = p.encode(merged) ?? last;
    }
    us += (performance.now() - start) * 1000;
  }
  return { us: us / ticks, last };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

console.log(
  `response path: N=${N}${SUBSCRIBE ? " + subscribe" : ""}, ${TICKS} ticks × ${RUNS} runs, loadavg ${loadavg()}`,
);
for (const workers of WORKERS) {
  // Same bytes from every encoding row (the cluster rows against each other).
  const bytes = new Map(pipelines.map((p) => [p.name, run(p, workers, 1, 2).last]));
  for (const [a, b] of [
    ["reflective", "framed"],
    ["reflective", "base"],
    ["framed", "base framed"],
    ["framed/cluster", "base framed/cluster"],
    ["reflective/cluster", "framed/cluster"],
  ] as const) {
    const x = bytes.get(a);
    const y = bytes.get(b);
    if (x && y && !Buffer.from(x).equals(y))
      throw new Error(`${a} and ${b} differ at W=${workers}`);
  }
  const us = new Map<string, number[]>(pipelines.map((p) => [p.name, []]));
  for (let r = 0; r < RUNS; r++) {
    const order = r % 2 === 0 ? pipelines : [...pipelines].reverse();
    for (const p of order) us.get(p.name)?.push(run(p, workers, 10 + r * TICKS, TICKS).us);
  }
  const clone = median(
    Array.from({ length: RUNS }, () => {
      const batches = Array.from({ length: workers }, (_, w) => reports(1, w));
      const start = performance.now();
      for (const batch of batches) structuredClone(batch);
      return (performance.now() - start) * 1000;
    }),
  );
  const ref = median(us.get(process.env.BENCH_BASE ? "base" : "reflective") ?? []);
  console.log(
    `\nW=${workers}            µs/tick   vs ${process.env.BENCH_BASE ? "base" : "reflective"}`,
  );
  for (const p of pipelines) {
    const m = median(us.get(p.name) ?? []);
    console.log(`${p.name.padEnd(20)} ${m.toFixed(0).padStart(8)}   ${(m / ref).toFixed(2)}×`);
  }
  console.log(`${"structuredClone".padEnd(20)} ${clone.toFixed(0).padStart(8)}`);
}
console.log(`\nloadavg ${loadavg()}`);

function loadavg(): string {
  return os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(" ");
}
