/**
 * Samples an evaluation over time, until `stop()`:
 * - `Status` every `statusMs`: every collection's write frontier and since must never move back
 *   (`FrontierTrack`; a move back is a difference), each side's freshness (wall clock when the
 *   status answered − (upper − 1) of its `FRESHNESS` index, unclamped: a real-time source may
 *   stamp its upper up to a tick ahead, so it can be slightly negative) and the same lag of its
 *   `winning` view as series, each
 *   replica's health with the time (for detection times), the last status per side;
 * - memory every `memoryMs`: each side's replica RSS (`process_resident_memory_bytes` from the
 *   replica's own `/metrics`) and environmentd's (from its `/metrics`; the controllers of both
 *   sides live in it), in MB.
 * A failed sample is counted, not fatal: a replica's metrics are missing while it restarts.
 */
import type { ClusterStatus, StatusResponse } from "@mzts/protocol";
import { metricSum, scrape, sleep } from "../harness/environment.js";
import type { Difference } from "./compare.js";
import { FrontierTrack } from "./compare.js";
import { type EvaluationContext, SIDES, type Side } from "./context.js";
import type { Series } from "./stats.js";
import { FRESHNESS } from "./workload.js";

const RSS = "process_resident_memory_bytes";

export interface Samples {
  readonly freshness: { [S in Side]: Series };
  readonly viewLag: { [S in Side]: Series };
  readonly replicaRssMb: { [S in Side]: Series };
  readonly environmentdRssMb: Series;
  /** Frontiers that moved back. */
  readonly differences: Difference[];
  /** Status samples that answered / failed; metric scrapes that failed. */
  statusOk: number;
  statusFailed: number;
  scrapesFailed: number;
}

export interface Sampler {
  readonly samples: Samples;
  /** The last status of each side's cluster. */
  last(side: Side): ClusterStatus | undefined;
  /** Resolves with the time (ms, `performance.now()` clock) of the first sample at or after `sinceMs` where `pred` holds for the side. */
  waitFor(
    side: Side,
    sinceMs: number,
    pred: (c: ClusterStatus) => boolean,
    timeoutMs: number,
  ): Promise<number | undefined>;
  /** Samples status every `ms` from now on (short around a kill, for detection times). */
  setStatusInterval(ms: number): void;
  stop(): Promise<void>;
}

export function startSampler(
  ctx: EvaluationContext,
  opts: { readonly t0: number; readonly statusMs: number; readonly memoryMs: number },
): Sampler {
  const samples: Samples = {
    freshness: { baseline: [], candidate: [] },
    viewLag: { baseline: [], candidate: [] },
    replicaRssMb: { baseline: [], candidate: [] },
    environmentdRssMb: [],
    differences: [],
    statusOk: 0,
    statusFailed: 0,
    scrapesFailed: 0,
  };
  const track = new FrontierTrack();
  const last = new Map<Side, ClusterStatus>();
  const waiters: Array<{
    side: Side;
    since: number;
    pred: (c: ClusterStatus) => boolean;
    resolve: (t: number) => void;
  }> = [];
  let stopped = false;
  let statusMs = opts.statusMs;
  const rel = () => Math.round(performance.now() - opts.t0);
  const onStatus = (s: StatusResponse, at: number, wallMs: number) => {
    for (const c of s.clusters) {
      for (const col of c.collections) {
        for (const d of [
          track.observe(col.name, "write", col.writeFrontier, rel()),
          track.observe(col.name, "since", col.since, rel()),
        ]) {
          if (d !== undefined && samples.differences.length < 50) samples.differences.push(d);
        }
      }
      const side = SIDES.find((x) => ctx.sides[x].clusterId === c.id);
      if (side === undefined) continue;
      last.set(side, c);
      // Not status's `lagMs`: it is clamped at 0, and real-time sources stamp their upper up to
      // a tick ahead of the wall clock, so it reads 0 most of the time.
      const lag = (name: string) => {
        const w = c.collections.find((col) => col.name === ctx.name(side, name))?.writeFrontier;
        return w === undefined || w === null || w === 0n
          ? undefined
          : Number(BigInt(wallMs) - (w - 1n));
      };
      const fresh = lag(FRESHNESS);
      if (fresh !== undefined) samples.freshness[side].push([rel(), fresh]);
      const view = lag("winning");
      if (view !== undefined) samples.viewLag[side].push([rel(), view]);
      for (const w of [...waiters]) {
        if (w.side === side && at >= w.since && w.pred(c)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(at);
        }
      }
    }
  };
  const statusLoop = (async () => {
    while (!stopped) {
      const asked = performance.now();
      try {
        const status = await ctx.session.api.status();
        onStatus(status, asked, Date.now());
        samples.statusOk++;
      } catch {
        samples.statusFailed++;
      }
      await sleep(statusMs);
    }
  })();
  const memoryLoop = (async () => {
    while (!stopped) {
      const at = rel();
      const jobs = [
        ...SIDES.map(async (side) => {
          const mb = metricSum(await scrape(ctx.replicaUrl(side)), RSS) / 2 ** 20;
          samples.replicaRssMb[side].push([at, Math.round(mb * 10) / 10]);
        }),
        (async () => {
          const mb = metricSum(await scrape(ctx.session.env.httpUrl), RSS) / 2 ** 20;
          samples.environmentdRssMb.push([at, Math.round(mb * 10) / 10]);
        })(),
      ];
      for (const r of await Promise.allSettled(jobs)) {
        if (r.status === "rejected") samples.scrapesFailed++;
      }
      await sleep(opts.memoryMs);
    }
  })();
  return {
    samples,
    last: (side) => last.get(side),
    waitFor(side, since, pred, timeoutMs) {
      return new Promise((resolve) => {
        const w = {
          side,
          since,
          pred,
          resolve: (t: number) => {
            clearTimeout(timer);
            resolve(t);
          },
        };
        waiters.push(w);
        const timer = setTimeout(() => {
          const i = waiters.indexOf(w);
          if (i >= 0) {
            waiters.splice(i, 1);
            resolve(undefined);
          }
        }, timeoutMs);
      });
    },
    setStatusInterval(ms) {
      statusMs = ms;
    },
    async stop() {
      stopped = true;
      await Promise.all([statusLoop, memoryLoop]);
    },
  };
}
