/**
 * The storage controller against real clusterd processes (started by the process orchestrator,
 * loopback only, temp dirs, `cluster-unification-servers` on): one instance, two replicas, load
 * generators on both.
 *
 * - A deterministic counter (maxTicks 20): write frontiers advance monotonically to empty, the
 *   shard holds exactly one copy of the generator's output, statuses go starting → running on
 *   both replicas, statistics arrive.
 * - A real-time counter: kill -9 one replica → the other keeps ingesting; the orchestrator
 *   restarts it and the controller rehydrates it (connects_total rises); the shard holds no
 *   duplicates and no gaps. Dropping it → droppedId from both replicas, status `dropped`,
 *   collection forgotten.
 * - Dropping every replica → `paused` with the replica-dropped hint.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PhaseSet } from "@mzts/flags";
import { createProcessOrchestrator, type ProcessOrchestrator } from "@mzts/orchestrator";
import { createPersist } from "@mzts/persist";
import {
  formatReplicaSecret,
  generateReplicaSecret,
  type IngestionDescription,
  type StorageResponse,
} from "@mzts/protocol";
import { Frontier, type Update } from "@mzts/repr";
import { pino } from "pino";
import { Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import {
  connectLegacyStorageReplica,
  createStorageController,
  REPLICA_DROPPED_HINT,
  type StorageController,
  type StorageControllerEvent,
} from "../src/index.js";

const START_MS = 1_000_000n;
const TICK_MS = 1000n;
const MAX_TICKS = 20n;

function counter(id: string, shardId: string, deterministic: boolean): IngestionDescription {
  return {
    sourceExports: [{ id, shardId, outputIndex: 0, name: "counter" }],
    connection: {
      kind: "loadGenerator",
      generator: { kind: "counter" },
      seed: 7n,
      tickIntervalMs: deterministic ? Number(TICK_MS) : 100,
      ...(deterministic ? { deterministic: { startTimeMs: START_MS, maxTicks: MAX_TICKS } } : {}),
    },
  };
}

async function until(what: string, pred: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function metric(registry: Registry, name: string): Promise<number> {
  const m = await registry.getSingleMetric(name)?.get();
  return m?.values.reduce((sum, v) => sum + v.value, 0) ?? Number.NaN;
}

/** Closers, run in order after each test: controller, persist, orchestrator, temp dir. */
let cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const f of cleanup) await f().catch(() => undefined);
  cleanup = [];
});

