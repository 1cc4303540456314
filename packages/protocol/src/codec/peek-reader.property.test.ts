/**
 * The direct read of framed peeks (`peek-reader.ts`) against the reflective decode of the same
 * bytes: for any peek (the general arbitrary, and one of the shape read directly — which must
 * then be read directly), and for those frames corrupted (a byte replaced, bytes cut off or
 * appended), the compute and cluster streams' framed decoders give what the reflective one gives:
 * the same commands, or a `MalformedCommand` with the same message.
 */
import { toBinary } from "@bufbuild/protobuf";
import { fc, test } from "@fast-check/vitest";
import { describe, expect } from "vitest";
import { clusterCommandFromProtoAt } from "../cluster/cluster-command.js";
import { commandFromProtoAt, computeCommandToProto } from "../compute/codec.js";
import type { ComputeCommand, Peek } from "../compute/command.js";
import { ClusterCommandSchema } from "../gen/mz/cluster/v1/cluster_pb.js";
import { ComputeCommandSchema } from "../gen/mz/compute/v1/command_pb.js";
import { peek as anyPeek, directPeek } from "../testdata/arbitraries.js";
import { clusterFrameOf } from "../testdata/cluster-frames.js";
import { parseBinary } from "./envelope.js";
import { peekCommandAt } from "./peek-reader.js";
import { clusterRequestFromFrames, computeRequestFromFrames } from "./request-frames.js";

const frameOf = (p: Peek) =>
  toBinary(ComputeCommandSchema, computeCommandToProto({ kind: "peek", peek: p }));

/** The commands, or the error's class and message. */
function outcome(f: () => unknown): unknown {
  try {
    return { ok: f() };
  } catch (e) {
    return { err: (e as Error).name, message: (e as Error).message };
  }
}

/** The reflective decode of one compute frame (a stream message carrying it). */
const reflectiveCompute = (frame: Uint8Array) =>
  outcome(() => [
    commandFromProtoAt(
      parseBinary(ComputeCommandSchema, frame, "compute", "command", "commands[0]"),
      "commands[0].",
    ),
  ]);
const framedCompute = (frame: Uint8Array) => outcome(() => computeRequestFromFrames([frame]));

/** A corruption of `frame`: a byte replaced, the tail cut off, or bytes appended. */
const corrupted = (frame: Uint8Array) =>
  fc.oneof(
    fc
      .tuple(fc.nat(frame.length - 1), fc.integer({ min: 0, max: 255 }))
      .map(([i, v]) => Uint8Array.from(frame, (b, j) => (j === i ? v : b))),
    fc.nat(frame.length - 1).map((n) => frame.slice(0, n)),
    fc.uint8Array({ minLength: 1, maxLength: 3 }).map((x) => Uint8Array.from([...frame, ...x])),
  );

describe("framed peeks read directly decode as the reflective decoder does", () => {
  test.prop([directPeek], { numRuns: 300 })("the direct shape is read directly", (p) => {
    const frame = frameOf(p);
    expect(peekCommandAt(frame, 0, frame.length)).toBeDefined();
    const got = framedCompute(frame);
    expect(got).toEqual(reflectiveCompute(frame));
    expect(got).toEqual({ ok: [{ kind: "peek", peek: p } satisfies ComputeCommand] });
  });

  test.prop([fc.oneof(anyPeek, directPeek)], { numRuns: 300 })("any peek", (p) => {
    const frame = frameOf(p);
    expect(framedCompute(frame)).toEqual(reflectiveCompute(frame));
    const cluster = clusterFrameOf(frame);
    expect(outcome(() => clusterRequestFromFrames([cluster]))).toEqual(
      outcome(() => [
        clusterCommandFromProtoAt(
          parseBinary(ClusterCommandSchema, cluster, "cluster", "command", "commands[0]"),
          0,
        ),
      ]),
    );
  });

  test.prop([directPeek.map(frameOf).chain((frame) => corrupted(frame))], { numRuns: 1000 })(
    "corrupted frames: the same command or the same error",
    (frame) => {
      expect(framedCompute(frame)).toEqual(reflectiveCompute(frame));
    },
  );
});
