/**
 * Round trips of every environment request (and the responses with codecs) through the binary and
 * the protobuf JSON forms: `fromProto(toProto(x))` equals `x`.
 */
import type { DescMessage } from "@bufbuild/protobuf";
import { fc, test } from "@fast-check/vitest";
import { describe, expect } from "vitest";
import {
  anyRow,
  frontier,
  globalId,
  peek,
  plan,
  replicaId,
  storageCommands,
  timestamp,
  u64,
} from "../testdata/arbitraries.js";
import { type Codec, viaBinary, viaJson, withoutNegativeZero } from "../testdata/round-trip.js";
import type { FlagState, FlipStatus, ObjectInfo } from "./api.js";
import { environmentCodecs as C, OBJECT_KINDS, REPLICA_HEALTHS } from "./codec.js";

const name = fc.stringMatching(/^[a-z_][a-z0-9_]{0,62}$/);
const size = fc.oneof(fc.constant(1), fc.integer({ min: 1, max: 2 ** 32 - 1 }));
const opt = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });
/** Drops `undefined` properties (optional fields are absent, never `undefined`, in the domain). */
function clean<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
/** A deep copy with ordinary prototypes (`fc.record` builds null-prototype objects). */
function plain<T>(v: T): T {
  if (Array.isArray(v)) return v.map(plain) as T;
  if (v === null || typeof v !== "object" || v instanceof Uint8Array) return v;
  const proto = Object.getPrototypeOf(v);
  if (proto !== null && proto !== Object.prototype) return v;
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)])) as T;
}
const loadGenerator = storageCommands.runIngestion.map((c) => {
  if (c.kind !== "runIngestion") throw new Error("unreachable");
  return c.description.connection;
});
const gets = fc.array(fc.tuple(globalId, fc.integer({ min: 0, max: 3 })), { maxLength: 3 });
/** Gets with one arity per id (the codec requires it). */
const env = gets.map((g) => [...new Map(g)]);
const flagKey = fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,20}$/);
const flag: fc.Arbitrary<FlagState> = fc
  .record({ key: flagKey, enabled: fc.boolean(), blocked: fc.array(flagKey, { maxLength: 2 }) })
  .chain(({ key, enabled, blocked }) =>
    fc.record({ inForce: fc.boolean(), applied: fc.boolean() }).map(({ inForce, applied }) => {
      const on = enabled && inForce;
      return {
        key,
        enabled,
        inForce: on,
        blockedBy: enabled && !on ? blocked : [],
        applied,
        flipping: on !== applied,
      };
    }),
  );
const flip: fc.Arbitrary<FlipStatus> = fc
  .record({
    state: fc.constantFrom(
      "rolling" as const,
      "reseating" as const,
      "rebuilding" as const,
      "failed" as const,
    ),
    step: fc.string(),
    replica: opt(fc.string({ minLength: 1 })),
    stepSinceMs: fc.nat(),
    startedMs: fc.nat(),
    target: fc.string(),
    error: fc.string({ minLength: 1 }),
  })
  .map(
    ({ error, ...f }): FlipStatus =>
      clean(f.state === "failed" ? { ...f, error } : f) as FlipStatus,
  );
const objectInfo: fc.Arbitrary<ObjectInfo> = fc
  .record({
    id: globalId,
    name,
    kind: fc.constantFrom(...OBJECT_KINDS),
    cluster: name,
    arity: fc.nat(),
    on: name,
    key: fc.array(fc.nat(), { maxLength: 3 }),
    columns: fc.array(
      fc.record({
        name,
        type: fc.constantFrom("int64", "text", "boolean"),
        nullable: fc.boolean(),
      }),
      { maxLength: 3 },
    ),
    description: fc.string(),
  })
  .map(({ on, key, columns, description, ...o }) =>
    o.kind === "introspection"
      ? {
          ...o,
          name: `mz_introspection.${o.name}`,
          arity: columns.length,
          key,
          columns,
          description,
        }
      : {
          ...o,
          ...(o.kind === "index" || o.kind === "subsource" ? { on } : {}),
          key: o.kind === "index" ? key : [],
        },
  );
const interval = fc.oneof(fc.constant(0), fc.integer({ min: 100, max: 3_600_000 }));

