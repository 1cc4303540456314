/**
 * The unified path's worker module: mz-cluster loads it in every worker thread (its default
 * export is the `WorkerSpec`). It adapts mz-cluster's `ClusterWorker` calls onto the shared
 * per-worker state machine, `ComputeState`; the sequencer has already put commands in one total
 * order, so this file adds nothing but wiring.
 *
 * Introspection (phase 2, *logging*): the runtime's unified `LoggingHost` when it has one
 * (`ctx.logging`, only while the logging phase is in force), else compute's legacy logging.
 */
import type { WorkerSpec } from "@mzts/mz-cluster/runtime";
import type { ComputeCommand } from "@mzts/protocol";
import { decodeForwardedCommand, framePeekAnswers } from "@mzts/protocol/domain";
import { pino } from "pino";
import { ComputeState, type WorkerResponse } from "./compute-state.js";
import { parseComputeConfig } from "./config.js";
// PHASE(logging): legacy — delete when cluster-unification-logging is retired
import { LegacyComputeLogging } from "./legacy/logging/legacy-logging.js";

const spec: WorkerSpec<ComputeCommand, WorkerResponse> = {
  createWorker(ctx) {
    const config = parseComputeConfig(ctx.config);
    const logger = pino({
      level: config.logLevel ?? "silent",
      base: { workload: "compute", worker: ctx.index },
    });
    const state = new ComputeState(ctx.index, ctx.peers, {
      mesh: ctx.mesh,
      config,
      respond: (r) => ctx.respond(r),
      requestStep: () => ctx.requestStep(),
      requestMaintenance: () => ctx.requestMaintenance(),
      logger,
      logging: ctx.logging ?? new LegacyComputeLogging({ worker: ctx.index, log: logger }),
    });
    if (ctx.index === 0) logger.info({ workers: ctx.peers }, "compute: worker runtime started");
    return {
      onConnection: (nonce) => state.onConnection(nonce),
      apply: (cmd) => state.apply(cmd),
      step: () => state.step(),
      maintain: () => state.maintain(),
      // Awaited by the runtime (within its grace period): readers expire their since handles.
      close: () => state.close(),
    };
  },
  // Peeks and allowCompactions arrive as their wire bytes (the runtime's `commandFrame`).
  decodeCommand: decodeForwardedCommand,
  // Peek answers with rows leave as their wire bytes, which the main thread's merge passes
  // through when one worker has the rows (issue 16; `@mzts/protocol` `peek-answer-frames.ts`).
  encodeResponses: framePeekAnswers,
};

export default spec;
