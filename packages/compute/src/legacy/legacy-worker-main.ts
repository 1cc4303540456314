// PHASE(servers): legacy — delete when cluster-unification-servers is retired
/**
 * Entry point of every worker thread of legacy compute (`createLegacyComputeRuntime`): its own
 * worker loop, not mz-cluster's (no sequencer).
 *
 * 1. Join the mesh; build the shared per-worker state machine (`ComputeState`).
 * 2. Every worker receives the controller's items (`legacy:submit`: connection switches and
 *    commands) from the main thread, the only sender, and applies them in arrival order: every
 *    worker applies the same sequence (the port from the main thread is FIFO).
 * 3. Step the dataflows until idle, yielding between rounds; `maintain()` when the state asks or
 *    it is due (mz-cluster's `MaintenanceTimer`: no timer at idle).
 * Responses go to the main thread tagged with the nonce the worker serves (`legacy:out`), one
 * message per event-loop turn.
 */

import { joinMesh, MAIN, MaintenanceTimer, ResponseBatcher } from "@mzts/mz-cluster/runtime";
import type { ComputeCommand, PeekRowsFrame } from "@mzts/protocol";
import { decodeForwardedCommand, framePeekAnswers } from "@mzts/protocol/domain";
import { pino } from "pino";
import { ComputeState, type WorkerResponse } from "../compute-state.js";
import { parseComputeConfig } from "../config.js";
import { LegacyComputeLogging } from "./logging/legacy-logging.js";

/** `init` of a legacy worker (plain data). */
export interface LegacyInit {
  readonly config: unknown;
  readonly maintenanceIntervalMs: number;
  readonly stepBudgetMs: number;
}

/** Main → every worker on `legacy:submit` (an array of them): a connection switch or a command. */
export type LegacyItem =
  | { readonly kind: "connect"; readonly nonce: string }
  | { readonly kind: "command"; readonly command: ComputeCommand }
  /**
   * Commands forwarded as their wire bytes (`LegacyComputeRuntimeOptions.commandFrame`): command
   * `i` is `bytes[ends[i-1] .. ends[i])`, read back by `decodeForwardedCommand`.
   */
  | { readonly kind: "frames"; readonly bytes: Uint8Array; readonly ends: readonly number[] };

/** Worker → main on `legacy:out`. */
export type LegacyOut =
  /**
   * Responses produced in one event-loop turn under one nonce, in order (peek answers with rows
   * as `PeekRowsFrame`s).
   */
  | {
      readonly kind: "responses";
      readonly nonce: string | null;
      readonly responses: Array<WorkerResponse | PeekRowsFrame>;
    }
  | { readonly kind: "fatal"; readonly message: string };

const mesh = await joinMesh();
const init = mesh.init as LegacyInit;
let nonce: string | null = null;
let stepScheduled = false;
let closed = false;

// Responses leave batched (mz-cluster's `ResponseBatcher`); a fatal flushes them first. Peek
// answers with rows leave as their wire bytes (one transferred buffer per message), as on the
// unified path (issue 16; `@mzts/protocol` `peek-answer-frames.ts`).
const responses = new ResponseBatcher<WorkerResponse>((n, batch) => {
  const transfer = framePeekAnswers(batch);
  mesh.send(
    MAIN,
    "legacy:out",
    { kind: "responses", nonce: n, responses: batch } satisfies LegacyOut,
    transfer === undefined ? undefined : [transfer],
  );
});
const respond = (response: WorkerResponse) => responses.push(nonce, response);
const flushResponses = () => responses.flush();
const toMain = (m: LegacyOut) => {
  flushResponses();
  mesh.send(MAIN, "legacy:out", m);
};
const config = parseComputeConfig(init.config);
const logger = pino({
  level: config.logLevel ?? "silent",
  base: { workload: "compute", worker: mesh.index },
});
const maintenance = new MaintenanceTimer({
  intervalMs: init.maintenanceIntervalMs,
  // Only once `state` exists (its constructor asks nothing; `closed` is checked inside).
  run: () => state.maintain(),
});
const state = new ComputeState(mesh.index, mesh.peers, {
  mesh,
  config,
  respond,
  requestStep: scheduleStep,
  requestMaintenance: () => maintenance.request(),
  logger,
  // The legacy servers runtime always logs the legacy way (unified logging needs servers).
  logging: new LegacyComputeLogging({ worker: mesh.index, log: logger }),
});
/** Items received and not yet applied, in arrival order; `queueHead` avoids `shift()`. */
let queue: LegacyItem[] = [];
let queueHead = 0;
if (mesh.index === 0) logger.info({ workers: mesh.peers }, "compute: worker runtime started");

function applyReady(): void {
  while (queueHead < queue.length) {
    const item = queue[queueHead++]!;
    if (item.kind === "connect") {
      nonce = item.nonce;
      state.onConnection(item.nonce);
    } else if (item.kind === "frames") {
      let start = 0;
      for (const end of item.ends) {
        const command = decodeForwardedCommand(item.bytes, start, end);
        start = end;
        // The main thread forwards only what this reads (`forwardedFrame`): a wiring bug.
        if (command === undefined) throw new Error("a forwarded command the worker cannot read");
        state.apply(command);
      }
    } else state.apply(item.command);
  }
  queue = [];
  queueHead = 0;
}

function scheduleStep(): void {
  if (stepScheduled || closed) return;
  stepScheduled = true;
  setImmediate(runSteps);
}

function runSteps(): void {
  stepScheduled = false;
  if (closed) return;
  try {
    applyReady();
    const deadline = performance.now() + init.stepBudgetMs;
    let more = true;
    // Answers of a step leave when it returns, not when the whole step budget is spent.
    while (more && performance.now() < deadline) {
      more = state.step();
      flushResponses();
    }
    if (more) scheduleStep();
  } catch (e) {
    toMain({ kind: "fatal", message: (e as Error).stack ?? String(e) });
  }
}

mesh.on("legacy:submit", (payload) => {
  for (const item of payload as LegacyItem[]) queue.push(item);
  scheduleStep();
});

mesh.on("legacy:close", () => {
  closed = true;
  maintenance.close();
  void state.close().finally(() => {
    mesh.send(MAIN, "legacy:closed", null);
    mesh.close();
  });
});
