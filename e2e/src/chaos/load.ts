/**
 * The load `pnpm chaos` keeps on the environment while it kills processes, and the invariants it
 * checks on every answer:
 * - peeks, one after the other: `bids_idx` and `winning_bids_idx` at the fixed time T (the answer
 *   must equal the baseline taken after hydration — the deterministic generator makes it a pure
 *   function of the seed), and `ticker_counter` at the freshest time (read times never go back);
 * - `Status` every 250 ms: no collection's write frontier or since moves backward (tracked by
 *   collection id over the whole run, across environmentd generations), the largest lag seen;
 * - a subscribe to `ticker_counter`, re-opened whenever it ends: within one stream the upper
 *   only advances and every update's time lies in `[previous upper, upper)`; in steady state a
 *   stream that neither delivers a batch nor ends for 5 s has stalled (a violation; re-opened).
 *
 * A failed request is counted by its cause (Connect code + message shape). It breaks the verdict
 * only in steady state: when no disruption (a kill, environmentd down) happened within the
 * recovery window (`disrupted()`), every request must be answered.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import type { Frontier } from "@mzts/repr";
import { T } from "../harness/auction-workload.js";
import {
  type EnvironmentApi,
  frontierLessEqual,
  type Rows,
  sleep,
} from "../harness/environment.js";

/** The collections that follow the wall clock (their lag is the frontier lag reported). */
const LIVE = new Set(["ticker_counter", "ticker_idx"]);

/** A subscribe without a batch for this long (in steady state) has stalled (the default). */
const STALL_MS = 5000;

/** Tuning of `startLoad` (the defaults are the chaos run's). */
export interface LoadOptions {
  /** A subscribe without a batch for this long in steady state has stalled (default 5000 ms). */
  readonly stallMs?: number;
}

/** Where the load sends its requests. */
export interface LoadTarget {
  /** The live environmentd's API, or undefined while it is down (nothing is sent then). */
  api(): EnvironmentApi | undefined;
  /** Whether a kill or restart happened within the recovery window (failures expected). */
  disrupted(): boolean;
  /** The last kill, for messages ("both, 12 s ago"). */
  lastKill?(): string;
}

/** Counts and violations, updated while the load runs. */
export interface LoadReport {
  peeksOk: number;
  readonly peeksFailed: Map<string, number>;
  statusOk: number;
  readonly statusFailed: Map<string, number>;
  subscribeBatches: number;
  subscribeUpdates: number;
  readonly subscribeEnded: Map<string, number>;
  /**
   * The largest `lagMs` a status sample reported for the real-time collections (the ticker; the
   * auction's times are in the past by design, and a new collection starts at time 0).
   */
  maxLagMs: number;
  /** Failures while nothing was disrupted. */
  readonly steadyFailures: string[];
  /** Answers at T that differ from the baseline, read times or frontiers going backward. */
  readonly violations: string[];
}

/** A short, groupable cause of a failed request. */
export function causeOf(e: unknown): string {
  if (e instanceof ConnectError) {
    const msg = e.rawMessage.replace(/\d+/g, "#").replace(/\s+/g, " ").slice(0, 70);
    return `${Code[e.code]}: ${msg}`;
  }
  return `not a ConnectError: ${String(e).slice(0, 70)}`;
}

function bump(m: Map<string, number>, k: string): void {
  m.set(k, (m.get(k) ?? 0) + 1);
}

/** A report with nothing counted yet. */
export function emptyLoadReport(): LoadReport {
  return {
    peeksOk: 0,
    peeksFailed: new Map(),
    statusOk: 0,
    statusFailed: new Map(),
    subscribeBatches: 0,
    subscribeUpdates: 0,
    subscribeEnded: new Map(),
    maxLagMs: 0,
    steadyFailures: [],
    violations: [],
  };
}

/** Whether two answers are the same rows with the same counts, in the same order. */
export function sameRows(a: Rows, b: Rows): boolean {
  return JSON.stringify(a, big) === JSON.stringify(b, big);
}
function big(_k: string, v: unknown): unknown {
  return typeof v === "bigint" ? `${v}` : v;
}

