// PHASE(servers): legacy — delete when cluster-unification-servers is retired
/**
 * Entry point of every worker thread of legacy compute (`createLegacyComputeRuntime`): its own
 * worker loop, not mz-cluster's (no sequencer).
 *
 * 1. Join the mesh; build the shared per-worker state machine (`ComputeState`).
 * 2. Worker 0 receives the controller's items (`legacy:submit`: connection switches and
 *    commands) and feeds them into the `CommandChannel`; every worker applies the items the
 *    channel releases, in its time order.
 * 3. Step the dataflows until idle, yielding between rounds; `maintain()` when the state asks or
 *    it is due (mz-cluster's `MaintenanceTimer`: no timer at idle).
 * Responses go to the main thread tagged with the nonce the worker serves (`legacy:out`), one
 * message per event-loop turn.
 */
import type { ExchangeMessage } from "@mzts/dataflow";
import {
  ExchangeRouter,
  joinMesh,
  MAIN,
  MaintenanceTimer,
  ResponseBatcher,
} from "@mzts/mz-cluster/runtime";
import { pino } from "pino";
import { ComputeState, type WorkerResponse } from "../compute-state.js";
import { parseComputeConfig } from "../config.js";
import { type ChannelItem, CommandChannel } from "./command-channel.js";
import { LegacyComputeLogging } from "./logging/legacy-logging.js";

/** `init` of a legacy worker (plain data). */
export interface LegacyInit {
  readonly config: unknown;
  readonly maintenanceIntervalMs: number;
  readonly stepBudgetMs: number;
}

/** Worker → main on `legacy:out`. */
export type LegacyOut =
  /** Responses produced in one event-loop turn under one nonce, in order. */
  | {
      readonly kind: "responses";
      readonly nonce: string | null;
      readonly responses: WorkerResponse[];
    }
  | { readonly kind: "fatal"; readonly message: string };

const mesh = await joinMesh();
const init = mesh.init as LegacyInit;
let nonce: string | null = null;
let stepScheduled = false;
let closed = false;

// Responses leave batched (mz-cluster's `ResponseBatcher`); a fatal flushes them first.
const responses = new ResponseBatcher<WorkerResponse>((n, batch) =>
  mesh.send(MAIN, "legacy:out", {
    kind: "responses",
    nonce: n,
    responses: batch,
  } satisfies LegacyOut),
);
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
const router = new ExchangeRouter<ExchangeMessage>(mesh, "compute:command-channel", scheduleStep);
const channel = new CommandChannel(router.open(0).channel(0), mesh.index, mesh.peers);
if (mesh.index === 0) logger.info({ workers: mesh.peers }, "compute: worker runtime started");

function applyReady(): void {
  for (const item of channel.receive()) {
    if (item.kind === "connect") {
      nonce = item.nonce;
      state.onConnection(item.nonce);
    } else state.apply(item.command);
  }
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
  channel.pushAll(payload as ChannelItem[]);
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
