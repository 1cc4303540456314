/**
 * kill -9 of a side's replica and the times it takes, from the kill (ms):
 * - detection: the first `Status` sample (the sampler's) that reports the replica not online;
 * - restarted: the orchestrator recorded a new pid for it, with its ports (clusterd is ready);
 * - reconnected: the side's compute controller or the storage controller saw the connection go
 *   and then both are connected to as many replicas as before the kill again (`controllerGauges`,
 *   polled every 50 ms): the replica tasks' reconnect to the restarted replica, what phase 3
 *   changes;
 * - rehydrated: after the restart, the first `Status` sample where the replica is online and
 *   every live index of the side (`LIVE_INDEXES`) has a write frontier past both the kill's
 *   wall-clock time and what the killed replica had reported — the restarted replica rebuilt
 *   its dataflows and caught up. (The auction ticks once a second, so
 *   this includes up to a second of waiting for its next tick, on both sides alike; a peek at the
 *   kill's time would race the 1 s compaction window instead.)
 * A step not reached within `timeoutMs` is `null` and fails the verdict (a cluster that does not
 * come back is a difference however the other side fares).
 */
import { sleep } from "../harness/environment.js";
import type { Difference } from "./compare.js";
import type { EvaluationContext, Side } from "./context.js";
import { controllerGauges, firstTime } from "./controllers.js";
import type { Sampler } from "./sampler.js";
import { LIVE_INDEXES } from "./workload.js";

export interface Recovery {
  readonly detectionMs: number | null;
  readonly restartedMs: number | null;
  readonly reconnectedMs: number | null;
  readonly rehydratedMs: number | null;
}

export async function killAndRehydrate(
  ctx: EvaluationContext,
  sampler: Sampler,
  side: Side,
  timeoutMs: number,
): Promise<{ recovery: Recovery; differences: Difference[] }> {
  const before = ctx.replica(side);
  const gauges = await controllerGauges(ctx, side);
  const killedAtWall = BigInt(Date.now());
  const t0 = performance.now();
  process.kill(before.pid, "SIGKILL");
  const detection = sampler.waitFor(
    side,
    t0,
    (c) => c.replicas.some((r) => r.health !== "online"),
    timeoutMs,
  );
  const restarted = (async () => {
    while (performance.now() - t0 < timeoutMs) {
      const now = ctx.session.records().find((r) => r.clusterId === ctx.sides[side].clusterId);
      if (now !== undefined && now.pid !== before.pid && now.ports !== null) {
        return performance.now();
      }
      await sleep(25);
    }
    return undefined;
  })();
  // Past what the killed replica had reported (and past the kill): only its successor moves it.
  const last = sampler.last(side);
  const past = new Map(
    LIVE_INDEXES.map((n) => {
      const name = ctx.name(side, n);
      const w = last?.collections.find((col) => col.name === name)?.writeFrontier;
      return [name, w !== undefined && w !== null && w > killedAtWall ? w : killedAtWall] as const;
    }),
  );
  const rehydrated = restarted.then((at) =>
    at === undefined
      ? undefined
      : sampler.waitFor(
          side,
          at,
          (c) =>
            c.replicas.every((r) => r.health === "online") &&
            [...past].every(([name, min]) => {
              const w = c.collections.find((col) => col.name === name)?.writeFrontier;
              return w === null || (w !== undefined && w > min);
            }),
          Math.max(1, timeoutMs - (performance.now() - t0)),
        ),
  );
  // The gauges first drop (the controllers saw the connection go), then come back.
  const reconnected = (async () => {
    const deadline = t0 + timeoutMs;
    const dropped = await firstTime(t0, deadline, async () => {
      const g = await controllerGauges(ctx, side);
      return g.compute < gauges.compute || g.storage < gauges.storage;
    });
    if (dropped === null) return null;
    return firstTime(t0, deadline, async () => {
      const g = await controllerGauges(ctx, side);
      return g.compute >= gauges.compute && g.storage >= gauges.storage;
    });
  })();
  const [d, r, c, h] = await Promise.all([detection, restarted, reconnected, rehydrated]);
  const ms = (t: number | undefined) => (t === undefined ? null : Math.round(t - t0));
  const recovery = {
    detectionMs: ms(d),
    restartedMs: ms(r),
    reconnectedMs: c,
    rehydratedMs: ms(h),
  };
  // reconnected is a measurement only: a side that does not come back misses rehydrated too.
  const missing = Object.entries(recovery)
    .filter(([k, v]) => v === null && k !== "reconnectedMs")
    .map(([k]) => k.replace(/Ms$/, ""));
  const differences: Difference[] =
    missing.length === 0
      ? []
      : [
          {
            check: "recovery",
            subject: `kill -9 of ${ctx.sides[side].cluster}'s replica`,
            diff: [`not reached within ${timeoutMs} ms: ${missing.join(", ")}`],
          },
        ];
  return { recovery, differences };
}
