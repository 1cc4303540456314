/**
 * The framed codec (`control-frames.ts`) against the plain one: the request bytes a replica
 * receives are identical for every batch of commands, responses decode to the same values and
 * the same `MalformedResponse`s, and a skipped peek answer is exactly one the full decode would
 * have delivered for a uuid nobody waits for.
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { fc, test } from "@fast-check/vitest";
import { describe, expect, it } from "vitest";
import { MalformedResponse } from "../errors.js";
import {
  ControlRequestFramesSchema,
  ControlResponseFramesSchema,
} from "../gen/mz/compute/v1/control_frames_pb.js";
import {
  type ComputeResponse as ComputeResponseProto,
  ComputeResponseSchema,
} from "../gen/mz/compute/v1/response_pb.js";
import {
  ComputeService,
  ControlRequestSchema,
  ControlResponseSchema,
} from "../gen/mz/compute/v1/service_pb.js";
import {
  computeCommand,
  computeCommands,
  computeResponse,
  computeResponses,
} from "../testdata/arbitraries.js";
import { decodeOutcome } from "../testdata/decode-outcome.js";
import {
  computeRequestToProto,
  computeResponsesFromProto,
  computeResponsesToProto,
  encodeComputeCommand,
} from "./codec.js";
import {
  ComputeFramesService,
  computeCommandFrame,
  computeRequestFrames,
  computeResponsesFromFrames,
  parseResponseFrames,
} from "./control-frames.js";

const batch = <T>(a: fc.Arbitrary<T>) => fc.array(a, { minLength: 1, maxLength: 6 });

const outcome = decodeOutcome;

/** Proto-level responses the codec refuses (and a few it takes), to compare the two decoders. */
const rawResponse: fc.Arbitrary<ComputeResponseProto> = fc.oneof(
  computeResponse.map((r) =>
    fromBinary(
      ComputeResponseSchema,
      toBinary(
        ComputeResponseSchema,
        computeResponsesToProto([r]).responses[0] as ComputeResponseProto,
      ),
    ),
  ),
  fc.constantFrom<ComputeResponseProto>(
    create(ComputeResponseSchema, {}),
    create(ComputeResponseSchema, {
      kind: {
        case: "peekResponse",
        value: { uuid: "not-a-uuid", result: { case: "canceled", value: {} } },
      },
    }),
    create(ComputeResponseSchema, {
      kind: { case: "peekResponse", value: { uuid: "0f9a44f2-5b1e-4c4f-9a55-3c1c7d0b8e21" } },
    }),
    create(ComputeResponseSchema, {
      kind: {
        case: "peekResponse",
        value: {
          uuid: "0f9a44f2-5b1e-4c4f-9a55-3c1c7d0b8e21",
          result: { case: "error", value: "" },
        },
      },
    }),
    create(ComputeResponseSchema, {
      kind: {
        case: "peekResponse",
        value: {
          uuid: "0f9a44f2-5b1e-4c4f-9a55-3c1c7d0b8e21",
          result: { case: "rows", value: { formatVersion: 999 } },
        },
      },
    }),
    create(ComputeResponseSchema, { kind: { case: "frontiers", value: { id: "u1" } } }),
    create(ComputeResponseSchema, { kind: { case: "frontiers", value: { id: "x" } } }),
  ),
);

/** The bytes of one response message carrying `items` (`ControlResponse` framing). */
const messageBytes = (items: readonly ComputeResponseProto[]) =>
  toBinary(ControlResponseSchema, create(ControlResponseSchema, { responses: [...items] }));

describe("ComputeFramesService", () => {
  it("is ComputeService.Control with the framed messages: same path, same kind", () => {
    const framed = ComputeFramesService.method.control;
    const plain = ComputeService.method.control;
    expect(`/${framed.parent.typeName}/${framed.name}`).toBe(
      "/mz.compute.v1.ComputeService/Control",
    );
    expect(framed.parent).toBe(ComputeService);
    expect(framed.methodKind).toBe(plain.methodKind);
    expect(framed.input).toBe(ControlRequestFramesSchema);
    expect(framed.output).toBe(ControlResponseFramesSchema);
    expect(ComputeFramesService.methods).toEqual([framed]);
    expect(ComputeFramesService.typeName).toBe(ComputeService.typeName);
  });
});

