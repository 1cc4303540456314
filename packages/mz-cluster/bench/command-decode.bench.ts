/**
 * Command-decode benchmark (issue 16): the replica main thread's decode of the idle command
 * stream — one `allowCompaction` per index and second (N = 1,000) — from the received bytes to
 * domain commands, in process:
 * - `reflective`: what Connect and the codec did before — `fromBinary(ControlRequest)` then
 *   `computeRequestFromProto` (this build's; `base`: another build's, `BENCH_BASE=<its
 *   dist/index.js>`, e.g. main's);
 * - `framed`: what a replica does now — `fromBinary(ControlRequestFrames)` (each command's bytes)
 *   then `computeRequestFromFrames` (an allowCompaction read directly);
 * each as one message of N commands and as N messages of one. Runs interleaved, medians; µs per
 * tick = µs of main-thread CPU per second. It checks first that both decodes give equal commands.
 *
 * Usage: `npx tsx bench/command-decode.bench.ts [N=1000]` with BENCH_RUNS (default 9), BENCH_BASE.
 */
import os from "node:os";
import { isDeepStrictEqual } from "node:util";
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import {
  type ComputeCommand,
  computeRequestFromFrames,
  computeRequestFromProto,
  computeRequestToProto,
} from "@mzts/protocol";
import { computeV1 } from "@mzts/protocol/wire";

const N = Number(process.argv[2] ?? 1000);
const RUNS = Number(process.env.BENCH_RUNS ?? 9);
const REPS = 20;
const T0 = 1_700_000_000_000n;

const cmds: ComputeCommand[] = Array.from({ length: N }, (_, i) => ({
  kind: "allowCompaction",
  id: `u${1000 + i}`,
  frontier: T0 + BigInt(i),
}));
const encode = (cs: ComputeCommand[]) =>
  toBinary(computeV1.ControlRequestSchema, computeRequestToProto(cs));
const one = encode(cmds);
const singles = cmds.map((c) => encode([c]));

type Decode = (bytes: Uint8Array) => ComputeCommand[];
const decoders: [string, Decode][] = [
  ["reflective", (b) => computeRequestFromProto(fromBinary(computeV1.ControlRequestSchema, b))],
  [
    "framed",
    (b) => computeRequestFromFrames(fromBinary(computeV1.ControlRequestFramesSchema, b).commands),
  ],
];
if (process.env.BENCH_BASE) {
  const base = (await import(process.env.BENCH_BASE)) as typeof import("@mzts/protocol");
  decoders.unshift([
    "base",
    (b) => base.computeRequestFromProto(fromBinary(computeV1.ControlRequestSchema, b)),
  ]);
}
for (const [name, d] of decoders) {
  if (!isDeepStrictEqual(d(one), cmds)) throw new Error(`${name} decodes differently`);
}

const rows: [string, () => void][] = [];
for (const [name, d] of decoders) {
  rows.push([`${name}, 1 msg × ${N}`, () => d(one)]);
  rows.push([
    `${name}, ${N} msgs × 1`,
    () => {
      for (const s of singles) d(s);
    },
  ]);
}
const us = new Map<string, number[]>(rows.map(([n]) => [n, []]));
const load = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(" ");
console.log(`command decode: N=${N}, ${REPS} ticks × ${RUNS} runs, loadavg ${load()}`);
for (let r = 0; r < RUNS; r++) {
  for (const [name, f] of r % 2 === 0 ? rows : [...rows].reverse()) {
    const start = performance.now();
    for (let k = 0; k < REPS; k++) f();
    us.get(name)?.push(((performance.now() - start) * 1000) / REPS);
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const ref = process.env.BENCH_BASE ? "base" : "reflective";
for (const [name] of rows) {
  const m = median(us.get(name) ?? []);
  const shape = name.slice(name.indexOf(","));
  const r = median(us.get(`${ref}${shape}`) ?? []);
  console.log(
    `${name.padEnd(28)} ${m.toFixed(0).padStart(7)} µs/tick   ${(m / r).toFixed(2)}× ${ref}`,
  );
}
console.log(`loadavg ${load()}`);
