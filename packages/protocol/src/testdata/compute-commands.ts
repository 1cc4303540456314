/**
 * Test builders for compute commands. Built into dist for the `@mzts/protocol/testing/*`
 * subpaths, so the controller packages' tests share one copy.
 */

import type { Frontier, GlobalId } from "@mzts/repr";
import type {
  ComputeCommand,
  ComputeParameters,
  DataflowDescription,
  Peek,
} from "../compute/command.js";

export const hello = (nonce = "00000000-0000-4000-8000-000000000000"): ComputeCommand => ({
  kind: "hello",
  hello: { nonce, generation: 1n, protocolVersion: 1, buildVersion: "0.0.0" },
});

export const createInstance: ComputeCommand = {
  kind: "createInstance",
  config: {
    logging: { enabled: false, intervalMs: 1000, logLogging: false, indexLogs: new Map() },
  },
};

export const initializationComplete: ComputeCommand = { kind: "initializationComplete" };

/** `updateConfiguration` with the given fields (dyncfg updates from a record). */
export function config(
  fields: { maxResultSize?: bigint; workloadClass?: string; dyncfg?: Record<string, string> } = {},
): ComputeCommand {
  const params: ComputeParameters = {
    ...(fields.maxResultSize === undefined ? {} : { maxResultSize: fields.maxResultSize }),
    ...(fields.workloadClass === undefined ? {} : { workloadClass: fields.workloadClass }),
    dyncfgUpdates: new Map(Object.entries(fields.dyncfg ?? {})),
  };
  return { kind: "updateConfiguration", params };
}

/**
 * A dataflow reading source `u0` (upper 0) that builds one object per export and exports the
 * first id as an index and the rest as persist sinks.
 */
export function dataflowDesc(
  exports: readonly GlobalId[],
  asOf: Frontier,
  sources: readonly GlobalId[] = ["u0"],
): DataflowDescription {
  const [first, ...rest] = exports;
  return {
    debugName: `df-${exports.join("-")}`,
    sourceImports: sources.map((id) => ({ id, shardId: `shard-${id}`, arity: 1, upper: 0n })),
    indexImports: [],
    objectsToBuild: exports.map((id) => ({ id, plan: { kind: "get", id: "u0", arity: 1 } })),
    indexExports: first === undefined ? [] : [{ id: first, objectId: first, key: [0] }],
    sinkExports: rest.map((id) => ({
      id,
      fromId: id,
      connection: { kind: "persist", shardId: `sink-${id}` },
    })),
    asOf,
    until: null,
  };
}

/** `createDataflow` of `dataflowDesc(exports, asOf)`. */
export const createDataflow = (exports: readonly GlobalId[], asOf: Frontier): ComputeCommand => ({
  kind: "createDataflow",
  dataflow: dataflowDesc(exports, asOf),
});

export const schedule = (id: GlobalId): ComputeCommand => ({ kind: "schedule", id });
export const allowWrites = (id: GlobalId): ComputeCommand => ({ kind: "allowWrites", id });
export const compaction = (id: GlobalId, frontier: Frontier): ComputeCommand => ({
  kind: "allowCompaction",
  id,
  frontier,
});

/** A peek of index `target` at `timestamp`. */
export function peekOf(uuid: string, target: GlobalId = "u1", timestamp = 5n): Peek {
  return {
    uuid,
    target: { kind: "index", id: target },
    arity: 1,
    timestamp,
    mapFilterProject: { exprs: [], predicates: [], projection: [0] },
    finishing: { orderBy: [], offset: 0, project: [0] },
  };
}

export const peek = (uuid: string, target: GlobalId = "u1"): ComputeCommand => ({
  kind: "peek",
  peek: peekOf(uuid, target),
});
export const cancelPeek = (uuid: string): ComputeCommand => ({ kind: "cancelPeek", uuid });

/** A lowercase uuid whose last group encodes `n`. */
export const uuid = (n: number): string =>
  `00000000-0000-4000-8000-${n.toString(16).padStart(12, "0")}`;
