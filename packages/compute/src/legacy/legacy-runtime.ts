// PHASE(servers): legacy — delete when cluster-unification-servers is retired
/**
 * `createLegacyComputeRuntime()`: legacy compute's process (main-thread) half, with the same
 * surface as mz-cluster's `ClusterRuntime` so a server (or `createRuntimeSessions`) can drive
 * either path. It spawns its own worker mesh (`legacy-worker-main.js`) and sends every controller
 * item to every worker in one hop (`mesh.broadcast`: one `postMessage` per worker); runs of
 * peeks and allowCompactions go as their wire bytes (`commandFrame`, issue 16). One sender and
 * FIFO ports give every worker the same sequence.
 *
 * Responses come back tagged with the worker's nonce; only those of the current connection reach
 * `onResponse` (older ones are dropped and counted), as on the unified path.
 */
import {
  type ClusterRuntime,
  forwardRuns,
  spawnMesh,
  WorkerFailed,
} from "@mzts/mz-cluster/runtime";
import type { ComputeCommand, ComputeResponse } from "@mzts/protocol";
import type { LegacyInit, LegacyItem, LegacyOut } from "./legacy-worker-main.js";

export interface LegacyComputeRuntimeOptions {
  readonly workers: number;
  /** The workers' `ComputeConfig` (plain data). */
  readonly config: unknown;
  /** Frontier reporting tick; default 10 ms. */
  readonly maintenanceIntervalMs?: number;
  /** Longest a worker steps before yielding; default 5 ms. */
  readonly stepBudgetMs?: number;
  /**
   * Commands forwarded as bytes (issue 16): the wire bytes of a command the workers read back with
   * `@mzts/protocol`'s `decodeForwardedCommand` (its `forwardedFrame`), or `undefined` (it travels
   * as a structured clone). Runs of such commands cross to each worker as one buffer copy.
   */
  readonly commandFrame?: (command: ComputeCommand) => Uint8Array | undefined;
  /**
   * Longest `close()` waits for every worker to release its state (since handles expired,
   * persist closed) before terminating the threads; default 2000 ms, as the unified runtime.
   */
  readonly closeGraceMs?: number;
}

const ENTRY = new URL("./legacy-worker-main.js", import.meta.url);

/**
 * A lone command travels as an object here: measured (`pnpm bench phase1`, W=2, one peek per
 * message, 4 interleaved A/B runs), forwarding it as bytes cost the legacy runtime 5–16 % more
 * CPU per sequential peek and 16–45 % on p50 (the unified runtime: neutral); at 64 peeks per
 * message forwarding saves 19 % of its CPU per peek.
 */
const LEGACY_MIN_FORWARDED = 2;

/** Starts legacy compute's W workers. */
export function createLegacyComputeRuntime(
  opts: LegacyComputeRuntimeOptions,
): ClusterRuntime<ComputeCommand, ComputeResponse> {
  const init: LegacyInit = {
    config: opts.config,
    maintenanceIntervalMs: opts.maintenanceIntervalMs ?? 10,
    stepBudgetMs: opts.stepBudgetMs ?? 5,
  };
  const mesh = spawnMesh(ENTRY, opts.workers, init);
  let nonce: string | null = null;
  let stale = 0;
  let failed = false;
  let closed = false;
  const responseCbs: Array<(worker: number, response: ComputeResponse) => void> = [];
  const failureCbs: Array<(error: WorkerFailed) => void> = [];
  const fail = (err: WorkerFailed) => {
    if (failed || closed) return;
    failed = true;
    for (const cb of failureCbs) cb(err);
  };
  mesh.onWorkerExit((i, error, code) =>
    fail(new WorkerFailed(i, error ? error.message : `exited with code ${code}`)),
  );
  mesh.ready.catch((e: Error) => fail(new WorkerFailed(-1, e.message)));
  let releasedCount = 0;
  let onReleased: () => void = () => {};
  const released = new Promise<void>((r) => {
    onReleased = r;
  });
  mesh.on("legacy:closed", () => {
    if (++releasedCount === opts.workers) onReleased();
  });
  mesh.on("legacy:out", (payload, from) => {
    const m = payload as LegacyOut;
    if (m.kind === "fatal") {
      fail(new WorkerFailed(from, m.message));
      return;
    }
    if (m.nonce !== nonce) {
      stale += m.responses.length;
      return;
    }
    // Worker statistics ride along; the compute merger takes them out.
    for (const response of m.responses)
      for (const cb of responseCbs) cb(from, response as ComputeResponse);
  });
  // Sent at once, also before `ready`: ports buffer messages until a worker listens, and a
  // worker keeps a channel's messages until it has a handler for it.
  const send = (items: LegacyItem[]) => {
    if (closed || failed || items.length === 0) return;
    mesh.broadcast("legacy:submit", items);
  };
  return {
    spec: { name: "compute", workerModule: ENTRY },
    workers: opts.workers,
    ready: mesh.ready,
    get nonce() {
      return nonce;
    },
    get staleResponses() {
      return stale;
    },
    connect(n) {
      nonce = n;
      send([{ kind: "connect", nonce: n }]);
    },
    submit(commands) {
      send(
        forwardRuns<ComputeCommand, LegacyItem>(
          commands,
          opts.commandFrame,
          (bytes, ends) => ({ kind: "frames", bytes, ends }),
          (command) => ({ kind: "command", command }),
          LEGACY_MIN_FORWARDED,
        ),
      );
    },
    onResponse(cb) {
      responseCbs.push(cb);
    },
    onFailure(cb) {
      failureCbs.push(cb);
    },
    poke() {
      // Workers step on their own timers; nothing to do.
    },
    async close() {
      if (closed) return;
      closed = true;
      for (let w = 0; w < opts.workers; w++) mesh.send(w, "legacy:close", null);
      // Each worker answers `legacy:closed` once its state is released; a worker that does not
      // answer within the grace period is terminated anyway (its handles' leases then lapse).
      await Promise.race([
        released,
        new Promise((r) => setTimeout(r, opts.closeGraceMs ?? 2000).unref()),
      ]);
      await mesh.terminate();
    },
  };
}