describe("requests", () => {
  test.prop([batch(computeCommand)])("the framed request's bytes are the plain one's", (cmds) => {
    const framed = toBinary(ControlRequestFramesSchema, computeRequestFrames(cmds));
    expect(framed).toEqual(toBinary(ControlRequestSchema, computeRequestToProto(cmds)));
  });

  test.prop([
    fc.oneof(
      fc.uuid(),
      fc.string({ minLength: 36, maxLength: 36 }),
      fc.string({ unit: "grapheme", maxLength: 40 }),
    ),
  ])("a cancel's directly written bytes are the plain encoder's, for any uuid string", (uuid) => {
    const cmd = { kind: "cancelPeek", uuid } as const;
    expect(computeCommandFrame(cmd)).toEqual(encodeComputeCommand(cmd));
  });

  test.prop([computeCommands.peek], { numRuns: 500 })(
    "a peek's directly written bytes are the plain encoder's",
    (cmd) => {
      expect(computeCommandFrame(cmd)).toEqual(encodeComputeCommand(cmd));
    },
  );

  it("encodes a command once per turn, however many replicas send it", async () => {
    const cmd = { kind: "cancelPeek", uuid: "0f9a44f2-5b1e-4c4f-9a55-3c1c7d0b8e21" } as const;
    const first = computeCommandFrame(cmd);
    expect(computeRequestFrames([cmd]).commands[0]).toBe(first); // the same bytes object
    await new Promise((r) => setImmediate(r));
    const next = computeCommandFrame(cmd);
    expect(next).not.toBe(first); // the turn's cache is gone: nothing is held longer
    expect(next).toEqual(first);
  });
});

