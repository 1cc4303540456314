/**
 * Serving a controller connection with the unified runtime: the glue between the stream handler
 * (`server.ts`) and `createClusterRuntime()`.
 *
 * ## Flow
 * 1. A connection opens: a fresh `ResponseMerger` (the workload's partitioned state, e.g.
 *    `PartitionedComputeState`) is made, and `runtime.connect(nonce)` is sequenced, so every
 *    worker switches to the new connection at one point of the command order.
 * 2. Commands: the merger observes each (some merge rules depend on commands, e.g. the result size
 *    limit or which ids to track) as it arrives. The first stream message of an event-loop turn
 *    goes to the runtime at once (a lone command waits for nothing), and so does any message of
 *    `GATHER_BELOW` commands or more; the commands of the small messages that follow in the same
 *    turn go together at the end of the turn (`setImmediate`: after the
 *    I/O callbacks of the current poll phase), in order — two hops to the workers for a burst of
 *    small messages, not one per message. A new connection, and a session's close, first hand on
 *    what is waiting, so the runtime sees every command in arrival order and before the next
 *    connection's `connect`. A deferred `submit` that throws ends its connection with the error
 *    (a submit at once throws into the stream handler, which ends the stream).
 * 3. Worker responses of this connection go through the merger — a frontier leaves when the meet
 *    across workers advances, a peek when every worker answered — and the merged responses are
 *    flushed to the stream once per microtask, so a burst becomes one stream message.
 * 4. When the connection ends, its session stops forwarding; the runtime and its dataflows keep
 *    running for the next controller (a replica outlives its controller).
 */
import type { ControllerConnection } from "./controller-connections.js";
import { ClusterError } from "./errors.js";
import type { ClusterRuntime } from "./runtime.js";
import type { StreamSession } from "./server.js";

/** A workload's per-process merge of worker responses (its partitioned state). */
export interface ResponseMerger<C, R> {
  observeCommand(cmd: C): void;
  /** Absorbs worker `part`'s response; returns the merged responses now ready, if any. */
  absorb(part: number, response: R): R[];
  /** The connection ended (e.g. stop watching its pending peeks). */
  close?(): void;
}

/**
 * Messages of at least this many commands are never held for the end of the turn. Measured
 * (`pnpm bench phase1`, W=1): gathering one-peek messages cut the replica's CPU per peek by
 * 12–18 %; gathering 64-peek messages cost the unified runtime 18–27 % of its pipelined rate.
 */
export const GATHER_BELOW = 8;

/** Returns the `openSession` of `createStreamHandler` for a runtime. */
export function createRuntimeSessions<C, R>(
  runtime: ClusterRuntime<C, R>,
  newMerger: (workers: number) => ResponseMerger<C, R>,
): (conn: ControllerConnection) => StreamSession<C, R> {
  let active: { merger: ResponseMerger<C, R>; emit: (r: R[]) => void } | undefined;
  // Commands of this turn's later messages, not yet submitted, and their connection (file
  // comment, step 2); `turn` is set from a turn's first message to its end.
  let queued: C[] = [];
  let queuedBy: ControllerConnection | undefined;
  let turn: NodeJS.Immediate | undefined;
  const submitQueued = () => {
    if (turn !== undefined) clearImmediate(turn);
    turn = undefined;
    const cmds = queued;
    const conn = queuedBy;
    if (cmds.length === 0) return;
    queued = [];
    queuedBy = undefined;
    try {
      runtime.submit(cmds);
    } catch (e) {
      conn?.end(
        e instanceof ClusterError ? e : new ClusterError(`submit failed: ${(e as Error).message}`),
      );
    }
  };
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
    submitQueued();
    runtime.connect(conn.nonce);
    return {
      commands(cmds) {
        for (const c of cmds) merger.observeCommand(c);
        if (cmds.length >= GATHER_BELOW) {
          // A large message goes at once (after what waits): holding it would leave the workers
          // idle while this thread reads the rest of the turn.
          submitQueued();
          runtime.submit(cmds);
          return;
        }
        if (turn === undefined) {
          turn = setImmediate(submitQueued);
          runtime.submit(cmds);
          return;
        }
        for (const c of cmds) queued.push(c);
        queuedBy = conn;
      },
      onResponses(s) {
        sink = s;
      },
      close() {
        submitQueued();
        if (active === me) active = undefined;
        sink = undefined;
        merger.close?.();
      },
    };
  };
}
