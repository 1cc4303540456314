/**
 * fast-check arbitraries: every compute command and response kind. Part of `./arbitraries` (see
 * `arbitraries.ts`).
 */
import type { Frontier, Timestamp, Update } from "@mzts/repr";
import fc from "fast-check";
import {
  COMPUTE_COMMAND_KINDS,
  type ComputeCommand,
  type ComputeCommandKind,
} from "../compute/command.js";
import type { ComputeResponse, ComputeResponseKind } from "../compute/response.js";
import { dataflow, peek } from "./arbitrary-dataflows.js";
import {
  anyRow,
  commandError,
  frontier,
  globalId,
  hello,
  mapKey,
  nonZeroDiff,
  safeCount,
  stringMap,
  text,
  U64_MAX,
  u64,
  uuid,
} from "./arbitrary-values.js";

// ---------------------------------------------------------------------------------------------
// Compute

export const optionalU64 = fc.option(u64, { nil: undefined });

/** One arbitrary per compute command kind. */
export const computeCommands: { readonly [K in ComputeCommandKind]: fc.Arbitrary<ComputeCommand> } =
  {
    hello: hello.map((h) => ({ kind: "hello", hello: h })),
    createInstance: fc
      .record({
        enabled: fc.boolean(),
        intervalMs: fc.integer({ min: 1, max: 0xffff_ffff }),
        logLogging: fc.boolean(),
        indexLogs: fc.array(fc.tuple(mapKey, globalId), { maxLength: 3 }).map((e) => new Map(e)),
        offset: optionalU64,
      })
      .map(({ offset, ...logging }) => ({
        kind: "createInstance",
        config: { logging, ...(offset === undefined ? {} : { expirationOffsetMs: offset }) },
      })),
    initializationComplete: fc.constant({ kind: "initializationComplete" }),
    updateConfiguration: fc
      .record({ max: optionalU64, wc: fc.option(text, { nil: undefined }), dyncfg: stringMap })
      .map(({ max, wc, dyncfg }) => ({
        kind: "updateConfiguration",
        params: {
          dyncfgUpdates: dyncfg,
          ...(max === undefined ? {} : { maxResultSize: max }),
          ...(wc === undefined ? {} : { workloadClass: wc }),
        },
      })),
    createDataflow: dataflow.map((d) => ({ kind: "createDataflow", dataflow: d })),
    schedule: globalId.map((id) => ({ kind: "schedule", id })),
    allowCompaction: fc
      .tuple(globalId, frontier)
      .map(([id, f]) => ({ kind: "allowCompaction", id, frontier: f })),
    peek: peek.map((p) => ({ kind: "peek", peek: p })),
    cancelPeek: uuid.map((u) => ({ kind: "cancelPeek", uuid: u })),
    allowWrites: globalId.map((id) => ({ kind: "allowWrites", id })),
  };

export const computeCommand: fc.Arbitrary<ComputeCommand> = fc.oneof(
  ...Object.values(computeCommands),
);

/** Updates inside `[lower, upper)`. */
export function updatesIn(lower: Timestamp, upper: Frontier): fc.Arbitrary<Update[]> {
  const time = fc.bigInt({ min: lower, max: upper === null ? U64_MAX : upper - 1n });
  return fc.array(fc.tuple(anyRow, time, nonZeroDiff), { maxLength: 4 });
}

export const subscribeBatch = fc
  .bigInt({ min: 0n, max: U64_MAX - 1n })
  .chain((lower) =>
    fc
      .option(fc.bigInt({ min: lower + 1n, max: U64_MAX }), { nil: null, freq: 4 })
      .map((upper) => [lower, upper] as const),
  )
  .chain(([lower, upper]) =>
    fc
      .oneof(
        updatesIn(lower, upper).map((updates) => ({ kind: "updates" as const, updates })),
        fc.string({ minLength: 1 }).map((message) => ({ kind: "error" as const, message })),
      )
      .map((result) => ({ kind: "batch" as const, lower, upper, result })),
  );

/** One arbitrary per compute response kind. */
export const computeResponses: {
  readonly [K in ComputeResponseKind]: fc.Arbitrary<ComputeResponse>;
} = {
  frontiers: fc
    .tuple(
      globalId,
      fc
        .record({ write: frontier, input: frontier, output: frontier }, { requiredKeys: [] })
        .filter((f) => Object.keys(f).length > 0),
    )
    .map(([id, frontiers]) => ({ kind: "frontiers", id, frontiers })),
  peekResponse: fc
    .tuple(
      uuid,
      fc.oneof(
        fc
          .array(fc.tuple(anyRow, safeCount), { maxLength: 5 })
          .map((rows) => ({ kind: "rows" as const, rows })),
        fc.string({ minLength: 1 }).map((message) => ({ kind: "error" as const, message })),
        fc.constant({ kind: "canceled" as const }),
      ),
    )
    .map(([u, response]) => ({ kind: "peekResponse", uuid: u, response })),
  subscribeResponse: fc
    .tuple(
      globalId,
      fc.oneof(
        subscribeBatch,
        frontier.map((f) => ({ kind: "droppedAt" as const, frontier: f })),
      ),
    )
    .map(([id, response]) => ({ kind: "subscribeResponse", id, response })),
  status: fc
    .array(fc.record({ id: globalId, hydrated: fc.boolean() }), { maxLength: 3 })
    .map((hydration) => ({ kind: "status", hydration })),
  commandError: commandError(COMPUTE_COMMAND_KINDS).map((error) => ({
    kind: "commandError",
    error,
  })),
};

export const computeResponse: fc.Arbitrary<ComputeResponse> = fc.oneof(
  ...Object.values(computeResponses),
);
