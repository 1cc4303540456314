// PHASE(servers): legacy — delete when cluster-unification-servers is retired
/**
 * `createLegacyStorageRuntime()`: storage's own server runtime, used when
 * `cluster-unification-servers` is off (design §4, "Legacy storage"). It has the main-thread
 * surface of mz-cluster's `ClusterRuntime` (`connect`/`submit`/`onResponse`/`onFailure`/`close`),
 * so `clusterd` serves either runtime the same way, but none of its machinery: only the low-level
 * worker mesh is shared.
 *
 * ## Flow
 * 1. W worker threads run `legacy-worker.js` over `spawnMesh`.
 * 2. `connect(nonce)` and `submit(commands)` go to *every* worker, in order (one port per worker
 *    keeps FIFO order); each worker applies them to its own bookkeeping.
 * 3. Worker 0's async task asks this thread for resume points (`resume` requests); they are read
 *    from persist here (`readIngestionResume`, shared with the unified preparation task) and sent
 *    back. Worker 0 then orders the dataflow changes through storage's internal sequencer.
 * 4. Responses come back tagged with the worker's nonce; those of an older connection are dropped
 *    and counted.
 * Metric names and log fields are the unified path's (`metrics.ts`, style §18).
 */
import { spawnMesh, WorkerFailed } from "@mzts/mz-cluster/runtime";
import type { StorageCommand, StorageResponse } from "@mzts/protocol";
import { pino } from "pino";
import { Registry } from "prom-client";
import { registerStorageMetrics, StorageCounters } from "../metrics.js";
import { createResumeReader } from "../resume-reader.js";
import type { StorageRuntime, StorageRuntimeOptions } from "../spec.js";
import { type StorageWorkerConfig, stateOptions } from "../worker-config.js";
import {
  LEGACY_ASYNC,
  LEGACY_COMMANDS,
  LEGACY_OUT,
  type LegacyAsyncResult,
  type LegacyInit,
  type LegacyMainToWorker,
  type LegacyWorkerToMain,
} from "./messages.js";

/** Starts the legacy storage runtime (`cluster-unification-servers` off). */
export function createLegacyStorageRuntime(opts: StorageRuntimeOptions): StorageRuntime {
  const counters = new StorageCounters();
  const registry = opts.registry ?? new Registry();
  registerStorageMetrics(registry, counters);
  const logger = opts.logger ?? pino({ level: "silent" });
  const now = opts.now ?? Date.now;
  const workerModule = new URL("./legacy-worker.js", import.meta.url);
  const config: StorageWorkerConfig = {
    dataDir: opts.dataDir,
    counters: counters.buffer,
    logLevel: opts.workerLogLevel ?? "silent",
    options: stateOptions(opts),
  };
  const init: LegacyInit = {
    config,
    maintenanceIntervalMs: opts.maintenanceIntervalMs ?? 10,
    stepBudgetMs: 5,
  };
  const mesh = spawnMesh(workerModule, opts.workers, init);
  let nonce: string | null = null;
  let stale = 0;
  let failed = false;
  let closed = false;
  const responseCbs: Array<(worker: number, response: StorageResponse) => void> = [];
  const failureCbs: Array<(error: WorkerFailed) => void> = [];
  const resumes = createResumeReader({
    ...(opts.persist === undefined ? {} : { persist: opts.persist }),
    dataDir: opts.dataDir,
    logger,
  });

  const fail = (err: WorkerFailed) => {
    if (failed || closed) return;
    failed = true;
    for (const cb of failureCbs) cb(err);
  };
  mesh.onWorkerExit((i, error, code) =>
    fail(new WorkerFailed(i, error ? error.message : `exited with code ${code}`)),
  );
  mesh.ready.catch((e: Error) => fail(new WorkerFailed(-1, e.message)));

  const broadcast = (msg: LegacyMainToWorker) => {
    if (closed || failed) return;
    for (let w = 0; w < opts.workers; w++) mesh.send(w, LEGACY_COMMANDS, msg);
  };

  mesh.on(LEGACY_OUT, (payload, from) => {
    const msg = payload as LegacyWorkerToMain;
    switch (msg.kind) {
      case "response":
        if (msg.nonce !== nonce) {
          stale++;
          return;
        }
        for (const cb of responseCbs) cb(from, msg.response as StorageResponse);
        return;
      case "fatal":
        fail(new WorkerFailed(from, msg.message));
        return;
      case "resume": {
        const reply = (r: LegacyAsyncResult) => {
          if (!closed && !failed) mesh.send(0, LEGACY_ASYNC, r);
        };
        resumes.read(msg.description, BigInt(now())).then(
          (resume) => reply({ requestId: msg.requestId, resume }),
          (e: unknown) => {
            logger.error({ err: e, ingestion: msg.id }, "storage: preparing an ingestion failed");
            reply({ requestId: msg.requestId, error: String(e) });
          },
        );
        return;
      }
    }
  });

  logger.info({ workers: opts.workers, path: "legacy" }, "storage: runtime started");
  return {
    spec: { name: "storage", workerModule },
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
      broadcast({ kind: "connect", nonce: n });
    },
    submit(commands: readonly StorageCommand[]) {
      broadcast({ kind: "commands", commands });
    },
    onResponse(cb) {
      responseCbs.push(cb);
    },
    onFailure(cb) {
      failureCbs.push(cb);
    },
    poke() {},
    registry,
    counters,
    async close() {
      if (closed) return;
      closed = true;
      await mesh.terminate();
      await resumes.close();
    },
  };
}
