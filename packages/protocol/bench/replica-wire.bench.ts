/**
 * Issue 16, in process: environmentd's controller → replica wire cost of ONE API peek on the
 * demo cluster (two replicas), the plain codec against the framed one (`@mzts/protocol`'s
 * `control-frames.ts`), interleaved in the same run. Per peek, for each of the 2 replicas:
 * encode the peek's request message, then the cancel's (`toBinary` as Connect does), and decode
 * that replica's answer message (40 rows of (text, int8), as `top_bidders_idx`): the plain codec
 * decodes both answers; the framed one encodes each command once (the second replica reuses the
 * first's bytes) and drops the second answer undecoded (the peek is settled by then).
 *
 * Usage: npx tsx bench/replica-wire.bench.ts [peeks per round (default 20000)] [rounds (default 5)]
 * (from packages/protocol; runs the sources). Prints µs per peek (median over rounds) and the ratio.
 */

import { loadavg } from "node:os";
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import {
  type ComputeCommand,
  type ComputeResponse,
  computeRequestFrames,
  computeRequestToProto,
  computeResponsesFromFrames,
  computeResponsesFromProto,
  computeResponsesToProto,
} from "../src/index.js";
import { peekOf } from "../src/testdata/compute-commands.js";
import { computeV1 } from "../src/wire.js";

const N = Number(process.argv[2] ?? 20_000);
const ROUNDS = Number(process.argv[3] ?? 5);
const REPLICAS = 2;
/** Peeks per event-loop turn (the coalescer's batch is per turn; the frame cache is too). */
const PER_TURN = 32;

const uuidOf = (i: number) => `00000000-0000-4000-8000-${i.toString(16).padStart(12, "0")}`;
const answerBytes = (uuid: string) =>
  toBinary(
    computeV1.ControlResponseSchema,
    computeResponsesToProto([
      {
        kind: "peekResponse",
        uuid,
        response: {
          kind: "rows",
          rows: Array.from(
            { length: 40 },
            (_, i) => [[`bidder-${i}`, BigInt(1000 - i)], 1] as const,
          ),
        },
      } as ComputeResponse,
    ]),
  );
// The answers arrive as bytes; pre-encode them (the replica's cost, not the controller's).
const answers = Array.from({ length: PER_TURN }, (_, i) => answerBytes(uuidOf(i)));

let sink = 0;
const turn = () => new Promise((r) => setImmediate(r));

async function plain(n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const k = i % PER_TURN;
    const uuid = uuidOf(k);
    const peek: ComputeCommand = { kind: "peek", peek: peekOf(uuid, "u1", BigInt(i)) };
    const cancel: ComputeCommand = { kind: "cancelPeek", uuid };
    for (let r = 0; r < REPLICAS; r++) {
      sink += toBinary(computeV1.ControlRequestSchema, computeRequestToProto([peek])).length;
      const msg = fromBinary(computeV1.ControlResponseSchema, answers[k] as Uint8Array);
      sink += computeResponsesFromProto(msg).length;
      sink += toBinary(computeV1.ControlRequestSchema, computeRequestToProto([cancel])).length;
    }
    if (k === PER_TURN - 1) await turn();
  }
}

async function framed(n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const k = i % PER_TURN;
    const uuid = uuidOf(k);
    const peek: ComputeCommand = { kind: "peek", peek: peekOf(uuid, "u1", BigInt(i)) };
    const cancel: ComputeCommand = { kind: "cancelPeek", uuid };
    let pending = true;
    const awaits = () => pending;
    for (let r = 0; r < REPLICAS; r++) {
      sink += toBinary(computeV1.ControlRequestFramesSchema, computeRequestFrames([peek])).length;
      const msg = fromBinary(computeV1.ControlResponseFramesSchema, answers[k] as Uint8Array);
      sink += computeResponsesFromFrames(msg, awaits).length;
      pending = false; // the first answer settled it
      sink += toBinary(computeV1.ControlRequestFramesSchema, computeRequestFrames([cancel])).length;
    }
    if (k === PER_TURN - 1) await turn();
  }
}

async function time(f: (n: number) => Promise<void>): Promise<number> {
  const t0 = performance.now();
  await f(N);
  return ((performance.now() - t0) * 1000) / N;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

await plain(2000);
await framed(2000);
const p: number[] = [];
const f: number[] = [];
for (let round = 0; round < ROUNDS; round++) {
  if (round % 2 === 0) {
    p.push(await time(plain));
    f.push(await time(framed));
  } else {
    f.push(await time(framed));
    p.push(await time(plain));
  }
}
const [mp, mf] = [median(p), median(f)];
console.log(
  `load average ${loadavg()
    .map((x) => x.toFixed(2))
    .join(" ")}`,
);
console.log(
  `per peek, ${REPLICAS} replicas (peek + cancel encoded, answer decoded), median of ${ROUNDS}:`,
);
console.log(`  plain  ${mp.toFixed(2)} µs   [${p.map((x) => x.toFixed(1)).join(", ")}]`);
console.log(`  framed ${mf.toFixed(2)} µs   [${f.map((x) => x.toFixed(1)).join(", ")}]`);
console.log(`  framed / plain = ${(mf / mp).toFixed(3)}   (sink ${sink})`);
