/**
 * Negative and example tests of the environment API codec: each bad request throws
 * `MalformedRequest` naming the rpc and the field; `checkPeekColumns` checks columns against the
 * object's arity; the service is exported on the wire subpath with the documented rpc kinds.
 */
import { create, fromJson } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { ProtocolError } from "../errors.js";
import {
  CreateClusterRequestSchema,
  CreateIndexRequestSchema,
  CreateMaterializedViewRequestSchema,
  CreateReplicaRequestSchema,
  CreateSourceRequestSchema,
  DropObjectRequestSchema,
  FlagStateSchema,
  GetFlagsResponseSchema,
  ListObjectsResponseSchema,
  ObjectKind,
  PeekRequestSchema,
  SubscribeRequestSchema,
} from "../gen/mz/environment/v1/environment_pb.js";
import { thrown } from "../testdata/expect-malformed.js";
import { EnvironmentService, environmentV1 } from "../wire.js";
import type { ObjectKind as ObjectKindName, PeekRequest } from "./api.js";
import { isObjectName, objectKindPhrase } from "./api.js";
import { environmentCodecs as C, checkPeekColumns } from "./codec.js";
import { MalformedApiResponse, MalformedRequest } from "./errors.js";

function expectMalformed(f: () => unknown, rpc: string, path: string, reason: RegExp): void {
  const e = thrown(f);
  expect(e).toBeInstanceOf(MalformedRequest);
  expect(e).toBeInstanceOf(ProtocolError);
  const m = e as MalformedRequest;
  expect(m.rpc).toBe(rpc);
  expect(m.path).toBe(path);
  expect(m.reason).toMatch(reason);
  expect(m.message).toContain(path);
}

describe("names", () => {
  it("accepts lowercase identifiers up to 63 characters", () => {
    expect(isObjectName("auction_bids")).toBe(true);
    expect(isObjectName("_x1")).toBe(true);
    expect(isObjectName("a".repeat(63))).toBe(true);
    expect(isObjectName("a".repeat(64))).toBe(false);
    expect(isObjectName("1abc")).toBe(false);
    expect(isObjectName("Bids")).toBe(false);
    expect(isObjectName("a-b")).toBe(false);
    expect(isObjectName("")).toBe(false);
  });
  it("rejects an empty name naming the field", () => {
    expectMalformed(
      () => C.createClusterRequest.fromProto(create(CreateClusterRequestSchema, { name: "" })),
      "createCluster",
      "name",
      /is empty/,
    );
    expectMalformed(
      () =>
        C.createReplicaRequest.fromProto(
          create(CreateReplicaRequestSchema, { cluster: "", name: "r1", size: 1 }),
        ),
      "createReplica",
      "cluster",
      /is empty/,
    );
  });
  it("rejects an ill-shaped name", () => {
    expectMalformed(
      () => C.dropObjectRequest.fromProto(create(DropObjectRequestSchema, { name: "My View" })),
      "dropObject",
      "name",
      /"My View" is not a valid name/,
    );
    expectMalformed(
      () =>
        C.createIndexRequest.fromProto(
          create(CreateIndexRequestSchema, { name: "i", cluster: "c", on: "x".repeat(64) }),
        ),
      "createIndex",
      "on",
      /at most 63/,
    );
    expectMalformed(
      () => C.peekRequest.fromProto(create(PeekRequestSchema, { object: "9lives" })),
      "peek",
      "object",
      /not a valid name/,
    );
  });
});

