/**
 * Serving a controller connection with the unified runtime: the glue between the stream handler
 * (`server.ts`) and `createClusterRuntime()`.
 *
 * ## Flow
 * 1. A connection opens: a fresh `ResponseMerger` (the workload's partitioned state, e.g.
 *    `PartitionedComputeState`) is made, and `runtime.connect(nonce)` is sequenced, so every
 *    worker switches to the new connection at one point of the command order.
 * 2. Commands: the merger observes each (some merge rules depend on commands, e.g. the result size
 *    limit or which ids to track), then the runtime sequences them to every worker.
 * 3. Worker responses of this connection go through the merger — a frontier leaves when the meet
 *    across workers advances, a peek when every worker answered — and the merged responses are
 *    flushed to the stream once per microtask, so a burst becomes one stream message.
 * 4. When the connection ends, its session stops forwarding; the runtime and its dataflows keep
 *    running for the next controller (a replica outlives its controller).
 */
import type { ControllerConnection } from "./controller-connections.js";
import type { ClusterRuntime } from "./runtime.js";
import type { StreamSession } from "./server.js";

/** A workload's per-process merge of worker responses (its partitioned state). */
export interface ResponseMerger<C, R> {
  observeCommand(cmd: C): void;
  /** Absorbs worker `part`'s response; returns the merged responses now ready, if any. */
  absorb(part: number, response: R): R[];
}

/** Returns the `openSession` of `createStreamHandler` for a runtime. */
export function createRuntimeSessions<C, R>(
  runtime: ClusterRuntime<C, R>,
  newMerger: (workers: number) => ResponseMerger<C, R>,
): (conn: ControllerConnection) => StreamSession<C, R> {
  let active: { merger: ResponseMerger<C, R>; emit: (r: R[]) => void } | undefined;
  runtime.onResponse((worker, response) => {
    if (!active) return;
    const merged = active.merger.absorb(worker, response);
    if (merged.length > 0) active.emit(merged);
  });

  return (conn) => {
    const merger = newMerger(runtime.workers);
    let sink: ((r: readonly R[]) => void) | undefined;
    let pending: R[] = [];
    let scheduled = false;
    const flush = () => {
      scheduled = false;
      const out = pending;
      pending = [];
      if (out.length > 0) sink?.(out);
    };
    const me = {
      merger,
      emit(rs: R[]) {
        for (const r of rs) pending.push(r);
        if (!scheduled) {
          scheduled = true;
          queueMicrotask(flush);
        }
      },
    };
    active = me;
    runtime.connect(conn.nonce);
    return {
      commands(cmds) {
        for (const c of cmds) merger.observeCommand(c);
        runtime.submit(cmds);
      },
      onResponses(s) {
        sink = s;
      },
      close() {
        if (active === me) active = undefined;
        sink = undefined;
      },
    };
  };
}
