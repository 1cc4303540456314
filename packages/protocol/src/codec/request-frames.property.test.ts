/**
 * The replica's framed command decode (`request-frames.ts`) against the reflective decode of the
 * same bytes (what Connect and `computeRequestFromProto`/`clusterRequestFromProto` did): for every
 * command kind, for `allowCompaction`s at the edges of the direct reader (ids valid and not, ASCII
 * and not; times around 2^49 and 2^64; the empty frontier; two elements; no frontier; unpacked
 * elements), and for frames with a byte changed, the commands are equal — or the errors are the
 * same `MalformedCommand` (a message that no longer parses as a whole is a `MalformedCommand` here,
 * never another error).
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { fc, test } from "@fast-check/vitest";
import { describe, expect } from "vitest";
import { clusterRequestFromProto, clusterRequestToProto } from "../cluster/cluster-command.js";
import { computeRequestFromProto, computeRequestToProto } from "../compute/codec.js";
import { MalformedCommand } from "../errors.js";
import {
  ClusterCommandSchema,
  ControlRequestSchema as ClusterControlRequestSchema,
} from "../gen/mz/cluster/v1/cluster_pb.js";
import { type ComputeCommand, ComputeCommandSchema } from "../gen/mz/compute/v1/command_pb.js";
import { ControlRequestSchema } from "../gen/mz/compute/v1/service_pb.js";
import { clusterCommand, computeCommand } from "../testdata/arbitraries.js";
import { clusterRequestFromFrames, computeRequestFromFrames } from "./request-frames.js";

/** `repeated bytes commands = 1` of `frames`: the message both schemas read. */
function message(frames: readonly Uint8Array[]): Uint8Array {
  const parts: number[] = [];
  for (const f of frames) {
    parts.push(0x0a);
    let n = f.length;
    while (n >= 0x80) {
      parts.push((n & 0x7f) | 0x80);
      n >>>= 7;
    }
    parts.push(n, ...f);
  }
  return Uint8Array.from(parts);
}

type Outcome = { ok: unknown } | { error: string };
function outcome(f: () => unknown): Outcome {
  try {
    return { ok: f() };
  } catch (e) {
    expect(e).toBeInstanceOf(MalformedCommand);
    return { error: (e as Error).message };
  }
}

/** Compares the framed decode of `frames` with the reflective decode of the same bytes. */
function sameAsReflective(frames: readonly Uint8Array[], cluster: boolean): void {
  const bytes = message(frames);
  const got = outcome(() =>
    cluster ? clusterRequestFromFrames(frames) : computeRequestFromFrames(frames),
  );
  let parsed: unknown;
  try {
    parsed = fromBinary(cluster ? ClusterControlRequestSchema : ControlRequestSchema, bytes);
  } catch {
    // Connect refused the whole message before: here it is a MalformedCommand.
    expect("error" in got).toBe(true);
    return;
  }
  const want = outcome(() =>
    cluster ? clusterRequestFromProto(parsed as never) : computeRequestFromProto(parsed as never),
  );
  expect(got).toEqual(want);
}

const edgeId = fc.oneof(
  fc.constantFrom("u1", "s18446744073709551615", "t7", "", "u", "x1", "u1é", `u${"9".repeat(20)}`),
  fc.nat().map((n) => `u${n}`),
);
const edgeTime = fc.oneof(
  fc.constantFrom(0n, 127n, 128n, 2n ** 49n - 1n, 2n ** 49n, 2n ** 53n, 2n ** 64n - 1n),
  fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
);
/** Raw `allowCompaction` frames, valid or not, in the encodings a sender may use. */
const allowCompactionFrame: fc.Arbitrary<Uint8Array> = fc
  .tuple(edgeId, fc.array(edgeTime, { maxLength: 2 }), fc.constantFrom("set", "unset", "unpacked"))
  .map(([id, elements, how]) => {
    const msg: ComputeCommand = create(ComputeCommandSchema, {
      kind: {
        case: "allowCompaction",
        value: how === "unset" ? { id } : { id, frontier: { elements } },
      },
    });
    const b = toBinary(ComputeCommandSchema, msg);
    if (how !== "unpacked" || elements.length === 0) return b;
    // Rewrite the packed element list as one unpacked element (tag 0x08): same value, valid.
    const last = elements[elements.length - 1] as bigint;
    const varint: number[] = [];
    let v = last;
    while (v >= 0x80n) {
      varint.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    varint.push(Number(v));
    const inner = [
      0x0a,
      id.length,
      ...Buffer.from(id, "latin1"),
      0x12,
      varint.length + 1,
      0x08,
      ...varint,
    ];
    return Uint8Array.from([0x3a, inner.length, ...inner]);
  });

/** `frame` with the byte at `at` (mod length) replaced by `byte`. */
const mutate = (frame: Uint8Array, at: number, byte: number) => {
  const out = Uint8Array.from(frame);
  if (out.length > 0) out[at % out.length] = byte;
  return out;
};

describe("computeRequestFromFrames", () => {
  test.prop([fc.array(computeCommand, { minLength: 0, maxLength: 6 })])(
    "decodes every command kind as the reflective decoder does",
    (cmds) => {
      const frames = fromBinary(
        ControlRequestSchema,
        toBinary(ControlRequestSchema, computeRequestToProto(cmds)),
      ).commands.map((c) => toBinary(ComputeCommandSchema, c));
      sameAsReflective(frames, false);
    },
  );

  test.prop([fc.array(allowCompactionFrame, { minLength: 1, maxLength: 4 })])(
    "allowCompaction at the direct reader's edges: same commands, same errors",
    (frames) => sameAsReflective(frames, false),
  );

  test.prop([allowCompactionFrame, fc.nat(), fc.nat(255)])(
    "a frame with a byte changed: same commands or the same MalformedCommand",
    (frame, at, byte) => sameAsReflective([mutate(frame, at, byte)], false),
  );
});

describe("clusterRequestFromFrames", () => {
  const wrap = (frame: Uint8Array) => message([frame]).subarray(0); // ClusterCommand.compute = 1
  test.prop([fc.array(clusterCommand, { minLength: 0, maxLength: 6 })])(
    "decodes every command as the reflective decoder does",
    (cmds) => {
      const frames = fromBinary(
        ClusterControlRequestSchema,
        toBinary(ClusterControlRequestSchema, clusterRequestToProto(cmds)),
      ).commands.map((c) => toBinary(ClusterCommandSchema, c));
      sameAsReflective(frames, true);
    },
  );

  test.prop([
    fc.array(allowCompactionFrame, { minLength: 1, maxLength: 4 }),
    fc.nat(),
    fc.nat(255),
  ])("compute allowCompaction frames, plain and with a byte changed", (frames, at, byte) => {
    sameAsReflective(frames.map(wrap), true);
    sameAsReflective([mutate(wrap(frames[0] as Uint8Array), at, byte)], true);
  });
});
