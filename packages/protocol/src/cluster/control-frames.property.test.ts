/**
 * The cluster stream's framed codec (`control-frames.ts`) against the plain one: the request bytes
 * a replica receives are identical for every batch of commands (compute commands wrapped around
 * the compute codec's shared bytes), responses decode to the same values and the same
 * `MalformedResponse`s, and a skipped compute peek answer is exactly one the full decode would
 * have delivered for a uuid nobody waits for.
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { fc, test } from "@fast-check/vitest";
import { describe, expect, it } from "vitest";
import type { ComputeCommand } from "../compute/command.js";
import { computeCommandFrame } from "../compute/control-frames.js";
import {
  type ClusterResponse as ClusterResponseProto,
  ClusterResponseSchema,
  ClusterService,
  ControlRequestSchema,
  ControlResponseSchema,
} from "../gen/mz/cluster/v1/cluster_pb.js";
import {
  ControlRequestFramesSchema,
  ControlResponseFramesSchema,
} from "../gen/mz/cluster/v1/control_frames_pb.js";
import {
  clusterCommand,
  clusterResponse,
  computeCommand,
  computeCommands,
  computeResponses,
} from "../testdata/arbitraries.js";
import { decodeOutcome } from "../testdata/decode-outcome.js";
import {
  type ClusterCommand,
  type ClusterResponse,
  clusterRequestToProto,
  clusterResponsesFromProto,
  clusterResponsesToProto,
} from "./cluster-command.js";
import {
  ClusterFramesService,
  clusterCommandFrame,
  clusterRequestFrames,
  clusterResponsesFromFrames,
  parseClusterResponseFrames,
} from "./control-frames.js";

const batch = <T>(a: fc.Arbitrary<T>) => fc.array(a, { minLength: 1, maxLength: 6 });
const compute = (command: ComputeCommand): ClusterCommand => ({ kind: "compute", command });
const peekAnswer: fc.Arbitrary<ClusterResponse> = computeResponses.peekResponse.map((response) => ({
  kind: "compute",
  response,
}));
const UUID = "0f9a44f2-5b1e-4c4f-9a55-3c1c7d0b8e21";

const outcome = decodeOutcome;

const plainBytes = (rs: readonly ClusterResponse[]) =>
  toBinary(ControlResponseSchema, clusterResponsesToProto(rs));

/** The bytes of one response message carrying `frames` (`ControlResponse` framing). */
const framesBytes = (frames: readonly Uint8Array[]) =>
  toBinary(
    ControlResponseFramesSchema,
    create(ControlResponseFramesSchema, { responses: [...frames] }),
  );

/** A binary `ClusterResponse` carrying a compute peek answer to `uuid` with `result`. */
const computeAnswerFrame = (
  uuid: string,
  result: { case: "rows"; value: { formatVersion: number } } | { case: "canceled"; value: object },
) =>
  toBinary(
    ClusterResponseSchema,
    create(ClusterResponseSchema, {
      kind: { case: "compute", value: { kind: { case: "peekResponse", value: { uuid, result } } } },
    }),
  );

/** An answer whose rows are of a format no decoder knows (malformed when decoded). */
const unreadableRows = (uuid: string) =>
  computeAnswerFrame(uuid, { case: "rows", value: { formatVersion: 999 } });

/** Frames the codec refuses, or that take the reflective path (and a few it takes). */
const oddFrames: readonly Uint8Array[] = [
  new Uint8Array(), // no case
  toBinary(
    ClusterResponseSchema,
    create(ClusterResponseSchema, { kind: { case: "compute", value: {} } }),
  ),
  computeAnswerFrame("not-a-uuid", { case: "canceled", value: {} }),
  toBinary(
    ClusterResponseSchema,
    create(ClusterResponseSchema, { kind: { case: "storage", value: {} } }),
  ),
  unreadableRows(UUID),
  // compute, then storage: the last case wins (reflective path)
  new Uint8Array([0x0a, 0x00, 0x12, 0x00]),
  // compute with an unknown field after it (reflective path)
  new Uint8Array([0x0a, 0x00, 0x78, 0x05]),
];

const plainOutcome = (bytes: Uint8Array) =>
  outcome(() => clusterResponsesFromProto(fromBinary(ControlResponseSchema, bytes)));

describe("ClusterFramesService", () => {
  it("is ClusterService.Control with the framed messages: same path, same kind", () => {
    const framed = ClusterFramesService.method.control;
    expect(`/${framed.parent.typeName}/${framed.name}`).toBe(
      "/mz.cluster.v1.ClusterService/Control",
    );
    expect(framed.parent).toBe(ClusterService);
    expect(framed.methodKind).toBe(ClusterService.method.control.methodKind);
    expect(framed.input).toBe(ControlRequestFramesSchema);
    expect(framed.output).toBe(ControlResponseFramesSchema);
    expect(ClusterFramesService.methods).toEqual([framed]);
  });
});

