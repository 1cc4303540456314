/**
 * The recovery measurements of `environment.bench.ts` (@internal; its file comment describes them:
 * sections `replica-restart` and `environmentd-restart`), split out of the bench's file.
 */

import { killPid, type ReplicaRecord, readRecords, stopEnvironmentd } from "./bench-reaper.js";
import type { Booted } from "./environment-demo.js";
import {
  bootEnvironmentd,
  DEMO_DATAFLOWS,
  FULL_PEEK,
  firstPeek,
  grpcClient,
} from "./environment-demo.js";

const now = () => performance.now();
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export const POLL_MS = 20;
/** Pause between two API peeks of the pump that runs while a replica restarts. */
const PUMP_GAP_MS = Number(process.env.BENCH_PUMP_MS ?? 5);
/** How long a killed replica gets to come back and answer before the run records a miss. */
export const REHYDRATE_TIMEOUT_MS = Number(process.env.BENCH_REHYDRATE_TIMEOUT_MS ?? 15_000);
/** Frontier reports a replica sent its controller (diagnostics when r1 stalls). */
const FRONTIER_REPORTS = 'mz_cluster_responses_total{workload="compute",response_type="frontiers"}';
export interface ReplicaRestart {
  /** ms from the kill; undefined = not reached within `REHYDRATE_TIMEOUT_MS`. */
  restarted: number | undefined;
  caughtUp: number | undefined;
  answering: number | undefined;
  peeksOk: number;
  peeksFailed: number;
  /** r1's and r2's gauges at the last poll (reported when r1 did not rehydrate). */
  lastSeen: Record<string, number | undefined>;
}

function metric(text: string, series: string): number | undefined {
  for (const line of text.split("\n"))
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  return undefined;
}

async function scrape(r: ReplicaRecord): Promise<string | undefined> {
  if (r.ports === null) return undefined;
  try {
    const res = await fetch(`http://${r.host}:${r.ports.http}/metrics`, {
      signal: AbortSignal.timeout(1000),
    });
    return res.ok ? await res.text() : undefined;
  } catch {
    return undefined; // not up yet
  }
}

export async function replicaRestart(b: Booted, dir: string): Promise<ReplicaRestart> {
  const api = grpcClient(b.grpcUrl);
  const { clusters } = await api.listClusters({});
  const reps = clusters.find((c) => c.name === "demo")?.replicas ?? [];
  const r1 = reps.find((r) => r.name === "r1")?.id;
  const r2 = reps.find((r) => r.name === "r2")?.id;
  if (r1 === undefined || r2 === undefined) throw new Error("demo replicas r1/r2 not found");
  const before = readRecords(dir).find((r) => r.replicaId === r1);
  if (before === undefined || before.ports === null) throw new Error("no record of r1");

  // Keep API peeks flowing, so r1 gets peeks to answer once it is back.
  let pumping = true;
  let peeksOk = 0;
  let peeksFailed = 0;
  const pump = (async () => {
    while (pumping) {
      try {
        await api.peek({ ...FULL_PEEK, timeoutMs: 5000 });
        peeksOk++;
      } catch {
        peeksFailed++;
      }
      await sleep(PUMP_GAP_MS);
    }
  })();

  try {
    await sleep(200);
    killPid(before.pid);
    const t0 = now();
    let restarted: number | undefined;
    let caughtUp: number | undefined;
    let answering: number | undefined;
    const lastSeen: Record<string, number | undefined> = {};
    while (
      (answering === undefined || caughtUp === undefined) &&
      now() - t0 < REHYDRATE_TIMEOUT_MS
    ) {
      const recs = readRecords(dir);
      const cur = recs.find((r) => r.replicaId === r1);
      const other = recs.find((r) => r.replicaId === r2);
      if (cur !== undefined && cur.pid !== before.pid && cur.ports !== null && other) {
        restarted ??= now();
        const [mine, theirs] = await Promise.all([scrape(cur), scrape(other)]);
        const t = now();
        if (mine !== undefined && theirs !== undefined) {
          const records = metric(mine, "mz_compute_arrangement_records") ?? 0;
          const dataflows = metric(mine, "mz_compute_dataflows") ?? 0;
          const otherRecords = metric(theirs, "mz_compute_arrangement_records") ?? 0;
          Object.assign(lastSeen, {
            dataflows,
            records,
            otherRecords,
            frontierReports: metric(mine, FRONTIER_REPORTS),
            otherFrontierReports: metric(theirs, FRONTIER_REPORTS),
          });
          if (caughtUp === undefined && dataflows >= DEMO_DATAFLOWS && records >= otherRecords)
            caughtUp = t;
        }
        // Answering: a peek aimed at r1 alone (the API's `replica`) returns rows.
        if (answering === undefined) {
          try {
            await api.peek({ ...FULL_PEEK, replica: "r1", timeoutMs: 1000 });
            answering = now();
          } catch {
            // not yet (rehydrating), or its incarnation was still failing over
          }
        }
      }
      await sleep(POLL_MS);
    }
    const since = (t: number | undefined) => (t === undefined ? undefined : t - t0);
    return {
      restarted: since(restarted),
      caughtUp: since(caughtUp),
      answering: since(answering),
      peeksOk,
      peeksFailed,
      lastSeen,
    };
  } finally {
    pumping = false;
    await pump;
  }
}

export interface EnvRestart {
  listening: number;
  answering: number;
  adopted: boolean;
}

export async function environmentdRestart(b: Booted, dir: string): Promise<EnvRestart & Booted> {
  const pidsBefore = readRecords(dir)
    .map((r) => r.pid)
    .sort();
  const t0 = now();
  await stopEnvironmentd(b.proc); // kill -9, and wait for it to be gone
  const next = await bootEnvironmentd(dir);
  const answered = await firstPeek(next, 60_000);
  const pidsAfter = readRecords(dir)
    .map((r) => r.pid)
    .sort();
  return {
    ...next,
    listening: next.listeningAt - t0,
    answering: answered - t0,
    adopted: pidsBefore.join() === pidsAfter.join(),
  };
}
