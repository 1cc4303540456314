/**
 * The controller side of an evaluation (phase 3, *replicas*, and what every run measures of it):
 *
 * - `diffControllerPaths` / `controllerPathsCheck` (`PHASE_CHECKS.replicas`): status reports, per
 *   cluster, the path of each controller seam (`ClusterStatus.controllers`); the candidate's
 *   replica seams (`compute-replicas`, `storage-replicas`) must run `unified` and the baseline's
 *   `legacy` — a seam runs unified exactly when its side's phases hold the seam's flag's phase.
 *   (The replica records say nothing here: a controller-side phase is not the replica's.)
 *   `diffReplicaTasks` checks the same of what runs: environmentd's `mz_controller_replica_task`
 *   must have each side's replica connected through that task, for compute and storage (none
 *   for a one-port `client` replica, which rides the cluster stream).
 * - `statePathCheck` (`PHASE_CHECKS.state`, phase 5): the same for the `state` seam — the
 *   candidate's cluster is driven by one unified controller state, the baseline's by the pair.
 * - `controllerGauges`: the replicas the side's compute and storage controller instances
 *   (`instance_id` = the side's cluster id on both gauges) are connected to now.
 * - `stopAndDetect`: SIGSTOP of a side's replica (a stall: its sockets stay open, only the
 *   controller's liveness probe can notice) and the times until the compute controller, the
 *   storage controller and status notice; then SIGCONT and the time until all three are back.
 *   Each step not reached within the deadline is `null` (a measurement, not a verdict: the
 *   legacy path may take longer than the deadline).
 */
import { FLAG_KEYS, PHASES } from "@mzts/flags";
import type { StatusResponse } from "@mzts/protocol";
import { COMPUTE_CONNECTED } from "../harness/auction-peeks.js";
import { metricSum, type Sample, scrape, sleep } from "../harness/environment.js";
import type { Difference } from "./compare.js";
import { type EvaluationContext, SIDES, type Side } from "./context.js";
import type { PhaseCheck } from "./phases.js";
import { connectedReplicaTasks, expectedReplicaTasks } from "./replica-tasks.js";
import type { Sampler } from "./sampler.js";

export const STORAGE_CONNECTED = "mz_storage_controller_connected_replica_count";
/** The seams phase 3 switches (the others are reported, not built). */
export const REPLICA_SEAMS = ["compute-replicas", "storage-replicas"] as const;

/** The seam phase 5 switches: the cluster's controller state. */
export const STATE_SEAMS = ["state"] as const;

/**
 * Each side's `seams` (default: the replica seams) run the path its phases say (see the file
 * comment); a difference is reported under `check` (the phase whose check it is).
 */
export function diffControllerPaths(
  ctx: Pick<EvaluationContext, "sides">,
  status: StatusResponse,
  seams: readonly string[] = REPLICA_SEAMS,
  check = "replicas",
): Difference[] {
  const out: Difference[] = [];
  for (const side of SIDES) {
    const info = ctx.sides[side];
    const c = status.clusters.find((x) => x.id === info.clusterId);
    const lines: string[] = [];
    for (const seam of seams) {
      const p = c?.controllers?.find((x) => x.seam === seam);
      const phase = PHASES.find((ph) => FLAG_KEYS[ph] === p?.flag);
      const want = phase !== undefined && info.phases.includes(phase) ? "unified" : "legacy";
      if (p === undefined) lines.push(`${seam}: not reported (status has no controller paths)`);
      else if (p.path !== want)
        lines.push(`${seam}: runs ${p.path} (${p.note}); the ${side} needs ${want}`);
    }
    if (lines.length > 0) {
      out.push({ check, subject: `${info.cluster}: controller paths`, diff: lines });
    }
  }
  return out;
}

/**
 * Each side's replica is connected through the replica task its phases choose (unified with
 * `replicas`, else legacy), for compute and storage, per environmentd's metrics (see the file
 * comment); a one-port replica (`client`) has no such connection.
 */
export function diffReplicaTasks(
  ctx: Pick<EvaluationContext, "sides" | "replica">,
  samples: readonly Sample[],
): Difference[] {
  const out: Difference[] = [];
  for (const side of SIDES) {
    const info = ctx.sides[side];
    const task = info.phases.includes("replicas") ? "unified" : "legacy";
    const want = info.phases.includes("client")
      ? []
      : expectedReplicaTasks([{ id: ctx.replica(side).replicaId, task }]);
    const got = connectedReplicaTasks(samples, info.clusterId);
    if (JSON.stringify(got) !== JSON.stringify(want)) {
      out.push({
        check: "replicas",
        subject: `${info.cluster}: replica tasks (mz_controller_replica_task)`,
        diff: [`- ${want.join(", ") || "none"}`, `+ ${got.join(", ") || "none"}`],
      });
    }
  }
  return out;
}

