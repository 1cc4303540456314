/**
 * `scanFrontiers` (the frontiers fast path of `computeResponseFromFrame`) against the full decode:
 * on every encoded compute response — plain frontiers with times up to 2^64 − 1, every other
 * kind, and frames with bytes changed, cut or appended — it either declines (`undefined`) or
 * returns exactly what the full decode returns, and the full decode accepts what it took. Plain
 * frontiers below 2^53 must be taken (the fast path is the one used).
 */
import { create, toBinary } from "@bufbuild/protobuf";
import { fc, test } from "@fast-check/vitest";
import type { Frontier } from "@mzts/repr";
import { describe, expect, it } from "vitest";
import { ComputeResponseSchema } from "../gen/mz/compute/v1/response_pb.js";
import { computeResponse } from "../testdata/arbitrary-compute.js";
import { decodeComputeResponse, encodeComputeResponse } from "./codec.js";
import { computeResponseFromFrame } from "./control-frames.js";
import { scanFrontiers } from "./frontiers-scan.js";

const time = fc.oneof(
  fc.bigInt({ min: 0n, max: BigInt(Number.MAX_SAFE_INTEGER) }),
  fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
);
const frontier = fc.option(time, { nil: null }) as fc.Arbitrary<Frontier>;
const maybe = fc.option(frontier, { nil: undefined });
const id = fc.oneof(
  fc.nat().map((n) => `u${n}`),
  fc.nat().map((n) => `s${n}`),
  fc.nat().map((n) => `t${n}`),
  fc.string({ maxLength: 6 }),
);

/** A frontiers response in its wire form (what a replica sends), possibly invalid. */
const frontiersFrame = fc
  .record({ id, write: maybe, input: maybe, output: maybe })
  .map(({ id, write, input, output }) => {
    const f = (x: Frontier) => ({ elements: x === null ? [] : [x] });
    return toBinary(
      ComputeResponseSchema,
      create(ComputeResponseSchema, {
        kind: {
          case: "frontiers",
          value: {
            id,
            ...(write === undefined ? {} : { writeFrontier: f(write) }),
            ...(input === undefined ? {} : { inputFrontier: f(input) }),
            ...(output === undefined ? {} : { outputFrontier: f(output) }),
          },
        },
      }),
    );
  });

/** The full decode's outcome: the response or the error's message. */
function full(frame: Uint8Array): { ok: unknown } | { err: string } {
  try {
    return { ok: decodeComputeResponse(frame) };
  } catch (e) {
    return { err: (e as Error).message };
  }
}

function agrees(frame: Uint8Array): void {
  const fast = scanFrontiers(frame);
  if (fast === undefined) return;
  expect(full(frame)).toEqual({ ok: fast });
}

const mutated = (frames: fc.Arbitrary<Uint8Array>) =>
  fc
    .tuple(frames, fc.nat(), fc.nat(255), fc.constantFrom("set", "cut", "append"))
    .map(([frame, at, byte, how]) => {
      if (frame.length === 0) return frame;
      const i = at % frame.length;
      if (how === "cut") return frame.slice(0, i);
      if (how === "append") return Uint8Array.from([...frame, byte]);
      const out = Uint8Array.from(frame);
      out[i] = byte;
      return out;
    });

describe("scanFrontiers", () => {
  test.prop([frontiersFrame], { numRuns: 2000 })(
    "agrees with the full decode on frontiers",
    agrees,
  );

  test.prop([computeResponse.map(encodeComputeResponse)], { numRuns: 500 })(
    "agrees with the full decode on every response kind",
    agrees,
  );

  test.prop([mutated(fc.oneof(frontiersFrame, computeResponse.map(encodeComputeResponse)))], {
    numRuns: 3000,
  })("agrees with the full decode on damaged frames", agrees);

  it("takes plain frontiers (the fast path is used) and the frame path returns it", () => {
    for (const [w, i, o] of [
      [5n, 4n, 3n],
      [null, null, null],
      [0n, undefined, undefined],
      [undefined, 2n ** 53n - 1n, undefined],
    ] as const) {
      const frame = encodeComputeResponse({
        kind: "frontiers",
        id: "u42",
        frontiers: {
          ...(w === undefined ? {} : { write: w }),
          ...(i === undefined ? {} : { input: i }),
          ...(o === undefined ? {} : { output: o }),
        },
      });
      const fast = scanFrontiers(frame);
      expect(fast).toBeDefined();
      expect(fast).toEqual(decodeComputeResponse(frame));
      expect(computeResponseFromFrame(frame, "responses[0].", undefined)).toEqual(fast);
    }
    // 2^53 and above: left to the full decode (exact bigints there).
    const big = encodeComputeResponse({
      kind: "frontiers",
      id: "u1",
      frontiers: { write: 2n ** 53n },
    });
    expect(scanFrontiers(big)).toBeUndefined();
    expect(decodeComputeResponse(big)).toEqual({
      kind: "frontiers",
      id: "u1",
      frontiers: { write: 2n ** 53n },
    });
  });
});
