/**
 * The storage workload's worker module for the unified runtime (`@mzts/mz-cluster`): its default
 * export is the `WorkerSpec<StorageCommand, StorageResponse>` every worker thread loads.
 *
 * The runtime delivers every command to every worker in one total order (the sequencer), each
 * `runIngestion` already carrying its resume point (the preparation task, `spec.ts`). So the
 * bookkeeping and the dataflow actions it implies happen at the same point of the order on every
 * worker, stamped with the command's sequence number: no internal commands are needed. The
 * storage mesh channel carries the write path's parts, upper broadcasts, health and statistics
 * (`storage-state.ts`).
 */
import type { WorkerSpec } from "@mzts/mz-cluster/runtime";
import type { StorageCommand, StorageResponse } from "@mzts/protocol";
import { STORAGE_CHANNEL, type StorageMeshMessage } from "./mesh-messages.js";
import { StorageCounters } from "./metrics.js";
import { ACTIONS_PER_COMMAND, type DataflowAction, StorageState } from "./storage-state.js";
import { lazyPersist, parseWorkerConfig, workerLogger } from "./worker-config.js";

const spec: WorkerSpec<StorageCommand, StorageResponse> = {
  createWorker(ctx) {
    const config = parseWorkerConfig(ctx.config);
    const logger = workerLogger(config, ctx.index);
    const persist = lazyPersist(config, logger);
    const state = new StorageState({
      index: ctx.index,
      peers: ctx.peers,
      respond: (r) => ctx.respond(r),
      send: (to, msg) => ctx.mesh.send(to, STORAGE_CHANNEL, msg),
      requestStep: () => ctx.requestStep(),
      requestMaintenance: () => ctx.requestMaintenance(),
      openPersist: () => persist.open(),
      counters: new StorageCounters(config.counters),
      logger,
      nowMs: () => Date.now(),
      options: config.options,
      // Unified logging (phase 2): present when the runtime forwards this worker's events.
      eventLogger: () => ctx.logging?.logger,
    });
    ctx.mesh.on(STORAGE_CHANNEL, (payload, from) => {
      state.receive(from, payload as StorageMeshMessage);
      ctx.requestStep();
    });
    const run = (seq: number, a: DataflowAction) => {
      switch (a.kind) {
        case "render":
          state.render(seq, a.id, a.description, a.resume);
          return;
        case "drop":
          state.dropDataflow(seq, a.id);
          return;
        case "dropExport":
          state.dropExport(seq, a.ingestionId, a.exportId);
          return;
      }
    };
    return {
      onConnection: () => state.onConnection(),
      apply(command, { seq }) {
        // Several actions of one command (reconciliation) get distinct, ordered positions.
        state.applyCommand(command).forEach((a, i) => {
          run(seq * ACTIONS_PER_COMMAND + i, a);
        });
      },
      step: () => state.step(),
      maintain: () => state.maintain(),
      close() {
        state.close();
        persist.close().catch(() => {});
      },
    };
  },
};

export default spec;
