/**
 * A worker's direct read of a forwarded peek (`forwarded-peek-reader.ts`) against the main
 * thread's decode of the same bytes (`peekCommandAt` + `peekFromProto`): on frames of the direct
 * shape and on those frames corrupted (a byte replaced, the tail cut off, bytes appended), every
 * frame the main thread would forward (read directly and valid) reads back as the main thread's
 * peek, and the worker's reader accepts nothing the main thread's direct reader refuses.
 */
import { toBinary } from "@bufbuild/protobuf";
import { fc, test } from "@fast-check/vitest";
import { describe, expect } from "vitest";
import { commandFromProtoAt, computeCommandToProto } from "../compute/codec.js";
import type { ComputeCommand, Peek } from "../compute/command.js";
import type { ComputeCommand as ComputeCommandProto } from "../gen/mz/compute/v1/command_pb.js";
import { ComputeCommandSchema } from "../gen/mz/compute/v1/command_pb.js";
import { directPeek } from "../testdata/arbitraries.js";
import { forwardedPeekAt } from "./forwarded-peek-reader.js";
import { peekCommandAt } from "./peek-reader.js";

const frameOf = (p: Peek) =>
  toBinary(ComputeCommandSchema, computeCommandToProto({ kind: "peek", peek: p }));

const corrupted = (frame: Uint8Array) =>
  fc.oneof(
    fc
      .tuple(fc.nat(frame.length - 1), fc.integer({ min: 0, max: 255 }))
      .map(([i, v]) => Uint8Array.from(frame, (b, j) => (j === i ? v : b))),
    fc.nat(frame.length - 1).map((n) => frame.slice(0, n)),
    fc.uint8Array({ minLength: 1, maxLength: 3 }).map((x) => Uint8Array.from([...frame, ...x])),
  );

/** The main thread's decode of a frame read directly: the command, or undefined (not forwarded). */
function mainThread(frame: Uint8Array): ComputeCommand | undefined {
  const shape = peekCommandAt(frame, 0, frame.length);
  if (shape === undefined) return undefined;
  try {
    return commandFromProtoAt(shape as unknown as ComputeCommandProto, "commands[0].");
  } catch {
    return undefined;
  }
}

/** A frame inside a larger buffer: the reader honours `[at, end)`. */
function embedded(frame: Uint8Array): [Uint8Array, number, number] {
  const b = new Uint8Array(frame.length + 7).fill(0xff);
  b.set(frame, 3);
  return [b, 3, 3 + frame.length];
}

function check(frame: Uint8Array): void {
  const main = mainThread(frame);
  const [b, at, end] = embedded(frame);
  const worker = forwardedPeekAt(b, at, end);
  if (main !== undefined) {
    expect(main.kind).toBe("peek");
    expect(worker).toStrictEqual((main as Extract<ComputeCommand, { kind: "peek" }>).peek);
  }
  if (worker !== undefined) expect(peekCommandAt(frame, 0, frame.length)).toBeDefined();
}

describe("a worker's read of a forwarded peek", () => {
  test.prop([directPeek], { numRuns: 400 })("the main thread's peek, read back", (p) => {
    const frame = frameOf(p);
    expect(forwardedPeekAt(frame, 0, frame.length)).toStrictEqual(p);
    check(frame);
  });

  test.prop([directPeek.map(frameOf).chain((frame) => corrupted(frame))], { numRuns: 1500 })(
    "corrupted frames: the main thread's peek when it would forward it, never more accepted",
    check,
  );

  test("a timestamp past 2^49 and a limit and an offset past 2^49 read as the main thread reads them", () => {
    const big = 2n ** 52n + 3n;
    const p: Peek = {
      uuid: "00000000-0000-4000-8000-000000000000",
      target: { kind: "index", id: "u1" },
      arity: 1,
      timestamp: 2n ** 63n + 5n,
      mapFilterProject: { exprs: [], predicates: [], projection: [0] },
      finishing: { orderBy: [], offset: Number(big), limit: Number(big), project: [0] },
    };
    const frame = frameOf(p);
    const main = mainThread(frame);
    expect(main).toBeDefined();
    expect(forwardedPeekAt(frame, 0, frame.length)).toStrictEqual(
      (main as Extract<ComputeCommand, { kind: "peek" }>).peek,
    );
  });
});
