/**
 * Test harness for the storage runtimes: starts a unified or legacy runtime over real worker
 * threads (the BUILT package, `dist/`), merges worker responses through the protocol's
 * `PartitionedStorageState` as the process server does, and reads shards back from persist.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createPersist } from "@mzts/persist";
import {
  type IngestionDescription,
  PartitionedStorageState,
  type StorageCommand,
  type StorageResponse,
} from "@mzts/protocol";
import { consolidateUpdates, Frontier, type Update } from "@mzts/repr";
import {
  // PHASE(servers): legacy — delete when cluster-unification-servers is retired
  createLegacyStorageRuntime,
  createLoadGenerator,
  createStorageRuntime,
  generatorSpec,
  type StorageRuntime,
  type StorageTuning,
  TickClock,
  updatesBetween,
} from "../dist/index.js";

export type Path = "unified" | "legacy";
export const START = 1_700_000_000_000n;
export const INTERVAL = 10;

/** Everything a test started; stopped by `stopAll()` in `afterEach`. */
const started: Array<() => Promise<void>> = [];

export async function stopAll(): Promise<void> {
  for (const stop of started.splice(0).reverse()) await stop();
}

export async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "mzts-storage-"));
  started.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** A runtime with its merged responses. */
export interface Replica {
  readonly rt: StorageRuntime;
  /** Merged responses of the current connection, in order. */
  readonly merged: StorageResponse[];
  /** Merge failures (a worker broke a protocol rule); must stay empty. */
  readonly errors: Error[];
  connect(nonce: string, commands: readonly StorageCommand[]): void;
  submit(commands: readonly StorageCommand[]): void;
  close(): Promise<void>;
}

export async function startReplica(
  path: Path,
  dataDir: string,
  workers: number,
  tuning: StorageTuning = {},
): Promise<Replica> {
  const factory =
    path === "unified"
      ? createStorageRuntime
      : // PHASE(servers): legacy — delete when cluster-unification-servers is retired
        createLegacyStorageRuntime;
  const rt = factory({ dataDir, workers, statisticsIntervalMs: 50, ...tuning });
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await rt.close();
  };
  started.push(close);
  const merged: StorageResponse[] = [];
  const errors: Error[] = [];
  let merger = new PartitionedStorageState(workers);
  rt.onResponse((w, r) => {
    try {
      merged.push(...merger.absorb(w, r));
    } catch (e) {
      errors.push(e as Error);
    }
  });
  rt.onFailure((e) => errors.push(e));
  await rt.ready;
  const submit = (commands: readonly StorageCommand[]) => {
    for (const c of commands) merger.observeCommand(c);
    rt.submit(commands);
  };
  return {
    rt,
    merged,
    errors,
    connect(nonce, commands) {
      merger = new PartitionedStorageState(workers);
      merged.length = 0;
      rt.connect(nonce);
      submit(commands);
    },
    submit,
    close,
  };
}

export function counter(
  id: string,
  exportId: string,
  shardId: string,
  maxTicks: bigint | undefined,
  maxCardinality = 5n,
): StorageCommand {
  return {
    kind: "runIngestion",
    id,
    description: {
      sourceExports: [{ id: exportId, shardId, outputIndex: 0, name: "counter" }],
      connection: {
        kind: "loadGenerator",
        generator: { kind: "counter", maxCardinality },
        seed: 0n,
        tickIntervalMs: INTERVAL,
        deterministic:
          maxTicks === undefined ? { startTimeMs: START } : { startTimeMs: START, maxTicks },
      },
    },
  };
}

/** An auction ingestion `u<base>` with exports `u<base+1..5>` on shards `<prefix>-<i>`. */
export function auction(base: number, prefix: string, maxTicks: bigint): StorageCommand {
  return {
    kind: "runIngestion",
    id: `u${base}`,
    description: {
      sourceExports: [0, 1, 2, 3, 4].map((i) => ({
        id: `u${base + 1 + i}`,
        shardId: `${prefix}-${i}`,
        outputIndex: i,
        name: "",
      })),
      connection: {
        kind: "loadGenerator",
        generator: { kind: "auction" },
        seed: 42n,
        tickIntervalMs: INTERVAL,
        deterministic: { startTimeMs: START, maxTicks },
      },
    },
  };
}

export const INIT: StorageCommand = { kind: "initializationComplete" };
export const ALLOW_WRITES: StorageCommand = { kind: "allowWrites" };

/** The generator's exact output for one export over ticks `[0, ticks)`, canonically sorted. */
export function expected(d: IngestionDescription, outputIndex: number, ticks: bigint): Update[] {
  const gen = createLoadGenerator(
    generatorSpec(d),
    new TickClock({ startMs: START, intervalMs: BigInt(d.connection.tickIntervalMs) }),
  );
  return canonical(updatesBetween(gen, 0n, ticks).get(outputIndex) ?? []);
}

export function canonical(updates: readonly Update[]): Update[] {
  const key = (u: Update) => JSON.stringify(u, (_k, v) => (typeof v === "bigint" ? `${v}n` : v));
  return consolidateUpdates(updates)
    .map((u) => [key(u), u] as const)
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .map(([, u]) => u);
}

/** Every update of a shard below `upper` (which it must have reached), canonically sorted. */
export async function readShard(dataDir: string, shardId: string): Promise<Update[]> {
  const persist = await createPersist({ dataDir });
  try {
    const shard = await persist.openShard(shardId);
    const upper = await shard.upper();
    const out: Update[] = [];
    if (upper === 0n) return out;
    const listener = shard.listen(0n, { pollIntervalMs: 5 });
    for await (const ev of listener) {
      out.push(...ev.updates);
      if (ev.upper === null || (upper !== null && ev.upper >= upper)) break;
    }
    listener.close();
    return canonical(out);
  } finally {
    await persist.close();
  }
}

export async function shardUpper(dataDir: string, shardId: string): Promise<Frontier> {
  const persist = await createPersist({ dataDir });
  try {
    return await (await persist.openShard(shardId, { create: true })).upper();
  } finally {
    await persist.close();
  }
}

export async function until(cond: () => boolean, ms = 15_000, what = "condition"): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** The merged uppers reported for `id`, in order. */
export function uppersOf(merged: readonly StorageResponse[], id: string): Frontier[] {
  return merged.flatMap((r) => (r.kind === "frontierUpper" && r.id === id ? [r.upper] : []));
}

export function closedFor(merged: readonly StorageResponse[], id: string): boolean {
  return uppersOf(merged, id).includes(Frontier.EMPTY);
}

/** The responses that do not depend on timing: statuses, errors, drops (statistics and uppers out). */
export function untimed(merged: readonly StorageResponse[]): string[] {
  return merged.flatMap((r) => {
    switch (r.kind) {
      case "statusUpdate":
        return [`status ${r.update.id} ${r.update.status}`];
      case "commandError":
        return [`error ${r.error.objectId} ${r.error.command} ${r.error.code}`];
      case "droppedId":
        return [`dropped ${r.id}`];
      default:
        return [];
    }
  });
}

export function isMonotone(uppers: readonly Frontier[]): boolean {
  for (let i = 1; i < uppers.length; i++) {
    if (!Frontier.lessThan(uppers[i - 1]!, uppers[i]!)) return false;
  }
  return true;
}
