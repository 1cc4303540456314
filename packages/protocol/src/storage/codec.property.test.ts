/**
 * Round-trip properties of the storage codec: every command and response kind survives
 * toProto → binary → fromProto (and the protobuf JSON form) unchanged, as do the batched stream
 * messages and the binary helpers.
 */
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { fc, test } from "@fast-check/vitest";
import { describe, expect } from "vitest";
import { StorageCommandSchema } from "../gen/mz/storage/v1/command_pb.js";
import { StorageResponseSchema } from "../gen/mz/storage/v1/response_pb.js";
import { ControlRequestSchema, ControlResponseSchema } from "../gen/mz/storage/v1/service_pb.js";
import {
  storageCommand,
  storageCommands,
  storageResponse,
  storageResponses,
} from "../testdata/arbitraries.js";
import { viaBinary, viaJson } from "../testdata/round-trip.js";
import {
  decodeStorageCommand,
  decodeStorageResponse,
  encodeStorageCommand,
  encodeStorageResponse,
  storageCommandFromProto,
  storageCommandToProto,
  storageRequestFromProto,
  storageRequestToProto,
  storageResponseFromProto,
  storageResponsesFromProto,
  storageResponsesToProto,
  storageResponseToProto,
} from "./codec.js";
import { STORAGE_COMMAND_KINDS } from "./command.js";

const commandCodec = {
  schema: StorageCommandSchema,
  toProto: storageCommandToProto,
  fromProto: storageCommandFromProto,
};
const responseCodec = {
  schema: StorageResponseSchema,
  toProto: storageResponseToProto,
  fromProto: storageResponseFromProto,
};
const RUNS = { numRuns: 100 };

describe("storage commands round-trip", () => {
  test("the arbitraries cover every command kind", () => {
    expect(Object.keys(storageCommands).sort()).toEqual([...STORAGE_COMMAND_KINDS].sort());
  });
  for (const [kind, arb] of Object.entries(storageCommands)) {
    test.prop([arb], RUNS)(`${kind} through binary`, (cmd) => {
      expect(cmd.kind).toBe(kind);
      expect(viaBinary(commandCodec, cmd)).toEqual(cmd);
    });
    test.prop([arb], { numRuns: 30 })(`${kind} through JSON`, (cmd) => {
      expect(viaJson(commandCodec, cmd)).toEqual(cmd);
    });
  }
  test.prop([fc.array(storageCommand, { minLength: 1, maxLength: 4 })], { numRuns: 30 })(
    "batched stream messages keep every command in order",
    (cmds) => {
      const req = storageRequestToProto(cmds);
      const back = fromBinary(ControlRequestSchema, toBinary(ControlRequestSchema, req));
      expect(storageRequestFromProto(back)).toEqual(cmds);
    },
  );
  test.prop([storageCommand], { numRuns: 50 })("encode/decode helpers", (cmd) => {
    expect(decodeStorageCommand(encodeStorageCommand(cmd))).toEqual(cmd);
  });
});

describe("storage responses round-trip", () => {
  test("the arbitraries cover every response kind", () => {
    expect(Object.keys(storageResponses).sort()).toEqual(
      ["commandError", "droppedId", "frontierUpper", "statisticsUpdates", "statusUpdate"].sort(),
    );
  });
  for (const [kind, arb] of Object.entries(storageResponses)) {
    test.prop([arb], RUNS)(`${kind} through binary`, (r) => {
      expect(r.kind).toBe(kind);
      expect(viaBinary(responseCodec, r)).toEqual(r);
    });
    test.prop([arb], { numRuns: 30 })(`${kind} through JSON`, (r) => {
      expect(viaJson(responseCodec, r)).toEqual(r);
    });
  }
  test.prop([fc.array(storageResponse, { minLength: 1, maxLength: 4 })], { numRuns: 30 })(
    "batched stream messages keep every response in order",
    (rs) => {
      const msg = storageResponsesToProto(rs);
      const back = fromBinary(ControlResponseSchema, toBinary(ControlResponseSchema, msg));
      expect(storageResponsesFromProto(back)).toEqual(rs);
    },
  );
  test.prop([storageResponse], { numRuns: 50 })("encode/decode helpers", (r) => {
    expect(decodeStorageResponse(encodeStorageResponse(r))).toEqual(r);
  });
});
