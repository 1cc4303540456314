/**
 * What the phase 5 (`state`) tests through environmentd share: the phases with `state` on or off
 * (the same replica layout either way), an environment on them, a poll, sorted peek rows, and
 * each replica's reconciliation counters (clusterd's
 * `mz_compute_reconciliation_{reused,replaced}_dataflows_count_total`).
 */
import { createClusterStreams } from "@mzts/controller-unified/client";
import { BUILT_PHASES, type Phase, PhaseSet } from "@mzts/flags";
import type { EnvironmentPeekResponse } from "@mzts/protocol";
import { compareRows } from "@mzts/repr";
import { pino } from "pino";
import { Registry } from "prom-client";
import { createEnvironment, type Environment, type EnvironmentOptions } from "../src/index.js";

/**
 * Whether the unified driver has its one-port connector (`ClusterStreams.cluster`): then the
 * replicas run one-port (`client` built, as `BUILT_PHASES` has it), else two-port.
 */
export const ONE_PORT = "cluster" in createClusterStreams();

/** The phases with `state` on or off; the same replica layout either way. */
export function phaseFunction(state: boolean) {
  const client: Phase[] = ONE_PORT ? [] : ["client"];
  const built: Phase[] = [...BUILT_PHASES.filter((p) => !client.includes(p)), "state"];
  return (id: string) =>
    PhaseSet.of(id, { servers: true, replicas: true, client: true, state }, built);
}

/** `state` per cluster id (a function of nothing: every cluster alike). */
export type StateOf = (clusterId: string) => boolean;

export function open(
  dir: string,
  state: boolean | StateOf,
  extra: Partial<EnvironmentOptions> = {},
): Promise<Environment> {
  const on: StateOf = typeof state === "function" ? state : () => state;
  return createEnvironment({
    dataDir: dir,
    phaseFlags: (id) => phaseFunction(on(id))(id),
    logger: pino({ level: "warn" }),
    registry: new Registry(),
    readHoldTickMs: 100,
    shardGcIntervalMs: 0,
    controllerAbsentTimeoutMs: 60_000,
    ...extra,
  });
}

export async function until<T>(what: string, f: () => Promise<T | undefined>, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await f().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export const sorted = (r: EnvironmentPeekResponse) =>
  [...r.rows].sort((a, b) => compareRows(a[0], b[0])).map(([row, n]) => [row, n]);

/** Each replica's reconciliation counters (reused, replaced), from its `/metrics`. */
export async function reconciliation(env: Environment): Promise<Map<string, [number, number]>> {
  const out = new Map<string, [number, number]>();
  for (const r of env.orchestrator.list()) {
    if (r.location === null) continue;
    const text = await (await fetch(`${r.location.httpUrl}/metrics`)).text();
    const sum = (name: string) =>
      text
        .split("\n")
        .filter((l) => l.startsWith(name))
        .reduce((n, l) => n + Number(l.split(" ").at(-1)), 0);
    out.set(r.replicaId, [
      sum("mz_compute_reconciliation_reused_dataflows_count_total"),
      sum("mz_compute_reconciliation_replaced_dataflows_count_total"),
    ]);
  }
  return out;
}