describe("storage controller with two clusterd replicas", () => {
  it("ingests, survives kill -9 of one replica, drops, and pauses", async () => {
    const dir = mkdtempSync(join(tmpdir(), "mzts-storage-controller-"));
    const persistDir = join(dir, "persist");
    // The environment's replica secret: clusterd refuses unsigned hellos.
    const secret = generateReplicaSecret();
    const secretFile = join(dir, "replica-secret");
    writeFileSync(secretFile, formatReplicaSecret(secret), { mode: 0o600 });
    const orchestrator: ProcessOrchestrator = await createProcessOrchestrator({
      dataDir: join(dir, "orchestrator"),
      persistDir,
      controllerSecretFile: secretFile,
      controllerAbsentTimeoutMs: 60_000,
      restartBackoff: { initialMs: 1500, maxMs: 1500 },
      stopGraceMs: 3000,
      logger: pino({ level: "silent" }),
    });
    cleanup.push(async () => {
      await orchestrator.close();
      rmSync(dir, { recursive: true, force: true });
    });
    const spec = (replicaId: string) => ({
      clusterId: "u1",
      replicaId,
      workers: 1,
      phases: PhaseSet.of("u1", { servers: true }),
      generation: 1,
    });
    const [loc1, loc2] = await Promise.all([
      orchestrator.ensureReplica(spec("u1")),
      orchestrator.ensureReplica(spec("u2")),
    ]);

    const registry = new Registry();
    const controller: StorageController = createStorageController({
      generation: 1n,
      replicaSecret: secret,
      registry,
      logger: pino({ level: process.env.MZTS_TEST_LOG ?? "silent" }),
      maintenanceIntervalMs: 250,
    });
    cleanup.unshift(() => controller.close()); // first: before the replicas go away
    const events: StorageControllerEvent[] = [];
    controller.onEvent((e) => events.push(e));
    orchestrator.onEvent((e) => {
      if (e.kind === "online")
        controller.updateReplicaLocation("u1", e.replicaId, { storageUrl: e.location.storageUrl });
    });

    controller.createInstance("u1", { connector: connectLegacyStorageReplica });
    controller.updateConfiguration("u1", new Map([["storage_statistics_interval_ms", "200"]]));
    controller.addReplica("u1", "u1", { storageUrl: loc1.storageUrl });
    controller.addReplica("u1", "u2", { storageUrl: loc2.storageUrl });
    await until("both replicas connected", () =>
      controller.replicas("u1").every((r) => r.state === "connected"),
    );
    expect(await metric(registry, "mz_storage_controller_connected_replica_count")).toBe(2);
    expect(await metric(registry, "mz_storage_controller_replica_connects_total")).toBe(2);

    // --- Deterministic counter: frontiers, contents, statuses, statistics. -----------------
    controller.createIngestion("u1", "u10", counter("u10", "det-u10", true));
    await controller.waitForUpper("u10", Frontier.EMPTY, { timeoutMs: 20_000 });
    const frontiers = events.flatMap((e) =>
      e.kind === "writeFrontier" && e.id === "u10" ? [e.frontier] : [],
    );
    expect(frontiers.at(-1)).toBeNull();
    for (let k = 1; k < frontiers.length; k++)
      expect(Frontier.lessThan(frontiers[k - 1]!, frontiers[k]!)).toBe(true);
    // Both replicas report the closed upper (the slower one adopts it: duplicates harmless).
    const closedBy = () =>
      new Set(
        events.flatMap((e) =>
          e.kind === "response" &&
          e.response.kind === "frontierUpper" &&
          e.response.id === "u10" &&
          e.response.upper === null
            ? [e.replicaId]
            : [],
        ),
      );
    await until("both replicas to report u10 closed", () => closedBy().size === 2);

    const persist = await createPersist({ dataDir: persistDir });
    cleanup.splice(1, 0, () => persist.close());
    const detShard = await persist.openShard("det-u10");
    const got: Update[] = [];
    for await (const ev of detShard.listen(0n, { pollIntervalMs: 20 })) got.push(...ev.updates);
    got.sort((a, b) => (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
    const expected: Update[] = [];
    for (let n = 0n; n < MAX_TICKS; n++) expected.push([[n + 1n], START_MS + n * TICK_MS, 1]);
    expect(got).toEqual(expected);

    await until("running on both replicas", () =>
      ["u1", "u2"].every((r) =>
        controller.statusHistory("u10").some((s) => s.status === "running" && s.replicaId === r),
      ),
    );
    const u10Statuses = controller.statusHistory("u10");
    for (const r of ["u1", "u2"]) {
      const mine = u10Statuses.filter((s) => s.replicaId === r).map((s) => s.status);
      expect(mine.indexOf("starting")).toBeGreaterThanOrEqual(0);
      expect(mine.indexOf("starting")).toBeLessThan(mine.indexOf("running"));
    }
    await until("statistics from both replicas", () => controller.statistics("u10").size === 2);
    expect(controller.statistics("u10").get("u1")?.id).toBe("u10");

    // --- Real-time counter: kill -9 one replica. -------------------------------------------
    controller.createIngestion("u1", "u20", counter("u20", "rt-u20", false));
    await until("u20 ingesting", () => controller.frontier("u20") !== Frontier.MIN);
    const u2 = () => controller.replicas("u1").find((r) => r.replicaId === "u2")!;
    const pid = orchestrator.list().find((r) => r.replicaId === "u2")?.pid;
    expect(pid).toBeTypeOf("number");
    const killedAt = events.length;
    process.kill(pid!, "SIGKILL");
    await until("u2 to fail", () => u2().state !== "connected");
    // The other replica keeps ingesting across the kill: its own reports move past the upper at
    // the kill. (The orchestrator restarts u2 at once, as it served longer than its restart
    // delay, so whether u2 is back by then is not fixed.)
    const atKill = controller.frontier("u20") as bigint;
    await controller.waitForUpper("u20", atKill + 500n, { timeoutMs: 10_000 });
    await until("u1 reporting u20 past the kill", () =>
      events
        .slice(killedAt)
        .some(
          (e) =>
            e.kind === "response" &&
            e.replicaId === "u1" &&
            e.response.kind === "frontierUpper" &&
            e.response.id === "u20" &&
            e.response.upper !== null &&
            e.response.upper >= atKill + 500n,
        ),
    );
    // The orchestrator restarts it; the controller rehydrates it.
    await until("u2 rehydrated", () => u2().connects === 2 && u2().state === "connected", 40_000);
    expect(await metric(registry, "mz_storage_controller_replica_connects_total")).toBe(3);
    expect(await metric(registry, "mz_storage_controller_connected_replica_count")).toBe(2);
    const rehydratedAt = events.length;
    const reportedBy = (from: number, kind: StorageResponse["kind"], id: string) =>
      new Set(
        events
          .slice(from)
          .flatMap((e) =>
            e.kind === "response" &&
            e.response.kind === kind &&
            "id" in e.response &&
            e.response.id === id
              ? [e.replicaId]
              : [],
          ),
      );
    await until("u2 reporting u20 again", () =>
      reportedBy(rehydratedAt, "frontierUpper", "u20").has("u2"),
    );
    // No duplicates, no gaps: values 1..N, each exactly once.
    const asOf = (controller.frontier("u20") as bigint) - 1n;
    const rows = await (await persist.openShard("rt-u20")).snapshot(asOf, {
      wait: true,
      timeoutMs: 10_000,
    });
    const values = rows.map(([row, , diff]) => {
      expect(diff).toBe(1);
      return row[0] as bigint;
    });
    values.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    expect(values.length).toBeGreaterThan(5);
    expect(values).toEqual(values.map((_, k) => BigInt(k + 1)));
    expect(await metric(registry, "mz_storage_commands_total")).toBeGreaterThan(0);

    // --- Drop: droppedId from both replicas, status dropped, then forgotten. ----------------
    const droppedAt = events.length;
    controller.dropIngestion("u20");
    expect(controller.status("u20")?.status).toBe("dropped");
    expect(controller.hasCollection("u20")).toBe(false);
    await until("droppedId from both replicas", () =>
      ["u1", "u2"].every((r) => reportedBy(droppedAt, "droppedId", "u20").has(r)),
    );
    await until("u20 forgotten", () =>
      events.some((e) => e.kind === "collectionForgotten" && e.id === "u20"),
    );
    expect(() => controller.frontier("u20")).toThrow(/was dropped/);
    expect(controller.status("u20")?.status).toBe("dropped");
    expect(controller.history("u1").some((c) => c.kind === "runIngestion" && c.id === "u20")).toBe(
      false,
    );

    // --- Drop every replica: paused with the hint. ------------------------------------------
    controller.createIngestion("u1", "u30", counter("u30", "rt-u30", false));
    await controller.dropReplica("u1", "u1");
    expect(controller.status("u30")?.status).not.toBe("paused"); // still on u2
    await controller.dropReplica("u1", "u2");
    expect(controller.status("u30")).toMatchObject({
      status: "paused",
      hints: [REPLICA_DROPPED_HINT],
    });
    expect(controller.status("u10")?.status).toBe("paused");
    expect(await metric(registry, "mz_storage_controller_connected_replica_count")).toBe(0);
  }, 60_000);
});
