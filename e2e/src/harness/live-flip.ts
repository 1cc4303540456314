/**
 * Live-flip helpers shared by the live-flip e2e suites: the flags FILE a test rewrites in place
 * (the flags SDK watches its inode, packages/flags README) and the wait until status shows that
 * what runs matches the flags.
 *
 * ## Invariants
 * - `settled` resolves only when status shows no flip in progress, no flag flipping, every wanted
 *   flag applied as wanted and the expected replica count; a flip that failed throws at once.
 * - A status call that fails while the flip runs is retried; on timeout the error names the last
 *   error and the last status seen (its flip step, flags and replicas).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { big, waitForConnected } from "./auction-peeks.js";
import { type AuctionWorkload, CLUSTER, createAuctionWorkload } from "./auction-workload.js";
import {
  type EnvironmentApi,
  type EnvironmentdHandle,
  ReplicaReaper,
  startEnvironmentd,
  waitFor,
} from "./environment.js";

/** The built phase flags a live-flip test sets (absent = off). */
export type Flags = Partial<
  Record<"servers" | "logging" | "replicas" | "client" | "state", boolean>
>;

/** Every built phase on. */
export const ALL_ON: Required<Flags> = {
  servers: true,
  logging: true,
  replicas: true,
  client: true,
  state: true,
};

/** Every built phase off. */
export const ALL_OFF: Required<Flags> = {
  servers: false,
  logging: false,
  replicas: false,
  client: false,
  state: false,
};

/** A live-flip test's environment (`startLiveFlipEnvironment`). */
export interface LiveFlipEnvironment {
  readonly env: EnvironmentdHandle;
  readonly api: EnvironmentApi;
  readonly workload: AuctionWorkload;
  readonly reaper: ReplicaReaper;
  /** The flags file environmentd watches (`writeFlags` it). */
  readonly flagsFile: string;
}

/**
 * A data dir under /tmp (`prefix`), the flags file written with `initial`, environmentd on both
 * (`LIVE_FLIP_LOG=<file>`: it logs at info into <file>, a wedged flip's steps), and the auction
 * workload's two-replica cluster with both replicas connected. `cleanup` gets what reaps the
 * replicas and removes the dir (and writes the log); the caller stops the processes.
 */
export async function startLiveFlipEnvironment(
  prefix: string,
  initial: Flags,
  cleanup: Array<() => void>,
): Promise<LiveFlipEnvironment> {
  const dataDir = mkdtempSync(`/tmp/${prefix}`);
  const reaper = new ReplicaReaper(dataDir);
  cleanup.push(() => {
    reaper.reap();
    rmSync(dataDir, { recursive: true, force: true });
  });
  const flagsFile = join(dataDir, "flags.json");
  writeFlags(flagsFile, initial);
  const logFile = process.env.LIVE_FLIP_LOG;
  const env = await startEnvironmentd({
    dataDir,
    flagsFile,
    controllerAbsentTimeoutS: 30,
    ...(logFile === undefined ? {} : { logLevel: "info" }),
  });
  if (logFile !== undefined) cleanup.push(() => writeFileSync(logFile, env.process.stderr()));
  const workload = await createAuctionWorkload(env.api, 2);
  reaper.observe();
  await waitForConnected(env, workload.clusterId, 2);
  return { env, api: env.api, workload, reaper, flagsFile };
}

/** Rewrites `file` in place with `flags` as full flag values. */
export function writeFlags(file: string, flags: Flags): void {
  writeFileSync(
    file,
    JSON.stringify({
      flagValues: Object.fromEntries(
        Object.entries(flags).map(([p, on]) => [`cluster-unification-${p}`, on]),
      ),
    }),
  );
}

/**
 * Waits until status shows no flip and no flag flipping with `want` applied and `replicas`
 * replicas; returns the replica ids by name.
 */
export async function settled(
  api: EnvironmentApi,
  want: Flags,
  timeoutMs = 120_000,
  replicas = 2,
): Promise<Map<string, string>> {
  let last = "no status yet";
  try {
    return await waitFor(
      `the flip to ${JSON.stringify(want)}`,
      async () => {
        const c = (await api.status(CLUSTER)).clusters[0];
        if (c === undefined) return undefined;
        last = JSON.stringify({ flip: c.flip, flags: c.flags, replicas: c.replicas }, big);
        if (c.flip?.state === "failed") throw new FlipFailed(c.flip.error ?? "");
        const done =
          c.flip === undefined &&
          c.flags.every((f) => !f.flipping) &&
          Object.entries(want).every(
            ([p, on]) => c.flags.find((f) => f.key === `cluster-unification-${p}`)?.applied === on,
          ) &&
          c.replicas.length === replicas;
        return done ? new Map(c.replicas.map((r) => [r.name, r.id])) : undefined;
      },
      timeoutMs,
      100,
    );
  } catch (e) {
    throw new Error(`${(e as Error).message}; last status: ${last}`);
  }
}

/** The flip reported `failed` in status. */
export class FlipFailed extends Error {
  constructor(error: string) {
    super(`flip failed: ${error}`);
    this.name = "FlipFailed";
  }
}
