/**
 * The pre-encoded stream messages (`response-frames.ts`) against the reflective codec: for any
 * responses, `toBinary` of the framed message is byte-for-byte `toBinary` of
 * `…ResponsesToProto`, on the compute, storage and unified cluster streams — every response kind,
 * frontiers set, unset, empty and at the u64 edges, ids empty, long and non-ASCII, subscribe
 * batches empty and long with the diff edges — and a value the
 * reflective codec refuses is refused by the framed one too. Equal bytes are what controllers,
 * which decode with the real schemas, need.
 */
import { toBinary } from "@bufbuild/protobuf";
import { fc, test } from "@fast-check/vitest";
import { describe, expect } from "vitest";
import { clusterResponsesToProto } from "../cluster/cluster-command.js";
import { computeResponsesToProto } from "../compute/codec.js";
import type { ComputeResponse } from "../compute/response.js";
import { ControlResponseSchema as ClusterControlResponseSchema } from "../gen/mz/cluster/v1/cluster_pb.js";
import { ControlResponseSchema as ComputeControlResponseSchema } from "../gen/mz/compute/v1/service_pb.js";
import { ControlResponseSchema as StorageControlResponseSchema } from "../gen/mz/storage/v1/service_pb.js";
import { storageResponsesToProto } from "../storage/codec.js";
import type { StorageResponse } from "../storage/response.js";
import {
  anyRow,
  clusterResponse,
  computeResponse,
  frontier,
  storageResponse,
  U64_MAX,
} from "../testdata/arbitraries.js";
import {
  clusterResponsesFramed,
  computeResponsesFramed,
  storageResponsesFramed,
} from "./response-frames.js";

/** Ids the direct encoder must get right or hand over: empty, long (2-byte length), non-ASCII. */
const edgeId = fc.oneof(
  fc.constantFrom("", "u1", "x".repeat(127), "y".repeat(128), "ü1", "u\u{1F600}", "u\uD800"),
  fc.string({ maxLength: 200 }),
  fc.string({ unit: "grapheme", maxLength: 10 }),
);
/** Times around the varint and number boundaries, and some a uint64 cannot hold. */
const edgeTime = fc.oneof(
  fc.constantFrom(
    0n,
    127n,
    128n,
    BigInt(Number.MAX_SAFE_INTEGER),
    BigInt(Number.MAX_SAFE_INTEGER) + 1n,
    1n << 63n,
    U64_MAX,
  ),
  fc.bigInt({ min: 0n, max: U64_MAX }),
);
const invalidTime = fc.constantFrom<unknown>(-1n, U64_MAX + 1n, 5, "7");
const edgeFrontier = fc.option(edgeTime, { nil: null, freq: 4 });
/** A frontiers kind: absent, present as undefined (= absent), or set. */
const kind = fc.oneof(fc.constant(undefined), edgeFrontier, frontier);

const edgeFrontiers: fc.Arbitrary<ComputeResponse> = fc
  .tuple(edgeId, kind, kind, kind)
  .map(([id, write, input, output]) => ({
    kind: "frontiers",
    id,
    frontiers: { write, input, output } as never,
  }));
/** Subscribe batches with long (multi-byte length) fields, empty ones and the diff edges. */
const edgeSubscribe: fc.Arbitrary<ComputeResponse> = fc
  .tuple(
    edgeId,
    edgeFrontier,
    edgeFrontier,
    fc.array(
      fc.tuple(
        anyRow,
        edgeTime,
        fc.constantFrom(1, -1, 7, -300, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER),
      ),
      { maxLength: 200 },
    ),
  )
  .map(([id, lower, upper, updates]) => ({
    kind: "subscribeResponse",
    id,
    response: { kind: "batch", lower, upper, result: { kind: "updates", updates } },
  }));
/** Subscribe batches whose updates share a few times (runs of equal times, as at idle). */
const runSubscribe: fc.Arbitrary<ComputeResponse> = fc
  .tuple(edgeId, edgeFrontier, edgeFrontier, fc.array(edgeTime, { minLength: 1, maxLength: 2 }))
  .chain(([id, lower, upper, times]) =>
    fc
      .array(fc.tuple(anyRow, fc.constantFrom(...times), fc.constantFrom(1, -1, 2)), {
        maxLength: 60,
      })
      .map((updates) => ({
        kind: "subscribeResponse" as const,
        id,
        response: {
          kind: "batch" as const,
          lower,
          upper,
          result: { kind: "updates" as const, updates },
        },
      })),
  );
const edgeUpper: fc.Arbitrary<StorageResponse> = fc
  .tuple(edgeId, edgeFrontier)
  .map(([id, upper]) => ({ kind: "frontierUpper", id, upper }));