describe("responses", () => {
  test.prop([batch(computeResponse)])("decode like the plain message", (rs) => {
    const bytes = toBinary(ControlResponseSchema, computeResponsesToProto(rs));
    const framed = computeResponsesFromFrames(parseResponseFrames(bytes));
    expect(framed).toEqual(computeResponsesFromProto(fromBinary(ControlResponseSchema, bytes)));
    expect(framed).toEqual(rs);
  });

  test.prop([batch(fc.oneof(computeResponse, computeResponses.peekResponse))])(
    "decode like the plain message when every peek is awaited (rows read from the scan)",
    (rs) => {
      const bytes = toBinary(ControlResponseSchema, computeResponsesToProto(rs));
      expect(computeResponsesFromFrames(parseResponseFrames(bytes), () => true)).toEqual(rs);
    },
  );

  it("reads only plainly encoded row batches from the scan, and decodes or refuses the rest alike", () => {
    const uuid = "0f9a44f2-5b1e-4c4f-9a55-3c1c7d0b8e21";
    const row = [0x01, 0x00]; // whatever RowPacker makes of it, both decoders see the same bytes
    const varint = (n: bigint) => {
      const out: number[] = [];
      let v = BigInt.asUintN(64, n);
      do {
        const b = Number(v & 0x7fn);
        v >>= 7n;
        out.push(v > 0n ? b | 0x80 : b);
      } while (v > 0n);
      return out;
    };
    const len = (no: number, payload: number[]) => [
      (no << 3) | 2,
      ...varint(BigInt(payload.length)),
      ...payload,
    ];
    const answer = (batch: number[]) =>
      new Uint8Array(len(2, [...len(1, [...Buffer.from(uuid)]), ...len(2, batch)]));
    const good = toBinary(
      ComputeResponseSchema,
      computeResponsesToProto([
        { kind: "peekResponse", uuid, response: { kind: "rows", rows: [[[1n], 2]] } },
      ]).responses[0] as ComputeResponseProto,
    );
    const batches: Record<string, number[]> = {
      "unpacked diffs": [0x08, 1, ...len(2, row), 0x18, 2],
      "format version twice": [0x08, 1, 0x08, 1, ...len(2, row), ...len(3, [2])],
      "a negative diff": [0x08, 1, ...len(2, row), ...len(3, varint(-1n))],
      "a diff beyond 2^49": [0x08, 1, ...len(2, row), ...len(3, varint(1n << 50n))],
      "no rows": [0x08, 1, ...len(3, [2])],
      "no format version": [...len(2, row), ...len(3, [2])],
      "an unknown field": [0x08, 1, ...len(2, row), ...len(3, [2]), 0x78, 5],
      "a truncated diff": [0x08, 1, ...len(2, row), ...len(3, [0x82])],
    };
    const frames = {
      good,
      ...Object.fromEntries(Object.entries(batches).map(([k, b]) => [k, answer(b)])),
    };
    for (const [name, frame] of Object.entries(frames)) {
      const bytes = toBinary(
        ControlResponseFramesSchema,
        create(ControlResponseFramesSchema, { responses: [frame] }),
      );
      const plain = outcome(() =>
        computeResponsesFromProto(fromBinary(ControlResponseSchema, bytes)),
      );
      const framed = outcome(() =>
        computeResponsesFromFrames(parseResponseFrames(bytes), () => true),
      );
      if (plain !== null && typeof plain === "object" && "error" in plain) {
        // Bytes that do not parse: Connect failed the unframed message; the frame is refused.
        expect(framed, name).toEqual({
          malformed: expect.stringMatching(/at responses\[0\]: undecodable payload/),
        });
      } else expect(framed, name).toEqual(plain);
    }
  });

  test.prop([batch(rawResponse)])(
    "refuse what the plain decoder refuses, with the same MalformedResponse",
    (items) => {
      const bytes = messageBytes(items);
      const plain = outcome(() =>
        computeResponsesFromProto(fromBinary(ControlResponseSchema, bytes)),
      );
      expect(outcome(() => computeResponsesFromFrames(parseResponseFrames(bytes)))).toEqual(plain);
      // Waiting for every peek changes nothing.
      const all = outcome(() => computeResponsesFromFrames(parseResponseFrames(bytes), () => true));
      expect(all).toEqual(plain);
    },
  );

  it("refuses an empty message like the plain decoder", () => {
    const empty = new Uint8Array();
    const plain = outcome(() =>
      computeResponsesFromProto(fromBinary(ControlResponseSchema, empty)),
    );
    expect(outcome(() => computeResponsesFromFrames(parseResponseFrames(empty)))).toEqual(plain);
    expect(plain).toMatchObject({ malformed: expect.stringMatching(/at responses: is empty/) });
  });

  test.prop([
    batch(fc.oneof(computeResponse, computeResponses.peekResponse)),
    fc.func(fc.boolean()),
  ])("leave out exactly the peek answers nobody waits for, and ask once for each", (rs, waits) => {
    const bytes = toBinary(ControlResponseSchema, computeResponsesToProto(rs));
    const asked: string[] = [];
    const got = computeResponsesFromFrames(parseResponseFrames(bytes), (uuid) => {
      asked.push(uuid);
      return waits(uuid);
    });
    const peeks = rs.filter((r) => r.kind === "peekResponse");
    expect(asked).toEqual(peeks.map((r) => r.uuid));
    expect(got).toEqual(rs.filter((r) => r.kind !== "peekResponse" || waits(r.uuid)));
  });

  it("skips an answer whose rows it does not read, and decodes (refuses) it when awaited", () => {
    const uuid = "0f9a44f2-5b1e-4c4f-9a55-3c1c7d0b8e21";
    const bad = create(ComputeResponseSchema, {
      kind: {
        case: "peekResponse",
        value: { uuid, result: { case: "rows", value: { formatVersion: 999 } } },
      },
    });
    const bytes = messageBytes([bad]);
    expect(computeResponsesFromFrames(parseResponseFrames(bytes), () => false)).toEqual([]);
    expect(() => computeResponsesFromFrames(parseResponseFrames(bytes), () => true)).toThrow(
      MalformedResponse,
    );
  });

  it("never skips a badly framed frame: it is refused with MalformedResponse", () => {
    const uuid = "0f9a44f2-5b1e-4c4f-9a55-3c1c7d0b8e21";
    const good = toBinary(
      ComputeResponseSchema,
      create(ComputeResponseSchema, {
        kind: { case: "peekResponse", value: { uuid, result: { case: "canceled", value: {} } } },
      }),
    );
    const truncated = good.subarray(0, good.length - 1);
    const msg = create(ControlResponseFramesSchema, { responses: [truncated] });
    let asked = 0;
    expect(() =>
      computeResponsesFromFrames(msg, () => {
        asked++;
        return false;
      }),
    ).toThrow(/malformed compute response \(kind unknown\) at responses\[0\]: undecodable payload/);
    expect(asked).toBe(0);
  });
});
