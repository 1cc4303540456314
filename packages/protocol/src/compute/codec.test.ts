/**
 * Negative tests of the compute codec: each class of malformed command and response is rejected
 * with `MalformedCommand`/`MalformedResponse` naming the kind and the field path.
 */
import { create, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import type { Plan } from "@mzts/expr";
import { encodeRow } from "@mzts/repr";
import { describe, expect, it } from "vitest";
import { planEncodedBytes, planToProto } from "../codec/plan-codec.js";
import type { ErrorCode } from "../gen/mz/cluster/v1/error_pb.js";
import { ComputeCommandSchema } from "../gen/mz/compute/v1/command_pb.js";
import type { DataflowDescription as DataflowProto } from "../gen/mz/compute/v1/dataflow_pb.js";
import { PersistSinkConnectionSchema } from "../gen/mz/compute/v1/dataflow_pb.js";
import type { Peek as PeekProto } from "../gen/mz/compute/v1/peek_pb.js";
import { LiteralConstraintsSchema } from "../gen/mz/compute/v1/peek_pb.js";
import { ComputeResponseSchema } from "../gen/mz/compute/v1/response_pb.js";
import { ControlRequestSchema } from "../gen/mz/compute/v1/service_pb.js";
import { ExprSchema, PlanSchema, UnaryOp } from "../gen/mz/expr/v1/expr_pb.js";
import {
  FrontierSchema,
  type RowBatchSchema,
  type UpdateBatchSchema,
} from "../gen/mz/repr/v1/repr_pb.js";
import { expectMalformedCommand, expectMalformedResponse } from "../testdata/expect-malformed.js";
import {
  computeCommandFromProto,
  computeCommandToProto,
  computeRequestFromProto,
  computeResponseFromProto,
  computeResponseToProto,
  decodeComputeCommand,
  decodeComputeResponse,
  encodeComputeCommand,
} from "./codec.js";
import type { DataflowDescription, Peek } from "./command.js";

const UUID = "0b7d7a4e-8a53-4bd1-9c7e-3f0f8b1e2a11";
const cmd = (init: MessageInitShape<typeof ComputeCommandSchema>) =>
  computeCommandFromProto(create(ComputeCommandSchema, init));
const resp = (init: MessageInitShape<typeof ComputeResponseSchema>) =>
  computeResponseFromProto(create(ComputeResponseSchema, init));
const twoElements = create(FrontierSchema, { elements: [1n, 2n] });

const dataflow: DataflowDescription = {
  debugName: "test",
  sourceImports: [{ id: "u1", shardId: "s-1", arity: 2, upper: 5n }],
  indexImports: [{ id: "u2", key: [0], arity: 1 }],
  objectsToBuild: [
    {
      id: "u3",
      plan: {
        kind: "map",
        input: { kind: "get", id: "u1", arity: 2 },
        exprs: [{ kind: "column", index: 1 }],
      },
    },
  ],
  indexExports: [{ id: "u4", objectId: "u3", key: [2] }],
  sinkExports: [{ id: "u5", fromId: "u3", connection: { kind: "subscribe" } }],
  asOf: 0n,
  until: null,
};

/** Decodes `dataflow` after `mutate` changed its wire form. */
function withDataflow(mutate: (d: DataflowProto) => void) {
  const msg = computeCommandToProto({ kind: "createDataflow", dataflow });
  if (msg.kind.case !== "createDataflow" || msg.kind.value.dataflow === undefined)
    throw new Error();
  mutate(msg.kind.value.dataflow);
  return () => computeCommandFromProto(msg);
}

const peek: Peek = {
  uuid: UUID,
  target: { kind: "index", id: "u4" },
  arity: 2,
  timestamp: 10n,
  mapFilterProject: { exprs: [], predicates: [], projection: [0, 1] },
  finishing: { orderBy: [{ column: 0, desc: false, nullsLast: true }], offset: 0, project: [1] },
};

function withPeek(mutate: (p: PeekProto) => void) {
  const msg = computeCommandToProto({ kind: "peek", peek });
  if (msg.kind.case !== "peek") throw new Error();
  mutate(msg.kind.value);
  return () => computeCommandFromProto(msg);
}

describe("compute commands: malformed input is rejected", () => {
  it("accepts the valid fixtures", () => {
    expect(withDataflow(() => {})()).toEqual({ kind: "createDataflow", dataflow });
    expect(withPeek(() => {})()).toEqual({ kind: "peek", peek });
  });

  it("a missing command kind", () => {
    expectMalformedCommand(() => cmd({}), {
      protocol: "compute",
      kind: "unknown",
      path: "kind",
      reason: /no command kind/,
    });
  });

  it("bad ids and UUIDs", () => {
    expectMalformedCommand(() => cmd({ kind: { case: "schedule", value: { id: "x1" } } }), {
      kind: "schedule",
      path: "schedule.id",
      reason: /not a GlobalId/,
    });
    expectMalformedCommand(() => cmd({ kind: { case: "allowWrites", value: { id: "" } } }), {
      kind: "allowWrites",
      path: "allowWrites.id",
      reason: /not a GlobalId/,
    });
    expectMalformedCommand(
      () => cmd({ kind: { case: "cancelPeek", value: { uuid: UUID.toUpperCase() } } }),
      { kind: "cancelPeek", path: "cancelPeek.uuid", reason: /not a UUID/ },
    );
  });

  it("frontiers: unset when required, or with two elements", () => {
    expectMalformedCommand(() => cmd({ kind: { case: "allowCompaction", value: { id: "u1" } } }), {
      kind: "allowCompaction",
      path: "allowCompaction.frontier",
      reason: /unset/,
    });
    expectMalformedCommand(
      () => cmd({ kind: { case: "allowCompaction", value: { id: "u1", frontier: twoElements } } }),
      {
        kind: "allowCompaction",
        path: "allowCompaction.frontier.elements",
        reason: /has 2 elements/,
      },
    );
  });

  it("hello: nonce, protocol version, build version", () => {
    const hello = { nonce: UUID, generation: 1n, protocolVersion: 1, buildVersion: "0.0.0" };
    expectMalformedCommand(
      () => cmd({ kind: { case: "hello", value: { ...hello, nonce: "not-a-uuid" } } }),
      { kind: "hello", path: "hello.nonce", reason: /not a lowercase UUID/ },
    );
    expectMalformedCommand(
      () => cmd({ kind: { case: "hello", value: { ...hello, protocolVersion: 0 } } }),
      { kind: "hello", path: "hello.protocolVersion", reason: /is 0/ },
    );
    expectMalformedCommand(
      () => cmd({ kind: { case: "hello", value: { ...hello, buildVersion: "" } } }),
      { kind: "hello", path: "hello.buildVersion", reason: /empty/ },
    );
  });

  it("createInstance: unset logging, zero interval, bad index log id", () => {
    expectMalformedCommand(() => cmd({ kind: { case: "createInstance", value: {} } }), {
      kind: "createInstance",
      path: "createInstance.logging",
      reason: /unset/,
    });
    expectMalformedCommand(
      () =>
        cmd({
          kind: { case: "createInstance", value: { logging: { enabled: true, intervalMs: 0 } } },
        }),
      { kind: "createInstance", path: "createInstance.logging.intervalMs", reason: /is 0/ },
    );
    expectMalformedCommand(
      () =>
        cmd({
          kind: {
            case: "createInstance",
            value: { logging: { intervalMs: 1, indexLogs: { "compute.operators": "nope" } } },
          },
        }),
      {
        kind: "createInstance",
        path: "createInstance.logging.indexLogs.compute.operators",
        reason: /not a GlobalId/,
      },
    );
  });

  describe("createDataflow", () => {
    const at = "createDataflow.dataflow";
    const rejects = (mutate: (d: DataflowProto) => void, path: string, reason: RegExp) =>
      expectMalformedCommand(withDataflow(mutate), { kind: "createDataflow", path, reason });

    it("an unset description", () => {
      expectMalformedCommand(() => cmd({ kind: { case: "createDataflow", value: {} } }), {
        kind: "createDataflow",
        path: at,
        reason: /unset/,
      });
    });
    it("an unset or two-element as_of", () => {
      rejects((d) => (d.asOf = undefined), `${at}.asOf`, /unset/);
      rejects((d) => (d.asOf = twoElements), `${at}.asOf.elements`, /2 elements/);
      rejects((d) => (d.until = twoElements), `${at}.until.elements`, /2 elements/);
    });
    it("imports: empty shard id, key column out of range, duplicate ids", () => {
      rejects((d) => (d.sourceImports[0]!.shardId = ""), `${at}.sourceImports[0].shardId`, /empty/);
      rejects(
        (d) => (d.indexImports[0]!.key = [1]),
        `${at}.indexImports[0].key[0]`,
        /out of range/,
      );
      rejects((d) => (d.indexImports[0]!.id = "u1"), `${at}.indexImports[0].id`, /already/);
    });
    it("plans: unset kind, unknown import, arity mismatch, bad column, unspecified enum", () => {
      const plan = `${at}.objectsToBuild[0].plan`;
      const setPlan = (p: Plan) => (d: DataflowProto) => {
        d.objectsToBuild[0]!.plan = planToProto(p);
      };
      rejects((d) => (d.objectsToBuild[0]!.plan = undefined), plan, /unset/);
      rejects(
        (d) =>
          (d.objectsToBuild[0]!.plan = create(PlanSchema, { kind: { case: "negate", value: {} } })),
        `${plan}.negate.input`,
        /unset/,
      );
      rejects(setPlan({ kind: "get", id: "u9", arity: 2 }), `${plan}.get`, /unknown import u9/);
      rejects(setPlan({ kind: "get", id: "u1", arity: 3 }), `${plan}.get`, /has arity 2/);
      rejects(setPlan({ kind: "get", id: "bogus", arity: 3 }), `${plan}.get.id`, /not a GlobalId/);
      rejects(
        setPlan({ kind: "project", input: { kind: "get", id: "u1", arity: 2 }, columns: [0, 5] }),
        `${plan}.project.columns[1]`,
        /out of range/,
      );
      rejects(
        (d) =>
          (d.objectsToBuild[0]!.plan = create(PlanSchema, {
            kind: {
              case: "map",
              value: {
                input: planToProto({ kind: "get", id: "u1", arity: 2 }),
                exprs: [
                  {
                    kind: {
                      case: "unary",
                      value: {
                        op: UnaryOp.UNSPECIFIED,
                        arg: { kind: { case: "column", value: 0 } },
                      },
                    },
                  },
                ],
              },
            },
          })),
        `${plan}.map.exprs[0].unary.op`,
        /unspecified/,
      );
      rejects(
        (d) =>
          (d.objectsToBuild[0]!.plan = create(PlanSchema, {
            kind: {
              case: "map",
              value: { input: planToProto({ kind: "get", id: "u1", arity: 2 }), exprs: [{}] },
            },
          })),
        `${plan}.map.exprs[0]`,
        /no expression kind/,
      );
    });
    it("plans: datums (unset case, numeric scale and digits, jsonb text) and diffs", () => {
      const rows = `${at}.objectsToBuild[0].plan.constant.rows[0]`;
      const constant =
        (datum: object, diff = 1n) =>
        (d: DataflowProto) => {
          d.objectsToBuild[0]!.plan = create(PlanSchema, {
            kind: {
              case: "constant",
              value: { arity: 1, rows: [{ row: { datums: [datum] }, diff }] },
            },
          });
          d.indexExports = [];
        };
      rejects(constant({}), `${rows}.row.datums[0]`, /no value case/);
      rejects(
        constant({ value: { case: "numericValue", value: { unscaled: "1", scale: 40 } } }),
        `${rows}.row.datums[0].numericValue.scale`,
        /exceeds the maximum 39/,
      );
      rejects(
        constant({ value: { case: "numericValue", value: { unscaled: "1.5", scale: 0 } } }),
        `${rows}.row.datums[0].numericValue.unscaled`,
        /not an integer/,
      );
      rejects(
        constant({ value: { case: "jsonbValue", value: "{nope" } }),
        `${rows}.row.datums[0].jsonbValue`,
        /not valid JSON/,
      );
      rejects(
        constant({ value: { case: "nullValue", value: {} } }, 1n << 60n),
        `${rows}.diff`,
        /safe integer/,
      );
    });
    it("plans: limits beyond 2^53", () => {
      rejects(
        (d) => {
          d.objectsToBuild[0]!.plan = create(PlanSchema, {
            kind: {
              case: "topK",
              value: { input: planToProto({ kind: "get", id: "u1", arity: 2 }), limit: 1n << 60n },
            },
          });
        },
        `${at}.objectsToBuild[0].plan.topK.limit`,
        /exceeds 2\^53 - 1/,
      );
    });
    it("exports: unknown object, key out of range, duplicate ids, unset connection", () => {
      rejects(
        (d) => (d.indexExports[0]!.objectId = "u1"),
        `${at}.indexExports[0].objectId`,
        /not an object built/,
      );
      rejects(
        (d) => (d.indexExports[0]!.key = [3]),
        `${at}.indexExports[0].key[0]`,
        /out of range for arity 3/,
      );
      rejects(
        (d) => (d.sinkExports[0]!.id = "u4"),
        `${at}.sinkExports[0].id`,
        /duplicate export id u4/,
      );
      rejects(
        (d) => (d.sinkExports[0]!.fromId = "u8"),
        `${at}.sinkExports[0].fromId`,
        /neither an import nor an object/,
      );
      rejects(
        (d) => (d.sinkExports[0]!.connection = { case: undefined }),
        `${at}.sinkExports[0].connection`,
        /no sink connection/,
      );
      rejects(
        (d) =>
          (d.sinkExports[0]!.connection = {
            case: "persist",
            value: create(PersistSinkConnectionSchema),
          }),
        `${at}.sinkExports[0].persist.shardId`,
        /empty/,
      );
    });
  });

  describe("peek", () => {
    const rejects = (mutate: (p: PeekProto) => void, path: string, reason: RegExp) =>
      expectMalformedCommand(withPeek(mutate), { kind: "peek", path, reason });

    it("uuid, target, replica", () => {
      rejects((p) => (p.uuid = "x"), "peek.uuid", /not a UUID/);
      rejects((p) => (p.target = { case: undefined }), "peek.target", /no peek target/);
      rejects((p) => (p.targetReplica = "t1"), "peek.targetReplica", /not a ReplicaId/);
    });
    it("map/filter/project and finishing columns", () => {
      rejects((p) => (p.mapFilterProject = undefined), "peek.mapFilterProject", /unset/);
      rejects((p) => (p.finishing = undefined), "peek.finishing", /unset/);
      rejects(
        (p) => (p.mapFilterProject!.projection = [2]),
        "peek.mapFilterProject.projection[0]",
        /out of range/,
      );
      rejects(
        (p) =>
          p.mapFilterProject!.predicates.push(
            create(ExprSchema, { kind: { case: "column", value: 2 } }),
          ),
        "peek.mapFilterProject.predicates[0].column",
        /out of range for arity 2/,
      );
      rejects(
        (p) => (p.finishing!.orderBy[0]!.column = 2),
        "peek.finishing.orderBy[0].column",
        /out of range/,
      );
      rejects((p) => (p.finishing!.project = [0, 2]), "peek.finishing.project[1]", /out of range/);
    });
    it("literal constraints of different widths", () => {
      rejects(
        (p) => {
          p.literalConstraints = create(LiteralConstraintsSchema, {
            rows: [{ datums: [{ value: { case: "boolValue", value: true } }] }, { datums: [] }],
          });
        },
        "peek.literalConstraints.rows[1]",
        /has 0 columns, row 0 has 1/,
      );
    });
  });

  it("undecodable bytes and empty stream messages", () => {
    expectMalformedCommand(() => decodeComputeCommand(Uint8Array.of(0xff, 0xff, 0xff)), {
      kind: "unknown",
      path: "",
      reason: /undecodable payload/,
    });
    // The message reads as prose, not "malformed compute command unknown".
    const undecodable = (() => {
      try {
        decodeComputeCommand(Uint8Array.of(0xff, 0xff, 0xff));
      } catch (e) {
        return (e as Error).message;
      }
    })();
    expect(undecodable).toMatch(/^malformed compute command \(kind unknown\) at \(root\): /);
    expect(undecodable).not.toContain("command unknown");
    expectMalformedCommand(() => computeRequestFromProto(create(ControlRequestSchema)), {
      kind: "unknown",
      path: "commands",
      reason: /is empty/,
    });
    const req = create(ControlRequestSchema, {
      commands: [
        computeCommandToProto({ kind: "initializationComplete" }),
        create(ComputeCommandSchema, { kind: { case: "schedule", value: { id: "?" } } }),
      ],
    });
    expectMalformedCommand(() => computeRequestFromProto(req), {
      kind: "schedule",
      path: "commands[1].schedule.id",
      reason: /not a GlobalId/,
    });
  });

  it("binary helpers round-trip a valid command", () => {
    const c = { kind: "allowCompaction", id: "u1", frontier: null } as const;
    expect(decodeComputeCommand(encodeComputeCommand(c))).toEqual(c);
  });
});

describe("compute responses: malformed input is rejected", () => {
  it("a missing response kind", () => {
    expectMalformedResponse(() => resp({}), {
      kind: "unknown",
      path: "kind",
      reason: /no response kind/,
    });
    expectMalformedResponse(() => decodeComputeResponse(Uint8Array.of(0x0a, 0x05)), {
      kind: "unknown",
      path: "",
      reason: /undecodable/,
    });
  });

  it("frontiers: none set, or two elements", () => {
    expectMalformedResponse(() => resp({ kind: { case: "frontiers", value: { id: "u1" } } }), {
      kind: "frontiers",
      path: "frontiers",
      reason: /no frontier is set/,
    });
    expectMalformedResponse(
      () => resp({ kind: { case: "frontiers", value: { id: "u1", outputFrontier: twoElements } } }),
      { kind: "frontiers", path: "frontiers.outputFrontier.elements", reason: /2 elements/ },
    );
  });

  describe("peek responses", () => {
    const rows = (batch: MessageInitShape<typeof RowBatchSchema>) =>
      resp({
        kind: {
          case: "peekResponse",
          value: { uuid: UUID, result: { case: "rows", value: batch } },
        },
      });
    const oneRow = encodeRow([1n, "a"]);

    it("accepts a well-formed batch", () => {
      expect(rows({ formatVersion: 1, rows: oneRow, diffs: [2n] })).toEqual({
        kind: "peekResponse",
        uuid: UUID,
        response: { kind: "rows", rows: [[[1n, "a"], 2]] },
      });
    });
    it("unknown format version, truncated rows, trailing bytes, bad counts", () => {
      const at = "peekResponse.rows";
      expectMalformedResponse(() => rows({ formatVersion: 2, rows: oneRow, diffs: [1n] }), {
        kind: "peekResponse",
        path: `${at}.formatVersion`,
        reason: /unknown row format version 2/,
      });
      expectMalformedResponse(
        () => rows({ formatVersion: 1, rows: oneRow.slice(0, 3), diffs: [1n] }),
        {
          kind: "peekResponse",
          path: `${at}.rows`,
          reason: /row 0 does not decode/,
        },
      );
      expectMalformedResponse(() => rows({ formatVersion: 1, rows: oneRow, diffs: [] }), {
        kind: "peekResponse",
        path: `${at}.rows`,
        reason: /trailing bytes after 0 rows/,
      });
      expectMalformedResponse(() => rows({ formatVersion: 1, rows: oneRow, diffs: [0n] }), {
        kind: "peekResponse",
        path: `${at}.diffs[0]`,
        reason: /not positive/,
      });
      expectMalformedResponse(
        () => rows({ formatVersion: 1, rows: Uint8Array.of(1, 99), diffs: [1n] }),
        {
          kind: "peekResponse",
          path: `${at}.rows`,
          reason: /unknown datum tag 99/,
        },
      );
    });
    it("empty error, unset result, bad uuid", () => {
      expectMalformedResponse(
        () =>
          resp({
            kind: {
              case: "peekResponse",
              value: { uuid: UUID, result: { case: "error", value: "" } },
            },
          }),
        { kind: "peekResponse", path: "peekResponse.error", reason: /empty/ },
      );
      expectMalformedResponse(
        () => resp({ kind: { case: "peekResponse", value: { uuid: UUID } } }),
        {
          kind: "peekResponse",
          path: "peekResponse.result",
          reason: /no peek result/,
        },
      );
      expectMalformedResponse(
        () => resp({ kind: { case: "peekResponse", value: { uuid: "u1" } } }),
        {
          kind: "peekResponse",
          path: "peekResponse.uuid",
          reason: /not a UUID/,
        },
      );
    });
  });

  describe("subscribe responses", () => {
    const f = (t: bigint | null) => create(FrontierSchema, { elements: t === null ? [] : [t] });
    const batch = (
      lower: bigint | null,
      upper: bigint | null,
      updates?: MessageInitShape<typeof UpdateBatchSchema>,
    ) =>
      resp({
        kind: {
          case: "subscribeResponse",
          value: {
            id: "u5",
            kind: {
              case: "batch",
              value: {
                lower: f(lower),
                upper: f(upper),
                result: { case: "updates", value: updates ?? { formatVersion: 1 } },
              },
            },
          },
        },
      });
    const at = "subscribeResponse.batch";

    it("an empty lower or an upper not beyond lower", () => {
      expectMalformedResponse(() => batch(null, null), {
        kind: "subscribeResponse",
        path: `${at}.upper`,
        reason: /not beyond lower/,
      });
      expectMalformedResponse(() => batch(5n, 5n), {
        kind: "subscribeResponse",
        path: `${at}.upper`,
        reason: /not beyond lower \[5\]/,
      });
    });
    it("times outside [lower, upper), mismatched lengths, zero diffs", () => {
      const rows = encodeRow([true]);
      expect(batch(5n, 7n, { formatVersion: 1, rows, times: [6n], diffs: [-1n] })).toMatchObject({
        response: { kind: "batch", result: { kind: "updates", updates: [[[true], 6n, -1]] } },
      });
      expectMalformedResponse(
        () => batch(5n, 7n, { formatVersion: 1, rows, times: [7n], diffs: [1n] }),
        {
          kind: "subscribeResponse",
          path: `${at}.updates.times[0]`,
          reason: /outside the batch interval \[5, \[7\]\)/,
        },
      );
      expectMalformedResponse(
        () => batch(5n, 7n, { formatVersion: 1, rows, times: [4n], diffs: [1n] }),
        {
          kind: "subscribeResponse",
          path: `${at}.updates.times[0]`,
          reason: /outside/,
        },
      );
      expectMalformedResponse(
        () => batch(5n, 7n, { formatVersion: 1, rows, times: [], diffs: [1n] }),
        {
          kind: "subscribeResponse",
          path: `${at}.updates.times`,
          reason: /has 0 entries but diffs has 1/,
        },
      );
      expectMalformedResponse(
        () => batch(5n, 7n, { formatVersion: 1, rows, times: [5n], diffs: [0n] }),
        {
          kind: "subscribeResponse",
          path: `${at}.updates.diffs[0]`,
          reason: /zero/,
        },
      );
    });
    it("an unset kind", () => {
      expectMalformedResponse(
        () => resp({ kind: { case: "subscribeResponse", value: { id: "u5" } } }),
        {
          kind: "subscribeResponse",
          path: "subscribeResponse.kind",
          reason: /no subscribe response kind/,
        },
      );
    });
  });

  it("command errors: foreign command kind, unspecified code, empty message", () => {
    const err = {
      objectId: "u1",
      command: "schedule",
      code: 2,
      message: "unknown id u1; create it first",
    };
    expect(resp({ kind: { case: "commandError", value: err } })).toEqual({
      kind: "commandError",
      error: { objectId: "u1", command: "schedule", code: "unknownId", message: err.message },
    });
    expectMalformedResponse(
      () => resp({ kind: { case: "commandError", value: { ...err, command: "runIngestion" } } }),
      {
        kind: "commandError",
        path: "commandError.command",
        reason: /not a command kind of this stream/,
      },
    );
    expectMalformedResponse(
      () => resp({ kind: { case: "commandError", value: { ...err, code: 0 } } }),
      {
        kind: "commandError",
        path: "commandError.code",
        reason: /unspecified/,
      },
    );
    expectMalformedResponse(
      () => resp({ kind: { case: "commandError", value: { ...err, code: 99 as ErrorCode } } }),
      {
        kind: "commandError",
        path: "commandError.code",
        reason: /unknown error code 99/,
      },
    );
    expectMalformedResponse(
      () => resp({ kind: { case: "commandError", value: { ...err, message: "" } } }),
      {
        kind: "commandError",
        path: "commandError.message",
        reason: /empty/,
      },
    );
  });

  it("status: bad collection id", () => {
    expectMalformedResponse(
      () => resp({ kind: { case: "status", value: { hydration: [{ id: "u1" }, { id: "x" }] } } }),
      { kind: "status", path: "status.hydration[1].id", reason: /not a GlobalId/ },
    );
  });

  it("encodes what it decodes", () => {
    const r = { kind: "frontiers", id: "u1", frontiers: { write: null } } as const;
    expect(computeResponseFromProto(computeResponseToProto(r))).toEqual(r);
  });
});

describe("planEncodedBytes", () => {
  it("is the size of the plan's own wire form, growing with its rows", () => {
    const get: Plan = { kind: "get", id: "u1", arity: 2 };
    expect(planEncodedBytes(get)).toBe(toBinary(PlanSchema, planToProto(get)).length);
    const rows = (n: number): Plan => ({
      kind: "constant",
      rows: Array.from({ length: n }, (_, i) => [[BigInt(i)], 1] as const),
      arity: 1,
    });
    expect(planEncodedBytes(rows(100))).toBeGreaterThan(planEncodedBytes(rows(10)));
  });
});