const requests = {
  createClusterRequest: fc.record({ name, introspectionIntervalMs: opt(interval) }).map(clean),
  dropClusterRequest: fc.record({ name, cascade: fc.boolean() }),
  listClustersRequest: fc.constant({}),
  createReplicaRequest: fc.record({ cluster: name, name, size }),
  dropReplicaRequest: fc.record({ cluster: name, name }),
  createSourceRequest: fc.record({ name, cluster: name, loadGenerator }),
  createIndexRequest: fc.record({
    name,
    cluster: name,
    on: name,
    key: fc.array(fc.nat(), { maxLength: 3 }),
  }),
  createMaterializedViewRequest: env.chain((e) =>
    fc.record({ name, cluster: name, plan: plan(e).map(([p]) => p) }),
  ),
  dropObjectRequest: fc.record({ name, cascade: fc.boolean() }),
  listObjectsRequest: fc.record({ cluster: opt(name) }).map(clean),
  peekRequest: fc
    .record({
      object: fc.oneof(
        name,
        name.map((n) => `mz_introspection.${n}`),
      ),
      timestamp: opt(timestamp),
      p: peek,
      withMfp: fc.boolean(),
      withFinishing: fc.boolean(),
      timeoutMs: opt(fc.integer({ min: 1, max: 2 ** 32 - 1 })),
      replica: opt(name),
      cluster: opt(name),
    })
    .map(({ p, withMfp, withFinishing, ...r }) =>
      clean({
        ...r,
        literalConstraints: p.literalConstraints,
        mapFilterProject: withMfp || withFinishing ? p.mapFilterProject : undefined,
        finishing: withFinishing ? p.finishing : undefined,
      }),
    ),
  subscribeRequest: fc
    .record({ object: name, asOf: opt(u64), upTo: opt(u64) })
    .filter((r) => r.asOf === undefined || r.upTo === undefined || r.upTo > r.asOf)
    .map(clean),
  statusRequest: fc.record({ cluster: opt(name) }).map(clean),
  getFlagsRequest: fc.record({ cluster: opt(name) }).map(clean),
} as const;

const clusterId = fc.tuple(fc.constantFrom("u", "s"), fc.nat()).map(([p, n]) => `${p}${n}`);
const responses = {
  createSourceResponse: fc.record({
    id: globalId,
    subsources: fc.array(fc.record({ id: globalId, name }), { minLength: 1, maxLength: 3 }),
  }),
  listClustersResponse: fc.record({
    clusters: fc.array(
      fc.record({
        id: clusterId,
        name,
        replicas: fc.array(fc.record({ id: replicaId, name, size }), { maxLength: 2 }),
        introspectionIntervalMs: interval,
      }),
      { maxLength: 2 },
    ),
  }),
  listObjectsResponse: fc.record({ objects: fc.array(objectInfo, { maxLength: 3 }) }),
  peekResponse: fc.record({
    rows: fc.array(fc.tuple(anyRow, fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER })), {
      maxLength: 3,
    }),
    timestamp,
    replica: name,
    replicaId,
  }),
  subscribeResponse: fc.record({
    updates: fc.array(
      fc.tuple(
        anyRow,
        timestamp,
        fc.integer({ min: -(2 ** 53) + 1, max: 2 ** 53 - 1 }).filter((d) => d !== 0),
      ),
      { maxLength: 3 },
    ),
    upper: frontier,
  }),
  statusResponse: fc.record({
    clusters: fc.array(
      fc
        .record({
          id: clusterId,
          name,
          replicas: fc.array(
            fc.record({
              id: replicaId,
              name,
              size,
              health: fc.constantFrom(...REPLICA_HEALTHS),
              reason: fc.string(),
            }),
            { maxLength: 2 },
          ),
          collections: fc.array(
            fc
              .record({
                id: globalId,
                name,
                writeFrontier: frontier,
                since: frontier,
                lagMs: opt(fc.nat()),
                failed: opt(fc.string()),
              })
              .map(clean),
            { maxLength: 2 },
          ),
          flags: fc.array(flag, { maxLength: 3 }),
          introspectionIntervalMs: interval,
          flip: opt(flip),
        })
        .map(clean),
      { maxLength: 2 },
    ),
  }),
  getFlagsResponse: fc.record({
    clusters: fc.array(fc.record({ cluster: name, flags: fc.array(flag, { maxLength: 3 }) }), {
      maxLength: 2,
    }),
  }),
} as const;

type AnyCodec = Codec<unknown, DescMessage>;

describe("environment requests round-trip", () => {
  for (const [key, arb] of Object.entries(requests)) {
    const c = C[key as keyof typeof requests] as unknown as AnyCodec;
    const a = (arb as fc.Arbitrary<unknown>).map(plain);
    test.prop([a], { numRuns: 60 })(`${key} (binary)`, (d) => {
      expect(viaBinary(c, d)).toStrictEqual(d);
    });
    test.prop([a], { numRuns: 60 })(`${key} (JSON)`, (d) => {
      const want = withoutNegativeZero(d);
      expect(viaJson(c, want)).toStrictEqual(want);
    });
  }
});

describe("environment responses round-trip", () => {
  for (const [key, arb] of Object.entries(responses)) {
    const c = C[key as keyof typeof responses] as unknown as AnyCodec;
    const a = (arb as fc.Arbitrary<unknown>).map(plain);
    test.prop([a], { numRuns: 60 })(`${key} (binary)`, (d) => {
      expect(viaBinary(c, d)).toStrictEqual(d);
    });
    test.prop([a], { numRuns: 60 })(`${key} (JSON)`, (d) => {
      const want = withoutNegativeZero(d);
      expect(viaJson(c, want)).toStrictEqual(want);
    });
  }
  // Every request codec has an arbitrary (no request kind is left untested).
  test("covers every request", () => {
    const keys = Object.keys(C).filter((k) => k.endsWith("Request"));
    expect(keys.sort()).toStrictEqual(Object.keys(requests).sort());
  });
});
