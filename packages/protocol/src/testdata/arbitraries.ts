/**
 * fast-check arbitraries for every domain value of the protocols: datums (all kinds, with edge
 * values), rows, frontiers, ids, valid plans (recursive, with correct arities), dataflows, peeks,
 * and every compute, storage and cluster command and response kind. The entry of the
 * `./arbitraries` subpath.
 *
 * Arbitraries produce *valid* values — the round-trip properties assert that
 * `fromProto(toProto(x))` equals `x` — so every generator respects the invariants the decoders
 * check (unique ids, columns in range, positive counts, …). The generators build on each other,
 * one layer per file: `arbitrary-values.ts` (scalars, datums, rows, hello, errors) →
 * `arbitrary-plans.ts` → `arbitrary-dataflows.ts` (dataflows, peeks) → `arbitrary-compute.ts` /
 * `arbitrary-storage.ts` (commands and responses) → the cluster stream, here.
 */
import fc from "fast-check";
import type { ClusterCommand, ClusterResponse } from "../cluster/cluster-command.js";
import { computeCommand, computeResponse } from "./arbitrary-compute.js";
import { storageCommand, storageResponse } from "./arbitrary-storage.js";

export * from "./arbitrary-compute.js";
export * from "./arbitrary-dataflows.js";
export * from "./arbitrary-plans.js";
export * from "./arbitrary-storage.js";
export * from "./arbitrary-values.js";

// ---------------------------------------------------------------------------------------------
// Cluster

export const clusterCommand: fc.Arbitrary<ClusterCommand> = fc.oneof(
  computeCommand.map((command) => ({ kind: "compute" as const, command })),
  storageCommand.map((command) => ({ kind: "storage" as const, command })),
);

export const clusterResponse: fc.Arbitrary<ClusterResponse> = fc.oneof(
  computeResponse.map((response) => ({ kind: "compute" as const, response })),
  storageResponse.map((response) => ({ kind: "storage" as const, response })),
);
