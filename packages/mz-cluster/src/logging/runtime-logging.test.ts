/**
 * Unified logging across two runtimes over real worker threads: storage-shaped workers forward
 * their events, the main thread injects them into a compute-shaped runtime whose workers host the
 * log indexes. Imports the BUILT package (`dist/`): worker threads load plain `.js` entries.
 */
import { LOG_RELATIONS, type LoggingConfig } from "@mzts/protocol";
import type { Row } from "@mzts/repr";
import { afterEach, describe, expect, it } from "vitest";
import { type ClusterRuntime, createClusterRuntime } from "../../dist/index.js";
import type { LoggingForwardCommand } from "../../dist/testing/logging-forward-worker.js";
import type {
  LoggingHostCommand,
  LoggingHostResponse,
} from "../../dist/testing/logging-host-worker.js";

const hostModule = new URL("../../dist/testing/logging-host-worker.js", import.meta.url);
const forwardModule = new URL("../../dist/testing/logging-forward-worker.js", import.meta.url);
const runtimes: ClusterRuntime<unknown, unknown>[] = [];

afterEach(async () => {
  await Promise.all(runtimes.splice(0).map((r) => r.close()));
});

const STATUS_ID = "s14";
const config = (intervalMs: number): LoggingConfig => ({
  enabled: true,
  intervalMs,
  logLogging: false,
  indexLogs: new Map(LOG_RELATIONS.map((r, i) => [r.name, `s${i + 1}`])),
});

async function until<T>(probe: () => Promise<T | undefined> | T | undefined, ms = 15_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A compute-shaped hosting runtime (W workers) and a storage-shaped forwarding one (S), wired. */
async function start(W: number, S: number) {
  const compute = createClusterRuntime<LoggingHostCommand, LoggingHostResponse>(
    { name: "compute", workerModule: hostModule },
    { workers: W, logging: { role: "host" } },
  );
  const storage = createClusterRuntime<LoggingForwardCommand, never>(
    { name: "storage", workerModule: forwardModule },
    { workers: S, logging: { role: "forward" } },
  );
  runtimes.push(compute as ClusterRuntime<unknown, unknown>);
  runtimes.push(storage as ClusterRuntime<unknown, unknown>);
  const host = compute.logging;
  const forward = storage.logging;
  if (host?.role !== "host" || forward?.role !== "forward") throw new Error("roles");
  // What clusterd's select.ts wires.
  forward.onLogEvents((events) => host.injectLogEvents(events));
  host.onDemand((d) => forward.setForwarding(d.storage));
  await Promise.all([compute.ready, storage.ready]);
  compute.connect("n1");
  storage.connect("n1");
  const responses: LoggingHostResponse[] = [];
  compute.onResponse((_, r) => responses.push(r));
  /** Every worker's part of log index `id` (undefined until all W answered). */
  const read = async (id: string) => {
    responses.length = 0;
    compute.submit([{ op: "rows", id }]);
    const parts = await until(() => (responses.length === W ? responses.slice() : undefined));
    return parts;
  };
  return { compute, storage, host, forward, read };
}

describe("unified logging across runtimes", () => {
  it("storage workers' events land in the compute host's log index, with their worker ids", async () => {
    const { compute, storage, host, read } = await start(2, 3);
    storage.submit([{ op: "status", sourceId: "u1", status: "running" }]);
    compute.submit([{ op: "configure", config: config(10) }]);
    const parts = await until(async () => {
      const p = await read(STATUS_ID);
      const n = p.reduce((s, x) => s + (x.rows?.length ?? 0), 0);
      return n === 3 ? p : undefined;
    });
    const byHost = new Map<number, Row[]>(parts.map((p) => [p.worker, [...(p.rows ?? [])]]));
    const sorted = (rows: Row[]) => rows.map((r) => r[1]).sort();
    // Storage worker s is hosted by compute worker s % 2; rows keep the storage worker's id.
    expect(sorted(byHost.get(0)!)).toEqual([0n, 2n]);
    expect(sorted(byHost.get(1)!)).toEqual([1n]);
    for (const rows of byHost.values()) {
      for (const row of rows) expect([row[0], row[2], row[3]]).toEqual(["u1", "running", null]);
    }
    // A change replaces the row; the host's totals reach the main thread.
    storage.submit([{ op: "status", sourceId: "u1", status: "stalled" }]);
    await until(async () => {
      const p = await read(STATUS_ID);
      const rows = p.flatMap((x) => x.rows ?? []);
      return rows.length === 3 && rows.every((r) => r[2] === "stalled") ? true : undefined;
    });
    await until(() => (host.stats().events.storage >= 6 ? true : undefined));
    expect(host.stats().records).toBeGreaterThan(0);
  });

  it("interval 0 installs nothing: no index, and storage forwards nothing", async () => {
    const { compute, storage, forward, read } = await start(2, 2);
    storage.submit([{ op: "status", sourceId: "u1", status: "running" }]);
    compute.submit([{ op: "configure", config: config(0) }]);
    const parts = await read(STATUS_ID);
    expect(parts.map((p) => p.rows)).toEqual([null, null]);
    await new Promise((r) => setTimeout(r, 1200)); // past one stats report
    expect(forward.stats().logged).toBe(0);
  });
});
