/**
 * A hosting workload for the unified logging's runtime tests (@internal — no semver): what
 * compute does with `ctx.logging`, and nothing else.
 *
 * Commands:
 * - `{op:"configure", config}`: `ctx.logging.configure(config)` (compute's `CreateInstance`);
 * - `{op:"rows", id}`: every worker responds `{op:"rows", worker, rows}` — its part of log index
 *   `id` as of its upper, or `rows: null` when not installed (or no `ctx.logging`).
 * `maintain` steps the host (`ctx.logging.step(Date.now())`), as compute's `maintain` does.
 */
import type { LoggingConfig } from "@mzts/protocol";
import type { Row } from "@mzts/repr";
import type { WorkerSpec } from "../cluster-spec.js";

export type LoggingHostCommand =
  | { readonly op: "configure"; readonly config: LoggingConfig }
  | { readonly op: "rows"; readonly id: string };

export interface LoggingHostResponse {
  readonly op: "rows";
  readonly worker: number;
  readonly rows: readonly Row[] | null;
}

const spec: WorkerSpec<LoggingHostCommand, LoggingHostResponse> = {
  createWorker(ctx) {
    return {
      apply(cmd) {
        if (cmd.op === "configure") {
          ctx.logging?.configure(cmd.config);
          return;
        }
        const index = ctx.logging?.index(cmd.id);
        const rows = index?.arrangement.current().map(([row]) => row) ?? null;
        ctx.respond({ op: "rows", worker: ctx.index, rows });
      },
      step: () => false,
      maintain() {
        ctx.logging?.step(Date.now());
      },
    };
  },
};

export default spec;
