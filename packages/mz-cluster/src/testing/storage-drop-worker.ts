/**
 * A storage-shaped workload that answers every drop (`allowCompaction` to the empty frontier) with
 * `droppedId` from every worker — the storage command path without ingestion, for serving tests
 * of the unified cluster stream (@internal).
 */
import type { StorageCommand, StorageResponse } from "@mzts/protocol";
import { Frontier } from "@mzts/repr";
import type { WorkerSpec } from "../cluster-spec.js";

const spec: WorkerSpec<StorageCommand, StorageResponse> = {
  createWorker(ctx) {
    return {
      apply(cmd) {
        if (cmd.kind === "allowCompaction" && Frontier.isEmpty(cmd.frontier)) {
          ctx.respond({ kind: "droppedId", id: cmd.id });
        }
      },
      step: () => false,
    };
  },
};
export default spec;