describe("requests", () => {
  test.prop([batch(clusterCommand)])("the framed request's bytes are the plain one's", (cmds) => {
    const framed = toBinary(ControlRequestFramesSchema, clusterRequestFrames(cmds));
    expect(framed).toEqual(toBinary(ControlRequestSchema, clusterRequestToProto(cmds)));
  });

  test.prop([fc.oneof(computeCommands.peek, computeCommands.cancelPeek, computeCommand)], {
    numRuns: 500,
  })("a compute command's bytes are the shared compute frame behind the cluster envelope", (c) => {
    const frame = clusterCommandFrame(compute(c));
    const plain = toBinary(ControlRequestSchema, clusterRequestToProto([compute(c)]));
    expect(toBinary(ControlRequestFramesSchema, clusterRequestFrames([compute(c)]))).toEqual(plain);
    const inner = computeCommandFrame(c);
    expect(frame.subarray(frame.length - inner.length)).toEqual(inner);
  });

  it("writes lengths of one to three varint bytes like the reflective encoder", () => {
    for (const n of [0, 120, 130, 300, 16_370, 16_390, 70_000]) {
      const c = compute({ kind: "cancelPeek", uuid: "x".repeat(n) });
      expect(toBinary(ControlRequestFramesSchema, clusterRequestFrames([c]))).toEqual(
        toBinary(ControlRequestSchema, clusterRequestToProto([c])),
      );
    }
  });

  it("encodes a compute command once per turn, however many replicas send it", async () => {
    const cmd = { kind: "cancelPeek", uuid: UUID } as const;
    // Each replica's stream wraps the command in its own ClusterCommand object.
    const first = clusterCommandFrame(compute(cmd));
    expect(clusterRequestFrames([compute(cmd)]).commands[0]).toBe(first);
    await new Promise((r) => setImmediate(r));
    const next = clusterCommandFrame(compute(cmd));
    expect(next).not.toBe(first); // the turn's cache is gone: nothing is held longer
    expect(next).toEqual(first);
  });
});

describe("responses", () => {
  test.prop([batch(clusterResponse)])("decode like the plain message", (rs) => {
    const bytes = plainBytes(rs);
    const framed = clusterResponsesFromFrames(parseClusterResponseFrames(bytes));
    expect(framed).toEqual(clusterResponsesFromProto(fromBinary(ControlResponseSchema, bytes)));
    expect(framed).toEqual(rs);
  });

  test.prop([batch(fc.oneof(clusterResponse, peekAnswer))])(
    "decode like the plain message when every peek is awaited (rows read from the scan)",
    (rs) => {
      const framed = parseClusterResponseFrames(plainBytes(rs));
      expect(clusterResponsesFromFrames(framed, () => true)).toEqual(rs);
    },
  );

  test.prop([
    batch(
      fc.oneof(
        clusterResponse.map((r) =>
          toBinary(
            ClusterResponseSchema,
            clusterResponsesToProto([r]).responses[0] as ClusterResponseProto,
          ),
        ),
        fc.constantFrom(...oddFrames),
      ),
    ),
  ])("refuse what the plain decoder refuses, with the same MalformedResponse", (frames) => {
    const bytes = framesBytes(frames);
    const plain = plainOutcome(bytes);
    const framed = parseClusterResponseFrames(bytes);
    expect(outcome(() => clusterResponsesFromFrames(framed))).toEqual(plain);
    expect(outcome(() => clusterResponsesFromFrames(framed, () => true))).toEqual(plain);
  });

  it("refuses an empty message like the plain decoder", () => {
    const empty = new Uint8Array();
    const plain = plainOutcome(empty);
    expect(outcome(() => clusterResponsesFromFrames(parseClusterResponseFrames(empty)))).toEqual(
      plain,
    );
    expect(plain).toMatchObject({ malformed: expect.stringMatching(/at responses: is empty/) });
  });

  test.prop([batch(fc.oneof(clusterResponse, peekAnswer)), fc.func(fc.boolean())])(
    "leave out exactly the compute peek answers nobody waits for, and ask once for each",
    (rs, waits) => {
      const asked: string[] = [];
      const got = clusterResponsesFromFrames(parseClusterResponseFrames(plainBytes(rs)), (uuid) => {
        asked.push(uuid);
        return waits(uuid);
      });
      const isPeek = (r: ClusterResponse) =>
        r.kind === "compute" && r.response.kind === "peekResponse";
      const uuid = (r: ClusterResponse) => (r.response as { uuid: string }).uuid;
      expect(asked).toEqual(rs.filter(isPeek).map(uuid));
      expect(got).toEqual(rs.filter((r) => !isPeek(r) || waits(uuid(r))));
    },
  );

  it("skips an answer whose rows it does not read, and decodes (refuses) it when awaited", () => {
    const msg = parseClusterResponseFrames(framesBytes([unreadableRows(UUID)]));
    expect(clusterResponsesFromFrames(msg, () => false)).toEqual([]);
    expect(() => clusterResponsesFromFrames(msg, () => true)).toThrow(
      /malformed compute response peekResponse at responses\[0\]\.compute\.peekResponse\.rows/,
    );
  });

  it("never skips a badly framed frame: it is refused with MalformedResponse", () => {
    const good = toBinary(
      ClusterResponseSchema,
      clusterResponsesToProto([
        {
          kind: "compute",
          response: { kind: "peekResponse", uuid: UUID, response: { kind: "canceled" } },
        },
      ]).responses[0] as ClusterResponseProto,
    );
    const truncated = good.subarray(0, good.length - 1);
    let asked = 0;
    const msg = create(ControlResponseFramesSchema, { responses: [truncated] });
    expect(() =>
      clusterResponsesFromFrames(msg, () => {
        asked++;
        return false;
      }),
    ).toThrow(/malformed cluster response \(kind unknown\) at responses\[0\]: undecodable payload/);
    expect(asked).toBe(0);
  });
});
