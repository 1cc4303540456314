// PHASE(servers): legacy — delete when cluster-unification-servers is retired
/**
 * Entry point of every worker thread of the legacy storage runtime (materialize.md §1.3, storage):
 * its own worker loop, separate from `@mzts/mz-cluster`'s.
 *
 * ## Flow
 * 1. Join the mesh (the low-level `communication/` layer of mz-cluster) and build the worker's
 *    `StorageState`.
 * 2. The main thread hands *every* controller command to *every* worker (`LEGACY_COMMANDS`); each
 *    worker applies it to its own bookkeeping at once, answering bad commands in band.
 * 3. Dataflows change only through internal commands. Worker 0 turns the dataflow actions of its
 *    bookkeeping into internal commands through its **async task**, a FIFO that first asks the
 *    main thread for an ingestion's resume point (`resume` → `LEGACY_ASYNC`) and then submits
 *    `createIngestionDataflow`; drops go through the same FIFO to keep create/drop order.
 * 4. Storage's own `InternalCommandSequencer` (worker 0 decides) delivers the internal commands to
 *    every worker in one global order; each renders or drops at that point, at position
 *    `global * ACTIONS_PER_COMMAND`.
 * 5. A loop steps the state (bounded rounds, yielding to the event loop) and runs `maintain` when
 *    the state asks or it is due (mz-cluster's `MaintenanceTimer`, as the unified loop: no 10 ms
 *    tick at idle, issue 16). Responses are tagged with the worker's current nonce; the main thread drops stale ones.
 */
import { joinMesh, MAIN, MaintenanceTimer } from "@mzts/mz-cluster/runtime";
import { STORAGE_CHANNEL, type StorageMeshMessage } from "../mesh-messages.js";
import { StorageCounters } from "../metrics.js";
import { ACTIONS_PER_COMMAND, type DataflowAction, StorageState } from "../storage-state.js";
import { lazyPersist, parseWorkerConfig, workerLogger } from "../worker-config.js";
import { InternalCommandSequencer, type InternalSequencerMessage } from "./internal-sequencer.js";
import {
  type InternalStorageCommand,
  LEGACY_ASYNC,
  LEGACY_COMMANDS,
  LEGACY_OUT,
  LEGACY_SEQ,
  type LegacyAsyncResult,
  type LegacyInit,
  type LegacyMainToWorker,
  type LegacyWorkerToMain,
} from "./messages.js";

const mesh = await joinMesh();
const init = mesh.init as LegacyInit;
const config = parseWorkerConfig(init.config);
const logger = workerLogger(config, mesh.index);
const persist = lazyPersist(config, logger);
let nonce: string | null = null;
let stepScheduled = false;

const toMain = (msg: LegacyWorkerToMain) => mesh.send(MAIN, LEGACY_OUT, msg);

const maintenance = new MaintenanceTimer({
  intervalMs: init.maintenanceIntervalMs,
  run: () => state.maintain(),
});

const state: StorageState = new StorageState({
  index: mesh.index,
  peers: mesh.peers,
  respond: (response) => toMain({ kind: "response", nonce, response }),
  send: (to, msg) => mesh.send(to, STORAGE_CHANNEL, msg),
  requestStep: scheduleStep,
  requestMaintenance: () => maintenance.request(),
  openPersist: () => persist.open(),
  counters: new StorageCounters(config.counters),
  logger,
  nowMs: () => Date.now(),
  options: config.options,
});

const sequencer = new InternalCommandSequencer<InternalStorageCommand>(
  mesh.index,
  mesh.peers,
  (to, msg) => mesh.send(to, LEGACY_SEQ, msg),
);

// ---- worker 0's async task ----
let asyncTail: Promise<void> = Promise.resolve();
let nextRequest = 0;
const awaiting = new Map<number, (r: LegacyAsyncResult) => void>();

function enqueueAsync(action: DataflowAction): void {
  asyncTail = asyncTail.then(async () => {
    switch (action.kind) {
      case "render": {
        const requestId = nextRequest++;
        const result = await new Promise<LegacyAsyncResult>((resolve) => {
          awaiting.set(requestId, resolve);
          toMain({ kind: "resume", requestId, id: action.id, description: action.description });
        });
        sequencer.push({
          kind: "createIngestionDataflow",
          id: action.id,
          description: action.description,
          resume: "resume" in result ? result.resume : undefined,
        });
        break;
      }
      case "drop":
        sequencer.push({ kind: "dropDataflow", id: action.id });
        break;
      case "dropExport":
        sequencer.push({
          kind: "dropExport",
          ingestionId: action.ingestionId,
          exportId: action.exportId,
        });
        break;
    }
    deliverInternal();
  });
}

function deliverInternal(): void {
  for (const { global, cmd } of sequencer.drain()) {
    const gen = global * ACTIONS_PER_COMMAND;
    switch (cmd.kind) {
      case "createIngestionDataflow":
        state.render(gen, cmd.id, cmd.description, cmd.resume);
        break;
      case "dropDataflow":
        state.dropDataflow(gen, cmd.id);
        break;
      case "dropExport":
        state.dropExport(gen, cmd.ingestionId, cmd.exportId);
        break;
    }
  }
  scheduleStep();
}

function fatal(e: unknown): void {
  toMain({ kind: "fatal", message: e instanceof Error ? e.message : String(e) });
}

mesh.on(LEGACY_COMMANDS, (payload) => {
  const msg = payload as LegacyMainToWorker;
  if (msg.kind === "connect") {
    nonce = msg.nonce;
    state.onConnection();
    return;
  }
  for (const cmd of msg.commands) {
    const actions = state.applyCommand(cmd);
    if (mesh.index === 0) for (const a of actions) enqueueAsync(a);
  }
  scheduleStep();
});

mesh.on(LEGACY_ASYNC, (payload) => {
  const r = payload as LegacyAsyncResult;
  const resolve = awaiting.get(r.requestId);
  awaiting.delete(r.requestId);
  resolve?.(r);
});

mesh.on(LEGACY_SEQ, (payload, from) => {
  try {
    sequencer.receive(from, payload as InternalSequencerMessage<InternalStorageCommand>);
  } catch (e) {
    fatal(e);
    return;
  }
  deliverInternal();
});

mesh.on(STORAGE_CHANNEL, (payload, from) => {
  state.receive(from, payload as StorageMeshMessage);
  scheduleStep();
});

function scheduleStep(): void {
  if (stepScheduled) return;
  stepScheduled = true;
  setImmediate(runSteps);
}

function runSteps(): void {
  stepScheduled = false;
  const deadline = performance.now() + init.stepBudgetMs;
  let more = true;
  try {
    while (more && performance.now() < deadline) more = state.step();
  } catch (e) {
    fatal(e);
    return;
  }
  if (more) scheduleStep();
}

maintenance.request();
