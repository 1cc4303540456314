/**
 * The storage workload on the unified runtime: `createStorageSpec()` (the `ClusterSpec` with the
 * preparation task) and `createStorageRuntime()` (spec + `createClusterRuntime` + metrics).
 *
 * ## Flow of a `runIngestion` (materialize.md §1.4, unified)
 * 1. The controller's command reaches the runtime's `submit`; `prepare` (main thread) reads every
 *    export shard's upper from persist, and the clock start (`async-storage-worker.ts`), and
 *    attaches them as `resume` — the command stays a `StorageCommand` (a structural subtype).
 * 2. The runtime sequences the prepared command to every worker (`storage-worker.ts`): each records
 *    it, starts tracking its ids, and renders its share of the generator at that point of the
 *    order.
 * 3. Preparation never fails a command: bad descriptions are refused in band by the workers, and a
 *    persist failure leaves the command unprepared, which the workers report as an error.
 *
 * Compute has no preparation task; storage needs one because resume points are I/O.
 */
import {
  type ClusterRuntime,
  type ClusterSpec,
  createClusterRuntime,
  type RuntimeLoggingInit,
} from "@mzts/mz-cluster/runtime";
import type { PersistClient } from "@mzts/persist";
import type { StorageCommand, StorageResponse } from "@mzts/protocol";
import { type Logger, pino } from "pino";
import { Registry } from "prom-client";
import type { PreparedRunIngestion } from "./ingestion.js";
import { registerStorageMetrics, StorageCounters } from "./metrics.js";
import { createResumeReader } from "./resume-reader.js";
import { type StorageTuning, type StorageWorkerConfig, stateOptions } from "./worker-config.js";

/** Options of the storage workload (both paths take the same). */
export interface StorageOptions extends StorageTuning {
  /** Persist's data directory (embedded SQLite consensus + file blobs), shared by the workers. */
  readonly dataDir: string;
  /** The main thread's persist client for preparation; default: opened on `dataDir` on first use. */
  readonly persist?: PersistClient;
  /** Main-thread logger; default silent. */
  readonly logger?: Logger;
  /** Where the storage metrics are registered; default a fresh registry. */
  readonly registry?: Registry;
  /** pino level of the worker threads' logs (stderr); default "silent". */
  readonly workerLogLevel?: string;
  /** Wall clock of the preparation task (real-time clock anchors); default `Date.now`. */
  readonly now?: () => number;
}

/** The storage `ClusterSpec`, with the worker config to pass to the runtime. */
export interface StorageClusterSpec extends ClusterSpec<StorageCommand> {
  /** Pass as `createClusterRuntime(spec, { config: spec.workerConfig })`. */
  readonly workerConfig: StorageWorkerConfig;
  readonly counters: StorageCounters;
  readonly registry: Registry;
  /** Closes the preparation task's persist client if the spec opened it. */
  close(): Promise<void>;
}

/** A storage runtime (unified or legacy): mz-cluster's `ClusterRuntime` shape. */
export interface StorageRuntime extends ClusterRuntime<StorageCommand, StorageResponse> {
  /** The registry the storage metrics are registered on. */
  readonly registry: Registry;
  /** The counters behind those metrics. */
  readonly counters: StorageCounters;
}

/** Options of a storage runtime. */
export interface StorageRuntimeOptions extends StorageOptions {
  readonly workers: number;
  /** Worker maintenance tick (frontier reporting); default 10 ms. */
  readonly maintenanceIntervalMs?: number;
  /**
   * Unified logging (phase 2, *logging*): `{role: "forward"}` gives every worker a forwarding
   * `ctx.logging` (its introspection events reach `runtime.logging.onLogEvents`). Absent: none.
   */
  readonly logging?: RuntimeLoggingInit;
}

/**
 * The storage workload's `ClusterSpec` for the unified runtime.
 * @throws nothing; persist is opened on the first preparation.
 */
export function createStorageSpec(opts: StorageOptions): StorageClusterSpec {
  const counters = new StorageCounters();
  const registry = opts.registry ?? new Registry();
  registerStorageMetrics(registry, counters);
  const logger = opts.logger ?? pino({ level: "silent" });
  const now = opts.now ?? Date.now;
  const resumes = createResumeReader({
    ...(opts.persist === undefined ? {} : { persist: opts.persist }),
    dataDir: opts.dataDir,
    logger,
  });
  return {
    name: "storage",
    workerModule: new URL("./storage-worker.js", import.meta.url),
    workerConfig: {
      dataDir: opts.dataDir,
      counters: counters.buffer,
      logLevel: opts.workerLogLevel ?? "silent",
      options: stateOptions(opts),
    },
    counters,
    registry,
    async prepare(cmd: StorageCommand): Promise<StorageCommand> {
      if (cmd.kind !== "runIngestion") return cmd;
      // Loaded on the first ingestion, not while the replica starts (`resume-reader.ts`).
      const { validateDescription } = await import("./ingestion.js");
      try {
        validateDescription(cmd.description);
      } catch {
        return cmd; // the workers refuse it in band (malformedPlan)
      }
      try {
        const resume = await resumes.read(cmd.description, BigInt(now()));
        const prepared: PreparedRunIngestion = { ...cmd, resume };
        return prepared;
      } catch (e) {
        logger.error({ err: e, ingestion: cmd.id }, "storage: preparing an ingestion failed");
        return cmd;
      }
    },
    close: () => resumes.close(),
  };
}

/** Starts the storage workload on the unified runtime (`cluster-unification-servers` on). */
export function createStorageRuntime(opts: StorageRuntimeOptions): StorageRuntime {
  const spec = createStorageSpec(opts);
  const runtime = createClusterRuntime<StorageCommand, StorageResponse>(spec, {
    workers: opts.workers,
    config: spec.workerConfig,
    ...(opts.maintenanceIntervalMs === undefined
      ? {}
      : { maintenanceIntervalMs: opts.maintenanceIntervalMs }),
    ...(opts.logging === undefined ? {} : { logging: opts.logging }),
  });
  (opts.logger ?? pino({ level: "silent" })).info(
    { workers: opts.workers, path: "unified" },
    "storage: runtime started",
  );
  return {
    get spec() {
      return runtime.spec;
    },
    workers: runtime.workers,
    ready: runtime.ready,
    get nonce() {
      return runtime.nonce;
    },
    get staleResponses() {
      return runtime.staleResponses;
    },
    connect: (n) => runtime.connect(n),
    submit: (cmds) => runtime.submit(cmds),
    onResponse: (cb) => runtime.onResponse(cb),
    onFailure: (cb) => runtime.onFailure(cb),
    poke: () => runtime.poke(),
    ...(runtime.logging === undefined ? {} : { logging: runtime.logging }),
    registry: spec.registry,
    counters: spec.counters,
    async close() {
      await runtime.close();
      await spec.close();
    },
  };
}
