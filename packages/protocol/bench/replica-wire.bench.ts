/**
 * Issue 16, in process: environmentd's controller → replica wire cost of ONE API peek on the
 * demo cluster (two replicas), the plain codec against the framed one (`@mzts/protocol`'s
 * `control-frames.ts`), interleaved in the same run. Per peek, for each of the 2 replicas:
 * encode the peek's request message, then the cancel's (`toBinary` as Connect does), and decode
 * that replica's answer message (40 rows of (text, int8), as `top_bidders_idx`): the plain codec
 * decodes both answers; the framed one encodes each command once (the second replica reuses the
 * first's bytes) and drops the second answer undecoded (the peek is settled by then).
 *
 * The same on the phase 4 cluster stream (`cluster/control-frames.ts`, `ClusterService`: the
 * commands and answers inside `ClusterCommand`/`ClusterResponse.compute`), plain against framed.
 * The four codecs run interleaved, in a rotating order, in each round.
 *
 * Usage: npx tsx bench/replica-wire.bench.ts [peeks per round (default 20000)] [rounds (default 5)]
 * (from packages/protocol; runs the sources). Prints µs per peek (median over rounds) and the
 * framed / plain ratio of each stream.
 */

import { loadavg } from "node:os";
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import {
  type ClusterCommand,
  type ComputeCommand,
  type ComputeResponse,
  clusterRequestFrames,
  clusterRequestToProto,
  clusterResponsesFromFrames,
  clusterResponsesFromProto,
  clusterResponsesToProto,
  computeRequestFrames,
  computeRequestToProto,
  computeResponsesFromFrames,
  computeResponsesFromProto,
  computeResponsesToProto,
} from "../src/index.js";
import { peekOf } from "../src/testdata/compute-commands.js";
import { clusterV1, computeV1 } from "../src/wire.js";

const N = Number(process.argv[2] ?? 20_000);
const ROUNDS = Number(process.argv[3] ?? 5);
const REPLICAS = 2;
/** Peeks per event-loop turn (the coalescer's batch is per turn; the frame cache is too). */
const PER_TURN = 32;

const uuidOf = (i: number) => `00000000-0000-4000-8000-${i.toString(16).padStart(12, "0")}`;
const answerOf = (uuid: string): ComputeResponse => ({
  kind: "peekResponse",
  uuid,
  response: {
    kind: "rows",
    rows: Array.from({ length: 40 }, (_, i) => [[`bidder-${i}`, BigInt(1000 - i)], 1] as const),
  },
});

/** One stream's codec as the bench drives it: a command's request bytes, an answer's decode. */
interface Codec {
  readonly name: string;
  /** Whether it drops an answer nobody awaits (framed) or decodes every answer (plain). */
  readonly skips: boolean;
  encode(cmd: ComputeCommand): number;
  decode(bytes: Uint8Array, awaits: () => boolean): number;
  /** The answer message of `uuid` as it arrives (the replica's cost, not the controller's). */
  answer(uuid: string): Uint8Array;
}

const computeAnswer = (uuid: string) =>
  toBinary(computeV1.ControlResponseSchema, computeResponsesToProto([answerOf(uuid)]));
const clusterAnswer = (uuid: string) =>
  toBinary(
    clusterV1.ControlResponseSchema,
    clusterResponsesToProto([{ kind: "compute", response: answerOf(uuid) }]),
  );
const cluster = (command: ComputeCommand): ClusterCommand => ({ kind: "compute", command });

const codecs: readonly Codec[] = [
  {
    name: "compute plain ",
    skips: false,
    encode: (c) => toBinary(computeV1.ControlRequestSchema, computeRequestToProto([c])).length,
    decode: (b) => computeResponsesFromProto(fromBinary(computeV1.ControlResponseSchema, b)).length,
    answer: computeAnswer,
  },
  {
    name: "compute framed",
    skips: true,
    encode: (c) => toBinary(computeV1.ControlRequestFramesSchema, computeRequestFrames([c])).length,
    decode: (b, awaits) =>
      computeResponsesFromFrames(fromBinary(computeV1.ControlResponseFramesSchema, b), awaits)
        .length,
    answer: computeAnswer,
  },
  {
    name: "cluster plain ",
    skips: false,
    // Each replica's stream wraps the command in its own ClusterCommand (as `SubProtocol.wrap`).
    encode: (c) =>
      toBinary(clusterV1.ControlRequestSchema, clusterRequestToProto([cluster(c)])).length,
    decode: (b) => clusterResponsesFromProto(fromBinary(clusterV1.ControlResponseSchema, b)).length,
    answer: clusterAnswer,
  },
  {
    name: "cluster framed",
    skips: true,
    encode: (c) =>
      toBinary(clusterV1.ControlRequestFramesSchema, clusterRequestFrames([cluster(c)])).length,
    decode: (b, awaits) =>
      clusterResponsesFromFrames(fromBinary(clusterV1.ControlResponseFramesSchema, b), awaits)
        .length,
    answer: clusterAnswer,
  },
];
const answers = new Map(
  codecs.map((c) => [c, Array.from({ length: PER_TURN }, (_, i) => c.answer(uuidOf(i)))]),
);

let sink = 0;
const turn = () => new Promise((r) => setImmediate(r));

/** `n` API peeks: per replica, the peek's request, its answer's decode, the cancel's request. */
async function run(codec: Codec, n: number): Promise<void> {
  const bytes = answers.get(codec) as Uint8Array[];
  for (let i = 0; i < n; i++) {
    const k = i % PER_TURN;
    const uuid = uuidOf(k);
    const peek: ComputeCommand = { kind: "peek", peek: peekOf(uuid, "u1", BigInt(i)) };
    const cancel: ComputeCommand = { kind: "cancelPeek", uuid };
    let pending = true;
    const awaits = () => pending;
    for (let r = 0; r < REPLICAS; r++) {
      sink += codec.encode(peek);
      sink += codec.decode(bytes[k] as Uint8Array, awaits);
      pending = !codec.skips; // the first answer settled it
      sink += codec.encode(cancel);
    }
    if (k === PER_TURN - 1) await turn();
  }
}

async function time(codec: Codec): Promise<number> {
  const t0 = performance.now();
  await run(codec, N);
  return ((performance.now() - t0) * 1000) / N;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

for (const c of codecs) await run(c, 2000);
const times = new Map<Codec, number[]>(codecs.map((c) => [c, []]));
for (let round = 0; round < ROUNDS; round++) {
  for (let j = 0; j < codecs.length; j++) {
    const c = codecs[(round + j) % codecs.length] as Codec;
    times.get(c)?.push(await time(c));
  }
}
console.log(
  `load average ${loadavg()
    .map((x) => x.toFixed(2))
    .join(" ")}`,
);
console.log(
  `per peek, ${REPLICAS} replicas (peek + cancel encoded, answer decoded), median of ${ROUNDS}:`,
);
const med = new Map(codecs.map((c) => [c, median(times.get(c) as number[])]));
for (const c of codecs) {
  const xs = (times.get(c) as number[]).map((x) => x.toFixed(1)).join(", ");
  console.log(`  ${c.name} ${(med.get(c) as number).toFixed(2)} µs   [${xs}]`);
}
const ratio = (a: number, b: number) =>
  ((med.get(codecs[a] as Codec) as number) / (med.get(codecs[b] as Codec) as number)).toFixed(3);
console.log(`  compute: framed / plain = ${ratio(1, 0)}`);
console.log(`  cluster: framed / plain = ${ratio(3, 2)}   (sink ${sink})`);