describe("request fields", () => {
  it("rejects a replica of size 0", () => {
    expectMalformed(
      () =>
        C.createReplicaRequest.fromProto(
          create(CreateReplicaRequestSchema, { cluster: "c", name: "r1", size: 0 }),
        ),
      "createReplica",
      "size",
      /is 0; a replica size \(workers\) must be at least 1/,
    );
  });
  it("rejects a source without a generator or with a zero tick", () => {
    expectMalformed(
      () =>
        C.createSourceRequest.fromProto(
          create(CreateSourceRequestSchema, { name: "s", cluster: "c" }),
        ),
      "createSource",
      "loadGenerator",
      /is unset/,
    );
    expectMalformed(
      () =>
        C.createSourceRequest.fromProto(
          create(CreateSourceRequestSchema, {
            name: "s",
            cluster: "c",
            loadGenerator: { generator: { case: "auction", value: {} }, tickIntervalMs: 0 },
          }),
        ),
      "createSource",
      "loadGenerator.tickIntervalMs",
      /is 0/,
    );
  });
  it("rejects a zero timeout and an upTo not beyond asOf", () => {
    expectMalformed(
      () => C.peekRequest.fromProto(create(PeekRequestSchema, { object: "v", timeoutMs: 0 })),
      "peek",
      "timeoutMs",
      /at least 1/,
    );
    expectMalformed(
      () => C.peekRequest.fromProto(create(PeekRequestSchema, { object: "v", replica: "" })),
      "peek",
      "replica",
      /./,
    );
    expectMalformed(
      () =>
        C.subscribeRequest.fromProto(
          create(SubscribeRequestSchema, { object: "v", asOf: 5n, upTo: 5n }),
        ),
      "subscribe",
      "upTo",
      /not beyond asOf 5/,
    );
  });
  it("rejects key rows of different widths", () => {
    const json = {
      object: "v",
      literalConstraints: { rows: [{ datums: [{ int64Value: "1" }] }, { datums: [] }] },
    };
    expectMalformed(
      () => C.peekRequest.fromProto(fromJson(PeekRequestSchema, json)),
      "peek",
      "literalConstraints.rows[1]",
      /has 0 columns, row 0 has 1/,
    );
  });
});

describe("materialized view plans", () => {
  const mv = (plan: unknown) =>
    C.createMaterializedViewRequest.fromProto(
      fromJson(CreateMaterializedViewRequestSchema, {
        name: "mv",
        cluster: "c",
        ...(plan === undefined ? {} : { plan: plan as never }),
      }),
    );
  it("decodes a plan from its JSON form, get nodes by GlobalId", () => {
    const r = mv({ project: { input: { get: { id: "u3", arity: 2 } }, columns: [1] } });
    expect(r.plan).toStrictEqual({
      kind: "project",
      input: { kind: "get", id: "u3", arity: 2 },
      columns: [1],
    });
  });
  it("rejects a missing plan", () => {
    expectMalformed(() => mv(undefined), "createMaterializedView", "plan", /is unset/);
  });
  it("rejects a get by name (ids only)", () => {
    expectMalformed(
      () => mv({ get: { id: "auction_bids", arity: 1 } }),
      "createMaterializedView",
      "plan.get.id",
      /not a GlobalId/,
    );
  });
  it("rejects a column out of range and gets of one id with two arities", () => {
    expectMalformed(
      () => mv({ project: { input: { get: { id: "u3", arity: 2 } }, columns: [2] } }),
      "createMaterializedView",
      "plan.project.columns[0]",
      /2/,
    );
    expectMalformed(
      () =>
        mv({
          union: { inputs: [{ get: { id: "u3", arity: 2 } }, { get: { id: "u3", arity: 1 } }] },
        }),
      "createMaterializedView",
      "plan.union.inputs[1].get",
      /arity 2/,
    );
  });
});

describe("checkPeekColumns", () => {
  const col = (index: number) => ({ kind: "column", index }) as const;
  const req: PeekRequest = {
    object: "v",
    mapFilterProject: { exprs: [col(1)], predicates: [col(2)], projection: [2, 0] },
    finishing: { orderBy: [{ column: 1, desc: false, nullsLast: true }], offset: 0, project: [0] },
  };
  it("accepts columns within the object's arity", () => {
    expect(() => checkPeekColumns(req, 2)).not.toThrow();
  });
  it("names the first column out of range", () => {
    expectMalformed(
      () => checkPeekColumns(req, 1),
      "peek",
      "mapFilterProject.exprs[0].column",
      /1/,
    );
    expectMalformed(
      () =>
        checkPeekColumns({ object: "v", finishing: { orderBy: [], offset: 0, project: [3] } }, 3),
      "peek",
      "finishing.project[0]",
      /column 3 out of range for 3 columns/,
    );
  });
});

