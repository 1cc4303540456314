/**
 * A forwarding workload for the unified logging's runtime tests (@internal — no semver): what
 * storage does with `ctx.logging`, and nothing else.
 *
 * Commands: `{op:"status", sourceId, status}` records a source's status on every worker. In
 * `maintain`, when `ctx.logging.logger` is enabled, every worker logs the statuses it has not
 * logged with that logger yet (a new logger — forwarding re-armed — logs them all again), as
 * storage samples its state once per maintenance tick.
 */
import type { WorkerSpec } from "../cluster-spec.js";
import { type EventLogger, NO_LOGGER } from "../logging/events.js";

export interface LoggingForwardCommand {
  readonly op: "status";
  readonly sourceId: string;
  readonly status: string;
}

const spec: WorkerSpec<LoggingForwardCommand, never> = {
  createWorker(ctx) {
    const statuses = new Map<string, string>();
    const logged = new Map<string, string>();
    let last: EventLogger = NO_LOGGER;
    return {
      apply(cmd) {
        statuses.set(cmd.sourceId, cmd.status);
      },
      step: () => false,
      maintain() {
        const logger = ctx.logging?.logger ?? NO_LOGGER;
        if (logger !== last) {
          logged.clear();
          last = logger;
        }
        if (!logger.enabled) return;
        for (const [sourceId, status] of statuses) {
          if (logged.get(sourceId) === status) continue;
          logged.set(sourceId, status);
          logger.log({ kind: "sourceStatus", sourceId, status, error: null });
        }
      },
    };
  },
};

export default spec;
