/**
 * Negative tests of the storage codec: each class of malformed command and response is rejected
 * with `MalformedCommand`/`MalformedResponse` naming the kind and the field path.
 */
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { FrontierSchema } from "../gen/mz/repr/v1/repr_pb.js";
import { StorageCommandSchema } from "../gen/mz/storage/v1/command_pb.js";
import {
  AuctionGeneratorSchema,
  type IngestionDescription as IngestionProto,
} from "../gen/mz/storage/v1/ingestion_pb.js";
import { StorageResponseSchema } from "../gen/mz/storage/v1/response_pb.js";
import { ControlResponseSchema } from "../gen/mz/storage/v1/service_pb.js";
import { expectMalformedCommand, expectMalformedResponse } from "../testdata/expect-malformed.js";
import {
  decodeStorageCommand,
  storageCommandFromProto,
  storageCommandToProto,
  storageResponseFromProto,
  storageResponsesFromProto,
} from "./codec.js";
import type { IngestionDescription } from "./command.js";

const cmd = (init: MessageInitShape<typeof StorageCommandSchema>) =>
  storageCommandFromProto(create(StorageCommandSchema, init));
const resp = (init: MessageInitShape<typeof StorageResponseSchema>) =>
  storageResponseFromProto(create(StorageResponseSchema, init));

const ingestion: IngestionDescription = {
  sourceExports: [
    { id: "u10", shardId: "s-a", outputIndex: 0, name: "organizations" },
    { id: "u11", shardId: "s-b", outputIndex: 1, name: "users" },
  ],
  connection: {
    kind: "loadGenerator",
    generator: { kind: "counter", maxCardinality: 100n },
    seed: 42n,
    tickIntervalMs: 1000,
    deterministic: { startTimeMs: 0n, maxTicks: 10n },
  },
};

function withIngestion(mutate: (d: IngestionProto) => void) {
  const msg = storageCommandToProto({ kind: "runIngestion", id: "u10", description: ingestion });
  if (msg.kind.case !== "runIngestion" || msg.kind.value.description === undefined)
    throw new Error();
  mutate(msg.kind.value.description);
  return () => storageCommandFromProto(msg);
}

describe("storage commands: malformed input is rejected", () => {
  const at = "runIngestion.description";
  const rejects = (mutate: (d: IngestionProto) => void, path: string, reason: RegExp) =>
    expectMalformedCommand(withIngestion(mutate), {
      protocol: "storage",
      kind: "runIngestion",
      path,
      reason,
    });

  it("accepts the valid fixture", () => {
    expect(withIngestion(() => {})()).toEqual({
      kind: "runIngestion",
      id: "u10",
      description: ingestion,
    });
  });
  it("a missing kind, undecodable bytes", () => {
    expectMalformedCommand(() => cmd({}), {
      kind: "unknown",
      path: "kind",
      reason: /no command kind/,
    });
    expectMalformedCommand(() => decodeStorageCommand(Uint8Array.of(0x08)), {
      kind: "unknown",
      path: "",
      reason: /undecodable/,
    });
  });
  it("ingestions: no exports, duplicate ids, empty shard, bad id", () => {
    expectMalformedCommand(() => cmd({ kind: { case: "runIngestion", value: { id: "u1" } } }), {
      kind: "runIngestion",
      path: at,
      reason: /unset/,
    });
    rejects((d) => (d.sourceExports = []), `${at}.sourceExports`, /is empty/);
    rejects(
      (d) => (d.sourceExports[1]!.id = "u10"),
      `${at}.sourceExports[1].id`,
      /duplicate source export id u10/,
    );
    rejects((d) => (d.sourceExports[0]!.shardId = ""), `${at}.sourceExports[0].shardId`, /empty/);
    // Decode-time validation: a bad shard id used to pass here and fail inside a worker
    // ("reached a worker unprepared", status stuck STARTING).
    for (const bad of ["../x", ".hidden", "a/b", "s p", "x".repeat(129)]) {
      rejects(
        (d) => (d.sourceExports[0]!.shardId = bad),
        `${at}.sourceExports[0].shardId`,
        /is not a shard id/,
      );
    }
    rejects((d) => (d.sourceExports[0]!.id = "10"), `${at}.sourceExports[0].id`, /not a GlobalId/);
  });
  it("load generators: unset connection and generator, zero tick, zero cardinality", () => {
    rejects((d) => (d.connection = { case: undefined }), `${at}.connection`, /no connection/);
    const lg = (d: IngestionProto) => {
      if (d.connection.case !== "loadGenerator") throw new Error();
      return d.connection.value;
    };
    rejects(
      (d) => (lg(d).generator = { case: undefined }),
      `${at}.loadGenerator.generator`,
      /no generator/,
    );
    rejects((d) => (lg(d).tickIntervalMs = 0), `${at}.loadGenerator.tickIntervalMs`, /is 0/);
    rejects(
      (d) => {
        const g = lg(d).generator;
        if (g.case === "counter") g.value.maxCardinality = 0n;
      },
      `${at}.loadGenerator.counter.maxCardinality`,
      /is 0/,
    );
    rejects(
      (d) =>
        (lg(d).generator = {
          case: "auction",
          value: create(AuctionGeneratorSchema, { maxAuctions: 9n }),
        }),
      `${at}.loadGenerator.auction.maxAuctions`,
      /is 9; keep at least 10 auctions/,
    );
  });
  it("sinks: unset description, connection, as_of; empty shards", () => {
    const sink = {
      fromId: "u1",
      fromShardId: "s1",
      connection: { case: "persist" as const, value: { shardId: "s2" } },
      asOf: { elements: [0n] },
    };
    expect(cmd({ kind: { case: "runSink", value: { id: "u2", description: sink } } })).toEqual({
      kind: "runSink",
      id: "u2",
      description: {
        fromId: "u1",
        fromShardId: "s1",
        connection: { kind: "persist", shardId: "s2" },
        asOf: 0n,
      },
    });
    const bad = (description: object, path: string, reason: RegExp) =>
      expectMalformedCommand(
        () => cmd({ kind: { case: "runSink", value: { id: "u2", description } } }),
        {
          kind: "runSink",
          path,
          reason,
        },
      );
    bad(
      { ...sink, connection: { case: undefined } },
      "runSink.description.connection",
      /no connection/,
    );
    bad({ ...sink, asOf: undefined }, "runSink.description.asOf", /unset/);
    bad({ ...sink, fromShardId: "" }, "runSink.description.fromShardId", /empty/);
    bad(
      { ...sink, connection: { case: "persist", value: {} } },
      "runSink.description.persist.shardId",
      /empty/,
    );
  });
  it("compaction: two-element frontier", () => {
    expectMalformedCommand(
      () =>
        cmd({
          kind: {
            case: "allowCompaction",
            value: { id: "u1", frontier: create(FrontierSchema, { elements: [1n, 2n] }) },
          },
        }),
      { kind: "allowCompaction", path: "allowCompaction.frontier.elements", reason: /2 elements/ },
    );
  });
});

