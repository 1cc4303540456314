/**
 * A compute-shaped workload that answers every peek with no rows from every worker — the command
 * path without computation, for the command-path benchmark and serving tests (@internal).
 */
import type { ComputeCommand, ComputeResponse } from "@mzts/protocol";
import type { WorkerSpec } from "../cluster-spec.js";

const spec: WorkerSpec<ComputeCommand, ComputeResponse> = {
  createWorker(ctx) {
    return {
      apply(cmd) {
        if (cmd.kind === "peek") {
          ctx.respond({
            kind: "peekResponse",
            uuid: cmd.peek.uuid,
            response: { kind: "rows", rows: [] },
          });
        }
      },
      step: () => false,
    };
  },
};
export default spec;
