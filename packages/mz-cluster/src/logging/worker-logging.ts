/**
 * The worker-thread half of a runtime's unified logging (phase 2): builds the worker's
 * `ctx.logging` for the runtime's role and connects it to the main thread.
 *
 * - `host` (the compute runtime): a `UnifiedLoggingHost`; events the main thread injects
 *   (`cluster:log-inject`) are ingested; configuration changes go to the main thread
 *   (`logDemand`). The workload drives `step` (see `unified-host.ts`).
 * - `forward` (the storage runtime): a `ForwardingHost`; the main thread enables it
 *   (`cluster:log-forward`); its batch is drained once per maintenance tick (`afterMaintain`)
 *   and sent to the main thread (`logEvents`).
 * Either role reports its totals to the main thread at most once per second, when they changed.
 *
 * Loaded by `worker-main.ts` with a dynamic import, only when the runtime has unified logging, so
 * a runtime without it loads none of this (nor the dataflow engine).
 */
import type { WorkerMesh } from "../communication/mesh.js";
import {
  LOG_FORWARD_CHANNEL,
  LOG_INJECT_CHANNEL,
  type RuntimeLoggingInit,
  type WorkerToMain,
} from "../worker/messages.js";
import type { LogEvent } from "./events.js";
import { ForwardingHost } from "./forwarder.js";
import type { LoggingHost } from "./host.js";
import { UnifiedLoggingHost } from "./unified-host.js";

/** How often totals may be reported to the main thread. */
const STATS_INTERVAL_MS = 1000;

/** A worker's unified logging, as the worker loop sees it. */
export interface WorkerLogging {
  /** The worker's `ctx.logging`. */
  readonly host: LoggingHost;
  /** Runs after the workload's `maintain` (drains forwarded events, reports totals). */
  afterMaintain(nowMs: number): void;
  close(): void;
}

/** Builds the worker's logging for `init.role`; see the file comment. */
export function createWorkerLogging(
  init: RuntimeLoggingInit,
  mesh: WorkerMesh,
  toMain: (msg: WorkerToMain) => void,
): WorkerLogging {
  let statsAt = 0;
  let lastStats = "";
  const report = (nowMs: number, make: () => WorkerToMain) => {
    if (nowMs - statsAt < STATS_INTERVAL_MS) return;
    statsAt = nowMs;
    const msg = make();
    const key = JSON.stringify(msg);
    if (key === lastStats) return;
    lastStats = key;
    toMain(msg);
  };
  if (init.role === "host") {
    const host = new UnifiedLoggingHost({
      worker: mesh.index,
      ...(init.retentionMs === undefined ? {} : { retentionMs: init.retentionMs }),
      onDemand: (d) => toMain({ kind: "logDemand", storage: d.storage }),
    });
    mesh.on(LOG_INJECT_CHANNEL, (payload) => {
      if (Array.isArray(payload)) host.ingest(payload as LogEvent[]);
    });
    return {
      host,
      afterMaintain: (nowMs) => report(nowMs, () => ({ kind: "logStats", stats: host.stats() })),
      close: () => host.close(),
    };
  }
  const host = new ForwardingHost({ worker: mesh.index });
  mesh.on(LOG_FORWARD_CHANNEL, (payload) => {
    host.setEnabled((payload as { enabled?: unknown } | null)?.enabled === true);
  });
  return {
    host,
    afterMaintain(nowMs) {
      const events = host.drain();
      if (events.length > 0) toMain({ kind: "logEvents", events });
      report(nowMs, () => ({
        kind: "forwardStats",
        stats: { logged: host.logged, dropped: host.dropped },
      }));
    },
    close: () => host.close(),
  };
}