describe("responses", () => {
  /** A GetFlags response of one cluster with one servers flag. */
  const flagsResponse = (f: {
    enabled: boolean;
    inForce: boolean;
    applied: boolean;
    flipping: boolean;
  }) =>
    create(GetFlagsResponseSchema, {
      clusters: [
        {
          cluster: "c",
          flags: [create(FlagStateSchema, { key: "cluster-unification-servers", ...f })],
        },
      ],
    });

  it("rejects a flag that is not flipping although inForce != applied", () => {
    const msg = flagsResponse({ enabled: true, inForce: true, applied: false, flipping: false });
    const e = thrown(() => C.getFlagsResponse.fromProto(msg));
    expect(e).toBeInstanceOf(MalformedApiResponse);
    expect((e as MalformedApiResponse).path).toBe("clusters[0].flags[0].flipping");
  });

  it("accepts a flag flipping while inForce == applied (replicas that disagree mid-roll)", () => {
    // Off now, applied off (not every replica has it), but one replica still runs it.
    const msg = flagsResponse({ enabled: false, inForce: false, applied: false, flipping: true });
    expect(C.getFlagsResponse.fromProto(msg).clusters[0]?.flags[0]?.flipping).toBe(true);
  });

  it("names object kinds with their article (an index, not a index)", () => {
    const msg = create(ListObjectsResponseSchema, {
      objects: [{ id: "u1", name: "i", kind: ObjectKind.INDEX, cluster: "c", arity: 1, key: [0] }],
    });
    const e = thrown(() => C.listObjectsResponse.fromProto(msg));
    expect(e).toBeInstanceOf(MalformedApiResponse);
    expect((e as Error).message).toContain("is unset for an index");
    expect((e as Error).message).not.toContain("a index");
    expect(
      ["source", "subsource", "index", "materializedView"].map((k) =>
        objectKindPhrase(k as ObjectKindName),
      ),
    ).toEqual(["a source", "a subsource", "an index", "a materialized view"]);
  });
});

/** A cluster status with nothing in it (the status tests add what they check). */
const cluster = {
  id: "u1",
  name: "c",
  replicas: [],
  collections: [],
  flags: [],
  introspectionIntervalMs: 1000,
};

describe("controller paths in status", () => {
  const path = {
    seam: "compute-replicas",
    flag: "cluster-unification-replicas",
    path: "legacy" as const,
    note: "accepted, no effect yet",
  };
  it("round-trip, and stay absent when not reported", () => {
    const status = { clusters: [{ ...cluster, controllers: [path] }, cluster] };
    expect(C.statusResponse.fromProto(C.statusResponse.toProto(status))).toEqual(status);
  });
  it("reject a path that is neither legacy nor unified", () => {
    const msg = C.statusResponse.toProto({ clusters: [{ ...cluster, controllers: [path] }] });
    const controller = msg.clusters[0]?.controllers[0];
    if (controller !== undefined) controller.path = "sideways";
    const e = thrown(() => C.statusResponse.fromProto(msg));
    expect(e).toBeInstanceOf(MalformedApiResponse);
    expect((e as MalformedApiResponse).path).toBe("clusters[0].controllers[0].path");
  });
});

describe("migration stages in status", () => {
  const migration = {
    flag: "cluster-unification-servers",
    stage: "shadow",
    authoritative: "legacy" as const,
    compares: true,
    slots: [{ replica: "r1", slot: "legacy" as const }, { replica: "r2" }],
    consistent: 12,
    inconsistent: 1,
    timeout: 0,
    fallback: 2,
    lastInconsistency: "1 row(s) differ",
    paths: [
      { path: "legacy" as const, answers: 15, p50Ms: 1.5, p99Ms: 9, errors: 0 },
      { path: "unified" as const, answers: 13, p50Ms: 1.25, p99Ms: 8, errors: 1 },
    ],
  };
  it("round-trip, and stay absent when none migrates", () => {
    const status = {
      clusters: [
        { ...cluster, migrations: [migration, { ...migration, note: "n", paths: [] }] },
        cluster,
      ],
    };
    expect(C.statusResponse.fromProto(C.statusResponse.toProto(status))).toEqual(status);
  });
  it("reject an end stage and a path that is neither legacy nor unified", () => {
    for (const [field, at] of [
      ["stage", "clusters[0].migrations[0].stage"],
      ["slot", "clusters[0].migrations[0].slots[0].slot"],
    ] as const) {
      const msg = C.statusResponse.toProto({ clusters: [{ ...cluster, migrations: [migration] }] });
      const m = msg.clusters[0]!.migrations[0]!;
      if (field === "stage") m.stage = "complete";
      else m.slots[0]!.slot = "sideways";
      const e = thrown(() => C.statusResponse.fromProto(msg));
      expect(e).toBeInstanceOf(MalformedApiResponse);
      expect((e as MalformedApiResponse).path).toBe(at);
    }
  });
});

