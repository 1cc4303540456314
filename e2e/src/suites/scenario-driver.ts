/**
 * Driving the deterministic scenario (`scenario.ts`) against one real clusterd, shared by the
 * phase suites: start the replica, run the ingestion and the indexed dataflow (plus any further
 * compute commands), wait for the shards to close, and peek.
 */
import type {
  ComputeCommand,
  ComputeResponse,
  LoggingConfig,
  PeekResponse,
  StorageCommand,
  StorageResponse,
} from "@mzts/protocol";
import { type ClusterdHandle, startClusterd } from "../harness/clusterd.js";
import { computeDriver, type Driver, storageDriver } from "../harness/driver.js";
import { ids, indexedDataflow, runIngestion } from "./scenario.js";

/** Logging off: what the driver sends unless a suite asks for logging. */
const NO_LOGGING: LoggingConfig = {
  enabled: false,
  intervalMs: 1000,
  logLogging: false,
  indexLogs: new Map(),
};

export interface ScenarioReplica {
  readonly clusterd: ClusterdHandle;
  readonly storage: Driver<StorageCommand, StorageResponse>;
  readonly compute: Driver<ComputeCommand, ComputeResponse>;
}

/**
 * Starts clusterd on `dir` with `flags`, runs the auction ingestion into `<shardPrefix>-*`
 * shards, creates the compute instance (with `logging`) and the scheduled indexed dataflow,
 * then sends `extra`.
 */
export async function startScenario(opts: {
  readonly dir: string;
  readonly workers: number;
  readonly flags: { readonly [phase: string]: boolean };
  readonly shardPrefix: string;
  readonly logging?: LoggingConfig;
  readonly extra?: readonly ComputeCommand[];
}): Promise<ScenarioReplica> {
  const clusterd = await startClusterd({
    persistDir: opts.dir,
    workers: opts.workers,
    flags: opts.flags,
  });
  const storage = storageDriver(clusterd.storageUrl, 1n, { secret: clusterd.secret });
  storage.send([
    runIngestion(opts.shardPrefix),
    { kind: "initializationComplete" },
    { kind: "allowWrites" },
  ]);
  const compute = computeDriver(clusterd.computeUrl, 1n, {
    secret: clusterd.secret,
    createInstance: false,
  });
  compute.send([
    { kind: "createInstance", config: { logging: opts.logging ?? NO_LOGGING } },
    { kind: "initializationComplete" },
    { kind: "createDataflow", dataflow: indexedDataflow(opts.shardPrefix) },
    { kind: "schedule", id: ids.index },
    ...(opts.extra ?? []),
  ]);
  return { clusterd, storage, compute };
}

/** Waits until the ingestion has closed the bids shard (the scenario's end). */
export function untilShardsClosed(storage: ScenarioReplica["storage"]): Promise<void> {
  return storage.until(
    (rs) => rs.some((r) => r.kind === "frontierUpper" && r.id === ids.bids && r.upper === null),
    "the bids shard to close",
    60_000,
  );
}

/** Sends one peek and returns its answer. */
export async function peekOnce(
  compute: ScenarioReplica["compute"],
  p: ComputeCommand & { kind: "peek" },
): Promise<PeekResponse> {
  const from = compute.responses.length;
  compute.send([p]);
  const r = await compute.next(
    (x): x is ComputeResponse & { kind: "peekResponse" } =>
      x.kind === "peekResponse" && x.uuid === p.peek.uuid,
    from,
    30_000,
  );
  return r.response;
}