describe("storage responses: malformed input is rejected", () => {
  it("a missing kind, empty stream messages", () => {
    expectMalformedResponse(() => resp({}), {
      kind: "unknown",
      path: "kind",
      reason: /no response kind/,
    });
    expectMalformedResponse(() => storageResponsesFromProto(create(ControlResponseSchema)), {
      kind: "unknown",
      path: "responses",
      reason: /is empty/,
    });
  });
  it("frontier uppers and dropped ids", () => {
    expectMalformedResponse(() => resp({ kind: { case: "frontierUpper", value: { id: "u1" } } }), {
      kind: "frontierUpper",
      path: "frontierUpper.upper",
      reason: /unset/,
    });
    expectMalformedResponse(() => resp({ kind: { case: "droppedId", value: { id: "" } } }), {
      kind: "droppedId",
      path: "droppedId.id",
      reason: /not a GlobalId/,
    });
  });
  it("status updates: unspecified status, empty error, bad replica id", () => {
    const u = { id: "u1", status: 2, timestampMs: 5n };
    expect(resp({ kind: { case: "statusUpdate", value: u } })).toEqual({
      kind: "statusUpdate",
      update: {
        id: "u1",
        status: "running",
        timestampMs: 5n,
        hints: [],
        namespacedErrors: new Map(),
      },
    });
    const bad = (v: object, path: string, reason: RegExp) =>
      expectMalformedResponse(
        () => resp({ kind: { case: "statusUpdate", value: { ...u, ...v } } }),
        {
          kind: "statusUpdate",
          path,
          reason,
        },
      );
    bad({ status: 0 }, "statusUpdate.status", /unspecified/);
    bad({ error: "" }, "statusUpdate.error", /empty/);
    bad({ replicaId: "t1" }, "statusUpdate.replicaId", /not a ReplicaId/);
  });
  it("statistics: bad object ids", () => {
    expectMalformedResponse(
      () => resp({ kind: { case: "statisticsUpdates", value: { sinks: [{ id: "sink" }] } } }),
      {
        kind: "statisticsUpdates",
        path: "statisticsUpdates.sinks[0].id",
        reason: /not a GlobalId/,
      },
    );
  });
  it("command errors name a storage command", () => {
    expectMalformedResponse(
      () =>
        resp({
          kind: {
            case: "commandError",
            value: { objectId: "u1", command: "peek", code: 1, message: "m" },
          },
        }),
      { kind: "commandError", path: "commandError.command", reason: /not a command kind/ },
    );
  });
});
