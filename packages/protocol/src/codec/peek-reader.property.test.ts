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
import { peek as anyPeek, uuid } from "../testdata/arbitraries.js";
import { parseBinary } from "./envelope.js";
import { peekCommandAt } from "./peek-reader.js";
import { clusterRequestFromFrames, computeRequestFromFrames } from "./request-frames.js";

const datum = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
  fc.constantFrom(0n, -1n, 127n, 128n, -(2n ** 63n), 2n ** 63n - 1n),
  fc.string({ maxLength: 20 }),
);
/** Peeks of the shape `peek-reader.ts` reads directly (ASCII ids: `u<n>`). */
const directPeek: fc.Arbitrary<Peek> = fc
  .record({
    uuid,
    id: fc.nat(10_000).map((n) => `u${n}`),
    arity: fc.integer({ min: 1, max: 4 }),
    timestamp: fc.oneof(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.constant(0n)),
    width: fc.integer({ min: 1, max: 3 }),
    constrained: fc.boolean(),
    limit: fc.option(fc.nat(1000), { nil: undefined }),
    offset: fc.nat(1000),
  })
  .chain((r) =>
    fc
      .tuple(
        fc.array(fc.array(datum, { minLength: r.width, maxLength: r.width }), { maxLength: 4 }),
        fc.array(fc.nat(r.arity - 1), { maxLength: 4 }),
      )
      .chain(([rows, projection]) =>
        fc
          .array(fc.nat(Math.max(0, projection.length - 1)), {
            maxLength: projection.length === 0 ? 0 : 3,
          })
          .map(
            (project): Peek => ({
              uuid: r.uuid,
              target: { kind: "index", id: r.id },
              arity: r.arity,
              timestamp: r.timestamp,
              ...(r.constrained ? { literalConstraints: rows } : {}),
              mapFilterProject: { exprs: [], predicates: [], projection },
              finishing: {
                orderBy: [],
                offset: r.offset,
                project,
                ...(r.limit === undefined ? {} : { limit: r.limit }),
              },
            }),
          ),
      ),
  );

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

/** A cluster frame wrapping the compute frame's command. */
const clusterFrameOf = (frame: Uint8Array) => {
  const len: number[] = [];
  for (let n = frame.length; ; n = Math.floor(n / 128)) {
    if (n < 128) {
      len.push(n);
      break;
    }
    len.push((n % 128) | 0x80);
  }
  return Uint8Array.from([0x0a, ...len, ...frame]);
};

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