/** How long `controllerPathsCheck` lets a replica's connection come back (after a kill -9). */
const REPLICA_TASKS_SETTLE_MS = 10_000;

export const controllerPathsCheck: PhaseCheck = {
  name: "controller paths",
  describe:
    "status: the candidate's compute and storage replica seams run the unified replica task, the baseline's the legacy ones; environmentd's mz_controller_replica_task: each replica is connected through that task",
  async run(ctx, tally) {
    tally?.(SIDES.length * (REPLICA_SEAMS.length + 1));
    const paths = diffControllerPaths(ctx, await ctx.session.api.status());
    const deadline = performance.now() + REPLICA_TASKS_SETTLE_MS;
    let tasks = diffReplicaTasks(ctx, await scrape(ctx.session.env.httpUrl));
    while (tasks.length > 0 && performance.now() < deadline) {
      await sleep(250);
      tasks = diffReplicaTasks(ctx, await scrape(ctx.session.env.httpUrl));
    }
    return [...paths, ...tasks];
  },
};

/** `PHASE_CHECKS.state`: the candidate's cluster runs one unified controller state, the baseline's the legacy pair. */
export const statePathCheck: PhaseCheck = {
  name: "controller state",
  describe:
    "status: the candidate's cluster is driven by one unified controller state (seam `state`), the baseline's by a compute and a storage instance",
  async run(ctx, tally) {
    tally?.(SIDES.length * STATE_SEAMS.length);
    return diffControllerPaths(ctx, await ctx.session.api.status(), STATE_SEAMS, "state");
  },
};

/** Replicas the side's compute and storage controller instances are connected to. */
export async function controllerGauges(
  ctx: EvaluationContext,
  side: Side,
): Promise<{ readonly compute: number; readonly storage: number }> {
  const m = await scrape(ctx.session.env.httpUrl);
  return {
    compute: metricSum(m, COMPUTE_CONNECTED, { instance_id: ctx.sides[side].clusterId }),
    storage: metricSum(m, STORAGE_CONNECTED, { instance_id: ctx.sides[side].clusterId }),
  };
}

/** What a SIGSTOP of a side's replica took to notice and to recover from (ms). */
export interface StallDetection {
  readonly computeMs: number | null;
  readonly storageMs: number | null;
  readonly statusMs: number | null;
  /** After the SIGCONT: both controllers connected again and status online. */
  readonly resumedMs: number | null;
}

/** Polls `f` every 50 ms until it holds (the time since `t0`) or `deadline` (null). */
export async function firstTime(
  t0: number,
  deadline: number,
  f: () => Promise<boolean>,
): Promise<number | null> {
  while (performance.now() < deadline) {
    if (await f().catch(() => false)) return Math.round(performance.now() - t0);
    await sleep(50);
  }
  return null;
}

/** See the file comment; the replica is always continued, whatever happens. */
export async function stopAndDetect(
  ctx: EvaluationContext,
  sampler: Sampler,
  side: Side,
  timeoutMs: number,
): Promise<StallDetection> {
  const before = await controllerGauges(ctx, side);
  const { pid } = ctx.replica(side);
  const t0 = performance.now();
  process.kill(pid, "SIGSTOP");
  let detected: { computeMs: number | null; storageMs: number | null; statusMs: number | null };
  try {
    const status = sampler.waitFor(
      side,
      t0,
      (c) => c.replicas.some((r) => r.health !== "online"),
      timeoutMs,
    );
    const deadline = t0 + timeoutMs;
    const [computeMs, storageMs, statusAt] = await Promise.all([
      firstTime(
        t0,
        deadline,
        async () => (await controllerGauges(ctx, side)).compute < before.compute,
      ),
      firstTime(
        t0,
        deadline,
        async () => (await controllerGauges(ctx, side)).storage < before.storage,
      ),
      status,
    ]);
    detected = {
      computeMs,
      storageMs,
      statusMs: statusAt === undefined ? null : Math.round(statusAt - t0),
    };
  } finally {
    process.kill(pid, "SIGCONT");
  }
  const t1 = performance.now();
  const back = await firstTime(t1, t1 + timeoutMs, async () => {
    const g = await controllerGauges(ctx, side);
    const online = sampler.last(side)?.replicas.every((r) => r.health === "online") ?? false;
    return g.compute >= before.compute && g.storage >= before.storage && online;
  });
  return { ...detected, resumedMs: back };
}
