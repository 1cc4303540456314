/**
 * Round-trip properties of the compute codec: every command and response kind survives
 * toProto → binary → fromProto (and the protobuf JSON form) unchanged, as do the batched stream
 * messages and the binary helpers.
 */
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { fc, test } from "@fast-check/vitest";
import { describe, expect } from "vitest";
import { ComputeCommandSchema } from "../gen/mz/compute/v1/command_pb.js";
import { ComputeResponseSchema } from "../gen/mz/compute/v1/response_pb.js";
import { ControlRequestSchema, ControlResponseSchema } from "../gen/mz/compute/v1/service_pb.js";
import {
  computeCommand,
  computeCommands,
  computeResponse,
  computeResponses,
} from "../testdata/arbitraries.js";
import { viaBinary, viaJson, withoutNegativeZero } from "../testdata/round-trip.js";
import {
  computeCommandFromProto,
  computeCommandToProto,
  computeRequestFromProto,
  computeRequestToProto,
  computeResponseFromProto,
  computeResponsesFromProto,
  computeResponsesToProto,
  computeResponseToProto,
  decodeComputeCommand,
  decodeComputeResponse,
  encodeComputeCommand,
  encodeComputeResponse,
} from "./codec.js";
import { COMPUTE_COMMAND_KINDS } from "./command.js";

const commandCodec = {
  schema: ComputeCommandSchema,
  toProto: computeCommandToProto,
  fromProto: computeCommandFromProto,
};
const responseCodec = {
  schema: ComputeResponseSchema,
  toProto: computeResponseToProto,
  fromProto: computeResponseFromProto,
};
const RUNS = { numRuns: 100 };

describe("compute commands round-trip", () => {
  test("the arbitraries cover every command kind", () => {
    expect(Object.keys(computeCommands).sort()).toEqual([...COMPUTE_COMMAND_KINDS].sort());
  });
  for (const [kind, arb] of Object.entries(computeCommands)) {
    test.prop([arb], RUNS)(`${kind} through binary`, (cmd) => {
      expect(cmd.kind).toBe(kind);
      expect(viaBinary(commandCodec, cmd)).toEqual(cmd);
    });
    test.prop([arb], { numRuns: 30 })(`${kind} through JSON`, (cmd) => {
      expect(viaJson(commandCodec, cmd)).toEqual(withoutNegativeZero(cmd));
    });
  }
  test.prop([fc.array(computeCommand, { minLength: 1, maxLength: 4 })], { numRuns: 30 })(
    "batched stream messages keep every command in order",
    (cmds) => {
      const req = computeRequestToProto(cmds);
      const back = fromBinary(ControlRequestSchema, toBinary(ControlRequestSchema, req));
      expect(computeRequestFromProto(back)).toEqual(cmds);
    },
  );
  test.prop([computeCommand], { numRuns: 50 })("encode/decode helpers", (cmd) => {
    expect(decodeComputeCommand(encodeComputeCommand(cmd))).toEqual(cmd);
  });
});

describe("compute responses round-trip", () => {
  test("the arbitraries cover every response kind", () => {
    expect(Object.keys(computeResponses).sort()).toEqual(
      ["commandError", "frontiers", "peekResponse", "status", "subscribeResponse"].sort(),
    );
  });
  for (const [kind, arb] of Object.entries(computeResponses)) {
    test.prop([arb], RUNS)(`${kind} through binary`, (r) => {
      expect(r.kind).toBe(kind);
      expect(viaBinary(responseCodec, r)).toEqual(r);
    });
    test.prop([arb], { numRuns: 30 })(`${kind} through JSON`, (r) => {
      expect(viaJson(responseCodec, r)).toEqual(r);
    });
  }
  test.prop([fc.array(computeResponse, { minLength: 1, maxLength: 4 })], { numRuns: 30 })(
    "batched stream messages keep every response in order",
    (rs) => {
      const msg = computeResponsesToProto(rs);
      const back = fromBinary(ControlResponseSchema, toBinary(ControlResponseSchema, msg));
      expect(computeResponsesFromProto(back)).toEqual(rs);
    },
  );
  test.prop([computeResponse], { numRuns: 50 })("encode/decode helpers", (r) => {
    expect(decodeComputeResponse(encodeComputeResponse(r))).toEqual(r);
  });
});