describe("wire", () => {
  it("exports EnvironmentService with unary rpcs and a server-streaming Subscribe", () => {
    expect(EnvironmentService.typeName).toBe("mz.environment.v1.EnvironmentService");
    const kinds = Object.fromEntries(
      Object.entries(EnvironmentService.method).map(([k, m]) => [k, m.methodKind]),
    );
    expect(kinds.subscribe).toBe("server_streaming");
    expect(Object.keys(kinds)).toHaveLength(14);
    for (const [k, v] of Object.entries(kinds)) if (k !== "subscribe") expect(v).toBe("unary");
    expect(environmentV1.PeekRequestSchema.typeName).toBe("mz.environment.v1.PeekRequest");
  });
});

describe("introspection", () => {
  it("a cluster's introspection interval is 0 or 100..3600000", () => {
    const decode = (ms: number) =>
      C.createClusterRequest.fromProto(
        create(CreateClusterRequestSchema, { name: "c", introspectionIntervalMs: ms }),
      );
    expect(decode(0)).toEqual({ name: "c", introspectionIntervalMs: 0 });
    expect(decode(100)).toEqual({ name: "c", introspectionIntervalMs: 100 });
    expect(decode(3_600_000)).toEqual({ name: "c", introspectionIntervalMs: 3_600_000 });
    expect(
      C.createClusterRequest.fromProto(create(CreateClusterRequestSchema, { name: "c" })),
    ).toEqual({ name: "c" });
    for (const bad of [1, 99, 3_600_001]) {
      expectMalformed(
        () => decode(bad),
        "createCluster",
        "introspectionIntervalMs",
        /0 \(logging off\) or an integer number of ms from 100 to 3600000/,
      );
    }
  });
  it("a peek names mz_introspection.<relation> and its cluster; other dotted names are refused", () => {
    expect(
      C.peekRequest.fromProto(
        create(PeekRequestSchema, {
          object: "mz_introspection.operators",
          cluster: "quickstart",
          replica: "r1",
        }),
      ),
    ).toEqual({ object: "mz_introspection.operators", cluster: "quickstart", replica: "r1" });
    expectMalformed(
      () => C.peekRequest.fromProto(create(PeekRequestSchema, { object: "public.operators" })),
      "peek",
      "object",
      /not a valid name/,
    );
    expectMalformed(
      () => C.peekRequest.fromProto(create(PeekRequestSchema, { object: "mz_introspection.Bad" })),
      "peek",
      "object",
      /not a valid name/,
    );
  });
  it("an introspection object lists its columns and key; other kinds may not carry columns", () => {
    const info = {
      id: "s1000",
      name: "mz_introspection.dataflows",
      kind: "introspection" as const,
      cluster: "c",
      arity: 2,
      key: [0, 1],
      columns: [
        { name: "dataflow_id", type: "int64", nullable: false },
        { name: "worker_id", type: "int64", nullable: false },
      ],
      description: "dataflows",
    };
    const res = { objects: [info] };
    expect(C.listObjectsResponse.fromProto(C.listObjectsResponse.toProto(res))).toEqual(res);
    const short = C.listObjectsResponse.toProto({ objects: [{ ...info, arity: 3 }] });
    expect(() => C.listObjectsResponse.fromProto(short)).toThrow(/lists 2 columns for arity 3/);
    const msg = create(ListObjectsResponseSchema, {
      objects: [
        {
          id: "u1",
          name: "v",
          kind: ObjectKind.MATERIALIZED_VIEW,
          cluster: "c",
          arity: 1,
          columns: [{ name: "x", type: "int64" }],
        },
      ],
    });
    expect(() => C.listObjectsResponse.fromProto(msg)).toThrow(/not an introspection relation/);
  });
});

describe("introspection relations are no catalog objects", () => {
  it("cannot be subscribed to, dropped or indexed (the error says to peek)", () => {
    const name = "mz_introspection.operators";
    expectMalformed(
      () => C.subscribeRequest.fromProto(create(SubscribeRequestSchema, { object: name })),
      "subscribe",
      "object",
      /is an introspection relation, which cannot be subscribed to; peek it/,
    );
    expectMalformed(
      () => C.dropObjectRequest.fromProto(create(DropObjectRequestSchema, { name })),
      "dropObject",
      "name",
      /cannot be dropped/,
    );
    expectMalformed(
      () =>
        C.createIndexRequest.fromProto(
          create(CreateIndexRequestSchema, { name: "i", cluster: "c", on: name }),
        ),
      "createIndex",
      "on",
      /cannot be indexed/,
    );
  });
});
