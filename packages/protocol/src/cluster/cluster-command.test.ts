/**
 * Tests of the unified stream codec's failure paths and of `checkClusterHellos`.
 */
import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { HelloMismatch } from "../errors.js";
import {
  ClusterCommandSchema,
  ClusterResponseSchema,
  ControlRequestSchema,
  ControlResponseSchema,
} from "../gen/mz/cluster/v1/cluster_pb.js";
import { expectMalformedCommand, expectMalformedResponse } from "../testdata/expect-malformed.js";
import {
  checkClusterHellos,
  clusterCommandFromProto,
  clusterRequestFromProto,
  clusterResponseFromProto,
  clusterResponsesFromProto,
  decodeClusterCommand,
} from "./cluster-command.js";
import { createHello } from "./hello.js";

describe("cluster stream", () => {
  it("rejects a command or response with neither compute nor storage set", () => {
    expectMalformedCommand(() => clusterCommandFromProto(create(ClusterCommandSchema)), {
      protocol: "cluster",
      kind: "unknown",
      path: "kind",
      reason: /neither compute nor storage/,
    });
    expectMalformedResponse(() => clusterResponseFromProto(create(ClusterResponseSchema)), {
      protocol: "cluster",
      kind: "unknown",
      path: "kind",
      reason: /neither compute nor storage/,
    });
    expectMalformedCommand(() => decodeClusterCommand(Uint8Array.of(0x12, 0x09)), {
      protocol: "cluster",
      kind: "unknown",
      path: "",
      reason: /undecodable/,
    });
  });

  it("reports inner errors with the inner protocol and the full path", () => {
    const req = create(ControlRequestSchema, {
      commands: [
        { kind: { case: "storage", value: { kind: { case: "allowWrites", value: {} } } } },
        { kind: { case: "compute", value: { kind: { case: "schedule", value: { id: "nope" } } } } },
      ],
    });
    expectMalformedCommand(() => clusterRequestFromProto(req), {
      protocol: "compute",
      kind: "schedule",
      path: "commands[1].compute.schedule.id",
      reason: /not a GlobalId/,
    });
    const msg = create(ControlResponseSchema, {
      responses: [
        { kind: { case: "storage", value: { kind: { case: "droppedId", value: { id: "x" } } } } },
      ],
    });
    expectMalformedResponse(() => clusterResponsesFromProto(msg), {
      protocol: "storage",
      kind: "droppedId",
      path: "responses[0].storage.droppedId.id",
      reason: /not a GlobalId/,
    });
    expectMalformedCommand(() => clusterRequestFromProto(create(ControlRequestSchema)), {
      protocol: "cluster",
      kind: "unknown",
      path: "commands",
      reason: /is empty/,
    });
  });

  it("checkClusterHellos accepts equal hellos and names both when they differ", () => {
    const h = createHello(7n);
    expect(() => checkClusterHellos(h, { ...h })).not.toThrow();
    expect(() => checkClusterHellos(h, { ...h, generation: 8n })).toThrow(HelloMismatch);
    expect(() => checkClusterHellos(h, createHello(7n))).toThrow(
      /nonce .* and the storage hello \(nonce/,
    );
  });
});
