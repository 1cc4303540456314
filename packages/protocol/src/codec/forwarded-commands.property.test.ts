/**
 * Commands forwarded to workers as bytes (`forwarded-commands.ts`): the worker's read of a
 * remembered frame gives exactly the command the main thread's framed decode gave (compute and
 * cluster streams), peeks of the direct shape and allowCompactions are always remembered, and
 * nothing else ever is.
 */
import { toBinary } from "@bufbuild/protobuf";
import { fc, test } from "@fast-check/vitest";
import { describe, expect } from "vitest";
import { computeCommandToProto } from "../compute/codec.js";
import type { ComputeCommand } from "../compute/command.js";
import { ComputeCommandSchema } from "../gen/mz/compute/v1/command_pb.js";
import { peek as anyPeek, directPeek } from "../testdata/arbitraries.js";
import { clusterFrameOf } from "../testdata/cluster-frames.js";
import { decodeForwardedCommand, forwardedFrame } from "./forwarded-commands.js";
import { clusterRequestFromFrames, computeRequestFromFrames } from "./request-frames.js";

const allowCompaction: fc.Arbitrary<ComputeCommand> = fc
  .record({
    id: fc.nat(100_000).map((n) => `u${n}`),
    frontier: fc.option(fc.bigInt({ min: 0n, max: 2n ** 49n - 1n }), { nil: null }),
  })
  .map(({ id, frontier }) => ({
    kind: "allowCompaction",
    id,
    frontier,
  }));

const frameOf = (c: ComputeCommand) => toBinary(ComputeCommandSchema, computeCommandToProto(c));

/** The main thread's decodes of `c`'s frame (compute and cluster streams). */
function mainDecodes(c: ComputeCommand): ComputeCommand[] {
  const frame = frameOf(c);
  const [compute] = computeRequestFromFrames([frame]);
  const [cluster] = clusterRequestFromFrames([clusterFrameOf(frame)]);
  if (cluster?.kind !== "compute") throw new Error("not a compute command");
  return [compute!, cluster.command];
}

describe("forwarded command frames", () => {
  const directPeekCommand = directPeek.map((peek): ComputeCommand => ({ kind: "peek", peek }));
  test.prop([fc.oneof(directPeekCommand, allowCompaction)], { numRuns: 400 })(
    "the hot commands are forwarded, and a worker reads back the main thread's command",
    (c) => {
      for (const decoded of mainDecodes(c)) {
        const frame = forwardedFrame(decoded);
        expect(frame).toBeDefined();
        expect(decodeForwardedCommand(Uint8Array.from(frame!))).toStrictEqual(decoded);
        // In place, inside a message's bytes (as a worker reads a run of frames).
        const run = new Uint8Array(frame!.length + 5).fill(0xff);
        run.set(frame!, 2);
        expect(decodeForwardedCommand(run, 2, 2 + frame!.length)).toStrictEqual(decoded);
      }
    },
  );

  test.prop([anyPeek], { numRuns: 300 })("any peek: forwarded only when read back equal", (p) => {
    for (const decoded of mainDecodes({ kind: "peek", peek: p })) {
      const frame = forwardedFrame(decoded);
      if (frame !== undefined) {
        expect(decodeForwardedCommand(Uint8Array.from(frame))).toStrictEqual(decoded);
      }
    }
  });

  test("other commands travel as objects", () => {
    for (const c of [
      { kind: "initializationComplete" },
      { kind: "cancelPeek", uuid: "00000000-0000-4000-8000-000000000000" },
    ] as ComputeCommand[]) {
      for (const decoded of mainDecodes(c)) expect(forwardedFrame(decoded)).toBeUndefined();
    }
    expect(decodeForwardedCommand(frameOf({ kind: "initializationComplete" }))).toBeUndefined();
  });
});