/** Starts the three loops; `stop()` ends them and resolves when they have. */
export function startLoad(
  target: LoadTarget,
  baseline: { readonly bidsAtT: Rows; readonly winningAtT: Rows },
  options: LoadOptions = {},
): { readonly report: LoadReport; stop(): Promise<void> } {
  const stallMs = options.stallMs ?? STALL_MS;
  const report = emptyLoadReport();
  const abort = new AbortController();
  const stopped = () => abort.signal.aborted;
  const failed = (what: string, counts: Map<string, number>, e: unknown) => {
    if (stopped()) return;
    const cause = causeOf(e);
    bump(counts, cause);
    if (!target.disrupted()) report.steadyFailures.push(`${what}: ${cause}`);
  };
  /** Runs `f` against the live API, or waits while environmentd is down. */
  const loop = async (f: (api: EnvironmentApi) => Promise<void>, pauseMs: number) => {
    while (!stopped()) {
      const api = target.api();
      if (api !== undefined) await f(api);
      await sleep(api === undefined ? 200 : pauseMs);
    }
  };

  let lastFresh = 0n;
  const peek = async (
    api: EnvironmentApi,
    what: string,
    check: (api: EnvironmentApi) => Promise<void>,
  ) => {
    try {
      await check(api);
      report.peeksOk++;
    } catch (e) {
      failed(`peek ${what}`, report.peeksFailed, e);
    }
  };
  const peeks = loop(async (api) => {
    await peek(api, "bids_idx at T", async (a) => {
      const r = await a.peek({ object: "bids_idx", timestamp: T, timeoutMs: 10_000 });
      if (!sameRows(r.rows, baseline.bidsAtT))
        report.violations.push(`bids_idx at ${T}: ${r.rows.length} rows differ from the baseline`);
    });
    await peek(api, "winning_bids_idx at T", async (a) => {
      const r = await a.peek({ object: "winning_bids_idx", timestamp: T, timeoutMs: 10_000 });
      if (!sameRows(r.rows, baseline.winningAtT))
        report.violations.push(
          `winning_bids_idx at ${T}: ${r.rows.length} rows differ from the baseline`,
        );
    });
    await peek(api, "ticker_counter freshest", async (a) => {
      const r = await a.peek({ object: "ticker_counter", timeoutMs: 10_000 });
      if (r.timestamp < lastFresh)
        report.violations.push(`freshest read went back: ${r.timestamp} after ${lastFresh}`);
      else lastFresh = r.timestamp;
    });
  }, 50);

  const maxWrite = new Map<string, Frontier>();
  const maxSince = new Map<string, Frontier>();
  const track = (
    max: Map<string, Frontier>,
    id: string,
    name: string,
    f: Frontier,
    field: string,
  ) => {
    const prev = max.get(id);
    if (prev === undefined || frontierLessEqual(prev, f)) max.set(id, f);
    else
      report.violations.push(
        `${name} (${id}) ${field} went back: ${String(f)} after ${String(prev)}`,
      );
  };
  const status = loop(async (api) => {
    try {
      const s = await api.status();
      report.statusOk++;
      for (const c of s.clusters) {
        for (const col of c.collections) {
          track(maxWrite, col.id, col.name, col.writeFrontier, "write frontier");
          track(maxSince, col.id, col.name, col.since, "since");
          if (col.lagMs !== undefined && LIVE.has(col.name))
            report.maxLagMs = Math.max(report.maxLagMs, col.lagMs);
        }
      }
    } catch (e) {
      failed("status", report.statusFailed, e);
    }
  }, 250);

  const subscribe = loop(async (api) => {
    let upper: Frontier | undefined;
    // A stream that delivers nothing for `stallMs` in steady state is a violation (the ticker
    // ticks every 100 ms): it must either go on or end with an error, never hang.
    const stream = new AbortController();
    const onStop = () => stream.abort();
    abort.signal.addEventListener("abort", onStop, { once: true });
    let lastBatch = Date.now();
    let stalled = false;
    const watchdog = setInterval(() => {
      if (Date.now() - lastBatch > stallMs && !target.disrupted()) {
        stalled = true;
        stream.abort();
      }
    }, 250);
    try {
      for await (const b of api.subscribe({ object: "ticker_counter" }, stream.signal)) {
        lastBatch = Date.now();
        report.subscribeBatches++;
        report.subscribeUpdates += b.updates.length;
        for (const [, time] of b.updates) {
          const below = upper === undefined || upper === null || time >= upper;
          if (!below || (b.upper !== null && time >= b.upper))
            report.violations.push(
              `subscribe update at ${time} outside [${String(upper)}, ${String(b.upper)})`,
            );
        }
        if (upper !== undefined && !frontierLessEqual(upper, b.upper))
          report.violations.push(
            `subscribe upper went back: ${String(b.upper)} after ${String(upper)}`,
          );
        upper = b.upper;
      }
      if (!stopped()) bump(report.subscribeEnded, "ended gracefully");
    } catch (e) {
      if (stalled) {
        bump(report.subscribeEnded, "stalled (no batch, no error)");
        report.violations.push(
          `subscribe stalled: no batch and no error for ${((Date.now() - lastBatch) / 1000).toFixed(0)} s in steady state (upper ${String(upper)}; last kill ${target.lastKill?.() ?? "none"})`,
        );
      } else failed("subscribe", report.subscribeEnded, e);
    } finally {
      clearInterval(watchdog);
      abort.signal.removeEventListener("abort", onStop);
    }
  }, 300);

  return {
    report,
    async stop() {
      abort.abort();
      await Promise.all([peeks, status, subscribe]);
    },
  };
}
