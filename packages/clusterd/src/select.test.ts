/**
 * The replica-side seam for phase 2 (*logging*): which runtimes get unified logging, and that
 * storage's forwarded events reach the compute runtime's hosts (the wiring), counted in the
 * introspection metrics. Starts real worker threads (W = 1) over a temp persist dir.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PhaseSet } from "@mzts/flags";
import { pino } from "pino";
import { Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import { registerIntrospectionMetrics } from "./metrics.js";
import { type SelectedRuntimes, selectRuntimes, wireUnifiedLogging } from "./select.js";

const started: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const stop of started.splice(0).reverse()) await stop();
});

async function select(flags: Parameters<typeof PhaseSet.of>[1]): Promise<SelectedRuntimes> {
  const dir = await mkdtemp(join(tmpdir(), "log-unified-"));
  started.push(() => rm(dir, { recursive: true, force: true }));
  const registry = new Registry();
  const selected = await selectRuntimes(PhaseSet.of("u1", flags), {
    workers: 1,
    replicaId: "r1",
    logLevel: "silent",
    persistDir: dir,
    registry,
    logger: pino({ level: "silent" }),
  });
  started.push(async () => {
    await Promise.all([selected.compute.close(), selected.storage.close()]);
  });
  await Promise.all([selected.compute.ready, selected.storage.ready]);
  return selected;
}

describe("selectRuntimes: phase 2 (logging)", () => {
  it("logging in force: compute hosts the log indexes, storage forwards", async () => {
    const s = await select({ servers: true, logging: true });
    expect(s.logging).toBe("unified");
    expect(s.compute.logging?.role).toBe("host");
    expect(s.storage.logging?.role).toBe("forward");
  });

  it("logging off, or blocked without servers: no unified logging", async () => {
    for (const flags of [{ servers: true }, { logging: true }]) {
      const s = await select(flags);
      expect(s.logging).toBe("legacy");
      expect(s.compute.logging).toBeUndefined();
      expect(s.storage.logging).toBeUndefined();
    }
  });

  it("refuses to wire runtimes without their logging roles", () => {
    expect(() => wireUnifiedLogging(undefined, undefined)).toThrow(/hosting compute runtime/);
  });
});

describe("registerIntrospectionMetrics", () => {
  it("exposes events by workload and log records, 0 without unified logging", async () => {
    const registry = new Registry();
    registerIntrospectionMetrics(registry, () => undefined);
    const text = await registry.metrics();
    expect(text).toMatch(/mz_cluster_introspection_events_total\{workload="compute"\} 0/);
    expect(text).toMatch(/mz_cluster_introspection_events_total\{workload="storage"\} 0/);
    expect(text).toMatch(/mz_cluster_introspection_log_records 0/);
  });

  it("counts the hosting runtime's totals as they grow", async () => {
    const registry = new Registry();
    let stats = { events: { compute: 3, storage: 5 }, records: 7 };
    registerIntrospectionMetrics(registry, () => ({
      role: "host",
      injectLogEvents() {},
      onDemand() {},
      stats: () => ({ ...stats, rejected: 0, orphans: 0, unknownRelations: 0 }),
    }));
    expect(await registry.metrics()).toMatch(/events_total\{workload="storage"\} 5/);
    stats = { events: { compute: 4, storage: 9 }, records: 2 };
    const text = await registry.metrics();
    expect(text).toMatch(/events_total\{workload="compute"\} 4/);
    expect(text).toMatch(/events_total\{workload="storage"\} 9/);
    expect(text).toMatch(/mz_cluster_introspection_log_records 2/);
  });
});