const computeBatch = fc.array(
  fc.oneof(computeResponse, edgeFrontiers, edgeSubscribe, runSubscribe),
  {
    minLength: 1,
    maxLength: 40,
  },
);
const storageBatch = fc.array(fc.oneof(storageResponse, edgeUpper), {
  minLength: 1,
  maxLength: 40,
});
const clusterBatch = fc.array(
  fc.oneof(
    clusterResponse,
    edgeFrontiers.map((response) => ({ kind: "compute" as const, response })),
    edgeSubscribe.map((response) => ({ kind: "compute" as const, response })),
    edgeUpper.map((response) => ({ kind: "storage" as const, response })),
  ),
  { minLength: 1, maxLength: 40 },
);

/** The reflective bytes, or the error it throws. */
function reflective(f: () => Uint8Array): Uint8Array | Error {
  try {
    return f();
  } catch (e) {
    return e as Error;
  }
}

describe("framed response messages serialize to the reflective bytes", () => {
  test.prop([computeBatch], { numRuns: 500 })("compute", (rs) => {
    const want = toBinary(ComputeControlResponseSchema, computeResponsesToProto(rs));
    const got = toBinary(ComputeControlResponseSchema, computeResponsesFramed(rs));
    expect(Buffer.from(got).equals(want)).toBe(true);
  });

  test.prop([storageBatch], { numRuns: 500 })("storage", (rs) => {
    const want = toBinary(StorageControlResponseSchema, storageResponsesToProto(rs));
    const got = toBinary(StorageControlResponseSchema, storageResponsesFramed(rs));
    expect(Buffer.from(got).equals(want)).toBe(true);
  });

  test.prop([clusterBatch], { numRuns: 500 })("cluster", (rs) => {
    const want = toBinary(ClusterControlResponseSchema, clusterResponsesToProto(rs));
    const got = toBinary(ClusterControlResponseSchema, clusterResponsesFramed(rs));
    expect(Buffer.from(got).equals(want)).toBe(true);
  });

  test.prop([edgeId, invalidTime, fc.constantFrom("write", "input", "output")])(
    "a time the reflective codec cannot encode is its to judge",
    (id, t, k) => {
      const rs = [{ kind: "frontiers", id, frontiers: { [k]: t } } as unknown as ComputeResponse];
      const want = reflective(() =>
        toBinary(ComputeControlResponseSchema, computeResponsesToProto(rs)),
      );
      const got = reflective(() =>
        toBinary(ComputeControlResponseSchema, computeResponsesFramed(rs)),
      );
      if (want instanceof Error) expect(got).toBeInstanceOf(Error);
      else expect(Buffer.from(got as Uint8Array).equals(want)).toBe(true);
    },
  );
  test.prop([fc.constantFrom<unknown>(1.5, Number.NaN, 2 ** 60, "1"), invalidTime])(
    "a subscribe diff or time the reflective codec cannot encode is its to judge",
    (diff, time) => {
      for (const [t, d] of [
        [time, 1],
        [5n, diff],
      ]) {
        const rs = [
          {
            kind: "subscribeResponse",
            id: "t1",
            response: {
              kind: "batch",
              lower: 0n,
              upper: 9n,
              result: { kind: "updates", updates: [[["x"], t, d]] },
            },
          } as unknown as ComputeResponse,
        ];
        const want = reflective(() =>
          toBinary(ComputeControlResponseSchema, computeResponsesToProto(rs)),
        );
        const got = reflective(() =>
          toBinary(ComputeControlResponseSchema, computeResponsesFramed(rs)),
        );
        if (want instanceof Error) expect(got).toBeInstanceOf(Error);
        else expect(Buffer.from(got as Uint8Array).equals(want)).toBe(true);
      }
    },
  );
});

describe("framed response messages", () => {
  test("a batch of 1,000 frontier reports equals the reflective bytes", () => {
    const rs: ComputeResponse[] = Array.from({ length: 1000 }, (_, i) => ({
      kind: "frontiers",
      id: `u${1000 + i}`,
      frontiers: { write: 1_700_000_000_000n + BigInt(i), input: 0n, output: null },
    }));
    const want = toBinary(ComputeControlResponseSchema, computeResponsesToProto(rs));
    const got = toBinary(ComputeControlResponseSchema, computeResponsesFramed(rs));
    expect(Buffer.from(got).equals(want)).toBe(true);
  });

  test("the known responses list is empty: the content is for binary serialization only", () => {
    const msg = computeResponsesFramed([{ kind: "frontiers", id: "u1", frontiers: { write: 5n } }]);
    expect(msg.responses).toEqual([]);
    expect(msg.$unknown).toHaveLength(1);
  });
});
