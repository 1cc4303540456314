/**
 * Round-trip properties of the unified cluster stream codec: compute and storage commands and
 * responses wrapped in `ClusterCommand`/`ClusterResponse` survive binary and JSON unchanged.
 */
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { fc, test } from "@fast-check/vitest";
import { describe, expect } from "vitest";
import {
  ClusterCommandSchema,
  ClusterResponseSchema,
  ControlRequestSchema,
  ControlResponseSchema,
} from "../gen/mz/cluster/v1/cluster_pb.js";
import { clusterCommand, clusterResponse } from "../testdata/arbitraries.js";
import { viaBinary, viaJson, withoutNegativeZero } from "../testdata/round-trip.js";
import {
  clusterCommandFromProto,
  clusterCommandToProto,
  clusterRequestFromProto,
  clusterRequestToProto,
  clusterResponseFromProto,
  clusterResponsesFromProto,
  clusterResponsesToProto,
  clusterResponseToProto,
  decodeClusterCommand,
  decodeClusterResponse,
  encodeClusterCommand,
  encodeClusterResponse,
} from "./cluster-command.js";

const commandCodec = {
  schema: ClusterCommandSchema,
  toProto: clusterCommandToProto,
  fromProto: clusterCommandFromProto,
};
const responseCodec = {
  schema: ClusterResponseSchema,
  toProto: clusterResponseToProto,
  fromProto: clusterResponseFromProto,
};

describe("cluster stream round-trip", () => {
  test.prop([clusterCommand], { numRuns: 150 })("commands through binary", (c) => {
    expect(viaBinary(commandCodec, c)).toEqual(c);
    expect(decodeClusterCommand(encodeClusterCommand(c))).toEqual(c);
  });
  test.prop([clusterCommand], { numRuns: 50 })("commands through JSON", (c) => {
    expect(viaJson(commandCodec, c)).toEqual(withoutNegativeZero(c));
  });
  test.prop([clusterResponse], { numRuns: 150 })("responses through binary", (r) => {
    expect(viaBinary(responseCodec, r)).toEqual(r);
    expect(decodeClusterResponse(encodeClusterResponse(r))).toEqual(r);
  });
  test.prop([clusterResponse], { numRuns: 50 })("responses through JSON", (r) => {
    expect(viaJson(responseCodec, r)).toEqual(r);
  });
  test.prop([fc.array(clusterCommand, { minLength: 1, maxLength: 4 })], { numRuns: 30 })(
    "batched requests keep order",
    (cs) => {
      const req = clusterRequestToProto(cs);
      const back = fromBinary(ControlRequestSchema, toBinary(ControlRequestSchema, req));
      expect(clusterRequestFromProto(back)).toEqual(cs);
    },
  );
  test.prop([fc.array(clusterResponse, { minLength: 1, maxLength: 4 })], { numRuns: 30 })(
    "batched responses keep order",
    (rs) => {
      const msg = clusterResponsesToProto(rs);
      const back = fromBinary(ControlResponseSchema, toBinary(ControlResponseSchema, msg));
      expect(clusterResponsesFromProto(back)).toEqual(rs);
    },
  );
});
