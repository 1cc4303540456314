/**
 * Phase 3 (replicas), the network blackhole: a real clusterd whose compute and storage ports are
 * reached through TCP proxies (`startStallProxy` of `@mzts/controller-unified/testing`) that can
 * stall (a blackhole: nothing passes, new connections hang) or drop (every connection reset) the
 * replica's traffic; the compute and storage controllers run in this process with the legacy
 * connectors (flag off) and the unified ones (flag on).
 *
 * For each path: connected → stall → both controllers notice (measured) and cannot reconnect
 * while it lasts → resume → both reconnected (a new epoch, the replay accepted) → drop → noticed
 * and reconnected again. The replica process itself never restarts.
 */
import { mkdtempSync, rmSync } from "node:fs";
import {
  type ComputeController,
  type ComputeReplicaConnector,
  connectLegacyComputeReplica,
  connectUnifiedComputeReplica,
  createComputeController,
} from "@mzts/compute-client";
import { type StallProxy, startStallProxy } from "@mzts/controller-unified/testing";
import {
  connectLegacyStorageReplica,
  connectUnifiedStorageReplica,
  createStorageController,
  type StorageController,
  type StorageReplicaConnector,
} from "@mzts/storage-client";
import { pino } from "pino";
import { Registry } from "prom-client";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { type ClusterdHandle, startClusterd } from "../src/harness/clusterd.js";
import { waitFor } from "../src/harness/environment.js";
import { liveCount, stopAll } from "../src/harness/processes.js";

const LOGGING = { enabled: false, intervalMs: 1000, logLogging: false, indexLogs: new Map() };

let cleanup: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const f of cleanup.reverse()) await f();
  cleanup = [];
  await stopAll();
});
afterAll(() => {
  expect(liveCount()).toBe(0);
});

interface Paths {
  readonly compute: ComputeReplicaConnector;
  readonly storage: StorageReplicaConnector;
}

const PATHS: ReadonlyArray<[string, Paths]> = [
  ["off", { compute: connectLegacyComputeReplica, storage: connectLegacyStorageReplica }],
  ["on", { compute: connectUnifiedComputeReplica, storage: connectUnifiedStorageReplica }],
];

/** Incarnation numbers and states of the one replica in both controllers. */
function snapshot(compute: ComputeController, storage: StorageController) {
  const c = compute.replicas("u1")[0];
  const s = storage.replicas("u1")[0];
  return {
    computeEpoch: c?.epoch ?? 0,
    computeState: c?.state,
    storageConnects: s?.connects ?? 0,
    storageState: s?.state,
  };
}

describe.each(PATHS)("phase 3 replicas, blackhole, flag %s", (name, paths) => {
  it("notices a stalled or dropped replica connection and reconnects after it", async () => {
    const persistDir = mkdtempSync("/tmp/replicas-");
    cleanup.push(() => rmSync(persistDir, { recursive: true, force: true }));
    const replica: ClusterdHandle = await startClusterd({ persistDir, workers: 1 });
    const port = (url: string) => Number(new URL(url).port);
    const computeProxy: StallProxy = await startStallProxy(port(replica.computeUrl));
    const storageProxy: StallProxy = await startStallProxy(port(replica.storageUrl));
    cleanup.push(
      () => computeProxy.close(),
      () => storageProxy.close(),
    );
    const logger = pino({ level: "silent" });
    const secret = replica.secret ?? undefined;
    const compute = createComputeController({
      generation: 1n,
      logger,
      registry: new Registry(),
      ...(secret === undefined ? {} : { replicaSecret: secret }),
    });
    const storage = createStorageController({
      generation: 1n,
      logger,
      ...(secret === undefined ? {} : { replicaSecret: secret }),
    });
    cleanup.push(
      () => compute.close(),
      () => storage.close(),
    );
    compute.createInstance("u1", LOGGING, { connector: paths.compute });
    storage.createInstance("u1", { connector: paths.storage });
    compute.addReplica("u1", "u1", { computeUrl: computeProxy.url });
    storage.addReplica("u1", "u1", { storageUrl: storageProxy.url });
    const connected = () => {
      const s = snapshot(compute, storage);
      return s.computeState === "connected" && s.storageState === "connected";
    };
    await waitFor("connected", () => (connected() ? true : undefined), 20_000, 20);
    const first = snapshot(compute, storage);

    // Stall: both notice; nothing reconnects while it lasts.
    computeProxy.stall();
    storageProxy.stall();
    const stalledAt = Date.now();
    let computeMs: number | undefined;
    let storageMs: number | undefined;
    await waitFor(
      "both controllers to notice the stall",
      () => {
        const s = snapshot(compute, storage);
        if (computeMs === undefined && s.computeEpoch > first.computeEpoch)
          computeMs = Date.now() - stalledAt;
        if (storageMs === undefined && s.storageState !== "connected")
          storageMs = Date.now() - stalledAt;
        return computeMs !== undefined && storageMs !== undefined ? true : undefined;
      },
      15_000,
      10,
    );
    await new Promise((r) => setTimeout(r, 500));
    expect(connected()).toBe(false);

    // Resume: both reconnect on their own.
    computeProxy.resume();
    storageProxy.resume();
    const resumedAt = Date.now();
    await waitFor(
      "reconnected after the stall",
      () => (connected() ? true : undefined),
      20_000,
      10,
    );
    const resumeMs = Date.now() - resumedAt;
    const second = snapshot(compute, storage);
    expect(second.computeEpoch).toBeGreaterThan(first.computeEpoch);
    expect(second.storageConnects).toBeGreaterThan(first.storageConnects);

    // Drop: every connection reset; noticed at once, reconnected.
    const droppedAt = Date.now();
    computeProxy.drop();
    storageProxy.drop();
    await waitFor(
      "reconnected after the drop",
      () => {
        const s = snapshot(compute, storage);
        return connected() &&
          s.computeEpoch > second.computeEpoch &&
          s.storageConnects > second.storageConnects
          ? true
          : undefined;
      },
      20_000,
      10,
    );
    const dropMs = Date.now() - droppedAt;
    console.log(
      `blackhole ${name}: stall noticed by compute after ${computeMs} ms, storage ${storageMs} ms; ` +
        `reconnected ${resumeMs} ms after the resume; ${dropMs} ms from a drop to reconnected`,
    );
    expect(computeMs).toBeLessThanOrEqual(10_000);
    expect(storageMs).toBeLessThanOrEqual(10_000);
    if (name === "on") {
      expect(computeMs).toBeLessThanOrEqual(2500);
      expect(storageMs).toBeLessThanOrEqual(2500);
    }
    expect(replica.process.child.exitCode).toBeNull(); // the replica never restarted
  }, 60_000);
});
